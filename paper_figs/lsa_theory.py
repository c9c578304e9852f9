"""Trained one-layer linear self-attention against its predicted optimum (theory/lsa.py).

Left: normalised error vs in-context examples k of the trained LSA, the predicted optimum's error
e(gamma*, k) (theory), the one-step preconditioned GD learner with gamma* (the LSA construction),
least squares with its closed form, and averaging (gamma = 1). Middle: the LSA's mean error over
k = 1..K-1 at checkpoints during training, against the optimum's. Right: relative distance of the
learned preconditioner u A^T + c v^T to gamma* I, and the size of the even-term weights |v| |A| +
|u| |c| relative to it. Bands: 95% bootstrap intervals over prompts. ``--size quick``: d = 5, 21
examples; full: d = 20, 41 examples (both on CPU).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import torch

from icl import config as cfg
from icl.evaluate import bootstrap_mean, eval_prompts, evaluate, learners_for, prompt_scores
from icl.models import LinearSelfAttention
from icl.train import load_model, train
from paper_figs import by_size, output_stem, script_main, size_mark
from paper_figs.names import colour_of, name_of
from paper_figs.plots import new_figure, plot_band, plot_curves, save_figure, styled
from theory.lsa import lsa_curve, optimal_gamma
from theory.regression import least_squares_curve

DESCRIPTION = "Linear self-attention: trained weights and error vs the predicted optimum (Zhang, Frei, Bartlett 2023)"
NAME = "lsa_theory"
KEPT = (10, 25, 50, 100, 200, 400, 800)


def run_config(size: str, seed: int) -> cfg.RunConfig:
    """LSA on noiseless linear regression, trained on every prefix with Adam and cosine decay."""
    n_dims, n_points, steps = by_size(size, smoke=(5, 21, 20), quick=(5, 21, 1500), full=(20, 41, 20_000))
    values = {
        "name": f"{NAME}-{size}-seed{seed}",
        "task.name": "linear_regression",
        "task.n_dims": n_dims,
        "task.n_points": n_points,
        "model.family": "lsa",
        "train.steps": steps,
        "train.batch_size": 256,
        "train.lr": 0.01,
        "train.lr_schedule": "cosine",
        "train.grad_clip": 100.0,
        "train.seed": seed,
        "train.log_every": 50,
        "train.checkpoint_every": steps,
        "train.keep_checkpoints": [s for s in KEPT if s < steps],
        "eval.n_prompts": by_size(size, smoke=256, quick=16384, full=16384),
    }
    return cfg.from_dict(cfg.set_values({}, values))


def structure_error(model: LinearSelfAttention, gamma_star: float) -> tuple[float, float]:
    """(||Gamma - gamma* I|| / ||gamma* I||, size of the even-term weights relative to ||gamma* I||)."""
    weights = model.preconditioner()
    target = gamma_star * torch.eye(model.n_dims)
    scale = torch.linalg.norm(target)
    return float(torch.linalg.norm(weights["gamma"] - target) / scale), float(weights["even"] / scale)


@styled
def reproduce(out_dir: Path, size: str = "full", seed: int = 0) -> list[Path]:
    """Train the LSA, evaluate it at kept checkpoints; returns the PNG, PDF and CSV paths."""
    out_dir = Path(out_dir)
    config = run_config(size, seed)
    run_dir = train(config, out_dir / "runs")
    n_dims, n_points = config.task.n_dims, config.task.n_points
    gamma_star = optimal_gamma(n_points, n_dims)
    prompt = eval_prompts(config.task.build(), config)
    _, model = load_model(run_dir)
    specs = [f"averaging:step_size={gamma_star:.6f}", "least_squares", "averaging"]
    curves = evaluate(learners_for(model, specs), prompt, seed=config.eval.seed)
    curves["learner"] = curves.learner.replace({specs[0]: "gd_step"})
    theory = pd.DataFrame(
        {
            "learner": ["lsa_optimum (theory)"] * n_points + ["least_squares (theory)"] * n_points,
            "k": [*range(n_points), *range(n_points)],
            "mean": [*lsa_curve(gamma_star, n_points, n_dims), *least_squares_curve(n_points, n_dims)],
        }
    )
    theory = theory.assign(
        task=curves.task.iloc[0], metric="squared_error", ci_low=theory["mean"], ci_high=theory["mean"], n_prompts=0
    )
    curves = pd.concat([curves, theory], ignore_index=True).assign(panel="error vs k", step=config.train.steps)

    rows = []
    for step in [*config.train.keep_checkpoints, config.train.steps]:
        _, snapshot = load_model(run_dir, step=None if step == config.train.steps else step)
        per_prompt = prompt_scores(snapshot.predict(prompt.xs, prompt.ys), prompt)[:, 1:].mean(dim=1)
        low, high = bootstrap_mean(per_prompt.numpy()[:, None], config.eval.n_bootstrap, 0.95, config.eval.seed)
        if not isinstance(snapshot, LinearSelfAttention):
            raise ValueError(f"the LSA figure reads the weights of an lsa model, got {type(snapshot).__name__}")
        distance, even = structure_error(snapshot, gamma_star)
        rows.append(
            {
                "panel": "training",
                "step": step,
                "learner": "LSA",
                "mean": float(per_prompt.mean()),
                "ci_low": low[0],
                "ci_high": high[0],
                "preconditioner_distance": distance,
                "even_weights": even,
            }
        )
    training = pd.DataFrame(rows)
    optimum = float(lsa_curve(gamma_star, n_points, n_dims)[1:].mean())

    fig, axes = new_figure(3, width_in=5.2)
    order = [*(key for key in curves.learner.unique() if key != "LSA"), "LSA"]
    plot_curves(axes[0], curves, f"d = {n_dims}, trained on {n_points - 1} examples", order=order)
    axes[0].legend(fontsize=7, frameon=True)
    plot_band(
        axes[1],
        training.step,
        training["mean"],
        training.ci_low,
        training.ci_high,
        color=colour_of("LSA"),
        label=name_of("LSA"),
        style="o-",
    )
    axes[1].axhline(optimum, color="k", ls="--", label="predicted optimum")
    axes[1].set(
        xscale="log",
        xlabel="training step",
        ylabel=r"normalised error, mean over $k \geq 1$",
        title="error during training",
    )
    axes[1].legend(fontsize=8)
    axes[2].plot(
        training.step, training.preconditioner_distance, "o-", label=r"$\|\Gamma - \gamma^* I\| \,/\, \|\gamma^* I\|$"
    )
    axes[2].plot(
        training.step,
        training.even_weights,
        "s-",
        label=r"even-term weights $(|v|\,\|A\| + |u|\,\|c\|) \,/\, \|\gamma^* I\|$",
    )
    axes[2].set(
        xscale="log",
        yscale="log",
        xlabel="training step",
        ylabel="relative distance",
        title=rf"learned weights vs $\gamma^* = {gamma_star:.3f}$",
    )
    axes[2].legend(fontsize=7)
    data = pd.concat([curves, training.assign(task=curves.task.iloc[0])], ignore_index=True)
    data["gamma_star"] = gamma_star
    data["optimum_mean_error"] = optimum
    return save_figure(
        fig,
        data,
        output_stem(out_dir, NAME, size),
        mark=size_mark(size),
        note="Shaded: 95% bootstrap intervals over prompts.",
    )


def main(argv: Sequence[str] | None = None) -> None:
    script_main(reproduce, DESCRIPTION, argv)


if __name__ == "__main__":
    main()

"""Garg et al. (2022), Figure 2 style: error vs in-context examples for three function classes.

Panels: linear regression (transformer, least squares, 3-NN, averaging, and least squares'
closed-form risk), sparse linear regression (plus Lasso) and depth-4 decision trees (plus greedy
tree learning and XGBoost). ``--quick`` trains tiny models at d = 5 on CPU in about two minutes;
the full version is the paper's setting (d = 20, standard model, 500k steps with curriculum) and
needs a GPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from icl import config as cfg
from icl.evaluate import eval_prompts, evaluate, learners_for
from icl.train import load_model, train
from paper_figs import output_stem, script_main
from paper_figs.plots import new_figure, plot_curves, save_figure, styled
from theory.regression import least_squares_curve

DESCRIPTION = "Garg et al. 2022 Fig. 2: transformer vs least squares, k-NN, averaging, Lasso, trees"
NAME = "garg_fig2"


@dataclass(frozen=True)
class Panel:
    title: str
    task: str
    params: dict
    baselines: tuple[str, ...]
    quick: dict
    full: dict


PANELS = (
    Panel(
        "linear regression",
        "linear_regression",
        {},
        ("least_squares", "knn:n_neighbors=3", "averaging"),
        quick={"task.n_dims": 5, "task.n_points": 11, "train.steps": 5000, "eval.n_prompts": 512},
        full={"task.n_dims": 20, "task.n_points": 41},
    ),
    Panel(
        "sparse linear regression",
        "sparse_linear_regression",
        {"sparsity": 2},
        ("least_squares", "lasso:alpha=0.01", "knn:n_neighbors=3", "averaging"),
        quick={"task.n_dims": 5, "task.n_points": 11, "train.steps": 2500, "eval.n_prompts": 256},
        full={"task.n_dims": 20, "task.n_points": 41, "task.params": {"sparsity": 3}},
    ),
    Panel(
        "decision tree (depth 4)",
        "decision_tree",
        {"depth": 4},
        ("greedy_tree", "boosted_trees", "knn:n_neighbors=3", "least_squares"),
        quick={"task.n_dims": 5, "task.n_points": 16, "train.steps": 1500, "eval.n_prompts": 128},
        full={"task.n_dims": 20, "task.n_points": 101},
    ),
)

QUICK_COMMON = {
    "model.size": "tiny",
    "train.lr": 1e-3,
    "train.lr_schedule": "cosine",
    "train.batch_size": 64,
    "curriculum.dims_start": 2,
    "curriculum.dims_interval": 200,
    "train.log_every": 100,
    "train.checkpoint_every": 1000,
}
FULL_COMMON = {
    "model.size": "standard",
    "train.lr": 1e-4,
    "train.steps": 500_000,
    "train.device": "cuda",
    "curriculum.dims_start": 5,
    "curriculum.points_start": 11,
    "train.checkpoint_every": 10_000,
    "eval.n_prompts": 1280,
}


def panel_config(panel: Panel, quick: bool, seed: int, figure: str = NAME) -> cfg.RunConfig:
    """The training/evaluation config of one panel (its run is named after ``figure``)."""
    values = {
        "task.name": panel.task,
        "task.params": panel.params,
        "train.seed": seed,
        "eval.baselines": list(panel.baselines),
    }
    values.update(QUICK_COMMON if quick else FULL_COMMON)
    values.update(panel.quick if quick else panel.full)
    values["name"] = f"{figure}-{panel.task}-{'quick' if quick else 'full'}-seed{seed}"
    return cfg.from_dict(cfg.set_values({}, values))


def panel_results(panel: Panel, config: cfg.RunConfig, runs_dir: Path) -> pd.DataFrame:
    """Train (or reuse) the panel's transformer and evaluate it with the baselines."""
    run_dir = train(config, runs_dir)
    _, model = load_model(run_dir)
    task = config.task.build()
    prompt = eval_prompts(task, config)
    frame = evaluate(
        learners_for(model, list(config.eval.baselines)),
        prompt,
        n_bootstrap=config.eval.n_bootstrap,
        confidence=config.eval.confidence,
        seed=config.eval.seed,
    )
    if panel.task == "linear_regression":
        frame = with_theory(
            frame, panel.task, "least_squares", least_squares_curve(prompt.n_points, config.task.n_dims)
        )
    frame.insert(0, "panel", panel.title)
    return frame


def with_theory(frame: pd.DataFrame, task: str, learner: str, curve: np.ndarray) -> pd.DataFrame:
    """``frame`` plus the rows of a theory curve for ``learner`` (unbounded values become NaN: gaps)."""
    values = np.where(np.isfinite(curve), curve, np.nan)
    rows = pd.DataFrame(
        {
            "task": task,
            "learner": f"{learner} (theory)",
            "k": range(len(values)),
            "metric": "squared_error",
            "mean": values,
            "ci_low": values,
            "ci_high": values,
            "n_prompts": 0,
        }
    )
    return pd.concat([frame, rows], ignore_index=True)


@styled
def reproduce(out_dir: Path, quick: bool = False, seed: int = 0) -> list[Path]:
    """Train, evaluate and plot all panels; returns the PNG, PDF and CSV paths."""
    out_dir = Path(out_dir)
    frames = [panel_results(p, panel_config(p, quick, seed), out_dir / "runs") for p in PANELS]
    fig, axes = new_figure(len(PANELS))
    for ax, panel, frame in zip(axes, PANELS, frames):
        plot_curves(ax, frame, panel.title)
        ax.legend(fontsize=8, frameon=True)
    data = pd.concat(frames, ignore_index=True)
    return save_figure(fig, data, output_stem(out_dir, NAME, quick))


def main(argv: Sequence[str] | None = None) -> None:
    script_main(reproduce, DESCRIPTION, argv)


if __name__ == "__main__":
    main()

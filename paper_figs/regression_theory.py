"""Empirical against analytical error curves on noisy linear regression (d = 5, noise std 0.5).

The transformer, least squares and Bayes-optimal ridge (alpha = sigma^2, the posterior mean under
the prompts' N(0, I) prior), measured on the same prompts with 95% bootstrap bands, against the
theory: least squares' closed-form risk (unbounded for k in {d - 1, d, d + 1}: a gap) and the
exact Bayes risk (``theory.regression.ridge_curve``, de Bruijn's formula, no Monte Carlo). No
learner can beat the Bayes curve; how close the transformer comes is the question.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from icl.evaluate import evaluate_run, with_theory
from icl.train import train
from paper_figs import output_stem, script_main, size_mark
from paper_figs._regression import Panel, panel_config
from paper_figs.plots import new_figure, plot_curves, save_figure, styled
from theory.regression import least_squares_curve, ridge_curve

DESCRIPTION = "Noisy linear regression: transformer, least squares, Bayes ridge vs their theory curves"
NAME = "regression_theory"
NOISE_STD = 0.5


PANEL = Panel(
    f"noisy linear regression (d = 5, noise std {NOISE_STD})",
    "noisy_linear_regression",
    {"noise_std": NOISE_STD},
    ("least_squares", f"ridge:alpha={NOISE_STD**2}"),
    quick={"task.n_dims": 5, "task.n_points": 16, "train.steps": 5000, "eval.n_prompts": 1024},
    full={"task.n_dims": 5, "task.n_points": 16, "train.steps": 100_000, "eval.n_prompts": 4096},
    smoke={"task.n_points": 4},  # the exact Bayes curve's quadratures grow with k: 40 s at 16 points, 2 s at 4
)
"""Noisy linear regression, ridge at the Bayes penalty sigma^2."""


@styled
def reproduce(out_dir: Path, size: str = "full", seed: int = 0) -> list[Path]:
    """Train (or reuse) the transformer, evaluate it with the baselines, overlay both theory curves."""
    out_dir = Path(out_dir)
    config = panel_config(PANEL, size, seed, figure=NAME)
    _, _, frame = evaluate_run(train(config, out_dir / "runs"))
    frame.insert(0, "panel", PANEL.title)
    n_points, n_dims = config.task.n_points, config.task.n_dims
    frame = with_theory(frame, PANEL.task, "least_squares", least_squares_curve(n_points, n_dims, NOISE_STD))
    frame = with_theory(frame, PANEL.task, f"ridge:alpha={NOISE_STD**2}", ridge_curve(n_points, n_dims, NOISE_STD))
    frame["panel"] = PANEL.title
    fig, (ax,) = new_figure(1, width_in=6.0, height_in=4.2)
    plot_curves(ax, frame, PANEL.title)
    ax.axvline(n_dims, color="grey", ls=":", lw=1)
    ax.legend(fontsize=8, frameon=True)
    return save_figure(
        fig,
        frame,
        output_stem(out_dir, NAME, size),
        mark=size_mark(size),
        note="Shaded: 95% bootstrap intervals over prompts; dashed: theory.",
    )


def main(argv: Sequence[str] | None = None) -> None:
    script_main(reproduce, DESCRIPTION, argv)


if __name__ == "__main__":
    main()

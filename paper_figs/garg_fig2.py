"""Garg et al. (2022), Figure 2 style: error vs in-context examples for three function classes.

Panels: linear regression (transformer, least squares, 3-NN, averaging, and least squares'
closed-form risk), sparse linear regression (plus Lasso) and depth-4 decision trees (plus greedy
tree learning and XGBoost). ``--size quick`` trains tiny models at d = 5 on CPU in about two minutes;
the full version is the paper's setting (d = 20, standard model, 500k steps with curriculum) and
needs a GPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from icl import config as cfg
from icl.evaluate import evaluate_run, with_theory
from icl.train import train
from paper_figs import output_stem, script_main, size_mark
from paper_figs._regression import Panel, panel_config
from paper_figs.plots import new_figure, plot_curves, save_figure, styled
from theory.regression import least_squares_curve

DESCRIPTION = "Garg et al. 2022 Fig. 2: transformer vs least squares, k-NN, averaging, Lasso, trees"
NAME = "garg_fig2"


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


def panel_results(panel: Panel, config: cfg.RunConfig, runs_dir: Path) -> pd.DataFrame:
    """Train (or reuse) the panel's transformer and evaluate it with the baselines."""
    _, prompt, frame = evaluate_run(train(config, runs_dir))
    if panel.task == "linear_regression":
        frame = with_theory(
            frame, panel.task, "least_squares", least_squares_curve(prompt.n_points, config.task.n_dims)
        )
    frame.insert(0, "panel", panel.title)
    return frame


@styled
def reproduce(out_dir: Path, size: str = "full", seed: int = 0) -> list[Path]:
    """Train, evaluate and plot all panels; returns the PNG, PDF and CSV paths."""
    out_dir = Path(out_dir)
    configs = [panel_config(panel, size, seed, NAME) for panel in PANELS]
    frames = [panel_results(panel, config, out_dir / "runs") for panel, config in zip(PANELS, configs)]
    fig, axes = new_figure(len(PANELS))
    for ax, panel, config, frame in zip(axes, PANELS, configs, frames):
        plot_curves(ax, frame, f"{panel.title}, d = {config.task.n_dims}")
        ax.legend(fontsize=8, frameon=True)
    data = pd.concat(frames, ignore_index=True)
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

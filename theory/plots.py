"""Plots of learners' curves (with confidence bands) and analytical curves, saved with their data.

Every figure is written as PNG and PDF with the CSV of the numbers it shows beside it, each file
atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from icl.evaluate import write_csv  # noqa: E402
from icl.io import atomic_path  # noqa: E402

Y_CAP = 2.0
"""Upper limit of normalised-error axes (twice the zero predictor's error)."""

METRIC_LABELS = {
    "squared_error": "normalised squared error",
    "accuracy": "accuracy",
}


def plot_curves(ax: Axes, frame: pd.DataFrame, title: str, order: Sequence[str] | None = None) -> None:
    """Mean score vs number of in-context examples per learner, with its bootstrap band.

    Rows whose ``learner`` ends in "(theory)" are drawn dashed without a band. Normalised errors
    are shown up to ``Y_CAP``.
    """
    learners = list(order) if order is not None else list(frame.learner.unique())
    palette = dict(zip(learners, sns.color_palette("colorblind", len(learners))))
    for learner in learners:
        rows = frame[frame.learner == learner].sort_values("k")
        theory = learner.endswith("(theory)")
        ax.plot(rows.k, rows["mean"], label=learner, color=palette[learner], linestyle="--" if theory else "-", lw=1.8)
        if not theory:
            ax.fill_between(rows.k, rows.ci_low, rows.ci_high, color=palette[learner], alpha=0.2, lw=0)
    metric = frame.metric.iloc[0]
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_xlabel("in-context examples k")
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    ax.set_title(title)
    if metric == "squared_error":
        # least squares' variance is unbounded near k = d; cap the axis so the other curves stay legible
        ax.set_ylim(0, min(Y_CAP, 1.05 * float(frame["ci_high"].max())))


def new_figure(n_panels: int, width_in: float = 4.5, height_in: float = 3.6) -> tuple[Figure, list[Axes]]:
    """A row of ``n_panels`` seaborn-styled axes."""
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.1)
    fig, axes = plt.subplots(1, n_panels, figsize=(width_in * n_panels, height_in), squeeze=False)
    return fig, list(axes[0])


def save_figure(fig: Figure, data: pd.DataFrame, stem: str | Path) -> list[Path]:
    """Write ``stem``.png, ``stem``.pdf and ``stem``.csv atomically; returns the paths."""
    stem = Path(stem)
    paths = []
    for suffix in (".png", ".pdf"):
        path = stem.with_suffix(suffix)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=150, bbox_inches="tight", format=suffix[1:])
        paths.append(path)
    plt.close(fig)
    paths.append(write_csv(data, stem.with_suffix(".csv")))
    return paths

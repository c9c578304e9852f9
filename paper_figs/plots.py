"""Plots of learners' curves (with confidence bands) and analytical curves, saved with their data.

Every figure is written as PNG and PDF with the CSV of the numbers it shows beside it, each file
atomically. Importing this module changes no process-wide state: the house style is applied inside
``styled`` (an rc context), and the backend is chosen by the caller (the command line and the
scripts use Agg; Jupyter keeps its inline backend).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd
import seaborn as sns
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from icl.evaluate import write_csv
from icl.io import atomic_path
from paper_figs.names import THEORY, name_of, palette_of

P = ParamSpec("P")
R = TypeVar("R")

Y_CAP = 2.0
"""Upper limit of normalised-error axes (twice the zero predictor's error)."""

METRIC_LABELS = {
    "squared_error": "normalised squared error",
    "accuracy": "accuracy",
}


@contextmanager
def style() -> Iterator[None]:
    """The house style (seaborn whitegrid, paper context, deep palette) for the block only."""
    rc = {
        **sns.axes_style("whitegrid"),
        **sns.plotting_context("paper", font_scale=1.1),
        "axes.prop_cycle": cycler(color=sns.color_palette("deep")),
    }
    with plt.rc_context(rc):
        yield


def level_palette(n_levels: int) -> list[tuple[float, float, float]]:
    """Colours for the ordered levels of one quantity (N = 5, 20, 50, ...): viridis from dark to light,
    its pale yellow end left out, spaced as far apart as the levels allow (a sequential palette such as
    crest makes neighbours near twins at three levels or more)."""
    return [tuple(c[:3]) for c in plt.get_cmap("viridis")(np.linspace(0.0, 0.85, max(n_levels, 1)))]


def styled(draw: Callable[P, R]) -> Callable[P, R]:
    """Decorator: run a figure's drawing function inside ``style()``."""

    @functools.wraps(draw)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with style():
            return draw(*args, **kwargs)

    return wrapper


def plot_band(
    ax: Axes,
    x: ArrayLike,
    mean: ArrayLike,
    low: ArrayLike | None,
    high: ArrayLike,
    *,
    color: Any,
    label: str,
    style: str = "-",
    scale: float = 1.0,
) -> None:
    """One curve with its confidence band (no band when ``low`` is None)."""
    ax.plot(x, scale * np.asarray(mean), style, color=color, label=label, lw=1.8, ms=3)
    if low is not None:
        ax.fill_between(x, scale * np.asarray(low), scale * np.asarray(high), color=color, alpha=0.2, lw=0)


def plot_curves(ax: Axes, frame: pd.DataFrame, title: str, order: Sequence[str] | None = None) -> None:
    """Mean score vs number of in-context examples per learner, with its bootstrap band.

    Rows whose ``learner`` key ends in " (theory)" are drawn dashed without a band. Normalised errors
    are shown up to ``Y_CAP``.
    """
    learners = list(order) if order is not None else list(frame.learner.unique())
    palette = palette_of(learners)
    for learner in learners:
        rows = frame[frame.learner == learner].sort_values("k")
        theory = learner.endswith(THEORY)
        plot_band(
            ax,
            rows.k,
            rows["mean"],
            None if theory else rows.ci_low,
            rows.ci_high,
            color=palette[learner],
            label=name_of(learner),
            style="--" if theory else "-",
        )
    metric = frame.metric.iloc[0]
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_xlabel("in-context examples k")
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    ax.set_title(title)
    if metric == "squared_error":
        # least squares' variance is unbounded near k = d; cap the axis so the other curves stay legible
        ax.set_ylim(0, min(Y_CAP, 1.05 * float(frame["ci_high"].max())))


def new_figure(n_panels: int, width_in: float = 4.5, height_in: float = 3.6) -> tuple[Figure, list[Axes]]:
    """A row of ``n_panels`` axes (in the house style when called inside ``style()``)."""
    fig, axes = plt.subplots(1, n_panels, figsize=(width_in * n_panels, height_in), squeeze=False)
    return fig, list(axes[0])


def save_figure(
    fig: Figure, data: pd.DataFrame, stem: str | Path, note: str | None = None, mark: str | None = None
) -> list[Path]:
    """Write ``stem``.png, ``stem``.pdf and ``stem``.csv atomically; returns the paths. ``note`` is
    printed under the panels (what the bands and whiskers are), so the figure explains itself; ``mark``
    (``paper_figs.size_mark``) is written large across them."""
    stem = Path(stem)
    fig.tight_layout()
    if note:
        fig.text(0.01, 0.0, note, ha="left", va="top", fontsize="small", color="0.3")
    if mark:
        fig.text(0.5, 0.5, mark, ha="center", va="center", fontsize=28, color="red", alpha=0.3, rotation=20)
    paths = []
    for suffix in (".png", ".pdf"):
        path = stem.with_suffix(suffix)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=150, bbox_inches="tight", format=suffix[1:])
        paths.append(path)
    plt.close(fig)
    paths.append(write_csv(data, stem.with_suffix(".csv")))
    return paths

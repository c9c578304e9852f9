"""Bhattamishra et al. (2023), main table: in-context accuracy per Boolean function class.

For each class: a transformer and attention-free models (LSTM, RetNet-style, S4D-style) trained on that class, the generic baselines (null,
averaging, 1-NN, 3-NN, a feed-forward net trained per prompt by gradient descent) and the class's
exact learner (elimination, GF(2) elimination, perceptron). The heatmap shows accuracy at the last
prompt position; the CSV holds it at every position with 95% bootstrap intervals. ``--size quick``:
conjunction, disjunction and parity at n = 10, prompts of 40 (parity 30), a tiny transformer and LSTM
on CPU, trained side by side (``icl.train.train_many``); ``--size medium``: all eleven classes at
n = 10 (prompts of 40 to 50, parities 30), with the attention-free RetNet-style and S4D-style models
beside the LSTM, on CPU; full: all eleven classes at n = 28 with the paper's prompt lengths (GPU).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import seaborn as sns

from icl.train import train_many
from paper_figs import by_size, output_stem, script_main
from paper_figs._boolean import class_results, families, run_config, size_label
from paper_figs.plots import new_figure, save_figure, styled
from tasks import BOOLEAN_TASKS

DESCRIPTION = "Bhattamishra et al. 2023 main table: accuracy per Boolean class, transformer vs LSTM vs baselines"
NAME = "bhattamishra_table"
QUICK_CLASSES = ("conjunction", "disjunction", "parity")
COLUMNS = (
    "transformer",
    "LSTM",
    "RetNet",
    "S4D",
    "elimination",
    "GF(2) elimination",
    "perceptron",
    "FF net (GD)",
    "1-NN",
    "3-NN",
    "averaging",
    "null (majority label)",
)
"""Column order: trained models, exact learners, generic baselines."""


def final_accuracy(frame: pd.DataFrame) -> pd.DataFrame:
    """Class x learner table of the accuracy at each class's last prompt position; rows are named
    "class (k examples)"."""
    last = frame[frame.k == frame.groupby("task").k.transform("max")].copy()
    last["task"] = last.task + " (" + last.k.astype(str) + " examples)"
    table = last.pivot(index="task", columns="learner", values="mean")
    learners = [name for name in COLUMNS if name in table.columns]
    return table.reindex(index=list(dict.fromkeys(last.task)), columns=learners)


@styled
def reproduce(out_dir: Path, size: str = "full", seed: int = 0) -> list[Path]:
    """Train and evaluate every class; returns the PNG, PDF and CSV paths."""
    out_dir = Path(out_dir)
    classes = by_size(size, QUICK_CLASSES, QUICK_CLASSES, BOOLEAN_TASKS, medium=BOOLEAN_TASKS)
    # the transformers, the longer runs, start first, so that side-by-side training ends about together
    runs = [run_config(task, family, size, seed) for family in families(size) for task in classes]
    train_many(runs, out_dir / "runs")
    data = pd.concat([class_results(task, size, seed, out_dir / "runs") for task in classes], ignore_index=True)
    table = final_accuracy(data)
    fig, (ax,) = new_figure(1, width_in=1.1 * len(table.columns) + 2.5, height_in=0.45 * len(table) + 2.0)
    sns.heatmap(
        table,
        annot=True,
        fmt=".2f",
        vmin=0.5,
        vmax=1.0,
        cmap="viridis",
        ax=ax,
        cbar_kws={"label": "accuracy at the last example"},
    )
    ax.set_title(f"In-context accuracy at the last example{size_label(size)}")
    ax.grid(False)
    ax.set_xlabel("learner")
    ax.set_ylabel("function class")
    ax.tick_params(axis="x", rotation=35)
    for tick in ax.get_xticklabels():
        tick.set_horizontalalignment("right")
    return save_figure(fig, data, output_stem(out_dir, NAME, size))


def main(argv: Sequence[str] | None = None) -> None:
    script_main(reproduce, DESCRIPTION, argv)


if __name__ == "__main__":
    main()

"""Bhattamishra et al. (2023), main table: in-context accuracy per Boolean function class.

For each class: a transformer and attention-free models (LSTM, RetNet-style, S4D-style) trained on
that class, the generic baselines (null, averaging, 1-NN, 3-NN, a feed-forward net trained per prompt
by gradient descent) and the class's exact learner (elimination, GF(2) elimination, perceptron). The
heatmap shows accuracy at the last prompt position, marks the cells at 95% or more (learnt) and those
no better than a coin flip or the null learner (chance), and names beside each class the paper's
reported pattern; the CSV holds the accuracy at every position with 95% bootstrap intervals.
``--size quick``: conjunction, disjunction and parity at n = 10, prompts of 40 (parity 30), a tiny
transformer and LSTM on CPU, trained side by side (``icl.train.train_many``); ``--size medium``: all
eleven classes at n = 10 (prompts of 40 to 50, parities 30), with the attention-free RetNet-style and
S4D-style models beside the LSTM, on CPU; full: all eleven classes at n = 28 with the paper's prompt
lengths (GPU).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from icl.train import train_many
from paper_figs import by_size, output_stem, script_main, size_mark
from paper_figs._boolean import PAPER_PATTERN, class_results, families, run_config, size_label
from paper_figs.names import name_of
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
    "gf2_parity",
    "perceptron",
    "gd_net",
    "knn:n_neighbors=1",
    "knn:n_neighbors=3",
    "averaging",
    "majority_label",
)
"""Column order: trained models, exact learners, generic baselines."""


LEARNT = 0.95
"""The accuracy at the last example from which a class counts as learnt (the issue's 95%)."""
NULL = "majority_label"


def final_accuracy(frame: pd.DataFrame, column: str = "mean") -> pd.DataFrame:
    """Class x learner table of ``column`` (the accuracy, or an interval's end) at each class's last
    prompt position; rows are named "class (k examples)"."""
    last = frame[frame.k == frame.groupby("task").k.transform("max")].copy()
    last["task"] = last.task + " (" + last.k.astype(str) + " examples)"
    table = last.pivot(index="task", columns="learner", values=column)
    learners = [name for name in COLUMNS if name in table.columns]
    return table.reindex(index=list(dict.fromkeys(last.task)), columns=learners)


def verdicts(frame: pd.DataFrame) -> pd.DataFrame:
    """Class x learner: "learnt" (accuracy >= LEARNT), "chance" (the learner's 95% interval reaches
    down to a coin flip or to the null learner's interval: no better than guessing or than the
    majority label) or ""."""
    mean, low = final_accuracy(frame), final_accuracy(frame, "ci_low")
    guess = final_accuracy(frame, "ci_high")[NULL].clip(lower=0.5)
    chance = low.le(guess, axis=0)
    chance[NULL] = False
    verdict = pd.DataFrame("", index=mean.index, columns=mean.columns)
    return verdict.mask(chance, "chance").mask(mean >= LEARNT, "learnt")


def draw(data: pd.DataFrame, size: str) -> Figure:
    """The heatmap of accuracies at the last example, verdicts marked, the paper's pattern per class."""
    table, verdict = final_accuracy(data), verdicts(data)
    marks = verdict.replace({"learnt": "\u2605", "chance": "\u25cb"})
    labels = table.map("{:.2f}".format).where(table.notna(), "") + marks
    pattern = [PAPER_PATTERN[task] for task in dict.fromkeys(data.task)]
    table.index = [f"{row}, paper: {said}" for row, said in zip(table.index, pattern)]
    fig, (ax,) = new_figure(1, width_in=1.1 * len(table.columns) + 3.5, height_in=0.45 * len(table) + 2.0)
    sns.heatmap(
        table,
        annot=labels,
        fmt="",
        vmin=0.5,
        vmax=1.0,
        cmap="viridis",
        ax=ax,
        cbar_kws={"label": "accuracy at the last example"},
        xticklabels=[name_of(learner) for learner in table.columns],
    )
    ax.set_title(f"In-context accuracy at the last example{size_label(size)}")
    ax.grid(False)
    ax.set_xlabel("learner")
    ax.set_ylabel("function class")
    ax.tick_params(axis="x", rotation=35)
    for tick in ax.get_xticklabels():
        tick.set_horizontalalignment("right")
    return fig


@styled
def reproduce(out_dir: Path, size: str = "full", seed: int = 0) -> list[Path]:
    """Train and evaluate every class; returns the PNG, PDF and CSV paths."""
    out_dir = Path(out_dir)
    classes = by_size(size, QUICK_CLASSES, QUICK_CLASSES, BOOLEAN_TASKS, medium=BOOLEAN_TASKS)
    # every (class, family) run, as many side by side as there are cores
    runs = [run_config(task, family, size, seed) for family in families(size) for task in classes]
    train_many(runs, out_dir / "runs")
    data = pd.concat([class_results(task, size, seed, out_dir / "runs") for task in classes], ignore_index=True)
    fig = draw(data, size)
    return save_figure(
        fig,
        data,
        output_stem(out_dir, NAME, size),
        mark=size_mark(size),
        note=f"\u2605 accuracy >= {LEARNT:.0%}; \u25cb chance: the 95% interval reaches a coin flip or the null learner's. "
        "Paper: the pattern Bhattamishra et al. report at n = 28 (near-perfect, partial, chance).",
    )


def main(argv: Sequence[str] | None = None) -> None:
    script_main(reproduce, DESCRIPTION, argv)


if __name__ == "__main__":
    main()

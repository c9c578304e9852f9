"""Bhattamishra et al. (2023), teaching sequences: accuracy vs examples with and without the prefix.

A transformer trained on conjunction prompts that start with a teaching sequence (k + 2 examples
for k literals), evaluated on such prompts, against a transformer trained and evaluated on random
prompts; the elimination algorithm on both kinds of prompts is the exact-learner reference. Bands:
95% bootstrap intervals over prompts. ``--size quick``: n = 10, tiny models on CPU; prompts with the
prefix are 20 examples long (the prefix is at most 12), random ones 40 (the table's conjunction run).
Inside the prefix the labels follow its fixed format (two positive examples, then negatives), which a
transformer trained on such prompts predicts from the start; learning from the prefix shows at the
positions past the longest prefix (k >= n + 2), where all prompts continue with random examples.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from icl.train import train_many
from paper_figs import output_stem, script_main, size_mark
from paper_figs._boolean import class_results, run_config, size_label
from paper_figs.names import colour_of, name_of
from paper_figs.plots import new_figure, plot_band, save_figure, styled

DESCRIPTION = "Bhattamishra et al. 2023: conjunctions with and without a teaching-sequence prefix"
NAME = "bhattamishra_teaching"


@styled
def reproduce(out_dir: Path, size: str = "full", seed: int = 0) -> list[Path]:
    """Train (or reuse) both transformers, evaluate them with elimination; returns PNG, PDF and CSV paths."""
    out_dir = Path(out_dir)
    kinds = ((True, "teaching prefix"), (False, "random examples"))
    train_many([run_config("conjunction", "gpt", size, seed, teaching) for teaching, _ in kinds], out_dir / "runs")
    frames = []
    for teaching, prompts in kinds:
        frame = class_results(
            "conjunction",
            size,
            seed,
            out_dir / "runs",
            models=("gpt",),
            teaching=teaching,
            baselines=("elimination",),
        )
        frames.append(frame.assign(prompts=prompts))
    data = pd.concat(frames, ignore_index=True)
    fig, (ax,) = new_figure(1, width_in=6.0, height_in=4.0)
    for (learner, prompts), rows in data.groupby(["learner", "prompts"], sort=False):
        plot_band(ax, rows.k, rows["mean"], rows.ci_low, rows.ci_high, color=colour_of(learner),
                  label=f"{name_of(learner)}, {prompts}", style="-" if prompts == kinds[0][1] else "--")  # fmt: skip
    ax.set(xlabel="in-context examples k", ylabel="accuracy", title=f"Conjunctions{size_label(size)}", ylim=(0, 1.02))
    ax.legend(fontsize=8, frameon=True, loc="lower right")
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

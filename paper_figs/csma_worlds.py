"""CSMA beyond Bianchi's world: where the model's window fails, and how every optimizer fares there.

Left: the throughput Bianchi's W*(N) keeps of each world's measured oracle (the best window of the
world's table), per N, mean and 95% interval over the table's runs. Right: closed loop on the
embedded simulator, probes charged, each policy's mean throughput over seeds as % of the world's
oracle (the 5th percentile over seeds in brackets), mean over N in {5, 20, 50}: the in-context
optimizers (the p* formulation trained in Bianchi's world, and the median of offsets reading the
same prompts; the throughput-peak formulation trained across worlds drawn at random from
``TRAIN_RANGES``, and the parabola fit reading the same probes), the classic schemes, Bianchi's
window for the true N, the CCOD-style DQN and BEB. Worlds marked * lie outside the training ranges.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from control.experiments import world_scores
from paper_figs import by_size, output_stem, script_main, size_mark
from paper_figs._worlds import WORLDS_NOTE, draw, model_window_kept, world_policies
from paper_figs.csma_common import across_worlds_tables, world_tables
from paper_figs.plots import save_figure, styled
from sim.env import Embedded
from sim.table import MeasurementTable

DESCRIPTION = "CSMA worlds: where Bianchi's window fails, and every optimizer closed loop in each world"
NAME = "csma_worlds"


@styled
def reproduce(out_dir: Path, size: str = "full", seed: int = 0) -> list[Path]:
    """Collect the world tables, train the optimizers, score them in every world, plot."""
    out_dir = Path(out_dir)
    tables = world_tables(out_dir / "worlds", seeds=by_size(size, 2, 6, 10))
    n_values = [5, 20, 50]
    kept = model_window_kept(tables, n_values)
    policies = world_policies(out_dir / "runs", size, seed, across_worlds_tables(out_dir / "worlds", size, seed))
    seeds, steps = by_size(size, 1, 3, 10), by_size(size, 14, 40, 60)
    slots = by_size(size, 500, 5000, 5000)
    optima = {world: MeasurementTable.load(path) for world, path in tables.items()}
    scores = world_scores(
        policies, list(tables), n_values, seeds, steps, backend=Embedded(slots),
        optimum=lambda world, n: optima[world].optimal_window(n),
    ).assign(panel="closed loop")  # fmt: skip
    data = pd.concat([kept, scores], ignore_index=True)
    fig = draw(kept, scores, list(tables), "the embedded simulator", seed)
    return save_figure(
        fig,
        data,
        output_stem(out_dir, NAME, size),
        mark=size_mark(size),
        note=WORLDS_NOTE,
    )


def main(argv: Sequence[str] | None = None) -> None:
    script_main(reproduce, DESCRIPTION, argv)


if __name__ == "__main__":
    main()

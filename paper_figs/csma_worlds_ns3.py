"""The CSMA worlds on real ns-3: where the model's window fails there, and how every optimizer fares.

The ``csma_worlds`` figure with ns-3 as the ground truth: each world of ``sim.worlds`` runs as our
scenario's options (``sim/ns3/scenario.cc``), and so does 802.11ax with A-MPDU aggregation
(``ax_ampdu``), which only ns-3 runs; a world's oracle is the best fixed window of an ns-3 sweep
(``WORLD_WINDOWS``), and every policy runs closed loop on ns-3, probes charged. Nothing is trained on
ns-3: the optimizers are those of ``csma_worlds`` (trained on Bianchi's model and on the embedded
simulator's tables of randomised worlds). Left: the throughput Bianchi's W*(N) keeps of each world's
ns-3 oracle, per N, mean and 95% interval over seeds. Right: each policy's mean throughput over seeds
as % of the oracle (5th percentile in brackets), mean over N.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from control.experiments import world_scores
from paper_figs import by_size, output_stem, script_main, size_mark
from paper_figs._worlds import WORLDS_NOTE, draw, model_window_kept, world_policies
from paper_figs.csma_common import across_worlds_tables, ns3_world_table
from paper_figs.plots import save_figure, styled
from sim.env import Ns3
from sim.ns3 import Ns3Error, ns3_available
from sim.ns3.build import INSTALL_HINT
from sim.table import MeasurementTable
from sim.worlds import NS3_WORLDS

DESCRIPTION = "CSMA worlds on ns-3: Bianchi's window against each world's ns-3 oracle, and every optimizer closed loop"
NAME = "csma_worlds_ns3"


@styled
def reproduce(out_dir: Path, size: str = "full", seed: int = 0) -> list[Path]:
    """Sweep each world on ns-3 for its oracle, train (or reuse) the optimizers, score them on ns-3, plot."""
    if not ns3_available():
        raise Ns3Error(f"the {NAME} figure runs ns-3, which is not installed; {INSTALL_HINT}")
    out_dir = Path(out_dir)
    names = by_size(size, ["bianchi", "hidden"], list(NS3_WORLDS), list(NS3_WORLDS))
    n_values = by_size(size, [5], [5, 20], [5, 20, 50])
    step_s = by_size(size, 0.01, 0.1, 0.2)
    data_dir = out_dir / f"ns3-worlds-{size}"
    tables = {
        world: ns3_world_table(data_dir, world, n_values, by_size(size, 1, 2, 4), step_s, workers=2) for world in names
    }
    kept = model_window_kept(tables, n_values)
    policies = world_policies(out_dir / "runs", size, seed, across_worlds_tables(out_dir / "worlds", size, seed))
    optima = {world: MeasurementTable.load(path) for world, path in tables.items()}
    scores = world_scores(
        policies, names, n_values, by_size(size, 1, 1, 4), by_size(size, 14, 30, 60),
        backend=Ns3(step_s, run_dir=str(data_dir / "closed-loop-logs")),
        optimum=lambda world, n: optima[world].optimal_window(n),
    ).assign(panel="closed loop")  # fmt: skip
    data = pd.concat([kept, scores], ignore_index=True)
    fig = draw(kept, scores, names, "ns-3", seed)
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

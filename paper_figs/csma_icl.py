"""In-context CSMA window optimisation (Hao, Li, Duan 2025, our formulation), on the embedded simulator.

Left: throughput vs the number of stations N for the ICL controller (probes, then its predicted
window), the oracle fixed window W*(N), 802.11 BEB (CW 16..1024), the model-based optima of
p-persistent CSMA (Cali et al.'s closed form) and non-persistent CSMA (Kleinrock-Tobagi) when N is
known, the model-based optimum for a misestimated N and a CCOD-style DQN agent, all measured closed
loop in ``sim.CsmaEnv``, with Bianchi's oracle curve.
Right: how fast training gets there: the throughput the model's threshold achieves, relative to
the oracle's, vs training steps (Bianchi's model, 512 unseen networks). Bands: 95% bootstrap
intervals over seeds (left) and networks (right).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from matplotlib.ticker import FuncFormatter

from control.experiments import closed_loop, controller_for, training_curve
from icl.train import train
from paper_figs import by_size, output_stem, script_main, size_mark
from paper_figs.csma_common import drl_for, experiment_env, icl_run_config, plot_throughput_vs_n, training_stages
from paper_figs.names import name_of
from paper_figs.plots import new_figure, plot_band, save_figure, styled

DESCRIPTION = "CSMA: ICL window optimizer vs oracle, BEB and misestimated-N model on the simulator; training curve"
NAME = "csma_icl"


@styled
def reproduce(out_dir: Path, size: str = "full", seed: int = 0) -> list[Path]:
    """Train the ICL model (keeping checkpoints for the training curve), run the policies, plot."""
    out_dir = Path(out_dir)
    stages = training_stages(size)
    config = icl_run_config(size, seed)
    curve = training_curve(train(config, out_dir / "runs"), stages)
    n_grid = by_size(size, [5, 50], [5, 10, 20, 30, 40, 50], [2, 5, 10, 15, 20, 25, 30, 40, 50, 60])
    controller = controller_for(out_dir / "runs" / config.name)
    dqn = drl_for(out_dir / "runs", size, seed)
    seeds, hold_steps = by_size(size, 2, 3, 10), by_size(size, 1, 4, 20)
    loop = closed_loop(controller, dqn, n_grid, seeds, hold_steps, make_env=experiment_env(size))
    data = pd.concat([loop, curve], ignore_index=True)

    fig, (left, right) = new_figure(2, width_in=5.2)
    palette = plot_throughput_vs_n(left, loop, "closed loop on the embedded simulator")
    plot_band(
        right,
        curve.x,
        curve["mean"],
        curve.ci_low,
        curve.ci_high,
        color=palette["icl:transformer"],
        label=name_of("icl:transformer"),
        style="-o",
        scale=100,
    )
    right.axhline(100, color="black", ls="--", lw=1, label="oracle")
    right.xaxis.set_major_formatter(FuncFormatter(lambda steps, _: f"{steps / 1000:g}k"))
    right.set_xlabel("training steps")
    right.set_ylabel("throughput of predicted W (% of oracle)")
    right.set_title(r"training: unseen networks, $N \in [5, 50]$")
    right.legend(fontsize=8)
    return save_figure(
        fig,
        data,
        output_stem(out_dir, NAME, size),
        mark=size_mark(size),
        note="Shaded: 95% bootstrap intervals over seeds (left) and networks (right).",
    )


def main(argv: Sequence[str] | None = None) -> None:
    script_main(reproduce, DESCRIPTION, argv)


if __name__ == "__main__":
    main()

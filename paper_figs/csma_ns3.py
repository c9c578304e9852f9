"""The CSMA policies on real ns-3 (the paper's NS-3 comparison, our formulation and scenario).

Left: throughput vs the number of stations N on ns-3 (802.11a, 54 Mb/s, one AP, saturated UDP
uplink; ``sim/ns3/scenario.cc``) for the ICL controller, the oracle window W*(N), 802.11 BEB, the
model-based optima (p-persistent / non-persistent CSMA knowing N, fixed window for an assumed N)
and the CCOD-style DQN agent, with Bianchi's oracle curve. The ICL model and the DQN are the ones
of ``csma_icl`` (trained on Bianchi's model and the embedded simulator): nothing is re-trained on
ns-3. Right: throughput over time on ns-3 when N jumps from 10 to 45. One step is ``STEP_S``
seconds of simulated time. Bands: 95% bootstrap intervals over seeds.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from control.experiments import (
    CHANGE_STEP,
    N_AFTER,
    N_BEFORE,
    adaptive_policies,
    closed_loop,
    controller_for,
    convergence,
)
from icl.train import train
from paper_figs import by_size, output_stem, script_main, size_mark
from paper_figs.csma_common import drl_for, icl_run_config, plot_convergence, plot_throughput_vs_n
from paper_figs.plots import new_figure, save_figure, styled
from sim.env import CsmaEnv, Ns3
from sim.ns3 import Ns3Error, ns3_available
from sim.ns3.build import INSTALL_HINT

DESCRIPTION = "CSMA on ns-3: throughput vs N and convergence after a change of N for ICL, BEB, model-based and DQN"
NAME = "csma_ns3"
STEP_S = 0.25
"""Simulated seconds per step: about the channel time of the 5,000-slot windows the model was trained for."""


def ns3_env(run_dir: Path, step_time_s: float, n_stations: int, **options: Any) -> CsmaEnv:
    """One ns-3 episode of ``step_time_s`` simulated seconds per step, its log under ``run_dir``."""
    return CsmaEnv(n_stations, backend=Ns3(step_time_s, run_dir=str(run_dir)), **options)


@styled
def reproduce(out_dir: Path, size: str = "full", seed: int = 0) -> list[Path]:
    """Run every policy on ns-3 (training the ICL model and the DQN first if ``csma_icl`` has not)."""
    if not ns3_available():
        raise Ns3Error(f"the {NAME} figure runs ns-3, which is not installed; {INSTALL_HINT}")
    out_dir = Path(out_dir)
    config = icl_run_config(size, seed)
    run_dir = train(config, out_dir / "runs")
    step_s = by_size(size, STEP_S / 10, STEP_S, STEP_S)  # smoke: only the plumbing counts
    make_env = functools.partial(ns3_env, out_dir / "runs" / f"{NAME}-ns3-logs", step_s)
    n_grid = by_size(size, [5], [5, 10, 20, 35, 50], [2, 5, 10, 15, 20, 25, 30, 40, 50, 60])
    controller = controller_for(run_dir)
    dqn = drl_for(out_dir / "runs", size, seed)
    seeds = by_size(size, 1, 2, 10)
    loop = closed_loop(controller, dqn, n_grid, seeds, hold_steps=by_size(size, 1, 4, 20), make_env=make_env)
    n_steps = by_size(size, CHANGE_STEP + 2, 40, 80)
    curves = convergence(adaptive_policies(controller, dqn), seeds, n_steps, make_env=make_env)
    data = pd.concat([loop, curves], ignore_index=True)

    fig, (left, right) = new_figure(2, width_in=5.2)
    palette = plot_throughput_vs_n(left, loop, "closed loop on ns-3 (802.11a, 54 Mb/s)")
    plot_convergence(
        right,
        curves,
        CHANGE_STEP,
        f"step ({step_s:g} s of ns-3 time each); N: {N_BEFORE} -> {N_AFTER} at step {CHANGE_STEP}",
        "convergence after a change of N, ns-3",
        palette,
    )
    return save_figure(
        fig,
        data,
        output_stem(out_dir, NAME, size),
        mark=size_mark(size),
        note="Shaded: 95% bootstrap intervals over seeds.",
    )


def main(argv: Sequence[str] | None = None) -> None:
    script_main(reproduce, DESCRIPTION, argv)


if __name__ == "__main__":
    main()

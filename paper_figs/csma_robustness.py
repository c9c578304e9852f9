"""CSMA ICL under erroneous examples and after a change of N, closed loop on the embedded simulator.

Left: throughput of the ICL controller relative to the oracle window W*(N) when a fraction eps of
the collision measurements it receives is wrong (uniform in [0, 0.9]), for a model trained with
eps = 0.2; N in {5, 20, 50}. Right: throughput over time when N jumps from 10 to 45: the ICL
controller (re-probes when the collision level leaves p*), a CCOD-style DQN agent, 802.11 BEB,
and the oracle that knows N. One step is one measurement window of 5,000 slots. Bands: 95% bootstrap intervals over seeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from icl.csma import IclController, run_fixed
from icl.drl import DqnAgent
from icl.train import train
from paper_figs import output_stem, script_main
from paper_figs._csma import (
    MEASUREMENT_SLOTS,
    EnvFactory,
    controller_for,
    embedded_env,
    plot_convergence,
    run_config,
    summary_row,
    trained_dqn,
)
from paper_figs.plots import new_figure, plot_band, save_figure, styled
from sim.env import CsmaEnv
from tasks.csma import optimum

DESCRIPTION = "CSMA: ICL throughput vs erroneous-example fraction eps; convergence after N changes 10 -> 45"
NAME = "csma_robustness"
N_BEFORE, N_AFTER, CHANGE_STEP = 10, 45, 20


def error_sweep(controller: IclController, eps_grid: Sequence[float], seeds: int, hold_steps: int) -> pd.DataFrame:
    """Mean held throughput / oracle throughput over N in {5, 20, 50} and seeds, per eps."""
    n_steps = len(controller.probe_windows) + hold_steps
    rows = []
    for eps in eps_grid:
        ratios = []
        for n in (5, 20, 50):
            oracle_window = round(optimum(n, 1500)[0])
            for seed in range(seeds):
                env = CsmaEnv(n, interval_slots=MEASUREMENT_SLOTS, observation_error=eps)
                trace = controller.run(env, n_steps, seed=seed)
                held = [s for s, probing in zip(trace.throughput_mbps, trace.probing) if not probing]
                oracle = run_fixed(CsmaEnv(n, interval_slots=MEASUREMENT_SLOTS), oracle_window, hold_steps, seed=seed)
                ratios.append(np.mean(held) / np.mean(oracle.throughput_mbps))
        rows.append(summary_row("errors", "ICL (trained with eps = 0.2)", eps, np.array(ratios), 0))
    return pd.DataFrame(rows)


def convergence(
    controller: IclController, dqn: DqnAgent, seeds: int, n_steps: int, make_env: EnvFactory = embedded_env
) -> pd.DataFrame:
    """Throughput per step for each policy in ``make_env``'s simulator when N changes at CHANGE_STEP."""
    schedule = {CHANGE_STEP: N_AFTER}
    oracle_windows = [round(optimum(N_BEFORE if t < CHANGE_STEP else N_AFTER, 1500)[0]) for t in range(n_steps)]
    traces: dict[str, list[list[float]]] = {
        "ICL (transformer)": [],
        "DQN (CCOD-style)": [],
        "BEB 16..1024": [],
        "oracle W*(N)": [],
    }
    for seed in range(seeds):
        with make_env(N_BEFORE, n_schedule=schedule) as env:
            traces["ICL (transformer)"].append(controller.run(env, n_steps, seed=seed).throughput_mbps)
        with make_env(N_BEFORE, n_schedule=schedule) as env:
            traces["DQN (CCOD-style)"].append(dqn.run(env, n_steps, seed=seed).throughput_mbps)
        with make_env(N_BEFORE, n_schedule=schedule, backoff="beb") as env:
            traces["BEB 16..1024"].append(run_fixed(env, 16, n_steps, seed=seed).throughput_mbps)
        with make_env(N_BEFORE, n_schedule=schedule) as env:
            traces["oracle W*(N)"].append(run_fixed(env, oracle_windows, n_steps, seed=seed).throughput_mbps)
    rows = []
    for policy, runs in traces.items():
        values = np.array(runs)
        rows += [summary_row("convergence", policy, step, values[:, step], step) for step in range(n_steps)]
    return pd.DataFrame(rows)


@styled
def reproduce(out_dir: Path, quick: bool = False, seed: int = 0) -> list[Path]:
    """Train the eps = 0.2 model, run both experiments, plot."""
    out_dir = Path(out_dir)
    config = run_config(NAME, quick, seed, error_fraction=0.2)
    controller = controller_for(train(config, out_dir / "runs"))
    sweep = error_sweep(controller, [0.0, 0.1, 0.2, 0.3], seeds=3 if quick else 10, hold_steps=4 if quick else 20)
    dqn = trained_dqn(out_dir / "runs", quick, seed)
    curves = convergence(controller, dqn, seeds=4 if quick else 20, n_steps=45 if quick else 80)
    data = pd.concat([sweep, curves], ignore_index=True)

    fig, (left, right) = new_figure(2, width_in=5.2)
    plot_band(
        left,
        sweep.x,
        sweep["mean"],
        sweep.ci_low,
        sweep.ci_high,
        color="#0072B2",
        label=sweep.policy.iloc[0],
        style="-o",
        scale=100,
    )
    left.axhline(100, color="black", ls="--", lw=1, label="oracle W*(N)")
    left.axhline(95, color="grey", ls=":", lw=1, label="5% below the oracle")
    left.set_xlabel("fraction of erroneous collision measurements eps")
    left.set_ylabel("throughput (% of oracle)")
    left.set_title("erroneous examples (N in {5, 20, 50})")
    left.legend(fontsize=8)
    plot_convergence(
        right,
        curves,
        CHANGE_STEP,
        f"step ({MEASUREMENT_SLOTS} slots each); N: {N_BEFORE} -> {N_AFTER} at step {CHANGE_STEP}",
        "convergence after a change of N",
    )
    return save_figure(fig, data, output_stem(out_dir, NAME, quick))


def main(argv: Sequence[str] | None = None) -> None:
    script_main(reproduce, DESCRIPTION, argv)


if __name__ == "__main__":
    main()

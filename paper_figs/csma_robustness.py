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

import pandas as pd

from control.experiments import (
    CHANGE_STEP,
    N_AFTER,
    N_BEFORE,
    ORACLE,
    adaptive_policies,
    controller_for,
    convergence,
    error_sweep,
)
from icl.train import train
from paper_figs import by_size, output_stem, script_main, size_mark
from paper_figs.csma_common import drl_for, experiment_env, legend_below, plot_convergence, run_config
from paper_figs.names import name_of, palette_of
from paper_figs.plots import new_figure, plot_band, save_figure, styled
from sim.timing import INTERVAL_SLOTS

DESCRIPTION = "CSMA: ICL throughput vs erroneous-example fraction eps; convergence after N changes 10 -> 45"
NAME = "csma_robustness"


@styled
def reproduce(out_dir: Path, size: str = "full", seed: int = 0) -> list[Path]:
    """Train the eps = 0.2 model, run both experiments, plot."""
    out_dir = Path(out_dir)
    config = run_config(NAME, size, seed, error_fraction=0.2)
    controller = controller_for(train(config, out_dir / "runs"))
    make_env = experiment_env(size)
    seeds, hold_steps = by_size(size, 2, 3, 10), by_size(size, 1, 4, 20)
    dqn = drl_for(out_dir / "runs", size, seed)
    policies = adaptive_policies(controller, dqn)
    n_steps = len(controller.probe_windows) + hold_steps
    sweep = error_sweep(policies, [0.0, 0.1, 0.2, 0.3], seeds, hold_steps, n_steps, make_env=make_env)
    n_steps = by_size(size, CHANGE_STEP + 2, 45, 80)
    curves = convergence(policies, by_size(size, 2, 4, 20), n_steps, make_env=make_env)
    data = pd.concat([sweep, curves], ignore_index=True)
    palette = palette_of([*policies, ORACLE])

    fig, (left, right) = new_figure(2, width_in=5.2)
    for policy, rows in sweep.groupby("policy", sort=False):
        plot_band(left, rows.x, rows["mean"], rows.ci_low, rows.ci_high, color=palette[policy], label=name_of(policy),
                  style="-o", scale=100)  # fmt: skip
    left.axhline(100, color="black", ls="--", lw=1, label=name_of(ORACLE))
    left.axhline(95, color="grey", ls=":", lw=1, label="5% below the oracle")
    left.set_xlabel(r"fraction of erroneous collision measurements $\varepsilon$")
    left.set_ylabel("throughput (% of oracle)")
    left.set_title(r"erroneous examples ($N \in \{5, 20, 50\}$; ICL trained at $\varepsilon = 0.2$)")
    legend_below(left)
    plot_convergence(
        right,
        curves,
        CHANGE_STEP,
        f"step ({INTERVAL_SLOTS} slots each); N: {N_BEFORE} -> {N_AFTER} at step {CHANGE_STEP}",
        "convergence after a change of N",
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

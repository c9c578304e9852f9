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

import numpy as np
import pandas as pd
import torch
from matplotlib.ticker import FuncFormatter

from icl import config as cfg
from icl.csma import run_fixed
from icl.train import load_model, train
from paper_figs import output_stem, script_main
from paper_figs._csma import (
    N_ASSUMED,
    EnvFactory,
    controller_for,
    embedded_env,
    plot_throughput_vs_n,
    run_config,
    summary_row,
    trained_dqn,
)
from paper_figs.plots import new_figure, plot_band, save_figure, styled
from tasks.csma import optimum, throughput_at
from theory import csma as bianchi

DESCRIPTION = "CSMA: ICL window optimizer vs oracle, BEB and misestimated-N model on the simulator; training curve"
NAME = "csma_icl"


def training_curve(run_dir: Path, stages: Sequence[int]) -> pd.DataFrame:
    """Throughput ratio S(predicted W) / S(W*) of the checkpoints kept at ``stages``."""
    config, _ = load_model(run_dir)
    task = config.task.build()
    prompt = task.sample(config.eval.n_prompts, config.task.n_points, torch.Generator().manual_seed(config.eval.seed))
    n, payloads = prompt.info["n_stations"], prompt.info["payload_bytes"]
    oracle = throughput_at(n, prompt.info["w_star"].log2(), payloads)
    rows = []
    for steps in stages:
        _, model = load_model(run_dir, step=steps)
        ratio = throughput_at(n, model.predict(prompt.xs, prompt.ys)[:, -1], payloads) / oracle
        rows.append(summary_row("training", "ICL (transformer)", steps, ratio, config.eval.seed))
    return pd.DataFrame(rows)


def closed_loop(
    config: cfg.RunConfig,
    runs_dir: Path,
    n_grid: Sequence[int],
    seeds: int,
    hold_steps: int,
    make_env: EnvFactory = embedded_env,
) -> pd.DataFrame:
    """Steady-state throughput per policy and N in ``make_env``'s simulator (ICL after its probes)."""
    controller = controller_for(runs_dir / config.name)
    dqn = trained_dqn(runs_dir, quick=config.train.steps < 10_000, seed=config.train.seed)
    n_steps = len(controller.probe_windows) + hold_steps
    rows = []
    for n in n_grid:
        fixed_policies = (
            ("oracle W*(N)", round(optimum(n, 1500)[0]), "fixed"),
            ("BEB 16..1024", 16, "beb"),
            ("p-persistent model, knows N", round(bianchi.p_persistent_window(n)), "fixed"),
            ("non-persistent model, knows N", round(bianchi.non_persistent_window(n)), "fixed"),
            (f"model-based, assumes N={N_ASSUMED}", round(optimum(N_ASSUMED, 1500)[0]), "fixed"),
        )
        results: dict[str, list[float]] = {"ICL (transformer)": [], "DQN (CCOD-style)": []}
        results.update({policy: [] for policy, _, _ in fixed_policies})
        for seed in range(seeds):
            with make_env(n) as env:
                trace = controller.run(env, n_steps, seed=seed)
            held = [s for s, probing in zip(trace.throughput_mbps, trace.probing) if not probing]
            results["ICL (transformer)"].append(float(np.mean(held)))
            # the DQN settles within its history length; score it over the same held steps
            with make_env(n) as env:
                dqn_trace = dqn.run(env, n_steps, seed=seed)
            results["DQN (CCOD-style)"].append(float(np.mean(dqn_trace.throughput_mbps[-hold_steps:])))
            for policy, window, backoff in fixed_policies:
                with make_env(n, backoff=backoff) as env:
                    fixed = run_fixed(env, window, hold_steps, seed=seed)
                results[policy].append(float(np.mean(fixed.throughput_mbps)))
        rows += [summary_row("throughput", policy, n, np.array(values), seed) for policy, values in results.items()]
        theory = float(bianchi.throughput(n, optimum(n, 1500)[0]))
        rows.append(
            {
                "panel": "throughput",
                "policy": "oracle (Bianchi)",
                "x": n,
                "mean": theory,
                "ci_low": theory,
                "ci_high": theory,
            }
        )
    return pd.DataFrame(rows)


def training_stages(quick: bool) -> list[int]:
    """The checkpoints the training curve is drawn from."""
    return [100, 250, 500, 1000, 1500, 2000] if quick else [500, 1000, 2000, 5000, 10_000, 20_000]


def icl_run_config(quick: bool, seed: int) -> cfg.RunConfig:
    """The ICL optimizer's run (eps = 0.05), shared with the ns-3 figure."""
    return run_config(NAME, quick, seed, error_fraction=0.05, keep_checkpoints=training_stages(quick))


@styled
def reproduce(out_dir: Path, quick: bool = False, seed: int = 0) -> list[Path]:
    """Train the ICL model (keeping checkpoints for the training curve), run the policies, plot."""
    out_dir = Path(out_dir)
    stages = training_stages(quick)
    config = icl_run_config(quick, seed)
    curve = training_curve(train(config, out_dir / "runs"), stages)
    n_grid = [5, 10, 20, 30, 40, 50] if quick else [2, 5, 10, 15, 20, 25, 30, 40, 50, 60]
    loop = closed_loop(config, out_dir / "runs", n_grid, seeds=3 if quick else 10, hold_steps=4 if quick else 20)
    data = pd.concat([loop, curve], ignore_index=True)

    fig, (left, right) = new_figure(2, width_in=5.2)
    palette = plot_throughput_vs_n(left, loop, "closed loop on the embedded simulator")
    plot_band(
        right,
        curve.x,
        curve["mean"],
        curve.ci_low,
        curve.ci_high,
        color=palette["ICL (transformer)"],
        label="ICL (transformer)",
        style="-o",
        scale=100,
    )
    right.axhline(100, color="black", ls="--", lw=1, label="oracle")
    right.xaxis.set_major_formatter(FuncFormatter(lambda steps, _: f"{steps / 1000:g}k"))
    right.set_xlabel("training steps")
    right.set_ylabel("throughput of predicted W (% of oracle)")
    right.set_title("training: unseen networks, N in [5, 50]")
    right.legend(fontsize=8)
    return save_figure(fig, data, output_stem(out_dir, NAME, quick))


def main(argv: Sequence[str] | None = None) -> None:
    script_main(reproduce, DESCRIPTION, argv)


if __name__ == "__main__":
    main()

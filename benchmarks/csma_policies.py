"""Closed-loop CSMA policies, scored honestly: probes charged, spread over seeds, fairness, recovery.

Every policy runs on the embedded simulator (5,000 slots per step) for the same networks and seeds.
Throughput is relative to the oracle window W*(N) on the same network and seed, averaged over every
step (probing steps included), with its 5th percentile over seeds; "held" is the ratio over the last
steps only (what earlier figures reported). Then N jumps 10 -> 45: steps until each policy is back
within 5% of the oracle. The in-context policies share one controller (probe, prompt, predict,
hold, re-probe) and differ in the learner that reads the prompt: the trained transformer or a
hand-made estimator. Beside them: the classic adaptive schemes that need no training (p* tracker,
Idle Sense, Kalman estimation of N), CCOD-style DQN and TD3 agents (Stable-Baselines3), BEB and the
model-based windows.
Observations are only what a station can measure (no attempts per slot).

    python benchmarks/csma_policies.py --seeds 20
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from control.experiments import (
    controller_for,
    convergence,
    fair_test_policies,
    recovery_steps,
    score_policies,
    trained_agent,
)
from icl.train import train
from paper_figs.csma_common import icl_run_config
from sim.timing import INTERVAL_SLOTS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--n", type=int, nargs="+", default=[5, 20, 50])
    parser.add_argument("--eps", type=float, nargs="+", default=[0.0, 0.2])
    parser.add_argument("--hold", type=int, default=20, help="steps after the first prompt's probes")
    parser.add_argument("--runs", default="figures/runs", help="where the trained models are (or go)")
    parser.add_argument("--csv", help="also write the table here")
    args = parser.parse_args()

    started = time.perf_counter()
    runs = Path(args.runs)
    transformer = controller_for(train(icl_run_config("quick", seed=0), runs))
    agents = [trained_agent(runs / f"{name}-quick-seed0.zip", name, 60, seed=0) for name in ("dqn", "td3")]
    table = fair_test_policies(transformer, *agents)
    n_steps = len(transformer.probe_windows) + args.hold
    scores = pd.concat(
        [score_policies(table, args.n, args.seeds, n_steps, observation_error=eps) for eps in args.eps],
        ignore_index=True,
    )
    if args.csv:
        scores.to_csv(args.csv, index=False)
    ratio = scores.pivot_table(index="policy", columns=["eps", "N"], values="throughput_ratio", sort=False)
    p5 = scores.pivot_table(index="policy", columns=["eps", "N"], values="p5_throughput_ratio", sort=False)
    held = scores.pivot_table(index="policy", columns=["eps", "N"], values="held_ratio", sort=False)
    fairness = scores.groupby("policy", sort=False).fairness.min()
    adaptive = {name: spec for name, spec in table.items() if not name.startswith(("p-persistent", "model-based"))}
    curves = convergence(adaptive, seeds=args.seeds, n_steps=80)
    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.float_format", "{:.3f}".format):
        print(f"throughput / oracle's, probes charged ({n_steps} steps of {INTERVAL_SLOTS} slots, {args.seeds} seeds)")
        print(ratio)
        print("5th percentile over seeds")
        print(p5)
        print("held (last 4 steps) / oracle's")
        print(held)
        print("Jain's fairness, the lowest over the cells")
        print(fairness)
        print("steps to recover within 5% of the oracle after N: 10 -> 45")
        print(recovery_steps(curves))
    print(f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()

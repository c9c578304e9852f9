"""Every CSMA policy in every world of ``sim.worlds``, on the embedded simulator, against the world's
measured oracle (the best fixed window of a sweep).

First, open loop: each world's measured optimum next to Bianchi's W*(N), and the throughput the
model's W*(N) keeps there (% of the oracle): where the model is wrong, it shows here. Then closed
loop, probes charged: every policy of the fair test (the csma_icl quick transformer trained in
Bianchi's world, the hand-made estimators in the same controller, Idle Sense, the Kalman N
estimator, the p* tracker, DQN and TD3 trained in Bianchi's world, BEB, the model-based windows),
mean and 5th percentile over seeds of throughput / oracle, and Jain's fairness. The runs are trained
on first use and reused from ``--runs``.

    python benchmarks/csma_worlds.py --seeds 5
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from control.experiments import controller_for, fair_test_policies, world_scores  # noqa: E402
from icl.train import train  # noqa: E402
from paper_figs.csma_common import drl_for, icl_run_config  # noqa: E402
from sim.collect import measured_optimum  # noqa: E402
from sim.csma import simulate  # noqa: E402
from sim.worlds import WORLDS  # noqa: E402
from theory import bianchi  # noqa: E402

DISPLAY = ("display.width", 250, "display.max_columns", 30, "display.float_format", "{:.3f}".format)


def open_loop(world_names: list[str], n_values: list[int], seeds: int) -> pd.DataFrame:
    """Measured optimum against Bianchi's W*(N), and what W*(N) keeps of the oracle's throughput."""
    rows = []
    for name in world_names:
        for n in n_values:
            window, best = measured_optimum(n, name, seeds=seeds)
            model = round(bianchi.optimal_window(n))
            kept = simulate(np.full(seeds, n), model, n_slots=20_000, seed=1, world=name).throughput_mbps.mean()
            rows.append(
                {
                    "world": name,
                    "N": n,
                    "oracle W": window,
                    "Bianchi W*(N)": model,
                    "W*(N) % of oracle": 100 * kept / best,
                }
            )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", nargs="+", default=list(WORLDS), choices=list(WORLDS))
    parser.add_argument("--n", type=int, nargs="+", default=[5, 20, 50])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=30, help="closed-loop steps per run (5,000 slots each)")
    parser.add_argument("--runs", default="figures/runs", help="where the trained runs are (or go)")
    parser.add_argument("--open-loop-only", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    with pd.option_context(*DISPLAY):
        print("open loop: the measured oracle of each world and what Bianchi's W*(N) keeps of it")
        print(open_loop(args.worlds, args.n, args.seeds).to_string(index=False))
        if args.open_loop_only:
            return
        runs = Path(args.runs)
        controller = controller_for(train(icl_run_config("quick", 0), runs))
        policies = fair_test_policies(controller, drl_for(runs, "quick", 0), drl_for(runs, "quick", 0, "td3"))
        scores = world_scores(policies, args.worlds, args.n, args.seeds, args.steps)
        table = scores.pivot_table(index="policy", columns=["world", "N"], values="throughput_ratio", sort=False)
        print(f"closed loop, probes charged: mean throughput / measured oracle over {args.seeds} seeds")
        print((100 * table).round(1))
        p5 = scores.pivot_table(
            index="policy", columns="world", values="p5_throughput_ratio", aggfunc="min", sort=False
        )
        print("5th percentile over seeds, worst N (% of the oracle)")
        print((100 * p5).round(1))
        fairness = scores.pivot_table(index="policy", columns="world", values="fairness", sort=False)
        print("Jain's fairness, mean over N")
        print(fairness.round(3))
    print(f"wall time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()

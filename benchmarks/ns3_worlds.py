"""Cross-validation of the embedded simulator against ns-3, world by world (``sim.worlds``).

Each world runs on ns-3 (its options as scenario arguments: traffic sources, positions and a sensing
range, RTS/CTS, per-station rates, payloads and frame error rates, legacy stations) and on the
embedded simulator, for N in ``--n`` and windows 16..2048 in half octaves, ``--seeds`` networks
each. Printed per world and N: the measured optimal window of each (argmax of the mean throughput,
refined by a parabola in log2 W) and their factor, the throughput at each one's optimum and the
ratio ns-3 / embedded, the collision probability at ns-3's optimum on both, and the largest
|p ns-3 - p embedded| over the windows (worlds only ns-3 runs, 802.11ax with A-MPDUs: ns-3's
columns alone). Then ns-3's wall time per simulated second in each world,
the baseline being Bianchi's world in the same process. ``--out`` keeps the table as CSV.

    python benchmarks/ns3_worlds.py --seeds 3 --step-time 0.2 --out ns3_worlds.csv
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.collect import measure  # noqa: E402
from sim.table import best_window  # noqa: E402
from sim.timing import window_grid  # noqa: E402
from sim.worlds import NS3_WORLDS, world  # noqa: E402

WINDOWS = window_grid(16, 2048)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", nargs="+", default=list(NS3_WORLDS), choices=list(NS3_WORLDS))
    parser.add_argument("--n", type=int, nargs="+", default=[5, 20])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--step-time", type=float, default=0.2, help="ns-3 seconds measured per window")
    parser.add_argument("--slots", type=int, default=50_000, help="embedded virtual slots per window")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", help="write the table here (CSV)")
    args = parser.parse_args()
    seeds = list(range(args.seeds))
    tables, wall = [], {}
    for name in args.worlds:
        started = time.perf_counter()
        ns3 = measure("ns3", args.n, WINDOWS, seeds, workers=args.workers, step_time_s=args.step_time, world=name)
        # each window is measured for two steps (the first lets the window settle): simulated seconds
        simulated = 2 * args.step_time * len(WINDOWS) * len(seeds) * len(args.n)
        wall[name] = (time.perf_counter() - started) * min(args.workers, len(seeds) * len(args.n)) / simulated
        tables.append(ns3.assign(world=name))
        if not world(name).ns3_only:
            embedded = measure("embedded", args.n, WINDOWS, seeds, interval_slots=args.slots, world=name)
            tables.append(embedded.assign(world=name))
    table = pd.concat(tables, ignore_index=True)
    if args.out:
        table.to_csv(args.out, index=False)
    means = table.groupby(["world", "n_stations", "window", "backend"])[["collision_probability", "throughput_mbps"]]
    merged = means.mean().unstack("backend")
    print(
        f"{'world':12s} {'N':>3} | {'W* ns-3':>7} {'W* emb':>7} {'factor':>6} | {'S* ns-3':>7} {'S* emb':>7} "
        f"{'ratio':>5} | p at W*_ns3: ns-3 / emb | max |dp|"
    )
    for (name, n), group in merged.groupby(level=["world", "n_stations"], sort=False):
        w = group.index.get_level_values("window").to_numpy(dtype=float)
        s_ns3, s_emb = group["throughput_mbps"]["ns3"].to_numpy(), group["throughput_mbps"]["embedded"].to_numpy()
        p_ns3, p_emb = group["collision_probability"]["ns3"].to_numpy(), group["collision_probability"]["embedded"]
        w_ns3 = best_window(w, s_ns3)
        i = int(np.argmin(abs(np.log2(w / w_ns3))))
        if np.isnan(s_emb).all():
            print(
                f"{name:12s} {n:>3} | {w_ns3:7.0f} {'-':>7} {'-':>6} | {s_ns3.max():7.2f} {'-':>7} {'-':>5} | {p_ns3[i]:.3f}"
            )
            continue
        w_emb = best_window(w, s_emb)
        print(
            f"{name:12s} {n:>3} | {w_ns3:7.0f} {w_emb:7.0f} {w_ns3 / w_emb:6.2f} | {s_ns3.max():7.2f} {s_emb.max():7.2f} "
            f"{s_ns3.max() / s_emb.max():5.2f} | {p_ns3[i]:.3f} / {p_emb.iloc[i]:.3f}            | "
            f"{np.nanmax(np.abs(p_ns3 - p_emb.to_numpy())):.3f}"
        )
    print("\nns-3 wall time per simulated second (one simulation at a time), ratio to Bianchi's world:")
    for name, seconds in wall.items():
        print(f"  {name:12s} {seconds:6.3f} s   {seconds / wall.get('bianchi', seconds):5.2f}x")


if __name__ == "__main__":
    main()

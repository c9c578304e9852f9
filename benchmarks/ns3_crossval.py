"""Cross-validation of the CSMA backends: ns-3 against the embedded simulator and Bianchi's model.

For N in {5, 10, 20, 50} and windows from 16 to 1024 (quarter-octave steps), both backends measure
the collision probability and throughput at a fixed window (``sim.collect.measure``); Bianchi's
fixed-window model gives the analytical values. Printed: per (N, W) the three collision
probabilities and throughputs with the ns-3 / model ratios, then per N the throughput-optimal window
W* of each (argmax of the mean measured throughput, refined by a parabola in log2 W through its
neighbours) and the factor W*_ns3 / W*_Bianchi. ``--out`` keeps the table as CSV.

    python benchmarks/ns3_crossval.py --seeds 3 --step-time 0.2 --out crossval.csv
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.collect import measure  # noqa: E402
from sim.table import best_window  # noqa: E402
from theory import bianchi  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[5, 10, 20, 50])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--step-time", type=float, default=0.2, help="ns-3 seconds measured per window")
    parser.add_argument("--slots", type=int, default=100_000, help="embedded virtual slots per window")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", help="write the merged table here (CSV)")
    args = parser.parse_args()
    windows = sorted({round(2 ** (4 + k / 4)) for k in range(25)})
    seeds = list(range(args.seeds))
    tables = [
        measure("ns3", args.n, windows, seeds, workers=args.workers, step_time_s=args.step_time),
        measure("embedded", args.n, windows, seeds, interval_slots=args.slots),
    ]
    means = (
        pd.concat(tables)
        .groupby(["backend", "n_stations", "window"])[["collision_probability", "throughput_mbps"]]
        .mean()
    )
    merged = means.unstack("backend")
    merged.columns = [f"{quantity}_{backend}" for quantity, backend in merged.columns]
    merged = merged.reset_index()
    merged["collision_probability_bianchi"] = bianchi.collision_probability(
        merged.n_stations.to_numpy(), merged.window.to_numpy()
    )
    merged["throughput_mbps_bianchi"] = bianchi.throughput(merged.n_stations.to_numpy(), merged.window.to_numpy())
    if args.out:
        merged.to_csv(args.out, index=False)

    print(
        f"{'N':>3} {'W':>5} | {'p ns-3':>7} {'p emb':>7} {'p model':>7} | {'S ns-3':>7} {'S emb':>7} {'S model':>7} | S ns-3/model"
    )
    for row in merged.itertuples():
        if row.window in (16, 32, 64, 128, 256, 512, 1024):
            print(
                f"{row.n_stations:>3} {row.window:>5} | {row.collision_probability_ns3:7.3f} {row.collision_probability_embedded:7.3f} "
                f"{row.collision_probability_bianchi:7.3f} | {row.throughput_mbps_ns3:7.2f} {row.throughput_mbps_embedded:7.2f} "
                f"{row.throughput_mbps_bianchi:7.2f} | {row.throughput_mbps_ns3 / row.throughput_mbps_bianchi:.3f}"
            )
    print(
        f"\n{'N':>3} | {'W* ns-3':>8} {'W* emb':>8} {'W* model':>8} | W*_ns3/W*_model | p at W*: ns-3 / model | S max: ns-3 / model"
    )
    factors = []
    for n, group in merged.groupby("n_stations"):
        w = group.window.to_numpy(dtype=float)
        w_ns3 = best_window(w, group.throughput_mbps_ns3.to_numpy())
        w_emb = best_window(w, group.throughput_mbps_embedded.to_numpy())
        w_model = bianchi.optimal_window(int(n))
        i = int(np.argmin(abs(np.log2(w / w_ns3))))
        factors.append(w_ns3 / w_model)
        print(
            f"{n:>3} | {w_ns3:8.0f} {w_emb:8.0f} {w_model:8.0f} | {w_ns3 / w_model:15.2f} | "
            f"{group.collision_probability_ns3.iloc[i]:.3f} / {bianchi.optimal_collision_probability(int(n)):.3f}        | "
            f"{group.throughput_mbps_ns3.max():.2f} / {float(bianchi.throughput(int(n), w_model)):.2f}"
        )
    worst = max(max(factors), 1 / min(factors))
    print(
        f"\nW* of ns-3 within a factor {worst:.2f} of Bianchi's for every N; max |p ns-3 - p model| = "
        f"{(merged.collision_probability_ns3 - merged.collision_probability_bianchi).abs().max():.3f}"
    )


if __name__ == "__main__":
    main()

"""Simulated station-slots per second of the embedded CSMA/CA simulator, on one core.

A batch of configurations (N uniform in [5, 50], windows spread over 16..1024, fixed and BEB)
runs for a number of virtual slots; station-slots = slots x stations, summed over the batch.
The baseline in the same process runs the same configurations one at a time (a batch of one, as
a per-network simulator would), so the printed ratio is what batching buys; the target is
>= 1e8 station-slots/s for the batched simulator.

    python benchmarks/csma_sim.py --configs 1000 --slots 20000
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from sim.csma import CsmaSimulator  # noqa: E402


def batch(n_configs: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_stations = rng.integers(5, 51, n_configs)
    cw_min = 2 ** rng.integers(4, 11, n_configs)
    beb = rng.random(n_configs) < 0.5
    cw_max = np.where(beb, 1024, cw_min)
    return n_stations, cw_min, cw_max


def station_slots_per_second(n_stations: np.ndarray, cw_min: np.ndarray, cw_max: np.ndarray, n_slots: int) -> float:
    """Throughput of one batched simulator over the given configurations."""
    simulator = CsmaSimulator(n_stations, cw_min, cw_max, seed=0)
    simulator.run(100)
    started = time.perf_counter()
    stats = simulator.run(n_slots)
    return float((stats.slots * n_stations).sum()) / (time.perf_counter() - started)


def one_at_a_time(n_stations: np.ndarray, cw_min: np.ndarray, cw_max: np.ndarray, n_slots: int) -> float:
    """The same work, one configuration per simulator."""
    elapsed, total = 0.0, 0.0
    for config in range(len(n_stations)):
        simulator = CsmaSimulator(n_stations[config], cw_min[config], cw_max[config], seed=config)
        simulator.run(100)
        started = time.perf_counter()
        stats = simulator.run(n_slots)
        elapsed += time.perf_counter() - started
        total += float(stats.slots[0] * n_stations[config])
    return total / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=1000)
    parser.add_argument("--slots", type=int, default=20_000)
    parser.add_argument("--baseline-configs", type=int, default=20, help="configurations timed one at a time")
    args = parser.parse_args()
    n_stations, cw_min, cw_max = batch(args.configs, 0)
    fast = station_slots_per_second(n_stations, cw_min, cw_max, args.slots)
    k = args.baseline_configs
    slow = one_at_a_time(n_stations[:k], cw_min[:k], cw_max[:k], args.slots)
    print(f"configs={args.configs} slots={args.slots} (N in [5, 50], W in 16..1024, fixed and BEB), 1 thread")
    print(f"batched simulator:        {fast:12.3e} station-slots/s   (target >= 1e8)")
    print(f"one configuration a time: {slow:12.3e} station-slots/s   ({k} configurations)")
    print(f"ratio batched / one-at-a-time: {fast / slow:7.1f}x")


if __name__ == "__main__":
    main()

"""Simulated station-slots per second of the compiled CSMA/CA simulator, against the numpy reference.

A batch of networks (N uniform in [5, 50], windows spread over 16..1024, fixed and BEB) runs for a
number of virtual slots; station-slots = slots x stations, summed over the batch. The baseline in
the same process is the numpy reference simulator on the same batch (Bianchi's world, one core).
Targets: compiled / numpy >= 10x on one core, >= 1e9 station-slots/s on two cores (saturated,
one collision domain). Then the compiled simulator in every named world (``sim.worlds``), against the
time-stepped numpy reference of every world (``sim.stepped``) in simulated network-seconds per second
(one core each), and one network at a time, as an env step runs it.

    python benchmarks/csma_sim.py --configs 1000 --slots 20000
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from sim.csma import CsmaSimulator, ReferenceSimulator  # noqa: E402
from sim.stepped import SteppedSimulator  # noqa: E402
from sim.worlds import WORLDS  # noqa: E402


def batch(n_configs: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_stations = rng.integers(5, 51, n_configs)
    cw_min = 2 ** rng.integers(4, 11, n_configs)
    beb = rng.random(n_configs) < 0.5
    cw_max = np.where(beb, 1024, cw_min)
    return n_stations, cw_min, cw_max


def station_slots_per_second(simulator: CsmaSimulator | ReferenceSimulator, n_slots: int) -> float:
    """Throughput of one simulator over its batch, after a short warm-up (which also compiles)."""
    simulator.run(100)
    started = time.perf_counter()
    stats = simulator.run(n_slots)
    return float((stats.slots * simulator.n_stations).sum()) / (time.perf_counter() - started)


def network_seconds_per_second(simulator: CsmaSimulator | SteppedSimulator, amount: int) -> float:
    """Simulated time summed over the batch per wall second (``amount``: slots, or microseconds when stepped)."""
    simulator.run(100)
    started = time.perf_counter()
    stats = simulator.run(amount)
    return float(stats.airtime_us.sum()) / 1e6 / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=1000)
    parser.add_argument("--slots", type=int, default=20_000)
    parser.add_argument("--world-configs", type=int, default=200, help="networks per world")
    parser.add_argument("--single", type=int, default=20, help="networks timed one at a time")
    parser.add_argument(
        "--stepped-configs", type=int, default=64, help="networks per world against the stepped reference"
    )
    parser.add_argument(
        "--stepped-us", type=int, default=20_000, help="simulated microseconds of the stepped reference"
    )
    args = parser.parse_args()
    n, cw_min, cw_max = batch(args.configs, 0)
    reference = station_slots_per_second(ReferenceSimulator(n, cw_min, cw_max, seed=0), args.slots)
    one = station_slots_per_second(CsmaSimulator(n, cw_min, cw_max, seed=0), args.slots)
    two = station_slots_per_second(CsmaSimulator(n, cw_min, cw_max, seed=0, workers=2), args.slots)
    print(f"configs={args.configs} slots={args.slots} (N in [5, 50], W in 16..1024, fixed and BEB), Bianchi's world")
    print(f"numpy reference, 1 core:  {reference:12.3e} station-slots/s")
    print(
        f"compiled, 1 worker:       {one:12.3e} station-slots/s   ratio to numpy {one / reference:6.1f}x (target >= 10x)"
    )
    print(
        f"compiled, 2 workers:      {two:12.3e} station-slots/s   (target >= 1e9)   ratio to numpy {two / reference:6.1f}x"
    )
    k = args.world_configs
    print(f"every world, {k} networks, 2 workers (ratio to Bianchi's world on the same networks):")
    rates = {
        name: station_slots_per_second(CsmaSimulator(n[:k], cw_min[:k], cw_max[:k], world=name, workers=2), args.slots)
        for name in WORLDS
    }
    for name, rate in rates.items():
        print(f"  {name:12s} {rate:12.3e} station-slots/s   {rate / rates['bianchi']:6.3f}x")
    k = args.stepped_configs
    print(f"every world against the time-stepped numpy reference, {k} networks, one core each (network-s per s):")
    for name in WORLDS:
        stepped = network_seconds_per_second(
            SteppedSimulator(n[:k], cw_min[:k], cw_max[:k], world=name), args.stepped_us
        )
        compiled = network_seconds_per_second(CsmaSimulator(n[:k], cw_min[:k], cw_max[:k], world=name), args.slots)
        print(f"  {name:12s} stepped {stepped:10.3e}   compiled {compiled:10.3e}   ratio {compiled / stepped:8.0f}x")
    elapsed, total = 0.0, 0.0
    for config in range(args.single):
        simulator = CsmaSimulator(n[config], cw_min[config], cw_max[config], seed=config)
        simulator.run(100)
        started = time.perf_counter()
        stats = simulator.run(5000)
        elapsed += time.perf_counter() - started
        total += float(stats.slots[0] * n[config])
    print(f"one network at a time, 5,000-slot runs: {total / elapsed:12.3e} station-slots/s ({args.single} networks)")


if __name__ == "__main__":
    main()

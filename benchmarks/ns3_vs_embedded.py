"""Wall time per simulated second: ns-3 (our scenario) against the embedded simulator.

Both backends run the same networks (N stations, fixed window near W*(N), 802.11a 54 Mb/s, 1500-byte
payload) through ``sim.CsmaEnv`` for the same amount of simulated channel time, one network at a
time; the embedded simulator is also timed batched (``--copies`` networks of each N in one call on
``--workers`` threads, after a warm-up that compiles it), its intended use.
Printed: seconds of wall time per simulated second for each, and ns-3's as a ratio to each
embedded figure (the baseline, measured in the same process). ``--worlds`` repeats it in each world
of ``sim.worlds`` (those only ns-3 runs, 802.11ax with A-MPDUs, get ns-3's column alone).

    python benchmarks/ns3_vs_embedded.py --n 5 20 50 --seconds 2
    python benchmarks/ns3_vs_embedded.py --worlds bianchi hidden ax_ampdu --n 5 20 --seconds 1
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from sim import CsmaEnv, Embedded, Ns3  # noqa: E402
from sim.csma import simulate  # noqa: E402
from sim.worlds import NS3_WORLDS, world  # noqa: E402
from theory import bianchi  # noqa: E402


def ns3_wall_per_second(n: int, window: int, seconds: float, step_time: float, name: str = "bianchi") -> float:
    env = CsmaEnv(n, backend=Ns3(step_time), world=name)
    env.reset(seed=0)
    env.step([window])
    steps = max(1, round(seconds / step_time))
    started = time.perf_counter()
    for _ in range(steps):
        env.step([window])
    elapsed = time.perf_counter() - started
    env.close()
    return elapsed / (steps * step_time)


def embedded_wall_per_second(n: int, window: int, seconds: float, interval_slots: int, name: str = "bianchi") -> float:
    env = CsmaEnv(n, backend=Embedded(interval_slots), world=name)
    env.reset(seed=0)
    env.step([window])  # loads the compiled simulator, as ns-3's first step starts its simulation
    simulated_us, started = 0.0, time.perf_counter()
    while simulated_us < seconds * 1e6:
        simulated_us += env.step([window])[4]["airtime_us"]
    elapsed = time.perf_counter() - started
    env.close()
    return elapsed / (simulated_us / 1e6)


def batched_wall_per_second(
    ns: list[int], windows: list[int], seconds: float, copies: int, workers: int, name: str = "bianchi"
) -> float:
    """``copies`` networks of each N in one call, long enough for ``seconds`` of channel time each."""
    slots = int(seconds * 1e6 / 40)  # a busy virtual slot lasts ~300 us, an idle one 9 us: over-provision
    simulate(ns, windows, n_slots=100, warmup_slots=0, world=name)  # compiles the simulator
    started = time.perf_counter()
    stats = simulate(
        np.repeat(ns, copies), np.repeat(windows, copies), n_slots=slots, warmup_slots=0, workers=workers, world=name
    )
    return (time.perf_counter() - started) / (stats.airtime_us.sum() / 1e6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[5, 20, 50])
    parser.add_argument("--seconds", type=float, default=2.0, help="simulated seconds per network")
    parser.add_argument("--step-time", type=float, default=0.1, help="ns-3 step (s)")
    parser.add_argument("--interval-slots", type=int, default=5000, help="embedded env step (virtual slots)")
    parser.add_argument("--copies", type=int, default=100, help="networks of each N in the batched run")
    parser.add_argument("--workers", type=int, default=2, help="threads of the batched run")
    parser.add_argument("--worlds", nargs="+", default=["bianchi"], choices=list(NS3_WORLDS))
    args = parser.parse_args()
    windows = [round(bianchi.optimal_window(n)) for n in args.n]
    for name in args.worlds:
        print(f"world {name}")
        compare(name, args, windows)


def compare(name: str, args: argparse.Namespace, windows: list[int]) -> None:
    """One world's table: ns-3 and the embedded env per N, then the batched embedded simulator."""
    print(f"{'N':>4} {'W':>5} {'ns-3 s/s':>10} {'embedded s/s':>13} {'ns-3 / embedded':>16}")
    ns3_all, embedded_all = [], []
    for n, window in zip(args.n, windows):
        ns3 = ns3_wall_per_second(n, window, args.seconds, args.step_time, name)
        ns3_all.append(ns3)
        if world(name).ns3_only:
            print(f"{n:>4} {window:>5} {ns3:>10.3f} {'-':>13} {'-':>16}")
            continue
        embedded = embedded_wall_per_second(n, window, args.seconds, args.interval_slots, name)
        embedded_all.append(embedded)
        print(f"{n:>4} {window:>5} {ns3:>10.3f} {embedded:>13.4f} {ns3 / embedded:>15.1f}x")
    total_ns3 = float(np.mean(ns3_all))
    if not embedded_all:
        print(f"mean wall time per simulated second: ns-3 {total_ns3:.3f} s (the embedded simulator cannot run it)")
        return
    batched = batched_wall_per_second(args.n, windows, args.seconds, args.copies, args.workers, name)
    print(
        f"mean wall time per simulated second: ns-3 {total_ns3:.3f} s, embedded env {np.mean(embedded_all):.4f} s, "
        f"embedded batched {batched:.5f} s per network-second"
    )
    print(
        f"ratio ns-3 / embedded env: {total_ns3 / np.mean(embedded_all):.1f}x (target >= 100x); "
        f"ns-3 / embedded batched: {total_ns3 / batched:.0f}x (target >= 1000x)"
    )


if __name__ == "__main__":
    main()

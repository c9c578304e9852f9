"""The compiled event engine against the time-stepped numpy reference, world by world: the same
statistics over the same stretch of simulated time, within sampling error."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sim import engine
from sim.csma import CsmaSimulator, Stats
from sim.stepped import SteppedSimulator
from sim.timing import Timing
from sim.worlds import WORLDS

GROUPS = ((5, 16, 1024), (5, 128, 128), (20, 16, 1024), (20, 128, 128))
"""(N, cw_min, cw_max): few and many stations, BEB and a fixed window."""


def _batch(per_group: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    group = np.arange(per_group * len(GROUPS)) % len(GROUPS)
    n, cw_min, cw_max = (np.array([GROUPS[g][i] for g in group]) for i in range(3))
    return group, n, cw_min, cw_max


def compiled_window(simulator: CsmaSimulator, start_us: float, end_us: float) -> Stats:
    """The compiled simulator's statistics of [start_us, end_us) of each network's clock, run in steps of
    a few virtual slots (networks keep different clocks; a step counts where it starts in the window)."""
    totals: dict[str, np.ndarray] = {}
    active = simulator.state[..., engine.ACTIVE].astype(bool)
    while True:
        now = simulator.net[:, engine.NOW] / 1000
        if (now >= end_us).all():
            break
        inside = (now >= start_us) & (now < end_us)
        step = simulator.run(4)
        for field in dataclasses.fields(Stats):
            value = np.maximum(getattr(step, field.name), 0)
            value = np.where(inside if value.ndim == 1 else inside[:, None], value, 0)
            totals[field.name] = totals.get(field.name, 0) + value
    totals["station_successes"] = np.where(active, totals["station_successes"], -1)
    return Stats(**totals)


def metrics(stats: Stats) -> dict[str, np.ndarray]:
    """Per-network rates (per ms of airtime) and ratios the worlds differ in."""
    per_ms = 1000 / stats.airtime_us
    return {
        "throughput": stats.throughput_mbps,
        "collision probability": stats.collisions / np.maximum(stats.attempts, 1),
        "loss probability": stats.losses / np.maximum(stats.attempts, 1),
        "attempts/ms": stats.attempts * per_ms,
        "virtual slots/ms": stats.slots * per_ms,
        "drops/ms": stats.drops * per_ms,
        "overflows/ms": stats.overflows * per_ms,
        "fairness": stats.fairness,
    }


def assert_same_statistics(name: str, per_group: int, warmup_us: int, duration_us: int) -> None:
    """Group means of every metric agree within 4.5 standard errors plus 2% (the reference draws its
    arrivals per microsecond, the engine per nanosecond)."""
    group, n, cw_min, cw_max = _batch(per_group)
    options = {"world": name, "seed": 11, "retry_limit": 3}
    stepped = SteppedSimulator(n, cw_min, cw_max, **options)
    stepped.run(warmup_us)
    reference = metrics(stepped.run(duration_us))
    compiled = metrics(compiled_window(CsmaSimulator(n, cw_min, cw_max, **options), warmup_us, warmup_us + duration_us))
    for metric, values in reference.items():
        for g, config in enumerate(GROUPS):
            a, b = values[group == g], compiled[metric][group == g]
            a, b = a[np.isfinite(a)], b[np.isfinite(b)]
            error = np.sqrt(a.var() / len(a) + b.var() / len(b))
            gap = abs(a.mean() - b.mean())
            assert gap <= 4.5 * error + 0.02 * abs(b.mean()) + 1e-9, (name, config, metric, a.mean(), b.mean(), error)


def test_the_hidden_world_agrees_with_the_reference() -> None:
    assert_same_statistics("hidden", per_group=16, warmup_us=10_000, duration_us=30_000)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(WORLDS))
def test_every_world_agrees_with_the_reference(name: str) -> None:
    assert_same_statistics(name, per_group=48, warmup_us=20_000, duration_us=100_000)


def test_the_reference_reproduces_itself_and_follows_set_window_and_stations() -> None:
    """Same seed, same run; a wider window lowers the collision probability; stations can join."""
    runs = []
    for _ in range(2):
        simulator = SteppedSimulator([5, 10], 16, world="bursty", seed=3)
        first = simulator.run(5000)
        simulator.set_window(256)
        simulator.set_stations([10, 10])
        runs.append((first, simulator.run(20_000), simulator))
    (a1, a2, simulator), (b1, b2, _) = runs
    for x, y in ((a1, b1), (a2, b2)):
        for field in dataclasses.fields(Stats):
            np.testing.assert_array_equal(getattr(x, field.name), getattr(y, field.name))
    assert simulator.n_stations.tolist() == [10, 10] and (a2.station_successes >= 0).all()
    narrow = SteppedSimulator(np.full(8, 20), 16, seed=4).run(20_000)
    wide = SteppedSimulator(np.full(8, 20), 256, seed=4).run(20_000)
    assert wide.collisions.sum() / wide.attempts.sum() < 0.5 * narrow.collisions.sum() / narrow.attempts.sum()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: SteppedSimulator([5], 16, timing=Timing(slot_us=9.5)), "needs whole-microsecond durations; the slot"),
        (lambda: SteppedSimulator([5], 16).run(0), "duration_us must be a positive integer, got 0"),
        (lambda: SteppedSimulator([5], 16, world="marsnet"), "unknown world 'marsnet'"),
        (lambda: SteppedSimulator([0], 16), "number of stations N must be >= 1, got 0"),
    ],
)
def test_bad_input(make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        make()

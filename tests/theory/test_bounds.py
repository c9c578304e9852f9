"""The CSMA bounds against the embedded simulator, and the BoundCheck contract."""

from __future__ import annotations

import numpy as np
import pytest

from sim.csma import simulate
from theory import bianchi, in_context
from theory.bounds import BoundCheck, coverage_check, in_context_deviation_check, throughput_loss_check

PROBES = np.unique(np.geomspace(16, 1024, 10).round().astype(int))
SLOTS = 5000


def test_bound_check_contract() -> None:
    ok, bad = BoundCheck("a", 1.0, 1.5), BoundCheck("b", 2.0, 1.5)
    assert ok.holds and ok.margin == pytest.approx(0.5)
    assert not bad.holds and bad.margin == pytest.approx(-0.5)
    assert "VIOLATED" in str(bad)
    assert coverage_check("c", [0.1, 0.2, 0.3, 5.0], bound=1.0, confidence=0.5).holds
    assert not coverage_check("c", np.full(1000, 2.0), bound=1.0, confidence=0.95).holds
    with pytest.raises(ValueError, match="at least one deviation"):
        coverage_check("c", [], 1.0, 0.95)


def test_curvature_from_sympy_matches_the_numeric_model() -> None:
    """The second-order loss kappa (e ln 2)^2 / 2 agrees with the exact loss for small errors and with a
    finite difference of the numeric throughput."""
    for n in (5, 30):
        kappa = bianchi.throughput_curvature(n)
        small = 0.1
        exact = bianchi.throughput_loss(n, [small, -small]).mean()
        assert exact == pytest.approx(kappa * (small * np.log(2)) ** 2 / 2, rel=0.02)
        best = bianchi.optimal_window(n)
        h = 1e-3
        values = bianchi.throughput(n, best * np.exp([-h, 0.0, h]))
        assert -(values[0] - 2 * values[1] + values[2]) / h**2 / values[1] == pytest.approx(kappa, rel=1e-3)


@pytest.mark.pipeline
def test_throughput_loss_bound_holds_in_the_simulator() -> None:
    """Windows within delta octaves of W* lose no more than the bound (up to the model's 1% error),
    and the worst endpoint comes close to it."""
    for n in (10, 30):
        best = bianchi.optimal_window(n)
        delta = 1.0
        errors = np.linspace(-delta, delta, 9)
        stats = simulate(np.full(len(errors) + 1, n), np.append(best * np.exp2(errors), best).round(), n_slots=400_000,
                         seed=n)  # fmt: skip
        loss = 1 - stats.throughput_mbps[:-1] / stats.throughput_mbps[-1]
        check = throughput_loss_check(n, delta, float(loss.max()), model_error=0.01)
        assert check.holds, check
        assert loss.max() > bianchi.throughput_deviation_bound(n, delta) - 0.02


@pytest.mark.pipeline
@pytest.mark.parametrize("error_fraction", [0.0, 0.2])
@pytest.mark.parametrize("n", [10, 40])
def test_in_context_deviation_bound_holds_in_the_simulator(n: int, error_fraction: float) -> None:
    """The median-offset estimate from 10 simulated probes (5,000 slots each), the most informative
    ones replaced by wrong readings on one side, misses by more than the bound in <= 5% of prompts."""
    seeds = 300
    stats = simulate(np.full(seeds * len(PROBES), n), np.tile(PROBES, seeds), n_slots=SLOTS, seed=n)
    clean = stats.collision_probability.reshape(seeds, len(PROBES))
    p = in_context.worst_case_probes(clean, n, PROBES, SLOTS, error_fraction)
    p_target = bianchi.optimal_collision_probability(20)
    deviations = in_context.in_context_miss(p, PROBES, n, p_target)
    check = in_context_deviation_check(deviations, n, PROBES, SLOTS, error_fraction, p_target)
    assert check.holds, check
    bound = in_context.in_context_deviation_bound(n, PROBES, SLOTS, error_fraction, p_target)
    assert np.quantile(deviations, 0.95) > bound / 5, "the bound should not be vacuous"


def test_offset_noise_matches_the_simulator() -> None:
    """The delta-method noise is within 15% below and 35% above the simulator's (it treats slots as
    independent; backoff makes consecutive slots anti-correlated, which matters most at high load, so
    the error is on the conservative side there)."""
    n, seeds = 20, 400
    windows = np.array([16, 64, 256])
    stats = simulate(np.full(seeds * 3, n), np.tile(windows, seeds), n_slots=SLOTS, seed=1)
    offsets = in_context.window_offset(stats.collision_probability.reshape(seeds, 3), windows)
    ratio = in_context.offset_noise(n, windows, SLOTS) / np.std(offsets, axis=0)
    assert np.all((ratio > 0.85) & (ratio < 1.35)), ratio
    assert np.mean(offsets, axis=0) == pytest.approx(np.log(n - 1), abs=0.05)


def test_window_for_offset_inverts_the_model() -> None:
    for n, window in [(5, 40.0), (30, 300.0)]:
        p = bianchi.collision_probability(n, window)
        offset = in_context.window_offset(p, window)
        assert offset == pytest.approx(np.log(n - 1), abs=1e-6)
        assert in_context.window_for_offset(offset, p) == pytest.approx(window, rel=1e-6)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="error_fraction must be in \\[0, 0.5\\)"):
        in_context.in_context_deviation_bound(10, PROBES, SLOTS, 0.5, 0.1)
    with pytest.raises(ValueError, match="delta_log2 must be >= 0"):
        bianchi.throughput_deviation_bound(10, -1.0)


def test_the_fixed_query_level_costs_little_away_from_its_reference() -> None:
    """p* of N = 20 answered for other N: exact at 20, under 1% of throughput at N = 2 (half an octave
    too small a window), a few hundredths of an octave at N = 120."""
    assert in_context.fixed_target_loss(20, 20) == pytest.approx((0.0, 0.0), abs=1e-6)
    octaves, loss = in_context.fixed_target_loss(2, 20)
    assert -0.6 < octaves < -0.3 and 0 < loss < 0.01
    assert [abs(in_context.fixed_target_loss(n, 20)[0]) for n in (2, 5, 10)] == sorted(
        (abs(in_context.fixed_target_loss(n, 20)[0]) for n in (2, 5, 10)), reverse=True
    )
    assert 0 < in_context.fixed_target_loss(120, 20)[0] < 0.05

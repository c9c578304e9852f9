"""Bianchi's model: symbolic and numeric forms agree, and the known operating points."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from sim.timing import OFDM_54
from theory import bianchi, markov, model_based


def test_numeric_tau_equals_the_symbolic_formula() -> None:
    s = bianchi.symbolic()
    for p, window, stages in [(0.1, 16, 6), (0.3, 32, 3), (0.45, 64, 5)]:
        exact = float(s.tau_beb.subs({s.p: p, s.window: window, s.stages: stages}))
        assert float(bianchi.tau_of_p(p, window, stages)) == pytest.approx(exact, rel=1e-12)
    assert sp.simplify(s.tau_beb.subs(s.stages, 0) - s.tau_fixed) == 0


def test_fixed_point_is_consistent() -> None:
    tau, p = bianchi.fixed_point([5, 50], [16, 16], stages=6)
    np.testing.assert_allclose(p, 1 - (1 - tau) ** (np.array([5, 50]) - 1), rtol=1e-9)


def test_symbolic_throughput_matches_numeric() -> None:
    s = bianchi.symbolic()
    t = OFDM_54
    tau = float(bianchi.fixed_point(10, 64)[0])
    sigma, t_s, t_c, bits = sp.symbols("sigma T_s T_c L", positive=True)
    value = s.throughput.subs(
        {s.tau: tau, s.n: 10, sigma: t.slot_us, t_s: t.success_us, t_c: t.collision_us, bits: t.payload_bits}
    )
    assert float(value) == pytest.approx(float(bianchi.throughput(10, 64)), rel=1e-9)


def test_reference_operating_points() -> None:
    """REFERENCES.md: 802.11a 54 Mb/s, 1500 B: BEB ~23.3 Mb/s at N = 50, best fixed W ~427 ~30.0 Mb/s;
    at N = 5 the gap is under 2%."""
    assert float(bianchi.throughput(50, 16, 6)) == pytest.approx(23.3, abs=0.1)
    w_star = bianchi.optimal_window(50)
    assert w_star == pytest.approx(427, rel=0.02)
    assert float(bianchi.throughput(50, w_star)) == pytest.approx(30.0, abs=0.15)
    assert float(bianchi.throughput(5, bianchi.optimal_window(5))) / float(bianchi.throughput(5, 16, 6)) < 1.02


def test_optimal_window_grows_linearly_and_p_star_is_flat() -> None:
    windows = [bianchi.optimal_window(n) for n in (10, 20, 40)]
    assert windows[1] / windows[0] == pytest.approx(2, rel=0.06)
    assert windows[2] / windows[1] == pytest.approx(2, rel=0.03)
    p_stars = [bianchi.optimal_collision_probability(n) for n in (10, 20, 40)]
    assert max(p_stars) - min(p_stars) < 0.02


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: bianchi.throughput(0, 16), "N must be >= 1, got 0"),
        (lambda: bianchi.throughput(5, 0), r"W must be in \[1, 65536\], got 0"),
        (lambda: bianchi.optimal_window(0), "N must be >= 1"),
    ],
)
def test_bad_input(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        call()


def test_model_based_optima() -> None:
    """p-persistent (Cali et al.'s closed form) and non-persistent (Kleinrock-Tobagi) optima: derived in
    sympy, close to the exact fixed-window optimum, and near-optimal under the model when N is known."""
    forms = model_based.model_based_optima()
    g, slot, t_c = sp.symbols("g sigma T_c", positive=True)
    assert sp.simplify(forms["cost_leading"] - (slot / g + g * t_c / 2)) == 0
    assert sp.simplify(forms["p_persistent_load"] - sp.sqrt(2 * slot / t_c)) == 0
    a = 9.0 / 328.0
    g_star = model_based.non_persistent_load(a)
    throughput = sp.lambdify(g, forms["non_persistent_throughput"].subs(sp.Symbol("a", positive=True), a))
    assert throughput(g_star) > max(throughput(0.9 * g_star), throughput(1.1 * g_star))
    assert g_star == pytest.approx(np.sqrt(2 * a), rel=0.15)
    for n in (5, 20, 50):
        best = bianchi.optimal_window(n)
        for window in (model_based.p_persistent_window(n), model_based.non_persistent_window(n)):
            assert window == pytest.approx(best, rel=0.2)
            assert bianchi.throughput(n, window) >= 0.995 * bianchi.throughput(n, best)
    with pytest.raises(ValueError, match="mini-slot a must be positive"):
        model_based.non_persistent_load(0.0)


def test_two_station_chain_rejects_bad_windows() -> None:
    for args in ((1,), (32, 16), (16.0, 64)):
        with pytest.raises(ValueError, match="windows must be integers with 2 <= cw_min <= cw_max <= 65536"):
            markov.two_station_collision_probability(*args)

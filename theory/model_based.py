"""Classical model-based optimal windows that know N: p-persistent CSMA (Cali, Conti, Gregori 2000)
and slotted non-persistent CSMA (Kleinrock, Tobagi 1975), derived in sympy."""

from __future__ import annotations

from functools import cache

import sympy as sp
from scipy.optimize import brentq

from sim.timing import OFDM_54, Timing


@cache
def model_based_optima() -> dict[str, sp.Expr]:
    """The classical model-based optima, in sympy, as functions of the load g = n tau (attempts per slot).

    p-persistent CSMA (Cali, Conti, Gregori 2000): every station sends in an idle slot with probability
    p = tau. For many stations the idle/success/collision probabilities are e^-g, g e^-g and the rest, so
    the channel time spent per success is C(g) = (e^-g sigma + (1 - e^-g - g e^-g) T_c) / (g e^-g); to
    leading order in g, C = sigma / g + g T_c / 2, minimised at g* = sqrt(2 sigma / T_c).
    Slotted non-persistent CSMA (Kleinrock, Tobagi 1975), mini-slot a = sigma / T_s of a frame:
    S(g) = g e^-g / (1 - e^-g + a); its optimum solves dS/dg = 0 (numerically, ``non_persistent_load``).
    """
    g, slot, t_c, a = sp.symbols("g sigma T_c a", positive=True)
    cost = (sp.exp(-g) * slot + (1 - sp.exp(-g) - g * sp.exp(-g)) * t_c) / (g * sp.exp(-g))
    leading = sp.simplify(sp.series(cost, g, 0, 2).removeO())
    g_star = [root for root in sp.solve(sp.diff(leading, g), g) if root.is_positive][0]
    throughput = g * sp.exp(-g) / (1 - sp.exp(-g) + a)
    return {"cost": cost, "cost_leading": leading, "p_persistent_load": g_star, "non_persistent_throughput": throughput}


def p_persistent_window(n: int, timing: Timing = OFDM_54) -> float:
    """The fixed window of p-persistent CSMA's closed-form optimum p = g* / n, g* = sqrt(2 sigma / T_c)
    (the window with the same mean backoff, W = 2 / p - 1): the model-based baseline that knows N."""
    if n < 1:
        raise ValueError(f"the number of stations N must be >= 1, got {n}")
    slot, t_c = sp.symbols("sigma T_c", positive=True)
    g_star = model_based_optima()["p_persistent_load"].subs({slot: timing.slot_us, t_c: timing.collision_us})
    return 2.0 * n / float(g_star) - 1.0


@cache
def non_persistent_load(a: float) -> float:
    """g* maximising slotted non-persistent CSMA's throughput g e^-g / (1 - e^-g + a)."""
    if not a > 0:
        raise ValueError(f"the mini-slot a must be positive, got {a}")
    g, a_symbol = sp.symbols("g a", positive=True)
    slope = sp.lambdify(g, sp.diff(model_based_optima()["non_persistent_throughput"].subs(a_symbol, a), g))
    return float(brentq(slope, 1e-9, 10.0))


def non_persistent_window(n: int, timing: Timing = OFDM_54) -> float:
    """The fixed window whose per-station attempt rate tau = g* / n matches non-persistent CSMA's optimal
    load for a = sigma / T_s (Kleinrock-Tobagi treat a collision as a full frame): the second
    model-based baseline that knows N."""
    if n < 1:
        raise ValueError(f"the number of stations N must be >= 1, got {n}")
    return 2.0 * n / non_persistent_load(timing.slot_us / timing.success_us) - 1.0

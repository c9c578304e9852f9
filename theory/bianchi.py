"""Bianchi's (2000) model of saturated 802.11 DCF, symbolically (sympy) and numerically (numpy).

Each of n stations transmits in a slot with probability tau; a transmission collides with
probability p = 1 - (1 - tau)^(n - 1). Binary exponential backoff with m doubling stages from
window W gives tau = 2 (1 - 2p) / ((1 - 2p)(W + 1) + p W (1 - (2p)^m)); a fixed window (m = 0)
gives tau = 2 / (W + 1). Throughput S = P_s P_tr L / ((1 - P_tr) sigma + P_tr P_s T_s +
P_tr (1 - P_s) T_c). The numeric versions solve the fixed point by vectorised bisection.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import sympy as sp
from numpy.typing import ArrayLike
from scipy.optimize import minimize_scalar

from sim.timing import OFDM_54, W_MAX, Timing


@dataclass(frozen=True)
class Symbols:
    """The model's symbols and its closed-form expressions."""

    tau: sp.Symbol
    p: sp.Symbol
    n: sp.Symbol
    window: sp.Symbol
    stages: sp.Symbol
    tau_beb: sp.Expr
    tau_fixed: sp.Expr
    p_collision: sp.Expr
    throughput: sp.Expr


@cache
def symbolic() -> Symbols:
    """Bianchi's equations as sympy expressions (throughput in payload bits per microsecond = Mb/s)."""
    tau, p, n, window, stages = sp.symbols("tau p n W m", positive=True)
    slot, t_s, t_c, bits = sp.symbols("sigma T_s T_c L", positive=True)
    tau_beb = 2 * (1 - 2 * p) / ((1 - 2 * p) * (window + 1) + p * window * (1 - (2 * p) ** stages))
    p_tr = 1 - (1 - tau) ** n
    p_s = n * tau * (1 - tau) ** (n - 1) / p_tr
    throughput = p_s * p_tr * bits / ((1 - p_tr) * slot + p_tr * p_s * t_s + p_tr * (1 - p_s) * t_c)
    return Symbols(
        tau,
        p,
        n,
        window,
        stages,
        tau_beb=tau_beb,
        tau_fixed=2 / (window + 1),
        p_collision=1 - (1 - tau) ** (n - 1),
        throughput=throughput,
    )


def _check(n: np.ndarray, window: np.ndarray) -> None:
    if np.any(n < 1):
        raise ValueError(f"the number of stations N must be >= 1, got {n[n < 1][0]}")
    if np.any((window < 1) | (window > W_MAX)):
        raise ValueError(
            f"contention window W must be in [1, {W_MAX}], got {window[(window < 1) | (window > W_MAX)][0]}"
        )


def tau_of_p(p: ArrayLike, window: ArrayLike, stages: int) -> np.ndarray:
    """Per-slot transmission probability given the collision probability (no 0/0 at p = 1/2)."""
    p, window = np.asarray(p, dtype=float), np.asarray(window, dtype=float)
    geometric = sum((2 * p) ** i for i in range(stages)) if stages > 0 else np.zeros_like(p)
    return 2.0 / (1.0 + window + p * window * geometric)


def fixed_point(
    n: ArrayLike, window: ArrayLike, stages: int = 0, iterations: int = 80
) -> tuple[np.ndarray, np.ndarray]:
    """(tau, p) solving Bianchi's fixed point for every (n, window) pair (broadcast)."""
    n, window = np.broadcast_arrays(np.asarray(n, dtype=float), np.asarray(window, dtype=float))
    _check(n, window)
    low, high = np.zeros(n.shape), np.ones(n.shape)
    for _ in range(iterations):
        mid = (low + high) / 2
        residual = mid - (1 - (1 - tau_of_p(mid, window, stages)) ** (n - 1))
        low, high = np.where(residual < 0, mid, low), np.where(residual < 0, high, mid)
    p = (low + high) / 2
    return tau_of_p(p, window, stages), p


def throughput_from_tau(tau: ArrayLike, n: ArrayLike, timing: Timing = OFDM_54) -> np.ndarray:
    """Saturation throughput in Mb/s when each of n stations transmits with probability tau."""
    tau, n = np.asarray(tau, dtype=float), np.asarray(n, dtype=float)
    p_idle = (1 - tau) ** n
    p_success = n * tau * (1 - tau) ** (n - 1)
    p_collision = 1 - p_idle - p_success
    slot_time = p_idle * timing.slot_us + p_success * timing.success_us + p_collision * timing.collision_us
    return p_success * timing.payload_bits / slot_time


def throughput(n: ArrayLike, window: ArrayLike, stages: int = 0, timing: Timing = OFDM_54) -> np.ndarray:
    """Bianchi's saturation throughput (Mb/s) with window W and m backoff stages (m = 0: fixed window)."""
    tau, _ = fixed_point(n, window, stages)
    return throughput_from_tau(tau, n, timing)


def collision_probability(n: ArrayLike, window: ArrayLike, stages: int = 0) -> np.ndarray:
    """Probability that a transmission collides."""
    return fixed_point(n, window, stages)[1]


def optimal_window(n: int, timing: Timing = OFDM_54) -> float:
    """The fixed window W* (real-valued) that maximises throughput for n stations."""
    if n < 1:
        raise ValueError(f"the number of stations N must be >= 1, got {n}")
    result = minimize_scalar(
        lambda log_w: -float(throughput(n, np.exp(log_w), 0, timing)),
        bounds=(0.0, np.log(W_MAX)),
        method="bounded",
        options={"xatol": 1e-6},
    )
    return float(np.exp(result.x))


def optimal_collision_probability(n: int, timing: Timing = OFDM_54) -> float:
    """p*: the collision probability at the throughput-optimal fixed window for n stations."""
    return float(collision_probability(n, optimal_window(n, timing)))


def throughput_loss(n: int, log2_error: ArrayLike, timing: Timing = OFDM_54) -> np.ndarray:
    """1 - S(W* 2^e) / S*: the relative throughput lost by a window e octaves off the optimum."""
    best = optimal_window(n, timing)
    windows = np.clip(best * np.exp2(np.asarray(log2_error, dtype=float)), 1.0, W_MAX)
    return 1.0 - throughput(n, windows, 0, timing) / throughput(n, best, 0, timing)


def throughput_deviation_bound(n: int, delta_log2: float, timing: Timing = OFDM_54) -> float:
    """The most throughput a window within ``delta_log2`` octaves of W* can lose (relative).

    S is unimodal in W, so over |log2 W - log2 W*| <= delta the loss is largest at an endpoint:
    a bound on the prediction's deviation becomes a bound on the throughput's.
    """
    if delta_log2 < 0:
        raise ValueError(f"delta_log2 must be >= 0, got {delta_log2}")
    return float(np.max(throughput_loss(n, [-delta_log2, delta_log2], timing)))


def throughput_curvature(n: int, timing: Timing = OFDM_54) -> float:
    """kappa = -(d^2 S / du^2) / S* at u = ln W*, from the sympy model: loss(e) ~ kappa (e ln 2)^2 / 2.

    With tau = 2 / (W + 1), dS/du = S'(tau) dtau/du and S'(tau*) = 0, so d^2S/du^2 = S''(tau*) (dtau/du)^2.
    """
    s = symbolic()
    slot, t_s, t_c, bits = sp.symbols("sigma T_s T_c L", positive=True)
    numbers = {s.n: n, slot: timing.slot_us, t_s: timing.success_us, t_c: timing.collision_us,
               bits: timing.payload_bits}  # fmt: skip
    curve = s.throughput.subs(numbers)
    second = sp.lambdify(s.tau, sp.diff(curve, s.tau, 2), "math")
    value = sp.lambdify(s.tau, curve, "math")
    best = optimal_window(n, timing)
    tau = 2.0 / (best + 1.0)
    dtau_du = -2.0 * best / (best + 1.0) ** 2
    return float(-second(tau) * dtau_du**2 / value(tau))

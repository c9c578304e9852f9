"""Bianchi's (2000) model of saturated 802.11 DCF, symbolically (sympy) and numerically (numpy).

Each of n stations transmits in a slot with probability tau; a transmission collides with
probability p = 1 - (1 - tau)^(n - 1). Binary exponential backoff with m doubling stages from
window W gives tau = 2 (1 - 2p) / ((1 - 2p)(W + 1) + p W (1 - (2p)^m)); a fixed window (m = 0)
gives tau = 2 / (W + 1). Throughput S = P_s P_tr L / ((1 - P_tr) sigma + P_tr P_s T_s +
P_tr (1 - P_s) T_c). The numeric versions solve the fixed point by vectorised bisection.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
import sympy as sp
from numpy.typing import ArrayLike
from scipy.optimize import brentq, minimize_scalar
from scipy.stats import binom, norm

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


def window_offset(p: ArrayLike, window: ArrayLike) -> np.ndarray:
    """c = log(-log(1 - p)) - log(-log(1 - 2 / (W + 1))): log(n - 1) for a fixed-window network.

    Bianchi's fixed point gives log(1 - p) = (n - 1) log(1 - tau) with tau = 2 / (W + 1), so each
    (collision, threshold) example is one noisy reading of the hidden network's offset log(n - 1).
    """
    p, window = np.asarray(p, dtype=float), np.asarray(window, dtype=float)
    with np.errstate(divide="ignore"):  # p = 0 (no collision seen) reads as offset -inf
        return np.log(-np.log1p(-p)) - np.log(-np.log1p(-2.0 / (window + 1.0)))


def window_for_offset(offset: ArrayLike, p_target: float) -> np.ndarray:
    """The window at which a network of offset c reaches collision probability p_target (exact inverse)."""
    z = np.log(-np.log1p(-p_target)) - np.asarray(offset, dtype=float)
    return 2.0 / -np.expm1(-np.exp(z)) - 1.0


def in_context_window(p: ArrayLike, windows: ArrayLike, p_target: float) -> np.ndarray:
    """The model-based in-context estimate: the median offset of the k examples (last axis), mapped to
    the window that reaches p_target. The median keeps it bounded under a minority of wrong examples."""
    return window_for_offset(np.median(window_offset(p, windows), axis=-1), p_target)


def in_context_miss(p: ArrayLike, windows: ArrayLike, n: int, p_target: float) -> np.ndarray:
    """Octaves between the in-context estimate and the window at which n stations reach p_target:
    the quantity ``in_context_deviation_bound`` bounds."""
    target = window_for_offset(np.log(n - 1.0), p_target)
    return np.abs(np.log2(in_context_window(p, windows, p_target) / target))


def offset_noise(n: int, windows: ArrayLike, measurement_slots: int) -> np.ndarray:
    """Std of each example's offset when p is measured over ``measurement_slots`` slots (delta method).

    In each slot j ~ Binomial(n, tau) stations attempt, and all j attempts collide when j >= 2, so
    collisions come in clusters. The ratio estimate p_hat = sum c / sum a over M slots has
    Var p_hat = E[(c - p a)^2] / (M (n tau)^2), with c = j [j >= 2] and a = j; then
    dc/dp = 1 / ((1 - p)(-log(1 - p))).
    """
    tau, p = fixed_point(n, np.asarray(windows, dtype=float))
    stations = np.arange(n + 1)
    weights = binom.pmf(stations, n, tau[..., None])
    residual = stations * (stations >= 2) - p[..., None] * stations
    variance = (weights * residual**2).sum(axis=-1) / (measurement_slots * (n * tau) ** 2)
    return np.sqrt(variance) / ((1 - p) * -np.log1p(-p))


WRONG_COLLISION = 0.9
"""The reading a wrong example reports in ``worst_case_probes`` (any value on one side will do)."""


def worst_case_probes(
    p: ArrayLike, n: int, windows: ArrayLike, measurement_slots: int, error_fraction: float
) -> np.ndarray:
    """Collision readings [..., k] with the wrong examples that ``in_context_deviation_bound`` assumes:
    a fraction of the k examples, the most informative ones (smallest ``offset_noise``), replaced by
    readings all on one side."""
    p = np.array(p, dtype=float)
    windows = np.asarray(windows)
    n_wrong = int(round(error_fraction * len(windows)))
    p[..., np.argsort(offset_noise(n, windows, measurement_slots))[:n_wrong]] = WRONG_COLLISION
    return p


def _count_distribution(probs: np.ndarray) -> np.ndarray:
    """P(exactly j of independent events happen), j = 0..len(probs): the Poisson-binomial law."""
    dist = np.zeros(len(probs) + 1)
    dist[0] = 1.0
    for q in probs:
        dist[1:] = dist[1:] * (1 - q) + dist[:-1] * q
        dist[0] *= 1 - q
    return dist


def in_context_deviation_bound(
    n: int,
    windows: ArrayLike,
    measurement_slots: int,
    error_fraction: float,
    p_target: float,
    confidence: float = 0.95,
) -> float:
    """Octaves by which the in-context estimate may miss the window that reaches p_target, with
    probability at least ``confidence``, when a fraction of the k examples is wrong in any way.

    Clean readings are independent N(c, sigma_i^2) (``offset_noise``). The wrong examples replace
    the most informative readings and all sit on one side. The median lies between the two middle
    order statistics, whose laws follow exactly from the Poisson-binomial count of readings below a
    level; the offset error t is the smallest with P(median misses c by more than t) <= 1 - confidence
    for either side of the wrong readings. It maps to octaves through d log2 W / dc at c.
    """
    windows = np.asarray(windows, dtype=float)
    if not 0 <= error_fraction < 0.5:
        raise ValueError(f"error_fraction must be in [0, 0.5) for the median to be bounded, got {error_fraction}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    k = len(windows)
    n_wrong = int(round(error_fraction * k))
    clean = np.sort(offset_noise(n, windows, measurement_slots))[n_wrong:]
    low_rank, high_rank = (k - 1) // 2 + 1, k // 2 + 1  # 1-based ranks of the middle order statistics

    def miss_probability(t: float) -> float:
        # wrong readings at +inf: the median errs high; P(upper middle > c + t) + P(lower middle < c - t)
        below_high = _count_distribution(norm.cdf(t / clean))  # clean readings below c + t
        above_low = _count_distribution(norm.sf(-t / clean))  # clean readings above c - t
        high_misses = below_high[:high_rank].sum()  # fewer than high_rank readings below c + t
        low_misses = above_low[: max(k - low_rank + 1 - n_wrong, 0)].sum()
        return float(high_misses + low_misses)

    offset_error = brentq(lambda t: miss_probability(t) - (1 - confidence), 0.0, 100.0 * clean.max())
    true_offset = np.log(n - 1.0)
    ends = np.log2(window_for_offset([true_offset - 1e-4, true_offset + 1e-4], p_target))
    return float(abs(ends[1] - ends[0]) / 2e-4 * offset_error)


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


def two_station_collision_probability(cw_min: int, cw_max: int | None = None) -> float:
    """The exact collision probability per attempt of two saturated stations, fixed window or BEB.

    Bianchi's decoupling assumption (the other station's attempts independent of one's own history) is
    at its weakest for N = 2, so this checks it there without it: a Markov chain over transmissions.
    Windows are W_s = min(cw_min 2^s, cw_max) for backoff stage s (no retry limit). After a success
    the winner is at stage 0 and draws a ~ U{0..W_0 - 1}; the waiting station keeps its stage s and
    its residual counter r (it counted the busy slot down too, as in ``sim.csma``): state (s, r).
    The next transmission is a collision when a = r, else a success leaving the other's residual
    |a - r| - 1. After a collision both stations move up a stage and draw afresh: state (s1, s2).
    For a fixed window the answer is exactly Bianchi's 2 / (W + 1); with BEB it is not.
    """
    cw_max = cw_min if cw_max is None else cw_max
    if not all(isinstance(w, (int, np.integer)) for w in (cw_min, cw_max)) or not 2 <= cw_min <= cw_max <= W_MAX:
        raise ValueError(f"windows must be integers with 2 <= cw_min <= cw_max <= {W_MAX}, got {cw_min!r}, {cw_max!r}")
    top = math.ceil(math.log2(cw_max / cw_min))
    windows = [min(cw_min * 2**stage, cw_max) for stage in range(top + 1)]
    offsets = np.cumsum([0, *windows])
    collision_base = int(offsets[-1])

    def collision_state(s1: int, s2: int) -> int:
        return collision_base + min(s1, top) * (top + 1) + min(s2, top)

    size = collision_base + (top + 1) ** 2
    transition = np.zeros((size, size))
    first = np.arange(windows[0])
    for stage, window in enumerate(windows):
        for residual in range(window):
            state = offsets[stage] + residual
            if residual < windows[0]:
                transition[state, collision_state(1, stage + 1)] += 1 / windows[0]
            winner_again = first[first < residual]
            np.add.at(transition[state], offsets[stage] + residual - winner_again - 1, 1 / windows[0])
            waiting_wins = first[first > residual]
            np.add.at(transition[state], offsets[0] + waiting_wins - residual - 1, 1 / windows[0])
    for s1, w1 in enumerate(windows):
        for s2, w2 in enumerate(windows):
            state = collision_state(s1, s2)
            a, b = np.meshgrid(np.arange(w1), np.arange(w2), indexing="ij")
            transition[state, collision_state(s1 + 1, s2 + 1)] += min(w1, w2) / (w1 * w2)
            np.add.at(transition[state], offsets[s2] + (b - a - 1)[a < b], 1 / (w1 * w2))
            np.add.at(transition[state], offsets[s1] + (a - b - 1)[a > b], 1 / (w1 * w2))
    # stationary distribution of the chain of transmissions: pi (T - I) = 0, sum(pi) = 1
    system = transition.T - np.eye(size)
    system[-1] = 1.0
    rhs = np.zeros(size)
    rhs[-1] = 1.0
    stationary = np.linalg.solve(system, rhs)
    collision_events = stationary[collision_base:].sum()
    return float(2 * collision_events / (1 + collision_events))

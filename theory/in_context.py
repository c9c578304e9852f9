"""The in-context window estimate of a CSMA prompt and how far it can miss.

With z = log(-log(1 - p)), Bianchi's fixed point makes every (collision, window) example an exact
reading of the hidden network's offset log(N - 1); the estimate is the median of those readings,
mapped to the window that reaches the target collision level. ``in_context_deviation_bound``
bounds its miss from k noisy examples, a fraction of them wrong.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import brentq
from scipy.stats import binom, norm

from theory import bianchi
from theory.bianchi import fixed_point


def collision_feature(p: ArrayLike) -> np.ndarray:
    """z = log(-log(1 - p)), in which Bianchi's fixed point is linear (p = 0 gives -inf)."""
    with np.errstate(divide="ignore"):
        return np.log(-np.log1p(-np.asarray(p, dtype=float)))


def window_rate(window: ArrayLike) -> np.ndarray:
    """u = log(-log(1 - tau)) of a fixed window, tau = 2 / (W + 1): the window's part of z."""
    return collision_feature(2.0 / (np.asarray(window, dtype=float) + 1.0))


def window_at_rate(u: ArrayLike) -> np.ndarray:
    """The window whose ``window_rate`` is u (the exact inverse)."""
    return 2.0 / -np.expm1(-np.exp(np.asarray(u, dtype=float))) - 1.0


def window_offset(p: ArrayLike, window: ArrayLike) -> np.ndarray:
    """c = z(p) - u(W) = log(-log(1 - p)) - log(-log(1 - 2 / (W + 1))): log(n - 1) for a fixed-window network.

    Bianchi's fixed point gives log(1 - p) = (n - 1) log(1 - tau) with tau = 2 / (W + 1), so each
    (collision, threshold) example is one noisy reading of the hidden network's offset log(n - 1).
    A reading of p = 0 (no collision seen) is -inf.
    """
    return collision_feature(p) - window_rate(window)


def window_for_offset(offset: ArrayLike, p_target: ArrayLike) -> np.ndarray:
    """The window at which a network of offset c reaches collision probability p_target (exact inverse)."""
    return window_at_rate(collision_feature(p_target) - np.asarray(offset, dtype=float))


def in_context_window(p: ArrayLike, windows: ArrayLike, p_target: float) -> np.ndarray:
    """The model-based in-context estimate: the median offset of the k examples (last axis), mapped to
    the window that reaches p_target. The median keeps it bounded under a minority of wrong examples."""
    return window_for_offset(np.median(window_offset(p, windows), axis=-1), p_target)


def fixed_target_loss(n: int, n_reference: int) -> tuple[float, float]:
    """What answering the query at p* of ``n_reference`` stations costs a network of ``n``: (octaves
    from its own W*, relative throughput lost), with exact readings. p* moves with N (0.151 at N = 2,
    0.188 at N = 5, 0.207 at N = 120), so even a perfect in-context estimate misses by this much."""
    window = float(window_for_offset(np.log(n - 1.0), bianchi.optimal_collision_probability(n_reference)))
    octaves = float(np.log2(window / bianchi.optimal_window(n)))
    return octaves, float(bianchi.throughput_loss(n, octaves))


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

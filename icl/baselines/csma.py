"""Hand-made in-context estimators of the CSMA window: the methods the transformer has to beat.

They read the same ``csma_window`` prompts as the transformer: xs [B, K, 2] holds the collision
probability p_i measured at each probe (and its z feature), ys the probe's log2 W_i; at position k
they answer the query collision level p_k from examples 0..k-1. In Bianchi's model every example is
a reading of the hidden network's offset c = log(N - 1) (``theory.in_context.window_offset``); an
estimator combines the readings into one c and returns log2 of the window at which that network
reaches p_k (``window_for_offset``). With no example yet they assume ``prior_n`` stations.
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np
import torch
from scipy.special import gammaln
from torch import Tensor

from icl.baselines.base import check_prompt, require_positive
from sim.timing import INTERVAL_SLOTS, to_log2
from tasks.csma import P_FLOOR
from theory.in_context import collision_feature, window_at_rate, window_for_offset, window_offset, window_rate

P_RANGE = (P_FLOOR, 1.0 - P_FLOOR)
"""The range of a prompt's collision readings (``tasks.csma.features`` clips them so): a probe that saw
no collision reads as a very low offset (an outlier to the robust estimators), not minus infinity."""


class OffsetEstimator:
    """Combine each prompt's offset readings into one offset; subclasses say how (``estimate``)."""

    def __init__(self, prior_n: float = 20.0) -> None:
        if not prior_n > 1:
            raise ValueError(f"prior_n must be > 1 (a network of one station never collides), got {prior_n!r}")
        self.prior_n = float(prior_n)

    def predict(self, xs: Tensor, ys: Tensor) -> Tensor:
        check_prompt(xs, ys)
        p = xs[..., 0].detach().cpu().double().numpy().clip(*P_RANGE)
        windows = np.exp2(ys.detach().cpu().double().numpy())
        out = np.empty(p.shape)
        for k in range(p.shape[1]):
            if k == 0:
                offset = np.full(p.shape[0], np.log(self.prior_n - 1.0))
            else:
                offset = self.estimate(p[:, :k], windows[:, :k])
            out[:, k] = self.log2_window(offset, p[:, :k], windows[:, :k], p[:, k])
        return torch.from_numpy(out).float()

    @abstractmethod
    def estimate(self, p: np.ndarray, windows: np.ndarray) -> np.ndarray:
        """The offset [B] of each prompt from its k readings p [B, k] at windows [B, k]."""

    def log2_window(self, offset: np.ndarray, p: np.ndarray, windows: np.ndarray, query: np.ndarray) -> np.ndarray:
        """log2 of the window at which a network of ``offset`` reaches collision level ``query``."""
        return to_log2(window_for_offset(offset, query))

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({params})"


class MedianOffset(OffsetEstimator):
    """The median of the offset readings (``theory.in_context.in_context_window``): bounded while fewer
    than half of the examples are wrong."""

    def estimate(self, p: np.ndarray, windows: np.ndarray) -> np.ndarray:
        return np.median(window_offset(p, windows), axis=-1)


class ShorthOffset(OffsetEstimator):
    """The mean of the shortest half of the offset readings (the shorth, Rousseeuw's least median of
    squares location): bounded while fewer than half are wrong, and, unlike the median, not pulled by
    wrong readings that all lie on one side (channel losses or an interference burst raise every
    reading they touch)."""

    def estimate(self, p: np.ndarray, windows: np.ndarray) -> np.ndarray:
        readings = np.sort(window_offset(p, windows), axis=-1)
        k = readings.shape[-1]
        half = k // 2 + 1
        widths = readings[:, half - 1 :] - readings[:, : k - half + 1]
        start = np.argmin(widths, axis=-1)
        window = start[:, None] + np.arange(half)
        return np.take_along_axis(readings, window, axis=-1).mean(axis=-1)


class HuberOffset(OffsetEstimator):
    """Huber's M-estimate of the offset (tuning constant ``c`` in units of the readings' robust spread,
    1.4826 MAD about the median), by iteratively reweighted means from the median: as efficient as
    the mean on clean readings, bounded like the median under outliers."""

    def __init__(self, c: float = 1.345, n_iter: int = 30, prior_n: float = 20.0) -> None:
        require_positive("c", c)
        require_positive("n_iter", n_iter, integer=True)
        super().__init__(prior_n)
        self.c, self.n_iter = float(c), n_iter

    def estimate(self, p: np.ndarray, windows: np.ndarray) -> np.ndarray:
        readings = window_offset(p, windows)
        center = np.median(readings, axis=-1)
        spread = 1.4826 * np.median(np.abs(readings - center[:, None]), axis=-1)
        spread = np.maximum(spread, 1e-3)[:, None]
        for _ in range(self.n_iter):
            residual = np.abs(readings - center[:, None])
            weights = np.minimum(1.0, self.c * spread / np.maximum(residual, 1e-12))
            center = (weights * readings).sum(axis=-1) / weights.sum(axis=-1)
        return center


class MleOffset(OffsetEstimator):
    """The maximum-likelihood N under the measurement model of the prompts: over ``measurement_slots``
    slots a network of N stations makes a = slots N tau_i attempts at window W_i, of which
    c ~ Binomial(a, p_i(N)) collide, p_i(N) = 1 - (1 - tau_i)^(N - 1), and the probe reports c / a.
    The likelihood of each reported ratio is the binomial's at c = ratio * a (with its Jacobian a;
    gamma functions extend it to non-integer counts), maximised over a fine log grid of N in
    [2, ``n_max``] (refined by a parabola through the best three). Efficient on clean readings; every
    wrong reading pulls it."""

    def __init__(self, measurement_slots: int = INTERVAL_SLOTS, n_max: float = 1000.0, prior_n: float = 20.0) -> None:
        require_positive("measurement_slots", measurement_slots, integer=True)
        if not n_max > 2:
            raise ValueError(f"n_max must be > 2, got {n_max!r}")
        super().__init__(prior_n)
        self.measurement_slots, self.n_max = measurement_slots, float(n_max)

    def estimate(self, p: np.ndarray, windows: np.ndarray) -> np.ndarray:
        log_n = np.linspace(np.log(2.0), np.log(self.n_max), 400)
        n = np.exp(log_n)  # the candidates, on a last axis against [B, k]
        tau = 2.0 / (windows[..., None] + 1.0)
        p_model = np.clip(-np.expm1((n - 1.0) * np.log1p(-tau)), *P_RANGE)
        attempts = self.measurement_slots * n * tau
        collided = p[..., None] * attempts
        log_likelihood = (
            np.log(attempts)
            + gammaln(attempts + 1)
            - gammaln(collided + 1)
            - gammaln(attempts - collided + 1)
            + collided * np.log(p_model)
            + (attempts - collided) * np.log1p(-p_model)
        ).sum(axis=1)
        return np.log(np.exp(_parabola_peak(log_n, log_likelihood)) - 1.0)


def _parabola_peak(grid: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The peak [B] of each row of ``values`` [B, G] over the evenly spaced ``grid``: the vertex of the
    parabola through the best point and its neighbours (the best point itself at an end of the grid)."""
    best = np.clip(np.argmax(values, axis=-1), 1, len(grid) - 2)
    rows = np.arange(len(values))
    left, middle, right = values[rows, best - 1], values[rows, best], values[rows, best + 1]
    curvature = left - 2 * middle + right
    shift = np.divide(left - right, 2 * curvature, out=np.zeros_like(middle), where=curvature < 0)
    return grid[best] + np.clip(shift, -1, 1) * (grid[1] - grid[0])


class LeastSquaresZ(OffsetEstimator):
    """Least squares of z_i = log(-log(1 - p_i)) on u_i = log(-log(1 - tau_i)): z = a + b u. Bianchi's
    model says b = 1 and a = log(N - 1); the free slope lets the fit follow a network that departs from
    it. The query is answered where the line reaches z of the query level. Fewer than two distinct
    windows, or a slope <= 0, fall back to b = 1 (the mean offset)."""

    def estimate(self, p: np.ndarray, windows: np.ndarray) -> np.ndarray:
        """The intercept a: the offset when the slope is 1."""
        return self._fit(p, windows)[0]

    def log2_window(self, offset: np.ndarray, p: np.ndarray, windows: np.ndarray, query: np.ndarray) -> np.ndarray:
        if p.shape[1] == 0:
            return super().log2_window(offset, p, windows, query)
        intercept, slope = self._fit(p, windows)
        with np.errstate(over="ignore", divide="ignore"):  # a flat fit sends the window to a bound
            window = window_at_rate((collision_feature(query) - intercept) / slope)
        return to_log2(window)

    @staticmethod
    def _fit(p: np.ndarray, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z, u = collision_feature(p), window_rate(windows)
        u_mean, z_mean = u.mean(axis=-1), z.mean(axis=-1)
        spread = ((u - u_mean[:, None]) ** 2).sum(axis=-1)
        covariance = ((u - u_mean[:, None]) * (z - z_mean[:, None])).sum(axis=-1)
        slope = np.divide(covariance, spread, out=np.ones_like(spread), where=spread > 1e-9)
        slope = np.where(slope > 0, slope, 1.0)
        return z_mean - slope * u_mean, slope


class PeakFit:
    """The throughput peak read off a ``csma_peak`` prompt's probes: the best probe's window, moved to
    the vertex of the parabola in log2 W through it and its nearest probed windows on either side (as
    ``sim.table.best_window`` does on a sweep); at the edge of the probed range, the edge."""

    def predict(self, xs: Tensor, ys: Tensor) -> Tensor:
        check_prompt(xs, ys)
        throughput = xs[..., 1].detach().cpu().double().numpy()
        log2_w = ys.detach().cpu().double().numpy()
        out = np.full(log2_w.shape, np.nan)
        for k in range(1, log2_w.shape[1] + 1):
            out[:, k - 1] = _peak(log2_w[:, : k - 1], throughput[:, : k - 1]) if k > 1 else 0.0
        return torch.from_numpy(out).float()

    def __repr__(self) -> str:
        return "PeakFit()"


def _peak(log2_w: np.ndarray, throughput: np.ndarray) -> np.ndarray:
    """Per row, the vertex of the parabola through the best reading and its neighbours in log2 W (the
    mean reading of each window probed more than once)."""
    out = np.empty(len(log2_w))
    for b in range(len(log2_w)):
        windows, inverse = np.unique(log2_w[b], return_inverse=True)
        means = np.bincount(inverse, throughput[b]) / np.bincount(inverse)
        i = int(np.argmax(means))
        out[b] = windows[i]
        if 0 < i < len(windows) - 1:
            x, y = windows[i - 1 : i + 2], means[i - 1 : i + 2]
            a, slope, _ = np.polyfit(x, y, 2)
            if a < 0:
                out[b] = float(np.clip(-slope / (2 * a), x[0], x[-1]))
    return out

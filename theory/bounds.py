"""Bounds as checks: a function of measured numbers that says whether the theory's bound holds, and by
what margin. Tests assert ``holds``; figures draw ``limit`` next to ``measured``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from sim.timing import OFDM_54, Timing
from theory import bianchi, in_context


@dataclass(frozen=True)
class BoundCheck:
    """``measured`` against the bound's ``limit`` (the bound holds when measured <= limit)."""

    name: str
    measured: float
    limit: float

    @property
    def holds(self) -> bool:
        return bool(self.measured <= self.limit)

    @property
    def margin(self) -> float:
        """limit - measured: how much room is left (negative when the bound is violated)."""
        return self.limit - self.measured

    def __str__(self) -> str:
        verdict = "holds" if self.holds else "VIOLATED"
        return f"{self.name}: measured {self.measured:.4g} <= {self.limit:.4g} {verdict} (margin {self.margin:.3g})"


def throughput_loss_check(
    n: int, delta_log2: float, measured_loss: float, model_error: float = 0.0, timing: Timing = OFDM_54
) -> BoundCheck:
    """A window within ``delta_log2`` octaves of W* loses at most ``bianchi.throughput_deviation_bound``
    of the optimal throughput; ``model_error`` is the allowed gap between model and measurement."""
    limit = bianchi.throughput_deviation_bound(n, delta_log2, timing) + model_error
    return BoundCheck(f"throughput loss, N={n}, |error| <= {delta_log2:.3g} octaves", float(measured_loss), limit)


def coverage_check(name: str, deviations: ArrayLike, bound: float, confidence: float) -> BoundCheck:
    """A high-probability bound: the fraction of ``deviations`` above ``bound`` is at most
    1 - confidence, up to three binomial standard errors of the sample."""
    deviations = np.asarray(deviations, dtype=float)
    if deviations.size == 0:
        raise ValueError("coverage_check needs at least one deviation")
    allowed = 1 - confidence
    slack = 3 * math.sqrt(allowed * confidence / deviations.size)
    return BoundCheck(name, float(np.mean(deviations > bound)), allowed + slack)


def in_context_deviation_check(
    deviations_log2: ArrayLike,
    n: int,
    windows: ArrayLike,
    measurement_slots: int,
    error_fraction: float,
    p_target: float,
    confidence: float = 0.95,
) -> BoundCheck:
    """The in-context estimate's misses (octaves, one per prompt) against
    ``in_context.in_context_deviation_bound``: too many beyond it means the bound fails."""
    bound = in_context.in_context_deviation_bound(n, windows, measurement_slots, error_fraction, p_target, confidence)
    name = f"in-context window deviation, N={n}, eps={error_fraction:.2g}, bound {bound:.3g} octaves"
    return coverage_check(name, deviations_log2, bound, confidence)

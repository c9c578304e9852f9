"""Classic adaptive window schemes that need no training, each a ``Policy`` over ``sim.CsmaEnv``.

They adjust the window once per env step from what the step measured:

- ``CollisionTracker``: move the window until the measured collision probability reaches p*, by
  Newton steps in z = log(-log(1 - p)), in which Bianchi's model is linear in log W with slope -1.
- ``IdleSense`` (Heusse et al. 2005): steer the mean number of idle slots between transmissions to
  its value at the optimum, which hardly depends on N. The original updates additively/multiplicatively
  every few transmissions; one update per measurement window here, so the step is proportional in
  log W (idle slots grow about linearly with W).
- ``KalmanN`` (Bianchi & Tinnirello 2003): estimate N from each step's collision probability
  (N = 1 + log(1 - p) / log(1 - tau)) with a scalar Kalman filter (random-walk state), then use the
  model's optimal window W*(N_hat).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np

from control.controller import Trace, hold
from sim.env import CsmaEnv, Observation
from sim.timing import INTERVAL_SLOTS, W_MAX, to_window
from tasks.csma import P_FLOOR
from theory import bianchi
from theory.in_context import collision_feature

P_REFERENCE_N = 20
"""The N at which the targets (p*, the idle slots at the optimum) are computed, as for the ICL query."""


def _clipped(p: float) -> float:
    """A measured collision probability, clipped as the prompts clip it (0 and 1 carry no N)."""
    return min(max(p, P_FLOOR), 1 - P_FLOOR)


def _z(p: float) -> float:
    """z of a measured collision probability."""
    return float(collision_feature(_clipped(p)))


@dataclass
class _WindowStepper:
    """A scheme that moves log2 W by ``update(observation)`` after every step, within [w_min, w_max]."""

    start_window: float = 64.0
    w_min: float = 16.0
    w_max: float = 4096.0

    def run(self, env: CsmaEnv, n_steps: int, seed: int = 0) -> Trace:
        trace = Trace()
        env.reset(seed=seed)
        log2_window = math.log2(self.start_window)
        for _ in range(n_steps):
            window = round(float(to_window(log2_window)))
            observation, info = hold(env, window)
            trace.record(window, observation, info, probing=False)
            log2_window = float(np.clip(log2_window + self.update(observation), *np.log2([self.w_min, self.w_max])))
        return trace

    def update(self, observation: Observation) -> float:
        """Octaves to move the window after a step that measured ``observation``."""
        raise NotImplementedError


@dataclass
class CollisionTracker(_WindowStepper):
    """log2 W += gain (z(p) - z(p*)) / ln 2 each step: one Newton step of Bianchi's fixed point per
    measurement, damped by ``gain`` against measurement noise."""

    gain: float = 0.5

    def update(self, observation: Observation) -> float:
        return self.gain * (_z(observation.collision_probability) - _target_z()) / math.log(2)


@cache
def _target_z() -> float:
    return _z(bianchi.optimal_collision_probability(P_REFERENCE_N))


@cache
def optimal_idle_slots(n: int = P_REFERENCE_N) -> float:
    """Mean idle slots between transmissions at the optimal window of ``n`` stations (Bianchi's model):
    (1 - tau)^n / (1 - (1 - tau)^n) at tau(W*(n)); 3.4 to 3.8 for N from 5 to 50 (802.11a, 1500 bytes)."""
    tau, _ = bianchi.fixed_point(n, bianchi.optimal_window(n))
    idle = (1 - float(tau)) ** n
    return idle / (1 - idle)


@dataclass
class IdleSense(_WindowStepper):
    """log2 W += gain log2(target / measured idle slots) each step, toward ``optimal_idle_slots``."""

    gain: float = 0.7

    def update(self, observation: Observation) -> float:
        return self.gain * math.log2(optimal_idle_slots() / max(observation.idle_slots_per_transmission, 1e-3))


@dataclass
class KalmanN:
    """A scalar Kalman filter on N from each step's collision probability, then the window W*(N_hat).

    Measurement: N_m = 1 + log(1 - p) / log(1 - tau) at the window in force, with variance from the
    binomial spread of p over ``measurement_slots`` slots (delta method) plus ``model_noise`` (relative);
    state: a random walk with relative step ``drift`` per step, so that a change of N is followed.
    """

    measurement_slots: int = INTERVAL_SLOTS
    drift: float = 0.1
    model_noise: float = 0.05
    start_n: float = 10.0

    def run(self, env: CsmaEnv, n_steps: int, seed: int = 0) -> Trace:
        trace = Trace()
        env.reset(seed=seed)
        n_hat, variance = self.start_n, self.start_n**2
        for _ in range(n_steps):
            window = round(min(bianchi.optimal_window(max(round(n_hat), 2)), W_MAX))
            observation, info = hold(env, window)
            trace.record(window, observation, info, probing=False)
            tau = 2.0 / (window + 1.0)
            p = _clipped(observation.collision_probability)
            measured = 1.0 + math.log1p(-p) / math.log1p(-tau)
            attempts = max(self.measurement_slots * measured * tau, 1.0)
            slope = 1.0 / ((1.0 - p) * -math.log1p(-tau))  # dN / dp
            noise = slope**2 * p * (1 - p) / attempts + (self.model_noise * measured) ** 2
            variance += (self.drift * n_hat) ** 2
            gain = variance / (variance + noise)
            n_hat = max(n_hat + gain * (measured - n_hat), 1.0)
            variance *= 1 - gain
        return trace

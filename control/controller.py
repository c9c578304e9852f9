"""The in-context contention-window optimizer and the policies it is compared with, closed loop.

``IclController`` probes a few windows on the live network, turns the measured collision
probabilities into a ``csma_window`` prompt, asks a trained model for the threshold at the query
collision case p*, and holds it; when the measured collision probability drifts away from p*
(the number of stations changed), it probes again. The other policies are fixed windows (the
oracle W*(N), or the model-based optimum for an assumed N) and 802.11 binary exponential backoff.
All run through ``sim.CsmaEnv``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from icl.learner import Learner
from sim.env import CsmaEnv, Observation
from sim.timing import to_window
from tasks.csma import CsmaPeakTask, CsmaWindowTask


def hold(env: CsmaEnv, window: int) -> tuple[Observation, dict]:
    """Hold ``window`` for one env step; what the interval measured, by name, and the step's info."""
    observation, _, _, _, info = env.step(window)
    return Observation.of(observation), info


@dataclass
class Trace:
    """Per-step record of a closed-loop run."""

    windows: list[int] = field(default_factory=list)
    throughput_mbps: list[float] = field(default_factory=list)
    collision_probability: list[float] = field(default_factory=list)
    n_stations: list[int] = field(default_factory=list)
    probing: list[bool] = field(default_factory=list)
    station_successes: list[np.ndarray] = field(default_factory=list)

    def record(self, window: int, observation: Observation, info: dict, probing: bool) -> None:
        self.windows.append(window)
        self.collision_probability.append(observation.collision_probability)
        self.throughput_mbps.append(observation.throughput_mbps)
        self.n_stations.append(int(info["n_stations"]))
        self.probing.append(probing)
        if "station_successes" in info:
            self.station_successes.append(np.asarray(info["station_successes"]))

    def fairness(self) -> float:
        """Jain's index of the frames each station delivered over the whole run (1 = equal shares), over
        the stations present at some step; NaN where the backend does not report stations."""
        if not self.station_successes:
            return float("nan")
        counts = np.array(self.station_successes)
        present = (counts >= 0).any(axis=0)
        delivered = np.where(counts >= 0, counts, 0).sum(axis=0)[present].astype(float)
        return (
            float(delivered.sum() ** 2 / (len(delivered) * (delivered**2).sum())) if delivered.any() else float("nan")
        )


class Policy(Protocol):
    """A window policy: controls an env for ``n_steps`` steps from ``reset(seed)`` and records them."""

    def run(self, env: CsmaEnv, n_steps: int, seed: int = 0) -> Trace: ...


class IclController:
    """Probe, prompt, predict, hold; re-probe once the collision level has been outside its
    reference +- tolerance for ``patience`` consecutive steps (one odd measurement does not trigger it).

    The task says how probes become a prompt (``prompt_of``) and what a prediction means
    (``log2_window_of``): ``csma_window`` asks for the window reaching its query level p*, which is
    then the reference; ``csma_peak`` asks for the throughput peak, and the reference is the
    collision level first measured at the window chosen. The first prompt probes a grid over the
    task's window range; a re-probe uses ``n_local_probes`` windows around the current one (the model
    was trained on every prefix, so a shorter prompt is in distribution), which keeps the throughput
    cost of probing small.
    """

    def __init__(
        self,
        model: Learner,
        task: CsmaWindowTask | CsmaPeakTask,
        n_probes: int,
        tolerance: float = 0.06,
        patience: int = 2,
        n_local_probes: int = 5,
    ) -> None:
        if n_probes < 1:
            raise ValueError(f"n_probes must be positive, got {n_probes}")
        self.model = model
        self.task = task
        self.w_min, self.w_max = task.probe_range
        self.probe_windows = np.unique(np.geomspace(self.w_min, self.w_max, n_probes).round().astype(int)).tolist()
        self.query_collision = task.query_collision
        self.tolerance = tolerance
        self.patience = patience
        self.n_local_probes = n_local_probes

    def predict_window(self, probe_windows: list[int], observations: list[Observation]) -> int:
        """The window the model answers from the probes' observations."""
        xs, ys = self.task.prompt_of(probe_windows, observations)
        prediction = self.model.predict(xs, ys)[0, -1]
        return round(float(to_window(float(self.task.log2_window_of(prediction.double())))))

    def local_probes(self, window: int, collision: float, reference: float) -> list[int]:
        """Re-probe windows around the current one, on the side the drift points to.

        A collision level above the reference means more stations: the optimum moved to larger windows.
        """
        low, high = (1.0, 8.0) if collision > reference else (0.125, 1.0)
        grid = np.geomspace(window * low, window * high, self.n_local_probes)
        return np.unique(grid.clip(self.w_min, self.w_max).round().astype(int)).tolist()

    def run(self, env: CsmaEnv, n_steps: int, seed: int = 0) -> Trace:
        """Control ``env`` for ``n_steps`` steps (probes included)."""
        trace = Trace()
        env.reset(seed=seed)
        queue = list(self.probe_windows)
        probes: list[int] = []
        measured: list[Observation] = []
        window = self.probe_windows[0]
        reference = self.query_collision
        drifted = 0
        for _ in range(n_steps):
            probing = bool(queue)
            if probing:
                window = queue.pop(0)
            observation, info = hold(env, window)
            trace.record(window, observation, info, probing)
            if probing:
                probes.append(window)
                measured.append(observation)
                if not queue:
                    window = self.predict_window(probes, measured)
                    probes, measured = [], []
                    reference = self.query_collision
            else:
                collision = observation.collision_probability
                reference = collision if reference is None else reference
                drifted = drifted + 1 if abs(collision - reference) > self.tolerance else 0
                if drifted >= self.patience:
                    queue, drifted = self.local_probes(window, collision, reference), 0
        return trace


@dataclass(frozen=True)
class FixedWindow:
    """One window for the whole run (with a ``backoff="beb"`` env: 802.11 BEB from that CWmin)."""

    window: int

    def run(self, env: CsmaEnv, n_steps: int, seed: int = 0) -> Trace:
        return run_fixed(env, self.window, n_steps, seed)


@dataclass(frozen=True)
class Oracle:
    """The window ``window_for(N)`` for the true N of each step (read from the env's schedule): a
    reference that knows what no real policy knows."""

    window_for: Callable[[int], int]

    def run(self, env: CsmaEnv, n_steps: int, seed: int = 0) -> Trace:
        return run_fixed(env, [self.window_for(env.n_stations_at(step)) for step in range(n_steps)], n_steps, seed)


def run_fixed(env: CsmaEnv, window: int | list[int], n_steps: int, seed: int = 0) -> Trace:
    """A fixed window (or one per step); with a ``backoff="beb"`` env this is 802.11 BEB from CWmin."""
    trace = Trace()
    env.reset(seed=seed)
    for step in range(n_steps):
        w = window[step] if isinstance(window, list) else window
        observation, info = hold(env, w)
        trace.record(w, observation, info, probing=False)
    return trace

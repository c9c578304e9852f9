"""``CsmaEnv``: a gymnasium environment in which an agent sets the contention window of a network.

Each step applies the action (the window W used by every station, CWmin = CWmax = W, as in
CCOD/ns3-gym CW experiments; or binary exponential backoff when the env is built with
``backoff="beb"``), runs the network for ``interval_slots`` slots and returns the collision
statistics of that interval. Reward: throughput in Mb/s. The number of stations may follow a
schedule, so agents can be tested on changes of N. Backend ``embedded`` is ``sim.csma``.
"""

from __future__ import annotations

from typing import Any, Mapping

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from sim.csma import W_MAX, CsmaSimulator
from sim.timing import OFDM_54, Timing

BACKENDS = ("embedded",)
BACKOFFS = ("fixed", "beb")


class CsmaEnv(gym.Env):
    """Saturated 802.11 network with a hidden number of stations; the action is the window W.

    Observation: [collision probability, attempts per slot, throughput in Mb/s] of the last
    interval. ``n_schedule`` maps step index -> number of stations from that step on. With
``observation_error`` = eps, each reported collision probability is, with probability eps, a
wrong measurement (uniform in [0, 0.9]); throughput (the reward) is always the true one.
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        n_stations: int = 10,
        *,
        n_schedule: Mapping[int, int] | None = None,
        max_stations: int = 64,
        interval_slots: int = 5000,
        backoff: str = "fixed",
        cw_max_beb: int = 1024,
        timing: Timing = OFDM_54,
        backend: str = "embedded",
        max_steps: int | None = None,
        observation_error: float = 0.0,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown CsmaEnv backend {backend!r}; allowed: {', '.join(BACKENDS)}")
        if backoff not in BACKOFFS:
            raise ValueError(f"backoff must be one of {', '.join(BACKOFFS)}, got {backoff!r}")
        schedule = {0: n_stations, **dict(n_schedule or {})}
        for step, n in schedule.items():
            if not 1 <= n <= max_stations:
                raise ValueError(f"number of stations N must be in [1, {max_stations}], got {n} (at step {step})")
        if not 0.0 <= observation_error <= 1.0:
            raise ValueError(f"observation_error (eps) must be in [0, 1], got {observation_error}")
        if interval_slots < 1:
            raise ValueError(f"interval_slots must be positive, got {interval_slots}")
        self.schedule = dict(sorted(schedule.items()))
        self.max_stations = max_stations
        self.interval_slots = interval_slots
        self.backoff = backoff
        self.cw_max_beb = cw_max_beb
        self.timing = timing
        self.max_steps = max_steps
        self.observation_error = observation_error
        self.action_space = spaces.Box(low=1.0, high=float(W_MAX), shape=(1,), dtype=np.float64)
        self.observation_space = spaces.Box(
            low=np.zeros(3), high=np.array([1.0, float(max_stations), 1e4]), dtype=np.float64
        )
        self._simulator: CsmaSimulator | None = None
        self._closed = False
        self._step = 0

    def n_stations_at(self, step: int) -> int:
        """The number of stations in force at ``step`` under the schedule."""
        return [n for start, n in self.schedule.items() if start <= step][-1]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        if self._closed:
            raise RuntimeError("CsmaEnv.reset() after close(); create a new environment")
        super().reset(seed=seed)
        self._step = 0
        sim_seed = int(self.np_random.integers(2**63 - 1))
        self._simulator = CsmaSimulator(
            self.n_stations_at(0), 16, max_stations=self.max_stations, timing=self.timing, seed=sim_seed
        )
        return np.zeros(3), {"n_stations": self.n_stations_at(0)}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        if self._closed:
            raise RuntimeError("CsmaEnv.step() after close(); create a new environment")
        if self._simulator is None:
            raise RuntimeError("CsmaEnv.step() before reset(); call reset(seed=...) first")
        window = float(np.asarray(action, dtype=float).reshape(-1)[0])
        if not 1 <= window <= W_MAX or not np.isfinite(window):
            raise ValueError(f"action (contention window W) must be in [1, {W_MAX}], got {window}")
        window_int = int(round(window))
        if self.backoff == "fixed":
            self._simulator.set_window(window_int)
        else:
            self._simulator.set_window(window_int, max(window_int, self.cw_max_beb))
        n = self.n_stations_at(self._step)
        if n != int(self._simulator.n_stations[0]):
            self._simulator.set_stations(n)
        stats = self._simulator.run(self.interval_slots)
        self._step += 1
        p = float(np.nan_to_num(stats.collision_probability[0]))
        erroneous = bool(self.np_random.random() < self.observation_error)
        if erroneous:
            p = float(self.np_random.uniform(0.0, 0.9))
        throughput = float(stats.throughput_mbps[0])
        observation = np.array([p, stats.attempts[0] / stats.slots[0], throughput])
        truncated = self.max_steps is not None and self._step >= self.max_steps
        info = {"n_stations": n, "window": window_int, "airtime_us": float(stats.airtime_us[0]), "erroneous": erroneous}
        return observation, throughput, False, truncated, info

    def close(self) -> None:
        self._simulator = None
        self._closed = True

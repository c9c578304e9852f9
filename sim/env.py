"""``CsmaEnv``: a gymnasium environment in which an agent sets the contention window of a network.

Each step applies the action (the window W used by every station, CWmin = CWmax = W, as in
CCOD/ns3-gym CW experiments; or binary exponential backoff when the env is built with
``backoff="beb"``), runs the network for one interval and returns the collision statistics of that
interval. Reward: throughput in Mb/s. The number of stations may follow a schedule, so agents can
be tested on changes of N. Backends: ``embedded`` (``sim.csma``; an interval is ``interval_slots``
virtual slots) and ``ns3`` (our 802.11a scenario on the system's ns-3, ``sim.ns3``; an interval is
``step_time_s`` seconds of simulated time).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from sim import worlds
from sim.csma import CsmaSimulator
from sim.timing import INTERVAL_SLOTS, LOG2_W_MAX, OFDM_54, W_MAX, Timing, to_window
from sim.worlds import World

BACKOFFS = ("fixed", "beb")
ACTIONS = ("window", "log2_window", "signed_log2_window", "discrete")
"""How an action names the window: W itself, log2(W) / 16 in [0, 1], log2(W) / 8 - 1 in [-1, 1] (the
range RL libraries expect: its middle is W = 256), or an index into ``windows``."""
OBSERVATIONS = ("raw", "scaled")
"""Observation units: ``raw`` (float64: collision probability, Mb/s, idle slots) or ``scaled`` (float32,
about unit range: the same collision probability, throughput / the fastest data rate of the network,
log2(1 + idle slots) / 16, attempts per slot unchanged)."""
REWARDS = ("mbps", "scaled")
"""Reward units: throughput in Mb/s, or throughput / the fastest data rate of the network (about [0, 1])."""
RENDER_MODES = ("ansi",)
"""``render()`` with ``render_mode="ansi"``: one line of text for the last step."""
DISCRETE_WINDOWS = (16, 32, 64, 128, 256, 512, 1024)
"""The windows of the discrete action space by default (CCOD's)."""
MAX_STATIONS = 2007
"""The most stations a network may have: 802.11 association IDs run from 1 to 2007 (IEEE 802.11-2020,
9.4.1.8), so an access point associates at most 2007 stations (ns-3's ApWifiMac stops at the 2008th).
The embedded simulator's sensing graph takes max_stations^2 bytes per network: 4 MB at this bound."""


def _require_count(name: str, value: Any) -> None:
    """Raise unless ``value`` is an integer >= 1 (a bool or 2.9 is not a number of stations or steps)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")


def _number(action: Any, what: str) -> float:
    """The one number of an action: a number, or an array holding one number."""
    array = np.asarray(action)
    if array.dtype.kind not in "iuf" or array.size != 1:
        raise ValueError(f"the action is {what}: one number or an array of shape (1,), got {action!r}")
    return float(array.reshape(-1)[0])


def _window(action: Any, mode: str, windows: tuple[int, ...]) -> float:
    """The window W an action stands for, in the env's action mode (``ACTIONS``)."""
    if mode == "discrete":
        index = _number(action, "an index into the windows")
        if not index.is_integer() or not 0 <= index < len(windows):
            raise ValueError(f"action (window index) must be an integer in [0, {len(windows) - 1}], got {index}")
        return float(windows[int(index)])
    if mode == "log2_window":
        scaled = _number(action, "log2(W) / 16")
        if not np.isfinite(scaled) or not 0 <= scaled <= 1:
            raise ValueError(f"action (log2(W) / 16) must be in [0, 1], got {scaled}")
        return float(to_window(LOG2_W_MAX * scaled))
    if mode == "signed_log2_window":
        signed = _number(action, "log2(W) / 8 - 1")
        if not np.isfinite(signed) or not -1 <= signed <= 1:
            raise ValueError(f"action (log2(W) / 8 - 1) must be in [-1, 1], got {signed}")
        return float(to_window(LOG2_W_MAX * (signed + 1) / 2))
    window = _number(action, "the contention window W")
    if not np.isfinite(window) or not 1 <= window <= W_MAX:
        raise ValueError(f"action (contention window W) must be in [1, {W_MAX}], got {window}")
    return window


def _action_space(mode: str, windows: tuple[int, ...]) -> spaces.Space:
    if mode == "discrete":
        return spaces.Discrete(len(windows))
    if mode == "log2_window":
        return spaces.Box(low=0.0, high=1.0, shape=(1,), dtype=np.float32)
    if mode == "signed_log2_window":
        return spaces.Box(low=-1.0, high=1.0, shape=(1,), dtype=np.float32)
    return spaces.Box(low=1.0, high=float(W_MAX), shape=(1,), dtype=np.float64)


@dataclass(frozen=True)
class Interval:
    """What a backend measured over one interval."""

    collision_probability: float
    throughput_mbps: float
    idle_slots_per_transmission: float
    attempts_per_slot: float
    airtime_us: float
    station_successes: np.ndarray | None = None
    """Frames each station delivered (-1: not present), where the backend can tell."""


class Observation(NamedTuple):
    """``CsmaEnv``'s observation by name: the gymnasium array (what RL libraries take) read as fields,
    so that no caller counts indices. ``Observation.of(array)`` reads one; ``np.array(obs)`` writes it."""

    collision_probability: float
    """Failed / transmitted frames over the interval (a wrong reading with probability eps)."""
    throughput_mbps: float
    idle_slots_per_transmission: float
    """Mean idle slots between two transmissions (what Idle Sense steers)."""
    attempts_per_slot: float = float("nan")
    """N tau, attempts per (Bianchi virtual) slot: only with ``oracle_observations`` (it gives N away)."""

    @classmethod
    def of(cls, array: Sequence[float] | np.ndarray) -> Observation:
        """The observation an env returned, by name."""
        if len(array) not in (3, 4):
            raise ValueError(f"a CsmaEnv observation has 3 entries (4 with oracle_observations), got {len(array)}")
        return cls(*(float(value) for value in array))

    def scaled(self, peak_rate_mbps: float) -> Observation:
        """This observation in ``observation="scaled"`` units (``OBSERVATIONS``): about unit range, as RL
        libraries expect; ``peak_rate_mbps`` is the fastest data rate of the network."""
        return Observation(
            self.collision_probability,
            self.throughput_mbps / peak_rate_mbps,
            float(np.log2(1.0 + self.idle_slots_per_transmission) / LOG2_W_MAX),
            self.attempts_per_slot,
        )


@dataclass(frozen=True)
class Network:
    """What every backend simulates: the stations' schedule (step -> N from that step on), the most
    stations there will be, the PHY/MAC timing, BEB's largest window (None: fixed windows), the
    episode length (None: unbounded) and the world (``sim.worlds``)."""

    schedule: Mapping[int, int]
    max_stations: int
    timing: Timing
    cw_max_beb: int | None
    max_steps: int | None
    world: World = World()


@dataclass(frozen=True)
class Embedded:
    """The embedded simulator (``sim.csma``): one step is ``interval_slots`` virtual slots."""

    interval_slots: int = INTERVAL_SLOTS

    def __post_init__(self) -> None:
        _require_count("interval_slots", self.interval_slots)

    def open(self, network: Network) -> _EmbeddedRun:
        network.world.require_slot_model()
        return _EmbeddedRun(self, network)


@dataclass(frozen=True)
class Ns3:
    """Our scenario on the system's ns-3 (``sim.ns3``; 802.11a, or 802.11ax where the world says), one
    simulation per episode: one step is ``step_time_s`` simulated seconds; the log goes to ``run_dir``
    (without one, to a temporary file that leaves nothing behind); every wait is bounded by ``timeout_s``."""

    step_time_s: float = 0.1
    run_dir: str | None = None
    timeout_s: float = 120.0

    def __post_init__(self) -> None:
        if not self.step_time_s > 0:
            raise ValueError(f"step_time_s must be positive, got {self.step_time_s}")

    def open(self, network: Network) -> _Ns3Run:
        return _Ns3Run(self, network)


class _EmbeddedRun:
    """The embedded simulator of one env."""

    def __init__(self, options: Embedded, network: Network) -> None:
        self.options, self.network = options, network
        self.simulator: CsmaSimulator | None = None
        self.settings = (0, 0)

    def start(self, seed: int) -> None:
        network = self.network
        self.settings = (0, network.schedule[0])  # the first step sets the window
        self.simulator = CsmaSimulator(
            network.schedule[0],
            16,
            max_stations=network.max_stations,
            timing=network.timing,
            seed=seed,
            world=network.world,
        )

    def run(self, window: int, n_stations: int) -> Interval:
        """One interval; the window and N are set only when they change (a step costs its slots)."""
        simulator = self.simulator
        if simulator is None:
            raise RuntimeError("the embedded simulator runs after start(seed)")
        if window != self.settings[0]:
            beb = self.network.cw_max_beb
            simulator.set_window(window, None if beb is None else max(window, beb))
        if n_stations != self.settings[1]:
            simulator.set_stations(n_stations)
        self.settings = (window, n_stations)
        stats = simulator.run(self.options.interval_slots)
        attempts, idle, busy = (
            int(stats.attempts[0]),
            int(stats.idle_slots[0]),
            int(stats.slots[0] - stats.idle_slots[0]),
        )
        return Interval(
            stats.collisions[0] / attempts if attempts else 0.0,
            float(stats.throughput_mbps[0]),
            idle / busy if busy else float(stats.slots[0]),
            float(stats.attempts[0] / stats.slots[0]),
            float(stats.airtime_us[0]),
            stats.station_successes[0],
        )

    def close(self) -> None:
        self.simulator = None


class _Ns3Run:
    """One ns-3 simulation per episode of one env; the world's stations are drawn from the episode's seed."""

    def __init__(self, options: Ns3, network: Network) -> None:
        from sim.ns3 import Ns3Env
        from sim.ns3.scenario import network_args, ns3_world_args

        sim_args = network_args(
            network.schedule, network.timing, options.step_time_s, network.max_steps, network.cw_max_beb
        )
        self.network, self.step_time_s = network, options.step_time_s
        ns3_world_args(network.world, network.timing, sim_args["maxStations"], np.random.default_rng(0))  # checks it
        self.ns3 = Ns3Env(sim_args=sim_args, run_dir=options.run_dir, timeout_s=options.timeout_s)
        self.base_args = dict(self.ns3.sim_args)

    def start(self, seed: int) -> None:
        from sim.ns3.scenario import ns3_world_args

        network = self.network
        world_args = ns3_world_args(
            network.world, network.timing, self.base_args["maxStations"], np.random.default_rng(seed)
        )
        self.ns3.sim_args = {**self.base_args, **world_args}
        self.ns3.reset(seed=seed)

    def run(self, window: int, n_stations: int) -> Interval:
        observation, _, _, _, info = self.ns3.step(np.array([window], dtype=float))
        if info.get("n_stations") != n_stations:
            raise RuntimeError(f"ns-3 ran {info.get('n_stations')} stations where the schedule says {n_stations}")
        from sim.ns3.scenario import ScenarioObservation

        seen = ScenarioObservation.of(observation)
        acked = [int(frames) for frames in str(info.get("acked", "")).split("/") if frames]
        station_successes = np.full(self.base_args["maxStations"], -1, dtype=np.int64)
        station_successes[: len(acked)] = acked
        busy = seen.busy_periods
        return Interval(
            seen.collision_probability,
            seen.throughput_mbps,
            (seen.virtual_slots - busy) / busy if busy > 0 else seen.virtual_slots,
            seen.transmitted / max(seen.virtual_slots, 1.0),
            self.step_time_s * 1e6,
            station_successes,
        )

    def close(self) -> None:
        self.ns3.close()


def ansi_frame(step: int, n_stations: int, window: int, measured: Observation) -> str:
    """One line of text for a step (``render_mode="ansi"``): N, the window and what was measured."""
    return (
        f"step {step}: N={n_stations} W={window} p={measured.collision_probability:.3f} "
        f"throughput={measured.throughput_mbps:.2f} Mb/s "
        f"idle slots/transmission={measured.idle_slots_per_transmission:.2f}\n"
    )


SIMULATORS = {"embedded": Embedded, "ns3": Ns3}
"""The simulator backends by name; a name stands for the backend with its default options."""


class CsmaEnv(gym.Env):
    """An 802.11 network with a hidden number of stations N; the agent sets the contention window.

    ## Action space
    The window W, applied to every station for the next interval (CWmin = CWmax = W; with
    ``backoff="beb"`` binary exponential backoff from W up to ``cw_max_beb``), as ``action`` says:
    ``"window"``: ``Box(1, 65536, (1,), float64)``, W itself; ``"log2_window"``:
    ``Box(0, 1, (1,), float32)``, log2(W) / 16; ``"signed_log2_window"``: ``Box(-1, 1, (1,), float32)``,
    log2(W) / 8 - 1 (the range RL libraries expect; the registered ids' default; 0 is W = 256);
    ``"discrete"``: ``Discrete(len(windows))``, an index into ``windows`` (CCOD's 16..1024 by
    default). A plain number, or any array holding one number, is accepted.

    ## Observation space
    With ``observation="raw"`` (the default), ``Box(low=0, high=[1, 1e4, 1e9], (3,), float64)``, over the
    last interval, what a station or the AP can measure:

    | index | observation | unit |
    |-------|-------------|------|
    | 0 | collision probability (failed / transmitted frames) | - |
    | 1 | throughput | Mb/s |
    | 2 | mean idle slots between two transmissions (what Idle Sense steers) | slots |

    With ``oracle_observations=True`` a fourth entry, attempts per (Bianchi virtual) slot, is added:
    it is N tau, so it reveals N to within one step; no policy that claims not to know N may use it.
    With ``observation_error`` = eps, each reported collision probability is, with probability eps,
    a wrong measurement (uniform in [0, 0.9]); throughput (the reward) is always the true one.
    With ``observation="scaled"`` (the registered ids' default) the same entries in float32 on about unit
    range (``Observation.scaled``): throughput divided by the fastest data rate of the network (its
    ``peak_rate_mbps``) and log2(1 + idle slots) / 16; ``info["raw_observation"]`` always holds the raw one.

    ## Reward
    The interval's throughput: in Mb/s (``reward="mbps"``, the default) or divided by ``peak_rate_mbps``
    (``reward="scaled"``, the registered ids' default).

    ## Info
    ``n_stations``, ``window``, ``airtime_us``, ``erroneous`` (the collision reading was replaced),
    ``raw_observation`` (the observation in raw units, whatever ``observation`` says) and
    ``station_successes`` (frames each station delivered; -1: absent).

    ## Episode end
    Truncated after ``max_steps`` steps when it is set; never terminated otherwise. The registered ids
    truncate after ``sim.gym_envs.EPISODE_STEPS`` steps (gymnasium's ``TimeLimit``).

    ## Rendering
    ``render_mode="ansi"``: ``render()`` returns one line of text for the last step (N, W, what was
    measured); None (the default): it returns None.

    ## Arguments
    The network: ``n_stations`` (N at step 0), ``n_schedule`` (step -> N from that step on),
    ``max_stations`` (at most ``MAX_STATIONS``, 2007: 802.11's association IDs), ``backoff`` ("fixed"
    or "beb"), ``cw_max_beb``, ``timing`` (802.11 PHY/MAC timing), ``max_steps``,
    ``observation_error``, ``oracle_observations``, ``world`` (a
    ``sim.worlds.World`` or the name of one: traffic, hidden stations, losses, mixed rates, legacy
    stations; churn is a schedule, ``sim.worlds.churn``). How it is simulated: ``backend``, an
    ``Embedded(interval_slots)`` (``sim.csma``; one step is that many virtual slots) or an
    ``Ns3(step_time_s, run_dir, timeout_s)`` (our scenario on the system's ns-3), or the name of one
    ("embedded", "ns3") for its defaults. Units: ``action``, ``observation``, ``reward`` (above).

    ## Registration
    ``gymnasium.make("sim.gym_envs:icl_testbed/Csma-v0", ...)`` (the module registers the ids when
    gymnasium imports it; ``icl_testbed/CsmaNs3-v0`` runs ns-3): scaled units and a time limit by default.

    ## Example
    >>> env = CsmaEnv(20, n_schedule={50: 40}, backend=Embedded(interval_slots=5000))
    >>> observation, info = env.reset(seed=0)
    >>> observation, reward, terminated, truncated, info = env.step([128])
    """

    metadata = {"render_modes": list(RENDER_MODES), "render_fps": 4}
    """``render_fps``: how fast a viewer would show the frames; the simulation is not real time."""

    def __init__(
        self,
        n_stations: int = 10,
        *,
        n_schedule: Mapping[int, int] | None = None,
        max_stations: int = 64,
        backoff: str = "fixed",
        cw_max_beb: int = 1024,
        timing: Timing = OFDM_54,
        max_steps: int | None = None,
        observation_error: float = 0.0,
        oracle_observations: bool = False,
        backend: Embedded | Ns3 | str = "embedded",
        world: World | str = "bianchi",
        action: str = "window",
        windows: Sequence[int] = DISCRETE_WINDOWS,
        observation: str = "raw",
        reward: str = "mbps",
        render_mode: str | None = None,
    ) -> None:
        if action not in ACTIONS:
            raise ValueError(f"action {action!r} is not allowed; choose one of: {', '.join(ACTIONS)}")
        if observation not in OBSERVATIONS:
            raise ValueError(f"observation {observation!r} is not allowed; choose one of: {', '.join(OBSERVATIONS)}")
        if reward not in REWARDS:
            raise ValueError(f"reward {reward!r} is not allowed; choose one of: {', '.join(REWARDS)}")
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise ValueError(
                f"render_mode {render_mode!r} is not allowed; choose None or one of: {', '.join(RENDER_MODES)}"
            )
        if not windows or any(not 1 <= int(w) <= W_MAX for w in windows):
            raise ValueError(f"windows must be a non-empty list of windows in [1, {W_MAX}], got {list(windows)}")
        if isinstance(backend, str):
            if backend not in SIMULATORS:
                raise ValueError(f"unknown CsmaEnv backend {backend!r}; allowed: {', '.join(SIMULATORS)}")
            backend = SIMULATORS[backend]()
        if not isinstance(backend, (Embedded, Ns3)):
            raise ValueError(
                f"backend must be Embedded(...), Ns3(...) or one of {', '.join(SIMULATORS)}; got {backend!r}"
            )
        _require_count("n_stations", n_stations)
        _require_count("max_stations", max_stations)
        if max_stations > MAX_STATIONS:
            raise ValueError(
                f"max_stations must be in [1, {MAX_STATIONS}] (802.11 association IDs end at {MAX_STATIONS}), "
                f"got {max_stations}"
            )
        if max_steps is not None:
            _require_count("max_steps", max_steps)
        if backoff not in BACKOFFS:
            raise ValueError(f"backoff must be one of {', '.join(BACKOFFS)}, got {backoff!r}")
        schedule = {0: n_stations, **dict(n_schedule or {})}
        for step, n in schedule.items():
            _require_count(f"n_schedule[{step!r}]", n)
            if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
                raise ValueError(f"n_schedule keys are step indices (integers >= 0), got {step!r}")
            if not 1 <= n <= max_stations:
                raise ValueError(f"number of stations N must be in [1, {max_stations}], got {n} (at step {step})")
        if not 0.0 <= observation_error <= 1.0:
            raise ValueError(f"observation_error (eps) must be in [0, 1], got {observation_error}")
        self.schedule = dict(sorted(schedule.items()))
        self.max_stations = max_stations
        self.backoff = backoff
        self.cw_max_beb = cw_max_beb
        self.timing = timing
        self.max_steps = max_steps
        self.observation_error = observation_error
        self.action, self.windows = action, tuple(int(w) for w in windows)
        self.action_space = _action_space(action, self.windows)
        self.observation, self.reward, self.render_mode = observation, reward, render_mode
        self.oracle_observations = bool(oracle_observations)
        self.world = worlds.world(world)
        self.peak_rate_mbps = max((timing.data_rate_mbps, *self.world.rates_mbps))
        """The fastest data rate of the network: the scale of throughput in scaled units."""
        self._n_observed = 4 if self.oracle_observations else 3
        high = Observation(
            collision_probability=1.0,
            throughput_mbps=1e4,
            idle_slots_per_transmission=1e9,
            attempts_per_slot=float(max_stations),
        )
        if observation == "scaled":
            high = high.scaled(self.peak_rate_mbps)
        self._dtype: np.dtype[np.floating[Any]] = np.dtype(np.float32 if observation == "scaled" else np.float64)
        high_array = np.array(high[: self._n_observed], dtype=self._dtype)
        self.observation_space = spaces.Box(low=np.zeros_like(high_array), high=high_array, dtype=self._dtype)
        beb_max = cw_max_beb if backoff == "beb" else None
        self.backend = backend
        network = Network(self.schedule, max_stations, timing, beb_max, max_steps, self.world)
        self._backend = backend.open(network)
        self._started = False
        self._closed = False
        self._step = 0
        self._last: tuple[int, int, Observation] | None = None

    def n_stations_at(self, step: int) -> int:
        """The number of stations in force at ``step`` under the schedule."""
        return [n for start, n in self.schedule.items() if start <= step][-1]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        if self._closed:
            raise RuntimeError("CsmaEnv.reset() after close(); create a new environment")
        super().reset(seed=seed)
        self._step = 0
        self._backend.start(int(self.np_random.integers(2**31 - 1)))
        self._started = True
        self._last = None
        info = {"n_stations": self.n_stations_at(0), "raw_observation": np.zeros(self._n_observed)}
        return np.zeros(self._n_observed, dtype=self._dtype), info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        if self._closed:
            raise RuntimeError("CsmaEnv.step() after close(); create a new environment")
        if not self._started:
            raise RuntimeError("CsmaEnv.step() before reset(); call reset(seed=...) first")
        window = _window(action, self.action, self.windows)
        window_int = int(round(window))
        n = self.n_stations_at(self._step)
        interval = self._backend.run(window_int, n)
        self._step += 1
        p = interval.collision_probability
        erroneous = bool(self.np_random.random() < self.observation_error)
        if erroneous:
            p = float(self.np_random.uniform(0.0, 0.9))
        measured = Observation(
            p, interval.throughput_mbps, interval.idle_slots_per_transmission, interval.attempts_per_slot
        )
        raw = np.array(measured[: self._n_observed])
        if self.observation == "scaled":
            observation = np.array(measured.scaled(self.peak_rate_mbps)[: self._n_observed], dtype=np.float32)
        else:
            observation = raw.copy()
        reward = interval.throughput_mbps
        if self.reward == "scaled":
            reward /= self.peak_rate_mbps
        truncated = self.max_steps is not None and self._step >= self.max_steps
        if truncated:
            self._started = False
        self._last = (n, window_int, measured)
        info = {
            "n_stations": n,
            "window": window_int,
            "airtime_us": interval.airtime_us,
            "erroneous": erroneous,
            "raw_observation": raw,
        }
        if interval.station_successes is not None:
            info["station_successes"] = interval.station_successes
        return observation, reward, False, truncated, info

    def render(self) -> str | None:
        """The last step as one line of text (``render_mode="ansi"``); None without a render mode."""
        if self.render_mode is None:
            return None
        if self._last is None:
            return f"step {self._step}: N={self.n_stations_at(self._step)}, no interval run yet\n"
        return ansi_frame(self._step, *self._last)

    def close(self) -> None:
        self._backend.close()
        self._closed = True

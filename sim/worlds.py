"""CSMA worlds: the ways a network departs from Bianchi's (saturated, identical stations in one
collision domain, no channel errors, every station obeying the chosen window).

A ``World`` is a set of options; ``WORLDS`` names the scenarios the experiments use, and
``world(name, **options)`` builds one with options changed. ``World.layout`` turns a world into the
per-station parameters of ``sim.engine`` for a batch of networks: each station's frame airtime and
exchange, its frame error rate, traffic and window policy, and who hears whom.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from sim import engine
from sim.timing import Timing

TRAFFIC = ("saturated", "poisson", "onoff")
STANDARDS = ("80211a", "80211ax")
"""802.11a (every simulator) and 802.11ax (ns-3 only: HE-MCS 7 at 20 MHz, A-MPDU aggregation)."""
LEGACY_WINDOWS = (16, 1024)
"""The BEB range legacy stations keep whatever window the others are given."""


@dataclass(frozen=True)
class World:
    """One network scenario; the defaults are Bianchi's world.

    ``traffic``: saturated stations, Poisson arrivals, or Poisson arrivals during exponential on
    periods (mean ``on_ms``, off ``off_ms``). ``load``: the offered load of all active stations
    together, as a fraction of the channel's collision-free capacity (payload bits per T_s), shared
    equally (unsaturated traffic only). ``sensing_range``: stations sit uniformly in a disc of radius
    ``radius`` around the AP (whose range is 1) and hear each other within this distance; None: all
    hear all. ``rts_cts``: RTS/CTS before every frame. ``frame_error_rate``: every link's (a float),
    or each station's drawn uniformly in a (low, high) range. ``rates_mbps`` / ``payloads``: each
    station's data rate and frame size drawn from these (empty: the timing's). ``legacy_share``: the
    share of stations that keep BEB 16..1024 whatever window is set. ``queue_limit``: frames a
    station can hold (unsaturated). ``standard``: 802.11a, or 802.11ax with ``ampdu_bytes`` the largest
    A-MPDU (0: one MPDU per frame; saturated traffic, one rate for all), which only ns-3 runs."""

    traffic: str = "saturated"
    load: float = 1.0
    on_ms: float = 20.0
    off_ms: float = 20.0
    sensing_range: float | None = None
    radius: float = 1.0
    rts_cts: bool = False
    frame_error_rate: float | tuple[float, float] = 0.0
    rates_mbps: tuple[float, ...] = ()
    payloads: tuple[int, ...] = ()
    legacy_share: float = 0.0
    queue_limit: int = 100
    standard: str = "80211a"
    ampdu_bytes: int = 0

    def __post_init__(self) -> None:
        if self.traffic not in TRAFFIC:
            raise ValueError(f"world traffic {self.traffic!r} is not allowed; choose one of: {', '.join(TRAFFIC)}")
        for name in ("load", "legacy_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"world {name} must be in [0, 1], got {getattr(self, name)}")
        if self.traffic != "saturated" and self.load == 0:
            raise ValueError("world load must be positive for unsaturated traffic, got 0")
        for name in ("on_ms", "off_ms"):
            if not getattr(self, name) > 0:
                raise ValueError(f"world {name} must be positive, got {getattr(self, name)}")
        if not 0.0 < self.radius <= 1.0:
            raise ValueError(
                f"world radius {self.radius} puts stations outside the AP's range 1; give a radius in (0, 1]"
            )
        if self.sensing_range is not None and not self.sensing_range > 0:
            raise ValueError(f"world sensing_range must be positive (or None: all hear all), got {self.sensing_range}")
        low, high = self.error_range
        if not 0.0 <= low <= high < 1.0:
            raise ValueError(
                f"world frame_error_rate must be in [0, 1) (a range: low <= high), got {self.frame_error_rate}"
            )
        if any(not rate > 0 for rate in self.rates_mbps) or any(int(b) < 1 for b in self.payloads):
            raise ValueError(f"world rates_mbps and payloads must be positive, got {self.rates_mbps}, {self.payloads}")
        if self.queue_limit < 1:
            raise ValueError(f"world queue_limit must be >= 1, got {self.queue_limit}")
        self._check_standard()

    def _check_standard(self) -> None:
        if self.standard not in STANDARDS:
            raise ValueError(f"world standard {self.standard!r} is not allowed; choose one of: {', '.join(STANDARDS)}")
        if self.ampdu_bytes < 0 or (self.ampdu_bytes > 0 and self.standard == "80211a"):
            raise ValueError(f"world ampdu_bytes must be 0, or positive with standard 80211ax; got {self.ampdu_bytes}")
        if self.standard == "80211a":
            return
        departures = {
            "traffic": self.traffic != "saturated",
            "rates_mbps": bool(self.rates_mbps),
            "rts_cts": self.rts_cts and self.ampdu_bytes > 0,
        }
        unsupported = [name for name, departs in departures.items() if departs]
        if unsupported:
            raise ValueError(
                f"world standard 80211ax runs saturated stations at one rate (and no RTS/CTS with A-MPDUs); "
                f"drop option {unsupported[0]!r}"
            )

    @property
    def error_range(self) -> tuple[float, float]:
        rate = self.frame_error_rate
        return (float(rate), float(rate)) if isinstance(rate, (int, float)) else (float(rate[0]), float(rate[1]))

    @property
    def one_collision_domain(self) -> bool:
        """Saturated stations that all hear each other: the slotted fast path of ``sim.engine`` runs it."""
        return self.traffic == "saturated" and self.sensing_range is None

    @property
    def ns3_only(self) -> bool:
        """802.11ax and A-MPDUs: the slot models (``sim.engine``, ``sim.stepped``) simulate 802.11a frames."""
        return self.standard != "80211a"

    def require_slot_model(self) -> None:
        """Refuse, naming the way out, a world the slot models cannot run."""
        if self.ns3_only:
            raise ValueError(
                f"world standard {self.standard} (A-MPDU aggregation) runs on the ns3 backend only; the embedded "
                "simulators model 802.11a frames of one MPDU"
            )

    @property
    def is_bianchi(self) -> bool:
        """Whether this is Bianchi's world, which the numpy reference simulator also runs."""
        return self == World()

    def stations(self, n_configs: int, max_stations: int, timing: Timing, rng: np.random.Generator) -> Stations:
        """The stations of ``n_configs`` networks of ``max_stations``: rates, payloads, error rates and
        positions drawn from ``rng``, legacy ones by share (every ``1 / legacy_share``-th)."""
        shape = (n_configs, max_stations)
        rates = rng.choice(self.rates_mbps, shape) if self.rates_mbps else np.full(shape, timing.data_rate_mbps)
        payloads = rng.choice(self.payloads, shape) if self.payloads else np.full(shape, timing.payload_bytes)
        index = np.arange(max_stations)
        legacy = np.floor((index + 1) * self.legacy_share) > np.floor(index * self.legacy_share)
        error_rates = rng.uniform(*self.error_range, shape)
        xy = None
        if self.sensing_range is not None:
            radius = self.radius * np.sqrt(rng.uniform(size=shape))
            angle = rng.uniform(0, 2 * math.pi, shape)
            xy = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=-1)
        return Stations(rates.astype(float), payloads.astype(int), error_rates, legacy, xy)

    def layout(self, n_configs: int, max_stations: int, timing: Timing, rng: np.random.Generator) -> Layout:
        """Per-station engine parameters of ``n_configs`` networks of ``max_stations`` stations (drawn by
        ``stations``)."""
        self.require_slot_model()
        drawn = self.stations(n_configs, max_stations, timing, rng)
        shape = (n_configs, max_stations)
        ipar = np.zeros((*shape, engine.N_IPAR), dtype=np.int64)
        for (rate, payload), where in _groups(drawn.rates_mbps, drawn.payload_bytes):
            station = replace(timing, data_rate_mbps=float(rate), payload_bytes=int(payload))
            vulnerable, tail = exchange_us(station, self.rts_cts)
            ipar[where, engine.DATA_NS] = round(1000 * vulnerable)
            ipar[where, engine.TAIL_NS] = round(1000 * tail)
            ipar[where, engine.PAYLOAD_BITS] = station.payload_bits
        ipar[:, drawn.legacy, engine.CW_MIN], ipar[:, drawn.legacy, engine.CW_MAX] = LEGACY_WINDOWS
        fpar = np.zeros((*shape, engine.N_FPAR))
        fpar[..., engine.FER] = drawn.frame_error_rates
        fpar[..., engine.RATE] = engine.SATURATED
        fpar[..., engine.ON_MEAN] = 1e6 * self.on_ms
        fpar[..., engine.OFF_MEAN] = 1e6 * self.off_ms
        return Layout(ipar, fpar, self.sensing_graph(drawn), ~drawn.legacy)

    def sensing_graph(self, drawn: Stations) -> np.ndarray:
        """hears[c, k, j]: whether station k senses station j's frames."""
        if drawn.xy is None:
            n_configs, max_stations = drawn.rates_mbps.shape
            return np.ones((n_configs, max_stations, max_stations), dtype=bool)
        distance = np.linalg.norm(drawn.xy[:, :, None, :] - drawn.xy[:, None, :, :], axis=-1)
        return distance <= self.sensing_range

    def arrival_rate_per_ns(self, timing: Timing, n_active: np.ndarray) -> np.ndarray:
        """Each active station's frame arrival rate (per ns, while on) giving the world's total load."""
        capacity = 1.0 / (1000 * timing.success_us)  # frames per ns without collisions or backoff
        duty = 1.0 if self.traffic != "onoff" else self.on_ms / (self.on_ms + self.off_ms)
        return self.load * capacity / (np.maximum(n_active, 1) * duty)


@dataclass(frozen=True)
class Stations:
    """The drawn stations of a batch of networks: [configs, stations] rates (Mb/s), payloads (bytes)
    and frame error rates, the legacy ones [stations], positions [configs, stations, 2] in units of
    the AP's range (None: no geometry, all hear all)."""

    rates_mbps: np.ndarray
    payload_bytes: np.ndarray
    frame_error_rates: np.ndarray
    legacy: np.ndarray
    xy: np.ndarray | None


@dataclass(frozen=True)
class Layout:
    """Per-station engine parameters of a batch of networks, and which stations follow set windows."""

    ipar: np.ndarray
    fpar: np.ndarray
    hears: np.ndarray
    adjustable: np.ndarray


def exchange_us(timing: Timing, rts_cts: bool) -> tuple[float, float]:
    """(vulnerable phase, rest of a successful exchange) in microseconds: the data frame, then SIFS,
    ACK and DIFS (Bianchi's T_s = DATA + SIFS + delta + ACK + DIFS + delta); with RTS/CTS the RTS,
    then CTS, data and ACK, each after SIFS."""
    delta, sifs = timing.propagation_us, timing.sifs_us
    ack_and_difs = sifs + delta + timing.ack_us + timing.difs_us + delta
    if not rts_cts:
        return timing.data_us, ack_and_difs
    rts = timing.airtime_us(20, timing.control_rate_mbps)
    cts = timing.airtime_us(14, timing.control_rate_mbps)
    return rts, sifs + delta + cts + sifs + delta + timing.data_us + ack_and_difs


def _groups(rates: np.ndarray, payloads: np.ndarray) -> list[tuple[tuple[float, int], np.ndarray]]:
    pairs = np.stack([rates, payloads], axis=-1)
    return [
        ((r, int(b)), (pairs[..., 0] == r) & (pairs[..., 1] == b)) for r, b in np.unique(pairs.reshape(-1, 2), axis=0)
    ]


WORLDS: dict[str, World] = {
    "bianchi": World(),
    "unsaturated": World(traffic="poisson", load=0.6),
    "bursty": World(traffic="onoff", load=0.6),
    "hidden": World(sensing_range=1.4),  # about 13% of the pairs cannot hear each other
    "hidden_rts": World(sensing_range=1.4, rts_cts=True),
    "lossy": World(frame_error_rate=(0.0, 0.2)),
    "mixed_rates": World(rates_mbps=(6.0, 12.0, 24.0, 54.0), payloads=(500, 1500)),
    "coexistence": World(legacy_share=0.5),
}
"""The named worlds of the CSMA experiments that every simulator runs (churn is the env's: N changes
over time)."""

NS3_WORLDS: dict[str, World] = {**WORLDS, "ax_ampdu": World(standard="80211ax", ampdu_bytes=65535)}
"""``WORLDS`` and those only ns-3 runs: 802.11ax with A-MPDUs of up to 65,535 bytes (ns-3's default
limit for HT and later standards)."""


def world(name: str | World = "bianchi", **options: Any) -> World:
    """A named world, with options changed; an unknown name or option is an error naming the allowed."""
    if isinstance(name, World):
        base = name
    elif name in NS3_WORLDS:
        base = NS3_WORLDS[name]
    else:
        raise ValueError(f"unknown world {name!r}; choose one of: {', '.join(NS3_WORLDS)}")
    allowed = {f.name for f in fields(World)}
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ValueError(f"unknown world option {unknown[0]!r}; allowed: {', '.join(sorted(allowed))}")
    return replace(base, **options)


def churn(
    n_start: int, n_steps: int, *, n_min: int = 2, n_max: int = 50, changes_per_step: float = 1.0, seed: int = 0
) -> dict[int, int]:
    """A schedule (step -> N, for ``CsmaEnv(n_schedule=...)``) of stations joining and leaving: at every
    step Poisson numbers of arrivals and departures, ``changes_per_step`` / 2 each on average, with N
    kept in [n_min, n_max]."""
    if not 1 <= n_min <= n_start <= n_max:
        raise ValueError(f"churn needs 1 <= n_min <= n_start <= n_max, got {n_min}, {n_start}, {n_max}")
    if n_steps < 1 or changes_per_step < 0:
        raise ValueError(f"churn needs n_steps >= 1 and changes_per_step >= 0, got {n_steps}, {changes_per_step}")
    rng = np.random.default_rng(seed)
    moves = rng.poisson(changes_per_step / 2, (n_steps, 2))
    schedule, n = {0: n_start}, n_start
    for step in range(1, n_steps):
        n_next = int(np.clip(n + moves[step, 0] - moves[step, 1], n_min, n_max))
        if n_next != n:
            schedule[step] = n = n_next
    return schedule


@dataclass(frozen=True)
class WorldRanges:
    """Where domain randomisation draws worlds from: each way of departing from Bianchi's world is
    taken independently with its chance (``*_chance``), its parameter uniform in its range.

    Unsaturated traffic (Poisson, or on/off with ``onoff_chance``) at a load in ``load``; hidden
    stations with a sensing range in ``sensing_range`` (RTS/CTS with ``rts_cts_chance``); channel
    errors, each station's rate uniform in [0, f] with f in ``frame_error_rate``; mixed rates (two or
    more of ``rates_mbps``) and payloads; a share of legacy stations in ``legacy_share``."""

    unsaturated_chance: float = 0.4
    load: tuple[float, float] = (0.3, 0.9)
    onoff_chance: float = 0.5
    hidden_chance: float = 0.4
    sensing_range: tuple[float, float] = (1.2, 2.0)
    rts_cts_chance: float = 0.3
    lossy_chance: float = 0.4
    frame_error_rate: tuple[float, float] = (0.05, 0.3)
    mixed_chance: float = 0.3
    rates_mbps: tuple[float, ...] = (6.0, 12.0, 24.0, 54.0)
    payloads: tuple[int, ...] = (500, 1500)
    coexistence_chance: float = 0.3
    legacy_share: tuple[float, float] = (0.2, 0.6)

    def __post_init__(self) -> None:
        for name in ("unsaturated", "onoff", "hidden", "rts_cts", "lossy", "mixed", "coexistence"):
            chance = getattr(self, f"{name}_chance")
            if not 0.0 <= chance <= 1.0:
                raise ValueError(f"world ranges {name}_chance must be in [0, 1], got {chance}")
        for name in ("load", "sensing_range", "frame_error_rate", "legacy_share"):
            low, high = getattr(self, name)
            if not 0 <= low <= high:
                raise ValueError(f"world ranges {name} must be (low, high) with 0 <= low <= high, got {(low, high)}")
        # Every world the ranges can draw must be valid: check the corners.
        World(load=self.load[0], frame_error_rate=self.frame_error_rate[1], legacy_share=self.legacy_share[1])

    def draw(self, rng: np.random.Generator) -> World:
        """One world, its departures and parameters drawn from ``rng``."""
        options: dict[str, Any] = {}
        if rng.random() < self.unsaturated_chance:
            options["traffic"] = "onoff" if rng.random() < self.onoff_chance else "poisson"
            options["load"] = float(rng.uniform(*self.load))
        if rng.random() < self.hidden_chance:
            options["sensing_range"] = float(rng.uniform(*self.sensing_range))
            options["rts_cts"] = bool(rng.random() < self.rts_cts_chance)
        if rng.random() < self.lossy_chance:
            options["frame_error_rate"] = (0.0, float(rng.uniform(*self.frame_error_rate)))
        if rng.random() < self.mixed_chance:
            count = int(rng.integers(2, len(self.rates_mbps) + 1))
            options["rates_mbps"] = tuple(sorted(float(r) for r in rng.choice(self.rates_mbps, count, replace=False)))
            options["payloads"] = tuple(int(b) for b in self.payloads)
        if rng.random() < self.coexistence_chance:
            options["legacy_share"] = float(rng.uniform(*self.legacy_share))
        return World(**options)

    def covers(self, candidate: World) -> bool:
        """Whether ``candidate`` is a world these ranges can draw (its every option within them)."""

        def within(value: float, bounds: tuple[float, float]) -> bool:
            return bounds[0] <= value <= bounds[1]

        low, high = candidate.error_range
        fixed = ("on_ms", "off_ms", "radius", "queue_limit", "standard", "ampdu_bytes")  # never drawn
        checks = [
            all(getattr(candidate, name) == getattr(World(), name) for name in fixed),
            candidate.traffic == "saturated"
            or (
                within(candidate.load, self.load)
                and (self.onoff_chance < 1 if candidate.traffic == "poisson" else self.onoff_chance > 0)
                and self.unsaturated_chance > 0
            ),
            candidate.sensing_range is None
            or (self.hidden_chance > 0 and within(candidate.sensing_range, self.sensing_range)),
            not candidate.rts_cts or (candidate.sensing_range is not None and self.rts_cts_chance > 0),
            high == 0 or (low == 0 and self.lossy_chance > 0 and within(high, self.frame_error_rate)),
            not candidate.rates_mbps or (self.mixed_chance > 0 and set(candidate.rates_mbps) <= set(self.rates_mbps)),
            not candidate.payloads or (self.mixed_chance > 0 and tuple(candidate.payloads) == tuple(self.payloads)),
            candidate.legacy_share == 0
            or (self.coexistence_chance > 0 and within(candidate.legacy_share, self.legacy_share)),
        ]
        return all(checks)


def random_worlds(count: int, seed: int, ranges: WorldRanges = WorldRanges()) -> list[World]:
    """``count`` worlds drawn from ``ranges`` (domain randomisation), the same for the same seed."""
    if count < 1:
        raise ValueError(f"random_worlds needs count >= 1, got {count}")
    rng = np.random.default_rng(seed)
    return [ranges.draw(rng) for _ in range(count)]

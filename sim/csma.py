"""The embedded CSMA/CA simulators: ``CsmaSimulator`` (compiled, every world of ``sim.worlds``) and
``ReferenceSimulator`` (numpy, Bianchi's world only), the fast reference the compiled one is tested
and timed against in that world (``sim.stepped`` is the reference for every world); both run many
configurations at once and report ``Stats``.

The reference is a vectorised slotted simulator of saturated 802.11 DCF. Each configuration is
one network: up to ``max_stations`` saturated stations, each with its own backoff counter and stage. In every (virtual) slot the stations whose counter is 0 transmit: one
transmitter is a success (T_s), several a collision (T_c), none an idle slot (sigma). A station
draws its counter uniformly from [0, W_i - 1] with W_i = min(cw_min 2^i, cw_max) after i failed
attempts (fixed window: cw_min = cw_max) and drops the frame after ``retry_limit``
retransmissions. Runs of idle slots are skipped in one step (nothing else happens in them), so a
configuration costs work per busy slot only. This is the system Bianchi (2000) models;
``theory.bianchi`` is its analytical counterpart.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from numpy.typing import ArrayLike

from sim import engine, worlds
from sim.timing import OFDM_54, W_MAX, Timing
from sim.worlds import World

_IDLE = np.iinfo(np.int64).max // 2
"""Counter value of inactive stations: never reaches zero within a run."""


@dataclass(frozen=True)
class Stats:
    """What happened in each configuration over one run (arrays over configurations).

    ``collisions`` counts the failed attempts, as a station measures them: collisions and, with
    channel errors, ``losses`` (frames that met no other frame and were lost all the same);
    ``overflows`` counts frames an unsaturated station dropped because its queue was full."""

    slots: np.ndarray
    airtime_us: np.ndarray
    successes: np.ndarray
    collisions: np.ndarray
    attempts: np.ndarray
    drops: np.ndarray
    station_successes: np.ndarray
    delivered_bits: np.ndarray
    idle_slots: np.ndarray
    losses: np.ndarray
    overflows: np.ndarray

    @property
    def throughput_mbps(self) -> np.ndarray:
        """Delivered payload bits per microsecond."""
        return self.delivered_bits / np.maximum(self.airtime_us, 1e-12)

    @property
    def idle_slots_per_transmission(self) -> np.ndarray:
        """Mean run of idle slots between two busy periods (what Idle Sense steers; NaN without any)."""
        busy = self.slots - self.idle_slots
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(busy > 0, self.idle_slots / np.maximum(busy, 1), np.nan)

    @property
    def collision_probability(self) -> np.ndarray:
        """Fraction of transmission attempts that collided (NaN where nobody transmitted)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.attempts > 0, self.collisions / np.maximum(self.attempts, 1), np.nan)

    @property
    def fairness(self) -> np.ndarray:
        """Jain's index of per-station successes over the stations that were active (1 = equal shares)."""
        present = self.station_successes >= 0
        x = np.where(present, self.station_successes, 0).astype(float)
        active = x.sum(axis=1) > 0
        n = present.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            index = x.sum(axis=1) ** 2 / (n * (x**2).sum(axis=1))
        return np.where(active, index, np.nan)


def batch_shape(
    n_stations: ArrayLike,
    cw_min: ArrayLike,
    cw_max: ArrayLike | None,
    max_stations: int | None,
    retry_limit: int | None,
) -> tuple[int, int]:
    """(configurations, stations per configuration) of a simulator's arguments, checked."""
    n_configs = max(np.size(n_stations), np.size(cw_min), 1 if cw_max is None else np.size(cw_max))
    n_array = np.broadcast_to(np.asarray(n_stations), (n_configs,))
    if np.any(n_array < 1):
        raise ValueError(f"number of stations N must be >= 1, got {n_array[n_array < 1][0]}")
    max_stations = int(max_stations if max_stations is not None else n_array.max())
    if max_stations < 1:
        raise ValueError(f"max_stations must be >= 1, got {max_stations}")
    if retry_limit is not None and (not isinstance(retry_limit, int) or retry_limit < 0):
        raise ValueError(f"retry_limit must be a non-negative integer or None, got {retry_limit!r}")
    return n_configs, max_stations


MAX_RUN_SLOTS = 2**30
"""The longest run of one call (the slotted path keeps send slots in 32 bits); longer runs take several."""


def _check_slots(n_slots: int) -> None:
    if not isinstance(n_slots, (int, np.integer)) or not 1 <= n_slots <= MAX_RUN_SLOTS:
        raise ValueError(f"n_slots must be a positive integer up to 2^30 (split longer runs), got {n_slots!r}")


def checked_windows(cw_min: ArrayLike, cw_max: ArrayLike | None, n_configs: int) -> tuple[np.ndarray, np.ndarray]:
    """Each configuration's (cw_min, cw_max), checked; cw_max None means a fixed window."""
    cw_min = checked_int_array("contention window W (cw_min)", cw_min, n_configs, 1, W_MAX)
    cw_max = checked_int_array("cw_max", cw_min if cw_max is None else cw_max, n_configs, 1, W_MAX)
    if np.any(cw_max < cw_min):
        raise ValueError("cw_max must be >= cw_min in every configuration")
    return cw_min, cw_max


def checked_int_array(name: str, values: ArrayLike, size: int, low: int, high: int) -> np.ndarray:
    """``values`` broadcast to ``size`` integers, each in [low, high] (else a ValueError naming ``name``)."""
    array = np.broadcast_to(np.asarray(values), (size,)).astype(np.int64)
    bad = (array < low) | (array > high)
    if np.any(bad):
        raise ValueError(f"{name} must be in [{low}, {high}], got {array[bad][0]}")
    return array.copy()


def seeded_layout(
    world: World, n_configs: int, max_stations: int, timing: Timing, seed: int
) -> tuple[np.random.Generator, worlds.Layout]:
    """A simulator's generator for its own draws and the networks' layout, both from ``seed``: every
    simulator given the same seed draws the same stations (positions, rates, error rates)."""
    seeds = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(seeds[0]), world.layout(
        n_configs, max_stations, timing, np.random.default_rng(seeds[1])
    )


class CsmaSimulator:
    """CSMA/CA in any world of ``sim.worlds`` for a batch of networks, compiled (``sim.engine``);
    stateful, so N and W can change between runs.

    ``n_stations``, ``cw_min`` and ``cw_max`` are per network (scalars broadcast), as in
    ``ReferenceSimulator``; windows apply to every station but a world's legacy ones. ``workers``
    threads share the networks (the result does not depend on it).
    """

    def __init__(
        self,
        n_stations: ArrayLike,
        cw_min: ArrayLike,
        cw_max: ArrayLike | None = None,
        *,
        max_stations: int | None = None,
        retry_limit: int | None = 7,
        timing: Timing = OFDM_54,
        seed: int = 0,
        world: World | str = "bianchi",
        workers: int = 1,
    ) -> None:
        self.n_configs, self.max_stations = batch_shape(n_stations, cw_min, cw_max, max_stations, retry_limit)
        if not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be a positive integer, got {workers!r}")
        self.world = worlds.world(world)
        self.timing, self.retry_limit, self.workers = timing, retry_limit, workers
        self.rng, self.layout = seeded_layout(self.world, self.n_configs, self.max_stations, timing, seed)
        self.streams = self.rng.integers(0, 2**63, self.n_configs, dtype=np.int64).astype(np.uint64)
        shape = (self.n_configs, self.max_stations)
        self.state = np.zeros((*shape, engine.N_STATE), dtype=np.int64)
        self.state[..., engine.TX_END] = -1
        self.state[..., engine.NEXT_ARRIVAL] = engine.NEVER
        self.state[..., engine.ON_UNTIL] = engine.NEVER
        self.net = np.zeros((self.n_configs, engine.N_NET), dtype=np.int64)
        self.net[:, engine.AP_IDLE] = 1
        self.counts = np.zeros((*shape, engine.N_COUNTS), dtype=np.int64)
        self.set_window(cw_min, cw_max)
        self.set_stations(n_stations)

    def set_window(self, cw_min: ArrayLike, cw_max: ArrayLike | None = None) -> None:
        """Set each network's window (fixed when cw_max is None or equal to cw_min); stations keep
        their counters, and legacy stations their BEB."""
        cw_min, cw_max = checked_windows(cw_min, cw_max, self.n_configs)
        adjustable = self.layout.adjustable
        self.layout.ipar[:, adjustable, engine.CW_MIN] = cw_min[:, None]
        self.layout.ipar[:, adjustable, engine.CW_MAX] = cw_max[:, None]

    def set_stations(self, n_stations: ArrayLike) -> None:
        """Set the number of active stations (the first N); joining stations start a fresh backoff
        with an empty queue (a full one if saturated)."""
        n = checked_int_array("number of stations N", n_stations, self.n_configs, 1, self.max_stations)
        state, fpar = self.state, self.layout.fpar
        active = np.arange(self.max_stations)[None, :] < n[:, None]
        joined = active & ~state[..., engine.ACTIVE].astype(bool)
        now = np.broadcast_to(self.net[:, engine.NOW, None], active.shape)[joined]
        windows = self.layout.ipar[..., engine.CW_MIN][joined]
        fields = {engine.COUNTER: self.rng.integers(0, windows), engine.STAGE: 0, engine.HEARD: 0, engine.HOLD: now}
        fields |= {engine.TX_END: -1, engine.FRESH: 1, engine.COUNTING: 0, engine.ON: 1}
        saturated = self.world.traffic == "saturated"
        fields |= {engine.QUEUE: engine.FULL_QUEUE if saturated else 0}
        for field, value in fields.items():
            state[..., field][joined] = value
        state[..., engine.ACTIVE] = active
        if not saturated:
            fpar[..., engine.RATE] = self.world.arrival_rate_per_ns(self.timing, n)[:, None]
            mean_gap = 1.0 / fpar[..., engine.RATE][joined]
            state[..., engine.NEXT_ARRIVAL][joined] = now + 1 + self.rng.exponential(mean_gap).astype(np.int64)
            if self.world.traffic == "onoff":
                on = fpar[..., engine.ON_MEAN][joined]
                state[..., engine.ON_UNTIL][joined] = now + 1 + self.rng.exponential(on).astype(np.int64)

    @property
    def n_stations(self) -> np.ndarray:
        return self.state[..., engine.ACTIVE].sum(axis=1)

    def run(self, n_slots: int) -> Stats:
        """Advance every network by ``n_slots`` virtual slots; statistics of that interval."""
        _check_slots(n_slots)
        self.counts[:] = 0
        layout, timing = self.layout, self.timing
        arguments = (self.state, layout.ipar, layout.fpar, layout.hears, self.net, self.counts, self.streams)
        settings = (
            int(n_slots),
            round(1000 * timing.slot_us),
            round(1000 * (timing.difs_us + timing.propagation_us)),
            -1 if self.retry_limit is None else self.retry_limit,
            self.world.queue_limit,
            self.world.one_collision_domain,
        )
        if min(self.workers, self.n_configs) == 1:
            engine.run_block(0, self.n_configs, *arguments, *settings)
        else:
            bounds = np.linspace(0, self.n_configs, min(self.workers, self.n_configs) + 1).astype(int)
            with ThreadPoolExecutor(len(bounds) - 1) as pool:
                done = [pool.submit(engine.run_block, a, b, *arguments, *settings) for a, b in pairwise(bounds)]
                for future in done:
                    future.result()
        counts, active = self.counts.sum(axis=1), self.state[..., engine.ACTIVE].astype(bool)
        return Stats(
            slots=self.net[:, engine.SLOTS].copy(),
            airtime_us=(self.net[:, engine.NOW] - self.net[:, engine.RUN_START]) / 1000,
            successes=counts[:, engine.SUCCESSES],
            collisions=counts[:, engine.FAILURES],
            attempts=counts[:, engine.ATTEMPTS],
            drops=counts[:, engine.DROPS],
            station_successes=np.where(active, self.counts[..., engine.SUCCESSES], -1),
            delivered_bits=counts[:, engine.BITS],
            idle_slots=self.net[:, engine.IDLE_SLOTS].copy(),
            losses=counts[:, engine.LOSSES],
            overflows=counts[:, engine.OVERFLOWS],
        )


class ReferenceSimulator:
    """Saturated slotted CSMA/CA for a batch of configurations; stateful, so N and W can change.

    ``n_stations``, ``cw_min`` and ``cw_max`` are per configuration (scalars broadcast);
    ``cw_min == cw_max`` is a fixed window, ``cw_max > cw_min`` binary exponential backoff.
    """

    def __init__(
        self,
        n_stations: ArrayLike,
        cw_min: ArrayLike,
        cw_max: ArrayLike | None = None,
        *,
        max_stations: int | None = None,
        retry_limit: int | None = 7,
        timing: Timing = OFDM_54,
        seed: int = 0,
    ) -> None:
        n_configs, self.max_stations = batch_shape(n_stations, cw_min, cw_max, max_stations, retry_limit)
        self.n_configs = n_configs
        self.retry_limit = retry_limit
        self.timing = timing
        self.rng = np.random.default_rng(seed)
        self.counter = np.zeros((n_configs, self.max_stations), dtype=np.int64)
        self.stage = np.zeros((n_configs, self.max_stations), dtype=np.int64)
        self.active = np.zeros((n_configs, self.max_stations), dtype=bool)
        self.set_window(cw_min, cw_max)
        self.set_stations(n_stations)

    def set_window(self, cw_min: ArrayLike, cw_max: ArrayLike | None = None) -> None:
        """Set each configuration's window (fixed when cw_max is None or equal to cw_min).

        Stations keep their current counters, as 802.11 stations do when CWmin/CWmax change.
        """
        self.cw_min, self.cw_max = checked_windows(cw_min, cw_max, self.n_configs)

    def set_stations(self, n_stations: ArrayLike) -> None:
        """Set the number of active stations; joining stations start a fresh backoff."""
        n = checked_int_array("number of stations N", n_stations, self.n_configs, 1, self.max_stations)
        active = np.arange(self.max_stations)[None, :] < n[:, None]
        joined = active & ~self.active
        self.active = active
        self.stage[joined] = 0
        windows = np.broadcast_to(self.cw_min[:, None], self.counter.shape)[joined]
        self.counter[joined] = self.rng.integers(0, windows)
        self.counter[~active] = _IDLE

    @property
    def n_stations(self) -> np.ndarray:
        return self.active.sum(axis=1)

    def run(self, n_slots: int) -> Stats:
        """Advance every configuration by ``n_slots`` virtual slots; statistics of that interval.

        Each pass of the loop handles, in every configuration still running, the run of idle
        slots up to the next transmission and that busy slot. Full-array work per pass is a min,
        a subtraction and a comparison; everything else touches the transmitters only.
        """
        _check_slots(n_slots)
        timing, n_configs = self.timing, self.n_configs
        counter, stage = self.counter, self.stage
        counter[~self.active] = _IDLE
        slots = np.zeros(n_configs, dtype=np.int64)
        idle = np.zeros(n_configs, dtype=np.int64)
        successes = np.zeros(n_configs, dtype=np.int64)
        collision_slots = np.zeros(n_configs, dtype=np.int64)
        collisions = np.zeros(n_configs, dtype=np.int64)
        attempts = np.zeros(n_configs, dtype=np.int64)
        drops = np.zeros(n_configs, dtype=np.int64)
        station_successes = np.where(self.active, 0, -1).astype(np.int64)
        while True:
            remaining = n_slots - slots
            if not (remaining > 0).any():
                break
            # idle slots before the next transmission, bounded by what is left to simulate
            next_tx = counter.min(axis=1)
            busy = next_tx < remaining
            skip = np.where(busy, next_tx, np.maximum(remaining, 0))
            idle += skip
            slots += skip + busy
            # every station of a busy configuration counts the busy slot down too (Bianchi's chain);
            # the transmitters are the ones that reach -1 and draw a new counter below
            counter -= (skip + busy).astype(counter.dtype)[:, None]
            rows, cols = np.nonzero(counter == -1)
            n_tx = np.bincount(rows, minlength=n_configs)
            success = n_tx == 1
            collision = n_tx > 1
            successes += success
            collision_slots += collision
            attempts += n_tx
            collisions += np.where(collision, n_tx, 0)
            collided = collision[rows]
            station_successes[rows, cols] += ~collided
            new_stage = np.where(collided, stage[rows, cols] + 1, 0)
            if self.retry_limit is not None:
                dropped = new_stage > self.retry_limit
                drops += np.bincount(rows[dropped], minlength=n_configs)
                new_stage[dropped] = 0
            stage[rows, cols] = new_stage
            windows = np.minimum(self.cw_min[rows] << np.minimum(new_stage, 16), self.cw_max[rows])
            counter[rows, cols] = self.rng.integers(0, windows)
        airtime = idle * timing.slot_us + successes * timing.success_us + collision_slots * timing.collision_us
        return Stats(
            slots=slots,
            airtime_us=airtime,
            successes=successes,
            collisions=collisions,
            attempts=attempts,
            drops=drops,
            station_successes=station_successes,
            delivered_bits=successes * timing.payload_bits,
            idle_slots=idle,
            losses=np.zeros(n_configs, dtype=np.int64),
            overflows=np.zeros(n_configs, dtype=np.int64),
        )


def simulate(
    n_stations: ArrayLike,
    cw_min: ArrayLike,
    cw_max: ArrayLike | None = None,
    *,
    n_slots: int = 100_000,
    retry_limit: int | None = 7,
    timing: Timing = OFDM_54,
    seed: int = 0,
    warmup_slots: int = 1000,
    world: World | str = "bianchi",
    implementation: str = "compiled",
    workers: int = 1,
) -> Stats:
    """Steady-state statistics of many (N, window) configurations in one call, from the compiled
    simulator in any world, or from the numpy reference (``implementation="numpy"``, Bianchi's world)."""
    options: dict = {"retry_limit": retry_limit, "timing": timing, "seed": seed}
    if implementation == "compiled":
        simulator: CsmaSimulator | ReferenceSimulator = CsmaSimulator(
            n_stations, cw_min, cw_max, world=world, workers=workers, **options
        )
    elif implementation == "numpy":
        if not worlds.world(world).is_bianchi:
            raise ValueError(f"the numpy reference simulates Bianchi's world only, got world {world!r}")
        simulator = ReferenceSimulator(n_stations, cw_min, cw_max, **options)
    else:
        raise ValueError(f"unknown simulator implementation {implementation!r}; choose one of: compiled, numpy")
    if warmup_slots > 0:
        simulator.run(warmup_slots)
    return simulator.run(n_slots)

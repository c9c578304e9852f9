"""A time-stepped numpy reference of the CSMA/CA model of ``sim.engine``, for every world.

``sim.engine`` jumps from event to event; this simulator walks the same model one microsecond at a
time, every network in lockstep, each station a small state machine: transmitting, waiting (it hears
a transmission or is held by an exchange), or counting its backoff down slot by slot. It shares
nothing with the engine but the world's layout (who hears whom, each station's frame airtimes,
error rate and window policy), so the two agreeing on every world is a test of both. The rules, as
the engine's docstring states them:

- A counting station sends when its counter is 0 at a slot boundary and it has a frame; hearing a
  transmission freezes it (the partial slot is lost). It resumes once it hears nothing and its hold
  has passed, taking one slot off if it was interrupted (Bianchi's chain counts the busy slot).
- A vulnerable phase (data frame, or RTS) succeeds at the AP when no other overlaps it there and the
  channel does not lose it; a success holds every station for the rest of the exchange (the AP's
  answer reaches all), a failure holds the sender and its neighbours for DIFS.
- The sender then draws W_i-uniform backoff (post-backoff when its queue is empty); an arrival at an
  empty station whose backoff has run out goes at the next slot boundary, or draws a backoff if the
  station is held.

Arrivals are Bernoulli per microsecond (geometric gaps), the discrete twin of the engine's Poisson
process. Every duration must be a whole number of microseconds (802.11 OFDM timings are).

A step costs the same numpy work whatever happens in it, so this is slow (about a million
station-microseconds per second); it exists to be right, not fast.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from sim import engine, worlds
from sim.csma import Stats, batch_shape, checked_int_array, checked_windows, seeded_layout
from sim.timing import OFDM_54, Timing
from sim.worlds import World

NEVER = np.iinfo(np.int64).max // 4
"""A time no step reaches."""


def _whole_us(name: str, values: np.ndarray | float) -> np.ndarray:
    """Durations given in microseconds (or the engine's nanoseconds / 1000), checked to be whole."""
    array = np.asarray(values, dtype=float)
    whole = np.round(array)
    if np.any(np.abs(array - whole) > 1e-9):
        raise ValueError(f"the stepped simulator needs whole-microsecond durations; {name} is {array.flat[0]} us")
    return whole.astype(np.int64)


class SteppedSimulator:
    """The model of ``sim.engine`` stepped in microseconds, for a batch of networks in any world.

    Same arguments as ``sim.csma.CsmaSimulator``; given the same ``seed`` it draws the same layout
    (positions, rates, error rates), and its own backoff and traffic draws. ``run`` takes a duration
    instead of a number of virtual slots, since all networks share one clock.
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
    ) -> None:
        self.n_configs, self.max_stations = batch_shape(n_stations, cw_min, cw_max, max_stations, retry_limit)
        self.world, self.retry_limit = worlds.world(world), retry_limit
        self.rng, layout = seeded_layout(self.world, self.n_configs, self.max_stations, timing, seed)
        self.adjustable = layout.adjustable
        self.data = _whole_us("a data frame", layout.ipar[..., engine.DATA_NS] / 1000)
        self.tail = _whole_us("an exchange", layout.ipar[..., engine.TAIL_NS] / 1000)
        self.slot = int(_whole_us("the slot", timing.slot_us))
        self.gap = int(_whole_us("DIFS + propagation", timing.difs_us + timing.propagation_us))
        self.payload_bits = layout.ipar[..., engine.PAYLOAD_BITS]
        self.cw_min = layout.ipar[..., engine.CW_MIN].copy()
        self.cw_max = layout.ipar[..., engine.CW_MAX].copy()
        self.fer = layout.fpar[..., engine.FER]
        self.hears = layout.hears & ~np.eye(self.max_stations, dtype=bool)  # k hears j's frames, j != k
        self.hears_weights = self.hears.astype(np.float32)
        self.on_mean_us, self.off_mean_us = 1000 * self.world.on_ms, 1000 * self.world.off_ms
        shape = (self.n_configs, self.max_stations)
        self.now = 0
        self.active = np.zeros(shape, dtype=bool)
        self.tx_end = np.full(shape, -1, dtype=np.int64)
        self.tx_ok = np.zeros(shape, dtype=bool)
        self.counting = np.zeros(shape, dtype=bool)
        self.fresh = np.zeros(shape, dtype=bool)
        self.clock = np.zeros(shape, dtype=np.int64)
        self.counter = np.zeros(shape, dtype=np.int64)
        self.stage = np.zeros(shape, dtype=np.int64)
        self.hold = np.zeros(shape, dtype=np.int64)
        self.queue = np.zeros(shape, dtype=np.int64)
        self.on = np.ones(shape, dtype=bool)
        self.next_arrival = np.full(shape, NEVER, dtype=np.int64)
        self.on_until = np.full(shape, NEVER, dtype=np.int64)
        self.arrival_p = np.zeros(shape)
        self.ap_until = np.zeros(self.n_configs, dtype=np.int64)
        self.ap_idle = np.ones(self.n_configs, dtype=bool)
        self.idle_start = np.zeros(self.n_configs, dtype=np.int64)
        self.timing = timing
        self.set_window(cw_min, cw_max)
        self.set_stations(n_stations)

    def set_window(self, cw_min: ArrayLike, cw_max: ArrayLike | None = None) -> None:
        """Each network's window for its adjustable stations (a world's legacy ones keep theirs)."""
        cw_min, cw_max = checked_windows(cw_min, cw_max, self.n_configs)
        self.cw_min[:, self.adjustable] = cw_min[:, None]
        self.cw_max[:, self.adjustable] = cw_max[:, None]

    def set_stations(self, n_stations: ArrayLike) -> None:
        """The first N stations are active; a joining one waits for a quiet channel with a fresh
        backoff and an empty queue (full if saturated)."""
        n = checked_int_array("number of stations N", n_stations, self.n_configs, 1, self.max_stations)
        active = np.arange(self.max_stations)[None, :] < n[:, None]
        joined = active & ~self.active
        self.active = active
        self.tx_end[~active] = -1
        self.counting[joined] = False
        self.stage[joined] = 0
        self.hold[joined] = self.now
        self._draw_backoff(joined)
        saturated = self.world.traffic == "saturated"
        self.queue[joined] = np.iinfo(np.int32).max if saturated else 0
        if saturated:
            return
        rate_per_us = 1000 * self.world.arrival_rate_per_ns(self.timing, n)
        self.arrival_p = np.broadcast_to(np.minimum(rate_per_us, 1.0)[:, None], joined.shape).copy()
        self.on[joined] = True
        self.next_arrival[joined] = self.now + self.rng.geometric(self.arrival_p[joined])
        if self.world.traffic == "onoff":
            self.on_until[joined] = self.now + self.rng.geometric(1 / self.on_mean_us, joined.sum())

    @property
    def n_stations(self) -> np.ndarray:
        return self.active.sum(axis=1)

    def _draw_backoff(self, where: np.ndarray) -> None:
        window = np.minimum(self.cw_min[where] << np.minimum(self.stage[where], 16), self.cw_max[where])
        self.counter[where] = self.rng.integers(0, window)
        self.fresh[where] = True

    def _freeze(self, where: np.ndarray) -> None:
        """Stop the countdown of the stations in ``where`` that are counting (the partial slot is lost)."""
        frozen = where & self.counting
        self.counting[frozen] = False
        self.fresh[frozen] = False

    def _hearing(self, senders: np.ndarray) -> np.ndarray:
        """Stations that hear at least one of ``senders`` (both [configs, stations])."""
        return (self.hears_weights @ senders[..., None].astype(np.float32))[..., 0] > 0

    def run(self, duration_us: int) -> Stats:
        """Advance every network by ``duration_us`` microseconds; statistics of that interval."""
        if not isinstance(duration_us, (int, np.integer)) or duration_us < 1:
            raise ValueError(f"duration_us must be a positive integer, got {duration_us!r}")
        shape, c = self.active.shape, self.n_configs
        counts = {name: np.zeros(shape, dtype=np.int64) for name in
                  ("attempts", "failures", "losses", "successes", "drops", "overflows", "bits")}  # fmt: skip
        slots, idle_slots = np.zeros(c, dtype=np.int64), np.zeros(c, dtype=np.int64)
        self.idle_start[self.ap_idle] = self.now
        retry_limit = -1 if self.retry_limit is None else self.retry_limit
        queue_cap = self.world.queue_limit
        unsaturated = self.world.traffic != "saturated"
        for t in range(self.now + 1, self.now + duration_us + 1):
            # the countdown: a slot passes every `slot` microseconds of counting
            self.clock[self.counting] += 1
            boundary = self.counting & (self.clock == self.slot)
            self.clock[boundary] = 0
            self.counter[boundary & (self.counter > 0)] -= 1

            ending = self.tx_end == t
            if ending.any():
                self._end(ending, t, retry_limit, counts)

            sending_now = self.tx_end >= 0
            quiet = ~sending_now.any(axis=1) & (self.ap_until <= t) & ~self.ap_idle
            self.ap_idle[quiet] = True
            self.idle_start[quiet] = t

            waiting = self.active & ~sending_now & ~self.counting & (self.hold <= t)
            if waiting.any():
                waiting &= ~self._hearing(sending_now)
                self.counter[waiting & ~self.fresh & (self.counter > 0)] -= 1
                self.fresh[waiting] = False
                self.counting[waiting] = True
                self.clock[waiting] = 0

            if unsaturated:
                self._traffic(t, queue_cap, counts)

            starting = self.counting & (self.clock == 0) & (self.counter == 0) & (self.queue > 0)
            if starting.any():
                self.counting[starting] = False
                self.tx_end[starting] = t + self.data[starting]
                self.tx_ok[starting] = True
                counts["attempts"] += starting
                overlap = (starting.sum(axis=1) > 1) | (sending_now.any(axis=1) & starting.any(axis=1))
                self.tx_ok[overlap] &= ~(self.tx_end[overlap] >= 0)
                begins = self.ap_idle & starting.any(axis=1)
                idle = (t - self.idle_start[begins]) // self.slot
                slots[begins] += idle + 1
                idle_slots[begins] += idle
                self.ap_idle[begins] = False
                self._freeze(self._hearing(starting))
        self.now += duration_us
        idle = (self.now - self.idle_start[self.ap_idle]) // self.slot
        slots[self.ap_idle] += idle
        idle_slots[self.ap_idle] += idle
        total = {name: value.sum(axis=1) for name, value in counts.items()}
        return Stats(
            slots=slots,
            airtime_us=np.full(c, float(duration_us)),
            successes=total["successes"],
            collisions=total["failures"],
            attempts=total["attempts"],
            drops=total["drops"],
            station_successes=np.where(self.active, counts["successes"], -1),
            delivered_bits=total["bits"],
            idle_slots=idle_slots,
            losses=total["losses"],
            overflows=total["overflows"],
        )

    def _end(self, ending: np.ndarray, t: int, retry_limit: int, counts: dict[str, np.ndarray]) -> None:
        """Vulnerable phases ending at t: outcome, holds, the senders' counts and next backoff."""
        lost = self.rng.random(ending.shape) < self.fer
        success = ending & self.tx_ok & ~lost
        failure = ending & ~success
        hold = np.where(ending, t + np.where(success, self.tail, self.gap), -1)
        heard_hold = np.where(self.hears, hold[:, None, :], -1).max(axis=2)
        exchange = np.where(success.any(axis=1), hold.max(axis=1), -1)  # the AP's answer reaches every station
        self._freeze(self.active & (exchange[:, None] >= 0))
        self.hold = np.maximum.reduce([self.hold, heard_hold, hold, np.broadcast_to(exchange[:, None], hold.shape)])
        self.ap_until = np.maximum(self.ap_until, hold.max(axis=1))
        self.tx_end[ending] = -1
        counts["successes"] += success
        counts["bits"] += np.where(success, self.payload_bits, 0)
        counts["failures"] += failure
        counts["losses"] += failure & self.tx_ok
        self.stage[success] = 0
        self.stage[failure] += 1
        dropped = failure & (self.stage > retry_limit) if retry_limit >= 0 else np.zeros_like(failure)
        counts["drops"] += dropped
        self.stage[dropped] = 0
        self.queue[success | dropped] -= 1
        self.counting[ending] = False
        self._draw_backoff(ending)

    def _traffic(self, t: int, queue_cap: int, counts: dict[str, np.ndarray]) -> None:
        """On/off switches and arrivals at t."""
        switching = self.active & (self.on_until == t)
        if switching.any():
            self.on[switching] = ~self.on[switching]
            mean = np.where(self.on[switching], self.on_mean_us, self.off_mean_us)
            self.on_until[switching] = t + self.rng.geometric(1 / mean)
            self.next_arrival[switching & ~self.on] = NEVER
            starts = switching & self.on
            self.next_arrival[starts] = t + self.rng.geometric(self.arrival_p[starts])
        arriving = self.active & (self.next_arrival == t)
        if not arriving.any():
            return
        self.next_arrival[arriving] = t + self.rng.geometric(self.arrival_p[arriving])
        full = arriving & (self.queue >= queue_cap)
        counts["overflows"] += full
        queued = arriving & ~full
        self.queue[queued] += 1
        woken = queued & (self.queue == 1) & (self.tx_end < 0) & ~self.counting & (self.counter == 0)
        if woken.any():
            self._draw_backoff(woken)

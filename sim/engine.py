"""The compiled CSMA/CA event engine: one network per loop, networks in parallel threads.

Every station has its own view of the channel. Time is in integer nanoseconds; a station counts its
backoff down in slots while it senses the channel idle, freezes while it hears a transmission, and
resumes after the exchange it heard (DIFS included). A transmission's vulnerable phase (the data
frame, or the RTS with RTS/CTS) is heard by the stations in the sender's sensing range; it succeeds
at the access point when no other vulnerable phase overlaps it there and the channel does not lose
it (frame error rate). A success then holds every station for the rest of the exchange (the AP's
ACK, or CTS + data + ACK, which every station hears); a failure holds the sender's neighbours for
DIFS. With one shared channel, saturated stations and no losses this is Bianchi's system, event for
event: ``sim.csma.ReferenceSimulator`` (numpy) is the reference it is tested against there, and
``sim.stepped`` (numpy, time-stepped) in every world. Stations
resuming after a busy period they did not send in take one backoff slot off (the slot boundary at
the end of DIFS), as Bianchi's chain counts the busy slot down.

Unsaturated stations queue Poisson arrivals (during "on" periods for on/off traffic); a station
whose post-backoff has ended sends a new frame at the next slot boundary if the channel is idle and
draws a backoff if it is busy. Networks run independently with their own splitmix64 stream, so a
seed gives the same result whatever the number of worker threads.

Virtual slots, the run length unit, are counted at the AP as in Bianchi's model: each idle slot and
each busy period (a maximal interval of activity, DIFS included) is one.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# per-station dynamic state: state[c, k, field]
(COUNTER, COUNT_FROM, STAGE, HEARD, HOLD, TX_START, TX_END, TX_OK, FRESH, COUNTING, QUEUE, NEXT_ARRIVAL, ON_UNTIL, ON,
 ACTIVE) = range(15)  # fmt: skip
N_STATE = 15
# per-station integer parameters: ipar[c, k, field]
DATA_NS, TAIL_NS, CW_MIN, CW_MAX, PAYLOAD_BITS = range(5)
N_IPAR = 5
# per-station float parameters: fpar[c, k, field]
FER, RATE, ON_MEAN, OFF_MEAN = range(4)
N_FPAR = 4
# per-station counts of a run: counts[c, k, field]
ATTEMPTS, FAILURES, LOSSES, SUCCESSES, DROPS, OVERFLOWS, BITS = range(7)
N_COUNTS = 7
# per-network state and counts: net[c, field]
NOW, AP_ACTIVE, AP_UNTIL, AP_IDLE, IDLE_START, SLOTS, IDLE_SLOTS, RUN_START = range(8)
N_NET = 8

NEVER = np.int64(2**62)
"""A time no event reaches."""
NEVER_SLOT = np.int32(2**31 - 1)
"""The send slot of an inactive station on the slotted path."""
SATURATED = -1.0
"""The arrival rate of a saturated station (it always has a frame)."""
FULL_QUEUE = np.int64(2**40)
"""The queue of a saturated station."""

# event kinds, in the order they are handled when they fall at the same time
_END, _AP_IDLE, _STOP, _RESUME, _TRAFFIC, _START = range(6)


@njit(cache=True, nogil=True)
def _uniform(rng: np.ndarray, c: int) -> float:
    """The next double in [0, 1) of network c's splitmix64 stream."""
    z = rng[c] + np.uint64(0x9E3779B97F4A7C15)
    rng[c] = z
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return float(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, nogil=True)
def _survives(rng: np.ndarray, c: int, frame_error_rate: float) -> bool:
    """Whether a frame that met no other gets through the channel (no draw on a lossless link)."""
    return frame_error_rate == 0.0 or _uniform(rng, c) >= frame_error_rate


@njit(cache=True, nogil=True)
def _exponential_ns(rng: np.ndarray, c: int, mean_ns: float) -> np.int64:
    return np.int64(1 + -mean_ns * np.log(1.0 - _uniform(rng, c)))


@njit(cache=True, nogil=True)
def _draw_backoff(rng: np.ndarray, c: int, state: np.ndarray, ipar: np.ndarray, k: int) -> None:
    """A fresh counter, uniform in [0, W_i - 1] with W_i = min(cw_min 2^stage, cw_max)."""
    stage = min(state[c, k, STAGE], 16)
    window = min(ipar[c, k, CW_MIN] << stage, ipar[c, k, CW_MAX])
    state[c, k, COUNTER] = np.int64(_uniform(rng, c) * window)
    state[c, k, FRESH] = 1
    state[c, k, COUNTING] = 0


@njit(cache=True, nogil=True)
def _freeze(state: np.ndarray, c: int, k: int, t: np.int64, slot_ns: int) -> None:
    """Stop station k's countdown at time t, keeping the slots it has left."""
    if state[c, k, COUNTING] == 1:
        elapsed = (t - state[c, k, COUNT_FROM]) // slot_ns
        state[c, k, COUNTER] = max(state[c, k, COUNTER] - elapsed, 0)
        state[c, k, COUNTING] = 0
        state[c, k, FRESH] = 0


@njit(cache=True, nogil=True)
def _next_event(state: np.ndarray, net: np.ndarray, c: int, n_slots: int, slot_ns: int) -> tuple:
    """The time and kind of network c's next event (kinds break ties in handling order)."""
    best_t, best_kind = NEVER, _START + 1
    for k in range(state.shape[1]):
        s = state[c, k]
        if s[ACTIVE] == 0:
            continue
        if s[TX_END] >= 0:
            t, kind = s[TX_END], _END
        elif s[COUNTING] == 1:
            t, kind = (s[COUNT_FROM] + s[COUNTER] * slot_ns, _START) if s[QUEUE] > 0 else (NEVER, _START)
        elif s[HEARD] == 0:
            t, kind = max(s[HOLD], net[c, NOW]), _RESUME
        else:
            t, kind = NEVER, _START
        if t < best_t or (t == best_t and kind < best_kind):
            best_t, best_kind = t, kind
        traffic = min(s[NEXT_ARRIVAL], s[ON_UNTIL])
        if traffic < best_t or (traffic == best_t and _TRAFFIC < best_kind):
            best_t, best_kind = traffic, _TRAFFIC
    if net[c, AP_ACTIVE] == 0:
        if net[c, AP_IDLE] == 0:
            t = max(net[c, AP_UNTIL], net[c, NOW])
            if t < best_t or (t == best_t and _AP_IDLE < best_kind):
                best_t, best_kind = t, _AP_IDLE
        else:
            t = net[c, IDLE_START] + max(n_slots - net[c, SLOTS], 0) * slot_ns
            if t < best_t or (t == best_t and _STOP < best_kind):
                best_t, best_kind = t, _STOP
    return best_t, best_kind


@njit(cache=True, nogil=True)
def _start(
    state: np.ndarray,
    ipar: np.ndarray,
    hears: np.ndarray,
    net: np.ndarray,
    counts: np.ndarray,
    c: int,
    t: np.int64,
    slot_ns: int,
) -> None:
    """Every station whose backoff expires at t sends; the stations that hear a sender freeze."""
    n = state.shape[1]
    if net[c, AP_IDLE] == 1:  # a busy period begins: the idle slots before it and itself are virtual slots
        idle = (t - net[c, IDLE_START]) // slot_ns
        net[c, SLOTS] += idle + 1
        net[c, IDLE_SLOTS] += idle
        net[c, AP_IDLE] = 0
    overlapped = net[c, AP_ACTIVE] > 0
    starters = 0
    for k in range(n):
        s = state[c, k]
        if s[ACTIVE] == 1 and s[COUNTING] == 1 and s[QUEUE] > 0 and s[COUNT_FROM] + s[COUNTER] * slot_ns == t:
            s[TX_START], s[TX_END], s[TX_OK] = t, t + ipar[c, k, DATA_NS], 1
            s[COUNTING], s[COUNTER] = 0, 0
            counts[c, k, ATTEMPTS] += 1
            starters += 1
    net[c, AP_ACTIVE] += starters
    if starters > 1 or overlapped:  # overlapping vulnerable phases at the AP: all of them fail
        for k in range(n):
            if state[c, k, TX_END] >= 0:
                state[c, k, TX_OK] = 0
    for j in range(n):
        if state[c, j, TX_END] >= 0 and state[c, j, TX_START] == t:
            for k in range(n):
                if k != j and state[c, k, ACTIVE] == 1 and hears[c, k, j]:
                    state[c, k, HEARD] += 1
                    _freeze(state, c, k, t, slot_ns)


@njit(cache=True, nogil=True)
def _end(
    state: np.ndarray,
    ipar: np.ndarray,
    fpar: np.ndarray,
    hears: np.ndarray,
    net: np.ndarray,
    counts: np.ndarray,
    rng: np.ndarray,
    c: int,
    t: np.int64,
    slot_ns: int,
    gap_ns: int,
    retry_limit: int,
) -> None:
    """The vulnerable phases ending at t: successes hold every station for the rest of the exchange,
    failures hold the sender's neighbours for DIFS; each sender draws its next backoff."""
    n = state.shape[1]
    for j in range(n):
        if state[c, j, ACTIVE] == 0 or state[c, j, TX_END] != t:
            continue
        net[c, AP_ACTIVE] -= 1
        state[c, j, TX_END] = -1
        clean = state[c, j, TX_OK] == 1
        success = clean and _survives(rng, c, fpar[c, j, FER])
        hold = t + (ipar[c, j, TAIL_NS] if success else gap_ns)
        net[c, AP_UNTIL] = max(net[c, AP_UNTIL], hold)
        for k in range(n):
            if k != j and state[c, k, ACTIVE] == 1 and hears[c, k, j]:
                state[c, k, HEARD] -= 1
                state[c, k, HOLD] = max(state[c, k, HOLD], hold)
        if success:
            counts[c, j, SUCCESSES] += 1
            counts[c, j, BITS] += ipar[c, j, PAYLOAD_BITS]
            for k in range(n):  # the AP's answer reaches every station
                if state[c, k, ACTIVE] == 1:
                    _freeze(state, c, k, t, slot_ns)
                    state[c, k, HOLD] = max(state[c, k, HOLD], hold)
            state[c, j, STAGE] = 0
            state[c, j, QUEUE] -= 1
        else:
            counts[c, j, FAILURES] += 1
            counts[c, j, LOSSES] += clean
            state[c, j, STAGE] += 1
            if retry_limit >= 0 and state[c, j, STAGE] > retry_limit:
                counts[c, j, DROPS] += 1
                state[c, j, STAGE] = 0
                state[c, j, QUEUE] -= 1
        state[c, j, HOLD] = max(state[c, j, HOLD], hold)
        _draw_backoff(rng, c, state, ipar, j)


@njit(cache=True, nogil=True)
def _resume(state: np.ndarray, c: int, t: np.int64) -> None:
    """Stations whose hold ends at t count down again; one that was interrupted takes a slot off."""
    for k in range(state.shape[1]):
        s = state[c, k]
        if s[ACTIVE] == 1 and s[TX_END] < 0 and s[COUNTING] == 0 and s[HEARD] == 0 and s[HOLD] <= t:
            if s[FRESH] == 0 and s[COUNTER] > 0:
                s[COUNTER] -= 1
            s[FRESH], s[COUNTING], s[COUNT_FROM] = 0, 1, t


@njit(cache=True, nogil=True)
def _traffic(
    state: np.ndarray,
    ipar: np.ndarray,
    fpar: np.ndarray,
    counts: np.ndarray,
    rng: np.ndarray,
    c: int,
    t: np.int64,
    slot_ns: int,
    queue_cap: int,
) -> None:
    """Arrivals and on/off switches at t. A frame reaching an empty station whose backoff has run out
    goes at the next slot boundary if the channel is idle there; one that finds it busy draws a backoff."""
    for k in range(state.shape[1]):
        s = state[c, k]
        if s[ACTIVE] == 0:
            continue
        if s[ON_UNTIL] == t:
            s[ON] = 1 - s[ON]
            s[ON_UNTIL] = t + _exponential_ns(rng, c, fpar[c, k, ON_MEAN if s[ON] == 1 else OFF_MEAN])
            s[NEXT_ARRIVAL] = t + _exponential_ns(rng, c, 1.0 / fpar[c, k, RATE]) if s[ON] == 1 else NEVER
        if s[NEXT_ARRIVAL] != t:
            continue
        s[NEXT_ARRIVAL] = t + _exponential_ns(rng, c, 1.0 / fpar[c, k, RATE])
        if s[ON] == 0:
            s[NEXT_ARRIVAL] = NEVER
        if s[QUEUE] >= queue_cap:
            counts[c, k, OVERFLOWS] += 1
            continue
        s[QUEUE] += 1
        if s[QUEUE] > 1 or s[TX_END] >= 0:
            continue
        if s[COUNTING] == 1:
            if s[COUNT_FROM] + s[COUNTER] * slot_ns < t:  # post-backoff over: the next slot boundary
                s[COUNTER] = (t - s[COUNT_FROM] + slot_ns - 1) // slot_ns
        elif s[COUNTER] == 0:
            _draw_backoff(rng, c, state, ipar, k)


@njit(cache=True, nogil=True)
def _run_network(
    state: np.ndarray,
    ipar: np.ndarray,
    fpar: np.ndarray,
    hears: np.ndarray,
    net: np.ndarray,
    counts: np.ndarray,
    rng: np.ndarray,
    c: int,
    n_slots: int,
    slot_ns: int,
    gap_ns: int,
    retry_limit: int,
    queue_cap: int,
) -> None:
    """Advance network c by n_slots virtual slots (ending at an idle slot boundary or after a busy period)."""
    net[c, SLOTS] = 0
    net[c, IDLE_SLOTS] = 0
    net[c, RUN_START] = net[c, NOW]
    if net[c, AP_IDLE] == 1:
        net[c, IDLE_START] = net[c, NOW]
    while True:
        t, kind = _next_event(state, net, c, n_slots, slot_ns)
        net[c, NOW] = t
        if kind == _STOP:
            idle = (t - net[c, IDLE_START]) // slot_ns
            net[c, IDLE_SLOTS] += idle
            net[c, SLOTS] += idle
            return
        if kind == _AP_IDLE:
            net[c, AP_IDLE] = 1
            net[c, IDLE_START] = t
            if net[c, SLOTS] >= n_slots:
                return
        elif kind == _END:
            _end(state, ipar, fpar, hears, net, counts, rng, c, t, slot_ns, gap_ns, retry_limit)
        elif kind == _RESUME:
            _resume(state, c, t)
        elif kind == _TRAFFIC:
            _traffic(state, ipar, fpar, counts, rng, c, t, slot_ns, queue_cap)
        else:
            _start(state, ipar, hears, net, counts, c, t, slot_ns)


@njit(cache=True, nogil=True)
def _run_domain(
    state: np.ndarray,
    ipar: np.ndarray,
    fpar: np.ndarray,
    net: np.ndarray,
    counts: np.ndarray,
    rng: np.ndarray,
    c: int,
    n_slots: int,
    slot_ns: int,
    gap_ns: int,
    retry_limit: int,
    sending: np.ndarray,
    expiry: np.ndarray,
) -> None:
    """Network c as one collision domain of saturated stations: Bianchi's slotted chain, where every
    station sees the same idle slots and busy periods. A station's counter is kept as the virtual slot
    at which it sends, so a busy period costs two passes over an array of N 32-bit slots (the
    earliest slot, then who sends in it); slots count from the run's start (a run is far shorter than
    2^31 slots). ``sending`` and ``expiry`` are scratch space of N."""
    n = state.shape[1]
    expiry = expiry[:n]
    for k in range(n):
        expiry[k] = state[c, k, COUNTER] if state[c, k, ACTIVE] == 1 else NEVER_SLOT
    now, slots, idle_slots, airtime = np.int64(0), np.int64(0), np.int64(0), np.int64(0)
    while slots < n_slots:
        first = expiry.min()
        senders = 0
        for k in range(n):
            if expiry[k] == first:
                sending[senders] = k
                senders += 1
        idle = first - now
        if slots + idle >= n_slots:
            idle = n_slots - slots
            slots, idle_slots, airtime, now = np.int64(n_slots), idle_slots + idle, airtime + idle * slot_ns, now + idle
            break
        slots += idle + 1
        idle_slots += idle
        longest = np.int64(0)
        for i in range(senders):
            longest = max(longest, ipar[c, sending[i], DATA_NS])
        j = sending[0]
        clean = senders == 1
        success = clean and _survives(rng, c, fpar[c, j, FER])
        airtime += idle * slot_ns + (ipar[c, j, DATA_NS] + ipar[c, j, TAIL_NS] if success else longest + gap_ns)
        for i in range(senders):
            k = sending[i]
            counts[c, k, ATTEMPTS] += 1
            if success:
                counts[c, k, SUCCESSES] += 1
                counts[c, k, BITS] += ipar[c, k, PAYLOAD_BITS]
                state[c, k, STAGE] = 0
            else:
                counts[c, k, FAILURES] += 1
                counts[c, k, LOSSES] += clean
                state[c, k, STAGE] += 1
                if retry_limit >= 0 and state[c, k, STAGE] > retry_limit:
                    counts[c, k, DROPS] += 1
                    state[c, k, STAGE] = 0
            _draw_backoff(rng, c, state, ipar, k)
            expiry[k] = first + 1 + state[c, k, COUNTER]
        now = first + 1
    for k in range(n):
        if state[c, k, ACTIVE] == 1:
            state[c, k, COUNTER] = expiry[k] - now
    net[c, SLOTS], net[c, IDLE_SLOTS] = slots, idle_slots
    net[c, RUN_START] = net[c, NOW]
    net[c, NOW] += airtime


@njit(cache=True, nogil=True)
def run_block(
    first: int,
    last: int,
    state: np.ndarray,
    ipar: np.ndarray,
    fpar: np.ndarray,
    hears: np.ndarray,
    net: np.ndarray,
    counts: np.ndarray,
    rng: np.ndarray,
    n_slots: int,
    slot_ns: int,
    gap_ns: int,
    retry_limit: int,
    queue_cap: int,
    one_domain: bool,
) -> None:
    """Advance networks first..last - 1 by n_slots virtual slots each (the GIL is released):
    saturated networks in one collision domain on the slotted fast path, others event by event."""
    sending = np.empty(state.shape[1], dtype=np.int64)  # the senders of a slot
    expiry = np.empty(state.shape[1], dtype=np.int32)  # the slot at which each station sends
    for c in range(first, last):
        m = 1  # stations past the last active one take no part: the loops stop there
        for k in range(state.shape[1]):
            if state[c, k, ACTIVE] == 1:
                m = k + 1
        if one_domain:
            _run_domain(
                state[:, :m], ipar[:, :m], fpar[:, :m], net, counts[:, :m], rng, c, n_slots, slot_ns, gap_ns,
                retry_limit, sending, expiry,
            )  # fmt: skip
        else:
            _run_network(
                state[:, :m], ipar[:, :m], fpar[:, :m], hears[:, :m, :m], net, counts[:, :m], rng, c, n_slots,
                slot_ns, gap_ns, retry_limit, queue_cap,
            )  # fmt: skip

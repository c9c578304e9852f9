"""Exact Markov chains of small networks: Bianchi's decoupling assumption checked without it."""

from __future__ import annotations

import math

import numpy as np

from sim.timing import W_MAX


def two_station_collision_probability(cw_min: int, cw_max: int | None = None) -> float:
    """The exact collision probability per attempt of two saturated stations, fixed window or BEB.

    Bianchi's decoupling assumption (the other station's attempts independent of one's own history) is
    at its weakest for N = 2, so this checks it there without it: a Markov chain over transmissions.
    Windows are W_s = min(cw_min 2^s, cw_max) for backoff stage s (no retry limit). After a success
    the winner is at stage 0 and draws a ~ U{0..W_0 - 1}; the waiting station keeps its stage s and
    its residual counter r (it counted the busy slot down too, as in ``sim.csma``): state (s, r).
    The next transmission is a collision when a = r, else a success leaving the other's residual
    |a - r| - 1. After a collision both stations move up a stage and draw afresh: state (s1, s2).
    For a fixed window the answer is exactly Bianchi's 2 / (W + 1); with BEB it is not.
    """
    cw_max = cw_min if cw_max is None else cw_max
    if not all(isinstance(w, (int, np.integer)) for w in (cw_min, cw_max)) or not 2 <= cw_min <= cw_max <= W_MAX:
        raise ValueError(f"windows must be integers with 2 <= cw_min <= cw_max <= {W_MAX}, got {cw_min!r}, {cw_max!r}")
    top = math.ceil(math.log2(cw_max / cw_min))
    windows = [min(cw_min * 2**stage, cw_max) for stage in range(top + 1)]
    offsets = np.cumsum([0, *windows])
    collision_base = int(offsets[-1])

    def collision_state(s1: int, s2: int) -> int:
        return collision_base + min(s1, top) * (top + 1) + min(s2, top)

    size = collision_base + (top + 1) ** 2
    transition = np.zeros((size, size))
    first = np.arange(windows[0])
    for stage, window in enumerate(windows):
        for residual in range(window):
            state = offsets[stage] + residual
            if residual < windows[0]:
                transition[state, collision_state(1, stage + 1)] += 1 / windows[0]
            winner_again = first[first < residual]
            np.add.at(transition[state], offsets[stage] + residual - winner_again - 1, 1 / windows[0])
            waiting_wins = first[first > residual]
            np.add.at(transition[state], offsets[0] + waiting_wins - residual - 1, 1 / windows[0])
    for s1, w1 in enumerate(windows):
        for s2, w2 in enumerate(windows):
            state = collision_state(s1, s2)
            a, b = np.meshgrid(np.arange(w1), np.arange(w2), indexing="ij")
            transition[state, collision_state(s1 + 1, s2 + 1)] += min(w1, w2) / (w1 * w2)
            np.add.at(transition[state], offsets[s2] + (b - a - 1)[a < b], 1 / (w1 * w2))
            np.add.at(transition[state], offsets[s1] + (a - b - 1)[a > b], 1 / (w1 * w2))
    # stationary distribution of the chain of transmissions: pi (T - I) = 0, sum(pi) = 1
    system = transition.T - np.eye(size)
    system[-1] = 1.0
    rhs = np.zeros(size)
    rhs[-1] = 1.0
    stationary = np.linalg.solve(system, rhs)
    collision_events = stationary[collision_base:].sum()
    return float(2 * collision_events / (1 + collision_events))

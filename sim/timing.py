"""802.11 frame timing: the slot, success and collision durations of a saturated DCF network.

Durations follow Bianchi (2000) for basic access: a success occupies
T_s = DATA + SIFS + delta + ACK + DIFS + delta and a collision T_c = DATA + DIFS + delta, where
DATA and ACK are OFDM frame airtimes (preamble + header, then 4 us symbols carrying the 16-bit
service field, the bytes and 6 tail bits).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

W_MAX = 2**16
"""Largest contention window (slots) the simulator, the model and the environments accept."""
LOG2_W_MAX = 16.0
"""log2 of ``W_MAX``: the top of every log2-window scale."""


def to_window(log2_window: ArrayLike) -> np.ndarray:
    """The window 2^log2_window, clipped into [1, W_MAX] (round it where a whole window is needed)."""
    return np.clip(np.exp2(log2_window), 1.0, W_MAX)


def to_log2(window: ArrayLike) -> np.ndarray:
    """log2 of windows clipped into [1, W_MAX]: the scale every learner and prompt reads windows on."""
    return np.log2(np.clip(window, 1.0, W_MAX))


INTERVAL_SLOTS = 5000
"""Virtual slots in one measurement: an env step on the embedded simulator, a probe of a prompt
(``measurement_slots``), and what the estimators' likelihoods and the Kalman N estimate assume."""

PAYLOAD_BYTES = 1500
"""The MSDU payload of every CSMA experiment unless one says otherwise (an Ethernet-sized frame)."""


@dataclass(frozen=True)
class Timing:
    """PHY/MAC timing of one network (defaults: 802.11a/g OFDM, 54 Mb/s data, 1500-byte payload)."""

    slot_us: float = 9.0
    sifs_us: float = 16.0
    difs_us: float = 34.0
    propagation_us: float = 1.0
    preamble_us: float = 20.0
    symbol_us: float = 4.0
    data_rate_mbps: float = 54.0
    control_rate_mbps: float = 24.0
    payload_bytes: int = PAYLOAD_BYTES
    mac_overhead_bytes: int = 36
    ack_bytes: int = 14

    def __post_init__(self) -> None:
        for name in (
            "slot_us",
            "sifs_us",
            "difs_us",
            "preamble_us",
            "symbol_us",
            "data_rate_mbps",
            "control_rate_mbps",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"timing {name} must be positive, got {getattr(self, name)!r}")
        if self.propagation_us < 0:
            raise ValueError(f"timing propagation_us must be >= 0, got {self.propagation_us!r}")
        for name in ("payload_bytes", "mac_overhead_bytes", "ack_bytes"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < (1 if name == "payload_bytes" else 0):
                raise ValueError(f"timing {name} must be a non-negative integer (payload >= 1), got {value!r}")

    def airtime_us(self, n_bytes: int, rate_mbps: float) -> float:
        """Duration of an OFDM frame of ``n_bytes`` at ``rate_mbps``."""
        bits_per_symbol = rate_mbps * self.symbol_us
        return self.preamble_us + math.ceil((16 + 6 + 8 * n_bytes) / bits_per_symbol) * self.symbol_us

    @property
    def data_us(self) -> float:
        return self.airtime_us(self.payload_bytes + self.mac_overhead_bytes, self.data_rate_mbps)

    @property
    def ack_us(self) -> float:
        return self.airtime_us(self.ack_bytes, self.control_rate_mbps)

    @property
    def success_us(self) -> float:
        """T_s: channel time of a successful transmission, ACK and DIFS included."""
        return self.data_us + self.sifs_us + self.propagation_us + self.ack_us + self.difs_us + self.propagation_us

    @property
    def collision_us(self) -> float:
        """T_c: channel time of a collision (the colliding frames, then DIFS)."""
        return self.data_us + self.difs_us + self.propagation_us

    @property
    def payload_bits(self) -> int:
        return 8 * self.payload_bytes


OFDM_54 = Timing()
"""802.11a/g, 54 Mb/s data, 24 Mb/s ACKs, 1500-byte payload."""


def window_grid(low: int, high: int, per_octave: int = 2) -> list[int]:
    """Windows from ``low`` to ``high`` in steps of 1 / ``per_octave`` octave, rounded: the window axis of
    the measurement grids (``icl csma collect``'s default: 16 .. 1024 in half octaves)."""
    if not 1 <= low < high or per_octave < 1:
        raise ValueError(f"need 1 <= low < high and per_octave >= 1, got {low}, {high}, {per_octave}")
    steps = round(math.log2(high / low) * per_octave)
    return [round(2 ** (math.log2(low) + k / per_octave)) for k in range(steps + 1)]

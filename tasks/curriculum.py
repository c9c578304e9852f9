"""Curriculum on input dimension and prompt length (Garg et al. 2022, Section 4).

Both grow from ``start`` to ``end`` by ``increment`` every ``interval`` steps. The value at a step
is a pure function of the step, so a resumed run follows the same schedule.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Schedule:
    """start -> end, + increment every interval steps (a constant when start == end)."""

    start: int
    end: int
    increment: int = 1
    interval: int = 1000

    def __post_init__(self) -> None:
        for name in ("start", "end", "increment", "interval"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"curriculum {name} must be a positive integer, got {value!r}")
        if self.start > self.end:
            raise ValueError(f"curriculum start ({self.start}) must not exceed end ({self.end})")

    def at(self, step: int) -> int:
        """The value in force at training step ``step`` (0-based)."""
        return min(self.end, self.start + (step // self.interval) * self.increment)


@dataclass(frozen=True)
class Curriculum:
    """Schedules for the active input dimension and the prompt length."""

    dims: Schedule
    points: Schedule

    def at(self, step: int) -> tuple[int, int]:
        """(n_dims_active, n_points) at training step ``step``."""
        return self.dims.at(step), self.points.at(step)

"""Measurement tables: collision probability and throughput of an (N, W, seed) grid, as ``sim.collect``
measures them and the CSMA prompt tasks read them (reading one needs no simulator and no process pool)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

COLUMNS = ["backend", "n_stations", "window", "seed", "collision_probability", "throughput_mbps", "attempts_per_slot"]
"""A table's columns: one row per (backend, N, W, seed)."""


def best_window(windows: np.ndarray, throughput: np.ndarray) -> float:
    """The throughput-maximising window on a log-spaced grid, refined by a parabola in log2 W."""
    i = int(np.argmax(throughput))
    if i in (0, len(windows) - 1):
        return float(windows[i])
    x, y = np.log2(windows[i - 1 : i + 2]), throughput[i - 1 : i + 2]
    a, b, _ = np.polyfit(x, y, 2)
    return float(2 ** np.clip(-b / (2 * a), x[0], x[-1])) if a < 0 else float(windows[i])


@dataclass(frozen=True)
class MeasurementTable:
    """A full (N, W, seed) grid of measurements, as the CSMA prompt task consumes it.

    ``collision[i, j, k]`` is the collision probability of N = ``n_values[i]`` at W = ``windows[j]``
    in run k. The measured optimum of each N is ``optimal_window(n)``; the query collision case is
    ``target_collision``, the median over N of the collision probability at the optimum (it hardly
    depends on N, as in Bianchi's model, so the query does not leak N).
    """

    frame: pd.DataFrame

    @classmethod
    def load(cls, path: str | os.PathLike) -> MeasurementTable:
        """A table written by ``icl csma collect``, checked for its columns and for a full grid."""
        frame = pd.read_csv(path)
        missing = [column for column in COLUMNS if column not in frame.columns]
        if missing:
            raise ValueError(f"{path} is not a measurement table: missing columns {', '.join(missing)}")
        if frame.empty:
            raise ValueError(f"{path} holds no measurements")
        counts = frame.groupby(["n_stations", "window"]).size()
        if len(counts) != frame.n_stations.nunique() * frame.window.nunique() or counts.nunique() != 1:
            raise ValueError(f"{path} is not a full grid: every (N, W) needs the same number of runs")
        return cls(frame.sort_values(["n_stations", "window", "seed"], ignore_index=True))

    @property
    def n_values(self) -> np.ndarray:
        return np.sort(self.frame.n_stations.unique())

    @property
    def windows(self) -> np.ndarray:
        return np.sort(self.frame.window.unique())

    @property
    def collision(self) -> np.ndarray:
        """Collision probabilities as an array [N, W, run]."""
        return self._grid("collision_probability")

    @property
    def throughput(self) -> np.ndarray:
        """Throughputs (Mb/s) as an array [N, W, run]."""
        return self._grid("throughput_mbps")

    def _grid(self, column: str) -> np.ndarray:
        values = self.frame[column].to_numpy(dtype=float)
        return values.reshape(len(self.n_values), len(self.windows), -1)

    def restricted(self, n_min: int, n_max: int, w_min: int, w_max: int, path: str = "the table") -> MeasurementTable:
        """The part of the table with N in [n_min, n_max] and W in [w_min, w_max]; an error if that
        leaves no N or fewer than two windows."""
        frame = self.frame
        kept = frame[frame.n_stations.between(n_min, n_max) & frame.window.between(w_min, w_max)]
        if kept.n_stations.nunique() < 1 or kept.window.nunique() < 2:
            raise ValueError(
                f"{path} has N in {self.n_values.tolist()} and W in {self.windows.tolist()}: need at least one N "
                f"in [{n_min}, {n_max}] and two windows in [{w_min}, {w_max}]"
            )
        return MeasurementTable(kept.reset_index(drop=True))

    @cached_property
    def _curves(self) -> dict[str, dict[int, np.ndarray]]:
        """Mean collision probability and throughput over runs, per N, in window order."""
        means = self.frame.groupby(["n_stations", "window"])[["collision_probability", "throughput_mbps"]].mean()
        return {
            column: {int(n): group.to_numpy() for n, group in means[column].groupby(level="n_stations")}
            for column in means.columns
        }

    def _means(self, column: str, n: int) -> np.ndarray:
        curves = self._curves[column]
        if n not in curves:
            raise ValueError(f"no measurements for N = {n}; the table has N in {self.n_values.tolist()}")
        return curves[n]

    @cached_property
    def _optima(self) -> dict[int, float]:
        windows = self.windows.astype(float)
        return {n: best_window(windows, curve) for n, curve in self._curves["throughput_mbps"].items()}

    def optimal_window(self, n: int) -> float:
        """The measured throughput-optimal window of N stations."""
        self._means("throughput_mbps", n)
        return self._optima[n]

    def throughput_at(self, n: int, log2_window: np.ndarray) -> np.ndarray:
        """The mean measured throughput (Mb/s) of N stations at windows 2^log2_window, interpolated in
        log2 W (held at the grid's ends)."""
        return np.interp(log2_window, np.log2(self.windows), self._means("throughput_mbps", n))

    @cached_property
    def target_collision(self) -> float:
        log2_windows = np.log2(self.windows)
        optima = [
            np.interp(np.log2(w), log2_windows, self._means("collision_probability", n))
            for n, w in self._optima.items()
        ]
        return float(np.median(optima))

    def log2_window_at(self, n: int, p: np.ndarray) -> np.ndarray:
        """log2 of the window at which N stations see collision probability p (the measured curve,
        interpolated in log2 W against log(-log(1 - p)), where it is close to linear)."""
        curve = np.clip(self._means("collision_probability", n), 1e-4, 1 - 1e-4)
        z = np.log(-np.log1p(-curve))
        order = np.argsort(z)
        target = np.log(-np.log1p(-np.clip(p, 1e-4, 1 - 1e-4)))
        return np.interp(target, z[order], np.log2(self.windows)[order])

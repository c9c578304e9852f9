"""In-context CSMA contention-window prompts (our reading of Hao, Li, Duan 2025).

One prompt is one network whose number of stations N is hidden. Its examples are
"collision-threshold data examples": the collision probability p_i observed when every station
uses the fixed contention window W_i (the threshold), with label y_i = log2 W_i. The last
example is the query collision case: x = p*, the collision level at which throughput peaks
(Bianchi: it depends on the frame timing, hardly on N; we compute it at a reference N so that the
query does not leak N), and its label is log2 of the threshold at which this network reaches p*,
which is the throughput-optimal W*(N) to within a fraction of a percent of throughput. Learning the map from collision
level to threshold of a network it has never seen is the in-context task.

Inputs are x = (p, z) with z = log(-log(1 - p)): for a fixed window, log W is close to linear in
z with an N-dependent intercept (log(1 - p) = (N - 1) log(1 - 2 / (W + 1))), so the task is a
noisy one-dimensional regression whose offset must be inferred from the examples.
Observations come from Bianchi's model (fast, for training), optionally with finite-window
measurement noise and a fraction of erroneous examples, or from a measurement table of a
simulator (``measurements``: a CSV written by ``icl csma collect``, embedded or ns-3): then N and the
probe windows are drawn from the table's grid, each example is one measured run, and the optimum
and the query collision case are the measured ones (``sim.table.MeasurementTable``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from sim.env import Observation
from sim.table import MeasurementTable
from sim.timing import LOG2_W_MAX, PAYLOAD_BYTES, W_MAX, Timing, to_window
from tasks.base import Functions, Task, register
from theory import bianchi

ERROR_MODES = ("random", "wrong_n", "burst")
INPUTS = {"p_z": 2, "p": 1}
"""Input encodings and their n_dims: (p, log(-log(1 - p))), or the raw collision probability alone."""
WINDOW_SCALES = ("log2", "linear")
"""Label scales: log2 W, or W / w_max."""
THROUGHPUT_NORMS = ("scale", "running_max")
P_FLOOR = 1e-4


@cache
def optimum(n_stations: int, payload_bytes: int) -> tuple[float, float]:
    """(W*, p*) of a fixed-window network of n stations with this payload (cached)."""
    timing = Timing(payload_bytes=payload_bytes)
    window = bianchi.optimal_window(n_stations, timing)
    return window, float(bianchi.collision_probability(n_stations, window))


def features(p: Tensor) -> Tensor:
    """The input vector (p, log(-log(1 - p))) of a collision probability p."""
    p = p.clamp(P_FLOOR, 1 - P_FLOOR)
    return torch.stack([p, torch.log(-torch.log1p(-p))], dim=-1)


def load_table(path: str, n_min: int, n_max: int, w_min: int, w_max: int) -> MeasurementTable:
    """A measurement table (``icl csma collect``) cut to N in [n_min, n_max] and W in [w_min, w_max]."""
    if not Path(path).is_file():
        raise ValueError(f"measurements table {path} does not exist; write one with `icl csma collect --out {path}`")
    return MeasurementTable.load(path).restricted(n_min, n_max, w_min, w_max, path)


class BianchiSource:
    """Examples from Bianchi's model: N uniform in [n_min, n_max], probe windows log-uniform in
    [w_min, w_max], exact collision probabilities; the optimum and p* are the model's."""

    def __init__(self, n_min: int, n_max: int, w_min: int, w_max: int) -> None:
        self.n_min, self.n_max, self.w_min, self.w_max = n_min, n_max, w_min, w_max

    @property
    def n_reference(self) -> int:
        """The N at which the query's collision level p* is computed (geometric middle of the range)."""
        return round(math.sqrt(self.n_min * self.n_max))

    def draw_n(self, shape: tuple[int, ...], generator: torch.Generator) -> Tensor:
        """Hidden numbers of stations."""
        return torch.randint(self.n_min, self.n_max + 1, shape, generator=generator)

    def probe_windows(self, shape: tuple[int, ...], generator: torch.Generator) -> Tensor:
        """The windows the examples probe."""
        log_w = torch.empty(shape, dtype=torch.float64).uniform_(
            math.log2(self.w_min), math.log2(self.w_max), generator=generator
        )
        return torch.exp2(log_w).round().clamp(1, W_MAX)

    def observe(self, n: Tensor, windows: Tensor, generator: torch.Generator) -> Tensor:
        """Collision probabilities of networks of n stations at these windows."""
        return torch.from_numpy(bianchi.collision_probability(n.numpy(), windows.numpy()))

    def optimal_window(self, n_stations: int, payload_bytes: int) -> float:
        """The throughput-optimal window W*(N)."""
        return optimum(n_stations, payload_bytes)[0]

    def target_collision(self, payload_bytes: int) -> float:
        """The query collision case p*."""
        return optimum(self.n_reference, payload_bytes)[1]

    def log2_window(self, n_stations: Tensor, p: Tensor) -> Tensor:
        """log2 of the window at which each network sees p: the exact inverse of the fixed-window model,
        tau = 1 - (1 - p)^(1 / (N - 1)), W = 2 / tau - 1."""
        n = n_stations.double()[:, None]
        p = p.double().clamp(P_FLOOR, 1 - P_FLOOR)
        tau = -torch.expm1(torch.log1p(-p) / (n - 1))
        return torch.log2(2 / tau - 1).clamp(0, LOG2_W_MAX).float()


class TableSource:
    """Examples from a measurement table (``icl csma collect``): N and the probe windows from its
    grid, each example one measured run; the optimum and p* are the measured ones."""

    def __init__(self, table: MeasurementTable) -> None:
        self.table = table
        self.collision = torch.tensor(table.collision)

    def draw_n(self, shape: tuple[int, ...], generator: torch.Generator) -> Tensor:
        """Hidden numbers of stations, from the table's."""
        n_values = torch.from_numpy(self.table.n_values)
        return n_values[torch.randint(len(n_values), shape, generator=generator)]

    def probe_windows(self, shape: tuple[int, ...], generator: torch.Generator) -> Tensor:
        """The windows the examples probe, from the table's grid."""
        grid = torch.from_numpy(self.table.windows).double()
        return grid[torch.randint(len(grid), shape, generator=generator)]

    def observe(self, n: Tensor, windows: Tensor, generator: torch.Generator) -> Tensor:
        """One measured run of the table per example."""
        n_index = torch.from_numpy(np.searchsorted(self.table.n_values, n.numpy()))
        w_index = torch.from_numpy(np.searchsorted(self.table.windows, windows.numpy()))
        run = torch.randint(self.collision.shape[-1], n.shape, generator=generator)
        return self.collision[n_index, w_index, run]

    def optimal_window(self, n_stations: int, payload_bytes: int) -> float:
        """The measured optimum of N (one payload per table)."""
        return self.table.optimal_window(n_stations)

    def target_collision(self, payload_bytes: int) -> float:
        """The measured collision level at the optimum."""
        return self.table.target_collision

    def log2_window(self, n_stations: Tensor, p: Tensor) -> Tensor:
        """log2 of the window at which each network sees p: its measured curve, interpolated."""
        levels = p.double().numpy()
        rows = [self.table.log2_window_at(int(k), levels[i]) for i, k in enumerate(n_stations.tolist())]
        return torch.from_numpy(np.stack(rows)).float()


@register
class CsmaWindowTask(Task):
    """Collision-threshold prompts for a hidden N; the last example is the query (p*, W*).

    ``frame_error_rate`` adds channel losses: a station cannot tell a lost frame from a collided one,
    so every probe reads 1 - (1 - p)(1 - FER), a systematic error on all of them (the label, the
    window that maximises throughput, is unchanged). ``error_mode`` says what a wrong example is:
    ``random`` a uniform reading in [0, 0.9], ``wrong_n`` the reading of another network, ``burst``
    (correlated errors) an interference episode that hits a run of consecutive probes, about a
    fraction eps of them, each losing the same share of its frames (drawn in [0.1, 0.5]).

    ``inputs`` and ``window_scale`` are the ablations of the encoding: the raw p without the z
    feature (n_dims = 1), and labels W / w_max instead of log2 W."""

    name = "csma_window"
    min_points = 2  # probes and the query
    dimension_curriculum = False  # the features are one reading, p and log(-log(1 - p))

    def __init__(
        self,
        n_dims: int = 2,
        *,
        inputs: str = "p_z",
        window_scale: str = "log2",
        n_min: int = 5,
        n_max: int = 50,
        w_min: int = 16,
        w_max: int = 1024,
        measurement_slots: int = 0,
        frame_error_rate: float = 0.0,
        error_fraction: float = 0.0,
        error_mode: str = "random",
        payload_bytes: Sequence[int] = (PAYLOAD_BYTES,),
        measurements: str | None = None,
        **kwargs: Any,
    ) -> None:
        if inputs not in INPUTS:
            raise ValueError(f"inputs {inputs!r} is not allowed; choose one of: {', '.join(INPUTS)}")
        if n_dims != INPUTS[inputs]:
            raise ValueError(f"csma_window with inputs {inputs!r} has n_dims = {INPUTS[inputs]}, got {n_dims}")
        if window_scale not in WINDOW_SCALES:
            raise ValueError(f"window_scale {window_scale!r} is not allowed; choose one of: {', '.join(WINDOW_SCALES)}")
        if not 2 <= n_min <= n_max:
            raise ValueError(f"need 2 <= n_min <= n_max (one station never collides), got n_min={n_min}, n_max={n_max}")
        if not 1 <= w_min < w_max <= W_MAX:
            raise ValueError(f"need 1 <= w_min < w_max <= {W_MAX}, got w_min={w_min}, w_max={w_max}")
        if not 0.0 <= error_fraction <= 1.0:
            raise ValueError(f"error_fraction (eps) must be in [0, 1], got {error_fraction}")
        if error_mode not in ERROR_MODES:
            raise ValueError(f"error_mode {error_mode!r} is not allowed; choose one of: {', '.join(ERROR_MODES)}")
        if not 0.0 <= frame_error_rate < 1.0:
            raise ValueError(f"frame_error_rate must be in [0, 1), got {frame_error_rate}")
        if measurement_slots < 0:
            raise ValueError(f"measurement_slots must be >= 0 (0 = exact), got {measurement_slots}")
        if not payload_bytes or any(int(b) < 1 for b in payload_bytes):
            raise ValueError(f"payload_bytes must be a non-empty list of positive sizes, got {payload_bytes!r}")
        self.table = None if measurements is None else load_table(measurements, n_min, n_max, w_min, w_max)
        if self.table is not None and (measurement_slots or len(payload_bytes) != 1):
            raise ValueError(
                "a measurement table already holds measured collisions of one payload size: "
                "leave measurement_slots at 0 and give one payload_bytes"
            )
        self.source = BianchiSource(n_min, n_max, w_min, w_max) if self.table is None else TableSource(self.table)
        self.inputs, self.window_scale = inputs, window_scale
        self.n_min, self.n_max = n_min, n_max
        self.w_min, self.w_max = w_min, w_max
        self.measurement_slots = measurement_slots
        self.frame_error_rate = float(frame_error_rate)
        self.error_fraction = error_fraction
        self.error_mode = error_mode
        self.payload_bytes = tuple(int(b) for b in payload_bytes)
        super().__init__(n_dims, **kwargs)

    def draw_functions(self, batch_size: int, generator: torch.Generator, n_dims_active: int) -> Functions:
        n = self.source.draw_n((batch_size,), generator)
        payload = torch.randint(len(self.payload_bytes), (batch_size,), generator=generator)
        return {"n_stations": n, "payload_index": payload}

    def examples(
        self, batch_size: int, n_points: int, generator: torch.Generator, n_dims_active: int
    ) -> tuple[Functions, Tensor, Tensor]:
        """n_points - 1 probes (a window and the collision probability measured at it) and the query
        (p*, labelled with the window that reaches it: W*)."""
        functions = self.functions_for(batch_size, generator, n_dims_active)
        windows = self.source.probe_windows((batch_size, n_points - 1), generator)
        n_probe = functions["n_stations"][:, None].double().expand_as(windows)
        p = self.source.observe(n_probe, windows, generator)
        p = self._measure(p, n_probe, windows, generator)
        if self.frame_error_rate:  # (1 - (1 - p) is not p in floating point: readings stay exact without)
            p = 1.0 - (1.0 - p) * (1.0 - self.frame_error_rate)
        p = self._corrupt_examples(p, n_probe, windows, generator)
        xs = self.inputs_of(torch.cat([p, self._p_star(functions)[:, None]], dim=1)).float()
        ys = torch.cat([self.labels_of(windows.log2()).float(), self.apply(functions, xs[:, -1:])], dim=1)
        return functions, xs, ys

    @property
    def probe_range(self) -> tuple[int, int]:
        """The windows a controller probes: the task's."""
        return self.w_min, self.w_max

    @property
    def query_collision(self) -> float:
        """The query collision case p* of the task's (first) frame size."""
        return self.target_collision(self.payload_bytes[0])

    def prompt_of(self, windows: Sequence[int], observations: Sequence[Observation]) -> tuple[Tensor, Tensor]:
        """One prompt [1, K + 1] from K probes in an env and the query p*, in this task's encoding."""
        p = torch.tensor([o.collision_probability for o in observations] + [self.query_collision], dtype=torch.float64)
        labels = self.labels_of(torch.tensor([math.log2(w) for w in windows] + [0.0], dtype=torch.float64))
        return self.inputs_of(p).float()[None], labels.float()[None]

    def inputs_of(self, p: Tensor) -> Tensor:
        """The model's input vectors for collision readings p, in this task's ``inputs`` encoding."""
        x = features(p)
        return x if self.inputs == "p_z" else x[..., :1]

    def labels_of(self, log2_window: Tensor) -> Tensor:
        """The labels of windows 2^log2_window, in this task's ``window_scale``."""
        return log2_window if self.window_scale == "log2" else torch.exp2(log2_window) / self.w_max

    def log2_window_of(self, labels: Tensor) -> Tensor:
        """The log2 window a label (or a prediction) stands for: the inverse of ``labels_of``; a linear
        prediction at or below zero stands for W = 1."""
        if self.window_scale == "log2":
            return labels
        return torch.log2((labels * self.w_max).clamp(min=1.0))

    def prompt_info(self, functions: Functions) -> dict[str, Any]:
        """The hidden N, the payload, the oracle W* and the target p* of each prompt."""
        n = functions["n_stations"]
        payloads = [self.payload_bytes[i] for i in functions["payload_index"].tolist()]
        w_star = [self.optimal_window(int(k), b) for k, b in zip(n.tolist(), payloads)]
        return {
            "n_stations": n,
            "payload_bytes": torch.tensor(payloads),
            "w_star": torch.tensor(w_star, dtype=torch.float64),
            "p_star": self._p_star(functions),
        }

    def _p_star(self, functions: Functions) -> Tensor:
        return torch.tensor(
            [self.target_collision(self.payload_bytes[i]) for i in functions["payload_index"].tolist()],
            dtype=torch.float64,
        )

    def target_collision(self, payload_bytes: int) -> float:
        """The query collision case p*: it depends on the frame timing only (not on the hidden N)."""
        return self.source.target_collision(payload_bytes)

    def optimal_window(self, n_stations: int, payload_bytes: int) -> float:
        """The oracle W*(N): Bianchi's, or the measured optimum of the table."""
        return self.source.optimal_window(n_stations, payload_bytes)

    def _measure(self, p: Tensor, n: Tensor, windows: Tensor, generator: torch.Generator) -> Tensor:
        """Finite-window estimate, as a station counter would see it: over ``measurement_slots``
        slots the network makes about slots * N * tau attempts (tau = 2 / (W + 1)), of which a
        Binomial(attempts, p) collide. Few attempts give coarse (even zero) estimates."""
        if self.measurement_slots == 0:
            return p
        attempts = (self.measurement_slots * n * 2 / (windows + 1)).round()
        collided = torch.binomial(attempts, p, generator=generator)
        return torch.where(attempts > 0, collided / attempts.clamp(min=1), torch.zeros_like(p))

    def _corrupt_examples(self, p: Tensor, n: Tensor, windows: Tensor, generator: torch.Generator) -> Tensor:
        """Replace a fraction eps of the examples by wrong collision measurements."""
        if self.error_fraction == 0:
            return p
        if self.error_mode == "burst":
            return self._interference_burst(p, generator)
        wrong = torch.rand(p.shape, generator=generator, dtype=torch.float64) < self.error_fraction
        if self.error_mode == "random":
            bad = torch.rand(p.shape, generator=generator, dtype=torch.float64) * 0.9
        else:
            bad = self.source.observe(self.source.draw_n(p.shape, generator).double(), windows, generator)
        return torch.where(wrong, bad, p)

    def _interference_burst(self, p: Tensor, generator: torch.Generator) -> Tensor:
        """Consecutive probes (Binomial(probes, eps) of them, at a random start) lose a shared share f
        of their frames: each reads 1 - (1 - p)(1 - f)."""
        batch, n_probes = p.shape
        count, rate = torch.full((batch, 1), float(n_probes)), torch.full((batch, 1), self.error_fraction)
        length = torch.binomial(count, rate, generator=generator)
        start = (torch.rand((batch, 1), generator=generator, dtype=torch.float64) * (n_probes - length + 1)).floor()
        index = torch.arange(n_probes, dtype=torch.float64)
        hit = (index >= start) & (index < start + length)
        lost = 0.1 + 0.4 * torch.rand((batch, 1), generator=generator, dtype=torch.float64)
        return torch.where(hit, 1.0 - (1.0 - p) * (1.0 - lost), p)

    def apply(self, functions: Functions, xs: Tensor) -> Tensor:
        """The label of the fixed window at which each network sees collision probability p = xs[..., 0]:
        the source's inverse (Bianchi's exact one, or the measured curve). At p = p* it gives W*."""
        return self.labels_of(self.source.log2_window(functions["n_stations"], xs[..., 0]))

    def error_scale(self, n_dims_active: int) -> float:
        """Variance of the label of a window log-uniform on [w_min, w_max]."""
        if self.window_scale == "log2":
            return (math.log2(self.w_max) - math.log2(self.w_min)) ** 2 / 12
        span = math.log(self.w_max / self.w_min)
        ratio = self.w_min / self.w_max
        mean = (1 - ratio) / span
        return (1 - ratio**2) / (2 * span) - mean**2


@register
class CsmaPeakTask(Task):
    """Throughput-peak prompts across worlds: the window that maximises this network's throughput.

    Each prompt is one network of one measured world (a table of ``measurements``, drawn uniformly
    when there are several: domain randomisation) with a hidden N. Its examples are probes: the
    collision probability p_i and the throughput s_i measured at window W_i (x = (p_i, s_i, 0)),
    labelled log2 W_i; s_i is S_i / ``throughput_scale`` Mb/s, or with ``throughput_norm="running_max"``
    S_i over the largest throughput of the probes so far (causal, and blind to the network's rate). The query x = (0, 0, 1) asks for the network's measured
    optimum, labelled log2 W*. Unlike ``csma_window`` it needs no collision level p*, which Bianchi's
    model supplies and other worlds move: where the throughput peaks is read off the probes.
    """

    name = "csma_peak"
    min_points = 2  # probes and the query
    dimension_curriculum = False

    def __init__(
        self,
        n_dims: int = 3,
        *,
        measurements: str | Sequence[str] = (),
        n_min: int = 2,
        n_max: int = 1000,
        w_min: int = 1,
        w_max: int = W_MAX,
        throughput_scale: float = 50.0,
        throughput_norm: str = "scale",
        **kwargs: Any,
    ) -> None:
        if throughput_norm not in THROUGHPUT_NORMS:
            raise ValueError(
                f"throughput_norm {throughput_norm!r} is not allowed; choose one of: {', '.join(THROUGHPUT_NORMS)}"
            )
        if n_dims != 3:
            raise ValueError(f"csma_peak has n_dims = 3 (p, throughput, query flag), got {n_dims}")
        paths = [measurements] if isinstance(measurements, str) else list(measurements)
        if not paths:
            raise ValueError("csma_peak needs measurements: one or more tables written by `icl csma collect`")
        if not throughput_scale > 0:
            raise ValueError(f"throughput_scale must be positive (Mb/s), got {throughput_scale}")
        self.tables = [load_table(path, n_min, n_max, w_min, w_max) for path in paths]
        self.throughput_scale = float(throughput_scale)
        self.throughput_norm = throughput_norm
        self.grids = [
            (torch.tensor(t.collision), torch.tensor(t.throughput), torch.from_numpy(t.n_values), t.windows)
            for t in self.tables
        ]
        log2_windows = np.log2(np.concatenate([t.windows for t in self.tables]))
        self.log2_range = (float(log2_windows.min()), float(log2_windows.max()))
        super().__init__(n_dims, **kwargs)

    def draw_functions(self, batch_size: int, generator: torch.Generator, n_dims_active: int) -> Functions:
        table = torch.randint(len(self.tables), (batch_size,), generator=generator)
        pick = torch.rand(batch_size, generator=generator, dtype=torch.float64)
        n = torch.stack([self.grids[t][2][int(u * len(self.grids[t][2]))] for t, u in zip(table.tolist(), pick)])
        return {"table": table, "n_stations": n}

    def examples(
        self, batch_size: int, n_points: int, generator: torch.Generator, n_dims_active: int
    ) -> tuple[Functions, Tensor, Tensor]:
        """n_points - 1 probes of the prompt's network (a window of its table's grid, one measured run
        each) and the query, labelled with the measured optimum."""
        functions = self.functions_for(batch_size, generator, n_dims_active)
        picks = torch.rand((batch_size, n_points - 1, 2), generator=generator, dtype=torch.float64)
        xs = torch.zeros(batch_size, n_points, 3)
        ys = torch.zeros(batch_size, n_points)
        for b, (t, n) in enumerate(zip(functions["table"].tolist(), functions["n_stations"].tolist())):
            collision, throughput, n_values, windows = self.grids[t]
            i = int(np.searchsorted(n_values.numpy(), n))
            w = (picks[b, :, 0] * len(windows)).long()
            run = (picks[b, :, 1] * collision.shape[-1]).long()
            xs[b, :-1, 0] = collision[i, w, run].float()
            xs[b, :-1, 1] = self.throughput_inputs(throughput[i, w, run]).float()
            ys[b, :-1] = torch.from_numpy(np.log2(windows[w.numpy()])).float()
        xs[:, -1, 2] = 1.0
        ys[:, -1] = self.apply(functions, xs[:, -1:])[:, 0]
        return functions, xs, ys

    def prompt_info(self, functions: Functions) -> dict[str, Any]:
        """The hidden N, the table (world) of each prompt and its measured optimum W*."""
        return {"n_stations": functions["n_stations"], "table": functions["table"], "w_star": self._optima(functions)}

    def _optima(self, functions: Functions) -> Tensor:
        pairs = zip(functions["table"].tolist(), functions["n_stations"].tolist())
        return torch.tensor([self.tables[t].optimal_window(int(n)) for t, n in pairs], dtype=torch.float64)

    def apply(self, functions: Functions, xs: Tensor) -> Tensor:
        """log2 of each network's measured optimum, the answer to the query whatever its x."""
        return self._optima(functions).log2().float()[:, None].expand(xs.shape[:-1])

    @property
    def probe_range(self) -> tuple[int, int]:
        """The windows a controller probes: the tables' range."""
        return round(2 ** self.log2_range[0]), round(2 ** self.log2_range[1])

    @property
    def query_collision(self) -> None:
        """No query collision level: a controller takes the one it measures at the window chosen."""
        return None

    def prompt_of(self, windows: Sequence[int], observations: Sequence[Observation]) -> tuple[Tensor, Tensor]:
        """One prompt [1, K + 1] from K probes in an env and the query."""
        xs = torch.zeros(1, len(windows) + 1, 3)
        xs[0, :-1, 0] = torch.tensor([o.collision_probability for o in observations])
        throughput = torch.tensor([o.throughput_mbps for o in observations], dtype=torch.float64)
        xs[0, :-1, 1] = self.throughput_inputs(throughput)
        xs[0, -1, 2] = 1.0
        ys = torch.tensor([[math.log2(w) for w in windows] + [0.0]])
        return xs, ys

    def throughput_inputs(self, throughput: Tensor) -> Tensor:
        """The s inputs of a prompt's probe throughputs (Mb/s, in probe order)."""
        if self.throughput_norm == "scale":
            return throughput / self.throughput_scale
        return throughput / torch.cummax(throughput, dim=-1).values.clamp(min=1e-9)

    def log2_window_of(self, labels: Tensor) -> Tensor:
        """The log2 window a prediction stands for (labels are log2 W)."""
        return labels

    def error_scale(self, n_dims_active: int) -> float:
        """Variance of log2 W uniform over the tables' window range."""
        low, high = self.log2_range
        return (high - low) ** 2 / 12


def throughput_at(n_stations: Tensor, log2_window: Tensor, payload_bytes: Tensor) -> np.ndarray:
    """Bianchi throughput (Mb/s) of each network when it uses window 2^log2_window."""
    windows = to_window(log2_window.double().numpy())
    out = np.empty(len(windows))
    for payload in payload_bytes.unique().tolist():
        mask = (payload_bytes == payload).numpy()
        out[mask] = bianchi.throughput(n_stations.numpy()[mask], windows[mask], 0, Timing(payload_bytes=payload))
    return out

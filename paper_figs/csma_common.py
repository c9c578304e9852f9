"""Pieces shared by the CSMA figures, and by the CSMA benchmarks that score the same trained runs: the ICL
optimizer's run configs, the world tables, the DRL baseline and the plots of policy comparisons."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.axes import Axes

from control.drl import DrlAgent
from control.experiments import EnvFactory, trained_agent
from icl import config as cfg
from icl.io import atomic_path
from paper_figs import SMOKE_RUN, by_size
from paper_figs.names import THEORY, name_of, palette_of
from paper_figs.plots import plot_band
from sim.collect import measure, simulator_digest
from sim.env import CsmaEnv, Embedded
from sim.timing import INTERVAL_SLOTS, window_grid
from sim.worlds import WORLDS, World, WorldRanges, random_worlds, world
from tasks.csma import INPUTS

log = logging.getLogger(__name__)


CSMA_PRESET = "csma_window"
"""The controller's training recipe, a shipped preset (``icl/configs/csma_window.toml``): every CSMA
run of the figures and benchmarks starts from it."""


def _training(size: str, seed: int, steps: int) -> dict[str, Any]:
    """The training settings of every CSMA run: the preset's, at ``steps`` steps (smoke: shrunk)."""
    preset = cfg.read_toml(CSMA_PRESET)
    return {
        **{f"train.{key}": value for key, value in preset["train"].items()},
        "train.steps": steps,
        "train.seed": seed,
        "eval.n_prompts": preset["eval"]["n_prompts"],
        **by_size(size, SMOKE_RUN, {}, {}),
    }


def run_config(
    name: str,
    size: str,
    seed: int,
    error_fraction: float,
    keep_checkpoints: Sequence[int] = (),
    model_size: str = "tiny",
    **task_params: Any,
) -> cfg.RunConfig:
    """The ICL optimizer's training run: the preset (csma_window prompts of 10 probes + query, tiny
    model) at ``error_fraction`` (smoke: the quick run, shrunk); ``task_params`` add csma_window options
    (an ablated encoding, an error mode)."""
    preset = cfg.read_toml(CSMA_PRESET)
    values = {
        "name": f"{name}-{size}-seed{seed}",
        "task.n_dims": INPUTS[task_params.get("inputs", "p_z")],
        "task.params": {**preset["task"]["params"], "error_fraction": error_fraction, **task_params},
        "model.size": model_size,
        **_training(size, seed, 20_000 if size == "full" else preset["train"]["steps"]),
        "train.keep_checkpoints": list(keep_checkpoints),
    }
    return cfg.from_dict(cfg.set_values(preset, values))


WORLD_N = [2, 3, 5, 8, 12, 16, 20, 25, 30, 40, 50]
WORLD_WINDOWS = window_grid(8, 4096)
"""The (N, W) grid of the world tables: W = 8 .. 4096 in half octaves (hidden stations want large W)."""
TRAIN_RANGES = WorldRanges(onoff_chance=0.0, sensing_range=(1.6, 2.2), mixed_chance=0.0)
"""Where the across-worlds optimizer's training worlds are drawn: no on/off bursts, no mixed rates,
and hidden stations only with sensing ranges of 1.6-2.2 cells (fewer hidden pairs than the hidden
worlds' 1.4), so that bursty, hidden, hidden_rts, mixed_rates (and ns-3's ax_ampdu) are held out."""


def held_out(name: str) -> bool:
    """Whether the named world lies outside the across-worlds optimizer's training ranges."""
    return not TRAIN_RANGES.covers(world(name))


def cached_table(data_dir: Path, name: str, key: dict[str, Any], collect: Callable[[], pd.DataFrame]) -> str:
    """A measurement table collected into ``data_dir`` on first use and reused after, its file named by
    ``name`` and a digest of ``key``: everything its numbers depend on (backend, world, grid, seeds,
    measuring time, the simulator's code), so a smoke table is never read for a quick figure, nor a
    table of older code for newer."""
    key = {**key, "simulator": simulator_digest(key["backend"])}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=repr).encode()).hexdigest()[:12]
    path = Path(data_dir) / f"{name}-{digest}.csv"
    if path.exists():
        log.info("reusing %s (%s)", path, ", ".join(f"{k} {v}" for k, v in key.items() if k != "world"))
    else:
        table = collect()
        with atomic_path(path) as tmp:
            table.to_csv(tmp, index=False)
    return str(path)


def world_table(data_dir: Path, name: str, seeds: int, workers: int = 1, options: World | None = None) -> str:
    """The measurement table of a world (the named one of ``sim.worlds``, or ``options`` saved under
    ``name``) on the world grid (``seeds`` runs of 5,000 slots), on the embedded simulator."""
    seed_list = list(range(seeds))
    key = {"backend": "embedded", "world": repr(options or world(name)), "n": WORLD_N, "windows": WORLD_WINDOWS,
           "seeds": seeds, "interval_slots": INTERVAL_SLOTS}  # fmt: skip
    return cached_table(data_dir, name, key, lambda: measure(
        "embedded", WORLD_N, WORLD_WINDOWS, seed_list, interval_slots=INTERVAL_SLOTS, world=options or name,
        workers=workers))  # fmt: skip


def world_tables(data_dir: Path, seeds: int, workers: int = 1, names: Sequence[str] = tuple(WORLDS)) -> dict[str, str]:
    """The tables (``world_table``) of the worlds ``names`` (default: all): world name -> CSV path."""
    return {world: world_table(data_dir, world, seeds, workers) for world in names}


def random_world_tables(
    data_dir: Path, count: int, seed: int, seeds: int, workers: int = 1, ranges: WorldRanges = TRAIN_RANGES
) -> list[str]:
    """The tables of ``count`` worlds drawn from ``ranges`` (domain randomisation, ``seed``); each file is
    keyed by its world's options (``cached_table``), so changed ranges never reuse a stale table."""
    drawn = random_worlds(count, seed, ranges)
    return [world_table(data_dir, f"random{i}", seeds, workers, options=w) for i, w in enumerate(drawn)]


def across_worlds_tables(data_dir: Path, size: str, seed: int) -> list[str]:
    """The training tables of the across-worlds optimizer: worlds drawn from ``TRAIN_RANGES``."""
    count, seeds = by_size(size, 4, 24, 64), by_size(size, 2, 6, 10)
    return random_world_tables(data_dir, count, seed, seeds, workers=2)


def ns3_world_table(
    data_dir: Path, world_name: str, n_values: Sequence[int], seeds: int, step_time_s: float, workers: int
) -> str:
    """A world's measurement table on ns-3 (``n_values`` x the world grid's windows, ``seeds`` networks
    of ``step_time_s`` seconds per window)."""
    key = {"backend": "ns3", "world": repr(world(world_name)), "n": list(n_values), "windows": WORLD_WINDOWS,
           "seeds": seeds, "step_time_s": step_time_s}  # fmt: skip
    return cached_table(data_dir, world_name, key, lambda: measure(
        "ns3", n_values, WORLD_WINDOWS, list(range(seeds)), workers=workers, step_time_s=step_time_s,
        world=world_name, run_dir=str(Path(data_dir) / "logs")))  # fmt: skip


PEAK_PROBES = 12
"""Probes of a csma_peak prompt (then the query): 8 to 4096 in ~0.8-octave steps in closed loop."""


def peak_run_config(name: str, size: str, seed: int, tables: Sequence[str]) -> cfg.RunConfig:
    """A csma_peak run on measured world tables (domain randomisation over them), tiny model."""
    values = {
        "name": f"{name}-{size}-seed{seed}",
        "task.name": "csma_peak",
        "task.n_dims": 3,
        "task.n_points": PEAK_PROBES + 1,
        "task.params": {"measurements": [str(t) for t in tables]},
        "model.size": "tiny",
        **_training(size, seed, by_size(size, 20, 4000, 20_000)),
    }
    return cfg.from_dict(cfg.set_values({}, values))


def training_stages(size: str) -> list[int]:
    """The checkpoints the training curve is drawn from."""
    return by_size(size, [10, 20], [100, 250, 500, 1000, 1500, 2000], [500, 1000, 2000, 5000, 10_000, 20_000])


def icl_run_config(size: str, seed: int) -> cfg.RunConfig:
    """The ICL optimizer's run (eps = 0.05) of the csma_icl figure, reused by the ns-3 figure."""
    return run_config("csma_icl", size, seed, error_fraction=0.05, keep_checkpoints=training_stages(size))


def drl_for(runs_dir: Path, size: str, seed: int, algorithm: str = "dqn") -> DrlAgent:
    """A DRL baseline of the CSMA figures (trained once per size and seed, then reused from ``runs_dir``)."""
    path = Path(runs_dir) / f"{algorithm}-{size}-seed{seed}.zip"
    return trained_agent(path, algorithm, by_size(size, 2, 60, 400), seed)


def experiment_env(size: str) -> EnvFactory:
    """The embedded simulator of the CSMA experiments: one probe's measurement window per step (a tenth
    of it at smoke size, where only the plumbing counts)."""
    slots = by_size(size, INTERVAL_SLOTS // 10, INTERVAL_SLOTS, INTERVAL_SLOTS)
    return functools.partial(CsmaEnv, backend=Embedded(slots))


def legend_below(ax: Axes) -> None:
    """The policies' legend under the axes, in two columns (a dozen policies would hide the curves)."""
    ax.legend(fontsize=7, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.25), frameon=False)


def plot_throughput_vs_n(ax: Axes, loop: pd.DataFrame, title: str) -> dict[str, Any]:
    """Throughput vs N per policy with bands (closed-form curves dashed); returns the policy colours."""
    policies = list(loop.policy.unique())
    palette = palette_of(policies)
    for policy in policies:
        rows = loop[loop.policy == policy]
        dashed = policy.endswith(THEORY)
        plot_band(
            ax,
            rows.x,
            rows["mean"],
            None if dashed else rows.ci_low,
            rows.ci_high,
            color=palette[policy],
            label=name_of(policy),
            style="--" if dashed else "-o",
        )
    ax.set_xlabel("number of stations N")
    ax.set_ylabel("throughput (Mb/s)")
    ax.set_title(title)
    legend_below(ax)
    return palette


def plot_convergence(
    ax: Axes, curves: pd.DataFrame, change_step: int, step_label: str, title: str, palette: dict[str, Any] | None = None
) -> None:
    """Throughput per step per policy with bands, the change of N marked."""
    palette = palette or palette_of(list(curves.policy.unique()))
    for policy in curves.policy.unique():
        rows = curves[curves.policy == policy]
        color = palette[policy]
        plot_band(ax, rows.x, rows["mean"], rows.ci_low, rows.ci_high, color=color, label=name_of(policy))
    ax.axvline(change_step, color="grey", ls=":", lw=1)
    ax.set_xlabel(step_label)
    ax.set_ylabel("throughput (Mb/s)")
    ax.set_title(title)
    legend_below(ax)

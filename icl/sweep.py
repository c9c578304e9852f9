"""Sweeps: a base config, a grid over config keys and seeds, every point a normal resumable run, on Ray.

A sweep file (TOML)::

    name = "depth"                      # runs go to <runs_dir>/depth/<point>/ (default: the file's stem),
    base = "linear_regression"          # a preset or a config file
    seeds = [0, 1]                      # train.seed of each point (default [0])
    [set]                               # values every point shares
    "train.steps" = 2000
    [grid]                              # one point per combination, times the seeds
    "model.n_layer" = [2, 4]
    "task.n_points" = [11, 21]

makes points ``n_layer2-n_points11-seed0`` and so on. Each point trains (or resumes, or reuses a finished run) and is evaluated like ``icl train`` and
``icl eval``; ``sweep.csv`` beside the runs is one tidy table: every point's evaluation rows with its
grid values, seed, final step and loss, and a status (a failed point keeps its error there and does
not stop the others). Points run as Ray tasks, one CPU (one GPU when the run asks for CUDA) each: on
a local Ray started for the sweep by default, or on a running cluster (``address``).
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import tempfile
import tomllib
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from icl import config as cfg
from icl.errors import UserError
from icl.io import atomic_path

SWEEP_FILE = "sweep.csv"
SWEEP_KEYS = ("name", "base", "seeds", "set", "grid")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@dataclass(frozen=True)
class Sweep:
    """A base config (preset or file), fixed values, a grid of dotted config keys, and seeds."""

    name: str
    base: str
    grid: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    seeds: Sequence[int] = (0,)
    values: Mapping[str, Any] = field(default_factory=dict)

    def points(self) -> dict[str, cfg.RunConfig]:
        """Every point's run config by point name (grid values and seed), checked like ``icl train``'s."""
        keys = list(self.grid)
        points = {}
        for combination in itertools.product(*(self.grid[key] for key in keys)):
            for seed in self.seeds:
                chosen = dict(zip(keys, combination))
                name = point_name(chosen, seed)
                data = cfg.set_values(cfg.read_toml(self.base), {**self.values, **chosen, "train.seed": seed})
                points[name] = cfg.from_dict(cfg.set_values(data, {"name": name}))
        return points


def point_name(chosen: Mapping[str, Any], seed: int) -> str:
    """``n_layer2-n_points11-seed0``: each grid key by its last part with its value, then the seed
    (characters a run name may not hold become ``_``)."""
    parts = [f"{key.rsplit('.', 1)[-1]}{_short(value)}" for key, value in chosen.items()] + [f"seed{seed}"]
    return re.sub(r"[^A-Za-z0-9_.-]", "_", "-".join(parts))


def _short(value: Any) -> str:
    """A grid value in a point name: floats in their shortest form (1e-05, not 1.0000000000000001e-05)."""
    return f"{value:g}".replace("e+", "e") if isinstance(value, float) else str(value)


def load_sweep(path: str | Path) -> Sweep:
    """A sweep from its TOML file; unknown keys, empty grids and bad config values are errors."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"sweep file {path} does not exist")
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: not valid TOML ({error})") from None
    unknown = sorted(set(data) - set(SWEEP_KEYS))
    if unknown:
        raise UserError(f"{path}: unknown sweep key {unknown[0]!r}; allowed: {', '.join(SWEEP_KEYS)}")
    if "base" not in data:
        raise UserError(f'{path}: a sweep needs a base config: base = "<preset or file>"')
    grid = data.get("grid", {})
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise UserError(f"{path}: grid key {key!r} needs a non-empty list of values, got {values!r}")
    seeds = data.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and s >= 0 for s in seeds):
        raise UserError(f"{path}: seeds must be a non-empty list of non-negative integers, got {seeds!r}")
    base = str(data["base"])
    if not Path(base).is_absolute() and (path.parent / base).is_file():
        base = str(path.parent / base)
    sweep = Sweep(str(data.get("name", path.stem)), base, grid, seeds, data.get("set", {}))
    sweep.points()  # every point's config is valid before any work starts
    return sweep


def run_point(config_data: dict[str, Any], runs_dir: str, threads: int = 1) -> str:
    """Train (or resume, or reuse) one point on ``threads`` threads and evaluate it unless its eval.csv
    exists; its run dir."""
    import torch

    from icl.evaluate import EVAL_FILE, evaluate_run, write_csv
    from icl.train import train

    torch.set_num_threads(threads)
    run_dir = train(cfg.from_dict(config_data), runs_dir)
    if not (run_dir / EVAL_FILE).exists():
        write_csv(evaluate_run(run_dir)[2], run_dir / EVAL_FILE)
    return str(run_dir)


@dataclass
class Progress:
    """Where a sweep stands: points reused, done, failed (name -> error) and running."""

    total: int
    reused: int = 0
    done: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    running: int = 0


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (and SIGHUP) end the sweep as Ctrl-C does, so its cleanup runs."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_sweep(
    sweep: Sweep,
    runs_dir: str | Path = "runs",
    *,
    address: str | None = None,
    cpus: int | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> pd.DataFrame:
    """Run every point of ``sweep`` on Ray and write ``<runs_dir>/<sweep>/sweep.csv``; returns that table.

    ``address``: a running cluster (default: ``$RAY_ADDRESS``, else a local Ray of ``cpus`` CPUs,
    default all, started and stopped here). Finished points are not sent again; an interrupted sweep
    (Ctrl-C, SIGTERM; SIGKILL takes the local Ray down with it) leaves its runs to resume on rerun.
    """
    from icl.train import is_finished

    sweep_dir = Path(runs_dir) / sweep.name
    points = sweep.points()
    progress = Progress(total=len(points))
    todo = {}
    for name, config in points.items():
        finished = (sweep_dir / name / "eval.csv").exists() and is_finished(config, sweep_dir)
        if finished:
            progress.reused += 1
        else:
            todo[name] = config
    if todo:
        with ray_session(address, cpus) as ray:
            _run_on_ray(ray, todo, str(sweep_dir), progress, on_progress)
    elif on_progress is not None:
        on_progress(progress)
    table = sweep_table(sweep, points, sweep_dir, progress.failed)
    with atomic_path(sweep_dir / SWEEP_FILE) as tmp:
        table.to_csv(tmp, index=False)
    return table


@contextmanager
def ray_session(address: str | None = None, cpus: int | None = None) -> Iterator[Any]:
    """Ray, connected for the duration: to the cluster at ``address`` (default ``$RAY_ADDRESS``), or to
    a local Ray of ``cpus`` CPUs (default all) started here, in a fresh temporary directory watched by
    a reaper (``icl.reaper``) that kills whatever names it when the session ends, or this process
    does, however (SIGKILL included; Ray's fate sharing alone leaves its agents running). Workers run
    numerical libraries on one thread; SIGTERM ends the session as Ctrl-C does."""
    try:
        import ray
    except ImportError:
        raise UserError("this runs on Ray, which is not installed: pip install 'icl-testbed[sweep]'") from None
    address = address or os.environ.get("RAY_ADDRESS")
    local: dict[str, Any] = {}
    reaper = None
    if not address:
        directory = tempfile.mkdtemp(prefix="icl-ray-")
        reaper = subprocess.Popen(
            [sys.executable, "-m", "icl.reaper", str(os.getpid()), directory],
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        local = {"num_cpus": cpus or os.cpu_count(), "_temp_dir": directory}
    with _terminate_as_interrupt(), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # Ray's note on GPU env vars for CPU-only tasks
        ray.init(
            address=address,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
            runtime_env={"env_vars": {variable: "1" for variable in THREAD_VARIABLES}},
            **local,
        )
        try:
            yield ray
        finally:
            ray.shutdown()
            if reaper is not None:  # the session is over: the reaper clears what is left, now
                reaper.terminate()
                reaper.wait()


def ray_map(
    function: Callable[..., Any], jobs: Sequence[tuple], *, address: str | None = None, cpus: int | None = None
) -> Iterator[Any]:
    """``function(*job)`` for every job as Ray tasks of one CPU each, yielded as they finish (the first
    error is raised, and the session ends with it)."""
    with ray_session(address, cpus) as ray:
        remote = ray.remote(function).options(num_cpus=1, max_retries=0)
        pending = [remote.remote(*job) for job in jobs]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])


def _run_on_ray(
    ray: Any,
    todo: Mapping[str, cfg.RunConfig],
    sweep_dir: str,
    progress: Progress,
    on_progress: Callable[[Progress], None] | None,
) -> None:
    """Send every point as a Ray task (one CPU, one GPU for CUDA runs); collect them as they finish."""
    remote = ray.remote(run_point)
    pending = {}
    cluster_gpus = ray.cluster_resources().get("GPU", 0)
    for name, config in todo.items():
        gpus = 1 if config.train.device == "cuda" else 0
        if gpus > cluster_gpus:
            progress.failed[name] = "train.device is cuda, but the Ray cluster has no GPU"
            continue
        task = remote.options(num_cpus=1, num_gpus=gpus, max_retries=0, name=name)
        pending[task.remote(cfg.to_dict(config), sweep_dir)] = name
    total_cpus = max(int(ray.cluster_resources().get("CPU", 1)), 1)
    while pending:
        progress.running = min(len(pending), total_cpus)
        if on_progress is not None:
            on_progress(progress)
        done, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
        for ref in done:
            name = pending.pop(ref)
            try:
                ray.get(ref)
                progress.done += 1
            except ray.exceptions.RayTaskError as error:
                progress.failed[name] = _cause(error)
    progress.running = 0
    if on_progress is not None:
        on_progress(progress)


def _cause(error: Exception) -> str:
    """A failed task's error as one line: the exception the point raised, without Ray's traceback."""
    cause = getattr(error, "cause", None) or error
    return f"{type(cause).__name__}: {str(cause).strip().splitlines()[-1] if str(cause).strip() else ''}"


def sweep_table(
    sweep: Sweep, points: Mapping[str, cfg.RunConfig], sweep_dir: Path, failed: Mapping[str, str]
) -> pd.DataFrame:
    """Every point's evaluation rows with its grid values, seed, final step and loss, status and error."""
    from icl.runs import read_metrics

    frames = []
    for name, config in points.items():
        data = cfg.to_dict(config)
        columns: dict[str, Any] = {"point": name}
        for key in sweep.grid:
            node: Any = data
            for part in key.split("."):
                node = node[part]
            columns[key] = node
        columns["seed"] = config.train.seed
        metrics = read_metrics(sweep_dir / name) if (sweep_dir / name).exists() else []
        columns["final_step"] = metrics[-1]["step"] if metrics else 0
        columns["final_loss"] = metrics[-1].get("loss", float("nan")) if metrics else float("nan")
        eval_path = sweep_dir / name / "eval.csv"
        if name in failed or not eval_path.exists():
            columns |= {"status": "failed" if name in failed else "missing", "error": failed.get(name, "")}
            frames.append(pd.DataFrame([columns]))
            continue
        frames.append(pd.read_csv(eval_path).assign(**columns, status="done", error=""))
    table = pd.concat(frames, ignore_index=True)
    front = ["point", *sweep.grid, "seed", "status", "final_step", "final_loss"]
    return table[front + [c for c in table.columns if c not in front]]

"""Collecting measurement tables (``sim.table``): collision probability and throughput of (N, W, seed)
grids on either backend, and a world's oracle from such a sweep.

A table is what the CSMA prompt task draws its data examples from when it is given real
measurements instead of Bianchi's model, and what the cross-validation compares. ns-3 runs go
through a process pool, one simulation per (N, seed) that visits every window: each window is
held for a settling step (backoff counters drawn under the previous window die out) and then
measured for one step.
"""

from __future__ import annotations

import functools
import hashlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import worlds
from sim.csma import simulate
from sim.env import SIMULATORS, CsmaEnv, Ns3, Observation
from sim.table import COLUMNS, MeasurementTable
from sim.timing import W_MAX, window_grid
from sim.worlds import World


def simulator_digest(backend: str) -> str:
    """What a table measured on ``backend`` depends on beyond its grid and world: the simulator's code
    (the embedded simulator's sources; for ns-3, also our scenario's and the system's ns-3 version),
    as a short digest that keys cached tables."""
    package = Path(__file__).resolve().parent
    sources = sorted(package.glob("*.py")) + (sorted((package / "ns3").glob("*.[pc]*")) if backend == "ns3" else [])
    digest = hashlib.sha256()
    for source in sources:
        digest.update(source.name.encode() + source.read_bytes())
    if backend == "ns3":
        from sim.ns3 import ns3_version

        digest.update(str(ns3_version()).encode())
    return digest.hexdigest()[:12]


def _row(
    backend: str, n: int, window: int, seed: int, collision: float, throughput: float, attempts_per_slot: float
) -> dict:
    """One measurement, in ``COLUMNS`` order."""
    values = (backend, int(n), int(window), seed, float(collision), float(throughput), float(attempts_per_slot))
    return dict(zip(COLUMNS, values))


def _ns3_job(
    n: int, windows: Sequence[int], seed: int, step_time_s: float, run_dir: str | None, world: World | str
) -> list[dict]:
    job_dir = None if run_dir is None else os.path.join(run_dir, f"n{n}-seed{seed}")
    env = CsmaEnv(
        n, max_stations=max(n, 64), world=world, backend=Ns3(step_time_s, run_dir=job_dir), oracle_observations=True
    )
    try:
        env.reset(seed=seed)
        rows = []
        for window in windows:
            env.step([window])
            seen = Observation.of(env.step([window])[0])
            rows.append(
                _row("ns3", n, window, seed, seen.collision_probability, seen.throughput_mbps, seen.attempts_per_slot)
            )
        return rows
    finally:
        env.close()


def _embedded(
    n_values: Sequence[int],
    windows: Sequence[int],
    seeds: Sequence[int],
    interval_slots: int,
    world: World | str,
    workers: int,
    implementation: str,
) -> list[dict]:
    grid_n, grid_w = (a.ravel() for a in np.meshgrid(n_values, windows, indexing="ij"))
    rows = []
    for seed in seeds:
        stats = simulate(
            grid_n,
            grid_w,
            n_slots=interval_slots,
            seed=seed,
            warmup_slots=interval_slots // 10,
            world=world,
            workers=workers,
            implementation=implementation,
        )
        attempts_per_slot = stats.attempts / stats.slots
        columns = zip(
            grid_n.tolist(), grid_w.tolist(), stats.collision_probability, stats.throughput_mbps, attempts_per_slot
        )
        rows += [_row("embedded", n, window, seed, p, s, a) for n, window, p, s, a in columns]
    return rows


def _exit_with_parent() -> None:
    """Pool-worker initializer: exit as soon as the process that started us is gone (any signal,
    SIGKILL included); the worker's ns-3 simulation then exits too, as it watches its own parent."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle


def measure(
    backend: str,
    n_values: Sequence[int],
    windows: Sequence[int],
    seeds: Sequence[int],
    *,
    workers: int = 1,
    step_time_s: float = 0.1,
    interval_slots: int = 50_000,
    run_dir: str | None = None,
    done: pd.DataFrame | None = None,
    on_rows: Callable[[list[dict]], None] | None = None,
    world: World | str = "bianchi",
    implementation: str = "compiled",
    executor: Executor | None = None,
) -> pd.DataFrame:
    """A table (``COLUMNS``) of every (N, W, seed) on ``backend`` in ``world`` (``sim.worlds``; ns-3 runs
    each world's options as scenario arguments, the embedded simulator on ``implementation``: compiled, or the
    numpy reference in Bianchi's world), sorted by N, W and seed.

    ``step_time_s`` is ns-3's measuring time per window, ``interval_slots`` the embedded
    simulator's; ``workers`` simulations run at once on ns-3 (threads of the embedded simulator);
    ``run_dir`` keeps their logs.
    ns-3 only: the simulations run on ``executor`` (default: ``local_pool`` of ``workers`` processes;
    ``icl.sweep.ray_map`` spreads them over a Ray cluster); ``done`` holds rows measured before (their (N, seed) simulations are not run
    again), and ``on_rows`` receives each simulation's rows as soon as it ends, so an interrupted
    collection can keep what it measured. Interrupted (Ctrl-C, or an error), it stops the running
    simulations within seconds instead of finishing the queue.
    """
    if backend not in SIMULATORS:
        raise ValueError(f"unknown backend {backend!r}; allowed: {', '.join(SIMULATORS)}")
    if not n_values or not windows or not seeds:
        raise ValueError("n_values, windows and seeds must each name at least one value")
    if min(n_values) < 1:
        raise ValueError(f"numbers of stations must be >= 1, got {sorted(n_values)}")
    if not all(1 <= w <= W_MAX for w in windows):
        raise ValueError(f"windows must be in [1, {W_MAX}], got {sorted(windows)}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if backend == "embedded":
        rows = _embedded(n_values, windows, seeds, interval_slots, world, workers, implementation)
    else:
        rows = _finished_rows(done, n_values, windows, seeds)
        finished = {(row["n_stations"], row["seed"]) for row in rows}
        jobs = [job for job in product(n_values, seeds) if job not in finished]
        executor = executor or functools.partial(local_pool, workers=workers)
        rows += _ns3_jobs(jobs, list(windows), executor, step_time_s, run_dir, on_rows, worlds.world(world))
    return pd.DataFrame(rows, columns=COLUMNS).sort_values(["n_stations", "window", "seed"], ignore_index=True)


def _finished_rows(
    done: pd.DataFrame | None, n_values: Sequence[int], windows: Sequence[int], seeds: Sequence[int]
) -> list[dict]:
    """The rows of ``done`` that finish an (N, seed) simulation of this grid: every requested window,
    and nothing else (a rerun with another grid measures its own)."""
    if done is None:
        return []
    rows = done[done.n_stations.isin(n_values) & done.seed.isin(seeds) & done.window.isin(windows)]
    complete = rows.groupby(["n_stations", "seed"]).window.transform("nunique") == len(set(windows))
    return rows[complete].to_dict("records")


Executor = Callable[[Callable[..., Any], Sequence[tuple]], Iterable[Any]]
"""Runs ``function(*job)`` for every job and yields the results as they finish (in any order)."""


def local_pool(function: Callable[..., Any], jobs: Sequence[tuple], workers: int) -> Iterator[Any]:
    """An ``Executor`` of ``workers`` processes that die with this one (and stop within seconds when the
    caller is interrupted or stops reading, instead of finishing the queue)."""
    pool = ProcessPoolExecutor(max_workers=min(workers, len(jobs)), initializer=_exit_with_parent)
    try:
        futures = [pool.submit(function, *job) for job in jobs]
        for future in as_completed(futures):
            yield future.result()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        # Python 3.14 has pool.kill_workers(); before it, the workers are only reachable here.
        for process in list((pool._processes or {}).values()):
            process.kill()  # each worker's simulation sees its parent gone and exits
        raise
    pool.shutdown()


def _ns3_jobs(
    jobs: list[tuple[int, int]],
    windows: list[int],
    executor: Executor,
    step_time_s: float,
    run_dir: str | None,
    on_rows: Callable[[list[dict]], None] | None,
    world: World,
) -> list[dict]:
    """Run one ns-3 simulation per (N, seed) on ``executor``; ``on_rows`` gets each one's rows at once."""
    if not jobs:
        return []
    rows: list[dict] = []
    for job_rows in executor(_ns3_job, [(n, windows, seed, step_time_s, run_dir, world) for n, seed in jobs]):
        rows += job_rows
        if on_rows is not None:
            on_rows(job_rows)
    return rows


SWEEP = np.array(window_grid(8, 8192, per_octave=4))
"""The windows of an oracle sweep: 8 to 8192 in quarter octaves."""


def measured_optimum(
    n_stations: int,
    world: World | str = "bianchi",
    *,
    seeds: int = 4,
    interval_slots: int = 20_000,
    windows: Sequence[int] = tuple(SWEEP),
) -> tuple[float, float]:
    """A world's oracle for N stations: the best fixed window of a sweep on the embedded simulator
    (refined by ``best_window``) and the mean throughput (Mb/s) of the best window swept."""
    runs = measure("embedded", [n_stations], windows, list(range(seeds)), interval_slots=interval_slots, world=world)
    table = MeasurementTable(runs)
    return table.optimal_window(n_stations), float(table.throughput[0].mean(axis=-1).max())

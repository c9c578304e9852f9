"""``icl sweep``: the sweep file's points and errors, and a small local sweep on Ray killed mid-way
(SIGKILL), which leaves no process behind and whose rerun reuses what finished and ends equal to an
uninterrupted sweep (its points trained one by one, without Ray); a failing point is reported and the
others finish."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from icl import config as cfg
from icl.errors import UserError
from icl.sweep import load_sweep, point_name, run_point, sweep_table

TINY = """
base = "linear_regression"
seeds = [0, 1]
[set]
"train.steps" = {steps}
"train.batch_size" = 8
"train.checkpoint_every" = 50
"train.log_every" = 50
"model.size" = "tiny"
"task.n_dims" = 4
"task.n_points" = 9
"curriculum.dims_start" = 4
"curriculum.points_start" = 9
"eval.n_prompts" = 64
"eval.baselines" = ["least_squares"]
[grid]
"train.lr" = {rates}
"""


def sweep_file(tmp_path: Path, name: str = "tiny", steps: int = 300, rates: str = "[1e-3, 3e-3]") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(TINY.format(steps=steps, rates=rates))
    return path


def icl_sweep(path: Path, runs: Path, **popen: object) -> subprocess.Popen:
    command = [sys.executable, "-m", "icl.cli", "sweep", str(path), "--runs-dir", str(runs), "--cpus", "2"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)  # type: ignore[call-overload]


def ray_processes() -> list[str]:
    """Command lines of Ray's processes (workers rename themselves ray::...)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if line.startswith("ray::") or "icl-ray-" in line:
            found.append(line)
    return found


def assert_no_ray_left(seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while ray_processes() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert ray_processes() == []


def test_points_are_the_grid_times_the_seeds_named_by_their_values(tmp_path: Path) -> None:
    sweep = load_sweep(sweep_file(tmp_path))
    points = sweep.points()
    assert list(points) == ["lr0.001-seed0", "lr0.001-seed1", "lr0.003-seed0", "lr0.003-seed1"]
    config = points["lr0.003-seed1"]
    assert (config.train.lr, config.train.seed, config.train.steps, config.name) == (0.003, 1, 300, "lr0.003-seed1")
    assert sweep.name == "tiny" and point_name({"model.size": "a b"}, 2) == "sizea_b-seed2"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('base = "linear_regression"\nsteps = 3', "unknown sweep key 'steps'; allowed: name, base, seeds, set, grid"),
        ("seeds = [0]", "a sweep needs a base config"),
        ('base = "linear_regression"\n[grid]\n"train.lr" = []', "grid key 'train.lr' needs a non-empty list"),
        ('base = "linear_regression"\nseeds = [-1]', "seeds must be a non-empty list of non-negative integers"),
        ('base = "linear_regression"\n[grid]\n"model.depth" = [1, 2]', "model.depth"),
        ('base = "no_such_preset"', "neither a file nor a preset"),
    ],
)
def test_bad_sweep_files_are_refused_before_any_work(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(UserError, match=message):
        load_sweep(path)


@pytest.mark.pipeline
def test_killed_sweep_leaves_nothing_and_its_rerun_equals_an_uninterrupted_one(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    path = sweep_file(tmp_path)
    runs = tmp_path / "killed"
    process = icl_sweep(path, runs, start_new_session=True)
    deadline = time.monotonic() + 240
    while not list(runs.glob("tiny/*/eval.csv")) and time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read()  # type: ignore[union-attr]
        time.sleep(0.2)
    assert list(runs.glob("tiny/*/eval.csv")), "no point finished in 4 minutes"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert_no_ray_left()
    finished_before = len(list(runs.glob("tiny/*/eval.csv")))
    assert finished_before < 4

    rerun = icl_sweep(path, runs)
    output = rerun.communicate(timeout=300)[0]
    assert rerun.returncode == 0, output
    assert f"{finished_before} reused" in output
    sweep = load_sweep(path)  # the uninterrupted reference: every point trained here, one after the other
    points, fresh = sweep.points(), tmp_path / "fresh" / "tiny"
    for config in points.values():
        run_point(cfg.to_dict(config), str(fresh))
    sweep_table(sweep, points, fresh, {}).to_csv(fresh / "sweep.csv", index=False)
    killed, uninterrupted = (pd.read_csv(d / "tiny" / "sweep.csv") for d in (runs, tmp_path / "fresh"))
    assert len(killed) == len(uninterrupted) == 4 * 2 * 9  # points x learners x k
    assert (killed.status == "done").all()
    pd.testing.assert_frame_equal(killed, uninterrupted)


@pytest.mark.pipeline
def test_a_failing_point_is_reported_and_the_others_finish(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    path = sweep_file(tmp_path, "diverging", steps=60, rates="[1e-3, 1e12]")
    process = icl_sweep(path, tmp_path / "runs")
    output = process.communicate(timeout=300)[0]
    assert process.returncode == 2
    assert "failed lr1e12-seed0: DivergedError" in " ".join(output.split())
    assert "2 of 4 points failed" in " ".join(output.split())
    table = pd.read_csv(tmp_path / "runs" / "diverging" / "sweep.csv")
    status = table.drop_duplicates("point").set_index("point").status
    assert status.to_dict() == {"lr0.001-seed0": "done", "lr0.001-seed1": "done"} | {
        "lr1e12-seed0": "failed",
        "lr1e12-seed1": "failed",
    }
    assert_no_ray_left()


@pytest.mark.ns3
def test_ns3_collection_on_ray_measures_what_the_local_pool_does(tmp_path: Path) -> None:
    """The same (N, W, seed) grid of ns-3 simulations, on Ray and on the local process pool: same table."""
    pytest.importorskip("ray")
    from icl.sweep import ray_map
    from sim.collect import measure

    grid = ([5, 8], [32, 128], [0, 1])
    local = measure("ns3", *grid, workers=2, step_time_s=0.05, world="lossy")
    on_ray = measure("ns3", *grid, step_time_s=0.05, world="lossy", executor=functools.partial(ray_map, cpus=2))
    pd.testing.assert_frame_equal(local, on_ray)
    assert_no_ray_left()

"""Faults injected for real (kill -9, a full disk, a read-only file system, two processes at once):
nothing is lost, nothing is left behind, and the user gets one line."""

from __future__ import annotations

import errno
import json
import logging
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from icl import config as cfg
from icl.cli import main
from icl.io import exclusive_lock
from icl.runs import CHECKPOINT_FILE, METRICS_FILE, MetricsError, load_checkpoint, read_interrupted, read_metrics
from icl.train import DivergedError, train

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="mounting a tmpfs needs root")
ENV = {
    **os.environ,
    **dict.fromkeys(("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"), "1"),
    "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
}
"""Children on one thread in torch and in BLAS: with MKL_NUM_THREADS=2 (conftest's, for 2 cores) a tiny
run's small matrix products train 5x slower on 2 busy cores."""


def steps_of(run_dir: Path) -> list[int]:
    return [m["step"] for m in read_metrics(run_dir)]


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = load_checkpoint(a)["model"], load_checkpoint(b)["model"]
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.equal(wa[key], wb[key]), key


def python(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a fresh single-threaded interpreter (a process we may kill)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args], capture_output=True, text=True, env=ENV
    )


def icl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "icl.cli", *args], capture_output=True, text=True, env=ENV)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and result.stderr.strip().endswith(errors[0]), result.stderr
    (line,) = errors
    for fragment in fragments:
        assert fragment in line, line


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def fill(path: Path) -> None:
    """Write zeros to ``path`` until the file system is full."""
    with path.open("wb", buffering=0) as filler:
        try:
            while True:
                filler.write(b"\0" * 4096)
        except OSError as error:
            assert error.errno == 28  # ENOSPC


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Weights depend on the thread count at the 1e-7 level: in-process runs use one, as the children do."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def config(tiny_config: cfg.RunConfig, tmp_path: Path) -> cfg.RunConfig:
    """The tiny run, logging every step; its TOML beside the test's folders."""
    config = replace(tiny_config, train=replace(tiny_config.train, steps=60, log_every=1, checkpoint_every=7))
    (tmp_path / "config.toml").write_text(cfg.to_toml(config))
    return config


TRAIN = """
    import sys
    from icl import config as cfg
    from icl.train import train
    train(cfg.load(sys.argv[1]), sys.argv[2])
"""


def train_in_child(tmp_path: Path, runs_dir: Path) -> Path:
    """Train (or resume) the test's config in a fresh single-threaded process, as the killed ones ran:
    a run's weights can depend on the process's earlier work at the 1e-7 level (thread pools)."""
    result = python(TRAIN, str(tmp_path / "config.toml"), str(runs_dir))
    assert result.returncode == 0, result.stderr[-2000:]
    return runs_dir / cfg.load(tmp_path / "config.toml").name


KILL_AT_STEP = """
    import os, signal, sys
    from icl import config as cfg
    from icl.train import train
    kill_at = int(sys.argv[3])
    def on_step(step, loss):
        if step == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
    train(cfg.load(sys.argv[1]), sys.argv[2], on_step=on_step)
"""


@pytest.mark.pipeline
def test_kill_before_the_first_checkpoint_leaves_no_duplicate_rows(config: cfg.RunConfig, tmp_path: Path) -> None:
    """kill -9 at step 3 (first checkpoint at 7): the rerun re-does steps 1-3 without logging them twice."""
    killed = python(KILL_AT_STEP, str(tmp_path / "config.toml"), str(tmp_path / "killed"), "3")
    assert killed.returncode == -9
    run_dir = tmp_path / "killed" / config.name
    assert steps_of(run_dir) == [1, 2, 3] and not (run_dir / CHECKPOINT_FILE).exists()
    resumed = train_in_child(tmp_path, tmp_path / "killed")
    assert steps_of(resumed) == list(range(1, 61))
    assert_same_weights(resumed, train_in_child(tmp_path, tmp_path / "clean"))


@pytest.mark.pipeline
def test_kill_after_a_checkpoint_drops_the_rows_it_does_not_cover(config: cfg.RunConfig, tmp_path: Path) -> None:
    killed = python(KILL_AT_STEP, str(tmp_path / "config.toml"), str(tmp_path / "killed"), "10")
    assert killed.returncode == -9
    run_dir = tmp_path / "killed" / config.name
    assert load_checkpoint(run_dir)["step"] == 7 and steps_of(run_dir)[-1] == 10
    clean = train_in_child(tmp_path, tmp_path / "clean")
    resumed = train_in_child(tmp_path, tmp_path / "killed")
    assert steps_of(resumed) == list(range(1, 61))
    assert [m["loss"] for m in read_metrics(resumed)] == [m["loss"] for m in read_metrics(clean)]
    assert_same_weights(resumed, clean)


@pytest.mark.pipeline
def test_kill_during_a_checkpoint_save_leaves_no_stray_file(config: cfg.RunConfig, tmp_path: Path) -> None:
    """kill -9 inside torch.save: the half-written temporary file is removed at the run's next start."""
    script = """
        import os, signal, sys, torch
        from icl import config as cfg
        from icl.train import train
        real_save = torch.save
        def save_and_die(obj, path):
            real_save(obj, path)
            if obj["step"] == 14:
                os.kill(os.getpid(), signal.SIGKILL)
        torch.save = save_and_die
        train(cfg.load(sys.argv[1]), sys.argv[2])
    """
    assert python(script, str(tmp_path / "config.toml"), str(tmp_path / "killed")).returncode == -9
    run_dir = tmp_path / "killed" / config.name
    strays = [p for p in run_dir.iterdir() if ".tmp" in p.name]
    assert len(strays) == 1 and strays[0].stat().st_size > 0
    assert load_checkpoint(run_dir)["step"] == 7
    resumed = train_in_child(tmp_path, tmp_path / "killed")
    assert not [p for p in run_dir.iterdir() if ".tmp" in p.name]
    assert_same_weights(resumed, train_in_child(tmp_path, tmp_path / "clean"))


@pytest.mark.pipeline
def test_ctrl_c_on_icl_train_keeps_the_run_and_the_same_command_resumes_it(
    config: cfg.RunConfig, tmp_path: Path
) -> None:
    """SIGINT to ``icl train`` once a wall-time checkpoint exists (train.checkpoint_every is past the end):
    exit 130 with a line saying what is kept, the metrics stay, the run is marked interrupted, and the same
    command resumes from that checkpoint to the uninterrupted result."""
    config = replace(
        config, train=replace(config.train, steps=300, log_every=10, checkpoint_every=1000, checkpoint_minutes=0.002)
    )
    (tmp_path / "config.toml").write_text(cfg.to_toml(config))
    command = ["train", str(tmp_path / "config.toml"), "--runs-dir", str(tmp_path / "runs")]
    process = subprocess.Popen([sys.executable, "-m", "icl.cli", *command], stderr=subprocess.PIPE, text=True, env=ENV)
    run_dir = tmp_path / "runs" / config.name
    deadline = time.monotonic() + 300
    while process.poll() is None and time.monotonic() < deadline:
        if (run_dir / CHECKPOINT_FILE).exists() and (run_dir / METRICS_FILE).exists() and steps_of(run_dir):
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 130, stderr[-2000:]
    interrupted = read_interrupted(run_dir)
    assert interrupted is not None, "the run was not marked interrupted"
    kept = load_checkpoint(run_dir)["step"]
    assert 0 < kept == interrupted["checkpoint_step"] <= interrupted["step"] < 300
    logged = steps_of(run_dir)
    assert logged and logged == list(range(10, logged[-1] + 1, 10)) and logged[-1] <= interrupted["step"]
    said = f"interrupted after step {interrupted['step']}: {run_dir} is kept"
    assert "".join(said.split()) in "".join(stderr.split())  # the console may fold a long path anywhere
    resumed = icl(*command)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resuming {run_dir} from step {kept}" in resumed.stderr
    assert read_interrupted(run_dir) is None and steps_of(run_dir) == list(range(10, 301, 10))
    assert_same_weights(run_dir, train_in_child(tmp_path, tmp_path / "clean"))


@needs_root
def test_full_disk_during_a_metrics_write_then_resume(
    config: cfg.RunConfig, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The disk fills after the checkpoint at step 28: the metrics write that needs a new page fails
    half-way (a torn line), the error names the device's reason, and once there is room again the run
    resumes to exactly the uninterrupted result with a one-line warning."""
    config = replace(config, train=replace(config.train, steps=80, checkpoint_every=28))
    with tmpfs(tmp_path / "disk", "4m") as disk:
        filler = disk / "filler"

        def on_step(step: int, loss: float) -> None:
            if step == 29:
                fill(filler)

        with pytest.raises(OSError, match="No space left on device"):
            train(config, disk, on_step=on_step)
        run_dir = disk / config.name
        assert not (run_dir / METRICS_FILE).read_bytes().endswith(b"\n"), "expected a torn last line"
        assert load_checkpoint(run_dir)["step"] == 28
        filler.unlink()
        with caplog.at_level(logging.WARNING):
            resumed = train(config, disk)
        assert [r.message for r in caplog.records if r.levelno == logging.WARNING] == [
            f"{run_dir / METRICS_FILE}: dropped its last line, cut short by an interrupted write"
        ]
        assert steps_of(resumed) == list(range(1, 81))
        assert_same_weights(resumed, train(config, tmp_path / "clean"))


@needs_root
def test_full_disk_during_a_checkpoint_keeps_the_previous_one(config: cfg.RunConfig, tmp_path: Path) -> None:
    """The disk fills just before the checkpoint of step 14: the error is the OSError naming the checkpoint
    (ENOSPC, not torch's RuntimeError), no partial file is left, the checkpoint of step 7 is kept, and once
    there is room again the run resumes to the uninterrupted result."""
    with tmpfs(tmp_path / "disk", "4m") as disk:
        filler = disk / "filler"

        def on_step(step: int, loss: float) -> None:
            if step == 14:
                fill(filler)

        run_dir = disk / config.name
        with pytest.raises(OSError, match="No space left on device while writing the checkpoint of step 14") as error:
            train(config, disk, on_step=on_step)
        assert error.value.errno == errno.ENOSPC and error.value.filename == str(run_dir / CHECKPOINT_FILE)
        assert sorted(p.name for p in run_dir.iterdir()) == RUN_FILES
        assert load_checkpoint(run_dir)["step"] == 7
        filler.unlink()
        assert_same_weights(train(config, disk), train(config, tmp_path / "clean"))


RUN_FILES = sorted([CHECKPOINT_FILE, "config.toml", METRICS_FILE, "provenance.json"])
FILE_SIZE_LIMIT = 128 * 1024
"""Above the tiny run's metrics and config, below its checkpoint (350 kB)."""

CLI_WITH_FILE_SIZE_LIMIT = """
    import resource, sys
    from icl.cli import main
    limit = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))  # Python ignores SIGXFSZ: a write raises EFBIG
    sys.exit(main(sys.argv[2:]))
"""


def test_a_checkpoint_over_the_file_size_limit_is_one_line_and_keeps_the_previous_one(
    config: cfg.RunConfig, tmp_path: Path
) -> None:
    """``icl train`` under a file-size limit that its checkpoints exceed (a full disk, for one file): one
    line naming the checkpoint and the reason, exit 2, no partial file, the checkpoint of step 7 kept."""
    run_dir = train(config, tmp_path, stop_at=7)
    assert (run_dir / CHECKPOINT_FILE).stat().st_size > FILE_SIZE_LIMIT
    config_path = str(tmp_path / "config.toml")
    result = python(CLI_WITH_FILE_SIZE_LIMIT, str(FILE_SIZE_LIMIT), "train", config_path, "--runs-dir", str(tmp_path))
    assert_one_line_error(
        result,
        f"{run_dir / CHECKPOINT_FILE}: File too large while writing the checkpoint of step 14; {CHECKPOINT_FILE}",
    )
    assert sorted(p.name for p in run_dir.iterdir()) == RUN_FILES
    assert load_checkpoint(run_dir)["step"] == 7 and steps_of(run_dir) == list(range(1, 15))


def test_damaged_metrics_line_is_named(config: cfg.RunConfig, tmp_path: Path) -> None:
    run_dir = train(config, tmp_path, stop_at=14)
    lines = (run_dir / METRICS_FILE).read_text().splitlines(keepends=True)
    lines[4] = '{"step": 5, "loss": 0.3\n'
    (run_dir / METRICS_FILE).write_text("".join(lines))
    with pytest.raises(MetricsError, match=rf"{METRICS_FILE}, line 5: not a metrics record"):
        train(config, tmp_path)


def test_nonfinite_loss_stops_and_keeps_the_last_finite_checkpoint(config: cfg.RunConfig, tmp_path: Path) -> None:
    result = icl(
        "train",
        str(tmp_path / "config.toml"),
        "--runs-dir",
        str(tmp_path / "runs"),
        "--set",
        "train.lr=1e6",
        "--set",
        "train.checkpoint_every=1",
    )
    assert_one_line_error(result, "loss", "gradient norm", "train.lr = 1e+06", "last finite checkpoint")
    run_dir = tmp_path / "runs" / config.name
    bad_step = int(result.stderr.split("step ")[1].split(":")[0])
    assert bad_step < 60
    state = load_checkpoint(run_dir)
    assert state["step"] == bad_step - 1
    assert all(torch.isfinite(t).all() for t in state["model"].values())
    for line in (run_dir / METRICS_FILE).read_text().splitlines():
        json.loads(line, parse_constant=lambda name: pytest.fail(f"{name} in metrics"))


def test_nonfinite_loss_before_any_checkpoint_raises_in_the_library(config: cfg.RunConfig, tmp_path: Path) -> None:
    diverging = replace(config, train=replace(config.train, lr=1e6, checkpoint_every=1000))
    with pytest.raises(DivergedError, match="no checkpoint was written"):
        train(diverging, tmp_path)
    assert not (tmp_path / config.name).exists(), "a start that failed before its first checkpoint left its directory"


def test_a_locked_run_is_refused_naming_the_process(config: cfg.RunConfig, tmp_path: Path) -> None:
    run_dir = train(config, tmp_path / "runs", stop_at=7)
    with exclusive_lock(run_dir, "test"):
        result = icl("train", str(tmp_path / "config.toml"), "--runs-dir", str(tmp_path / "runs"))
    assert_one_line_error(result, f"run 'tiny' ({run_dir}) is being trained by process {os.getpid()}")
    assert steps_of(run_dir) == list(range(1, 8))


@pytest.mark.pipeline
def test_two_processes_started_together_train_once(tiny_config: cfg.RunConfig, tmp_path: Path) -> None:
    config = replace(tiny_config, train=replace(tiny_config.train, steps=1500, log_every=10, checkpoint_every=500))
    (tmp_path / "config.toml").write_text(cfg.to_toml(config))
    command = [sys.executable, "-m", "icl.cli", "train", str(tmp_path / "config.toml"), "--runs-dir", str(tmp_path)]
    processes = [subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=ENV) for _ in range(2)]
    results = [(p.wait(), stderr) for p in processes for _, stderr in [p.communicate()]]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    refused = next(err for code, err in results if code == 2)
    winner = next(p.pid for p, (code, _) in zip(processes, results) if code == 0)
    assert f"is being trained by process {winner}" in refused
    assert steps_of(tmp_path / config.name) == list(range(10, 1501, 10))


@needs_root
def test_read_only_runs_directory(config: cfg.RunConfig, tmp_path: Path) -> None:
    """A new run there is one line naming the path; a finished run there still opens."""
    with tmpfs(tmp_path / "ro", "16m") as disk:
        finished = train(config, disk)
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        result = icl("train", str(tmp_path / "config.toml"), "--runs-dir", str(disk), "--name", "new")
        assert_one_line_error(result, str(disk), "Read-only file system")
        reopened = icl("train", str(tmp_path / "config.toml"), "--runs-dir", str(disk))
        assert reopened.returncode == 0, reopened.stderr
        assert "reusing" in reopened.stderr and finished.exists()


def test_opening_a_finished_run_writes_nothing(config: cfg.RunConfig, tmp_path: Path) -> None:
    run_dir = train(config, tmp_path)
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in run_dir.iterdir()}
    train(config, tmp_path)
    assert {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in run_dir.iterdir()} == before


@pytest.mark.parametrize(
    ("make", "args", "fragments"),
    [
        (lambda d: d.mkdir(), ["train", "{path}"], ["config {path} is a directory"]),
        (lambda d: d.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff"), ["train", "{path}"], ["{path}: not a TOML text file"]),
        (lambda d: d.write_text("x"), ["train", "--runs-dir", "{path}"], ["runs directory {path} is a file"]),
        (
            lambda d: d.mkdir(),
            ["csma", "collect", "--n", "5", "--seeds", "1", "--out", "{path}"],
            ["{path}", "directory"],
        ),
        (lambda d: None, ["train", "--name", "x" * 300], ["name is 300 bytes long; at most 200"]),
        (lambda d: None, ["train", "--name", ""], ["name = '' is not allowed"]),
        (lambda d: None, ["train", "--set", "train.seed=-1"], ["train.seed must be an integer in [0, 2**63 - 1]"]),
        (lambda d: None, ["train", "--set", "train.seed=99999999999999999999"], ["train.seed must be an integer"]),
        (lambda d: None, ["train", "--set", "eval.n_points=99"], ["eval.n_points = 99 exceeds task.n_points = 41"]),
        (lambda d: None, ["train", "--set", "train.batch_size=100000000"], ["train.batch_size = 100000000 needs"]),
        (
            lambda d: None,
            [
                "train",
                "--set",
                "task.name=csma_window",
                "--set",
                "task.n_dims=2",
                "--set",
                "task.params.measurements=no.csv",
            ],
            ["task.params: measurements table no.csv does not exist; write one with `icl csma collect --out no.csv`"],
        ),
    ],
)
def test_bad_paths_and_values_are_one_line_and_leave_nothing(
    make: object, args: list[str], fragments: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """In-process through ``main`` (the subprocess tests above cover the process boundary)."""
    path = tmp_path / "target"
    make(path)  # type: ignore[operator]
    runs = tmp_path / "runs"
    extra = ["--runs-dir", str(runs)] if args[0] == "train" and "--runs-dir" not in args else []
    code = main([*(a.replace("{path}", str(path)) for a in args), *extra])
    stderr = capsys.readouterr().err
    assert_one_line_error(
        subprocess.CompletedProcess(args, code, "", stderr), *(f.replace("{path}", str(path)) for f in fragments)
    )
    assert not runs.exists() or not any(runs.iterdir()), "a failed start left files behind"


def test_names_are_strings(tmp_path: Path) -> None:
    assert cfg.load(None, ["name=nan"]).name == "nan"
    assert cfg.load(None, ["name=123"]).name == "123"


def test_a_config_cut_short_is_refused(config: cfg.RunConfig, tmp_path: Path) -> None:
    run_dir = train(config, tmp_path, stop_at=7)
    text = (run_dir / "config.toml").read_text()
    (run_dir / "config.toml").write_text(text[: len(text) // 2].rsplit("\n", 1)[0] + "\n")
    result = icl("eval", str(run_dir))
    assert_one_line_error(result, "lacks", "cut short")


def test_a_checkpoint_of_another_size_is_one_line(config: cfg.RunConfig, tmp_path: Path) -> None:
    small = train(config, tmp_path)
    wider = replace(config, name="wider", model=replace(config.model, n_embd=64))
    other = train(wider, tmp_path, stop_at=7)
    (other / CHECKPOINT_FILE).write_bytes((small / CHECKPOINT_FILE).read_bytes())
    result = icl("eval", str(other))
    assert_one_line_error(result, "holds a model of another size", "[32", "[64")


def test_rank_outside_torchrun_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "icl.cli", "train", "--runs-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env={**ENV, "RANK": "1"},
    )
    assert_one_line_error(result, "RANK=1 with WORLD_SIZE=1")
    assert not any(tmp_path.iterdir())


def test_files_follow_the_umask(config: cfg.RunConfig, tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        run_dir = train(config, tmp_path, stop_at=14)
        with (run_dir / METRICS_FILE).open("a") as metrics:
            metrics.write('{"step": 15, "lo')  # a torn line: the resume rewrites the metrics
        train(config, tmp_path)
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in run_dir.iterdir()}
        assert stat.S_IMODE(run_dir.stat().st_mode) == 0o755
    finally:
        os.umask(previous)
    assert modes == {"config.toml": 0o644, "provenance.json": 0o644, CHECKPOINT_FILE: 0o644, METRICS_FILE: 0o644}

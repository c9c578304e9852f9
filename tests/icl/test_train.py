from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from icl import config as cfg
from icl.runs import (
    CHECKPOINT_FILE,
    CheckpointError,
    load_checkpoint,
    read_interrupted,
    read_metrics,
    read_run_config,
)
from icl.train import load_model, train, train_many


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(run_dir)["model"]


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.equal(wa[key], wb[key]), key


@pytest.mark.parametrize("family", ["gpt", "lstm"])
def test_training_learns_a_fixed_function(tiny_config: cfg.RunConfig, tmp_path: Path, family: str) -> None:
    """With a pool of one function there is nothing to infer in context: the loss must collapse."""
    config = replace(
        tiny_config,
        task=replace(tiny_config.task, params={"pool_size": 1}),
        model=replace(tiny_config.model, family=family),
        train=replace(tiny_config.train, steps=150, log_every=10, checkpoint_every=150, lr=3e-3),
    )
    metrics = read_metrics(train(config, tmp_path))
    assert [m["step"] for m in metrics] == list(range(10, 151, 10))
    first, last = metrics[0]["loss"], sum(m["loss"] for m in metrics[-3:]) / 3
    assert last < 0.1 * first


def test_same_seed_same_prompts_and_weights(tiny_config: cfg.RunConfig, tmp_path: Path) -> None:
    run_a = train(tiny_config, tmp_path / "a")
    run_b = train(tiny_config, tmp_path / "b")
    assert_same_weights(run_a, run_b)
    assert [m["loss"] for m in read_metrics(run_a)] == [m["loss"] for m in read_metrics(run_b)]
    other = train(replace(tiny_config, train=replace(tiny_config.train, seed=1)), tmp_path / "c")
    assert not torch.equal(weights(run_a)["read_in.weight"], weights(other)["read_in.weight"])


@pytest.mark.pipeline
def test_train_many_trains_side_by_side_like_single_threaded_runs(tiny_config: cfg.RunConfig, tmp_path: Path) -> None:
    """Two runs on two cores train in two one-thread processes: each equals the same config trained
    alone with one thread, and finished runs are reused, not retrained."""
    configs = [replace(tiny_config, name="a"), replace(tiny_config, name="b", train=replace(tiny_config.train, seed=1))]
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        run_dirs = train_many(configs, tmp_path / "many")
        assert run_dirs == [tmp_path / "many" / "a", tmp_path / "many" / "b"]
        torch.set_num_threads(1)
        for config, run_dir in zip(configs, run_dirs):
            assert_same_weights(run_dir, train(config, tmp_path / "alone"))
        saved = [(run_dir / CHECKPOINT_FILE).stat().st_mtime_ns for run_dir in run_dirs]
        torch.set_num_threads(2)
        assert train_many(configs, tmp_path / "many") == run_dirs
        assert [(run_dir / CHECKPOINT_FILE).stat().st_mtime_ns for run_dir in run_dirs] == saved
    finally:
        torch.set_num_threads(threads)


def test_resume_equals_uninterrupted(tiny_config: cfg.RunConfig, tmp_path: Path) -> None:
    uninterrupted = train(tiny_config, tmp_path / "a")
    train(tiny_config, tmp_path / "b", stop_at=20)
    assert load_checkpoint(tmp_path / "b" / "tiny")["step"] == 20
    resumed = train(tiny_config, tmp_path / "b")
    assert_same_weights(uninterrupted, resumed)
    losses_a = [m["loss"] for m in read_metrics(uninterrupted)]
    losses_b = [m["loss"] for m in read_metrics(resumed)]
    assert losses_a == pytest.approx(losses_b, abs=1e-6)


def interrupt_at(stop: int) -> Callable[[int, float], None]:
    """An ``on_step`` that stops training with Ctrl-C's KeyboardInterrupt after step ``stop``."""

    def on_step(step: int, loss: float) -> None:
        if step == stop:
            raise KeyboardInterrupt

    return on_step


def test_ctrl_c_before_the_first_checkpoint_keeps_the_metrics_and_marks_the_run(
    tiny_config: cfg.RunConfig, tmp_path: Path
) -> None:
    """Interrupted at step 15 of 40, with no checkpoint yet: the run directory and its metrics stay, marked
    interrupted; the same call trains it again from the start to the uninterrupted result and drops the mark."""
    config = replace(tiny_config, train=replace(tiny_config.train, checkpoint_every=1000))
    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path / "b", on_step=interrupt_at(15))
    run_dir = tmp_path / "b" / "tiny"
    assert [m["step"] for m in read_metrics(run_dir)] == [5, 10, 15]
    assert read_interrupted(run_dir) == {"step": 15, "checkpoint_step": 0}
    assert not (run_dir / CHECKPOINT_FILE).exists()
    resumed = train(config, tmp_path / "b")
    assert read_interrupted(resumed) is None and [m["step"] for m in read_metrics(resumed)] == list(range(5, 41, 5))
    assert_same_weights(train(config, tmp_path / "a"), resumed)


def test_wall_time_checkpoints_let_an_interrupted_run_resume_where_it_was(
    tiny_config: cfg.RunConfig, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """With train.checkpoint_minutes tiny every step is checkpointed, though checkpoint_every is past the end:
    Ctrl-C after step 15 leaves the checkpoint of step 14, which the same call resumes from, ending exactly
    where an uninterrupted run does (checkpoints take no randomness)."""
    config = replace(tiny_config, train=replace(tiny_config.train, checkpoint_every=1000, checkpoint_minutes=1e-9))
    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path / "b", on_step=interrupt_at(15))
    run_dir = tmp_path / "b" / "tiny"
    assert load_checkpoint(run_dir)["step"] == 14
    assert read_interrupted(run_dir) == {"step": 15, "checkpoint_step": 14}
    with caplog.at_level(logging.INFO):
        resumed = train(config, tmp_path / "b")
    assert f"resuming {run_dir} from step 14" in caplog.messages
    uninterrupted = train(replace(config, train=replace(config.train, checkpoint_minutes=0.0)), tmp_path / "a")
    assert_same_weights(uninterrupted, resumed)
    assert read_metrics(resumed) == [
        {**m, "elapsed_s": r["elapsed_s"]} for m, r in zip(read_metrics(uninterrupted), read_metrics(resumed))
    ]


@pytest.mark.pipeline
def test_killed_run_resumes_to_the_same_result(tiny_config: cfg.RunConfig, tmp_path: Path) -> None:
    """Kill -9 a training process after its first checkpoint; resuming gives the same weights."""
    config = replace(tiny_config, train=replace(tiny_config.train, steps=400, checkpoint_every=50, log_every=10))
    config_path = tmp_path / "config.toml"
    config_path.write_text(cfg.to_toml(config))
    runs = tmp_path / "killed"
    process = subprocess.Popen(
        [sys.executable, "-m", "icl.cli", "train", str(config_path), "--runs-dir", str(runs)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "OMP_NUM_THREADS": "2"},
    )
    checkpoint = runs / "tiny" / CHECKPOINT_FILE
    deadline = time.monotonic() + 1800
    while not checkpoint.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = load_checkpoint(runs / "tiny")["step"]
    assert killed_at < 400, "the process finished before it could be killed"
    resumed = train(config, runs)
    uninterrupted = train(config, tmp_path / "clean")
    assert_same_weights(uninterrupted, resumed)
    assert [m["step"] for m in read_metrics(resumed)] == list(range(10, 401, 10))


def test_changed_config_is_refused(tiny_config: cfg.RunConfig, tmp_path: Path) -> None:
    train(tiny_config, tmp_path)
    changed = replace(tiny_config, train=replace(tiny_config.train, lr=0.5))
    with pytest.raises(cfg.ConfigError, match="different config \\(train.lr\\); only a larger train.steps"):
        train(changed, tmp_path)
    shorter = replace(tiny_config, train=replace(tiny_config.train, steps=tiny_config.train.steps // 2))
    with pytest.raises(cfg.ConfigError, match="different config \\(train.steps\\)"):
        train(shorter, tmp_path)


def test_a_run_is_extended_by_a_larger_train_steps_and_eval_keys_do_not_block(
    tiny_config: cfg.RunConfig, tmp_path: Path
) -> None:
    """Raising train.steps resumes the run to the new length (its config records it); changing eval.*
    keys or when checkpoints are written resumes as before."""
    run_dir = train(tiny_config, tmp_path)
    steps = tiny_config.train.steps
    longer = replace(tiny_config, train=replace(tiny_config.train, steps=2 * steps))
    train(longer, tmp_path)
    assert read_metrics(run_dir)[-1]["step"] == 2 * steps and load_checkpoint(run_dir)["step"] == 2 * steps
    assert read_run_config(run_dir) == longer
    evaluated = replace(longer, eval=replace(longer.eval, n_prompts=longer.eval.n_prompts + 1))
    train(evaluated, tmp_path)
    assert read_run_config(run_dir).eval.n_prompts == longer.eval.n_prompts + 1
    checkpointed = replace(evaluated, train=replace(evaluated.train, checkpoint_every=7, checkpoint_minutes=1.0))
    train(checkpointed, tmp_path)
    assert read_run_config(run_dir) == checkpointed


def test_failed_start_leaves_no_run_directory(tiny_config: cfg.RunConfig, tmp_path: Path) -> None:
    bad = replace(tiny_config, train=replace(tiny_config.train, device="cuda"))
    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    with pytest.raises(cfg.ConfigError, match="CUDA is not available"):
        train(bad, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_missing_and_corrupted_checkpoints(tiny_config: cfg.RunConfig, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not a run directory"):
        load_model(tmp_path)
    run_dir = train(tiny_config, tmp_path)
    (run_dir / CHECKPOINT_FILE).write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="is corrupted"):
        load_model(run_dir)
    (run_dir / CHECKPOINT_FILE).unlink()
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_model(run_dir)


@pytest.mark.pipeline
def test_data_parallel_matches_single_process(tiny_config: cfg.RunConfig, tmp_path: Path) -> None:
    """torchrun with 2 ranks (gloo) sees the same global batches and ends at the same weights."""
    config_path = tmp_path / "config.toml"
    config_path.write_text(cfg.to_toml(tiny_config))
    # --standalone: torchrun picks a free port itself (no race between probing a port and binding it)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc-per-node=2",
            "-m",
            "icl.cli",
            "train",
            str(config_path),
            "--runs-dir",
            str(tmp_path / "ddp"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    try:
        _, stderr = process.communicate(timeout=1800)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # torchrun and both ranks: no orphans on a hang
            process.wait()
    assert process.returncode == 0, stderr[-3000:]
    single = train(tiny_config, tmp_path / "single")
    ddp_losses = [m["loss"] for m in read_metrics(tmp_path / "ddp" / "tiny")]
    assert ddp_losses == pytest.approx([m["loss"] for m in read_metrics(single)], rel=1e-4, abs=1e-5)
    for key, value in weights(single).items():
        assert torch.allclose(value, weights(tmp_path / "ddp" / "tiny")[key], atol=1e-4), key


def test_kept_checkpoints_are_the_intermediate_models(tiny_config: cfg.RunConfig, tmp_path: Path) -> None:
    config = replace(tiny_config, train=replace(tiny_config.train, keep_checkpoints=[10, 30]))
    run_dir = train(config, tmp_path / "kept")
    assert load_checkpoint(run_dir, step=10)["step"] == 10
    partial = train(tiny_config, tmp_path / "partial", stop_at=30)
    assert torch.equal(load_model(run_dir, step=30)[1].read_in.weight, load_model(partial)[1].read_in.weight)
    with pytest.raises(CheckpointError, match="no checkpoint kept at step 20"):
        load_model(run_dir, step=20)
    with pytest.raises(cfg.ConfigError, match=r"keep_checkpoints must be steps in \[1, train.steps=40\]"):
        replace(tiny_config.train, keep_checkpoints=[50])

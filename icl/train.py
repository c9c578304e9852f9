"""Training: AdamW on freshly sampled prompts, with curriculum, logging, checkpoints and resume.

The prompts of step s are drawn from a generator seeded by (seed, s), the full global batch on
every rank, each rank keeping its slice. So a run's data depends only on its config: a resumed run
and a data-parallel run (``torchrun``) see exactly the prompts of an uninterrupted one.
"""

from __future__ import annotations

import gc
import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

from icl import config as cfg
from icl.errors import UserError
from icl.models import SequenceModel, build_model
from icl.runs import (
    METRICS_FILE,
    checkpoint_path,
    claimed,
    clear_interrupted,
    load_checkpoint,
    load_weights,
    mark_interrupted,
    metrics_line,
    read_metrics,
    read_run_config,
    save_checkpoint,
    truncate_metrics,
)
from icl.tracking import open_trackers
from tasks import Task

log = logging.getLogger(__name__)


class DivergedError(UserError):
    """Training met a non-finite loss or gradient; the last finite checkpoint is kept."""


def step_generator(seed: int, step: int) -> torch.Generator:
    """The generator of training step ``step``: independent streams for every (seed, step)."""
    state = np.random.SeedSequence([seed, step]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


def prompt_loss(kind: str, predictions: Tensor, ys: Tensor) -> Tensor:
    """Mean over all prefixes: squared error, or binary cross-entropy of logits for +-1 labels."""
    if kind == "squared_error":
        return (predictions.float() - ys).square().mean()
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(predictions.float(), (ys + 1) / 2)
    raise ValueError(f"unknown loss {kind!r}; allowed: squared_error, bce")


def learning_rate(train: cfg.TrainConfig, step: int) -> float:
    """Linear warm-up, then constant or cosine decay to zero."""
    if step < train.warmup_steps:
        return train.lr * (step + 1) / train.warmup_steps
    if train.lr_schedule == "cosine":
        progress = (step - train.warmup_steps) / max(1, train.steps - train.warmup_steps)
        return train.lr * 0.5 * (1 + math.cos(math.pi * progress))
    return train.lr


def make_optimizer(model: nn.Module, train: cfg.TrainConfig) -> torch.optim.Optimizer:
    """AdamW with the fused (single-kernel) update, which CPU and CUDA both support."""
    return torch.optim.AdamW(model.parameters(), lr=train.lr, weight_decay=train.weight_decay, fused=True)


@dataclass
class Setup:
    """What a run needs, built and checked before anything touches the disk."""

    config: cfg.RunConfig
    task: Task
    model: SequenceModel
    device: torch.device


def setup(config: cfg.RunConfig) -> Setup:
    """Build the task and the model; raise ConfigError for anything that cannot run."""
    if config.train.device == "cuda" and not torch.cuda.is_available():
        raise cfg.ConfigError("train.device = 'cuda' but CUDA is not available on this machine; use 'cpu'")
    _check_memory(config)
    task = config.task.build()
    with torch.random.fork_rng(devices=[]):  # the seed decides the initial weights, not the caller's RNG
        torch.manual_seed(config.train.seed)
        model = build_model(config.model, config.task.n_dims, config.task.n_points)
    return Setup(config, task, model, torch.device(config.train.device))


ACTIVATION_FLOATS_PER_TOKEN_LAYER = 24
"""About what a pre-LN block keeps per token and width for the backward pass (attention, MLP x4, norms)."""


def _check_memory(config: cfg.RunConfig) -> None:
    """Refuse a batch whose activations alone would not fit in the device's memory (a rough lower bound)."""
    n_embd, n_layer, _ = config.model.dims
    tokens = config.train.batch_size * 2 * config.task.n_points
    needed = 4 * tokens * (n_embd * max(n_layer, 1) * ACTIVATION_FLOATS_PER_TOKEN_LAYER + config.task.n_dims)
    if config.train.device == "cuda":
        available = torch.cuda.get_device_properties(0).total_memory
    else:
        available = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    if needed > available:
        raise cfg.ConfigError(
            f"train.batch_size = {config.train.batch_size} needs at least {needed / 2**30:.0f} GiB for one step's "
            f"activations; this {config.train.device} has {available / 2**30:.0f} GiB: use a smaller batch"
        )


def load_model(
    run_dir: str | Path, device: str | torch.device = "cpu", step: int | None = None
) -> tuple[cfg.RunConfig, SequenceModel]:
    """The config and trained model of a run directory (at a kept ``step``, or the latest)."""
    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    model = build_model(config.model, config.task.n_dims, config.task.n_points)
    load_weights(model, load_checkpoint(run_dir, device, step)["model"], checkpoint_path(run_dir, step))
    return config, model.to(device)


def _distributed() -> tuple[int, int, int]:
    """(rank, local_rank, world_size) from torchrun's environment; (0, 0, 1) without it."""
    try:
        rank, local_rank, world_size = (int(os.environ.get(k, d)) for k, d in _RANK_VARIABLES)
    except ValueError:
        raise UserError(f"{', '.join(k for k, _ in _RANK_VARIABLES)} must be integers (torchrun sets them)") from None
    if not 0 <= rank < world_size:
        raise UserError(
            f"RANK={rank} with WORLD_SIZE={world_size}: RANK must be in [0, WORLD_SIZE); "
            "start data-parallel runs with torchrun, or unset RANK"
        )
    return rank, local_rank, world_size


_RANK_VARIABLES = (("RANK", "0"), ("LOCAL_RANK", "0"), ("WORLD_SIZE", "1"))


def train(
    config: cfg.RunConfig,
    runs_dir: str | Path = "runs",
    *,
    stop_at: int | None = None,
    on_step: Callable[[int, float], None] | None = None,
) -> Path:
    """Train (or resume) the run ``runs_dir/config.name``; returns the run directory.

    An existing run directory with the same config resumes from its checkpoint; with a different
    config it is an error. Ctrl-C (KeyboardInterrupt) keeps the run directory, marked interrupted
    (``icl.runs.mark_interrupted``), for the same call to resume. ``stop_at`` ends early at that step
    (after checkpointing), as if killed.
    ``on_step(step, loss)`` is called after every step with the last logged loss (progress bars).
    """
    run = setup(config)
    rank, local_rank, world_size = _distributed()
    if config.train.batch_size % world_size:
        raise cfg.ConfigError(
            f"train.batch_size ({config.train.batch_size}) must be divisible by the {world_size} ranks"
        )
    run_dir = Path(runs_dir) / config.name
    with claimed(run_dir, config) if rank == 0 else nullcontext():
        device = run.device
        if world_size > 1:
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
            if device.type == "cuda":
                device = torch.device("cuda", local_rank)
                torch.cuda.set_device(device)
            dist.barrier()
        try:
            result = _train_loop(run, run_dir, device, rank, world_size, stop_at, on_step)
            if world_size > 1:
                dist.barrier()  # every rank done before the group goes: gloo aborts a rank whose peer has left
            return result
        finally:
            if world_size > 1:
                # Free the DDP reducer's pending gloo work (held in reference cycles) while the
                # interpreter is alive: freed during its shutdown, it aborts the rank (SIGABRT).
                gc.collect()
                dist.destroy_process_group()


def train_many(configs: Sequence[cfg.RunConfig], runs_dir: str | Path = "runs") -> list[Path]:
    """Train (or reuse) several independent runs; returns their run directories, in order.

    On CPU the unfinished runs train side by side, one process per core with one thread each: a small
    model keeps a core busier alone than as one of two threads (on 2 cores, two quick Boolean runs
    side by side finish 1.15x (transformers) and 1.6x (LSTMs) sooner than one after the other). A
    run's weights depend on its thread count at the 1e-6 level, so such a run can differ that much
    from the same config trained alone. A single unfinished run, and CUDA runs, train one after the
    other in this process.
    """
    cores = torch.get_num_threads()
    unique = {config.name: config for config in configs}.values()  # one process per run directory
    pending = [c for c in unique if c.train.device == "cpu" and not is_finished(c, Path(runs_dir))]
    if cores > 1 and len(pending) > 1:
        workers = min(cores, len(pending))
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            jobs = [pool.submit(_train_with_threads, c, runs_dir, cores // workers) for c in pending]
            for job in jobs:
                job.result()
    return [train(config, runs_dir) for config in configs]


def _train_with_threads(config: cfg.RunConfig, runs_dir: str | Path, threads: int) -> Path:
    """``train`` with torch limited to ``threads`` threads (a worker of ``train_many``)."""
    torch.set_num_threads(threads)
    return train(config, runs_dir)


def is_finished(config: cfg.RunConfig, runs_dir: Path) -> bool:
    """Whether ``runs_dir`` already holds this run trained to its last step."""
    metrics = read_metrics(runs_dir / config.name)
    return bool(metrics) and metrics[-1]["step"] >= config.train.steps


def _resume(run_dir: Path, model: nn.Module, optimizer: torch.optim.Optimizer, device: torch.device, rank: int) -> int:
    """Load the latest checkpoint if there is one and cut the metrics back to it; returns its step.

    Whatever was logged after the checkpoint (or at all, without one) is dropped and logged again
    as it is re-done, so the metrics never hold a step twice.
    """
    start = 0
    if checkpoint_path(run_dir).exists():
        state = load_checkpoint(run_dir, device)
        load_weights(model, state["model"], checkpoint_path(run_dir))
        optimizer.load_state_dict(state["optimizer"])
        start = state["step"]
    if rank == 0:
        truncate_metrics(run_dir / METRICS_FILE, start)
    return start


def _forward_module(model: nn.Module, device: torch.device, world_size: int, compile_model: bool) -> nn.Module:
    """The module the loop calls: the model, wrapped for data parallelism and compiled if asked."""
    forward: nn.Module = model
    if world_size > 1:
        forward = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    return cast(nn.Module, torch.compile(forward)) if compile_model else forward


def _check_finite(loss: Tensor, grad_norm: Tensor, step: int, lr: float, run_dir: Path, world_size: int) -> None:
    """Raise DivergedError, on every rank alike, if the loss or the gradient of ``step`` is not finite."""
    bad = (~torch.isfinite(loss.detach().float()) | ~torch.isfinite(grad_norm.float())).float()
    if world_size > 1:
        dist.all_reduce(bad, op=dist.ReduceOp.MAX)
    if bad.item():
        kept = load_checkpoint(run_dir)["step"] if checkpoint_path(run_dir).exists() else None
        raise DivergedError(
            f"step {step}: loss {float(loss.detach()):.4g}, gradient norm {float(grad_norm):.4g} (train.lr = {lr:.3g}); "
            "training stopped before the update, "
            + (f"the last finite checkpoint (step {kept}) is kept" if kept is not None else "no checkpoint was written")
        )


def _step_batch(run: Setup, step: int, n_points: int, n_dims: int, rank: int, world_size: int) -> tuple[Tensor, Tensor]:
    """This rank's slice of the global batch of ``step`` (drawn whole, from the step's own generator)."""
    batch = run.config.train.batch_size
    prompt = run.task.sample(batch, n_points, step_generator(run.config.train.seed, step), n_dims)
    per_rank = batch // world_size
    ranks = slice(rank * per_rank, (rank + 1) * per_rank)
    return prompt.xs[ranks], prompt.ys[ranks]


def _append_metrics(metrics: Any, record: dict[str, Any]) -> None:
    """Append one record's line and flush it."""
    metrics.write(metrics_line(record))
    metrics.flush()


def _train_loop(
    run: Setup,
    run_dir: Path,
    device: torch.device,
    rank: int,
    world_size: int,
    stop_at: int | None,
    on_step: Callable[[int, float], None] | None,
) -> Path:
    """Resume, then train to ``stop_at`` or the end: a step, its log line, its checkpoints (by steps, by
    wall time, at the end). An interrupt marks the run interrupted at the last step trained."""
    config, train_cfg = run.config, run.config.train
    model = run.model.to(device)
    optimizer = make_optimizer(model, train_cfg)
    start = _resume(run_dir, model, optimizer, device, rank)
    end = train_cfg.steps if stop_at is None else min(stop_at, train_cfg.steps)
    if start >= end:
        if rank == 0:
            log.info("reusing %s, trained to step %d", run_dir, start)
            clear_interrupted(run_dir)
        return run_dir
    if rank == 0 and start:
        log.info("resuming %s from step %d", run_dir, start)
    forward = _forward_module(model, device, world_size, train_cfg.compile)
    bf16 = device.type == "cuda" and train_cfg.autocast == "bf16"
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if bf16 else nullcontext()
    curriculum = config.curriculum.build(config.task)
    started = time.perf_counter()
    loss_value = math.nan
    metrics = (run_dir / METRICS_FILE).open("a") if rank == 0 else None
    trackers = open_trackers(config, run_dir, start) if rank == 0 else []
    checkpoint_s = 60 * train_cfg.checkpoint_minutes if train_cfg.checkpoint_minutes else math.inf
    trained = saved = start
    saved_at = time.perf_counter()
    try:
        for step in range(start, end):
            n_dims_active, n_points = curriculum.at(step)
            xs, ys = (
                t.to(device, non_blocking=True)
                for t in _step_batch(run, step, n_points, n_dims_active, rank, world_size)
            )
            lr = learning_rate(train_cfg, step)
            for group in optimizer.param_groups:
                group["lr"] = lr
            with autocast:
                loss = prompt_loss(run.task.loss, forward(xs, ys), ys)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = nn.utils.clip_grad_norm_(model.parameters(), train_cfg.grad_clip)
            done = step + 1
            _check_finite(loss, grad_norm, done, lr, run_dir, world_size)
            optimizer.step()
            trained = done
            if done % train_cfg.log_every == 0 or done == end:
                loss_value = _mean_over_ranks(loss.detach(), world_size)
                if metrics is not None:
                    record = {
                        "step": done,
                        "loss": loss_value,
                        "lr": lr,
                        "grad_norm": float(grad_norm),
                        "n_dims": n_dims_active,
                        "n_points": n_points,
                        "elapsed_s": round(time.perf_counter() - started, 3),
                    }
                    _append_metrics(metrics, record)
                    for tracker in trackers:
                        tracker.log(record, done)
            if on_step is not None:
                on_step(done, loss_value)
            overdue = time.perf_counter() - saved_at >= checkpoint_s
            if rank == 0 and (done % train_cfg.checkpoint_every == 0 or done == end or overdue):
                save_checkpoint(checkpoint_path(run_dir), model, optimizer, done)
                saved, saved_at = done, time.perf_counter()
            if rank == 0 and done in train_cfg.keep_checkpoints:
                save_checkpoint(checkpoint_path(run_dir, done), model, optimizer, done)
    except KeyboardInterrupt:
        if rank == 0:
            mark_interrupted(run_dir, trained, saved)
        raise
    finally:
        if metrics is not None:
            metrics.close()
        for tracker in trackers:
            tracker.close()
    if rank == 0:
        clear_interrupted(run_dir)
    return run_dir


def _mean_over_ranks(value: Tensor, world_size: int) -> float:
    if world_size > 1:
        value = value.clone()
        dist.all_reduce(value)
        value /= world_size
    return float(value)

"""The run directory: what a run keeps on disk and how it is opened, checked, locked and cut back.

``runs/<name>/`` holds ``config.toml`` (complete), ``provenance.json`` (written once), ``metrics.jsonl``
(one record per logged step, never a step twice), ``checkpoint.pt`` (atomic) and, while a run stopped by
Ctrl-C waits to be resumed, ``interrupted.json``. A process claims a run (creates or checks it, locks it,
clears killed writers' files); the training loop (``icl.train``) only reads and writes through this module.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, cast

import torch
from torch import Tensor, nn

from icl import config as cfg
from icl.errors import UserError
from icl.io import atomic_path, exclusive_lock, remove_stray_temps, temp_name, write_text
from icl.provenance import provenance

log = logging.getLogger(__name__)

CONFIG_FILE = "config.toml"
CHECKPOINT_FILE = "checkpoint.pt"
PROVENANCE_FILE = "provenance.json"
METRICS_FILE = "metrics.jsonl"
INTERRUPTED_FILE = "interrupted.json"
RESUMABLE_KEYS = ("train.loggers", "train.checkpoint_every", "train.checkpoint_minutes")
"""Config keys that may change on an existing run besides eval.* and a larger train.steps: they say where
the metrics are mirrored and when checkpoints are written, not what is trained."""


class CheckpointError(UserError):
    """A run directory whose checkpoint is missing, unreadable or from another config."""


class MetricsError(UserError):
    """A ``metrics.jsonl`` damaged other than by a write cut short at its end."""


def _create_run_dir(run_dir: Path, config: cfg.RunConfig) -> bool:
    """Create ``run_dir`` holding config.toml and provenance.json (how it was made; kept as written when
    the run resumes), atomically: it appears whole or not at all.

    Returns False when another process created it first (it is then checked like any existing run).
    """
    tmp = temp_name(run_dir)
    os.mkdir(tmp)
    try:
        (tmp / CONFIG_FILE).write_text(cfg.to_toml(config))
        (tmp / PROVENANCE_FILE).write_text(json.dumps(provenance(), indent=2) + "\n")
        os.rename(tmp, run_dir)
    except OSError as error:
        if error.errno in (errno.EEXIST, errno.ENOTEMPTY):
            return False
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return True


def _open_run_dir(run_dir: Path, config: cfg.RunConfig) -> bool:
    """Create ``run_dir`` for ``config``, or check that the existing one holds the same config.

    Returns whether this call created it.
    """
    if run_dir.parent.exists() and not run_dir.parent.is_dir():
        raise UserError(f"runs directory {run_dir.parent} is a file; give a directory (--runs-dir)")
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    if not run_dir.exists() and _create_run_dir(run_dir, config):
        return True
    if not (run_dir / CONFIG_FILE).exists():
        raise cfg.ConfigError(f"{run_dir} exists but is not a run directory; choose another name")
    blocking = _blocking_changes(read_run_config(run_dir), config)
    if blocking:
        raise cfg.ConfigError(
            f"{run_dir} holds a run with a different config ({', '.join(blocking)}); only a larger train.steps, "
            f"eval.* and {', '.join(RESUMABLE_KEYS)} may change on an existing run: choose another name or delete it"
        )
    return False


@contextmanager
def claimed(run_dir: Path, config: cfg.RunConfig) -> Iterator[None]:
    """Hold ``run_dir`` for this process: created or checked, locked, cleaned of killed writers' files.

    A start that fails before its first checkpoint removes the directory it created, so a failed
    start never blocks the name; one interrupted while training (``mark_interrupted``) keeps it.
    """
    created = _open_run_dir(run_dir, config)
    with exclusive_lock(run_dir, f"run {config.name!r} ({run_dir})"):
        for stray in remove_stray_temps(run_dir):
            log.info("removed %s, left by a process killed while writing", stray.name)
        _extend(run_dir, config)
        try:
            yield
        except BaseException:
            if created and not checkpoint_path(run_dir).exists() and not (run_dir / INTERRUPTED_FILE).exists():
                shutil.rmtree(run_dir, ignore_errors=True)
            raise


def read_run_config(run_dir: Path) -> cfg.RunConfig:
    """The config saved in a run directory."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.exists():
        raise CheckpointError(f"{run_dir} is not a run directory (no {CONFIG_FILE})")
    return cfg.load(path, complete=True)


def _may_change(key: str) -> bool:
    """Whether a config key may change on an existing run (train.steps only to a larger value)."""
    return key.startswith("eval.") or key in RESUMABLE_KEYS or key == "train.steps"


def _blocking_changes(saved: cfg.RunConfig, wanted: cfg.RunConfig) -> list[str]:
    """The keys in which ``wanted`` differs from a run's saved config that forbid resuming it: all but
    a larger train.steps (the run is extended), eval.* (evaluation only) and ``RESUMABLE_KEYS``."""
    return [
        key
        for key in _config_diff(saved, wanted)
        if not _may_change(key) or (key == "train.steps" and wanted.train.steps < saved.train.steps)
    ]


def _extend(run_dir: Path, config: cfg.RunConfig) -> None:
    """Write ``config`` over a run's saved one when they differ (by ``_blocking_changes``, only in a
    larger train.steps, eval.* or ``RESUMABLE_KEYS``): the run then resumes to its new length, the learning-rate schedule
    stretched to it from the resumed step."""
    saved = read_run_config(run_dir)
    changed = _config_diff(saved, config)
    if changed:
        write_text(run_dir / CONFIG_FILE, cfg.to_toml(config))
        log.info(
            "run %s: %s changed (%s)",
            config.name,
            ", ".join(changed),
            "extended" if "train.steps" in changed else "resumed as it was",
        )


def _flat(config: cfg.RunConfig) -> dict[str, Any]:
    """The config's values by dotted key (``train.lr``), the run's ``name`` included."""
    flat: dict[str, Any] = {}
    for key, value in cfg.to_dict(config).items():
        if isinstance(value, dict):
            flat |= {f"{key}.{inner}": inner_value for inner, inner_value in value.items()}
        else:
            flat[key] = value
    return flat


def _config_diff(a: cfg.RunConfig, b: cfg.RunConfig) -> list[str]:
    flat_a, flat_b = _flat(a), _flat(b)
    return sorted(key for key in flat_a if flat_a[key] != flat_b[key])


def config_digest(config: cfg.RunConfig) -> str:
    """12 hex digits of the SHA-256 of what fixes a run: its config but the keys that may change on it
    (``_may_change``), so a run keeps its digest when it is resumed or extended."""
    fixed = {key: value for key, value in _flat(config).items() if not _may_change(key)}
    return hashlib.sha256(json.dumps(fixed, sort_keys=True).encode()).hexdigest()[:12]


def checkpoint_path(run_dir: Path, step: int | None = None) -> Path:
    """The latest checkpoint, or the one kept at ``step`` (train.keep_checkpoints)."""
    return Path(run_dir) / (CHECKPOINT_FILE if step is None else f"checkpoint-{step}.pt")


def load_checkpoint(run_dir: Path, map_location: str | torch.device = "cpu", step: int | None = None) -> dict[str, Any]:
    """A checkpoint of a run directory, or a CheckpointError saying what is wrong with it."""
    path = checkpoint_path(run_dir, step)
    if not path.exists():
        what = "no checkpoint" if step is None else f"no checkpoint kept at step {step}"
        raise CheckpointError(f"{what} in {run_dir}: train it first (icl train; train.keep_checkpoints)")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
        if not {"model", "optimizer", "step"} <= set(state):
            raise KeyError("model/optimizer/step")
    except Exception as error:  # noqa: BLE001 - any unreadable file is the same user-facing error
        raise CheckpointError(
            f"checkpoint {path} is corrupted ({type(error).__name__}); delete it to retrain"
        ) from None
    return state


def load_weights(model: nn.Module, weights: dict[str, Tensor], path: Path) -> None:
    """``model.load_state_dict``, with one line naming the first tensor of another shape or name."""
    expected = model.state_dict()
    for key in sorted(set(expected) | set(weights)):
        have, want = weights.get(key), expected.get(key)
        if have is None or want is None or have.shape != want.shape:
            there = "missing" if have is None else f"of shape {list(have.shape)}"
            here = "no such tensor" if want is None else f"shape {list(want.shape)}"
            raise CheckpointError(
                f"checkpoint {path} holds a model of another size or kind: {key} is {there} there, "
                f"the run's config ({CONFIG_FILE}) gives {here}"
            )
    model.load_state_dict(weights)


class _WriteErrors:
    """A file that keeps the OSError of a failed write: ``torch.save`` reports one only as a RuntimeError
    ("unexpected pos"), which would hide a full disk behind a traceback."""

    def __init__(self, file: BinaryIO) -> None:
        self.file = file
        self.error: OSError | None = None

    def write(self, data: bytes) -> int:
        try:
            return self.file.write(data)
        except OSError as error:
            self.error = error
            raise

    def flush(self) -> None:
        self.file.flush()


def save_checkpoint(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, step: int) -> None:
    """Write the checkpoint of ``step`` to ``path`` atomically. A failed write (a full disk, a file-size
    limit) leaves ``path`` as it was and no partial file, and raises an OSError naming ``path`` and why."""
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step}
    try:
        with atomic_path(path) as tmp, tmp.open("wb") as file:
            writer = _WriteErrors(file)
            try:
                torch.save(state, cast(BinaryIO, writer))  # it needs write and flush only
            except RuntimeError:
                if writer.error is None:
                    raise
                raise writer.error from None
    except OSError as error:
        reason = (
            f"{error.strerror or error} while writing the checkpoint of step {step}; {path.name} was left as it was"
        )
        raise OSError(error.errno, reason, str(path)) from error


def mark_interrupted(run_dir: Path, step: int, checkpoint_step: int) -> None:
    """Record that training stopped on an interrupt (Ctrl-C) after ``step``, its latest checkpoint at
    ``checkpoint_step`` (0: none): the run directory is kept, metrics included, and the same command
    resumes it from that checkpoint."""
    write_text(run_dir / INTERRUPTED_FILE, json.dumps({"step": step, "checkpoint_step": checkpoint_step}) + "\n")


def read_interrupted(run_dir: Path) -> dict[str, int] | None:
    """``mark_interrupted``'s record of a run (``step``, ``checkpoint_step``), or None if it was not interrupted."""
    path = Path(run_dir) / INTERRUPTED_FILE
    return json.loads(path.read_text()) if path.exists() else None


def clear_interrupted(run_dir: Path) -> None:
    """Drop the interrupted mark of a run that trained to the end it was asked for (writes nothing without one)."""
    path = run_dir / INTERRUPTED_FILE
    if path.exists():  # unlink alone would fail on a read-only file system, even with nothing to remove
        path.unlink()


def _parse_metrics(path: Path) -> tuple[list[dict[str, Any]], bool]:
    """The records of a metrics file, and whether a torn last line (a cut-short write) was dropped."""
    if not path.exists():
        return [], False
    *lines, tail = path.read_bytes().decode("utf-8", errors="replace").split("\n")
    records = []
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or not isinstance(record.get("step"), int):
                raise ValueError("no integer 'step'")
        except ValueError as error:
            raise MetricsError(
                f"{path}, line {number}: not a metrics record ({error}); delete that line or the run"
            ) from None
        records.append(record)
    if tail:
        log.warning("%s: dropped its last line, cut short by an interrupted write", path)
    return records, bool(tail)


def metrics_line(record: dict[str, Any]) -> str:
    """One record as a line of metrics.jsonl (strict JSON: a non-finite value is an error, never ``NaN``)."""
    return json.dumps(record, allow_nan=False) + "\n"


def truncate_metrics(path: Path, step: int) -> None:
    """Keep the records up to ``step`` (the checkpoint resumed from); rewrite only if that drops any."""
    records, torn = _parse_metrics(path)
    kept = [record for record in records if record["step"] <= step]
    if torn or len(kept) < len(records):
        write_text(path, "".join(metrics_line(record) for record in kept))


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """The logged metrics of a run, one dict per logged step."""
    return _parse_metrics(Path(run_dir) / METRICS_FILE)[0]

"""Optional experiment trackers, chosen by ``train.loggers``: TensorBoard and Weights & Biases.

They mirror the records training writes to metrics.jsonl, which stays the source of truth; neither
is a dependency of the package (``pip install 'icl-testbed[track]'``). TensorBoard writes event
files under ``<run>/tensorboard/``; W&B logs under ``<run>/wandb/``, offline unless ``WANDB_MODE``
says otherwise (no account needed), as one W&B run per run directory that a resumed run continues
(its id: ``wandb_run_id``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from icl import config as cfg
from icl.errors import UserError
from icl.runs import config_digest

TRACKERS = cfg.LOGGERS


class Tracker(Protocol):
    def log(self, record: dict[str, Any], step: int) -> None: ...

    def close(self) -> None: ...


def _missing(name: str, package: str) -> UserError:
    return UserError(f"train.loggers has {name!r}, but {package} is not installed: pip install 'icl-testbed[track]'")


class TensorBoard:
    """A ``SummaryWriter`` on ``<run>/tensorboard``; a resumed run drops the events past its checkpoint."""

    def __init__(self, run_dir: Path, start_step: int) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise _missing("tensorboard", "tensorboard") from None
        self.writer = SummaryWriter(str(run_dir / "tensorboard"), purge_step=start_step + 1 if start_step else None)

    def log(self, record: dict[str, Any], step: int) -> None:
        for key, value in record.items():
            if key != "step":
                self.writer.add_scalar(f"train/{key}", value, step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


class WandB:
    """A W&B run named after the run directory, with its config; offline unless ``WANDB_MODE`` is set."""

    def __init__(self, run_dir: Path, config: cfg.RunConfig) -> None:
        try:
            import wandb
        except ImportError:
            raise _missing("wandb", "wandb") from None
        self.run = wandb.init(
            project=os.environ.get("WANDB_PROJECT", "icl-testbed"),
            name=config.name,
            id=wandb_run_id(run_dir, config),
            resume="allow",
            dir=str(run_dir),
            config=cfg.to_dict(config),
            mode=os.environ.get("WANDB_MODE", "offline"),  # type: ignore[arg-type]
            reinit="create_new",
        )

    def log(self, record: dict[str, Any], step: int) -> None:
        self.run.log({f"train/{key}": value for key, value in record.items() if key != "step"}, step=step)

    def close(self) -> None:
        self.run.finish()


WANDB_ID_CHARACTERS = 64
"""The longest W&B run id we make (W&B refuses ``:;,#?/'`` in one; ours hold only [a-z0-9-])."""


def wandb_run_id(run_dir: Path, config: cfg.RunConfig) -> str:
    """The W&B run id of a run directory: the folder holding it (the sweep, for a sweep's point), its name
    and ``icl.runs.config_digest``, as lowercase letters, digits and '-', at most 64 characters.

    Runs whose names differ only in case or punctuation (``Run.1``, ``run_1``), or points of the same name
    in two sweeps, get different ids; the same run, resumed or extended, keeps its id.
    """
    digest = config_digest(config)
    folder = Path(run_dir).resolve().parent.name
    words = "-".join(re.sub(r"[^a-z0-9]+", "-", part.lower()).strip("-") for part in (folder, config.name))
    head = words.strip("-")[: WANDB_ID_CHARACTERS - len(digest) - 1].rstrip("-")
    return f"{head}-{digest}" if head else digest


def open_trackers(config: cfg.RunConfig, run_dir: Path, start_step: int) -> list[Tracker]:
    """The trackers ``config.train.loggers`` names, opened on ``run_dir`` (none by default)."""
    makers: dict[str, Callable[[], Tracker]] = {
        "tensorboard": lambda: TensorBoard(run_dir, start_step),
        "wandb": lambda: WandB(run_dir, config),
    }
    return [makers[name]() for name in config.train.loggers]

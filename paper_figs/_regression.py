"""The regression figures' shared set-up: a panel (one task, its baselines, its quick and full
sizes) and the run config that trains and evaluates it."""

from __future__ import annotations

from dataclasses import dataclass, field

from icl import config as cfg
from paper_figs import SMOKE_RUN, by_size


@dataclass(frozen=True)
class Panel:
    """One function class: its title, task, parameters, baselines, and its config values at each size
    (smoke: the quick ones with ``SMOKE_RUN`` and ``smoke`` over them)."""

    title: str
    task: str
    params: dict
    baselines: tuple[str, ...]
    quick: dict
    full: dict
    smoke: dict = field(default_factory=dict)


QUICK_COMMON = {
    "model.size": "tiny",
    "train.lr": 1e-3,
    "train.lr_schedule": "cosine",
    "train.batch_size": 64,
    "curriculum.dims_start": 2,
    "curriculum.dims_interval": 200,
    "train.log_every": 100,
    "train.checkpoint_every": 1000,
}
FULL_COMMON = {
    "model.size": "standard",
    "train.lr": 1e-4,
    "train.steps": 500_000,
    "train.device": "cuda",
    "curriculum.dims_start": 5,
    "curriculum.points_start": 11,
    "train.checkpoint_every": 10_000,
    "eval.n_prompts": 1280,
}


def panel_config(panel: Panel, size: str, seed: int, figure: str) -> cfg.RunConfig:
    """The training/evaluation config of one panel at ``size`` (smoke: the quick one, shrunk; its
    run is named after ``figure``)."""
    values = {
        "task.name": panel.task,
        "task.params": panel.params,
        "train.seed": seed,
        "eval.baselines": list(panel.baselines),
    }
    values.update(by_size(size, QUICK_COMMON, QUICK_COMMON, FULL_COMMON))
    values.update(by_size(size, {**panel.quick, **SMOKE_RUN, **panel.smoke}, panel.quick, panel.full))
    values["name"] = f"{figure}-{panel.task}-{size}-seed{seed}"
    return cfg.from_dict(cfg.set_values({}, values))

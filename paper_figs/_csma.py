"""Pieces shared by the CSMA figures: the ICL optimizer's run config and summary rows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

from icl import config as cfg
from icl.csma import IclController
from icl.drl import DqnAgent
from icl.evaluate import bootstrap_mean
from icl.train import load_model
from paper_figs.plots import plot_band
from sim.env import CsmaEnv
from tasks.csma import CsmaWindowTask

N_ASSUMED = 20
MEASUREMENT_SLOTS = 5000
"""Slots per env step: the measurement window of a probe, matched by the training prompts' noise."""

EnvFactory = Callable[..., CsmaEnv]
"""Builds the environment a policy runs in: ``make_env(n_stations, **CsmaEnv options)``."""


def embedded_env(n_stations: int, **options: Any) -> CsmaEnv:
    """The embedded simulator, one probe's measurement window per step."""
    return CsmaEnv(n_stations, interval_slots=MEASUREMENT_SLOTS, **options)


def run_config(
    name: str, quick: bool, seed: int, error_fraction: float, keep_checkpoints: Sequence[int] = ()
) -> cfg.RunConfig:
    """The ICL optimizer's training run: csma_window prompts (10 probes + query), tiny model."""
    values = {
        "name": f"{name}-{'quick' if quick else 'full'}-seed{seed}",
        "task.name": "csma_window",
        "task.n_dims": 2,
        "task.n_points": 11,
        "task.params": {"measurement_slots": MEASUREMENT_SLOTS, "error_fraction": error_fraction},
        "model.size": "tiny",
        "train.steps": 2000 if quick else 20_000,
        "train.lr": 1e-3,
        "train.lr_schedule": "cosine",
        "train.seed": seed,
        "train.log_every": 100,
        "train.checkpoint_every": 500,
        "train.keep_checkpoints": list(keep_checkpoints),
        "eval.n_prompts": 512,
    }
    return cfg.from_dict(cfg.set_values({}, values))


def controller_for(run_dir: Path) -> IclController:
    """The closed-loop ICL controller of a trained csma_window run (probes: its prompt's examples)."""
    config, model = load_model(run_dir)
    task = config.task.build()
    if not isinstance(task, CsmaWindowTask):
        raise ValueError(f"{run_dir}: closed-loop control needs a csma_window run, got task {config.task.name!r}")
    return IclController(model, task, n_probes=config.task.n_points - 1)


def summary_row(panel: str, policy: str, x: float, samples: np.ndarray, seed: int) -> dict:
    """One CSV row: the mean of ``samples`` and its 95% bootstrap interval."""
    low, high = bootstrap_mean(samples[:, None], 1000, 0.95, seed)
    return {"panel": panel, "policy": policy, "x": x, "mean": samples.mean(), "ci_low": low[0], "ci_high": high[0]}


def trained_dqn(runs_dir: Path, quick: bool, seed: int) -> DqnAgent:
    """The CCOD-style DQN baseline, trained on N uniform in [5, 50] (cached in ``runs_dir``)."""
    agent = DqnAgent(seed=seed)
    path = Path(runs_dir) / f"dqn-{'quick' if quick else 'full'}-seed{seed}.pt"
    if path.exists():
        agent.load(path)
        return agent
    rng = np.random.default_rng(seed)
    agent.train(
        lambda episode: CsmaEnv(int(rng.integers(5, 51)), interval_slots=2000),
        n_episodes=60 if quick else 400,
        episode_steps=25,
    )
    agent.save(path)
    return agent


def plot_throughput_vs_n(ax: Axes, loop: pd.DataFrame, title: str) -> dict[str, Any]:
    """Throughput vs N per policy with bands (Bianchi's oracle dashed); returns the policy colours."""
    policies = list(loop.policy.unique())
    palette = dict(zip(policies, sns.color_palette("colorblind", len(policies))))
    for policy in policies:
        rows = loop[loop.policy == policy]
        dashed = policy == "oracle (Bianchi)"
        plot_band(
            ax,
            rows.x,
            rows["mean"],
            None if dashed else rows.ci_low,
            rows.ci_high,
            color=palette[policy],
            label=policy,
            style="--" if dashed else "-o",
        )
    ax.set_xlabel("number of stations N")
    ax.set_ylabel("throughput (Mb/s)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return palette


def plot_convergence(
    ax: Axes, curves: pd.DataFrame, change_step: int, step_label: str, title: str, palette: dict[str, Any] | None = None
) -> None:
    """Throughput per step per policy with bands, the change of N marked."""
    for i, policy in enumerate(curves.policy.unique()):
        rows = curves[curves.policy == policy]
        color = palette[policy] if palette else sns.color_palette("colorblind")[i]
        plot_band(ax, rows.x, rows["mean"], rows.ci_low, rows.ci_high, color=color, label=policy)
    ax.axvline(change_step, color="grey", ls=":", lw=1)
    ax.set_xlabel(step_label)
    ax.set_ylabel("throughput (Mb/s)")
    ax.set_title(title)
    ax.legend(fontsize=8)

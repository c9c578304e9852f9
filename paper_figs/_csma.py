"""Pieces shared by the CSMA figures: the ICL optimizer's run configs and the plots of policy comparisons."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

from icl import config as cfg
from icl.policies import MEASUREMENT_SLOTS
from paper_figs.plots import plot_band


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


def training_stages(quick: bool) -> list[int]:
    """The checkpoints the training curve is drawn from."""
    return [100, 250, 500, 1000, 1500, 2000] if quick else [500, 1000, 2000, 5000, 10_000, 20_000]


def icl_run_config(quick: bool, seed: int) -> cfg.RunConfig:
    """The ICL optimizer's run (eps = 0.05) of the csma_icl figure, reused by the ns-3 figure."""
    return run_config("csma_icl", quick, seed, error_fraction=0.05, keep_checkpoints=training_stages(quick))


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

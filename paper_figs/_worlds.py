"""What the two worlds figures (``csma_worlds`` on the embedded simulator, ``csma_worlds_ns3`` on ns-3)
share: the model window's share of each world's oracle, the policies they score, and the drawing."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from control.controller import FixedWindow, Oracle
from control.experiments import PolicySpec, controller_for, estimator_controller, hand_made_policies, oracle_window
from icl.train import train
from paper_figs.csma_common import drl_for, held_out, icl_run_config, peak_run_config
from paper_figs.names import name_of
from paper_figs.plots import level_palette, new_figure
from sim.table import MeasurementTable
from theory import bianchi

WORLDS_NOTE = (
    "Bars: mean and 95% interval over runs. Cells: mean over seeds and N, 5th percentile over seeds in brackets.\n"
    "The reference is the best fixed window (the same for every station), not an upper bound: above 100%, a policy "
    "does better by changing windows (BEB per station and per retry, under hidden stations)."
)
"""What the worlds figures' bars and cells are (written under both)."""


def model_window_kept(tables: dict[str, str], n_values: Sequence[int]) -> pd.DataFrame:
    """Per world, N and run: the run's throughput at the grid window nearest Bianchi's W*(N) over the
    world's mean throughput at its measured optimum."""
    rows = []
    for world, path in tables.items():
        table = MeasurementTable.load(path)
        for n in n_values:
            i = int(np.searchsorted(table.n_values, n))
            model = np.log2(bianchi.optimal_window(n))
            j = int(np.argmin(np.abs(np.log2(table.windows) - model)))
            best = float(table.throughput_at(n, np.log2(table.optimal_window(n))))
            for run, throughput in enumerate(table.throughput[i, j]):
                rows.append({"panel": "model window", "world": world, "N": n, "run": run, "kept": throughput / best})
    return pd.DataFrame(rows)


def world_policies(runs: Path, size: str, seed: int, training: Sequence[str]) -> dict[str, PolicySpec]:
    """The policies of the worlds figures: the in-context optimizers (p* trained in Bianchi's world and
    the median of offsets reading its prompts; the throughput-peak transformer trained on the
    ``training`` tables of randomised worlds and the parabola fit reading its probes), the classic
    schemes, the model's window for the true N, the CCOD-style DQN and BEB."""
    across = controller_for(train(peak_run_config("peak-random", size, seed, training), runs))
    p_star = controller_for(train(icl_run_config(size, seed), runs))
    return {
        "icl:transformer": (p_star, {}),
        "icl:median_offset": (estimator_controller(p_star, "median_offset"), {}),
        "icl-peak:transformer": (across, {}),
        "icl-peak:peak_fit": (estimator_controller(across, "peak_fit"), {}),
        **{key: spec for key, spec in hand_made_policies(p_star).items() if not key.startswith("icl")},
        "bianchi_window": (Oracle(oracle_window), {}),
        "dqn": (drl_for(runs, size, seed), {}),
        "beb": (FixedWindow(16), {"backoff": "beb"}),
    }


def draw(kept: pd.DataFrame, scores: pd.DataFrame, worlds: Sequence[str], where: str, seed: int) -> Figure:
    """Left: the model window's share of each world's oracle; right: the closed-loop heatmap."""
    fig, (left, right) = new_figure(2, width_in=6.0, height_in=4.6)
    sns.barplot(data=kept.assign(kept=100 * kept.kept), x="world", y="kept", hue="N", errorbar=("ci", 95),
                palette=level_palette(kept.N.nunique()), ax=left, seed=seed)  # fmt: skip
    left.axhline(100, color="black", ls="--", lw=1)
    left.axhline(95, color="grey", ls=":", lw=1)
    left.set(xlabel="world", ylabel=r"throughput at Bianchi's $W^*(N)$ (% of the oracle)",
             title=f"where the model's window fails ({where})")  # fmt: skip
    left.tick_params(axis="x", rotation=40)
    labels_x = [w + ("*" if held_out(w) else "") for w in worlds]
    mean = scores.pivot_table(index="policy", columns="world", values="throughput_ratio", sort=False)[list(worlds)]
    p5 = scores.pivot_table(index="policy", columns="world", values="p5_throughput_ratio", aggfunc="min", sort=False)
    labels = (
        (100 * mean).round().astype(int).astype(str)
        + "\n("
        + (100 * p5[list(worlds)]).round().astype(int).astype(str)
        + ")"
    )
    low, high = float(100 * mean.min().min()), float(100 * mean.max().max())
    norm = TwoSlopeNorm(
        vmin=min(60.0, low), vcenter=100.0, vmax=max(105.0, high)
    )  # red below the reference, blue above
    sns.heatmap(100 * mean, annot=labels, fmt="", cmap="RdBu", norm=norm, ax=right, annot_kws={"fontsize": 6},
                xticklabels=labels_x, yticklabels=[name_of(p) for p in mean.index],
                cbar_kws={"label": "throughput, probes charged (% of the best fixed window)"})  # fmt: skip
    right.set(xlabel="world (* outside the across-worlds training ranges)", ylabel="",
              title=f"closed loop, {where}:\nmean (5th percentile) over seeds and N")  # fmt: skip
    right.tick_params(axis="x", rotation=40)
    right.tick_params(axis="y", labelsize=7)
    return fig

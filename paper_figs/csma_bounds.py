"""CSMA theory vs the embedded simulator: how a prediction deviation becomes a throughput deviation,
and how far an in-context estimate from k noisy, partly wrong examples can deviate.

Left: relative throughput loss of a fixed window e octaves away from W*(N) — Bianchi's model
(solid), its second-order expansion from the sympy curvature (dotted), and the simulator (points,
95% bootstrap intervals over seeds). A bound |e| <= delta on the prediction bounds the loss by the
model curve's larger endpoint value. Right: the 95th percentile of the in-context estimate's miss
(octaves) from 10 probes of 5,000 slots, when a fraction eps of the probes is wrong (the most
informative ones, all on one side), against the bound of theory/in_context.py (lines). ``--size quick``:
fewer seeds and shorter runs (both versions run on CPU in seconds to a minute).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns

from icl.evaluate import bootstrap_mean
from paper_figs import by_size, output_stem, script_main, size_mark
from paper_figs.plots import new_figure, plot_band, save_figure, styled
from sim.csma import simulate
from sim.timing import INTERVAL_SLOTS
from theory import bianchi, in_context

DESCRIPTION = "CSMA: throughput loss vs window error, and the in-context estimate's deviation bound, vs the simulator"
NAME = "csma_bounds"
NETWORKS = (5, 20, 50)
PROBES = np.unique(np.geomspace(16, 1024, 10).round().astype(int))
ERROR_FRACTIONS = (0.0, 0.1, 0.2, 0.3, 0.4)


def throughput_panel(size: str, seed: int) -> pd.DataFrame:
    """Model, expansion and simulator loss at errors in [-2, 2] octaves for each N."""
    errors = np.linspace(-2, 2, by_size(size, 5, 9, 17))
    seeds, slots = by_size(size, (2, 10_000), (4, 100_000), (12, 400_000))
    rows = []
    for n in NETWORKS:
        best = bianchi.optimal_window(n)
        kappa = bianchi.throughput_curvature(n)
        fine = np.linspace(-2, 2, 81)
        for label, values in (
            ("model", bianchi.throughput_loss(n, fine)),
            ("2nd order", kappa * (fine * np.log(2)) ** 2 / 2),
        ):
            rows += [{"N": n, "source": label, "error_octaves": e, "mean": v, "ci_low": v, "ci_high": v}
                     for e, v in zip(fine, values)]  # fmt: skip
        windows = np.append(best * np.exp2(errors), best).round()
        runs = [
            simulate(np.full(len(windows), n), windows, n_slots=slots, seed=seed * 1000 + s).throughput_mbps
            for s in range(seeds)
        ]
        losses = np.array([1 - tput[:-1] / tput[-1] for tput in runs])
        low, high = bootstrap_mean(losses, 1000, 0.95, seed)
        rows += [{"N": n, "source": "simulator", "error_octaves": e, "mean": m, "ci_low": lo, "ci_high": hi}
                 for e, m, lo, hi in zip(errors, losses.mean(axis=0), low, high)]  # fmt: skip
    return pd.DataFrame(rows).assign(panel="throughput loss")


def deviation_panel(size: str, seed: int) -> pd.DataFrame:
    """Empirical 95th percentile of the in-context miss (with a bootstrap interval) and the bound."""
    n_prompts = by_size(size, 20, 200, 1000)
    p_target = bianchi.optimal_collision_probability(20)
    rng = np.random.default_rng(seed)
    rows = []
    for n in (10, 20, 50):
        stats = simulate(np.full(n_prompts * len(PROBES), n), np.tile(PROBES, n_prompts), n_slots=INTERVAL_SLOTS,
                         seed=seed + n)  # fmt: skip
        clean = stats.collision_probability.reshape(n_prompts, len(PROBES))
        for eps in ERROR_FRACTIONS:
            p = in_context.worst_case_probes(clean, n, PROBES, INTERVAL_SLOTS, eps)
            misses = in_context.in_context_miss(p, PROBES, n, p_target)
            resampled = [np.quantile(rng.choice(misses, n_prompts), 0.95) for _ in range(500)]
            bound = in_context.in_context_deviation_bound(n, PROBES, INTERVAL_SLOTS, eps, p_target)
            rows.append(
                {
                    "N": n,
                    "source": "simulator (95th percentile)",
                    "eps": eps,
                    "mean": np.quantile(misses, 0.95),
                    "ci_low": np.quantile(resampled, 0.025),
                    "ci_high": np.quantile(resampled, 0.975),
                }
            )
            rows.append({"N": n, "source": "bound (95%)", "eps": eps, "mean": bound, "ci_low": bound, "ci_high": bound})
    return pd.DataFrame(rows).assign(panel="in-context deviation")


@styled
def reproduce(out_dir: Path, size: str = "full", seed: int = 0) -> list[Path]:
    """Compute both panels; returns the PNG, PDF and CSV paths."""
    loss, deviation = throughput_panel(size, seed), deviation_panel(size, seed)
    fig, axes = new_figure(2, width_in=5.6, height_in=4.0)
    networks = sorted(set(loss.N) | set(deviation.N))
    palette = dict(zip(networks, sns.color_palette("colorblind", len(networks))))
    for n, group in loss.groupby("N"):
        for source, style in (("model", "-"), ("2nd order", ":"), ("simulator", "o")):
            rows = group[group.source == source]
            plot_band(
                axes[0],
                rows.error_octaves,
                rows["mean"],
                None if source != "simulator" else rows.ci_low,
                rows.ci_high,
                color=palette[n],
                label=f"N = {n}, {source}",
                style=style,
                scale=100,
            )
    axes[0].set(
        xlabel=r"window error $\log_2(W / W^*)$ (octaves)",
        ylabel=r"throughput loss vs $S(W^*)$ (%)",
        title=r"prediction deviation $\rightarrow$ throughput deviation",
    )
    axes[0].legend(fontsize=7, ncol=3)
    for n, group in deviation.groupby("N"):
        for source, style in (("simulator (95th percentile)", "o"), ("bound (95%)", "-")):
            rows = group[group.source == source]
            plot_band(
                axes[1],
                rows.eps,
                rows["mean"],
                rows.ci_low if style == "o" else None,
                rows.ci_high,
                color=palette[n],
                label=f"N = {n}, {source}",
                style=style,
            )
    axes[1].set(
        yscale="log",
        xlabel=r"fraction of wrong examples $\varepsilon$",
        ylabel=r"$|\log_2(\hat{W} / W_{\mathrm{target}})|$ (octaves)",
        title=f"in-context estimate from {len(PROBES)} probes",
    )
    axes[1].legend(fontsize=7, ncol=2)
    data = pd.concat([loss, deviation], ignore_index=True)
    return save_figure(
        fig,
        data,
        output_stem(Path(out_dir), NAME, size),
        mark=size_mark(size),
        note="Shaded: 95% bootstrap intervals, over seeds (left) and of the 95th percentile over prompts (right).",
    )


def main(argv: Sequence[str] | None = None) -> None:
    script_main(reproduce, DESCRIPTION, argv)


if __name__ == "__main__":
    main()

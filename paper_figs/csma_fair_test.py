"""A fair test of the in-context CSMA optimizer: the transformer against hand-made methods.

Left: median octave error |log2 W - log2 W*| of the window each learner reads from the same prompts
(10 probes measured over 5,000 slots, the query p*), against N, clean and with a fifth of the
examples wrong; the shaded N lie outside training ([5, 50]). Middle: the same against the fraction
eps of wrong examples, at N = 20. Right: closed-loop throughput relative to the oracle W*(N) with
every step counted (probes are charged), mean and 5th percentile over seeds, for the ICL controller
with each learner, the classic adaptive schemes (p* tracker, Idle Sense, Kalman N estimate), the
CCOD-style DQN and TD3 (Stable-Baselines3), BEB and the model-based windows; embedded simulator,
eps = 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from control.experiments import ESTIMATORS, controller_for, fair_test_policies, score_policies, window_accuracy
from icl.baselines import from_spec
from icl.train import load_model, train
from paper_figs import by_size, output_stem, script_main, size_mark
from paper_figs.csma_common import drl_for, experiment_env, icl_run_config, legend_below
from paper_figs.names import name_of, palette_of
from paper_figs.plots import level_palette, new_figure, save_figure, styled

DESCRIPTION = "CSMA fair test: the ICL transformer vs hand-made estimators, classic adaptive schemes, DQN"
NAME = "csma_fair_test"
TRANSFORMER = "transformer"
TRAINING_RANGE = (5, 50)
FLOOR = 1e-3
"""Errors below this are drawn at it (the likelihood is exact at N = 2, the end of its search)."""
OCTAVES = r"median $|\log_2 \hat{W} - \log_2 W^*|$ (octaves, $\geq 0.001$)"


@styled
def reproduce(out_dir: Path, size: str = "full", seed: int = 0) -> list[Path]:
    """Score every learner open loop and every policy closed loop; returns the PNG, PDF and CSV paths."""
    out_dir = Path(out_dir)
    config = icl_run_config(size, seed)
    run_dir = train(config, out_dir / "runs")
    learners = {TRANSFORMER: load_model(run_dir)[1], **{spec: from_spec(spec) for spec in ESTIMATORS}}
    n_values = by_size(size, [2, 20, 120], [2, 3, 5, 10, 20, 50, 80, 120], [2, 3, 5, 10, 20, 35, 50, 80, 120])
    eps_values = by_size(size, [0.0, 0.2], [0.0, 0.1, 0.2, 0.3], [0.0, 0.1, 0.2, 0.3, 0.4])
    n_prompts = by_size(size, 50, 400, 2000)
    accuracy = pd.concat(
        [
            window_accuracy(learners, n_values, [0.0, 0.2], n_prompts, seed=seed + 1).assign(panel="vs N"),
            window_accuracy(learners, [20], eps_values, n_prompts, seed=seed + 2).assign(panel="vs eps"),
        ],
        ignore_index=True,
    )
    controller = controller_for(run_dir)
    runs = out_dir / "runs"
    policies = fair_test_policies(controller, drl_for(runs, size, seed), drl_for(runs, size, seed, "td3"))
    n_steps = len(controller.probe_windows) + by_size(size, 2, 10, 20)
    closed = score_policies(
        policies, [5, 20, 50], by_size(size, 2, 6, 20), n_steps, make_env=experiment_env(size)
    ).assign(panel="closed loop")
    data = pd.concat([accuracy, closed], ignore_index=True)

    fig, (left, middle, right) = new_figure(3, width_in=5.4, height_in=4.4)
    palette = palette_of(list(learners))
    by_n = accuracy[accuracy.panel == "vs N"]
    for (name, eps), rows in by_n.groupby(["learner", "eps"], sort=False):
        left.plot(rows.N, rows.median_octaves.clip(lower=FLOOR), "-o" if eps == 0 else "--s", color=palette[name], ms=4,
                  label=name_of(name) if eps == 0 else None)  # fmt: skip
    left.axvspan(min(n_values) * 0.9, TRAINING_RANGE[0], color="grey", alpha=0.15, lw=0)
    left.axvspan(TRAINING_RANGE[1], max(n_values) * 1.1, color="grey", alpha=0.15, lw=0)
    left.set(xscale="log", yscale="log", xlabel="number of stations N", ylabel=OCTAVES,
             title=r"vs N; solid: $\varepsilon = 0$, dashed: $\varepsilon = 0.2$; grey: untrained N")  # fmt: skip
    left.legend(fontsize=7)
    for name, rows in accuracy[accuracy.panel == "vs eps"].groupby("learner", sort=False):
        middle.plot(
            rows.eps, rows.median_octaves.clip(lower=FLOOR), "-o", color=palette[name], ms=4, label=name_of(name)
        )
    middle.set(yscale="log", xlabel=r"fraction of wrong examples $\varepsilon$", ylabel=OCTAVES,
               title="vs wrong examples, N = 20")  # fmt: skip
    middle.legend(fontsize=7)
    mean = closed.pivot_table(index="policy", columns="N", values="throughput_ratio", sort=False) * 100
    p5 = closed.pivot_table(index="policy", columns="N", values="p5_throughput_ratio", sort=False) * 100
    positions = range(len(mean))
    colours = level_palette(len(mean.columns))
    for i, n in enumerate(mean.columns):
        offset = (i - (len(mean.columns) - 1) / 2) * 0.25
        right.errorbar(mean[n], [p + offset for p in positions], xerr=[mean[n] - p5[n], [0] * len(mean)], fmt="o",
                       ms=4, color=colours[i], elinewidth=0.8, label=f"N = {n}")  # fmt: skip
    right.set_yticks(list(positions), [name_of(policy) for policy in mean.index], fontsize=7)
    right.invert_yaxis()
    right.axvline(100, color="black", ls="--", lw=1)
    right.set(xlabel=r"throughput, probes charged (% of oracle $W^*(N)$)",
              title="closed loop: mean (dot) and 5th percentile (whisker end)")  # fmt: skip
    legend_below(right)
    return save_figure(
        fig,
        data,
        output_stem(out_dir, NAME, size),
        mark=size_mark(size),
        note="Right: dots are means over seeds, whiskers reach the 5th percentile; dashed: the oracle.",
    )


def main(argv: Sequence[str] | None = None) -> None:
    script_main(reproduce, DESCRIPTION, argv)


if __name__ == "__main__":
    main()

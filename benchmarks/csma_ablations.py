"""What the CSMA transformer learned: encoding ablations and training for robustness, each against the
best hand-made estimator on the same prompts.

Ablations: the csma_icl run (eps = 0.05, tiny model) trained on the default encoding, on the raw
collision probability without the z = log(-log(1 - p)) feature, and on windows W / w_max instead of
log2 W. For every checkpoint kept, the median octave error |log2 W - log2 W*| at N = 5, 20, 50
(eps = 0, 1,000 prompts per cell), and the steps each encoding needs to come within 1.5x of the
default's final error, as a ratio of the default's steps.

Robustness: runs trained with eps = 0.2 (uniform wrong readings), with interference bursts, and
longer, scored at eps = 0, 0.2 (uniform and burst errors) against the best of the four estimators;
> 1 means the estimator is better. Each run trains on first use (8-25 minutes on one core at
full size) and is reused from ``--runs`` afterwards.

    python benchmarks/csma_ablations.py --size full
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from control.experiments import ESTIMATORS, window_accuracy
from icl import config as cfg
from icl.baselines import from_spec
from icl.train import load_model, train
from paper_figs.csma_common import run_config, training_stages
from paper_figs.names import name_of

ENCODINGS: dict[str, tuple[str, dict[str, str]]] = {
    "p and z, log2 W (default)": ("ablate-pz", {}),
    "raw p, log2 W": ("ablate-p", {"inputs": "p"}),
    "p and z, W / w_max": ("ablate-linear", {"window_scale": "linear"}),
}
"""Encoding ablations: run name and the task options that change the encoding."""
ROBUST: dict[str, tuple[str, float, dict[str, str]]] = {
    "trained at eps = 0.05": ("ablate-pz", 0.05, {}),
    "trained at eps = 0.2": ("robust-eps0.2", 0.2, {}),
    "trained at eps = 0.2, bursts": ("robust-burst0.2", 0.2, {"error_mode": "burst"}),
}
"""Robustness runs: run name, training eps and other task options."""
N_VALUES = [5, 20, 50]
DISPLAY = ("display.width", 250, "display.max_columns", 20, "display.float_format", "{:.3f}".format)


def trained(config: cfg.RunConfig, runs: Path) -> Path:
    print(f"training or reusing {config.name} ...", flush=True)
    return train(config, runs)


def ablations(size: str, runs: Path, n_prompts: int) -> None:
    """Each encoding's error along training, and the steps it needs against the default's."""
    stages = training_stages(size)
    rows = []
    for label, (name, encoding) in ENCODINGS.items():
        run_dir = trained(run_config(name, size, 0, 0.05, keep_checkpoints=stages, **encoding), runs)
        for step in stages:
            _, model = load_model(run_dir, step=step)
            table = window_accuracy({label: model}, N_VALUES, [0.0], n_prompts, seed=1, encoding=encoding)
            rows.append({"encoding": label, "step": step, "median octaves": table.median_octaves.mean()})
    curves = pd.DataFrame(rows).pivot_table(index="step", columns="encoding", values="median octaves", sort=False)
    default = curves[next(iter(ENCODINGS))]
    target = 1.5 * default.iloc[-1]
    reached = {label: curves.index[curves[label] <= target].min() for label in curves}
    with pd.option_context(*DISPLAY):
        print(f"median octave error along training (mean over N = {N_VALUES}, eps = 0, {n_prompts} prompts per N)")
        print(curves)
    first = reached[default.name]
    for label, step in reached.items():
        steps = "never" if pd.isna(step) else f"{step} steps ({step / first:.1f}x the default's)"
        print(f"  within {target:.3f} octaves (1.5x the default's final error): {label}: {steps}")


def robustness(size: str, runs: Path, n_prompts: int) -> None:
    """Robust-trained runs against the best estimator, at eps = 0 and 0.2, uniform and burst errors."""
    learners = {
        label: load_model(trained(run_config(name, size, 0, eps, training_stages(size), **options), runs))[1]
        for label, (name, eps, options) in ROBUST.items()
    }
    learners.update({name_of(spec): from_spec(spec) for spec in ESTIMATORS})
    table = pd.concat(
        [
            window_accuracy(learners, N_VALUES, eps, n_prompts, seed=2, error_mode=mode)
            for mode, eps in (("random", [0.0, 0.2]), ("burst", [0.2]))
        ],
        ignore_index=True,
    )
    cells = table.pivot_table(index=["error_mode", "eps", "N"], columns="learner", values="median_octaves", sort=False)
    best = cells[[name_of(spec) for spec in ESTIMATORS]].min(axis=1).clip(lower=1e-3)
    summary = cells[list(ROBUST)].assign(**{"best estimator": best})
    for label in ROBUST:
        summary[f"{label} / best"] = cells[label] / best
    with pd.option_context(*DISPLAY):
        print(f"median octave error, {n_prompts} prompts per cell; ratio > 1: the best estimator is better")
        print(summary)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="full", choices=["smoke", "quick", "full"], help="the training runs' size")
    parser.add_argument("--prompts", type=int, default=1000, help="prompts per cell")
    parser.add_argument("--runs", default="figures/runs", help="where the runs are (or go)")
    parser.add_argument("--only", choices=["ablations", "robustness"], help="run one part")
    args = parser.parse_args()
    runs = Path(args.runs)
    if args.only in (None, "ablations"):
        ablations(args.size, runs, args.prompts)
    if args.only in (None, "robustness"):
        robustness(args.size, runs, args.prompts)


if __name__ == "__main__":
    main()

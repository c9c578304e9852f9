"""Wall time of a 2x2x2 sweep on Ray (``icl sweep``) against running its points one after another.

The sweep: Garg et al.'s linear regression (d = 5, 21 points, curriculum off), a tiny model, a grid
of 2 depths x 2 learning rates x 2 seeds, each point trained for ``--steps`` steps and evaluated.
The baseline in the same process trains and evaluates the same points one after another with torch
on every core (what running ``icl train`` and ``icl eval`` per point does); the sweep runs them as
Ray tasks on a local Ray of every core, one thread each, Ray's start included. Printed: both wall
times and their ratio, and each way's mean final loss (a point's weights depend on its thread count
at the 1e-6 level and training amplifies that, so the two ways agree in distribution, not bit for
bit; the same thread count gives the same run, as the tests check).

    python benchmarks/sweep.py --steps 1500
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch

from icl import config as cfg
from icl.sweep import Sweep, run_point, run_sweep, sweep_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    args = parser.parse_args()
    values = {
        "train.steps": args.steps,
        "train.batch_size": 32,
        "train.checkpoint_every": 500,
        "train.log_every": 100,
        "model.size": "tiny",
        "task.n_dims": 5,
        "task.n_points": 21,
        "curriculum.dims_start": 5,
        "curriculum.points_start": 21,
        "eval.n_prompts": 256,
        "eval.baselines": ["least_squares"],
    }
    grid = {"model.n_layer": [2, 4], "train.lr": [1e-3, 3e-4]}
    sweep = Sweep("bench", "linear_regression", grid, [0, 1], values)
    points = sweep.points()
    with tempfile.TemporaryDirectory() as root:
        started = time.perf_counter()
        for config in points.values():
            run_point(cfg.to_dict(config), str(Path(root) / "sequential"), threads=torch.get_num_threads())
        sequential = time.perf_counter() - started
        baseline = sweep_table(sweep, points, Path(root) / "sequential", {})
        started = time.perf_counter()
        table = run_sweep(sweep, Path(root) / "ray")
        on_ray = time.perf_counter() - started
    cores = os.cpu_count()
    print(f"{len(points)} points ({args.steps} steps each) on {cores} cores")
    print(f"one after another, {torch.get_num_threads()} torch threads: {sequential:7.1f} s")
    print(f"icl sweep on a local Ray:             {on_ray:7.1f} s   speed-up {sequential / on_ray:.2f}x")
    losses = [frame.drop_duplicates("point").final_loss.mean() for frame in (baseline, table)]
    print(f"mean final loss: one after another {losses[0]:.3f}, on Ray {losses[1]:.3f}")


if __name__ == "__main__":
    main()

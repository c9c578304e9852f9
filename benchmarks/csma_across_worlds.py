"""An in-context optimizer trained across CSMA worlds, tested on worlds it never saw.

1. Tables: every world of ``sim.worlds`` measured on an (N, W) grid by the compiled simulator
   (N in 2..50, W = 8..4096 in half octaves, ``--seeds`` runs of 5,000 slots each); the wall time of
   each, and for Bianchi's world the numpy reference's on the same grid (what a table cost before).
   Prompts per second drawn from the tables.
2. Training: ``csma_peak`` (probes (p, S) at 12 windows, query: where this network's throughput
   peaks; no p*) on three training sets: worlds drawn at random from the figures' training ranges
   (domain randomisation, ``--random-worlds`` of them), five named worlds, Bianchi's world alone;
   wall time each.
3. Open loop, fresh prompts per world and N: the transformers' octave error and S(W)/S(W*) against
   the parabola fit to the same probes (the hand-made reading of the same prompt).
4. Closed loop, probes charged, against each world's measured oracle: the peak controllers with the
   transformers and with the parabola fit, and every policy of the fair test.

Held-out worlds lie outside the randomised training ranges (and are not among the five named ones).

    python benchmarks/csma_across_worlds.py --seeds 6 --closed-loop-seeds 5
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import pandas as pd  # noqa: E402
import torch  # noqa: E402

import tasks  # noqa: E402
from control.experiments import controller_for, estimator_controller, fair_test_policies, peak_accuracy, world_scores  # noqa: E402
from icl import config as cfg  # noqa: E402
from icl.baselines import from_spec  # noqa: E402
from icl.train import load_model, train  # noqa: E402
from paper_figs.csma_common import (  # noqa: E402
    PEAK_PROBES,
    WORLD_N,
    WORLD_WINDOWS,
    drl_for,
    held_out,
    icl_run_config,
    peak_run_config,
    random_world_tables,
    world_table,
)
from paper_figs.names import name_of  # noqa: E402
from sim.collect import measure  # noqa: E402
from sim.timing import INTERVAL_SLOTS  # noqa: E402
from sim.worlds import WORLDS  # noqa: E402

NAMED_TRAINING = ["bianchi", "unsaturated", "lossy", "coexistence", "hidden"]
"""The named worlds of the second training set (the hidden world, outside the random ranges, included)."""
DISPLAY = ("display.width", 250, "display.max_columns", 40, "display.float_format", "{:.3f}".format)


def collect(data: Path, seeds: int, workers: int) -> dict[str, str]:
    """One table per world (reused from ``data``), each timed when it is collected."""
    paths = {}
    for world in WORLDS:
        collected = not (data / f"{world}.csv").exists()
        started = time.perf_counter()
        paths[world] = world_table(data, world, seeds, workers)
        if collected:
            print(f"  table {world:12s}: {time.perf_counter() - started:6.1f} s (compiled, {workers} workers)")
    return paths


def time_numpy_table(seeds: int) -> None:
    """Bianchi's table on the compiled simulator and on the numpy reference, same grid, one core each."""
    timings = {}
    for implementation in ("compiled", "numpy"):
        started = time.perf_counter()
        measure(
            "embedded",
            WORLD_N,
            WORLD_WINDOWS,
            list(range(seeds)),
            interval_slots=INTERVAL_SLOTS,
            implementation=implementation,
        )
        timings[implementation] = time.perf_counter() - started
    ratio = timings["numpy"] / timings["compiled"]
    print(
        f"  Bianchi's table, one core: numpy {timings['numpy']:.2f} s, compiled {timings['compiled']:.2f} s ({ratio:.1f}x)"
    )


def prompts_per_second(paths: list[str]) -> float:
    task = tasks.get("csma_peak", 3, measurements=paths)
    task.sample(64, PEAK_PROBES + 1, torch.Generator().manual_seed(0))
    started, count = time.perf_counter(), 0
    while time.perf_counter() - started < 2.0:
        task.sample(64, PEAK_PROBES + 1, torch.Generator().manual_seed(count))
        count += 64
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=6, help="runs per (N, W) in each table")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data", default="figures/worlds", help="where the tables are (or go)")
    parser.add_argument("--runs", default="figures/runs", help="where the trained runs are (or go)")
    parser.add_argument("--size", default="quick", choices=["smoke", "quick", "full"])
    parser.add_argument("--prompts", type=int, default=500, help="open-loop prompts per world and N")
    parser.add_argument("--closed-loop-seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=40, help="closed-loop steps (5,000 slots each)")
    parser.add_argument("--n", type=int, nargs="+", default=[5, 20, 50], help="closed-loop N")
    parser.add_argument("--random-worlds", type=int, default=24, help="worlds drawn for the randomised training")
    args = parser.parse_args()
    runs = Path(args.runs)
    print("1. tables")
    paths = collect(Path(args.data), args.seeds, args.workers)
    time_numpy_table(args.seeds)
    started = time.perf_counter()
    randomised = random_world_tables(Path(args.data), args.random_worlds, 0, args.seeds, args.workers)
    print(f"  {args.random_worlds} randomised worlds' tables: {time.perf_counter() - started:.1f} s")
    print(f"  prompts from the randomised tables: {prompts_per_second(randomised):.0f} per second")
    print("2. training")
    trained = {}
    variants = (
        ("randomised worlds", "peak-random", randomised, "scale"),
        ("randomised worlds, running max", "peak-random-relmax", randomised, "running_max"),
        ("five named worlds", "peak-worlds", [paths[w] for w in NAMED_TRAINING], "scale"),
        ("Bianchi only", "peak-bianchi", [paths["bianchi"]], "scale"),
    )
    for label, name, tables, norm in variants:
        config = peak_run_config(name, args.size, 0, tables)
        if norm != "scale":
            config = cfg.from_dict(cfg.set_values(cfg.to_dict(config), {"task.params.throughput_norm": norm}))
        started = time.perf_counter()
        trained[label] = train(config, runs)
        print(f"  {label}: {time.perf_counter() - started:.0f} s")
    with pd.option_context(*DISPLAY):
        print("3. open loop: median octave error and mean S(W)/S(W*) per world (mean over N)")
        frames = [
            peak_accuracy(
                {f"transformer, {label}": load_model(trained[label])[1]}, paths, args.prompts, seed=1,
                n_points=PEAK_PROBES + 1, throughput_norm=norm,
            )
            for label, _, _, norm in variants
        ]  # fmt: skip
        frames.append(peak_accuracy({"parabola fit": from_spec("peak_fit")}, paths, args.prompts, seed=1))
        table = pd.concat(frames, ignore_index=True)
        table["held out"] = table.world.map(held_out)
        summary = table.pivot_table(
            index=["held out", "world"], columns="learner", values=["median_octaves", "throughput_ratio"]
        )
        print(summary)
        print("4. closed loop, probes charged: mean throughput / measured oracle (%)")
        across = controller_for(trained["randomised worlds"])
        policies = {f"ICL peak, transformer {label}": (controller_for(run), {}) for label, run in trained.items()}
        policies[name_of("icl-peak:peak_fit")] = (estimator_controller(across, "peak_fit"), {})
        p_star = controller_for(train(icl_run_config("quick", 0), runs))
        fair = fair_test_policies(p_star, drl_for(runs, "quick", 0), drl_for(runs, "quick", 0, "td3"))
        policies.update({name_of(key): spec for key, spec in fair.items()})
        scores = world_scores(policies, list(WORLDS), args.n, args.closed_loop_seeds, args.steps)
        scores["held out"] = scores.world.map(held_out)
        mean = scores.pivot_table(index="policy", columns=["held out", "world"], values="throughput_ratio")
        print((100 * mean).round(1))
        p5 = scores.pivot_table(
            index="policy", columns="world", values="p5_throughput_ratio", aggfunc="min", sort=False
        )
        print("5th percentile over seeds, worst N (%)")
        print((100 * p5).round(1))
        scores.to_csv(Path(args.data) / "closed_loop.csv", index=False)


if __name__ == "__main__":
    main()

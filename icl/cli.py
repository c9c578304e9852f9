"""The ``icl`` command: train, eval, figures, reproduce, csma collect.

User errors (a bad config key, an unknown task, a missing checkpoint) print one line and exit 2;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import ast
import functools
import importlib.util
import logging
import os
import sys
import time
from collections.abc import Sequence
from importlib.metadata import EntryPoint, entry_points, version
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

if TYPE_CHECKING:
    from icl.sweep import Progress as SweepProgress

console = Console(stderr=True)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def cmd_train(args: argparse.Namespace) -> None:
    from icl import config as cfg
    from icl.models import count_parameters
    from icl.runs import read_interrupted, read_metrics
    from icl.train import setup, train

    overrides = list(args.set)
    if args.name is not None:
        overrides.append(f"name={args.name}")
    if args.device:
        overrides.append(f"train.device={args.device}")
    config = cfg.load(args.config, overrides)
    if os.environ.get("RANK", "0") != "0":
        train(config, args.runs_dir)
        return
    n_params = count_parameters(setup(config).model)
    console.print(
        f"run [bold]{config.name}[/]: task {config.task.name} (d={config.task.n_dims}, K={config.task.n_points}), "
        f"model {config.model.size} {config.model.dims} ({n_params:,} parameters), {config.train.steps} steps "
        f"on {config.train.device}"
    )
    started = time.perf_counter()
    with _progress() as progress:
        bar = progress.add_task("train", total=config.train.steps, status="")

        def on_step(step: int, loss: float) -> None:
            progress.update(bar, completed=step, status=f"loss {loss:.4f}")

        try:
            run_dir = train(config, args.runs_dir, on_step=on_step)
        except KeyboardInterrupt:
            stopped = read_interrupted(Path(args.runs_dir) / config.name)
            if stopped is not None:
                since = f"step {stopped['checkpoint_step']}" if stopped["checkpoint_step"] else "the start"
                console.print(
                    f"interrupted after step {stopped['step']}: {Path(args.runs_dir) / config.name} is kept, "
                    f"metrics included; the same command resumes it from {since}"
                )
            raise
    metrics = read_metrics(run_dir)
    final = metrics[-1] if metrics else {}
    console.print(
        f"done: {run_dir} — step {final.get('step', '?')}, loss {final.get('loss', float('nan')):.4f}, "
        f"{time.perf_counter() - started:.1f} s"
    )


def cmd_eval(args: argparse.Namespace) -> None:
    from icl.evaluate import EVAL_FILE, eval_prompts, evaluate, learners_for, write_csv
    from icl.train import load_model

    config, model = load_model(args.run_dir)
    task = config.task.build()
    prompt = eval_prompts(task, config, args.n_points)
    specs = args.baselines if args.baselines is not None else config.eval.baselines
    learners = learners_for(model, specs)
    batches = len(learners) * -(-prompt.batch_size // config.eval.batch_size)
    with _progress() as progress:
        bar = progress.add_task(f"eval ({prompt.batch_size} prompts)", total=batches, status="")
        frame = evaluate(
            learners,
            prompt,
            n_bootstrap=config.eval.n_bootstrap,
            confidence=config.eval.confidence,
            seed=config.eval.seed,
            batch_size=config.eval.batch_size,
            on_batch=lambda learner: progress.update(bar, advance=1, status=learner),
        )
    path = write_csv(frame, Path(args.run_dir) / EVAL_FILE)
    ks = sorted({0, prompt.n_points // 4, prompt.n_points // 2, prompt.n_points - 1})
    level = round(100 * config.eval.confidence)
    title = f"{config.task.name}: {frame.metric.iloc[0]} by number of in-context examples k (mean [{level}% interval])"
    table = Table(title=title)
    table.add_column("learner")
    for k in ks:
        table.add_column(f"k={k}", justify="right")
    for learner, rows in frame.groupby("learner", sort=False):
        by_k = rows.set_index("k")
        cells = (f"{by_k.loc[k, 'mean']:.4f} [{by_k.loc[k, 'ci_low']:.4f}, {by_k.loc[k, 'ci_high']:.4f}]" for k in ks)
        table.add_row(str(learner), *cells)
    console.print(table)
    console.print(f"wrote {path}")


FIGURE_GROUP = "icl_testbed.figures"


def figures() -> dict[str, EntryPoint]:
    """The registered figures by name (package metadata: nothing is imported)."""
    return {ep.name: ep for ep in sorted(entry_points(group=FIGURE_GROUP), key=lambda ep: ep.name)}


def _description(figure: EntryPoint) -> str:
    """A figure's ``DESCRIPTION``, read from its source without importing it (listing stays fast)."""
    spec = importlib.util.find_spec(figure.module)
    if spec is None or spec.origin is None:
        return "(module not found)"
    for node in ast.parse(Path(spec.origin).read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "DESCRIPTION" for t in node.targets):
            return str(ast.literal_eval(node.value))
    return ""


def cmd_figures(args: argparse.Namespace) -> None:
    table = Table(title="reproducible figures (icl reproduce NAME [--size smoke|quick|medium|full])")
    table.add_column("name")
    table.add_column("what it shows")
    for name, figure in figures().items():
        table.add_row(name, _description(figure))
    Console().print(table)


def cmd_reproduce(args: argparse.Namespace) -> None:
    import matplotlib

    from icl.errors import UserError
    from paper_figs import FIGURE_SIZES, check_size

    available = figures()
    names = [args.name] if args.name else list(available)
    if args.name and args.name not in available:
        raise UserError(f"unknown figure {args.name!r}; allowed: {', '.join(available)}")
    if args.size is None:
        import torch

        gpu = torch.cuda.is_available()
        args.size = "full" if args.name and gpu else "quick"
        sizes = "|".join(FIGURE_SIZES)
        console.print(f"size: {args.size} (found {'a GPU' if gpu else 'no GPU'}; --size {sizes} to choose)")
    if not args.name and args.size == "full":
        raise UserError("reproducing every figure at full size is a GPU job; name one, or add --quick")
    check_size(args.size)
    matplotlib.use("Agg")  # figures go to files; no window opens
    started = time.perf_counter()
    written: list[Path] = []
    with _progress() as progress:
        task = progress.add_task(f"reproducing ({args.size})", total=len(names), status="")
        for name in names:
            figure_started = time.perf_counter()
            progress.update(task, status=name)
            written += available[name].load()(Path(args.out), size=args.size, seed=args.seed)
            progress.advance(task)
            progress.console.print(f"[green]✓[/] {name} in {time.perf_counter() - figure_started:.1f} s")
    console.print(f"{len(names)} figure(s) in {time.perf_counter() - started:.1f} s:")
    for path in written:
        console.print(f"  {path}")


def cmd_csma_collect(args: argparse.Namespace) -> None:
    import pandas as pd

    from icl.errors import UserError
    from icl.io import atomic_path
    from icl.sweep import ray_map
    from sim.collect import measure
    from sim.table import COLUMNS, MeasurementTable
    from sim.timing import window_grid

    out = Path(args.out)
    if out.is_dir():
        raise UserError(f"--out {out} is a directory; give the path of the CSV table to write")
    partial = out.with_name(out.name + ".partial")
    done = pd.read_csv(partial) if partial.exists() and args.backend == "ns3" else None
    if done is not None and list(done.columns) != list(COLUMNS):
        raise UserError(f"{partial} is not a measurement table (columns {list(done.columns)}); delete it")
    kept: list[dict] = [] if done is None else done.to_dict("records")

    def keep(rows: list[dict]) -> None:
        kept.extend(rows)
        with atomic_path(partial) as tmp:
            pd.DataFrame(kept, columns=COLUMNS).to_csv(tmp, index=False)

    windows = args.windows or window_grid(16, 1024)
    resumed = f", {len(kept)} rows kept from an interrupted run" if kept else ""
    status = (
        f"measuring {len(args.n)} N x {len(windows)} windows x {args.seeds} seeds on {args.backend}, "
        f"world {args.world}{resumed}"
    )
    with console.status(status):
        started = time.perf_counter()
        try:
            table = measure(
                args.backend,
                args.n,
                windows,
                list(range(args.seeds)),
                workers=args.workers,
                step_time_s=args.step_time,
                run_dir=args.log_dir,
                done=done,
                on_rows=keep if args.backend == "ns3" else None,
                world=args.world,
                executor=functools.partial(ray_map, address=args.address) if args.executor == "ray" else None,
            )
        except KeyboardInterrupt:
            if kept:
                console.print(f"interrupted: {len(kept)} measurements kept in {partial}; rerun to finish")
            raise
    with atomic_path(out) as tmp:
        table.to_csv(tmp, index=False)
    partial.unlink(missing_ok=True)
    optima = MeasurementTable(table)
    summary = Table(title=f"{args.backend}: throughput-optimal window per N ({time.perf_counter() - started:.0f} s)")
    for column in ("N", "optimal W", "best measured throughput (Mb/s)"):
        summary.add_column(column)
    for n in optima.n_values:
        best = table[table.n_stations == n].groupby("window")["throughput_mbps"].mean().max()
        summary.add_row(str(n), f"{optima.optimal_window(int(n)):.0f}", f"{best:.2f}")
    console.print(summary)
    console.print(f"wrote {len(table)} measurements to {args.out}")


def cmd_sweep(args: argparse.Namespace) -> None:
    from icl.errors import UserError
    from icl.sweep import SWEEP_FILE, load_sweep, run_sweep

    sweep = load_sweep(args.sweep)
    points = sweep.points()
    where = args.address or os.environ.get("RAY_ADDRESS") or f"a local Ray ({args.cpus or os.cpu_count()} CPUs)"
    console.print(
        f"sweep [bold]{sweep.name}[/]: {len(points)} points on {where}, runs in {args.runs_dir}/{sweep.name}/"
    )
    with _progress() as progress:
        bar = progress.add_task("points", total=len(points), status="")

        def on_progress(state: SweepProgress) -> None:
            finished = state.reused + state.done + len(state.failed)
            status = f"{state.running} running, {len(state.failed)} failed, {state.reused} reused"
            progress.update(bar, completed=finished, status=status)

        table = run_sweep(sweep, args.runs_dir, address=args.address, cpus=args.cpus, on_progress=on_progress)
    failed = table[table.status == "failed"].drop_duplicates("point")
    for row in failed.itertuples():
        console.print(f"[red]failed[/] {row.point}: {escape(str(row.error))}")
    console.print(f"wrote {Path(args.runs_dir) / sweep.name / SWEEP_FILE}")
    if len(failed):
        raise UserError(
            f"{len(failed)} of {len(points)} points failed (listed above; their errors are in {SWEEP_FILE})"
        )


def cmd_presets(args: argparse.Namespace) -> None:
    from icl import config as cfg

    table = Table(title="shipped configs (icl train PRESET; icl config show PRESET)")
    for column in ("preset", "task", "model"):
        table.add_column(column)
    for name in cfg.preset_names():
        config = cfg.load(name)
        table.add_row(name, config.task.name, f"{config.model.family}, {config.model.size}")
    Console().print(table)


def cmd_config_show(args: argparse.Namespace) -> None:
    from icl import config as cfg
    from icl.runs import read_run_config

    source = Path(args.source)
    if source.is_dir():
        if args.set:
            raise cfg.ConfigError(
                f"{source} is a run: its config is what it was trained with; --set applies to presets"
            )
        config = read_run_config(source)
    else:
        config = cfg.load(args.source, args.set)
    print(cfg.to_toml(config), end="")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="icl", description="In-context learning testbed.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    parser.add_argument("--version", action="version", version=f"icl {version('icl-testbed')}")
    sub = parser.add_subparsers(dest="command", required=True)

    presets = sub.add_parser("presets", help="list the shipped configs")
    presets.set_defaults(func=cmd_presets)
    config = sub.add_parser("config", help="configs").add_subparsers(dest="config_command", required=True)
    show = config.add_parser("show", help="print the resolved config of a preset, a TOML file or a run")
    show.add_argument("source", help="preset name, TOML file or run directory")
    show.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a value")
    show.set_defaults(func=cmd_config_show)

    train = sub.add_parser("train", help="train (or resume) a run")
    train.add_argument("config", nargs="?", help="TOML file or preset name (see icl/configs)")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value")
    train.add_argument("--name", help="run name (runs/<name>)")
    train.add_argument("--device", choices=["cpu", "cuda"], help="shorthand for --set train.device=...")
    train.add_argument("--runs-dir", default="runs", help="where run directories live (default: runs)")
    train.set_defaults(func=cmd_train)

    evaluate = sub.add_parser("eval", help="evaluate a trained run against baselines; writes eval.csv")
    evaluate.add_argument("run_dir", help="a run directory (runs/<name>)")
    evaluate.add_argument("--baselines", nargs="*", help="baseline specs, e.g. least_squares knn:n_neighbors=3")
    evaluate.add_argument("--n-points", type=int, help="prompt length (default: the run's)")
    evaluate.set_defaults(func=cmd_eval)

    sweep = sub.add_parser("sweep", help="train and evaluate every point of a grid of configs and seeds, on Ray")
    sweep.add_argument("sweep", help="sweep file (TOML: base, seeds, [set], [grid]; see icl/sweep.py)")
    sweep.add_argument("--runs-dir", default="runs", help="runs go to <runs-dir>/<sweep name>/ (default: runs)")
    sweep.add_argument("--address", help="a running Ray cluster (default: $RAY_ADDRESS, else a local Ray)")
    sweep.add_argument("--cpus", type=int, help="CPUs of the local Ray (default: all)")
    sweep.set_defaults(func=cmd_sweep)

    figures = sub.add_parser("figures", help="list the reproducible figures")
    figures.set_defaults(func=cmd_figures)

    reproduce = sub.add_parser("reproduce", help="reproduce one figure, or all at a smaller --size")
    reproduce.add_argument("name", nargs="?", help="figure name (icl figures); all when omitted")
    reproduce.add_argument(
        "--size",
        help="smoke (toy size, seconds: checks the pipeline), quick (CPU minutes), medium (a longer CPU run where "
        "a figure has one: the whole Boolean table at n = 10) or full (the paper's; GPU); default: full for one "
        "figure where a GPU is found, else quick",
    )
    reproduce.add_argument("--quick", dest="size", action="store_const", const="quick", help="the same as --size quick")
    reproduce.add_argument("--out", default="figures", help="output folder (default: figures)")
    reproduce.add_argument("--seed", type=int, default=0)
    reproduce.set_defaults(func=cmd_reproduce)

    csma = sub.add_parser("csma", help="CSMA tools").add_subparsers(dest="csma_command", required=True)
    collect = csma.add_parser("collect", help="measure collision probability and throughput on an (N, W) grid")
    collect.add_argument("--backend", choices=["embedded", "ns3"], default="embedded")
    collect.add_argument("--n", type=int, nargs="+", default=[5, 10, 20, 50], help="numbers of stations")
    collect.add_argument(
        "--windows", type=int, nargs="+", help="contention windows (default: 16 to 1024, half-octave steps)"
    )
    collect.add_argument("--seeds", type=int, default=2, help="independent runs per (N, W)")
    collect.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="ns-3 simulations (embedded threads) at once"
    )
    collect.add_argument(
        "--world", default="bianchi", help="the network: a world of sim.worlds (ax_ampdu on ns-3 only)"
    )
    collect.add_argument("--step-time", type=float, default=0.1, help="ns-3: simulated seconds measured per window")
    collect.add_argument("--log-dir", help="ns-3: keep each simulation's log here")
    collect.add_argument(
        "--executor", choices=["local", "ray"], default="local", help="ns-3: where simulations run (Ray: a cluster)"
    )
    collect.add_argument("--address", help="ns-3 on Ray: a running cluster (default: $RAY_ADDRESS, else local)")
    collect.add_argument("--out", default="data/csma_measurements.csv", help="CSV table to write")
    collect.set_defaults(func=cmd_csma_collect)
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    """What the user can fix: our own UserError, bad values (ValueError, the tasks' and simulator's
    contract), OS errors on the user's paths, and a missing or failing ns-3."""
    from icl.errors import UserError
    from sim.ns3.build import Ns3Error

    return (UserError, ValueError, OSError, Ns3Error)


def _one_line(error: BaseException) -> str:
    """An error as one line; an OSError names its path and the system's reason."""
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        return f"{error.filename}: {error.strerror}"
    return " ".join(str(error).split())


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        args.func(args)
    except Exception as error:
        if args.debug or not isinstance(error, _user_errors()):
            raise
        console.print(f"[red]error:[/] {escape(_one_line(error))}", highlight=False, soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        console.print("interrupted")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Reproduce-figure scripts: one module per figure or table (and ``plots``, the shared style;
``csma_common``, the CSMA runs, tables and plots that the CSMA benchmarks reuse; ``_*``, what some
figures share).

Each module has ``DESCRIPTION`` and ``reproduce(out_dir, size, seed) -> list[Path]``, runs as
``python -m paper_figs.<name> [--size smoke|quick|full]`` and is registered as an entry point of the
group ``icl_testbed.figures`` in pyproject.toml, where ``icl figures`` finds it without importing it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from icl_testbed import require_own_packages

require_own_packages()  # before importing a package of ours, which may be a namesake's

from icl.errors import UserError  # noqa: E402

FIGURE_SIZES = ("smoke", "quick", "medium", "full")
"""How big a reproduction is. ``smoke``: toy models and grids, seconds, only to check that the pipeline
runs end to end (its numbers mean nothing); ``quick``: CPU minutes, the results the slow tests check;
``medium``: a larger CPU run (half an hour on 2 cores) where a figure defines one (the Boolean table:
all eleven classes at n = 10), else the quick one; ``full``: the paper's setting (GPU)."""

SMOKE_RUN = {
    "train.steps": 20,
    "train.warmup_steps": 0,
    "train.log_every": 10,
    "train.checkpoint_every": 20,
    "train.keep_checkpoints": [],
    "eval.n_prompts": 32,
    "eval.n_bootstrap": 100,
}
"""What a smoke-size training run changes in its quick config."""

T = TypeVar("T")


def check_size(size: str) -> None:
    """Refuse an unknown size, naming the allowed ones."""
    if size not in FIGURE_SIZES:
        raise UserError(f"unknown figure size {size!r}; allowed: {', '.join(FIGURE_SIZES)}")


_UNSET: object = object()


def by_size(size: str, smoke: T, quick: T, full: T, medium: T = _UNSET) -> T:  # type: ignore[assignment]
    """The value of a size-dependent parameter for ``size`` (medium: the quick value unless given)."""
    check_size(size)
    return {"smoke": smoke, "quick": quick, "medium": quick if medium is _UNSET else medium, "full": full}[size]


def size_mark(size: str) -> str | None:
    """What a figure of ``size`` says across its panels: a smoke figure checks the plumbing only."""
    check_size(size)
    return "smoke size: not a result" if size == "smoke" else None


def output_stem(out_dir: Path, name: str, size: str) -> Path:
    """Where a figure's PNG/PDF/CSV go: ``out_dir/name`` (full), else ``out_dir/name_<size>``."""
    return Path(out_dir) / (name if size == "full" else f"{name}_{size}")


def script_main(reproduce: Callable[..., list[Path]], description: str, argv: Sequence[str] | None = None) -> None:
    """The command line of one figure script: ``--size`` (``--quick`` for ``--size quick``), ``--out``, ``--seed``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--size",
        choices=FIGURE_SIZES,
        default="full",
        help="smoke (seconds), quick (CPU minutes), medium (CPU, longer) or full",
    )
    parser.add_argument("--quick", dest="size", action="store_const", const="quick", help="the same as --size quick")
    parser.add_argument("--out", default="figures", help="output folder (default: figures)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    import matplotlib  # here, not at the top: listing figures must not load matplotlib

    matplotlib.use("Agg")  # a script writes files; it never opens windows
    for path in reproduce(Path(args.out), size=args.size, seed=args.seed):
        print(path)

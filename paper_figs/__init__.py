"""Reproduce-figure scripts: one module per figure or table.

Each module has ``DESCRIPTION`` and ``reproduce(out_dir, quick, seed) -> list[Path]``, runs as
``python -m paper_figs.<name> [--quick]`` and is registered as an entry point of the group
``icl_testbed.figures`` in pyproject.toml, where ``icl figures`` finds it without importing it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path


def output_stem(out_dir: Path, name: str, quick: bool) -> Path:
    """Where a figure's PNG/PDF/CSV go: ``out_dir/name`` (``name_quick`` for quick versions)."""
    return Path(out_dir) / f"{name}{'_quick' if quick else ''}"


def script_main(reproduce: Callable[..., list[Path]], description: str, argv: Sequence[str] | None = None) -> None:
    """The command line of one figure script: ``--quick``, ``--out``, ``--seed``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="small CPU version (minutes)")
    parser.add_argument("--out", default="figures", help="output folder (default: figures)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    import matplotlib  # here, not at the top: listing figures must not load matplotlib

    matplotlib.use("Agg")  # a script writes files; it never opens windows
    for path in reproduce(Path(args.out), quick=args.quick, seed=args.seed):
        print(path)

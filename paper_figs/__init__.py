"""Reproduce-figure scripts: one module per figure or table.

Each module has ``DESCRIPTION`` and ``reproduce(out_dir, quick, seed) -> list[Path]`` and runs as
``python -m paper_figs.<name> [--quick]``; ``icl figures`` lists them.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType


def figures() -> dict[str, ModuleType]:
    """All figure modules by name, in alphabetical order."""
    modules = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            modules[info.name] = importlib.import_module(f"{__name__}.{info.name}")
    return modules


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
    for path in reproduce(Path(args.out), quick=args.quick, seed=args.seed):
        print(path)

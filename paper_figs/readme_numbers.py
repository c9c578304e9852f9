"""The result numbers the README quotes, computed from the quick figures' CSVs committed in ``results/``.

README.md carries each number between markers, ``<!-- n:NAME -->text<!-- /n -->`` (invisible once
rendered), so no number is typed in: ``python -m paper_figs.readme_numbers`` rewrites the README from the
data (``--check`` only compares: ``tests/test_readme.py`` fails when they disagree), and ``make results``
reproduces the figures into ``results/`` first. ``results/PROVENANCE.json`` says which commit, size and
seed made the CSVs.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import pandas as pd

from icl.io import atomic_path
from paper_figs.names import name_of

FIGURES = ("csma_fair_test", "csma_worlds", "csma_worlds_ns3")
"""The figures whose quick CSVs the README quotes."""
SIZE = "quick"
MARKER = re.compile(r"<!-- n:(?P<name>[\w.-]+) -->(?P<text>(?:(?!<!--).)*?)<!-- /n -->", re.DOTALL)


def _span(values: Iterable[float], unit: str) -> str:
    """``low-high`` and the unit, both rounded to integers (one value where they round alike)."""
    numbers = [float(v) for v in values]
    low, high = f"{min(numbers):.0f}", f"{max(numbers):.0f}"
    return f"{low}{unit}" if low == high else f"{low}-{high}{unit}"


def percent_range(fractions: Iterable[float]) -> str:
    """``52-77%`` for fractions 0.52..0.77 (one value: ``77%``)."""
    return _span((100 * float(f) for f in fractions), "%")


def ratio_range(ratios: Iterable[float]) -> str:
    """``5-16x`` for ratios 5.2..15.8."""
    return _span(ratios, "x")


def _closed_loop(data: pd.DataFrame, world: str | None = None) -> pd.DataFrame:
    """Policy x N of the mean throughput ratio (closed loop), in ``world`` where the frame has worlds."""
    rows = data[data.panel == "closed loop"]
    if world is not None:
        rows = rows[rows.world == world]
    return rows.pivot_table(index="policy", columns="N", values="throughput_ratio")


def _model_window(data: pd.DataFrame, world: str) -> pd.Series:
    """Per N, the share of the world's oracle that Bianchi's W*(N) keeps (mean over runs)."""
    rows = data[(data.panel == "model window") & (data.world == world)]
    return rows.groupby("N").kept.mean()


def _best_at(data: pd.DataFrame, world: str, n: int) -> str:
    """The best policy at N = n in ``world``: its name and its share of the oracle."""
    column = _closed_loop(data, world)[n]
    return f"{name_of(str(column.idxmax()))} at {percent_range([column.max()])}"


def _optimum_ratio(data: pd.DataFrame, world: str, reference: str) -> pd.Series:
    """Per N, ``world``'s optimal window over ``reference``'s."""
    rows = data[data.panel == "closed loop"]
    optimum = rows.groupby(["world", "N"]).oracle_window.first()
    return optimum[world] / optimum[reference]


def _in_context(table: pd.DataFrame) -> pd.DataFrame:
    return table[table.index.str.startswith("icl")]


def _open_loop_ratio(data: pd.DataFrame) -> pd.Series:
    """Inside training (N in [5, 50]), per cell, the transformer's median octave error over the median of offsets'."""
    cells = data[(data.panel != "closed loop") & data.N.between(5, 50)]
    table = cells.pivot_table(index=["panel", "N", "eps"], columns="learner", values="median_octaves")
    return table["transformer"] / table["median_offset"]


NUMBERS: dict[str, tuple[str, Callable[[pd.DataFrame], str]]] = {
    "fair.transformer_vs_median": ("csma_fair_test", lambda d: ratio_range(_open_loop_ratio(d))),
    "fair.probe_cost": ("csma_fair_test", lambda d: percent_range(1 - _in_context(_closed_loop(d)).stack())),
    "fair.no_probe": (
        "csma_fair_test",
        lambda d: percent_range(_closed_loop(d).loc[["p_star_tracker", "idle_sense", "kalman_n"]].stack()),
    ),
    "worlds.model.hidden": ("csma_worlds", lambda d: percent_range(_model_window(d, "hidden"))),
    "worlds.model.mixed_rates": ("csma_worlds", lambda d: percent_range(_model_window(d, "mixed_rates"))),
    "worlds.icl.hidden": ("csma_worlds", lambda d: percent_range(_closed_loop(d, "hidden").loc["icl:transformer"])),
    "worlds.icl.mixed_rates": (
        "csma_worlds",
        lambda d: percent_range(_closed_loop(d, "mixed_rates").loc["icl:transformer"]),
    ),
    "worlds.best50.hidden": ("csma_worlds", lambda d: _best_at(d, "hidden", 50)),
    "worlds.best50.mixed_rates": ("csma_worlds", lambda d: _best_at(d, "mixed_rates", 50)),
    "worlds.beb.hidden": (
        "csma_worlds",
        lambda d: ", ".join(f"{100 * r:.0f}%" for r in _closed_loop(d, "hidden").loc["beb"]),
    ),
    "worlds_ns3.model.ax_ampdu": ("csma_worlds_ns3", lambda d: percent_range(_model_window(d, "ax_ampdu"))),
    "worlds_ns3.icl.ax_ampdu": (
        "csma_worlds_ns3",
        lambda d: percent_range(_in_context(_closed_loop(d, "ax_ampdu")).mean(axis=1)),
    ),
    "worlds_ns3.optimum_ratio": ("csma_worlds_ns3", lambda d: ratio_range(_optimum_ratio(d, "ax_ampdu", "bianchi"))),
    "worlds_ns3.dqn.ax_ampdu": (
        "csma_worlds_ns3",
        lambda d: percent_range([_closed_loop(d, "ax_ampdu").loc["dqn"].mean()]),
    ),
}
"""Each number's name: the figure whose CSV it is computed from, and how."""


def compute(results_dir: Path) -> dict[str, str]:
    """Every number of NUMBERS from the CSVs in ``results_dir``."""
    frames: dict[str, pd.DataFrame] = {}
    for figure in FIGURES:
        path = Path(results_dir) / f"{figure}_{SIZE}.csv"
        if not path.exists():
            raise FileNotFoundError(f"{path}: missing; `make results` reproduces the quick figures into {results_dir}")
        frames[figure] = pd.read_csv(path)
    return {name: number(frames[figure]) for name, (figure, number) in NUMBERS.items()}


def render(readme: str, numbers: dict[str, str]) -> str:
    """``readme`` with every marked number replaced by its value; an unknown name is an error."""
    unknown = sorted({m["name"] for m in MARKER.finditer(readme)} - set(numbers))
    if unknown:
        raise KeyError(f"README marks numbers no one computes: {', '.join(unknown)}; known: {', '.join(numbers)}")
    return MARKER.sub(lambda m: f"<!-- n:{m['name']} -->{numbers[m['name']]}<!-- /n -->", readme)


def collect(figures_dir: Path, results_dir: Path, seed: int = 0) -> None:
    """Copy the quick CSVs of FIGURES from ``figures_dir`` into ``results_dir`` with their provenance
    (the commit, and whether its tree had changes, the size and the seed)."""
    git = ["git", "-C", str(Path(__file__).resolve().parent)]
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip() or "unknown"
    dirty = bool(subprocess.run([*git, "status", "--porcelain"], capture_output=True, text=True).stdout.strip())
    results_dir.mkdir(parents=True, exist_ok=True)
    for figure in FIGURES:
        source = Path(figures_dir) / f"{figure}_{SIZE}.csv"
        with atomic_path(results_dir / source.name) as tmp:
            shutil.copyfile(source, tmp)
    provenance = {"commit": commit, "uncommitted_changes": dirty, "size": SIZE, "seed": seed, "figures": FIGURES}
    with atomic_path(results_dir / "PROVENANCE.json") as tmp:
        Path(tmp).write_text(json.dumps(provenance, indent=2) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", type=Path, default=Path("README.md"))
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--collect", type=Path, help="first copy the quick CSVs from this figures folder")
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 where the README differs")
    args = parser.parse_args(argv)
    if args.collect:
        collect(args.collect, args.results)
    text = args.readme.read_text()
    updated = render(text, compute(args.results))
    if args.check:
        differ = [m["name"] for m, n in zip(MARKER.finditer(text), MARKER.finditer(updated)) if m["text"] != n["text"]]
        print(f"{args.readme}: " + (f"differs from the data at {', '.join(differ)}" if differ else "agrees"))
        return 1 if differ else 0
    with atomic_path(args.readme) as tmp:
        Path(tmp).write_text(updated)
    return 0


if __name__ == "__main__":
    sys.exit(main())

from __future__ import annotations

import pkgutil
import subprocess
import sys

import paper_figs
from icl.cli import figures


def test_every_figure_module_is_registered_and_loads_its_reproduce() -> None:
    shared = {"plots", "names", "csma_common", "readme_numbers"}  # style, names, CSMA runs, the README numbers
    modules = {m.name for m in pkgutil.iter_modules(paper_figs.__path__) if not m.name.startswith("_")} - shared
    registered = figures()
    assert set(registered) == modules
    for name, entry in registered.items():
        assert entry.load().__module__ == f"paper_figs.{name}"


def test_listing_figures_imports_none_of_them() -> None:
    code = (
        "import sys; from icl.cli import main; main(['figures']); "
        "print(sorted(m for m in sys.modules if m.startswith(('paper_figs.', 'torch', 'pandas', 'matplotlib'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "garg_fig2" in result.stdout and "Garg et al. 2022 Fig. 2" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"

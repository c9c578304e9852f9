"""The shipped notebooks run top to bottom, and every cell that draws a figure shows it."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
FIGURE_CALL = "new_figure("


def figure_cells_without_images(notebook: nbformat.NotebookNode) -> list[int]:
    """Indices of code cells that call ``new_figure`` but hold no PNG output."""
    missing = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and FIGURE_CALL in cell.source:
            if not any("image/png" in output.get("data", {}) for output in cell.outputs):
                missing.append(index)
    return missing


@pytest.mark.pipeline
@pytest.mark.parametrize(
    "path", [pytest.param(p, id=p.stem, marks=[pytest.mark.ns3] if "ns3" in p.stem else []) for p in NOTEBOOKS]
)
def test_notebook_runs_and_shows_its_figures(path: Path, tmp_path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    assert any(FIGURE_CALL in cell.source for cell in notebook.cells), f"{path.name} draws no figure"
    NotebookClient(notebook, timeout=3600, resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert figure_cells_without_images(notebook) == []


@pytest.mark.pipeline
def test_the_check_fails_on_a_figure_that_does_not_render() -> None:
    """A figure cell under the Agg backend (what the plot module used to force) shows nothing."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("import matplotlib\nmatplotlib.use('Agg')\nfrom paper_figs.plots import new_figure"),
        nbformat.v4.new_code_cell("fig, (ax,) = new_figure(1)\nax.plot([0, 1], [0, 1]);"),
    ]
    NotebookClient(notebook, timeout=600, kernel_name="python3").execute()
    assert figure_cells_without_images(notebook) == [1]

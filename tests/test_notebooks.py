"""The shipped notebooks: committed with the outputs of one top-to-bottom run (so that they read on GitHub), and
executed by the tests, where every claim of their text is asserted in a cell and every figure cell shows its image."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
FIGURE_CALL = "new_figure("
SIZE_VARIABLE = "ICL_NOTEBOOK_SIZE"  # read by the notebooks too slow for the tests at their committed size
TEST_SIZE = "smoke"


def figure_cells_without_images(notebook: nbformat.NotebookNode) -> list[int]:
    """Indices of code cells that call ``new_figure`` but hold no PNG output."""
    missing = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and FIGURE_CALL in cell.source:
            if not any("image/png" in output.get("data", {}) for output in cell.outputs):
                missing.append(index)
    return missing


def unexecuted_problems(notebook: nbformat.NotebookNode) -> list[str]:
    """What shows that a notebook was not committed as `make notebooks` writes it: a code cell not run in one
    top-to-bottom pass, an error, a cell that prints or draws with no output, timing metadata, the test size."""
    problems = []
    code_cells = [(index, cell) for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    for order, (index, cell) in enumerate(code_cells, start=1):
        if cell.execution_count != order:
            problems.append(f"cell {index}: execution_count {cell.execution_count}, expected {order}")
        if any(output.output_type == "error" for output in cell.outputs):
            problems.append(f"cell {index}: an error output")
        if ("print(" in cell.source or FIGURE_CALL in cell.source) and not cell.outputs:
            problems.append(f"cell {index}: prints or draws but has no output")
        if "execution" in cell.metadata:
            problems.append(f"cell {index}: timing metadata")
        if any(f"size: {TEST_SIZE}" in output.get("text", "") for output in cell.outputs):
            problems.append(f"cell {index}: executed at the tests' size")
    problems += [f"cell {index}: a figure without its image" for index in figure_cells_without_images(notebook)]
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_with_its_outputs(path: Path) -> None:
    assert unexecuted_problems(nbformat.read(path, as_version=4)) == [], f"run `make notebooks` for {path.name}"


def test_the_check_fails_on_a_notebook_without_outputs() -> None:
    notebook = nbformat.read(NOTEBOOKS[0], as_version=4)
    cleared = copy.deepcopy(notebook)
    for cell in cleared.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    assert unexecuted_problems(cleared) != []
    out_of_order = copy.deepcopy(notebook)
    out_of_order.cells = [cell for cell in notebook.cells if cell.cell_type == "code"][::-1]
    assert unexecuted_problems(out_of_order) != []


@pytest.mark.pipeline
@pytest.mark.parametrize(
    "path", [pytest.param(p, id=p.stem, marks=[pytest.mark.ns3] if "ns3" in p.stem else []) for p in NOTEBOOKS]
)
def test_notebook_runs_and_shows_its_figures(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Executed in a scratch directory at the tests' size (the kernel inherits the environment); a failing
    assertion of a claim fails the test."""
    monkeypatch.setenv(SIZE_VARIABLE, TEST_SIZE)
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

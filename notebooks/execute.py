"""Execute notebooks in place, keeping their outputs: what `make notebooks` runs before they are committed.

Each notebook runs top to bottom at its committed size (``ICL_NOTEBOOK_SIZE`` unset) in a scratch working
directory, so that it imports the installed packages and writes nothing into the checkout, on one thread, so
that its numbers do not depend on the machine's core count (as in the tests). Timings and the
kernel's version details are left out of the file, so that a rerun's diff shows what changed. A notebook
with a failing cell (a claim's assertion included) is left as it was, and the script exits 1.

    python notebooks/execute.py notebooks/*.ipynb
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

SIZE_VARIABLE = "ICL_NOTEBOOK_SIZE"
"""Set to "smoke" by the tests, for the notebooks that read it; unset, a notebook runs at its committed size."""


def execute(path: Path, timeout_s: int = 3600) -> nbformat.NotebookNode:
    """The notebook at ``path``, executed in a scratch directory, without volatile metadata."""
    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="icl-notebook-") as scratch:
        NotebookClient(
            notebook, timeout=timeout_s, record_timing=False, resources={"metadata": {"path": scratch}}
        ).execute()
    notebook.metadata.pop("language_info", None)
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
    return notebook


def main(paths: list[str]) -> int:
    os.environ.pop(SIZE_VARIABLE, None)
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = "1"  # read by the kernels, which inherit this environment
    failed = []
    for path in map(Path, paths):
        start = time.monotonic()
        try:
            notebook = execute(path)
        except CellExecutionError as error:
            print(f"{path}: a cell failed; the file is unchanged\n{error}", file=sys.stderr)
            failed.append(path)
            continue
        nbformat.write(notebook, path)
        print(f"{path}: executed in {time.monotonic() - start:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The packages type-check: mypy, configured in pyproject.toml, finds no error (the types are shipped with
``py.typed``, so a wrong annotation misleads every user's checker)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_packages_type_check() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr

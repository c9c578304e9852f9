"""How a run was made: the code's commit, the packages, the machine and the command line.

``provenance()`` is written as ``provenance.json`` beside config.toml when a run directory is created
and kept as it is when the run resumes, so a result can be traced to the code and machine behind it.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import torch

PACKAGES = ("icl-testbed", "torch", "numpy", "scipy", "triton", "numba", "gymnasium", "stable-baselines3")
SOURCE = Path(__file__).resolve().parents[1]
"""The checkout the package runs from (a git work tree, or not)."""


def provenance() -> dict[str, Any]:
    """This process's code, packages, machine and command line."""
    from sim.ns3 import ns3_version

    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": [sys.executable, *sys.argv],
        "git": git_state(SOURCE),
        "packages": {name: _version(name) for name in PACKAGES},
        "ns3": ns3_version(),
        "python": platform.python_version(),
        "os": platform.platform(),
        "cpu": cpu_model(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def git_state(path: Path) -> dict[str, Any] | None:
    """The commit checked out at ``path`` and whether tracked files differ from it; None outside git."""
    try:
        commit = _git(path, "rev-parse", "HEAD")
        dirty = bool(_git(path, "status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": dirty}


def cpu_model() -> str:
    """The CPU's model name (Linux: /proc/cpuinfo), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git(path: Path, *args: str) -> str:
    result = subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True, timeout=10, check=True)
    return result.stdout.strip()


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None

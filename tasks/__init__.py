"""Task generators: function families that produce ICL prompts (see tasks.base for the contract).

The family modules (``tasks.regression``, ``tasks.boolean``, ``tasks.csma``) are imported when a
task of theirs is first built, or when named as attributes of this package.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from icl_testbed import require_own_packages

require_own_packages()  # before importing a package of ours, which may be a namesake's

from tasks.base import BOOLEAN_TASKS, SHIPPED, Prompt, Task, get, names, parameters, register  # noqa: E402
from tasks.curriculum import Curriculum, Schedule  # noqa: E402

__all__ = [
    "BOOLEAN_TASKS",
    "SHIPPED",
    "Curriculum",
    "Prompt",
    "Schedule",
    "Task",
    "get",
    "names",
    "parameters",
    "register",
]

_FAMILIES = ("regression", "boolean", "csma")


def __getattr__(name: str) -> ModuleType:
    """``tasks.csma`` and friends, imported on first use."""
    if name in _FAMILIES:
        return importlib.import_module(f"tasks.{name}")
    raise AttributeError(f"module 'tasks' has no attribute {name!r}")

"""Task generators: function families that produce ICL prompts (see tasks.base for the contract)."""

from tasks import boolean, csma, regression
from tasks.base import Prompt, Task, get, names, parameters, register
from tasks.curriculum import Curriculum, Schedule

__all__ = [
    "Curriculum",
    "Prompt",
    "Schedule",
    "Task",
    "boolean",
    "csma",
    "get",
    "names",
    "parameters",
    "register",
    "regression",
]

"""This distribution's own package: are its packages the ones Python imports?

The packages keep short top-level names (``sim``, ``kernels``, ``theory``, ``tasks``, ``icl``,
``control``, ``paper_figs``) that other distributions may take too: Hugging Face's ``kernels``, which
transformers 5 requires, python-control's ``control``, and ``tasks``, ``theory`` and ``icl`` on the
package index. Two distributions cannot share a top-level name: whichever comes first on ``sys.path``
shadows the other, or a wheel overwrites the other's files. Every package of ours checks at import, and
the ``icl`` command before it imports any, so that a clash is one line naming the other distribution
and the fix, not a ``ModuleNotFoundError`` deep in a traceback. This package sits below every other and imports none of them; ``icl_testbed.command`` is the
``icl`` command's entry.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "icl-testbed"
PACKAGES = ("sim", "kernels", "theory", "tasks", "icl", "control", "paper_figs")
ROOT = Path(__file__).resolve().parents[1]
"""Where this distribution's packages lie: beside this one (the checkout, or site-packages)."""


class ForeignPackageError(ImportError):
    """A top-level package name of ours is provided by another distribution, or found elsewhere first."""


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _claimants() -> dict[str, list[str]]:
    """Top-level name -> the installed distributions other than this one that provide it.

    What ``importlib.metadata.packages_distributions()`` answers, for our names only: it parses every
    distribution's RECORD into paths (0.18 s at every start here); a look for lines that begin with one
    of our names takes 0.02 s."""
    record_line = re.compile(rf"^({'|'.join(PACKAGES)})(?:/|\.py,)", re.MULTILINE)
    found: dict[str, list[str]] = {}
    for distribution in metadata.distributions():
        top_level = distribution.read_text("top_level.txt")
        if top_level is not None:
            names = set(top_level.split())
        else:
            names = set(record_line.findall(distribution.read_text("RECORD") or ""))
        for name in names & set(PACKAGES):
            other = distribution.metadata["Name"]
            if _normalised(other) != DISTRIBUTION and other not in found.setdefault(name, []):
                found[name].append(other)
    return found


def _location(name: str) -> Path | None:
    """The directory (or file) Python imports for top-level ``name``, without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None:
        return None
    if spec.origin and spec.origin not in ("namespace", "built-in", "frozen"):
        path = Path(spec.origin)
        return path.parent if path.name == "__init__.py" else path
    locations = list(spec.submodule_search_locations or [])
    return Path(locations[0]) if locations else None


def _required_by(distribution: str) -> list[str]:
    """The installed distributions that require ``distribution``: why it is there."""
    wanted = _normalised(distribution)
    found = set()
    for other in metadata.distributions():
        for requirement in other.requires or []:
            if "extra ==" not in requirement and _normalised(re.split(r"[ ;<>=!~\[(]", requirement)[0]) == wanted:
                found.add(f"{other.metadata['Name']} {other.version}")
    return sorted(found)


def _describe(distribution: str) -> str:
    text = f"{distribution} {metadata.version(distribution)}"
    required_by = _required_by(distribution)
    return f"{text} (required by {', '.join(required_by)})" if required_by else text


@functools.cache
def foreign_packages_message() -> str | None:
    """One line naming every package of ours that another distribution provides or that Python finds
    elsewhere first, with the fix; ``None`` when all are ours."""
    claimants = _claimants()
    problems, fixes = [], []
    for name in PACKAGES:
        others = sorted(claimants.get(name, []))
        location = _location(name)
        elsewhere = location is not None and location.resolve().parent != ROOT
        if not others and not elsewhere:
            continue
        where = f" at {location}" if elsewhere else ""
        if others:
            problems.append(f"'{name}' is also the package of {' and '.join(map(_describe, others))}{where}")
            fixes += [f"pip uninstall {d}" for d in others]
        else:
            problems.append(f"'{name}' is imported from {location}, not from {ROOT}")
            fixes.append(f"move {location} off the path")
    if not problems:
        return None
    return (
        f"{DISTRIBUTION} cannot import its own packages: {'; '.join(problems)}. "
        f"Fix: {', '.join(dict.fromkeys(fixes))}, or install {DISTRIBUTION} in an environment of its own."
    )


def require_own_packages() -> None:
    """Raise :class:`ForeignPackageError` with that one line if a package of ours is not ours."""
    message = foreign_packages_message()
    if message is not None:
        raise ForeignPackageError(message)

"""The architecture: dependencies run one way, and importing a module changes no process-wide state."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"icl_testbed": -1, "sim": 0, "kernels": 0, "theory": 1, "tasks": 2, "icl": 3, "control": 4, "paper_figs": 5}
COMMAND_LINE = 6
"""icl_testbed (the namesake check) -> sim, kernels -> theory -> tasks -> icl -> control -> paper_figs ->
command line (icl/cli.py, and icl_testbed/command.py, the console script that checks before it hands over)."""


def layer_of(path: Path) -> int:
    relative = path.relative_to(ROOT)
    return (
        COMMAND_LINE if relative in (Path("icl/cli.py"), Path("icl_testbed/command.py")) else LAYERS[relative.parts[0]]
    )


def imported_packages(path: Path) -> set[str]:
    """Top-level packages a file imports anywhere in it (module level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    upward = []
    files = [f for package in LAYERS for f in sorted((ROOT / package).rglob("*.py"))]
    assert len(files) > 40
    for path in files:
        for package in imported_packages(path) & set(LAYERS):
            if LAYERS[package] > layer_of(path):
                upward.append(f"{path.relative_to(ROOT)} imports {package}")
    assert upward == []


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(f): f for package in LAYERS for f in sorted((ROOT / package).rglob("*.py"))}
BENCHMARKS = sorted((ROOT / "benchmarks").glob("*.py"))
FIGURES = {
    entry.split(":")[0]
    for entry in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"][
        "icl_testbed.figures"
    ].values()
}


def imported_names(path: Path) -> list[tuple[str, str | None]]:
    """(module, name) of every import of ours in a file, anywhere in it: ``from m import n`` gives (m, n)
    where m.n is not a module of ours, else (m.n, None); ``import m`` gives (m, None)."""
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.append((submodule, None) if submodule in MODULES else (node.module, alias.name))
    return [(module, name) for module, name in found if module.split(".")[0] in LAYERS]


def module_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in sorted(graph.get(module, ())):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return cycles


def test_no_two_modules_import_each_other_even_through_others() -> None:
    """A cycle hidden by a function-level import is still one: every import counts. A module imported
    as ``from package import name`` counts as the package's ``__init__`` only where name is not a module."""
    graph = {name: {module for module, _ in imported_names(path)} - {name} for name, path in MODULES.items()}
    assert module_cycles(graph) == []


def test_the_cycle_search_finds_a_cycle_through_three_modules() -> None:
    assert module_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_reaches_into_another_ones_private_names() -> None:
    """A name or module with a leading underscore is private: to its own module (a name), or to its own
    package (a module such as paper_figs.csma_common). Benchmarks count as a package of their own; a figure
    imports no other figure (what two share lives in a shared module)."""
    reaching = []
    for path in [*MODULES.values(), *BENCHMARKS]:
        here = module_name(path)
        for module, name in imported_names(path):
            private_module = any(part.startswith("_") and part != "__init__" for part in module.split("."))
            if name is not None and name.startswith("_") and module != here:
                reaching.append(f"{here} imports {module}.{name}")
            elif private_module and module.split(".")[0] != here.split(".")[0]:
                reaching.append(f"{here} imports {module}")
            elif here in FIGURES and module in FIGURES and module != here:
                reaching.append(f"figure {here} imports figure {module}")
    assert reaching == []


def test_benchmarks_import_no_layer_above_the_command_line() -> None:
    """Benchmarks are scripts above every package: they may use any public module, and none of them is
    imported by a package."""
    for path in MODULES.values():
        assert "benchmarks" not in imported_packages(path), path


def test_every_package_checks_its_namesakes_first() -> None:
    """Each package's ``__init__`` imports icl_testbed (whose check it calls before importing another
    package of ours), and the console script's module imports nothing of ours but the check and icl.cli."""
    for package in set(LAYERS) - {"icl_testbed"}:
        assert "icl_testbed" in imported_packages(ROOT / package / "__init__.py"), package
    assert {module for module, _ in imported_names(ROOT / "icl_testbed" / "command.py")} == {"icl_testbed", "icl.cli"}


def test_the_walk_sees_function_level_imports(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from paper_figs import plots\n    import icl.cli\n")
    assert imported_packages(probe) == {"paper_figs", "icl"}


def test_importing_every_module_changes_no_process_wide_state() -> None:
    """The matplotlib backend and style, torch's RNG and thread count are the user's after import."""
    code = """
import importlib, pkgutil, sys
import matplotlib, torch
before = (matplotlib.get_backend(), dict(matplotlib.rcParams), torch.random.get_rng_state().clone(),
          torch.get_num_threads())
for package in ("icl_testbed", "sim", "kernels", "theory", "tasks", "icl", "control", "paper_figs"):
    module = importlib.import_module(package)
    for info in pkgutil.walk_packages(module.__path__, package + "."):
        importlib.import_module(info.name)
after = (matplotlib.get_backend(), dict(matplotlib.rcParams), torch.random.get_rng_state(), torch.get_num_threads())
assert before[0] == after[0], ("backend", before[0], after[0])
changed = sorted(k for k in before[1] if str(before[1][k]) != str(after[1][k]))
assert not changed, changed
assert torch.equal(before[2], after[2]), "torch's global RNG was reseeded"
assert before[3] == after[3], "torch's thread count changed"
print("imported", len(sys.modules))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]

"""The architecture: dependencies run one way, and importing a module changes no process-wide state."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"sim": 0, "kernels": 0, "theory": 1, "tasks": 2, "icl": 3, "control": 4, "paper_figs": 5}
COMMAND_LINE = 6
"""sim, kernels -> theory -> tasks -> icl -> control -> paper_figs -> command line (icl/cli.py)."""


def layer_of(path: Path) -> int:
    relative = path.relative_to(ROOT)
    return COMMAND_LINE if relative == Path("icl/cli.py") else LAYERS[relative.parts[0]]


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


def test_the_distribution_module_imports_only_the_command_line() -> None:
    """icl_testbed sits below every package (each checks through it at import that its namesakes are its
    own) and hands the ``icl`` command to icl.cli: it may import that and nothing else of ours."""
    tree = ast.parse((ROOT / "icl_testbed.py").read_text())
    ours = [
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in LAYERS
    ]
    ours += [
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names if a.name.split(".")[0] in LAYERS
    ]
    assert ours == ["icl.cli"]
    for package in LAYERS:
        assert "icl_testbed" in imported_packages(ROOT / package / "__init__.py"), package


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
for package in ("sim", "kernels", "theory", "tasks", "icl", "control", "paper_figs"):
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

"""The install as a user has it: the locks agree with pyproject, the console script and the packages work
from outside the checkout (where pytest's root on ``sys.path`` cannot hide a broken install), a namesake
distribution is named in one line, and a built wheel runs in a fresh environment."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCKS = {"base.txt": (), "dev.txt": ("dev",), "bench.txt": ("dev", "bench")}
"""Each lock file and the extras it resolves (``make lock``)."""
BIN = Path(sys.executable).parent
MODULES = ["kernels.reference", "sim.engine", "tasks.csma", "theory.bianchi", "icl.models", "paper_figs.garg_fig2"]
PRINT_FILES = f"import sys, {', '.join(MODULES)}; print(*(sys.modules[m].__file__ for m in {MODULES!r}), sep='\\n')"
"""Python code that imports a module of each package and prints the file each came from."""


def outside(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``args`` in ``cwd`` with no PYTHONPATH (unless given): sys.path does not start at the checkout."""
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | env
    return subprocess.run(args, cwd=cwd, env=environment, capture_output=True, text=True, timeout=1800)


# The locks.


def requirements(pyproject: dict, extras: tuple[str, ...]) -> list[Requirement]:
    """The project's requirements with ``extras``, its extras that name the project itself expanded."""
    project = pyproject["project"]
    found, pending, seen = list(map(Requirement, project["dependencies"])), list(extras), set()
    while pending:
        extra = pending.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for requirement in map(Requirement, project["optional-dependencies"][extra]):
            if canonicalize_name(requirement.name) == canonicalize_name(project["name"]):
                pending += sorted(requirement.extras)
            else:
                found.append(requirement)
    return [r for r in found if r.marker is None or r.marker.evaluate()]


def read_lock(text: str) -> tuple[dict[str, str], set[str]]:
    """A uv lock's pins (name -> version) and the names it says the project requires directly."""
    pins, direct, current = {}, set(), None
    for line in text.splitlines():
        pin = re.match(r"([A-Za-z0-9._-]+)==([^\s\\;]+)", line)
        if pin:
            current = canonicalize_name(pin.group(1))
            pins[current] = pin.group(2)
        elif current and re.match(r"\s+#\s+(via\s+)?icl-testbed \(pyproject\.toml\)", line):
            direct.add(current)
    return pins, direct


def lock_disagreements(pyproject: dict, extras: tuple[str, ...], lock_text: str, torch_pin: str) -> list[str]:
    """Where a lock and pyproject disagree: a requirement the lock lacks or pins outside its range, a
    direct requirement the lock still has that pyproject dropped, a build requirement not locked. torch is
    left out of the locks and installed by its pin in the Makefile, which must satisfy pyproject too."""
    pins, direct = read_lock(lock_text)
    wanted = requirements(pyproject, extras) + list(map(Requirement, pyproject["build-system"]["requires"]))
    problems = []
    for requirement in wanted:
        name = canonicalize_name(requirement.name)
        version = torch_pin if name == "torch" else pins.get(name)
        if version is None:
            problems.append(f"{requirement} is not in the lock")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement} but the lock pins {version}")
    problems += [
        f"the lock has {n} from pyproject, which no longer asks for it"
        for n in direct - {canonicalize_name(r.name) for r in wanted}
    ]
    return problems


def torch_pin() -> str:
    return re.search(r"^TORCH := torch==(\S+)$", (ROOT / "Makefile").read_text(), re.MULTILINE).group(1)


@pytest.mark.parametrize("lock, extras", list(LOCKS.items()))
def test_the_lock_agrees_with_pyproject(lock: str, extras: tuple[str, ...]) -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    text = (ROOT / "lock" / lock).read_text()
    assert lock_disagreements(pyproject, extras, text, torch_pin()) == [], "run `make lock`"
    pins, direct = read_lock(text)
    assert "pip" in pins and "torch" not in pins and len(direct) >= 10
    assert all(line.count("--hash=sha256:") <= 1 for line in text.splitlines())
    assert len(re.findall(r"--hash=sha256:[0-9a-f]{64}", text)) >= len(pins)


def test_the_lock_check_sees_each_kind_of_disagreement() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    text = (ROOT / "lock" / "base.txt").read_text()
    numpy = read_lock(text)[0]["numpy"]
    raised = tomllib.loads((ROOT / "pyproject.toml").read_text())
    raised["project"]["dependencies"] = [d for d in raised["project"]["dependencies"] if not d.startswith("numpy")]
    raised["project"]["dependencies"] += [f"numpy>{numpy}", "einops>=0.8"]
    problems = lock_disagreements(raised, (), text, torch_pin())
    assert any(p.startswith("numpy>") and p.endswith(f"pins {numpy}") for p in problems), problems
    assert "einops>=0.8 is not in the lock" in problems
    dropped = tomllib.loads((ROOT / "pyproject.toml").read_text())
    dropped["project"]["dependencies"] = [d for d in dropped["project"]["dependencies"] if not d.startswith("rich")]
    assert lock_disagreements(dropped, (), text, torch_pin()) == [
        "the lock has rich from pyproject, which no longer asks for it"
    ]
    assert lock_disagreements(pyproject, (), text, "2.2.0") == ["torch>=2.3 but the lock pins 2.2.0"]


def test_transformers_is_not_in_the_default_install() -> None:
    """Hugging Face's ``kernels`` (transformers 5 requires it) takes this project's ``kernels`` name."""
    for lock in ("base.txt", "dev.txt"):
        pins = read_lock((ROOT / "lock" / lock).read_text())[0]
        assert "transformers" not in pins and "kernels" not in pins
    assert read_lock((ROOT / "lock" / "bench.txt").read_text())[0]["transformers"].startswith("4.")


# From outside the checkout.


def test_the_console_script_and_the_packages_from_outside_the_checkout(tmp_path: Path) -> None:
    version = outside([str(BIN / "icl"), "--version"], tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("icl 0."), version.stderr
    files = outside([sys.executable, "-I", "-c", PRINT_FILES], tmp_path)
    assert files.returncode == 0, files.stderr[-2000:]
    assert [Path(f).relative_to(ROOT).parts[0] for f in files.stdout.split()] == [
        "kernels",
        "sim",
        "tasks",
        "theory",
        "icl",
        "paper_figs",
    ]


@pytest.mark.pipeline
def test_a_training_figure_reproduces_from_outside_the_checkout(tmp_path: Path) -> None:
    result = outside([str(BIN / "icl"), "reproduce", "garg_fig2", "--size", "smoke", "--out", "figs"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.suffix for p in (tmp_path / "figs").glob("garg_fig2_smoke.*")) == [".csv", ".pdf", ".png"]


# A namesake distribution, as `pip install transformers` (5.x) puts Hugging Face's `kernels` beside ours.


def fake_site(path: Path) -> Path:
    """A site directory holding a distribution ``kernels`` 0.19.1 (package ``kernels``) and one that
    requires it, ``transformers`` 5.25.0: what the real ones install, less their code."""
    (path / "kernels").mkdir(parents=True)
    (path / "kernels" / "__init__.py").write_text("def get_kernel(name): ...\n")
    for name, version, requires in [("kernels", "0.19.1", []), ("transformers", "5.25.0", ["kernels<0.20"])]:
        info = path / f"{name}-{version}.dist-info"
        info.mkdir()
        lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
        (info / "METADATA").write_text("\n".join(lines + [f"Requires-Dist: {r}" for r in requires]) + "\n")
        own = "kernels/__init__.py,," if name == "kernels" else ""
        (info / "RECORD").write_text(f"{own}\n{info.name}/METADATA,,\n{info.name}/RECORD,,\n")
    return path


def test_a_namesake_distribution_is_one_line_from_the_command(tmp_path: Path) -> None:
    site = fake_site(tmp_path / "site")
    result = outside([str(BIN / "icl"), "reproduce", "garg_fig2", "--size", "smoke"], tmp_path, PYTHONPATH=str(site))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert "'kernels' is also the package of kernels 0.19.1 (required by transformers 5.25.0)" in result.stderr
    assert f"at {site / 'kernels'}" in result.stderr and "Fix: pip uninstall kernels," in result.stderr


def test_a_namesake_distribution_is_a_clear_import_error(tmp_path: Path) -> None:
    site = fake_site(tmp_path / "site")
    for module in ("icl.models", "sim", "tasks.csma", "paper_figs.garg_fig2"):
        result = outside([sys.executable, "-c", f"import {module}"], tmp_path, PYTHONPATH=str(site))
        assert result.returncode == 1
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith("icl_testbed.ForeignPackageError: icl-testbed cannot import its own packages"), last
        assert "ModuleNotFoundError" not in result.stderr


def test_a_folder_that_shadows_a_package_is_named(tmp_path: Path) -> None:
    """A user's own ``tasks/`` in the working directory comes first on sys.path in ``python -c``."""
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "__init__.py").write_text("")
    result = outside([sys.executable, "-c", "import icl.config"], tmp_path)
    assert f"'tasks' is imported from {tmp_path / 'tasks'}, not from {ROOT}" in result.stderr, result.stderr


def test_the_real_environment_has_no_namesake() -> None:
    import icl_testbed

    assert icl_testbed.foreign_packages_message() is None


# A wheel in a fresh environment.


@pytest.mark.pipeline
def test_a_wheel_runs_in_a_fresh_environment(tmp_path: Path) -> None:
    """The wheel of a copy of the checkout, installed alone in a new venv that sees the project venv's
    distributions (not its .pth files, so not the checkout): the same smoke as from the checkout."""
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".*", "runs", "figures", "build", "*.egg-info"))
    built = outside(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", "dist", "./source"], tmp_path
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("icl_testbed-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    installed = outside(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        tmp_path,
    )
    assert installed.returncode == 0, installed.stderr[-2000:]
    (site,) = (venv / "lib").glob("python3*/site-packages")
    project_site = next(Path(p) for p in sys.path if p.endswith("site-packages") and Path(p).is_relative_to(BIN.parent))
    (site / "project_dependencies.pth").write_text(f"{project_site}\n")

    version = outside([str(venv / "bin" / "icl"), "--version"], tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("icl 0."), version.stderr
    files = outside([str(venv / "bin" / "python"), "-I", "-c", PRINT_FILES], tmp_path)
    assert files.returncode == 0, files.stderr[-2000:]
    assert all(Path(f).is_relative_to(site) for f in files.stdout.split()), files.stdout
    assert (site / "sim" / "ns3" / "scenario.cc").exists() and (site / "icl" / "configs").is_dir()
    result = outside(
        [str(venv / "bin" / "icl"), "reproduce", "garg_fig2", "--size", "smoke", "--out", "figs"], tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(list((tmp_path / "figs").glob("garg_fig2_smoke.*"))) == 3

"""Finding the system's ns-3 and building our scenario (and the protocol's generated code) on first use.

Everything is built into a cache directory keyed by a hash of the sources and the toolchain's flags,
so a changed ``scenario.cc`` or ``messages.proto`` is rebuilt and an unchanged one is not. Builds go
to a temporary directory that is renamed into place, under a file lock, so parallel workers never
see (or leave) a half-built scenario.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

SOURCE_DIR = Path(__file__).resolve().parent
PROTO = SOURCE_DIR / "messages.proto"
SCENARIO = SOURCE_DIR / "scenario.cc"
INSTALL_SCRIPT = SOURCE_DIR / "install.sh"
INSTALL_HINT = f"install it with `sudo {INSTALL_SCRIPT}` (Debian: ns3 libns3-dev libgsl-dev libsqlite3-dev libzmq3-dev libprotobuf-dev protobuf-compiler)"
PKG_MODULES = (
    "ns3-wifi",
    "ns3-applications",
    "ns3-internet",
    "ns3-mobility",
    "ns3-network",
    "ns3-core",
    "libzmq",
    "protobuf",
)


class Ns3Error(RuntimeError):
    """ns-3 is missing, a build failed, or a simulation crashed, hung or broke the protocol."""


def cache_root() -> Path:
    """Where builds are cached: ``$ICL_CACHE_DIR/ns3`` or ``~/.cache/icl-testbed/ns3``."""
    base = os.environ.get("ICL_CACHE_DIR") or Path.home() / ".cache" / "icl-testbed"
    return Path(base) / "ns3"


@dataclass(frozen=True)
class Toolchain:
    """The compiler, protoc and the flags pkg-config gives for ns-3, ZeroMQ and protobuf."""

    cxx: str
    protoc: str
    cflags: tuple[str, ...]
    libs: tuple[str, ...]
    ns3_version: str


def _pkg_config(*args: str) -> str:
    result = subprocess.run(["pkg-config", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise Ns3Error(f"pkg-config {' '.join(args)} failed: {result.stderr.strip()}; {INSTALL_HINT}")
    return result.stdout.strip()


def _flags(text: str) -> tuple[str, ...]:
    """pkg-config words; Debian's ns-3 .pc files carry a stray ``-I/usr\\;`` that compilers reject."""
    return tuple(word.rstrip(";\\") for word in shlex.split(text) if word.rstrip(";\\"))


@cache
def find_toolchain() -> Toolchain:
    """The system's ns-3 (through pkg-config), protoc and a C++ compiler, or a clear Ns3Error."""
    missing = [tool for tool in ("pkg-config", "protoc") if shutil.which(tool) is None]
    cxx = os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        missing.append("g++")
    if missing or cxx is None:
        raise Ns3Error(f"ns-3 bridge needs {', '.join(missing)}, not found on PATH; {INSTALL_HINT}")
    absent = [m for m in PKG_MODULES if subprocess.run(["pkg-config", "--exists", m]).returncode != 0]
    if absent:
        raise Ns3Error(f"ns-3 not found: pkg-config does not know {', '.join(absent)}; {INSTALL_HINT}")
    libs = _flags(_pkg_config("--libs", *PKG_MODULES))
    missing_files = [word for word in libs if word.startswith("/") and not Path(word).exists()]
    if missing_files:
        raise Ns3Error(
            f"ns-3's pkg-config names libraries that are not installed: {', '.join(missing_files)}; {INSTALL_HINT}"
        )
    return Toolchain(
        cxx=cxx,
        protoc=shutil.which("protoc") or "protoc",
        cflags=_flags(_pkg_config("--cflags", *PKG_MODULES)),
        libs=libs,
        ns3_version=_pkg_config("--modversion", "ns3-core"),
    )


def ns3_version() -> str | None:
    """The system ns-3's version (pkg-config's ns3-core), or None where there is none."""
    if shutil.which("pkg-config") is None:
        return None
    result = subprocess.run(["pkg-config", "--modversion", "ns3-core"], capture_output=True, text=True)
    return result.stdout.strip() or None if result.returncode == 0 else None


def ns3_available() -> bool:
    """Whether the ns-3 backend can be built here (used by tests and the CLI to say so up front)."""
    try:
        find_toolchain()
    except Ns3Error:
        return False
    return True


def _digest(toolchain: Toolchain, *sources: Path) -> str:
    digest = hashlib.sha256(repr(toolchain).encode())
    for source in sources:
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def _run(command: list[str], cwd: Path, what: str) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise Ns3Error(f"{what} failed (exit {result.returncode}): {shlex.join(command)}\n{output[-4000:]}")


def _build_once(key: str, build: Callable[[Path], None]) -> Path:
    """The cache directory ``key``, built by ``build(tmpdir)`` unless present; atomic and locked."""
    root = cache_root()
    target = root / key
    if target.is_dir():
        return target
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.is_dir():
            return target
        staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=root))
        try:
            build(staging)
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def scenario_binary(source: Path = SCENARIO) -> Path:
    """Our scenario compiled against the system's ns-3 (built on first use, cached by source hash)."""
    if not source.is_file():
        raise Ns3Error(f"scenario source {source} not found")
    toolchain = find_toolchain()

    def build(staging: Path) -> None:
        _run([toolchain.protoc, f"-I{PROTO.parent}", f"--cpp_out={staging}", str(PROTO)], staging, "protoc")
        command = [
            toolchain.cxx,
            "-std=c++17",
            "-O2",
            f"-I{staging}",
            *toolchain.cflags,
            str(source),
            str(staging / "messages.pb.cc"),
            "-o",
            str(staging / "scenario"),
            *toolchain.libs,
        ]
        _run(command, staging, f"building the ns-3 scenario {source.name}")

    return _build_once(f"{source.stem}-{_digest(toolchain, PROTO, source)}", build) / "scenario"


@cache
def messages() -> ModuleType:
    """The protocol's Python messages, generated from ``messages.proto`` by the system's protoc."""
    protoc = shutil.which("protoc")
    if protoc is None:
        raise Ns3Error(f"protoc not found on PATH (needed for the ns3-gym protocol); {INSTALL_HINT}")
    key = "messages-" + hashlib.sha256(PROTO.read_bytes() + protoc.encode()).hexdigest()[:16]
    directory = _build_once(
        key,
        lambda staging: _run([protoc, f"-I{PROTO.parent}", f"--python_out={staging}", str(PROTO)], staging, "protoc"),
    )
    spec = importlib.util.spec_from_file_location("ns3opengym_messages_pb2", directory / "messages_pb2.py")
    assert spec is not None and spec.loader is not None, "a .py file always has a loader"
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module

"""Files and run directories: atomic writes, an exclusive lock, cleaning up after killed writers.

A reader never sees a half-written file and a failed write leaves none behind. Files get the
user's umask (as ``open`` would), not the private 0600 of ``tempfile.mkstemp``.
"""

from __future__ import annotations

import errno
import fcntl
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from icl.errors import UserError

TEMP_MARK = ".tmp"


class Busy(UserError):
    """Another process holds the lock on a directory."""


def temp_name(path: Path) -> Path:
    """A fresh hidden name beside ``path`` that ``remove_stray_temps`` recognises."""
    return path.with_name(f".{path.stem}.{secrets.token_hex(4)}{TEMP_MARK}{path.suffix}")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a new empty file beside ``path``; on success rename it to ``path``, else delete it."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a directory, expected a file path", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = temp_name(path)
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:
            continue
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def remove_stray_temps(directory: Path) -> list[Path]:
    """Delete the temporary files that killed writers left in ``directory``; returns them.

    Only safe while holding ``directory``'s lock: a live writer's temporary file looks the same.
    """
    strays = [p for p in directory.glob(f".*{TEMP_MARK}*") if p.is_file()]
    for stray in strays:
        stray.unlink(missing_ok=True)
    return strays


@contextmanager
def exclusive_lock(directory: Path, what: str) -> Iterator[None]:
    """Hold an exclusive lock on ``directory`` or raise ``Busy`` naming the process that holds it.

    The lock is the kernel's ``flock`` on the directory itself, so taking it writes nothing (a
    finished run in a read-only directory can still be opened) and it dies with its process,
    whatever kills it.
    """
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = lock_holder(directory)
            by = f"process {holder}" if holder else "another process"
            raise Busy(f"{what} is being trained by {by}; wait for it or stop it") from None
        yield
    finally:
        os.close(fd)


def lock_holder(path: Path) -> int | None:
    """The PID holding a ``flock`` on ``path``, from Linux's /proc/locks (None where it cannot tell)."""
    info = os.stat(path)
    device = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if len(fields) > 5 and fields[1] == "FLOCK" and fields[5] == device:
            return int(fields[4])
    return None

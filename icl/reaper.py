"""Reaper of a local Ray: ``python -m icl.reaper PID DIR`` waits for process PID to end, however it
ends (SIGKILL included), or for a SIGTERM that ends the session early, then kills every process whose command line names DIR (the Ray session's
temporary directory, unique to one sweep), and their descendants, and removes DIR. Ray's own fate
sharing stops its raylet with the driver, but not its agents, and its workers only once they notice;
this leaves nothing behind, at once."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from pathlib import Path

Process = tuple[int, str]
"""A process as (pid, start time): a pid reused by a later process is another process."""


def _stat(pid: int) -> list[str] | None:
    """Fields 3.. of /proc/PID/stat (state, ppid, ..., start time at index 19), or None if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    except (OSError, IndexError):
        return None


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def session_processes(directory: str) -> set[Process]:
    """The processes whose command line names ``directory``, and all their descendants."""
    parents, roots = {}, set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        fields = _stat(int(entry.name))
        if fields is None:
            continue
        process = (int(entry.name), fields[19])
        parents[process] = int(fields[1])
        try:
            if directory.encode() in (entry / "cmdline").read_bytes():
                roots.add(process)
        except OSError:
            continue
    found, frontier = set(roots), {pid for pid, _ in roots}
    while frontier:
        children = {process for process, parent in parents.items() if parent in frontier} - found
        found |= children
        frontier = {pid for pid, _ in children}
    return found


def reap(pid: int, directory: str, poll_s: float = 0.2) -> None:
    """Track the processes of ``directory``'s session while ``pid`` runs; once it ends (or SIGTERM
    says the session is over), kill them (those still running as the same process) and remove
    ``directory``."""
    over = []
    signal.signal(signal.SIGTERM, lambda signum, frame: over.append(signum))
    seen: set[Process] = set()
    while alive(pid) and not over:
        seen |= session_processes(directory)
        time.sleep(poll_s)
    for process_id, started in seen | session_processes(directory):
        fields = _stat(process_id)
        if fields is not None and fields[19] == started:
            try:
                os.kill(process_id, signal.SIGKILL)
            except ProcessLookupError:
                pass
    shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C in the sweep's terminal is the sweep's to handle
    reap(int(sys.argv[1]), sys.argv[2])

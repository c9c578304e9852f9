"""A run records how it was made, once, and keeps the record when it resumes."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

from icl import config as cfg
from icl.provenance import git_state
from icl.train import train


def test_a_run_records_its_code_packages_machine_and_command(tiny_config: cfg.RunConfig, tmp_path: Path) -> None:
    run_dir = train(tiny_config, tmp_path)
    record = json.loads((run_dir / "provenance.json").read_text())
    assert {"created", "command", "git", "packages", "ns3", "python", "os", "cpu", "gpu"} <= set(record)
    assert record["packages"]["torch"] and record["packages"]["numpy"] and record["command"]
    written = (run_dir / "provenance.json").read_bytes()
    longer = replace(tiny_config, train=replace(tiny_config.train, steps=2 * tiny_config.train.steps))
    train(longer, tmp_path)
    assert (run_dir / "provenance.json").read_bytes() == written  # kept on resume


def test_git_state_says_commit_and_dirty(tmp_path: Path) -> None:
    assert git_state(tmp_path) is None  # not a work tree

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "a.txt").write_text("one")
    git("add", "a.txt")
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "one")
    clean = git_state(tmp_path)
    assert clean is not None and len(clean["commit"]) == 40 and clean["dirty"] is False
    (tmp_path / "a.txt").write_text("two")
    assert git_state(tmp_path) == {"commit": clean["commit"], "dirty": True}

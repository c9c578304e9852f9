from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from icl.cli import main

TINY = [
    "--set",
    "task.n_dims=3",
    "--set",
    "task.n_points=7",
    "--set",
    "model.n_embd=32",
    "--set",
    "model.n_layer=2",
    "--set",
    "train.steps=30",
    "--set",
    "train.log_every=10",
    "--set",
    "eval.n_prompts=32",
]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "icl.cli", *args], capture_output=True, text=True, timeout=1800)


def test_train_then_eval(tmp_path: Path) -> None:
    assert main(["train", "--name", "cli", "--runs-dir", str(tmp_path), *TINY]) == 0
    assert main(["eval", str(tmp_path / "cli"), "--baselines", "least_squares", "knn:n_neighbors=1"]) == 0
    frame = pd.read_csv(tmp_path / "cli" / "eval.csv")
    assert set(frame.learner) == {"transformer", "least_squares", "knn:n_neighbors=1"}
    assert len(frame) == 3 * 7
    shown = subprocess.run(
        [sys.executable, "-m", "icl.cli", "eval", str(tmp_path / "cli"), "--baselines", "least_squares"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "300"},
    ).stderr  # fmt: skip
    row = frame[(frame.learner == "least_squares") & (frame.k == 3)].iloc[0]
    assert "(mean [95% interval])" in shown and f"{row['mean']:.4f} [{row.ci_low:.4f}, {row.ci_high:.4f}]" in shown
    assert "eval (32 prompts)" in shown and "2/2" in shown  # the progress bar: learners x batches, with an ETA


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--set", "model.n_layers=4"], "unknown config key 'model.n_layers'"),
        (["train", "--set", "task.name=cubic"], "task.name = 'cubic' is not allowed"),
        (["train", "--set", "model.backend=flash"], "model.backend = 'flash' is not allowed"),
        (["eval", "does/not/exist"], "is not a run directory"),
        (["eval", ".", "--baselines", "svm"], "is not a run directory"),
        (["reproduce", "fig99"], "unknown figure 'fig99'; allowed: bhattamishra_table, "),
        (
            ["reproduce", "csma_bounds", "--size", "tiny"],
            "unknown figure size 'tiny'; allowed: smoke, quick, medium, full",
        ),
    ],
)
def test_user_errors_are_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    result = run_cli(*args, *(["--runs-dir", str(tmp_path)] if args[0] == "train" else []))
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert not any(tmp_path.iterdir()), "a failed start left files behind"


def test_eval_with_prompt_longer_than_context(tmp_path: Path) -> None:
    assert main(["train", "--name", "short", "--runs-dir", str(tmp_path), *TINY]) == 0
    result = run_cli("eval", str(tmp_path / "short"), "--n-points", "50")
    assert result.returncode == 2
    assert "prompt of 50 examples is longer than the model's context of 7 examples" in result.stderr


def test_figures_lists_every_figure() -> None:
    result = run_cli("figures")
    assert result.returncode == 0 and "garg_fig2" in result.stdout and "csma_icl" in result.stdout


def test_csma_collect_writes_a_table_the_task_reads(tmp_path: Path) -> None:
    out = tmp_path / "data" / "table.csv"
    args = ["csma", "collect", "--n", "5", "20", "--windows", "16", "64", "256", "--seeds", "2", "--out", str(out)]
    assert main(args) == 0
    table = pd.read_csv(out)
    assert len(table) == 2 * 3 * 2 and set(table.backend) == {"embedded"}
    p = table.groupby(["n_stations", "window"]).collision_probability.mean()
    assert p[(20, 16)] > p[(20, 64)] > p[(20, 256)] and p[(20, 64)] > p[(5, 64)]
    assert list(out.parent.iterdir()) == [out]
    result = run_cli("csma", "collect", "--n", "0", "--out", str(tmp_path / "bad.csv"))
    assert result.returncode == 2 and "numbers of stations must be >= 1" in result.stderr
    assert not (tmp_path / "bad.csv").exists()
    result = run_cli("csma", "collect", "--world", "mesh", "--out", str(tmp_path / "bad.csv"))
    assert result.returncode == 2 and "unknown world 'mesh'; choose one of: bianchi" in result.stderr
    assert not (tmp_path / "bad.csv").exists()


def test_csma_collect_in_a_world(tmp_path: Path) -> None:
    """Hidden stations collide more than Bianchi's at the same N and W."""
    tables = {}
    for world in ("bianchi", "hidden"):
        out = tmp_path / f"{world}.csv"
        assert (
            main(
                ["csma", "collect", "--world", world, "--n", "20", "--windows", "64", "--seeds", "2", "--out", str(out)]
            )
            == 0
        )
        tables[world] = pd.read_csv(out).collision_probability.mean()
    assert tables["hidden"] > 1.3 * tables["bianchi"]


def test_version_presets_and_config_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0 and capsys.readouterr().out.strip() == f"icl {version('icl-testbed')}"
    assert main(["presets"]) == 0
    listed = capsys.readouterr().out
    assert "conjunction" in listed and "linear_regression" in listed
    assert main(["config", "show", "conjunction", "--set", "model.n_layer=4"]) == 0
    shown = capsys.readouterr().out
    assert 'name = "conjunction"' in shown and "n_layer = 4" in shown
    (tmp_path / "shown.toml").write_text(shown)
    assert main(["config", "show", str(tmp_path / "shown.toml")]) == 0 and capsys.readouterr().out == shown
    assert main(["train", "--name", "run", "--runs-dir", str(tmp_path), *TINY]) == 0
    capsys.readouterr()
    assert main(["config", "show", str(tmp_path / "run")]) == 0
    assert "n_points = 7" in capsys.readouterr().out
    assert main(["config", "show", str(tmp_path / "run"), "--set", "train.steps=5"]) == 2
    assert main(["config", "show", "nothing"]) == 2
    assert "config 'nothing' is neither a file nor a preset; presets: conjunction" in capsys.readouterr().err


@pytest.mark.pipeline  # draws a figure at smoke size
def test_reproduce_reports_progress_and_writes_the_figure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reproduce", "csma_bounds", "--size", "smoke", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.glob("csma_bounds_smoke.*")) == [
        "csma_bounds_smoke.csv",
        "csma_bounds_smoke.pdf",
        "csma_bounds_smoke.png",
    ]
    err = capsys.readouterr().err
    assert "1/1" in err and "csma_bounds in" in err


@pytest.mark.parametrize(("gpu", "size"), [(False, "quick"), (True, "full")])
def test_reproduce_without_a_size_takes_the_largest_the_machine_runs_and_says_so(
    gpu: bool, size: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    import icl.cli

    asked = []

    class Figure:
        def load(self):  # noqa: ANN202 - stands in for an entry point
            return lambda out, size, seed: asked.append(size) or []

    monkeypatch.setattr(icl.cli, "figures", lambda: {"csma_bounds": Figure()})
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu)
    assert main(["reproduce", "csma_bounds", "--out", str(tmp_path)]) == 0
    assert asked == [size]
    assert f"size: {size} (found {'a' if gpu else 'no'} GPU" in " ".join(capsys.readouterr().err.split())

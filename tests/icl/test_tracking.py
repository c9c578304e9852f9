"""The optional trackers mirror metrics.jsonl: TensorBoard's events and W&B's offline run hold the same
losses, a resumed run continues them, and a tracker that is not installed is a one-line error."""

from __future__ import annotations

import re
import sys
import types
from dataclasses import replace
from pathlib import Path

import pytest

from icl import config as cfg
from icl.errors import UserError
from icl.runs import config_digest, read_metrics
from icl.tracking import wandb_run_id
from icl.train import train


def tensorboard_losses(run_dir: Path) -> dict[int, float]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    return {event.step: event.value for event in events.Scalars("train/loss")}


def resumed_run(config: cfg.RunConfig, runs: Path, loggers: list[str]) -> Path:
    """``config`` with ``loggers``, stopped after its checkpoint at step 20 as if killed, then resumed."""
    config = replace(config, train=replace(config.train, loggers=loggers))
    train(config, runs, stop_at=20)
    return train(config, runs)


def test_tensorboard_holds_the_metrics_and_a_resume_replaces_what_followed_the_checkpoint(
    tiny_config: cfg.RunConfig, tmp_path: Path
) -> None:
    pytest.importorskip("tensorboard")
    run_dir = resumed_run(tiny_config, tmp_path, ["tensorboard"])
    metrics = {record["step"]: record["loss"] for record in read_metrics(run_dir)}
    assert sorted(metrics) == [5, 10, 15, 20, 25, 30, 35, 40]
    assert tensorboard_losses(run_dir) == pytest.approx(metrics, rel=1e-6)


class FakeWandb(types.ModuleType):
    """What our W&B tracker sends: each init's arguments and every logged (step, record)."""

    def __init__(self) -> None:
        super().__init__("wandb")
        self.inits: list[dict] = []
        self.logged: dict[int, dict] = {}
        self.finished = 0

    def init(self, **options):  # type: ignore[no-untyped-def]
        self.inits.append(options)
        return types.SimpleNamespace(log=lambda record, step: self.logged.__setitem__(step, record), finish=self.finish)

    def finish(self) -> None:
        self.finished += 1


def test_wandb_gets_every_record_under_one_run_id_offline_by_default(
    tiny_config: cfg.RunConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeWandb()
    monkeypatch.setitem(sys.modules, "wandb", fake)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    run_dir = resumed_run(tiny_config, tmp_path, ["wandb"])
    metrics = read_metrics(run_dir)
    assert {step: record["train/loss"] for step, record in fake.logged.items()} == {
        r["step"]: r["loss"] for r in metrics
    }
    assert [(i["id"], i["mode"], i["resume"], i["dir"]) for i in fake.inits] == [
        (wandb_run_id(run_dir, tiny_config), "offline", "allow", str(run_dir))
    ] * 2
    assert fake.inits[0]["config"]["model"]["n_layer"] == 2 and fake.finished == 2


def test_the_real_wandb_writes_an_offline_run_without_an_account(
    tiny_config: cfg.RunConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("wandb")
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("WANDB_SILENT", "true")
    run_dir = resumed_run(tiny_config, tmp_path, ["wandb"])
    identity = wandb_run_id(run_dir, tiny_config)
    logs = sorted((run_dir / "wandb").glob(f"offline-run-*-{identity}/run-{identity}.wandb"))  # one a second: 1 or 2
    assert logs and all(log.stat().st_size > 1000 for log in logs)


def test_wandb_ids_tell_apart_names_and_sweeps_and_stay_with_a_run(tiny_config: cfg.RunConfig, tmp_path: Path) -> None:
    """Names alike but for case and punctuation, and points of one name in two sweeps, get different ids; a
    resumed or extended run keeps its id, a changed one does not; every id is [a-z0-9-], at most 64 long."""
    runs = tmp_path / "runs"
    dotted, underscored = (replace(tiny_config, name=name) for name in ("Run.1", "run_1"))
    assert wandb_run_id(runs / "Run.1", dotted) != wandb_run_id(runs / "run_1", underscored)
    assert wandb_run_id(tmp_path / "depth" / "tiny", tiny_config) != wandb_run_id(
        tmp_path / "width" / "tiny", tiny_config
    )
    extended = replace(
        tiny_config,
        train=replace(tiny_config.train, steps=80, loggers=["wandb"], checkpoint_every=7, checkpoint_minutes=1.0),
        eval=replace(tiny_config.eval, n_prompts=128),
    )
    identity = wandb_run_id(runs / "tiny", tiny_config)
    assert identity == f"runs-tiny-{config_digest(tiny_config)}" == wandb_run_id(runs / "tiny", extended)
    assert identity != wandb_run_id(runs / "tiny", replace(tiny_config, train=replace(tiny_config.train, lr=0.5)))
    long = replace(tiny_config, name="A" * 200)
    assert re.fullmatch(f"[a-z0-9-]{{1,64}}-{config_digest(long)}", wandb_run_id(runs / long.name, long))
    assert len(wandb_run_id(runs / long.name, long)) == 64
    assert wandb_run_id(tmp_path / "__" / "__", replace(tiny_config, name="__")) == config_digest(
        replace(tiny_config, name="__")
    )


def test_loggers_are_checked_and_may_change_on_resume(tiny_config: cfg.RunConfig, tmp_path: Path) -> None:
    with pytest.raises(cfg.ConfigError, match="train.loggers"):
        cfg.load(None, ["train.loggers=['mlflow']"])
    with pytest.raises(cfg.ConfigError, match="repeats a logger"):
        cfg.load(None, ["train.loggers=['wandb', 'wandb']"])
    train(tiny_config, tmp_path, stop_at=20)
    with_tensorboard = replace(tiny_config, train=replace(tiny_config.train, loggers=["tensorboard"]))
    pytest.importorskip("tensorboard")
    run_dir = train(with_tensorboard, tmp_path)
    assert read_metrics(run_dir)[-1]["step"] == 40 and min(tensorboard_losses(run_dir)) == 25


def test_a_tracker_that_is_not_installed_is_named(
    tiny_config: cfg.RunConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "wandb", None)
    config = replace(tiny_config, train=replace(tiny_config.train, loggers=["wandb"]))
    with pytest.raises(UserError, match=r"train.loggers has 'wandb', but wandb is not installed: pip install"):
        train(config, tmp_path)
    assert not (tmp_path / "tiny").exists()

"""The CSMA policy experiments behind the figures, at toy size: every policy runs closed loop and
each experiment returns its tidy frame (the quick figures' result checks are the slow tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from control import experiments
from control.drl import DrlAgent
from icl import config as cfg
from icl.train import train
from sim.env import CsmaEnv, Embedded
from sim.timing import INTERVAL_SLOTS

pytestmark = pytest.mark.pipeline  # trains a toy model and runs closed-loop experiments

COLUMNS = ["panel", "policy", "x", "mean", "ci_low", "ci_high"]
HAND_MADE = {"icl:median_offset", "p_star_tracker", "idle_sense", "kalman_n"}


def short_env(n_stations: int, **options: object) -> CsmaEnv:
    """A tenth of a probe's measurement window per step: the experiments' plumbing, not their numbers."""
    return CsmaEnv(n_stations, backend=Embedded(500), **options)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DrlAgent]:
    runs = tmp_path_factory.mktemp("runs")
    config = cfg.load(
        None,
        [
            "name=csma-toy",
            "task.name=csma_window",
            "task.n_dims=2",
            "task.n_points=11",
            f"task.params.measurement_slots={INTERVAL_SLOTS}",
            "model.n_embd=32",
            "model.n_layer=2",
            "train.steps=30",
            "train.log_every=10",
            "train.keep_checkpoints=[10, 30]",
            "eval.n_prompts=64",
        ],
    )
    agent = DrlAgent(seed=0)
    agent.train(lambda episode: short_env(10), n_episodes=2, episode_steps=5)
    return train(config, runs), agent


def assert_summary(frame: pd.DataFrame, panel: str) -> None:
    assert list(frame.columns) == COLUMNS and set(frame.panel) == {panel}
    finite = frame[["mean", "ci_low", "ci_high"]].to_numpy()
    assert np.isfinite(finite).all() and (frame.ci_low <= frame["mean"] + 1e-9).all()
    assert (frame["mean"] <= frame.ci_high + 1e-9).all()


def test_closed_loop_scores_every_policy(trained: tuple[Path, DrlAgent]) -> None:
    run_dir, dqn = trained
    frame = experiments.closed_loop(
        experiments.controller_for(run_dir), dqn, [5, 30], seeds=1, hold_steps=2, make_env=short_env
    )
    assert_summary(frame, "throughput")
    expected = {
        "icl:transformer",
        "dqn",
        "oracle",
        "beb",
        "p_persistent_window",
        "non_persistent_window",
        f"assumed_n_window:n={experiments.N_ASSUMED}",
        "oracle (theory)",
        *HAND_MADE,
    }
    assert set(frame.policy) == expected and len(frame) == 2 * len(expected)
    oracle = frame[frame.policy == "oracle"].set_index("x")["mean"]
    beb = frame[frame.policy == "beb"].set_index("x")["mean"]
    assert oracle[30] > beb[30], "at N = 30 the oracle window beats BEB's 16..1024"


def test_convergence_traces_every_step(trained: tuple[Path, DrlAgent]) -> None:
    run_dir, dqn = trained
    n_steps = experiments.CHANGE_STEP + 3
    adaptive = experiments.adaptive_policies(experiments.controller_for(run_dir), dqn)
    frame = experiments.convergence(adaptive, seeds=1, n_steps=n_steps, make_env=short_env)
    assert_summary(frame, "convergence")
    assert frame.groupby("policy").size().to_dict() == {name: n_steps for name in [*adaptive, "oracle"]}
    assert set(adaptive) == {"icl:transformer", "dqn", "beb", *HAND_MADE}


def test_error_sweep_and_training_curve(trained: tuple[Path, DrlAgent]) -> None:
    run_dir, _ = trained
    controller = experiments.controller_for(run_dir)
    table = {"ICL": (controller, {}), "idle_sense": experiments.hand_made_policies(controller)["idle_sense"]}
    sweep = experiments.error_sweep(table, [0.0, 0.3], seeds=1, hold_steps=1, n_steps=11, make_env=short_env)
    assert_summary(sweep, "errors")
    assert list(sweep.x) == [0.0, 0.3, 0.0, 0.3] and list(sweep.policy) == ["ICL", "ICL", "idle_sense", "idle_sense"]
    curve = experiments.training_curve(run_dir, [10, 30])
    assert_summary(curve, "training")
    assert list(curve.x) == [10, 30] and (curve["mean"] <= 1 + 1e-6).all()


def test_controller_needs_a_csma_run(tmp_path: Path, tiny_config: cfg.RunConfig) -> None:
    run_dir = train(tiny_config, tmp_path)
    with pytest.raises(
        ValueError, match="closed-loop control needs a csma_window or csma_peak run, got task 'linear_regression'"
    ):
        experiments.controller_for(run_dir)


def test_world_scores_rate_each_world_against_its_own_oracle(trained: tuple[Path, DrlAgent]) -> None:
    run_dir, dqn = trained
    table = experiments.adaptive_policies(experiments.controller_for(run_dir), dqn)
    frame = experiments.world_scores(table, ["bianchi", "mixed_rates"], [10], seeds=1, n_steps=3, backend=Embedded(500))
    assert set(frame.world) == {"bianchi", "mixed_rates"} and len(frame) == 2 * len(table)
    oracle = frame.groupby("world").oracle_window.first()
    assert oracle["mixed_rates"] > 1.3 * oracle["bianchi"]  # slow stations' collisions cost more airtime
    assert np.isfinite(frame.throughput_ratio).all() and (frame.fairness <= 1 + 1e-9).all()

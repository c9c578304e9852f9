"""Every figure's pipeline end to end at smoke size (seconds each): the PNG, PDF and CSV are written and
the CSV has the shape of the quick figure's (its columns, and every learner, policy and panel). The
numbers of a smoke run mean nothing; the quick figures' result checks are the slow tests."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import pandas as pd
import pytest

from control.experiments import ESTIMATORS
from icl.cli import figures
from icl.errors import UserError
from paper_figs.names import is_named
from sim.worlds import WORLDS

BOOLEAN = ["task", "learner", "k", "metric", "mean", "ci_low", "ci_high", "n_prompts"]
REGRESSION = ["panel", *BOOLEAN]
POLICY = ["panel", "policy", "x", "mean", "ci_low", "ci_high"]
HAND_MADE = {"icl:median_offset", "p_star_tracker", "idle_sense", "kalman_n"}
CSMA_POLICIES = {
    "icl:transformer",
    "dqn",
    "oracle",
    "beb",
    "p_persistent_window",
    "non_persistent_window",
    "assumed_n_window:n=20",
    "oracle (theory)",
    *HAND_MADE,
}
WORLD_COLUMNS = ["panel", "world", "N", "run", "kept", "policy", "eps", "throughput_ratio", "p5_throughput_ratio"] + [
    "held_ratio",
    "fairness",
    "throughput_mbps",
    "oracle_window",
]
WORLD_VALUES = {
    "panel": {"model window", "closed loop"},
    "policy": {"icl:transformer", "icl:median_offset", "icl-peak:transformer", "icl-peak:peak_fit"}
    | {"p_star_tracker", "idle_sense", "kalman_n", "bianchi_window", "dqn", "beb", ""},
}
"""The worlds figures' columns and values (embedded and ns-3)."""
SHAPES: dict[str, tuple[list[str], dict[str, set[str]]]] = {
    "bhattamishra_table": (
        BOOLEAN,
        {
            "task": {"conjunction", "disjunction", "parity"},
            "learner": {"transformer", "LSTM", "elimination", "gf2_parity", "gd_net", "knn:n_neighbors=1"}
            | {"knn:n_neighbors=3", "averaging", "majority_label"},
        },
    ),
    "bhattamishra_teaching": (
        [*BOOLEAN, "prompts"],
        {"learner": {"transformer", "elimination"}, "prompts": {"teaching prefix", "random examples"}},
    ),
    "csma_bounds": (
        ["N", "source", "error_octaves", "mean", "ci_low", "ci_high", "panel", "eps"],
        {
            "panel": {"throughput loss", "in-context deviation"},
            "source": {"model", "2nd order", "simulator", "simulator (95th percentile)", "bound (95%)"},
        },
    ),
    "csma_fair_test": (
        ["learner", "N", "eps", "frame_error_rate", "payload_bytes", "error_mode", "median_octaves", "p90_octaves"]
        + ["throughput_ratio", "p5_throughput_ratio", "panel"]
        + ["policy", "held_ratio", "fairness", "throughput_mbps"],
        {
            "panel": {"vs N", "vs eps", "closed loop"},
            "learner": {"transformer", *ESTIMATORS, ""},
            "policy": {f"icl:{spec}" for spec in ESTIMATORS}
            | {"icl:transformer", "p_star_tracker", "idle_sense", "kalman_n", "dqn", "td3", "beb"}
            | {"p_persistent_window", "assumed_n_window:n=20", ""},
        },
    ),
    "csma_worlds": (WORLD_COLUMNS, {**WORLD_VALUES, "world": set(WORLDS)}),
    "csma_worlds_ns3": (WORLD_COLUMNS, {**WORLD_VALUES, "world": {"bianchi", "hidden"}}),  # quick: every world
    "csma_icl": (POLICY, {"panel": {"throughput", "training"}, "policy": CSMA_POLICIES}),
    "csma_ns3": (POLICY, {"panel": {"throughput", "convergence"}, "policy": CSMA_POLICIES}),
    "csma_robustness": (
        POLICY,
        {
            "panel": {"errors", "convergence"},
            "policy": {"icl:transformer", "dqn", "beb", "oracle", *HAND_MADE},
        },
    ),
    "garg_fig2": (
        REGRESSION,
        {
            "panel": {"linear regression", "sparse linear regression", "decision tree (depth 4)"},
            "learner": {"transformer", "least_squares", "least_squares (theory)", "knn:n_neighbors=3", "averaging"}
            | {"lasso:alpha=0.01", "greedy_tree", "boosted_trees"},
        },
    ),
    "lsa_theory": (
        [*BOOLEAN, "panel", "step", "preconditioner_distance", "even_weights", "gamma_star", "optimum_mean_error"],
        {
            "panel": {"error vs k", "training"},
            "learner": {"LSA", "lsa_optimum (theory)", "gd_step", "averaging", "least_squares"}
            | {"least_squares (theory)"},
        },
    ),
    "regression_theory": (
        REGRESSION,
        {
            "learner": {"transformer", "least_squares", "ridge:alpha=0.25"}
            | {"least_squares (theory)", "ridge:alpha=0.25 (theory)"}
        },
    ),
}
MARKS = {"csma_ns3": [pytest.mark.ns3], "csma_worlds_ns3": [pytest.mark.ns3]}


def test_every_figure_has_a_smoke_check() -> None:
    assert set(SHAPES) == set(figures())


@pytest.mark.pipeline
@pytest.mark.parametrize("name", [pytest.param(name, marks=MARKS.get(name, [])) for name in SHAPES])
def test_figure_pipeline_runs_at_smoke_size(name: str, tmp_path: Path) -> None:
    paths = figures()[name].load()(tmp_path, size="smoke", seed=0)
    assert sorted(paths) == sorted(tmp_path / f"{name}_smoke{suffix}" for suffix in (".csv", ".pdf", ".png"))
    height, width, _ = matplotlib.image.imread(tmp_path / f"{name}_smoke.png").shape
    assert height > 200 and width > 200
    assert (tmp_path / f"{name}_smoke.pdf").read_bytes().startswith(b"%PDF")
    data = pd.read_csv(tmp_path / f"{name}_smoke.csv")
    columns, values = SHAPES[name]
    assert list(data.columns) == columns
    for column, expected in values.items():
        assert set(data[column].fillna("").astype(str)) == expected, column  # "": the row has none
    for column in {"learner", "policy"} & set(data.columns):
        assert all(is_named(key) for key in data[column].dropna()), column  # one name per key, in paper_figs.names
    assert data["mean"].notna().all() if "mean" in data else data.select_dtypes("number").notna().any(axis=1).all()


def test_an_unknown_size_is_refused_naming_the_sizes(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="unknown figure size 'tiny'; allowed: smoke, quick, medium, full"):
        figures()["csma_bounds"].load()(tmp_path, size="tiny")
    assert not any(tmp_path.iterdir())

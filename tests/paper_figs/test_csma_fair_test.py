"""The quick fair-test figure: what it shows must hold (slow: about 10 minutes on 2 cores).

In Bianchi's world the hand-made estimators read the window from the prompts at least as well as
the transformer; closed loop, the choice of learner hardly matters once the window is held, and the
probes of the in-context controller cost throughput that the schemes without probes do not pay."""

from __future__ import annotations

import pandas as pd
import pytest

from control.experiments import ESTIMATORS
from paper_figs import csma_fair_test

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("fair")
    paths = csma_fair_test.reproduce(out, size="quick", seed=0)
    assert sorted(p.suffix for p in paths) == [".csv", ".pdf", ".png"]
    return pd.read_csv(out / "csma_fair_test_quick.csv")


def test_the_median_of_offsets_finds_the_window_inside_training(data: pd.DataFrame) -> None:
    rows = data[(data.panel == "vs N") & (data.learner == "median_offset") & data.N.between(5, 50)]
    assert len(rows) >= 8 and (rows.median_octaves <= 0.1).all(), rows


def test_no_cell_inside_training_where_the_transformer_beats_every_estimator(data: pd.DataFrame) -> None:
    """The claim the README makes; if a better-trained transformer changes it, the README must change."""
    cells = data[data.panel != "closed loop"]
    cells = cells[cells.N.between(5, 50)].pivot_table(
        index=["panel", "N", "eps"], columns="learner", values="median_octaves"
    )
    assert (cells["transformer"] >= cells[list(ESTIMATORS)].min(axis=1)).all()


def test_probes_cost_throughput_that_schemes_without_probes_do_not_pay(data: pd.DataFrame) -> None:
    closed = data[data.panel == "closed loop"].set_index(["policy", "N"])
    in_context = [f"icl:{name}" for name in ["transformer", *ESTIMATORS]]
    for policy in in_context:
        assert (closed.loc[policy].held_ratio >= 0.97).all(), policy
        assert (closed.loc[policy].throughput_ratio < closed.loc[policy].held_ratio).all(), policy
    for policy in ("p_star_tracker", "idle_sense", "kalman_n"):
        assert (closed.loc[policy].throughput_ratio >= 0.95).all(), policy
    assert (closed.p5_throughput_ratio <= closed.throughput_ratio + 1e-12).all()

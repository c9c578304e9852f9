"""The quick CSMA worlds figure on ns-3: each world's ns-3 oracle, and every optimizer closed loop there."""

from __future__ import annotations

import pandas as pd
import pytest

from paper_figs import csma_worlds_ns3 as fig
from sim.worlds import NS3_WORLDS

pytestmark = [pytest.mark.slow, pytest.mark.ns3]  # ns-3 sweeps of nine worlds and ~200 closed-loop episodes


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("worlds_ns3")
    paths = fig.reproduce(out, size="quick", seed=0)
    assert sorted(p.suffix for p in paths) == [".csv", ".pdf", ".png"]
    return pd.read_csv(out / "csma_worlds_ns3_quick.csv")


def test_on_ns3_bianchis_window_holds_in_bianchis_world_and_fails_with_hidden_stations(data: pd.DataFrame) -> None:
    kept = data[data.panel == "model window"].groupby("world").kept.mean()
    assert kept["bianchi"] > 0.95 and kept["lossy"] > 0.93
    assert kept["hidden"] < 0.9


def test_every_policy_ran_in_every_world_on_ns3(data: pd.DataFrame) -> None:
    closed = data[data.panel == "closed loop"]
    assert closed.groupby("policy").world.nunique().eq(len(NS3_WORLDS)).all()
    assert closed.throughput_ratio.between(0.05, 1.5).all() and closed.fairness.between(0, 1).all()
    bianchi = closed[closed.world == "bianchi"].groupby("policy").throughput_ratio.mean()
    assert bianchi["kalman_n"] > 0.9


def test_aggregation_moves_the_optimum_to_larger_windows(data: pd.DataFrame) -> None:
    """802.11ax with A-MPDUs: a collision wastes a whole aggregate, so the best window is more than
    twice the 802.11a one at both N, and the model's 802.11a window falls short somewhere."""
    closed = data[data.panel == "closed loop"]
    oracle = closed.groupby(["world", "N"]).oracle_window.first().unstack("world")
    assert (oracle["ax_ampdu"] > 2 * oracle["bianchi"]).all()
    kept = data[(data.panel == "model window") & (data.world == "ax_ampdu")].groupby("N").kept.mean()
    assert kept.min() < 0.9

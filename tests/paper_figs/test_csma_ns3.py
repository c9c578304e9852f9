"""The quick ns-3 CSMA figure (slow: about 6 minutes, 3 of them ns-3): the ICL controller trained
on Bianchi's model must find near-oracle windows on real ns-3 and recover after N changes."""

from __future__ import annotations

import pandas as pd
import pytest

from paper_figs import csma_ns3

pytestmark = [pytest.mark.slow, pytest.mark.ns3]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("ns3fig")
    paths = csma_ns3.reproduce(out, size="quick", seed=0)
    assert sorted(p.suffix for p in paths) == [".csv", ".pdf", ".png"]
    return pd.read_csv(out / "csma_ns3_quick.csv")


def series(data: pd.DataFrame, panel: str, policy: str) -> pd.Series:
    rows = data[(data.panel == panel) & (data.policy == policy)]
    return rows.set_index("x")["mean"]


def test_icl_is_near_the_oracle_on_ns3_and_beats_beb(data: pd.DataFrame) -> None:
    icl, oracle = series(data, "throughput", "icl:transformer"), series(data, "throughput", "oracle")
    assert (icl / oracle > 0.95).all()
    assert icl[50] > 1.15 * series(data, "throughput", "beb")[50]


def test_icl_recovers_after_the_change_of_n(data: pd.DataFrame) -> None:
    icl, oracle = series(data, "convergence", "icl:transformer"), series(data, "convergence", "oracle")
    after = (icl / oracle)[icl.index >= csma_ns3.CHANGE_STEP + 8]
    assert after.mean() > 0.95

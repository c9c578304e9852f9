"""The quick CSMA figure: the ICL controller must find near-oracle windows closed loop."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from paper_figs import csma_icl

pytestmark = pytest.mark.slow  # trains the quick figure (minutes); make test-all runs it


@pytest.fixture(scope="module")
def quick_figure(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], pd.DataFrame]:
    out = tmp_path_factory.mktemp("csma")
    paths = csma_icl.reproduce(out, size="quick", seed=0)
    return paths, pd.read_csv(out / "csma_icl_quick.csv")


def throughput(data: pd.DataFrame, policy: str) -> pd.Series:
    rows = data[(data.panel == "throughput") & (data.policy == policy)]
    return rows.set_index("x")["mean"]


def test_outputs(quick_figure: tuple[list[Path], pd.DataFrame]) -> None:
    paths, data = quick_figure
    assert sorted(p.suffix for p in paths) == [".csv", ".pdf", ".png"]
    assert {"icl:transformer", "oracle", "beb", "oracle (theory)"} <= set(data.policy)


def test_icl_is_near_the_oracle_and_beats_beb_at_50(quick_figure: tuple[list[Path], pd.DataFrame]) -> None:
    """The CSMA targets: within 2% of the oracle on average over N in [5, 50]; >= 25% over BEB at N = 50."""
    _, data = quick_figure
    icl, oracle, beb = (throughput(data, p) for p in ("icl:transformer", "oracle", "beb"))
    assert (icl / oracle).mean() >= 0.98
    assert icl[50] >= 1.25 * beb[50]


def test_model_based_policies_that_know_n_are_near_the_oracle(quick_figure: tuple[list[Path], pd.DataFrame]) -> None:
    """p-persistent and non-persistent CSMA's model-based windows, given the true N, stay within 2% of the
    oracle in closed loop; assuming the wrong N costs more at the extremes of N."""
    _, data = quick_figure
    oracle = throughput(data, "oracle")
    for policy in ("p_persistent_window", "non_persistent_window"):
        assert (throughput(data, policy) / oracle).min() >= 0.98, policy
    assert (throughput(data, "assumed_n_window:n=20") / oracle).min() < 0.98


def test_training_curve_reaches_the_oracle(quick_figure: tuple[list[Path], pd.DataFrame]) -> None:
    _, data = quick_figure
    curve = data[data.panel == "training"].set_index("x")["mean"]
    assert curve.iloc[-1] >= 0.99

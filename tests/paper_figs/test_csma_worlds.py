"""The quick CSMA worlds figure: where Bianchi's window fails, and every optimizer in every world."""

from __future__ import annotations

import pandas as pd
import pytest

from paper_figs import csma_worlds as fig

pytestmark = pytest.mark.slow  # collects eight world tables and trains two optimizers (minutes)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("worlds")
    paths = fig.reproduce(out, size="quick", seed=0)
    assert sorted(p.suffix for p in paths) == [".csv", ".pdf", ".png"]
    return pd.read_csv(out / "csma_worlds_quick.csv")


def test_bianchis_window_fails_with_hidden_stations_and_mixed_rates_only(data: pd.DataFrame) -> None:
    kept = data[data.panel == "model window"].groupby("world").kept.mean()
    assert kept["bianchi"] > 0.98 and kept["lossy"] > 0.97
    assert kept["hidden"] < 0.8 and kept["mixed_rates"] < 0.95


def test_the_schemes_that_never_probe_lead_in_bianchis_world(data: pd.DataFrame) -> None:
    """Probes are charged: in Bianchi's world the p* tracker and the Kalman estimate reach 97% of the
    oracle, every in-context controller (12 or 10 probes a prompt) stays below them."""
    closed = data[(data.panel == "closed loop") & (data.world == "bianchi")].groupby("policy").throughput_ratio.mean()
    assert closed["p_star_tracker"] > 0.97 and closed["kalman_n"] > 0.97
    in_context = closed[closed.index.str.startswith("icl")]
    assert (in_context < closed["p_star_tracker"]).all()

"""The quick empirical-vs-analytical regression figure (slow: trains a transformer for 2 minutes)."""

from __future__ import annotations

import pandas as pd
import pytest

from paper_figs import regression_theory as fig

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("regtheory")
    paths = fig.reproduce(out, size="quick", seed=0)
    assert sorted(p.suffix for p in paths) == [".csv", ".pdf", ".png"]
    return pd.read_csv(out / "regression_theory_quick.csv")


def curve(data: pd.DataFrame, learner: str) -> pd.DataFrame:
    return data[data.learner == learner].set_index("k")


def test_ridge_and_least_squares_sit_on_their_theory(data: pd.DataFrame) -> None:
    for learner in ("ridge:alpha=0.25", "least_squares"):
        measured, theory = curve(data, learner), curve(data, f"{learner} (theory)")["mean"].dropna()
        inside = (theory >= measured.ci_low[theory.index]) & (theory <= measured.ci_high[theory.index])
        assert inside.mean() >= 0.8, learner


def test_transformer_is_bounded_below_by_the_bayes_risk_and_learns(data: pd.DataFrame) -> None:
    transformer, bayes = curve(data, "transformer")["mean"], curve(data, "ridge:alpha=0.25 (theory)")["mean"]
    assert (transformer >= 0.9 * bayes).all()
    assert transformer[10] < 2.5 * bayes[10] and transformer[10] < 0.3

"""The quick Garg et al. Figure 2: the transformer must learn linear regression in context."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from icl.evaluate import value_at
from paper_figs import garg_fig2

pytestmark = pytest.mark.slow  # trains the quick figure (minutes); make test-all runs it


@pytest.fixture(scope="module")
def quick_figure(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], pd.DataFrame]:
    out = tmp_path_factory.mktemp("figs")
    paths = garg_fig2.reproduce(out, size="quick", seed=0)
    return paths, pd.read_csv(out / "garg_fig2_quick.csv")


def test_outputs_exist(quick_figure: tuple[list[Path], pd.DataFrame]) -> None:
    paths, data = quick_figure
    assert sorted(p.suffix for p in paths) == [".csv", ".pdf", ".png"]
    assert all(p.stat().st_size > 1000 for p in paths)
    assert set(data.panel) == {p.title for p in garg_fig2.PANELS}
    assert not list(paths[0].parent.glob(".*tmp*")), "temporary files left behind"


def test_transformer_learns_linear_regression_in_context(quick_figure: tuple[list[Path], pd.DataFrame]) -> None:
    """d = 5: at k = 2d the transformer is far below the zero predictor (1), 3-NN and averaging;
    over the whole curve its error is within 3x of least squares (which is exact from k = d on)."""
    _, data = quick_figure
    linear = data[data.panel == "linear regression"]
    d = 5
    transformer = value_at(linear, "transformer", 2 * d)
    assert transformer <= 0.2
    assert transformer < 0.5 * value_at(linear, "knn:n_neighbors=3", 2 * d)
    assert transformer < 0.5 * value_at(linear, "averaging", 2 * d)
    curve = linear[linear.k <= 2 * d].groupby("learner")["mean"].mean()
    assert curve["transformer"] <= 3 * curve["least_squares"]


def test_least_squares_matches_its_closed_form(quick_figure: tuple[list[Path], pd.DataFrame]) -> None:
    _, data = quick_figure
    linear = data[data.panel == "linear regression"]
    measured = linear[linear.learner == "least_squares"].set_index("k")
    theory = linear[linear.learner == "least_squares (theory)"].set_index("k")["mean"]
    assert ((measured.ci_low - 1e-9 <= theory) & (theory <= measured.ci_high + 1e-9)).all()

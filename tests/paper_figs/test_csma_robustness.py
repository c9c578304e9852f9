"""The quick CSMA robustness figure: erroneous examples and a change of N."""

from __future__ import annotations

import pandas as pd
import pytest

from paper_figs import csma_robustness as fig

pytestmark = pytest.mark.slow  # trains the quick figure (minutes); make test-all runs it


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("robust")
    paths = fig.reproduce(out, size="quick", seed=0)
    assert sorted(p.suffix for p in paths) == [".csv", ".pdf", ".png"]
    return pd.read_csv(out / "csma_robustness_quick.csv")


def test_within_5_percent_of_the_oracle_with_20_percent_errors(data: pd.DataFrame) -> None:
    errors = data[(data.panel == "errors") & (data.policy == "icl:transformer")].set_index("x")["mean"]
    assert errors[0.0] >= 0.98
    assert errors[0.2] >= 0.95


def test_back_near_the_oracle_one_prompt_after_n_changes(data: pd.DataFrame) -> None:
    """Re-probing starts after ``patience`` drifted steps and takes one prompt's worth of probes."""
    curves = data[data.panel == "convergence"].pivot_table(index="x", columns="policy", values="mean")
    settled = fig.CHANGE_STEP + 2 + 10
    after = curves.loc[settled:]
    assert after["icl:transformer"].mean() >= 0.95 * after["oracle"].mean()
    assert after["beb"].mean() < 0.8 * after["oracle"].mean()

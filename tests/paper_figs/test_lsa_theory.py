"""The quick LSA figure: the trained LSA ends at the predicted optimum, in weights and in error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from paper_figs import lsa_theory


@pytest.mark.slow
def test_quick_figure_reaches_the_predicted_optimum(tmp_path) -> None:
    paths = lsa_theory.reproduce(tmp_path, size="quick", seed=0)
    assert sorted(p.suffix for p in paths) == [".csv", ".pdf", ".png"]
    data = pd.read_csv(tmp_path / "lsa_theory_quick.csv")
    training = data[data.panel == "training"].sort_values("step")
    final = training.iloc[-1]
    assert final.preconditioner_distance < 0.05 and final.even_weights < 0.05
    assert training.preconditioner_distance.iloc[0] > 0.5, "training starts far from the optimum"
    optimum = data.optimum_mean_error.iloc[0]
    assert final.ci_low <= optimum * 1.02 and abs(final["mean"] / optimum - 1) < 0.05
    curves = data[data.panel == "error vs k"]
    measured = curves[curves.learner == "LSA"].set_index("k")["mean"]
    predicted = curves[curves.learner == "lsa_optimum (theory)"].set_index("k")["mean"]
    assert np.all(np.abs(measured[1:] / predicted[1:] - 1) < 0.05)

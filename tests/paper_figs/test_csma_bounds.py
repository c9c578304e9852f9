"""The quick CSMA bounds figure: the simulator stays within the model's throughput-loss curve and the
in-context deviation bound."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from paper_figs import csma_bounds


@pytest.mark.slow
def test_quick_figure_shows_the_bounds_holding(tmp_path: Path) -> None:
    paths = csma_bounds.reproduce(tmp_path, size="quick", seed=0)
    assert sorted(p.suffix for p in paths) == [".csv", ".pdf", ".png"]
    data = pd.read_csv(tmp_path / "csma_bounds_quick.csv")
    loss = data[data.panel == "throughput loss"]
    for n, group in loss.groupby("N"):
        sim = group[group.source == "simulator"]
        model = group[group.source == "model"]
        expected = np.interp(sim.error_octaves, model.error_octaves, model["mean"])
        assert np.all(np.abs(sim["mean"].to_numpy() - expected) < 0.015), f"N={n}: simulator far from the model"
    deviation = data[data.panel == "in-context deviation"]
    measured = deviation[deviation.source.str.startswith("simulator")].set_index(["N", "eps"])
    bound = deviation[deviation.source.str.startswith("bound")].set_index(["N", "eps"])["mean"]
    assert (measured.ci_low <= bound.reindex(measured.index)).all(), "a 95% bound below its measured percentile"

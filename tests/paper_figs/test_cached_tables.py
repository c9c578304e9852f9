"""Cached measurement tables are keyed by everything their numbers depend on: a smoke table in a folder is
never read for a larger figure, and a table of other simulator code is not read either."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from paper_figs import csma_common
from paper_figs.csma_common import cached_table, world_table


def test_a_smaller_table_in_the_same_folder_is_not_reused(tmp_path: Path) -> None:
    shared, clean = tmp_path / "shared", tmp_path / "clean"
    smoke = world_table(shared, "hidden", seeds=1)
    larger = world_table(shared, "hidden", seeds=2)
    assert smoke != larger and sorted(p.name for p in shared.iterdir()) == sorted([Path(smoke).name, Path(larger).name])
    alone = world_table(clean, "hidden", seeds=2)
    assert Path(alone).name == Path(larger).name
    pd.testing.assert_frame_equal(pd.read_csv(larger), pd.read_csv(alone))
    assert pd.read_csv(larger).seed.nunique() == 2 and pd.read_csv(smoke).seed.nunique() == 1


def test_a_table_is_reused_only_under_the_same_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def collect() -> pd.DataFrame:
        calls.append(1)
        return pd.DataFrame({"n_stations": [5], "window": [32]})

    key = {"backend": "embedded", "world": "bianchi", "seeds": 1}
    first = cached_table(tmp_path, "t", key, collect)
    assert cached_table(tmp_path, "t", key, collect) == first and len(calls) == 1
    assert cached_table(tmp_path, "t", {**key, "seeds": 2}, collect) != first and len(calls) == 2
    monkeypatch.setattr(csma_common, "simulator_digest", lambda backend: "other code")
    assert cached_table(tmp_path, "t", key, collect) != first and len(calls) == 3

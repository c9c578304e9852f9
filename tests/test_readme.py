"""The README's result numbers are the committed results' (paper_figs.readme_numbers): none is typed in."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from paper_figs import readme_numbers

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_quotes_the_committed_results() -> None:
    assert (
        readme_numbers.main(["--check", "--readme", str(ROOT / "README.md"), "--results", str(ROOT / "results")]) == 0
    )
    marked = {m["name"] for m in readme_numbers.MARKER.finditer((ROOT / "README.md").read_text())}
    assert marked == set(readme_numbers.NUMBERS), "every number computed is quoted, and only those"


def test_a_number_typed_over_is_caught_and_rewritten(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    text = (ROOT / "README.md").read_text()
    first = next(readme_numbers.MARKER.finditer(text))
    readme.write_text(text.replace(first.group(0), f"<!-- n:{first['name']} -->99-100%<!-- /n -->", 1))
    arguments = ["--readme", str(readme), "--results", str(ROOT / "results")]
    assert readme_numbers.main(["--check", *arguments]) == 1
    assert readme_numbers.main(arguments) == 0
    assert readme.read_text() == text


def test_results_are_collected_with_their_provenance(tmp_path: Path) -> None:
    figures = tmp_path / "figures"
    shutil.copytree(ROOT / "results", figures)
    readme_numbers.collect(figures, tmp_path / "results")
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == sorted(
        ["PROVENANCE.json", *(f"{figure}_quick.csv" for figure in readme_numbers.FIGURES)]
    )
    assert readme_numbers.compute(tmp_path / "results") == readme_numbers.compute(ROOT / "results")


def test_a_marker_no_one_computes_is_refused() -> None:
    with pytest.raises(KeyError, match="README marks numbers no one computes: fair.typo"):
        readme_numbers.render("<!-- n:fair.typo -->7%<!-- /n -->", {"fair.probe_cost": "7%"})

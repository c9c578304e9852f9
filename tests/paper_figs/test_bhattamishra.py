"""The Boolean figures: a transformer learns conjunctions in context; the quick figures show the
paper's pattern (slow: they train seven models)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from icl.evaluate import eval_prompts, evaluate, learners_for, value_at
from paper_figs import bhattamishra_table, bhattamishra_teaching
from paper_figs._boolean import PAPER_PATTERN, run_config, trained_model
from tasks import BOOLEAN_TASKS


@pytest.mark.slow
@pytest.mark.parametrize("family", ["gpt", "retnet", "s4d"])
def test_each_model_learns_conjunctions_in_context(tmp_path: Path, family: str) -> None:
    """n = 10, two thirds of the quick figure's training: the transformer and the attention-free
    RetNet-style and S4D-style models are well above the null learner by the end of the prompt, and far
    better at the end than at the start."""
    config = run_config("conjunction", family, size="quick", seed=0)
    config = replace(config, train=replace(config.train, steps=1000), eval=replace(config.eval, n_prompts=256))
    model = trained_model(config, tmp_path)
    prompt = eval_prompts(config.task.build(), config)
    frame = evaluate(learners_for(model, ["majority_label", "knn:n_neighbors=1"]), prompt, n_bootstrap=200)
    last, name = config.task.n_points - 1, model.label
    assert value_at(frame, name, last) >= 0.85
    assert value_at(frame, name, last) >= value_at(frame, "majority_label", last) + 0.2
    assert value_at(frame, name, last) >= value_at(frame, name, 2) + 0.15


@pytest.fixture(scope="module")
def quick_figures(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame]:
    out = tmp_path_factory.mktemp("figs")
    for module in (bhattamishra_table, bhattamishra_teaching):
        paths = module.reproduce(out, size="quick", seed=0)
        assert sorted(p.suffix for p in paths) == [".csv", ".pdf", ".png"]
        assert all(p.stat().st_size > 1000 for p in paths)
    return pd.read_csv(out / "bhattamishra_table_quick.csv"), pd.read_csv(out / "bhattamishra_teaching_quick.csv")


@pytest.mark.slow
def test_quick_table_shows_the_papers_pattern(quick_figures: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """>= 95% on conjunctions and disjunctions after 39 examples, chance on parity after 29, where the
    exact learner (GF(2) elimination) is perfect."""
    table, _ = quick_figures
    assert table.groupby("task").k.max().to_dict() == {"conjunction": 39, "disjunction": 39, "parity": 29}
    for task in ("conjunction", "disjunction"):
        assert value_at(table[table.task == task], "transformer", 39) >= 0.95
    parity = table[table.task == "parity"]
    assert 0.4 <= value_at(parity, "transformer", 29) <= 0.6
    assert value_at(parity, "gf2_parity", 29) == 1.0


@pytest.mark.slow
def test_teaching_prefix_needs_fewer_examples(quick_figures: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """With the teaching prefix the transformer passes 95% accuracy after fewer examples than on
    random prompts."""
    _, teaching = quick_figures

    def first_k_above(prompts: str, level: float) -> int:
        transformer = teaching[(teaching.learner == "transformer") & (teaching.prompts == prompts)]
        rows = transformer[transformer["mean"] >= level]
        return int(rows.k.min()) if not rows.empty else 10**6

    with_prefix = first_k_above("teaching prefix", 0.95)
    without = first_k_above("random examples", 0.95)
    assert with_prefix < without


def test_the_table_marks_learnt_and_chance_cells() -> None:
    """>= 95% is learnt; an interval reaching a coin flip, or the null learner's interval, is chance
    (whatever the null learner's own accuracy); the paper's pattern names every class."""

    def row(task: str, learner: str, mean: float, half_width: float = 0.03) -> dict:
        return {"task": task, "learner": learner, "k": 39, "metric": "accuracy", "mean": mean,
                "ci_low": mean - half_width, "ci_high": mean + half_width, "n_prompts": 512}  # fmt: skip

    null = "majority_label"
    frame = pd.DataFrame(
        [
            row("conjunction", "transformer", 0.97), row("conjunction", "LSTM", 0.80), row("conjunction", null, 0.62),
            row("halfspace", "transformer", 0.52), row("halfspace", "LSTM", 0.60), row("halfspace", null, 0.46),
            row("dnf", "transformer", 0.81), row("dnf", "LSTM", 0.86), row("dnf", null, 0.79),
        ]
    )  # fmt: skip
    verdict = bhattamishra_table.verdicts(frame)
    assert verdict.loc["conjunction (39 examples)"].tolist() == ["learnt", "", ""]
    assert verdict.loc["halfspace (39 examples)"].tolist() == ["chance", "", ""]
    assert verdict.loc["dnf (39 examples)"].tolist() == ["chance", "", ""]
    assert set(PAPER_PATTERN) == set(BOOLEAN_TASKS)

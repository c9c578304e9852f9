"""One human name and one colour per learner and policy key, whatever figure shows it."""

from __future__ import annotations

import pytest

from icl.baselines import BASELINES
from icl.models import MODELS
from paper_figs import names
from paper_figs.names import colour_of, is_named, name_of, palette_of


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("least_squares", "least squares"),
        ("knn:n_neighbors=3", "3-NN"),
        ("lasso:alpha=0.01", "Lasso (alpha = 0.01)"),
        ("ridge:alpha=0.25 (theory)", "ridge (alpha = 0.25) (theory)"),
        ("icl:median_offset", "ICL p*, median of offsets"),
        ("icl-peak:peak_fit", "ICL peak, parabola fit"),
        ("assumed_n_window:n=20", "model-based, N assumed (n = 20)"),
        ("beb", "BEB 16..1024"),
    ],
)
def test_keys_have_human_names(key: str, name: str) -> None:
    assert name_of(key) == name


def test_every_baseline_and_model_family_has_a_name_and_a_colour() -> None:
    labels = [family.label for family in MODELS.values()]  # each family's class says its label
    for key in [*BASELINES, *labels]:
        assert is_named(key), key
        assert colour_of(key) in names.PALETTE, key


def test_a_key_without_a_name_stands_for_itself() -> None:
    """A learner of the user's own (a notebook's "my learner") is drawn under its key."""
    assert not is_named("my learner") and name_of("my learner") == "my learner"
    assert palette_of(["my learner", "transformer"])["my learner"] != colour_of("transformer")
    assert is_named("knn:n_neighbors=3") and is_named("icl:median_offset") and is_named("oracle (theory)")


def test_a_learner_keeps_its_colour_across_figures() -> None:
    """The transformer in a regression panel and the controller reading prompts with it; a closed-form
    curve and its learner; and within one figure no two learners share a colour."""
    assert colour_of("transformer") == colour_of("icl:transformer")
    assert colour_of("median_offset") == colour_of("icl:median_offset")
    assert palette_of(["least_squares", "least_squares (theory)"]) == {
        "least_squares": colour_of("least_squares"),
        "least_squares (theory)": colour_of("least_squares"),
    }
    regression = ["transformer", "least_squares", "knn:n_neighbors=3", "averaging", "lasso:alpha=0.01", "greedy_tree"]
    assert palette_of(regression) == {key: colour_of(key) for key in regression}
    policies = ["icl:transformer", "icl-peak:transformer", "icl:median_offset", "p_star_tracker", "dqn", "beb"]
    assert len(set(palette_of(policies).values())) == len(policies)

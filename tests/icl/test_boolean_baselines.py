"""The exact Boolean learners are exact where theory says they must be; the others behave sensibly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tasks
from icl.baselines import from_spec
from icl.evaluate import evaluate, value_at


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def gf2_rank(rows: np.ndarray) -> int:
    """Rank over GF(2) of a 0/1 matrix (plain elimination, independent of the learner's bitmasks)."""
    rows = rows.copy() % 2
    rank = 0
    for col in range(rows.shape[1]):
        pivot = next((r for r in range(rank, len(rows)) if rows[r, col]), None)
        if pivot is None:
            continue
        rows[[rank, pivot]] = rows[[pivot, rank]]
        for r in range(len(rows)):
            if r != rank and rows[r, col]:
                rows[r] ^= rows[rank]
        rank += 1
    return rank


@pytest.mark.parametrize("target", ["conjunction", "disjunction"])
def test_elimination_is_exact_once_the_examples_determine_the_function(target: str) -> None:
    """A conjunction's hypothesis never has false positives (a disjunction's no false negatives).
    Once an example of that label has been seen and every irrelevant variable has shown both values
    among such examples, the hypothesis is the target: every prediction from then on is right."""
    task = tasks.get(target, 8)
    generator = gen()
    functions = task.draw_functions(512, generator, 8)
    xs = task.condition_inputs(functions, task.sample_inputs(512, 60, generator, 8), generator)
    ys = task.apply(functions, xs)
    predictions = from_spec(f"elimination:target='{target}'").predict(xs, ys)
    sign = 1.0 if target == "conjunction" else -1.0
    assert not ((predictions == sign) & (ys == -sign)).any(), "elimination never over-generalises"

    chosen = (ys == sign).unsqueeze(-1)
    bits = xs > 0

    def seen_before(mask: torch.Tensor) -> torch.Tensor:
        return (mask.long().cumsum(1) - mask.long()) > 0

    irrelevant = (functions["lits"][:, 0] == 0).unsqueeze(1)
    both_values = seen_before(chosen & bits) & seen_before(chosen & ~bits)
    determined = seen_before(chosen).squeeze(-1) & (both_values | ~irrelevant).all(-1)
    assert determined[:, -1].float().mean() > 0.9
    assert torch.equal(predictions[determined], ys[determined])


def test_gf2_elimination_is_exact_on_parity_with_n_independent_examples() -> None:
    """n examples that span GF(2)^n determine any parity: every later prediction is right."""
    n = 10
    task = tasks.get("parity", n)
    prompt = task.sample(64, 2 * n + 1, gen())
    xs = prompt.xs.clone()
    xs[:, :n] = 1.0 - 2.0 * torch.eye(n)  # example i has only variable i false: a basis of GF(2)^n
    functions = task.draw_functions(64, gen(1), n)
    ys = task.apply(functions, xs)
    predictions = from_spec("gf2_parity").predict(xs, ys)
    assert torch.equal(predictions[:, n:], ys[:, n:])


def test_gf2_elimination_is_exact_exactly_when_the_query_is_determined() -> None:
    n = 8
    prompt = tasks.get("parity", n).sample(256, 2 * n, gen(2))
    predictions = from_spec("gf2_parity").predict(prompt.xs, prompt.ys)
    bits = (prompt.xs > 0).long().numpy()
    for b in range(0, 256, 8):
        for k in range(1, 2 * n):
            in_span = gf2_rank(bits[b, : k + 1]) == gf2_rank(bits[b, :k])
            if in_span:
                assert predictions[b, k] == prompt.ys[b, k]
    accuracy = evaluate({"gf2": from_spec("gf2_parity")}, prompt, n_bootstrap=10)
    assert value_at(accuracy, "gf2", 2 * n - 1) > 0.95
    assert value_at(accuracy, "gf2", n // 2) < 0.75


def test_perceptron_learns_halfspaces_and_null_predicts_the_majority() -> None:
    prompt = tasks.get("halfspace", 10).sample(256, 80, gen(3))
    frame = evaluate(
        {"perceptron": from_spec("perceptron"), "majority_label": from_spec("majority_label")}, prompt, n_bootstrap=10
    )
    assert value_at(frame, "perceptron", 79) > 0.85
    assert value_at(frame, "majority_label", 79) < 0.7
    xs = torch.ones(1, 4, 2)
    ys = torch.tensor([[1.0, -1.0, -1.0, 1.0]])
    assert from_spec("majority_label").predict(xs, ys).sign().tolist() == [[0.0, 1.0, 0.0, -1.0]]


def test_logistic_net_learns_conjunctions() -> None:
    prompt = tasks.get("conjunction", 8).sample(64, 40, gen(4))
    frame = evaluate(
        {"net": from_spec("gd_net:loss='logistic',n_steps=100"), "majority_label": from_spec("majority_label")},
        prompt,
        n_bootstrap=10,
    )
    assert value_at(frame, "net", 39) > value_at(frame, "majority_label", 39) + 0.1


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("elimination:target='parity'", "target must be one of conjunction, disjunction"),
        ("perceptron:n_epochs=0", "n_epochs must be a positive integer"),
        ("gd_net:loss='hinge'", "loss must be one of squared_error, logistic"),
        ("majority_label:alpha=1", "baseline 'majority_label' has no parameter 'alpha'; allowed: none"),
    ],
)
def test_bad_baseline_parameters(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        from_spec(spec)

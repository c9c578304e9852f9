from __future__ import annotations

import numpy as np
import pytest
import torch

import tasks
from icl import baselines
from icl.evaluate import evaluate, prompt_scores
from theory.regression import least_squares_curve


def sample(name: str, batch: int, n_points: int, n_dims: int, seed: int = 0, **params) -> tasks.Prompt:  # type: ignore[no-untyped-def]
    return tasks.get(name, n_dims, **params).sample(batch, n_points, torch.Generator().manual_seed(seed))


def test_least_squares_matches_closed_form_risk_within_its_band() -> None:
    """Must-show: least squares' measured curve agrees with the closed form (k = 0..2d, d = 5)."""
    prompt = sample("linear_regression", 2000, 11, 5)
    frame = evaluate({"ls": baselines.get("least_squares")}, prompt, n_bootstrap=2000, seed=1)
    theory = least_squares_curve(11, 5)
    inside = (frame.ci_low.to_numpy() - 1e-9 <= theory) & (theory <= frame.ci_high.to_numpy() + 1e-9)
    assert inside.all(), frame.assign(theory=theory)


def test_least_squares_is_exact_once_determined_and_min_norm_before() -> None:
    prompt = sample("linear_regression", 16, 8, 4)
    predictions = baselines.get("least_squares").predict(prompt.xs, prompt.ys)
    assert torch.allclose(predictions[:, 4:], prompt.ys[:, 4:], atol=1e-4)
    x, y, query = prompt.xs[0, :2].double(), prompt.ys[0, :2].double(), prompt.xs[0, 2].double()
    min_norm = x.T @ torch.linalg.solve(x @ x.T, y)
    assert predictions[0, 2].item() == pytest.approx((query @ min_norm).item(), abs=1e-5)


def test_ridge_is_the_posterior_mean() -> None:
    prompt = sample("noisy_linear_regression", 1, 6, 3, noise_std=0.5)
    prediction = baselines.get("ridge", alpha=0.25).predict(prompt.xs, prompt.ys)[0, 5].item()
    x, y = prompt.xs[0, :5].double(), prompt.ys[0, :5].double()
    posterior_mean = torch.linalg.solve(x.T @ x / 0.25 + torch.eye(3, dtype=torch.float64), x.T @ y / 0.25)
    assert prediction == pytest.approx((prompt.xs[0, 5].double() @ posterior_mean).item(), rel=1e-5)


def test_ridge_beats_least_squares_on_noisy_prompts_near_k_equals_d() -> None:
    prompt = sample("noisy_linear_regression", 1000, 12, 8, noise_std=1.0)
    frame = evaluate({"ridge": baselines.get("ridge", alpha=1.0), "ls": baselines.get("least_squares")}, prompt)
    at_d = frame[frame.k == 8].set_index("learner")["mean"]
    assert at_d["ridge"] < 0.5 * at_d["ls"]


def test_averaging_and_knn() -> None:
    xs = torch.tensor([[[1.0], [2.0], [10.0], [2.1]]])
    ys = torch.tensor([[1.0, 2.0, 10.0, 0.0]])
    knn = baselines.from_spec("knn:n_neighbors=2").predict(xs, ys)
    assert knn[0].tolist() == pytest.approx([0.0, 1.0, 1.5, 1.5 * 0 + (2.0 + 1.0) / 2])
    averaging = baselines.get("averaging").predict(xs, ys)
    assert averaging[0, 2].item() == pytest.approx(10.0 * (1 * 1 + 2 * 2) / 2)


def test_lasso_recovers_sparse_weights_before_k_equals_d() -> None:
    prompt = sample("sparse_linear_regression", 40, 11, 10, sparsity=2)
    frame = evaluate({"lasso": baselines.get("lasso"), "ls": baselines.get("least_squares")}, prompt)
    at_8 = frame[frame.k == 8].set_index("learner")["mean"]
    assert at_8["lasso"] < 0.1 and at_8["ls"] > 0.1


def test_gradient_descent_net_fits_a_linear_function() -> None:
    prompt = sample("linear_regression", 8, 31, 2)
    net = baselines.get("gd_net", hidden_width=32, n_steps=300, lr=1e-2)
    scores = prompt_scores(net.predict(prompt.xs, prompt.ys), prompt)
    assert scores[:, 25:].mean() < 0.1


@pytest.mark.parametrize("name", ["greedy_tree", "boosted_trees"])
def test_trees_learn_decision_trees(name: str) -> None:
    prompt = sample("decision_tree", 16, 60, 3, depth=2)
    scores = prompt_scores(baselines.get(name).predict(prompt.xs, prompt.ys), prompt)
    assert scores[:, 45:].mean() < 0.2


def test_accuracy_metric_for_classification() -> None:
    prompt = sample("linear_classification", 400, 20, 3)
    frame = evaluate({"ls": baselines.get("least_squares")}, prompt)
    assert frame.metric.iloc[0] == "accuracy"
    assert frame[frame.k == 19]["mean"].item() > 0.85
    assert np.all(frame.ci_low <= frame["mean"]) and np.all(frame["mean"] <= frame.ci_high)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: baselines.get("svm"), "unknown baseline 'svm'; allowed: averaging, boosted_trees"),
        (lambda: baselines.get("knn", k=3), "baseline 'knn' has no parameter 'k'; allowed: n_neighbors"),
        (lambda: baselines.get("knn", n_neighbors=0), "n_neighbors must be a positive integer"),
        (lambda: baselines.get("ridge", alpha=-1.0), "alpha must be positive"),
        (lambda: baselines.from_spec("ridge:alpha"), "expected key=value"),
        (lambda: baselines.get("least_squares").predict(torch.zeros(2, 3), torch.zeros(2, 3)), "expected xs"),
    ],
)
def test_bad_baseline_input(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        call()

from __future__ import annotations

import pytest
import torch

import tasks

REGRESSION = [
    "linear_regression",
    "sparse_linear_regression",
    "noisy_linear_regression",
    "linear_classification",
    "quadratic_regression",
    "relu_2nn_regression",
    "decision_tree",
]


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", REGRESSION)
def test_sample_shapes_and_determinism(name: str) -> None:
    task = tasks.get(name, n_dims=6)
    a = task.sample(8, 13, gen(1))
    b = task.sample(8, 13, gen(1))
    assert a.xs.shape == (8, 13, 6) and a.ys.shape == (8, 13)
    assert torch.equal(a.xs, b.xs) and torch.equal(a.ys, b.ys)
    assert not torch.equal(a.ys, task.sample(8, 13, gen(2)).ys)
    assert a.info["task"] == name and a.info["metric"] == task.metric


@pytest.mark.parametrize("name", [n for n in REGRESSION if n != "linear_classification"])
def test_error_scale_is_label_variance(name: str) -> None:
    """The zero predictor scores 1 (noisy linear: 1 + noise variance / d) after normalisation."""
    task = tasks.get(name, n_dims=6)
    prompt = task.sample(20000, 4, gen())
    expected = 1 + (1.0 / 6 if name == "noisy_linear_regression" else 0.0)
    assert prompt.ys.square().mean().item() / prompt.info["error_scale"] == pytest.approx(expected, rel=0.06)


def test_linear_labels_are_linear_in_inputs() -> None:
    prompt = tasks.get("linear_regression", n_dims=4).sample(3, 10, gen())
    weights = torch.linalg.lstsq(prompt.xs, prompt.ys.unsqueeze(-1)).solution
    assert torch.allclose(prompt.xs @ weights, prompt.ys.unsqueeze(-1), atol=1e-4)


def test_sparse_weights_have_exactly_s_nonzeros() -> None:
    task = tasks.get("sparse_linear_regression", n_dims=10, sparsity=3)
    weights = task.draw_functions(500, gen(), 10)["w"]
    assert ((weights != 0).sum(dim=1) == 3).all()
    assert task.error_scale(10) == 3


def test_classification_labels_are_signs() -> None:
    prompt = tasks.get("linear_classification", n_dims=5).sample(50, 20, gen())
    assert set(prompt.ys.unique().tolist()) == {-1.0, 1.0}
    assert prompt.info["metric"] == "accuracy"


def test_decision_tree_follows_its_splits() -> None:
    task = tasks.get("decision_tree", n_dims=3, depth=2)
    functions = {"coords": torch.tensor([[0, 1, 2]]), "leaves": torch.tensor([[10.0, 11.0, 12.0, 13.0]])}
    xs = torch.tensor([[[-1.0, -1, 0], [-1, 1, 0], [1, 0, -1], [1, 0, 1]]])
    assert task.apply(functions, xs).tolist() == [[10.0, 11.0, 12.0, 13.0]]


def test_curriculum_zeroes_inactive_dimensions() -> None:
    prompt = tasks.get("linear_regression", n_dims=8).sample(4, 5, gen(), n_dims_active=3)
    assert (prompt.xs[..., 3:] == 0).all() and (prompt.xs[..., :3] != 0).all()
    assert prompt.info["error_scale"] == 3


def test_pool_limits_distinct_functions() -> None:
    task = tasks.get("linear_regression", n_dims=3, pool_size=4, pool_seed=7)
    prompt = task.sample(200, 10, gen())
    weights = torch.linalg.lstsq(prompt.xs, prompt.ys.unsqueeze(-1)).solution.squeeze(-1)
    assert len({tuple(w) for w in weights.round(decimals=3).tolist()}) == 4


def test_input_covariance_and_scale() -> None:
    cov = [[2.0, 0.5], [0.5, 1.0]]
    task = tasks.get("linear_regression", n_dims=2, x_cov=cov, x_scale=3.0)
    xs = task.sample(4000, 10, gen()).xs.reshape(-1, 2)
    assert torch.allclose(torch.cov(xs.T), 9 * torch.tensor(cov), rtol=0.05, atol=0.2)


def test_curriculum_schedule() -> None:
    curriculum = tasks.Curriculum(tasks.Schedule(5, 20, 1, 2000), tasks.Schedule(11, 41, 2, 2000))
    assert curriculum.at(0) == (5, 11)
    assert curriculum.at(3999) == (6, 13)
    assert curriculum.at(10**7) == (20, 41)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: tasks.get("linear_regresion", 5),
            "unknown task 'linear_regresion'; allowed: cnf, conjunction, csma_peak, csma_window",
        ),
        (lambda: tasks.get("linear_regression", 0), "n_dims must be a positive integer"),
        (lambda: tasks.get("linear_regression", 5, sparsity=2), "has no parameter 'sparsity'; allowed: pool_seed"),
        (lambda: tasks.get("sparse_linear_regression", 5, sparsity=6), "sparsity must be an integer in [1, n_dims=5]"),
        (lambda: tasks.get("linear_regression", 2, x_cov=[[1.0]]), "x_cov must be 2x2"),
        (lambda: tasks.get("linear_regression", 2, x_cov=[[1.0, 2.0], [2.0, 1.0]]), "positive definite"),
        (lambda: tasks.get("noisy_linear_regression", 2, noise_std=-1.0), "noise_std must be >= 0"),
        (lambda: tasks.get("linear_regression", 2).sample(0, 5, gen()), "batch_size must be positive"),
        (lambda: tasks.get("linear_regression", 2).sample(2, 5, gen(), n_dims_active=3), "n_dims_active must be in"),
        (lambda: tasks.Schedule(5, 3), "must not exceed end"),
    ],
)
def test_bad_input_is_named(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")):
        call()


def test_every_shipped_task_samples_through_the_base_class() -> None:
    """Tasks differ in ``examples`` and ``prompt_info``; the checks and the info of ``Task.sample`` are shared."""
    for name in tasks.names():
        assert tasks.base._lookup(name).sample is tasks.Task.sample, name

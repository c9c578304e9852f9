"""Linear self-attention: the closed forms against Monte Carlo, the GD construction, and training."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import torch

import tasks
from icl import config as cfg
from icl.baselines import from_spec
from icl.evaluate import eval_prompts, evaluate
from icl.models import LinearSelfAttention
from icl.train import load_model, train
from theory.lsa import GAMMA, SIGMA2, D, K, derivation, lsa_curve, lsa_error, optimal_gamma


def test_sympy_derivation() -> None:
    forms = derivation()
    assert sp.simplify(forms["gamma_star"] - K / (K + D + 1 + SIGMA2)) == 0
    assert sp.simplify(forms["error_at_optimum"] - (D + 1 + SIGMA2) / (K + D + 1 + SIGMA2)) == 0
    value = float(forms["error"].subs({GAMMA: 0.3, K: 7, D: 4, SIGMA2: 0.25}))
    assert value == pytest.approx(float(lsa_error(0.3, 7, 4, 0.5)))


@pytest.mark.parametrize(("gamma", "n_examples", "noise_std"), [(0.5, 3, 0.0), (0.25, 12, 0.5), (1.0, 6, 1.0)])
def test_error_matches_monte_carlo(gamma: float, n_examples: int, noise_std: float) -> None:
    """One preconditioned GD step (averaging scaled by gamma) on noisy linear regression prompts:
    the measured normalised error of the noisy query label equals lsa_curve within its 99% CI."""
    n_dims, trials = 5, 40_000
    task = tasks.get("noisy_linear_regression", n_dims, noise_std=noise_std)
    prompt = task.sample(trials, n_examples + 1, torch.Generator().manual_seed(n_examples))
    predictions = from_spec(f"averaging:step_size={gamma}").predict(prompt.xs, prompt.ys)[:, -1].double()
    errors = ((predictions - prompt.ys[:, -1].double()) ** 2 / n_dims).numpy()
    half_width = 2.58 * errors.std() / math.sqrt(trials)
    expected = lsa_curve(gamma, n_examples + 1, n_dims, noise_std)[-1]
    assert abs(errors.mean() - expected) < half_width


def test_optimal_gamma_minimises_the_training_loss() -> None:
    n_points, n_dims, noise_std = 11, 5, 0.3
    grid = np.linspace(0.05, 1.0, 2000)
    total = [lsa_error(g, np.arange(1, n_points), n_dims, noise_std).sum() for g in grid]
    assert optimal_gamma(n_points, n_dims, noise_std) == pytest.approx(grid[int(np.argmin(total))], abs=1e-3)
    last = optimal_gamma(n_points, n_dims, noise_std, last_only=True)
    assert last == pytest.approx((n_points - 1) / (n_points - 1 + n_dims + 1 + noise_std**2))


def test_lsa_construction_is_one_preconditioned_gradient_step() -> None:
    """von Oswald et al.: with W_kq = [[Gamma^T, 0], [0, 0]] and W_pv's last row (0, 1), the LSA's
    prediction is x^T Gamma (1/k) sum y_i x_i for every prefix."""
    n_dims = 4
    prompt = tasks.get("linear_regression", n_dims).sample(32, 9, torch.Generator().manual_seed(0))
    model = LinearSelfAttention.from_preconditioner(0.4 * torch.eye(n_dims), n_positions=9)
    expected = from_spec("averaging:step_size=0.4").predict(prompt.xs, prompt.ys)
    assert torch.allclose(model.predict(prompt.xs, prompt.ys), expected, atol=1e-5)

    gamma = torch.randn(n_dims, n_dims, generator=torch.Generator().manual_seed(1))
    model = LinearSelfAttention.from_preconditioner(gamma, n_positions=9)
    xs, ys = prompt.xs, prompt.ys
    sums = torch.cumsum(ys.unsqueeze(-1) * xs, dim=1) - ys.unsqueeze(-1) * xs
    means = sums / torch.arange(9).clamp(min=1).view(1, -1, 1)
    manual = torch.einsum("bkd,de,bke->bk", xs, gamma, means)
    assert torch.allclose(model.predict(xs, ys), manual, atol=1e-5)
    assert torch.allclose(model.preconditioner()["gamma"], gamma)


def lsa_config(name: str, n_dims: int, n_points: int, steps: int) -> cfg.RunConfig:
    return cfg.load(
        None,
        [
            f"name={name}",
            f"task.n_dims={n_dims}",
            f"task.n_points={n_points}",
            "model.family=lsa",
            f"train.steps={steps}",
            "train.batch_size=256",
            "train.lr=0.01",
            "train.lr_schedule=cosine",
            "train.grad_clip=100.0",
            f"train.checkpoint_every={steps}",
            "eval.n_prompts=20000",
        ],
    )


def test_trained_lsa_reaches_the_predicted_optimum(tmp_path: Path) -> None:
    """Trained by our loop (loss on every prefix), the LSA's preconditioner converges to gamma* I and
    its error is within 5% of the predicted optimum's at every prompt length."""
    n_dims, n_points = 4, 11
    config = lsa_config("lsa", n_dims, n_points, steps=1500)
    _, model = load_model(train(config, tmp_path))
    gamma_star = optimal_gamma(n_points, n_dims)
    structure = model.preconditioner()
    target = gamma_star * torch.eye(n_dims)
    assert torch.linalg.norm(structure["gamma"] - target) / torch.linalg.norm(target) < 0.05
    prompt = eval_prompts(config.task.build(), config)
    frame = evaluate({"lsa": model}, prompt, n_bootstrap=100)
    predicted = lsa_curve(gamma_star, n_points, n_dims)
    measured = frame.sort_values("k")["mean"].to_numpy()
    assert np.all(np.abs(measured[1:] / predicted[1:] - 1) < 0.05)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="need n_points >= 2"):
        optimal_gamma(1, 3)
    with pytest.raises(ValueError, match="n_dims >= 1 and noise_std >= 0"):
        lsa_error(0.5, 3, 0)

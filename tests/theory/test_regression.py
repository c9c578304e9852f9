from __future__ import annotations

import math

import pytest
import sympy as sp
import torch
from scipy import integrate, stats

import tasks
from icl.baselines.linear import Ridge
from theory.regression import (
    bayes_ridge_alpha,
    least_squares_curve,
    least_squares_excess_risk,
    least_squares_risk_symbolic,
    ridge_curve,
    ridge_direction_risk,
    ridge_excess_risk,
    wishart_spectral_mean,
)


def test_noiseless_curve() -> None:
    assert least_squares_curve(7, 4).tolist() == pytest.approx([1.0, 0.75, 0.5, 0.25, 0, 0, 0])


def test_regimes_with_noise() -> None:
    assert least_squares_excess_risk(2, 10, 1.0) == pytest.approx(8 + 2 / 7)
    assert least_squares_excess_risk(20, 10, 2.0) == pytest.approx(4 * 10 / 9)
    assert math.isinf(least_squares_excess_risk(10, 10, 1.0))


@pytest.mark.parametrize("n_examples", [3, 16])
def test_noisy_excess_risk_matches_monte_carlo(n_examples: int) -> None:
    generator = torch.Generator().manual_seed(0)
    n_dims, noise_std, trials = 8, 0.5, 20000
    xs = torch.randn(trials, n_examples, n_dims, generator=generator, dtype=torch.float64)
    w = torch.randn(trials, n_dims, 1, generator=generator, dtype=torch.float64)
    ys = xs @ w + noise_std * torch.randn(trials, n_examples, 1, generator=generator, dtype=torch.float64)
    errors = (torch.linalg.pinv(xs) @ ys - w).square().sum(dim=(1, 2))
    half_width = 3 * errors.std().item() / math.sqrt(trials)
    assert abs(errors.mean().item() - least_squares_excess_risk(n_examples, n_dims, noise_std)) < half_width


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="n_dims >= 1"):
        least_squares_excess_risk(3, 0)


def test_ridge_direction_risk_is_derived_and_bayes_alpha_is_the_noise_variance() -> None:
    risk, (mu, alpha, sigma) = ridge_direction_risk()
    assert sp.simplify(risk - (alpha**2 + sigma**2 * mu) / (mu + alpha) ** 2) == 0
    assert sp.simplify(bayes_ridge_alpha() - sigma**2) == 0


@pytest.mark.pipeline
def test_spectral_mean_is_exact_where_other_routes_are() -> None:
    # d = 1: X^T X is chi-square with n degrees of freedom
    s = 0.3
    chi2 = integrate.quad(lambda x: s / (x + s) * stats.chi2(4).pdf(x), 0, math.inf)[0]
    assert wishart_spectral_mean(4, 1, lambda x: s / (x + s)) == pytest.approx(chi2, rel=1e-10)
    # g = 1/mu: E tr (X^T X)^-1 = d / (n - d - 1), the inverse-Wishart mean behind least squares
    assert wishart_spectral_mean(9, 4, lambda x: 1 / x) == pytest.approx(4 / 4, rel=1e-10)
    assert wishart_spectral_mean(4, 9, lambda x: 1 / x) == pytest.approx(4 / 4, rel=1e-10)
    # g = 1 counts the non-zero eigenvalues; g = mu gives E tr X^T X = n d
    assert wishart_spectral_mean(3, 5, lambda x: 1) == pytest.approx(3, rel=1e-12)
    assert wishart_spectral_mean(5, 3, lambda x: x) == pytest.approx(15, rel=1e-10)


@pytest.mark.pipeline
@pytest.mark.parametrize(("n_examples", "alpha"), [(2, 0.25), (4, 0.25), (7, 0.25), (4, 1.0)])
def test_ridge_risk_matches_the_ridge_baseline_by_monte_carlo(n_examples: int, alpha: float) -> None:
    """The ridge baseline's prediction error on noisy prompts, against the exact curve (3 s.e.)."""
    n_dims, noise_std, trials = 4, 0.5, 40_000
    task = tasks.get("noisy_linear_regression", n_dims, noise_std=noise_std)
    prompt = task.sample(trials, n_examples + 1, torch.Generator().manual_seed(n_examples))
    predictions = Ridge(alpha).predict(prompt.xs.double(), prompt.ys.double())[:, -1]
    errors = (predictions - prompt.ys[:, -1].double()).square() / n_dims
    expected = ridge_curve(n_examples + 1, n_dims, noise_std, alpha)[-1]
    assert abs(errors.mean().item() - expected) < 3 * errors.std().item() / math.sqrt(trials)


@pytest.mark.pipeline
def test_bayes_risk_is_below_least_squares_and_other_penalties() -> None:
    bayes = ridge_curve(7, 3, 0.5)
    assert (bayes <= least_squares_curve(7, 3, 0.5) + 1e-12).all()
    for alpha in (0.1, 1.0):
        assert (bayes <= ridge_curve(7, 3, 0.5, alpha) + 1e-12).all()
    assert bayes[0] == pytest.approx(1 + 0.25 / 3) and bayes[-1] < 0.2
    with pytest.raises(ValueError, match="alpha > 0"):
        ridge_excess_risk(3, 4, 0.5, 0.0)


def test_least_squares_risk_is_the_ridge_limit_and_peaks_at_k_equal_d() -> None:
    expression, (n, d, sigma) = least_squares_risk_symbolic()
    under, over = expression.args[0][0], expression.args[1][0]
    assert sp.simplify(under - (d - n + sigma**2 * n / (d - n - 1))) == 0
    assert sp.limit(over, n, d + 1, "+") == sp.oo and sp.limit(under.subs(d, 10), n, 9, "-") == sp.oo
    assert sp.limit(over / d, n, sp.oo) == 0

from __future__ import annotations

import math

import pytest
import torch

from theory.regression import least_squares_curve, least_squares_excess_risk


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

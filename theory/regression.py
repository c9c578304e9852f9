"""Closed-form risk of least squares on Gaussian linear regression prompts.

x ~ N(0, I_d), w ~ N(0, I_d), y = w . x + eps with eps ~ N(0, sigma^2). The minimum-norm least
squares fit on n examples has expected excess risk E||w - w_hat||^2 (Hastie, Montanari, Rosset,
Tibshirani 2019, Theorem 1 and its under-determined counterpart; Belkin, Hsu, Xu 2019):

- n <= d - 2: (d - n) (bias: the unseen directions of w) + sigma^2 n / (d - n - 1)
- n >= d + 2: sigma^2 d / (n - d - 1)
- n in {d - 1, d, d + 1}: infinite with noise; without noise the bias term alone (0 once n >= d).

The error of a prediction of a noisy label adds sigma^2. Dividing by d gives Garg et al.'s
normalised error, the quantity ``icl.evaluate`` measures.
"""

from __future__ import annotations

import math

import numpy as np


def least_squares_excess_risk(n_examples: int, n_dims: int, noise_std: float = 0.0) -> float:
    """E||w - w_hat||^2 of minimum-norm least squares from ``n_examples`` examples."""
    if n_examples < 0 or n_dims < 1 or noise_std < 0:
        raise ValueError(f"need n_examples >= 0, n_dims >= 1, noise_std >= 0; got {n_examples}, {n_dims}, {noise_std}")
    bias = float(max(n_dims - n_examples, 0))
    if noise_std == 0:
        return bias
    variance = noise_std**2
    if n_examples <= n_dims - 2:
        return bias + variance * n_examples / (n_dims - n_examples - 1)
    if n_examples >= n_dims + 2:
        return variance * n_dims / (n_examples - n_dims - 1)
    return math.inf


def least_squares_curve(n_points: int, n_dims: int, noise_std: float = 0.0) -> np.ndarray:
    """Normalised prediction error (squared error / d) of least squares for k = 0..n_points-1."""
    return np.array(
        [(least_squares_excess_risk(k, n_dims, noise_std) + noise_std**2) / n_dims for k in range(n_points)]
    )

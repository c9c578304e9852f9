"""One-layer linear self-attention (LSA) on linear regression prompts: its optimum and its error.

Setting (Zhang, Frei, Bartlett 2023; von Oswald et al. 2023; Ahn et al. 2023): x ~ N(0, I_d),
w ~ N(0, I_d), y = w . x + eps with eps ~ N(0, sigma^2). At the optimum, the LSA's prediction for
a query x after k examples is

    y_hat = x^T Gamma (1/k) sum_i y_i x_i,

which is one step of gradient descent from w = 0 on the examples' squared loss (1/2k) sum (y_i - w.x_i)^2,
preconditioned by Gamma; by rotation invariance Gamma = gamma I. With W = X^T X a Wishart matrix,
E[W] = k I and E[W^2] = k (k + d + 1) I, so the normalised error (squared error of the query's
noiseless label, divided by d) is

    e(gamma, k) = gamma^2 (k + d + 1 + sigma^2) / k - 2 gamma + 1.

Trained on prompts of length N with the loss on the last query only (Zhang, Frei, Bartlett), the
optimum is gamma* = N / (N + d + 1 + sigma^2). Our training loss averages over every prefix
k = 1..K-1 (prefix 0 has nothing to attend to), which moves the optimum to the minimiser of the sum
of e(gamma, k). ``derivation()`` does both in sympy; the functions below are their numeric forms.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import sympy as sp

GAMMA, K, D, SIGMA2 = sp.symbols("gamma k d sigma2", positive=True)


@cache
def derivation() -> dict[str, sp.Expr]:
    """The error e(gamma, k), the single-length optimum gamma*(k) and the optimum's error, in sympy."""
    # E||gamma/k (W w + X^T eps) - w||^2 / d, term by term from the Wishart moments
    quadratic = GAMMA**2 * (K * (K + D + 1) + SIGMA2 * K) / K**2
    error = sp.expand(quadratic - 2 * GAMMA + 1)
    gamma_star = sp.solve(sp.diff(error, GAMMA), GAMMA)[0]
    return {
        "error": error,
        "gamma_star": sp.simplify(gamma_star),
        "error_at_optimum": sp.simplify(error.subs(GAMMA, gamma_star)),
    }


def _check(n_dims: int, noise_std: float) -> None:
    if not isinstance(n_dims, int) or n_dims < 1 or noise_std < 0:
        raise ValueError(f"need an integer n_dims >= 1 and noise_std >= 0, got {n_dims!r}, {noise_std!r}")


def lsa_error(gamma: float, n_examples: np.ndarray | int, n_dims: int, noise_std: float = 0.0) -> np.ndarray:
    """e(gamma, k) for k >= 1 examples; k = 0 gives 1 (the prediction is 0)."""
    _check(n_dims, noise_std)
    k = np.asarray(n_examples, dtype=float)
    safe_k = np.maximum(k, 1.0)
    error = gamma**2 * (safe_k + n_dims + 1 + noise_std**2) / safe_k - 2 * gamma + 1
    return np.where(k >= 1, error, 1.0)


def optimal_gamma(n_points: int, n_dims: int, noise_std: float = 0.0, last_only: bool = False) -> float:
    """gamma* for training on prompts of ``n_points`` examples: the loss on every prefix (our
    training loop) or on the last query only (Zhang, Frei, Bartlett's setting)."""
    _check(n_dims, noise_std)
    if n_points < 2:
        raise ValueError(f"need n_points >= 2 (one example and a query), got {n_points}")
    ks = np.array([n_points - 1]) if last_only else np.arange(1, n_points)
    # d/dgamma sum_k e(gamma, k) = 0  <=>  gamma = len(ks) / sum_k (k + d + 1 + sigma^2) / k
    return float(len(ks) / np.sum((ks + n_dims + 1 + noise_std**2) / ks))


def lsa_curve(gamma: float, n_points: int, n_dims: int, noise_std: float = 0.0) -> np.ndarray:
    """Normalised error of the query's noisy label at k = 0..n_points-1 (adds sigma^2 / d to e)."""
    return lsa_error(gamma, np.arange(n_points), n_dims, noise_std) + noise_std**2 / n_dims


def optimal_training_loss(n_points: int, n_dims: int, noise_std: float = 0.0) -> float:
    """The smallest reachable training loss: mean squared error over all prefixes (unnormalised)."""
    gamma = optimal_gamma(n_points, n_dims, noise_std)
    return float(n_dims * lsa_curve(gamma, n_points, n_dims, noise_std).mean())

"""Closed-form risk of least squares on Gaussian linear regression prompts.

x ~ N(0, I_d), w ~ N(0, I_d), y = w . x + eps with eps ~ N(0, sigma^2). The minimum-norm least
squares fit on n examples has expected excess risk E||w - w_hat||^2 (Hastie, Montanari, Rosset,
Tibshirani 2019, Theorem 1 and its under-determined counterpart; Belkin, Hsu, Xu 2019):

- n <= d - 2: (d - n) (bias: the unseen directions of w) + sigma^2 n / (d - n - 1)
- n >= d + 2: sigma^2 d / (n - d - 1)
- n in {d - 1, d, d + 1}: infinite with noise; without noise the bias term alone (0 once n >= d).

The error of a prediction of a noisy label adds sigma^2. Dividing by d gives Garg et al.'s
normalised error, the quantity ``icl.evaluate`` measures.

Ridge, w_hat = (X^T X + alpha I)^-1 X^T y, has no closed form at finite n and d. In the
eigenbasis of X^T X each direction with eigenvalue mu contributes (alpha^2 + sigma^2 mu) /
(mu + alpha)^2 to E||w - w_hat||^2 (derived in sympy below; alpha = sigma^2 minimises it for
every mu, which makes ridge with alpha = sigma^2 the Bayes posterior mean). What remains is the
average of that function over the spectrum of a real Wishart matrix, which we compute exactly (to
quadrature precision) with de Bruijn's Pfaffian formula: no Monte Carlo.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import mpmath as mp
import numpy as np
import sympy as sp


@cache
def least_squares_risk_symbolic() -> tuple[sp.Piecewise, tuple[sp.Symbol, sp.Symbol, sp.Symbol]]:
    """E||w - w_hat||^2 of minimum-norm least squares with noise, as a sympy Piecewise in (n, d, sigma).

    Least squares is ridge as alpha -> 0: the per-direction risk (``ridge_direction_risk``) tends
    to sigma^2 / mu along a direction the examples see and to 1 along one they do not (d - n of
    them when n < d). Summing sigma^2 / mu over the min(n, d) non-zero eigenvalues uses the
    inverse-Wishart mean E sum 1/mu_i = min(n, d) / (|n - d| - 1), finite for |n - d| >= 2.
    """
    n, d = sp.symbols("n d", positive=True, integer=True)
    risk, (mu, alpha, sigma) = ridge_direction_risk()
    seen = sp.simplify(sp.limit(risk, alpha, 0) * mu)
    unseen = sp.limit(risk.subs(mu, 0), alpha, 0)
    under = (d - n) * unseen + seen * n / (d - n - 1)
    over = seen * d / (n - d - 1)
    return sp.Piecewise((under, n <= d - 2), (over, n >= d + 2), (sp.oo, True)), (n, d, sigma)


@cache
def _least_squares_risk_numeric() -> Callable[[int, int, float], float]:
    expression, symbols = least_squares_risk_symbolic()
    return sp.lambdify(symbols, expression, "math")


def least_squares_excess_risk(n_examples: int, n_dims: int, noise_std: float = 0.0) -> float:
    """E||w - w_hat||^2 of minimum-norm least squares from ``n_examples`` examples
    (``least_squares_risk_symbolic``; without noise only the unseen directions count)."""
    if n_examples < 0 or n_dims < 1 or noise_std < 0:
        raise ValueError(f"need n_examples >= 0, n_dims >= 1, noise_std >= 0; got {n_examples}, {n_dims}, {noise_std}")
    if noise_std == 0:
        return float(max(n_dims - n_examples, 0))
    return float(_least_squares_risk_numeric()(n_examples, n_dims, noise_std))


def least_squares_curve(n_points: int, n_dims: int, noise_std: float = 0.0) -> np.ndarray:
    """Normalised prediction error (squared error / d) of least squares for k = 0..n_points-1."""
    return np.array(
        [(least_squares_excess_risk(k, n_dims, noise_std) + noise_std**2) / n_dims for k in range(n_points)]
    )


@cache
def ridge_direction_risk() -> tuple[sp.Expr, tuple[sp.Symbol, sp.Symbol, sp.Symbol]]:
    """E(w_i - w_hat_i)^2 along an eigendirection of X^T X with eigenvalue mu, derived in sympy.

    Along that direction w_hat_i = mu / (mu + alpha) w_i + sqrt(mu) e / (mu + alpha), with
    w_i ~ N(0, 1) and e ~ N(0, sigma^2) independent; returns the expression and (mu, alpha, sigma).
    """
    mu, alpha, sigma = sp.symbols("mu alpha sigma", positive=True)
    shrink, noise = mu / (mu + alpha), sp.sqrt(mu) / (mu + alpha)
    risk = sp.simplify((1 - shrink) ** 2 + noise**2 * sigma**2)
    return risk, (mu, alpha, sigma)


def bayes_ridge_alpha() -> sp.Expr:
    """The alpha that minimises every direction's risk: sigma^2 (so ridge at sigma^2 is Bayes)."""
    risk, (mu, alpha, sigma) = ridge_direction_risk()
    (solution,) = sp.solve(sp.diff(risk, alpha), alpha)
    return sp.simplify(solution)


def wishart_spectral_mean(n: int, d: int, g: Callable[[mp.mpf], mp.mpf], dps: int = 25) -> float:
    """E sum_i g(mu_i) over the min(n, d) non-zero eigenvalues mu_i of X^T X, X an n x d standard Gaussian.

    de Bruijn's formula writes the real Wishart (Laguerre orthogonal ensemble) average of
    prod_i (1 + eps g(mu_i)) as a Pfaffian of A(eps), A_jk = iint sign(y - x) phi_j(x) phi_k(y)
    (1 + eps g(x)) (1 + eps g(y)) with phi_j(x) = x^(j + a) e^(-x/2), a = (|n - d| - 1) / 2 (one
    more row and column for odd m). The derivative at eps = 0 is 1/2 tr(A^-1 A'). Inner integrals
    of phi_j are incomplete gamma functions, so each entry is one quadrature (in x = u^2, smooth
    at 0), carried out at ``dps`` digits because the monomial basis is badly conditioned.
    """
    if n < 1 or d < 1:
        raise ValueError(f"need n >= 1 and d >= 1, got n={n}, d={d}")
    m = min(n, d)
    size = m + m % 2
    with mp.workdps(dps):
        a = mp.mpf(abs(n - d) - 1) / 2

        def phi(j: int, x: mp.mpf) -> mp.mpf:
            return x ** (j + a) * mp.exp(-x / 2)

        def tail(j: int, x: mp.mpf) -> mp.mpf:
            return 2 ** (j + a + 1) * mp.gammainc(j + a + 1, x / 2)

        def quad(f: Callable[[mp.mpf], mp.mpf]) -> mp.mpf:
            return mp.quad(lambda u: 2 * u * f(u * u), [0, 1, mp.sqrt(4 * max(n, d) + 10), mp.inf])

        total = [tail(j, 0) for j in range(m)]
        base, derivative = mp.zeros(size, size), mp.zeros(size, size)
        for j in range(m):
            for k in range(j + 1, m):
                base[j, k] = quad(lambda x: phi(j, x) * (2 * tail(k, x) - total[k]))
                derivative[j, k] = quad(
                    lambda x: g(x) * (phi(j, x) * (2 * tail(k, x) - total[k]) + phi(k, x) * (total[j] - 2 * tail(j, x)))
                )
            if m % 2:
                base[j, m], derivative[j, m] = total[j], quad(lambda x: phi(j, x) * g(x))
        base, derivative = base - base.T, derivative - derivative.T
        return float(sum(mp.lu_solve(base, derivative[:, c])[c] for c in range(size)) / 2)


@cache
def ridge_excess_risk(n_examples: int, n_dims: int, noise_std: float, alpha: float) -> float:
    """E||w - w_hat||^2 of ridge with penalty ``alpha`` from ``n_examples`` examples (exact numerics).

    The d - n directions X^T X does not see (n < d) keep their prior risk 1 each.
    """
    if n_examples < 0 or n_dims < 1 or noise_std < 0 or alpha <= 0:
        raise ValueError(
            f"need n_examples >= 0, n_dims >= 1, noise_std >= 0, alpha > 0; got {n_examples}, {n_dims}, {noise_std}, {alpha}"
        )
    unseen = float(max(n_dims - n_examples, 0))
    if n_examples == 0:
        return unseen
    direction_risk = _ridge_direction_risk_numeric()
    return unseen + wishart_spectral_mean(n_examples, n_dims, lambda mu: direction_risk(mu, alpha, noise_std))


@cache
def _ridge_direction_risk_numeric() -> Callable[[mp.mpf, float, float], mp.mpf]:
    risk, symbols = ridge_direction_risk()
    return sp.lambdify(symbols, risk, "mpmath")


def ridge_curve(n_points: int, n_dims: int, noise_std: float, alpha: float | None = None) -> np.ndarray:
    """Normalised prediction error of ridge for k = 0..n_points-1; ``alpha`` defaults to the Bayes
    choice sigma^2 (then this is the Bayes risk, the least error any learner can have)."""
    alpha = noise_std**2 if alpha is None else alpha
    return np.array([(ridge_excess_risk(k, n_dims, noise_std, alpha) + noise_std**2) / n_dims for k in range(n_points)])

"""Linear baselines: least squares, ridge (Bayes-optimal for a Gaussian prior), Lasso, averaging."""

from __future__ import annotations

import warnings

import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso as SklearnLasso
from torch import Tensor

from icl.baselines.base import PrefixLearner, fit_each_prompt, require_positive


class LeastSquares(PrefixLearner):
    """Ordinary least squares; the minimum-norm solution when the prefix is under-determined."""

    def fit_predict(self, train_xs: Tensor, train_ys: Tensor, query: Tensor) -> Tensor:
        weights = torch.linalg.pinv(train_xs) @ train_ys.unsqueeze(-1)
        return (query.unsqueeze(1) @ weights).reshape(-1)


class Ridge(PrefixLearner):
    """w = (X^T X + alpha I)^-1 X^T y: the posterior mean for w ~ N(0, I) and noise variance alpha."""

    def __init__(self, alpha: float = 1.0) -> None:
        require_positive("alpha", alpha)
        self.alpha = alpha

    def fit_predict(self, train_xs: Tensor, train_ys: Tensor, query: Tensor) -> Tensor:
        gram = train_xs.transpose(1, 2) @ train_xs
        gram = gram + self.alpha * torch.eye(gram.shape[-1], dtype=gram.dtype)
        weights = torch.linalg.solve(gram, train_xs.transpose(1, 2) @ train_ys.unsqueeze(-1))
        return (query.unsqueeze(1) @ weights).reshape(-1)


class Averaging(PrefixLearner):
    """w = step_size * mean_i y_i x_i: one step of gradient descent from w = 0 on the examples'
    squared loss (1/2k) sum (y_i - w.x_i)^2 (step_size 1 is Garg et al.'s averaging baseline)."""

    def __init__(self, step_size: float = 1.0) -> None:
        require_positive("step_size", step_size)
        self.step_size = step_size

    def fit_predict(self, train_xs: Tensor, train_ys: Tensor, query: Tensor) -> Tensor:
        weights = self.step_size * (train_ys.unsqueeze(-1) * train_xs).mean(dim=1)
        return (weights * query).sum(dim=-1)


class Lasso(PrefixLearner):
    """L1-regularised least squares (scikit-learn's coordinate descent), one fit per prompt."""

    def __init__(self, alpha: float = 0.01, max_iter: int = 10_000) -> None:
        require_positive("alpha", alpha)
        require_positive("max_iter", max_iter, integer=True)
        self.alpha = alpha
        self.max_iter = max_iter

    def fit_predict(self, train_xs: Tensor, train_ys: Tensor, query: Tensor) -> Tensor:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return fit_each_prompt(
                lambda: SklearnLasso(alpha=self.alpha, fit_intercept=False, max_iter=self.max_iter),
                train_xs,
                train_ys,
                query,
            )

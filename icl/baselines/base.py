"""A base for baselines that fit every prefix of a prompt, and the checks they share."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor


def require_positive(name: str, value: float | None, *, integer: bool = False) -> None:
    """Raise a ValueError naming ``name`` unless ``value`` is positive (and an integer if asked)."""
    if value is None or (integer and (not isinstance(value, int) or isinstance(value, bool))) or not value > 0:
        kind = "a positive integer" if integer else "positive"
        raise ValueError(f"{name} must be {kind}, got {value!r}")


def check_prompt(xs: Tensor, ys: Tensor) -> None:
    """Raise a ValueError unless xs is [B, K, d] and ys is [B, K]."""
    if xs.dim() != 3 or ys.shape != xs.shape[:2]:
        raise ValueError(f"expected xs [B, K, d] and ys [B, K], got {tuple(xs.shape)} and {tuple(ys.shape)}")


class PrefixLearner(ABC):
    """A learner fitted afresh on each prefix: ``fit_predict`` sees examples 0..k-1 and queries x_k.

    With no examples (k = 0) it predicts 0, the prior mean of every task's labels.
    """

    def predict(self, xs: Tensor, ys: Tensor) -> Tensor:
        check_prompt(xs, ys)
        xs, ys = xs.detach().cpu().double(), ys.detach().cpu().double()
        predictions = torch.zeros(ys.shape, dtype=torch.float64)
        for k in range(1, xs.shape[1]):
            predictions[:, k] = self.fit_predict(xs[:, :k], ys[:, :k], xs[:, k])
        return predictions.float()

    @abstractmethod
    def fit_predict(self, train_xs: Tensor, train_ys: Tensor, query: Tensor) -> Tensor:
        """Fit on train_xs [B, k, d], train_ys [B, k] (each prompt alone); predict query [B, d] -> [B]."""

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_"))
        return f"{type(self).__name__}({params})"


def fit_each_prompt(make_model: Callable[[], Any], train_xs: Tensor, train_ys: Tensor, query: Tensor) -> Tensor:
    """Fit a fresh scikit-learn-style model (``fit``/``predict``) per prompt and predict its query."""
    out = np.empty(query.shape[0])
    for b, (x, y, q) in enumerate(zip(train_xs.numpy(), train_ys.numpy(), query.numpy())):
        out[b] = make_model().fit(x, y).predict(q[None])[0]
    return torch.from_numpy(out)

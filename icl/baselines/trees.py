"""Tree baselines: greedy (CART) regression trees and gradient-boosted trees (XGBoost)."""

from __future__ import annotations

import xgboost
from sklearn.tree import DecisionTreeRegressor
from torch import Tensor

from icl.baselines.base import PrefixLearner, fit_each_prompt, require_positive


class GreedyTree(PrefixLearner):
    """CART regression tree grown greedily to ``max_depth`` (unlimited when None)."""

    def __init__(self, max_depth: int | None = None) -> None:
        if max_depth is not None:
            require_positive("max_depth", max_depth, integer=True)
        self.max_depth = max_depth

    def fit_predict(self, train_xs: Tensor, train_ys: Tensor, query: Tensor) -> Tensor:
        return fit_each_prompt(
            lambda: DecisionTreeRegressor(max_depth=self.max_depth, random_state=0), train_xs, train_ys, query
        )


class BoostedTrees(PrefixLearner):
    """Gradient-boosted trees (XGBoost, its default settings as in Garg et al.), single-threaded."""

    def __init__(self, n_estimators: int = 100, max_depth: int = 6, learning_rate: float = 0.3) -> None:
        require_positive("n_estimators", n_estimators, integer=True)
        require_positive("max_depth", max_depth, integer=True)
        require_positive("learning_rate", learning_rate)
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate

    def fit_predict(self, train_xs: Tensor, train_ys: Tensor, query: Tensor) -> Tensor:
        def make() -> xgboost.XGBRegressor:
            return xgboost.XGBRegressor(
                n_estimators=self.n_estimators,
                max_depth=self.max_depth,
                learning_rate=self.learning_rate,
                n_jobs=1,
                random_state=0,
            )

        return fit_each_prompt(make, train_xs, train_ys, query)

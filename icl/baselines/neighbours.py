"""Nearest-neighbour regression: the mean label of the k closest examples."""

from __future__ import annotations

from torch import Tensor

from icl.baselines.base import PrefixLearner, require_positive


class NearestNeighbours(PrefixLearner):
    """Mean label of the ``n_neighbors`` nearest examples (all of them while fewer are seen); ties go to
    the earliest examples, so the result does not depend on the sort's tie order."""

    def __init__(self, n_neighbors: int = 3) -> None:
        require_positive("n_neighbors", n_neighbors, integer=True)
        self.n_neighbors = n_neighbors

    def fit_predict(self, train_xs: Tensor, train_ys: Tensor, query: Tensor) -> Tensor:
        distances = (train_xs - query.unsqueeze(1)).square().sum(dim=-1)
        n_neighbors = min(self.n_neighbors, train_xs.shape[1])
        nearest = distances.sort(dim=1, stable=True).indices[:, :n_neighbors]
        return train_ys.gather(1, nearest).mean(dim=1)

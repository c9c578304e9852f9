"""Baselines for Boolean functions with +-1 labels: the null learner and the exact learners.

Inputs may be +-1 or 0/1: an entry > 0 is read as "true". Predictions are +-1 (the null learner's
0 on a tie counts as +1, like every prediction >= 0).
"""

from __future__ import annotations

import torch
from torch import Tensor

from icl.baselines.base import PrefixLearner, check_prompt, require_positive

ELIMINATION_TARGETS = ("conjunction", "disjunction")


def _exclusive_cumsum(values: Tensor) -> Tensor:
    """Sum over positions 0..k-1 at position k, along dimension 1."""
    return values.cumsum(dim=1) - values


class MajorityLabel(PrefixLearner):
    """The null learner: the majority label of the examples so far."""

    def fit_predict(self, train_xs: Tensor, train_ys: Tensor, query: Tensor) -> Tensor:
        return train_ys.mean(dim=1)


class Elimination:
    """Valiant's elimination algorithm, exact for conjunctions (and, by duality, disjunctions).

    Start from the conjunction of all 2n literals; each positive example deletes the literals it
    falsifies. The hypothesis never has false positives and equals the target once the positive
    examples have shown both values of every irrelevant variable. A disjunction f is learnt as the
    conjunction -f on negated labels.
    """

    def __init__(self, target: str = "conjunction") -> None:
        if target not in ELIMINATION_TARGETS:
            raise ValueError(f"target must be one of {', '.join(ELIMINATION_TARGETS)}, got {target!r}")
        self.target = target

    def predict(self, xs: Tensor, ys: Tensor) -> Tensor:
        check_prompt(xs, ys)
        sign = 1.0 if self.target == "conjunction" else -1.0
        return sign * self._conjunction(xs.cpu() > 0, sign * ys.cpu() > 0)

    @staticmethod
    def _conjunction(bits: Tensor, positive: Tensor) -> Tensor:
        positive = positive.unsqueeze(-1)
        # a literal x_i survives while no earlier positive example has x_i false, and vice versa
        keeps_true = _exclusive_cumsum((positive & ~bits).long()) == 0
        keeps_false = _exclusive_cumsum((positive & bits).long()) == 0
        satisfied = (~keeps_true | bits) & (~keeps_false | ~bits)
        return satisfied.all(dim=-1).float() * 2 - 1

    def __repr__(self) -> str:
        return f"Elimination(target={self.target!r})"


class Gf2Parity:
    """Gaussian elimination over GF(2): exact for parities of any subset.

    With label bit c = [y > 0] and input bits b = [x > 0], a parity is c = <s, b> mod 2. Each example
    is a row of a linear system kept in echelon form; a query in the row space of the examples has a
    determined label, which is predicted exactly; otherwise the free variables are taken as 0.
    """

    def predict(self, xs: Tensor, ys: Tensor) -> Tensor:
        check_prompt(xs, ys)
        bits = (xs.cpu() > 0).long()
        weights = 1 << torch.arange(bits.shape[-1])
        rows = (bits * weights).sum(dim=-1).tolist()
        labels = (ys.cpu() > 0).long().tolist()
        out = torch.empty(ys.shape)
        for b, (prompt_rows, prompt_labels) in enumerate(zip(rows, labels)):
            basis: dict[int, tuple[int, int]] = {}
            for k, (row, label) in enumerate(zip(prompt_rows, prompt_labels)):
                residual, parity = self._reduce(basis, row, 0)
                out[b, k] = 1.0 if parity else -1.0
                residual, label = self._reduce(basis, row, label)
                if residual:
                    basis[residual.bit_length() - 1] = (residual, label)
        return out

    @staticmethod
    def _reduce(basis: dict[int, tuple[int, int]], row: int, label: int) -> tuple[int, int]:
        """Eliminate ``row``'s leading bits with the basis rows; returns (residual, label)."""
        while row:
            pivot = row.bit_length() - 1
            if pivot not in basis:
                break
            basis_row, basis_label = basis[pivot]
            row, label = row ^ basis_row, label ^ basis_label
        return row, label

    def __repr__(self) -> str:
        return "Gf2Parity()"


class Perceptron(PrefixLearner):
    """Rosenblatt's perceptron with a bias, ``n_epochs`` passes over the prefix in order."""

    def __init__(self, n_epochs: int = 10) -> None:
        require_positive("n_epochs", n_epochs, integer=True)
        self.n_epochs = n_epochs

    def fit_predict(self, train_xs: Tensor, train_ys: Tensor, query: Tensor) -> Tensor:
        ones = torch.ones(*train_xs.shape[:2], 1, dtype=train_xs.dtype)
        inputs = torch.cat([torch.where(train_xs > 0, 1.0, -1.0).to(train_xs.dtype), ones], dim=-1)
        weights = torch.zeros(inputs.shape[0], inputs.shape[-1], dtype=train_xs.dtype)
        for _ in range(self.n_epochs):
            for j in range(inputs.shape[1]):
                x, y = inputs[:, j], train_ys[:, j]
                mistake = (y * (weights * x).sum(dim=-1) <= 0).to(x.dtype)
                weights = weights + (mistake * y).unsqueeze(-1) * x
        query = torch.cat([torch.where(query > 0, 1.0, -1.0).to(query.dtype), ones[:, 0]], dim=-1)
        return (weights * query).sum(dim=-1)

"""The regression function families of Garg et al. (2022), "What Can Transformers Learn In-Context?".

Inputs x ~ N(0, I_d) (scaled or correlated through the Task parameters). Each family's
``error_scale`` is E[y^2] under the default inputs, so the zero predictor scores 1 once the
squared error is divided by it (Garg et al.'s normalisation: d for linear, s for sparse, 1 for
trees).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from tasks.base import Functions, Task, check_count, register


def _gaussian_weights(batch_size: int, n_dims: int, generator: torch.Generator, n_dims_active: int) -> Tensor:
    weights = torch.randn(batch_size, n_dims, generator=generator)
    weights[:, n_dims_active:] = 0.0
    return weights


@register
class LinearRegression(Task):
    """y = w . x with w ~ N(0, I_d)."""

    name = "linear_regression"

    def draw_functions(self, batch_size: int, generator: torch.Generator, n_dims_active: int) -> Functions:
        return {"w": _gaussian_weights(batch_size, self.n_dims, generator, n_dims_active)}

    def apply(self, functions: Functions, xs: Tensor) -> Tensor:
        return torch.einsum("bkd,bd->bk", xs, functions["w"])


@register
class SparseLinearRegression(LinearRegression):
    """y = w . x where w has ``sparsity`` non-zero N(0, 1) coordinates at random positions."""

    name = "sparse_linear_regression"

    def __init__(self, n_dims: int, *, sparsity: int = 3, **kwargs: Any) -> None:
        check_count("sparsity", sparsity, n_dims, "n_dims")
        self.sparsity = sparsity
        super().__init__(n_dims, **kwargs)

    def draw_functions(self, batch_size: int, generator: torch.Generator, n_dims_active: int) -> Functions:
        weights = _gaussian_weights(batch_size, self.n_dims, generator, n_dims_active)
        scores = torch.rand(batch_size, n_dims_active, generator=generator)
        support = scores.argsort(dim=1)[:, : min(self.sparsity, n_dims_active)]
        mask = torch.zeros_like(weights).scatter_(1, support, 1.0)
        return {"w": weights * mask}

    def error_scale(self, n_dims_active: int) -> float:
        return float(min(self.sparsity, n_dims_active))


@register
class NoisyLinearRegression(LinearRegression):
    """y = w . x + eps, eps ~ N(0, noise_std^2); the error scale stays d, as in Garg et al."""

    name = "noisy_linear_regression"

    def __init__(self, n_dims: int, *, noise_std: float = 1.0, **kwargs: Any) -> None:
        if not noise_std >= 0:
            raise ValueError(f"noise_std must be >= 0, got {noise_std!r}")
        self.noise_std = float(noise_std)
        super().__init__(n_dims, **kwargs)

    def corrupt(self, ys: Tensor, generator: torch.Generator) -> Tensor:
        return ys + self.noise_std * torch.randn(ys.shape, generator=generator)


@register
class LinearClassification(LinearRegression):
    """y = sign(w . x); scored by accuracy, trained with squared error as in Garg et al."""

    name = "linear_classification"
    metric = "accuracy"

    def apply(self, functions: Functions, xs: Tensor) -> Tensor:
        ys = super().apply(functions, xs)
        return torch.where(ys >= 0, 1.0, -1.0)

    def error_scale(self, n_dims_active: int) -> float:
        return 1.0


@register
class QuadraticRegression(LinearRegression):
    """y = w . (x * x) / sqrt(3), so that E[y^2] = d."""

    name = "quadratic_regression"

    def apply(self, functions: Functions, xs: Tensor) -> Tensor:
        return super().apply(functions, xs.square()) / math.sqrt(3.0)


@register
class Relu2nnRegression(Task):
    """A random 2-layer ReLU network, y = sqrt(2 / h) * relu(x W1) . w2, entries N(0, 1)."""

    name = "relu_2nn_regression"

    def __init__(self, n_dims: int, *, hidden_width: int = 100, **kwargs: Any) -> None:
        check_count("hidden_width", hidden_width)
        self.hidden_width = hidden_width
        super().__init__(n_dims, **kwargs)

    def draw_functions(self, batch_size: int, generator: torch.Generator, n_dims_active: int) -> Functions:
        w1 = torch.randn(batch_size, self.n_dims, self.hidden_width, generator=generator)
        w1[:, n_dims_active:] = 0.0
        w2 = torch.randn(batch_size, self.hidden_width, generator=generator)
        return {"w1": w1, "w2": w2}

    def apply(self, functions: Functions, xs: Tensor) -> Tensor:
        hidden = torch.relu(torch.bmm(xs, functions["w1"]))
        return math.sqrt(2.0 / self.hidden_width) * torch.einsum("bkh,bh->bk", hidden, functions["w2"])


@register
class DecisionTreeRegression(Task):
    """A random full binary tree of ``depth`` levels: node i sends x right when x[c_i] > 0.

    Split coordinates are uniform over the active coordinates, leaf values N(0, 1).
    """

    name = "decision_tree"

    def __init__(self, n_dims: int, *, depth: int = 4, **kwargs: Any) -> None:
        check_count("depth", depth, 12)
        self.depth = depth
        super().__init__(n_dims, **kwargs)

    def draw_functions(self, batch_size: int, generator: torch.Generator, n_dims_active: int) -> Functions:
        n_internal = 2**self.depth - 1
        coords = torch.randint(n_dims_active, (batch_size, n_internal), generator=generator)
        leaves = torch.randn(batch_size, 2**self.depth, generator=generator)
        return {"coords": coords, "leaves": leaves}

    def apply(self, functions: Functions, xs: Tensor) -> Tensor:
        batch_size, n_points, _ = xs.shape
        node = torch.zeros(batch_size, n_points, dtype=torch.long, device=xs.device)
        for _ in range(self.depth):
            coord = functions["coords"].gather(1, node)
            go_right = xs.gather(2, coord.unsqueeze(-1)).squeeze(-1) > 0
            node = 2 * node + 1 + go_right.long()
        return functions["leaves"].gather(1, node - (2**self.depth - 1))

    def error_scale(self, n_dims_active: int) -> float:
        return 1.0

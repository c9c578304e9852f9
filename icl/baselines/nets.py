"""A 2-layer ReLU network trained by gradient descent on each prompt prefix (Garg et al.'s baseline,
and Bhattamishra et al.'s feed-forward baseline with a logistic loss for +-1 labels).

All prompts of a batch train in parallel as one batched network (independent weights per prompt).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from icl.baselines.base import PrefixLearner, require_positive

LOSSES = ("squared_error", "logistic")


class GradientDescentNet(PrefixLearner):
    """f(x) = relu(x W1 + b1) w2 + b2, fitted by ``n_steps`` of full-batch Adam on the prefix.

    ``loss`` is ``squared_error`` (regression) or ``logistic`` (+-1 labels; f is then a logit).
    """

    def __init__(
        self, hidden_width: int = 100, n_steps: int = 1000, lr: float = 5e-3, seed: int = 0, loss: str = "squared_error"
    ) -> None:
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
        require_positive("hidden_width", hidden_width, integer=True)
        require_positive("n_steps", n_steps, integer=True)
        require_positive("lr", lr)
        self.hidden_width = hidden_width
        self.n_steps = n_steps
        self.lr = lr
        self.seed = seed
        self.loss = loss

    def fit_predict(self, train_xs: Tensor, train_ys: Tensor, query: Tensor) -> Tensor:
        batch, _, n_dims = train_xs.shape
        generator = torch.Generator().manual_seed(self.seed)
        w1 = (torch.randn(batch, n_dims, self.hidden_width, generator=generator) / math.sqrt(n_dims)).requires_grad_()
        b1 = torch.zeros(batch, 1, self.hidden_width, requires_grad=True)
        w2 = (
            torch.randn(batch, self.hidden_width, 1, generator=generator) / math.sqrt(self.hidden_width)
        ).requires_grad_()
        b2 = torch.zeros(batch, 1, 1, requires_grad=True)
        params = [w1, b1, w2, b2]

        def net(x: Tensor) -> Tensor:
            return (torch.relu(x @ w1 + b1) @ w2 + b2).squeeze(-1)

        x, y = train_xs.float(), train_ys.float()
        optimizer = torch.optim.Adam(params, lr=self.lr, fused=True)
        with torch.enable_grad():
            for _ in range(self.n_steps):
                # sum over prompts: each prompt's weights get the gradient of its own mean loss
                out = net(x)
                losses = (out - y).square() if self.loss == "squared_error" else F.softplus(-y * out)
                loss = losses.mean(dim=1).sum()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        with torch.no_grad():
            return net(query.float().unsqueeze(1)).squeeze(1).double()

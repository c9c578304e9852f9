"""The Learner interface: what transformers, LSTMs, LSA and every baseline share, so that one
evaluation path, one plot and one theory check serve them all."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from torch import Tensor


@runtime_checkable
class Learner(Protocol):
    """Anything that predicts every prefix of a prompt: output k uses examples 0..k-1 and x_k."""

    def predict(self, xs: Tensor, ys: Tensor) -> Tensor:
        """Predictions [B, K] for prompts xs [B, K, d], ys [B, K]."""
        ...

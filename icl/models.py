"""The in-context learner: a nanoGPT-style decoder over interleaved (x, y) tokens.

Tokens are x_1, y_1, x_2, y_2, ... (y as a d-vector with zeros after the first entry, as in Garg
et al.). A linear read-in maps them to the embedding, pre-LN blocks process them causally and a
linear read-out at the x positions gives the prediction for y_k from examples 0..k-1 and x_k.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from icl.config import BACKENDS, ModelConfig
from kernels.reference import attention_reference


def attention(q: Tensor, k: Tensor, v: Tensor, causal: bool, backend: str) -> Tensor:
    """Scaled dot-product attention over [B, H, N, D] tensors by the chosen backend.

    ``math`` is the plain-torch reference, ``sdpa`` torch's fused kernel; they agree to tolerance.
    """
    if backend == "sdpa":
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    if backend == "math":
        return attention_reference(q, k, v, causal)
    raise ValueError(f"unknown attention backend {backend!r}; allowed: {', '.join(BACKENDS)}")


class SelfAttention(nn.Module):
    """Multi-head causal self-attention with a fused qkv projection."""

    def __init__(self, n_embd: int, n_head: int, backend: str) -> None:
        super().__init__()
        self.n_head = n_head
        self.backend = backend
        self.qkv = nn.Linear(n_embd, 3 * n_embd)
        self.proj = nn.Linear(n_embd, n_embd)

    def forward(self, x: Tensor, keep: slice = slice(None)) -> Tensor:
        """Attend over all tokens; project only the output positions selected by ``keep``."""
        batch, n_tokens, n_embd = x.shape
        q, k, v = self.qkv(x).view(batch, n_tokens, 3, self.n_head, n_embd // self.n_head).permute(2, 0, 3, 1, 4)
        out = attention(q, k, v, causal=True, backend=self.backend)
        return self.proj(out.transpose(1, 2)[:, keep].reshape(batch, -1, n_embd))


class Block(nn.Module):
    """Pre-LN transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, n_embd: int, n_head: int, backend: str) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd)
        self.attn = SelfAttention(n_embd, n_head, backend)
        self.ln_2 = nn.LayerNorm(n_embd)
        self.mlp = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.GELU(approximate="tanh"), nn.Linear(4 * n_embd, n_embd))

    def forward(self, x: Tensor, keep: slice = slice(None)) -> Tensor:
        """The block's output at the positions selected by ``keep`` (all by default)."""
        x = x[:, keep] + self.attn(self.ln_1(x), keep)
        return x + self.mlp(self.ln_2(x))


class TransformerModel(nn.Module):
    """Decoder-only transformer mapping a prompt (xs [B, K, d], ys [B, K]) to predictions [B, K]."""

    def __init__(self, config: ModelConfig, n_dims: int, n_positions: int) -> None:
        super().__init__()
        n_embd, n_layer, n_head = config.dims
        if n_dims < 1 or n_positions < 1:
            raise ValueError(f"n_dims and n_positions must be positive, got {n_dims} and {n_positions}")
        self.config = config
        self.n_dims = n_dims
        self.n_positions = n_positions
        self.wpe = nn.Embedding(2 * n_positions, n_embd)
        self.blocks = nn.ModuleList(Block(n_embd, n_head, config.backend) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(n_embd)
        self.apply(self._init_weights)
        # read-in and read-out keep torch's default (fan-in) init, as in Garg et al.: the inputs then
        # dominate the position embeddings from the start, which shortens the initial plateau
        self.read_in = nn.Linear(n_dims, n_embd)
        self.read_out = nn.Linear(n_embd, 1)
        for name, param in self.named_parameters():
            if name.endswith("proj.weight") or name.endswith("mlp.2.weight"):
                nn.init.normal_(param, mean=0.0, std=0.02 / math.sqrt(2 * n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def check_prompt(self, xs: Tensor, ys: Tensor) -> None:
        """Raise a ValueError if the prompt does not fit this model."""
        if xs.dim() != 3 or ys.shape != xs.shape[:2]:
            raise ValueError(f"expected xs [B, K, d] and ys [B, K], got {tuple(xs.shape)} and {tuple(ys.shape)}")
        if xs.shape[2] != self.n_dims:
            raise ValueError(f"prompt inputs have dimension {xs.shape[2]}; this model takes n_dims={self.n_dims}")
        if xs.shape[1] > self.n_positions:
            raise ValueError(
                f"prompt of {xs.shape[1]} examples is longer than the model's context of "
                f"{self.n_positions} examples"
            )

    def forward(self, xs: Tensor, ys: Tensor) -> Tensor:
        self.check_prompt(xs, ys)
        batch, n_points, n_dims = xs.shape
        ys_wide = torch.cat([ys.unsqueeze(-1), xs.new_zeros(batch, n_points, n_dims - 1)], dim=-1)
        tokens = torch.stack([xs, ys_wide], dim=2).view(batch, 2 * n_points, n_dims)
        h = self.read_in(tokens) + self.wpe.weight[: 2 * n_points]
        for block in self.blocks[:-1]:
            h = block(h)
        # only x positions are read out, so the last block computes its output there alone
        h = self.blocks[-1](h, keep=slice(None, None, 2))
        return self.read_out(self.ln_f(h)).squeeze(-1)

    @torch.no_grad()
    def predict(self, xs: Tensor, ys: Tensor) -> Tensor:
        """The Learner interface: predictions [B, K] on CPU, in eval mode, without gradients."""
        device = next(self.parameters()).device
        was_training = self.training
        self.eval()
        try:
            return self(xs.to(device), ys.to(device)).float().cpu()
        finally:
            self.train(was_training)


def build_model(config: ModelConfig, n_dims: int, n_positions: int) -> TransformerModel:
    """The model a config describes, for prompts of dimension n_dims and up to n_positions examples."""
    if config.family != "gpt":
        raise ValueError(f"unknown model family {config.family!r}; allowed: gpt")
    return TransformerModel(config, n_dims, n_positions)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)

"""The in-context learners: a nanoGPT-style decoder, an LSTM and one-layer linear self-attention.

Tokens are x_1, y_1, x_2, y_2, ... (y as a d-vector with zeros after the first entry, as in Garg
et al.). A linear read-in maps them to the embedding, pre-LN blocks process them causally and a
linear read-out at the x positions gives the prediction for y_k from examples 0..k-1 and x_k.
"""

from __future__ import annotations

import math
import typing

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from icl.config import BACKENDS, ModelConfig
from kernels.reference import attention_reference


def attention(q: Tensor, k: Tensor, v: Tensor, causal: bool, backend: str) -> Tensor:
    """Scaled dot-product attention over [B, H, N, D] tensors by the chosen backend.

    ``math`` is the plain-torch reference, ``sdpa`` torch's fused kernel, ``triton`` our kernels
    (kernels/attention.py: CUDA, or the CPU interpreter with TRITON_INTERPRET=1); all three agree to
    tolerance.
    """
    if backend == "sdpa":
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    if backend == "math":
        return attention_reference(q, k, v, causal)
    if backend == "triton":
        from kernels.attention import flash_attention  # imported on use: Triton is an optional dependency

        return flash_attention(q, k, v, causal)
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
        self.mlp = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.GELU(), nn.Linear(4 * n_embd, n_embd))

    def forward(self, x: Tensor, keep: slice = slice(None)) -> Tensor:
        """The block's output at the positions selected by ``keep`` (all by default)."""
        x = x[:, keep] + self.attn(self.ln_1(x), keep)
        return x + self.mlp(self.ln_2(x))


class SequenceModel(nn.Module):
    """A learner over interleaved (x, y) tokens: the prompt checks, the token layout and ``predict``."""

    label: typing.ClassVar[str] = "model"
    """How tables and plots name this kind of model."""

    def __init__(self, n_dims: int, n_positions: int) -> None:
        super().__init__()
        if n_dims < 1 or n_positions < 1:
            raise ValueError(f"n_dims and n_positions must be positive, got {n_dims} and {n_positions}")
        self.n_dims = n_dims
        self.n_positions = n_positions

    def check_prompt(self, xs: Tensor, ys: Tensor) -> None:
        """Raise a ValueError if the prompt does not fit this model."""
        if xs.dim() != 3 or ys.shape != xs.shape[:2]:
            raise ValueError(f"expected xs [B, K, d] and ys [B, K], got {tuple(xs.shape)} and {tuple(ys.shape)}")
        if xs.shape[2] != self.n_dims:
            raise ValueError(f"prompt inputs have dimension {xs.shape[2]}; this model takes n_dims={self.n_dims}")
        if xs.shape[1] > self.n_positions:
            raise ValueError(
                f"prompt of {xs.shape[1]} examples is longer than the model's context of {self.n_positions} examples"
            )

    def tokens(self, xs: Tensor, ys: Tensor) -> Tensor:
        """The token sequence [B, 2K, d]: x_1, y_1, x_2, y_2, ... with y padded by zeros to d."""
        self.check_prompt(xs, ys)
        batch, n_points, n_dims = xs.shape
        ys_wide = torch.cat([ys.unsqueeze(-1), xs.new_zeros(batch, n_points, n_dims - 1)], dim=-1)
        return torch.stack([xs, ys_wide], dim=2).view(batch, 2 * n_points, n_dims)

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


class TransformerModel(SequenceModel):
    """Decoder-only transformer mapping a prompt (xs [B, K, d], ys [B, K]) to predictions [B, K]."""

    label = "transformer"

    def __init__(self, config: ModelConfig, n_dims: int, n_positions: int) -> None:
        super().__init__(n_dims, n_positions)
        n_embd, n_layer, n_head = config.dims
        self.config = config
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

    def forward(self, xs: Tensor, ys: Tensor) -> Tensor:
        tokens = self.tokens(xs, ys)
        h = self.read_in(tokens) + self.wpe.weight[: tokens.shape[1]]
        for block in self.blocks[:-1]:
            h = block(h)
        # only x positions are read out, so the last block computes its output there alone
        h = self.blocks[-1](h, keep=slice(None, None, 2))
        return self.read_out(self.ln_f(h)).squeeze(-1)


class LstmModel(SequenceModel):
    """The attention-free comparison: read-in, an n_layer LSTM of width n_embd, read-out at x positions."""

    label = "LSTM"

    def __init__(self, config: ModelConfig, n_dims: int, n_positions: int) -> None:
        super().__init__(n_dims, n_positions)
        n_embd, n_layer, _ = config.dims
        self.config = config
        self.read_in = nn.Linear(n_dims, n_embd)
        self.lstm = nn.LSTM(n_embd, n_embd, num_layers=n_layer, batch_first=True)
        self.read_out = nn.Linear(n_embd, 1)

    def forward(self, xs: Tensor, ys: Tensor) -> Tensor:
        h, _ = self.lstm(self.read_in(self.tokens(xs, ys)))
        return self.read_out(h[:, ::2]).squeeze(-1)


class LinearSelfAttention(SequenceModel):
    """One layer of linear self-attention (Zhang, Frei, Bartlett 2023), applied to every prefix.

    Tokens are z_i = (x_i, y_i) for the examples and (x_k, 0) for the query. With value weights
    W_pv and key-query weights W_kq ((d+1) x (d+1) each, all entries trained), the prediction for
    query k is the last entry of W_pv (1/k) sum_{i<k} z_i z_i^T W_kq (x_k, 0): no softmax, no MLP,
    no normalisation. Writing W_pv's last row (v, u) and W_kq's first d columns (A; c^T),

        y_hat_k = x_k^T (u A^T + c v^T) (1/k) sum y_i x_i + (1/k) sum (v.x_i x_i^T A x_k + u y_i^2 c.x_k),

    i.e. one preconditioned gradient step from w = 0 plus two terms that are even in w and vanish at
    the optimum. ``from_preconditioner`` builds that construction; ``preconditioner`` reads it back.
    """

    label = "LSA"

    def __init__(self, config: ModelConfig, n_dims: int, n_positions: int, init_std: float = 0.02) -> None:
        super().__init__(n_dims, n_positions)
        self.config = config
        self.w_kq = nn.Parameter(init_std * torch.randn(n_dims + 1, n_dims + 1))
        self.w_pv = nn.Parameter(init_std * torch.randn(n_dims + 1, n_dims + 1))

    @classmethod
    def from_preconditioner(cls, gamma: Tensor, n_positions: int) -> LinearSelfAttention:
        """The LSA that computes one gradient step preconditioned by ``gamma`` [d, d] exactly."""
        n_dims = gamma.shape[0]
        model = cls(ModelConfig(family="lsa"), n_dims, n_positions, init_std=0.0)
        with torch.no_grad():
            model.w_kq[:n_dims, :n_dims] = gamma.T
            model.w_pv[n_dims, n_dims] = 1.0
        return model

    def forward(self, xs: Tensor, ys: Tensor) -> Tensor:
        self.check_prompt(xs, ys)
        n_points = xs.shape[1]
        z = torch.cat([xs, ys.unsqueeze(-1)], dim=-1)
        queries = torch.cat([xs, torch.zeros_like(ys).unsqueeze(-1)], dim=-1)
        values = z @ self.w_pv[-1]
        scores = torch.einsum("bie,ef,bkf->bki", z, self.w_kq, queries)
        earlier = torch.ones(n_points, n_points, dtype=torch.bool, device=xs.device).tril(-1)
        counts = torch.arange(n_points, device=xs.device).clamp(min=1)
        return (scores * earlier * values.unsqueeze(1)).sum(dim=-1) / counts

    def preconditioner(self) -> dict[str, Tensor]:
        """The effective preconditioner u A^T + c v^T, the even terms' weights v and c, and the size of
        those terms, |v| |A| + |u| |c| (zero at the optimum)."""
        n_dims = self.n_dims
        a, c = self.w_kq[:n_dims, :n_dims].detach(), self.w_kq[n_dims, :n_dims].detach()
        v, u = self.w_pv[n_dims, :n_dims].detach(), self.w_pv[n_dims, n_dims].detach()
        even = torch.linalg.norm(v) * torch.linalg.norm(a) + u.abs() * torch.linalg.norm(c)
        return {"gamma": u * a.T + torch.outer(c, v), "v": v, "c": c, "even": even}


MODELS: dict[str, type[SequenceModel]] = {"gpt": TransformerModel, "lstm": LstmModel, "lsa": LinearSelfAttention}


def build_model(config: ModelConfig, n_dims: int, n_positions: int) -> SequenceModel:
    """The model a config describes, for prompts of dimension n_dims and up to n_positions examples."""
    if config.family not in MODELS:
        raise ValueError(f"unknown model family {config.family!r}; allowed: {', '.join(MODELS)}")
    return MODELS[config.family](config, n_dims, n_positions)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)

"""The in-context learners: a nanoGPT-style decoder, an LSTM, one-layer linear self-attention, and two
attention-free decoders (RetNet-style retention, S4D-style diagonal state spaces).

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

from icl.config import ATTENTION_BACKENDS, ModelConfig
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
    raise ValueError(f"unknown attention backend {backend!r}; allowed: {', '.join(ATTENTION_BACKENDS)}")


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


def retention_decays(n_head: int) -> Tensor:
    """RetNet's per-head decays gamma_h = 1 - 2^(-5 - h): head 0 remembers ~32 tokens, later heads longer."""
    return 1 - 2.0 ** (-5 - torch.arange(n_head, dtype=torch.float32))


def retention_parallel(q: Tensor, k: Tensor, v: Tensor, gamma: Tensor) -> Tensor:
    """Retention in its parallel form over [B, H, N, D]: (Q K^T * D) V, D[n, m] = gamma^(n - m) for n >= m."""
    n = q.shape[2]
    position = torch.arange(n, device=q.device, dtype=q.dtype)
    distance = position[:, None] - position[None, :]
    decay = torch.where(distance >= 0, gamma.to(q)[:, None, None] ** distance.clamp(min=0), 0.0)
    return (q @ k.transpose(-1, -2) * decay) @ v


def retention_recurrent(q: Tensor, k: Tensor, v: Tensor, gamma: Tensor) -> Tensor:
    """The same retention token by token: S_n = gamma S_(n-1) + k_n^T v_n, o_n = q_n S_n (the reference)."""
    batch, heads, n, d = q.shape
    state = q.new_zeros(batch, heads, d, v.shape[-1])
    outputs = []
    for t in range(n):
        state = gamma.to(q)[:, None, None] * state + k[:, :, t, :, None] * v[:, :, t, None, :]
        outputs.append((q[:, :, t, None, :] @ state).squeeze(2))
    return torch.stack(outputs, dim=2)


class Retention(nn.Module):
    """Multi-scale retention (RetNet, Sun et al. 2023): decayed linear attention per head, group norm,
    a swish gate; no softmax and no position embedding (the decays order the tokens)."""

    def __init__(self, n_embd: int, n_head: int) -> None:
        super().__init__()
        self.n_head = n_head
        self.qkvg = nn.Linear(n_embd, 4 * n_embd, bias=False)
        self.norm = nn.GroupNorm(n_head, n_embd)
        self.proj = nn.Linear(n_embd, n_embd, bias=False)
        self.register_buffer("gamma", retention_decays(n_head), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        batch, n, n_embd = x.shape
        q, k, v, gate = self.qkvg(x).split(n_embd, dim=-1)
        q, k, v = (t.view(batch, n, self.n_head, -1).transpose(1, 2) for t in (q, k, v))
        out = (
            retention_parallel(q * q.shape[-1] ** -0.5, k, v, typing.cast(Tensor, self.gamma))
            .transpose(1, 2)
            .reshape(batch, n, n_embd)
        )
        out = self.norm(out.reshape(batch * n, n_embd)).view(batch, n, n_embd)
        return self.proj(F.silu(gate) * out)


S4D_STATE = 16
"""State size of each S4D channel (8 conjugate pairs of complex modes)."""


class S4D(nn.Module):
    """A diagonal state space layer (S4D, Gu et al. 2022) per channel: x' = A x + B u, y = C x + D u with
    diagonal complex A (S4D-Lin initialisation), discretised by zero-order hold with a learnt step, and
    applied as a causal convolution with its kernel K_l = 2 Re(C dB dA^l) (``recurrent`` is the scan)."""

    def __init__(self, channels: int, state: int = S4D_STATE) -> None:
        super().__init__()
        modes = state // 2
        self.log_dt = nn.Parameter(torch.empty(channels).uniform_(math.log(1e-3), math.log(1e-1)))
        self.log_a_real = nn.Parameter(torch.full((channels, modes), math.log(0.5)))
        self.a_imag = nn.Parameter(math.pi * torch.arange(modes, dtype=torch.float32).repeat(channels, 1))
        self.c = nn.Parameter(torch.randn(channels, modes, 2) * 0.5**0.5)
        self.d = nn.Parameter(torch.randn(channels))

    def _discrete(self) -> tuple[Tensor, Tensor, Tensor]:
        """(dA, dB, C) of the zero-order-hold discretisation, each [channels, modes], complex."""
        a = torch.complex(-torch.exp(self.log_a_real), self.a_imag)
        dt_a = a * torch.exp(self.log_dt)[:, None]
        return torch.exp(dt_a), (torch.exp(dt_a) - 1) / a, torch.view_as_complex(self.c)

    def kernel(self, length: int) -> Tensor:
        """The convolution kernel [channels, length]."""
        d_a, d_b, c = self._discrete()
        powers = torch.exp(torch.log(d_a)[..., None] * torch.arange(length, device=d_a.device))
        return 2 * torch.einsum("cm,cml->cl", c * d_b, powers).real

    def forward(self, u: Tensor) -> Tensor:
        """u [B, L, channels] -> y [B, L, channels]: the causal convolution with the kernel as a lower
        triangular Toeplitz product (ICL prompts are short; unlike an FFT, no output sees a later input
        even by rounding)."""
        length = u.shape[1]
        kernel = self.kernel(length)
        lag = torch.arange(length, device=u.device)[:, None] - torch.arange(length, device=u.device)[None, :]
        toeplitz = torch.where(lag >= 0, kernel[:, lag.clamp(min=0)], 0.0)  # [channels, L, L]
        return torch.einsum("clm,bmc->blc", toeplitz, u) + self.d * u

    def recurrent(self, u: Tensor) -> Tensor:
        """The same layer as a scan over time (the reference for ``forward``)."""
        d_a, d_b, c = self._discrete()
        state = torch.zeros(u.shape[0], *d_a.shape, dtype=d_a.dtype, device=u.device)
        outputs = []
        for t in range(u.shape[1]):
            state = d_a * state + d_b * u[:, t, :, None]
            outputs.append(2 * (c * state).sum(-1).real + self.d * u[:, t])
        return torch.stack(outputs, dim=1)


class S4DMixer(nn.Module):
    """S4D over the channels, then GELU and an output projection (the S4D paper's block); ``n_head`` is
    unused (every channel has its own state space)."""

    def __init__(self, n_embd: int, n_head: int) -> None:
        super().__init__()
        self.ssm = S4D(n_embd)
        self.proj = nn.Linear(n_embd, n_embd)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(F.gelu(self.ssm(x)))


class MixerBlock(nn.Module):
    """Pre-LN block with an attention-free token mixer: x + mix(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, mixer: nn.Module, n_embd: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd)
        self.mix = mixer
        self.ln_2 = nn.LayerNorm(n_embd)
        self.mlp = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.GELU(), nn.Linear(4 * n_embd, n_embd))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.mix(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class MixerModel(SequenceModel):
    """The transformer's read-in, pre-LN blocks and read-out at x positions, with an attention-free token
    mixer in place of attention and no position embedding (the mixers are causal and order-aware)."""

    mixer: typing.ClassVar[type[nn.Module]]

    def __init__(self, config: ModelConfig, n_dims: int, n_positions: int) -> None:
        super().__init__(n_dims, n_positions)
        n_embd, n_layer, n_head = config.dims
        self.config = config
        self.read_in = nn.Linear(n_dims, n_embd)
        self.blocks = nn.ModuleList(MixerBlock(self.mixer(n_embd, n_head), n_embd) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(n_embd)
        self.read_out = nn.Linear(n_embd, 1)

    def forward(self, xs: Tensor, ys: Tensor) -> Tensor:
        h = self.read_in(self.tokens(xs, ys))
        for block in self.blocks:
            h = block(h)
        return self.read_out(self.ln_f(h[:, ::2])).squeeze(-1)


class RetNetModel(MixerModel):
    """Retention in place of attention (RetNet-style)."""

    label = "RetNet"
    mixer = Retention


class S4DModel(MixerModel):
    """A diagonal state space convolution in place of attention (S4D-style)."""

    label = "S4D"
    mixer = S4DMixer


MODELS: dict[str, typing.Callable[[ModelConfig, int, int], SequenceModel]] = {
    "gpt": TransformerModel,
    "lstm": LstmModel,
    "lsa": LinearSelfAttention,
    "retnet": RetNetModel,
    "s4d": S4DModel,
}


def build_model(config: ModelConfig, n_dims: int, n_positions: int) -> SequenceModel:
    """The model a config describes, for prompts of dimension n_dims and up to n_positions examples."""
    if config.family not in MODELS:
        raise ValueError(f"unknown model family {config.family!r}; allowed: {', '.join(MODELS)}")
    return MODELS[config.family](config, n_dims, n_positions)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)

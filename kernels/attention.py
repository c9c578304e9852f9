"""FlashAttention-2-style attention in Triton: forward and backward, causal or not.

``flash_attention(q, k, v, causal)`` takes [B, H, M, D] queries and [B, H, N, D] keys and values
(head dims 16, 32, 64, 128; fp32, fp16 or bf16) and returns softmax(q k^T / sqrt(D)) v, with the
causal mask aligned to the bottom right as in ``kernels.reference`` (key j is visible to query i
when j <= i + N - M). The score matrix is never materialised: the forward keeps an online softmax
per query block and saves its log-sum-exp; the backward recomputes the probabilities block by block,
one kernel for dK/dV (looping over query blocks) and one for dQ (looping over key blocks), so no
atomics are needed.

Short sequences (max(M, N) <= ``SHORT_MAX``, the common ICL case: 2K tokens for K examples) take a
different forward: one program handles ``HEADS_PER_PROGRAM`` heads and the whole sequence in one
tile, so there is one launch over few programs instead of many programs with mostly empty tiles.

Any strides are accepted (the model's q, k, v are permuted views): the kernels address memory
through the strides, so nothing is copied. Block sizes come from ``triton.autotune`` on a GPU and
are small fixed ones under the CPU interpreter (``TRITON_INTERPRET=1``).
"""

from __future__ import annotations

import math
import os
from typing import Any

import torch
from torch import Tensor

try:
    import triton
    import triton.language as tl
except ImportError:  # the error is raised when a kernel is asked for, with the install command
    triton = None

HEAD_DIMS = (16, 32, 64, 128)
DTYPES = (torch.float32, torch.float16, torch.bfloat16)
SHORT_MAX = 128
"""Sequences up to this length take the whole-sequence forward kernel."""
LOG2E = 1.4426950408889634


def interpreting() -> bool:
    """Whether Triton runs its CPU interpreter (TRITON_INTERPRET=1, read when Triton is imported)."""
    return os.environ.get("TRITON_INTERPRET") == "1"


def check_inputs(q: Tensor, k: Tensor, v: Tensor, causal: bool) -> None:
    """Raise a ValueError (before any launch) unless the kernels can take these tensors."""
    if triton is None:
        raise RuntimeError("the triton attention backend needs Triton: pip install 'icl-testbed[gpu]'")
    if q.dim() != 4 or k.dim() != 4 or v.dim() != 4:
        raise ValueError(f"q, k, v must be [B, H, N, D]; got {tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    if k.shape != v.shape or q.shape[:2] != k.shape[:2] or q.shape[3] != k.shape[3]:
        raise ValueError(
            f"shapes do not match: q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)} "
            "(need q [B, H, M, D] and k, v [B, H, N, D])"
        )
    if q.shape[3] not in HEAD_DIMS:
        raise ValueError(f"head dim {q.shape[3]} is not supported; allowed: {', '.join(map(str, HEAD_DIMS))}")
    if not (q.dtype == k.dtype == v.dtype) or q.dtype not in DTYPES:
        raise ValueError(f"q, k, v must share one dtype of fp32, fp16, bf16; got {q.dtype}, {k.dtype}, {v.dtype}")
    if not (q.device == k.device == v.device):
        raise ValueError(f"q, k, v are on different devices: {q.device}, {k.device}, {v.device}")
    if q.device.type != "cuda" and not interpreting():
        raise ValueError(
            f"the triton backend needs CUDA tensors (got {q.device.type}); on a CPU set TRITON_INTERPRET=1 "
            "before starting Python to run the kernels in Triton's interpreter"
        )
    if causal and q.shape[2] > k.shape[2]:
        raise ValueError(f"causal attention needs at most as many queries as keys; got M={q.shape[2]}, N={k.shape[2]}")


if triton is not None:

    @triton.jit
    def _dot(a, b, PRECISION: tl.constexpr, UPCAST: tl.constexpr):
        """a @ b with fp32 accumulation; UPCAST multiplies in fp32 (the interpreter's bf16 dot is wrong)."""
        if UPCAST:
            return tl.dot(a.to(tl.float32), b.to(tl.float32), input_precision="ieee")
        return tl.dot(a, b, input_precision=PRECISION)

    @triton.jit
    def _tile(base, rows, offs_d, row_stride, d_stride, n_rows):
        """The [rows, D] tile at base + rows * row_stride + d * d_stride; rows >= n_rows read as zeros."""
        return tl.load(base + rows[:, None] * row_stride + offs_d[None, :] * d_stride, mask=rows[:, None] < n_rows,
                       other=0.0)  # fmt: skip

    @triton.jit
    def _fwd_kernel(
        Q, K, V, Out, LSE,
        sqb, sqh, sqm, sqd, skb, skh, skn, skd, svb, svh, svn, svd, sob, soh, som, sod,
        n_heads, M, N, scale_log2,
        CAUSAL: tl.constexpr, HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
        PRECISION: tl.constexpr, UPCAST: tl.constexpr,
    ):  # fmt: skip
        """One block of BLOCK_M queries of one (batch, head): online softmax over key blocks."""
        start_m = tl.program_id(0)
        bh = tl.program_id(1)
        b, h = bh // n_heads, bh % n_heads
        offs_m = start_m * BLOCK_M + tl.arange(0, BLOCK_M)
        offs_n = tl.arange(0, BLOCK_N)
        offs_d = tl.arange(0, HEAD_DIM)
        row_ok = offs_m < M
        q = _tile(Q + b * sqb + h * sqh, offs_m, offs_d, sqm, sqd, M)
        m_i = tl.full([BLOCK_M], float("-inf"), tl.float32)
        l_i = tl.zeros([BLOCK_M], tl.float32)
        acc = tl.zeros([BLOCK_M, HEAD_DIM], tl.float32)
        offset = N - M
        end_n = N
        if CAUSAL:
            end_n = tl.minimum(N, (start_m + 1) * BLOCK_M + offset)
        for start_n in range(0, end_n, BLOCK_N):
            cols = start_n + offs_n
            col_ok = cols < N
            kt = tl.trans(_tile(K + b * skb + h * skh, cols, offs_d, skn, skd, N))
            s = _dot(q, kt, PRECISION, UPCAST) * scale_log2
            visible = col_ok[None, :]
            if CAUSAL:
                visible = visible & (cols[None, :] <= offs_m[:, None] + offset)
            s = tl.where(visible, s, float("-inf"))
            m_new = tl.maximum(m_i, tl.max(s, 1))
            alpha = tl.exp2(m_i - m_new)
            p = tl.exp2(s - m_new[:, None])
            l_i = l_i * alpha + tl.sum(p, 1)
            v = _tile(V + b * svb + h * svh, cols, offs_d, svn, svd, N)
            acc = acc * alpha[:, None] + _dot(p.to(v.dtype), v, PRECISION, UPCAST)
            m_i = m_new
        acc = acc / l_i[:, None]
        tl.store(Out + b * sob + h * soh + offs_m[:, None] * som + offs_d[None, :] * sod,
                 acc.to(Out.dtype.element_ty), mask=row_ok[:, None])  # fmt: skip
        tl.store(LSE + bh * M + offs_m, m_i + tl.log2(l_i), mask=row_ok)

    @triton.jit
    def _fwd_short_kernel(
        Q, K, V, Out, LSE,
        sqb, sqh, sqm, sqd, skb, skh, skn, skd, svb, svh, svn, svd, sob, soh, som, sod,
        n_heads, n_bh, M, N, scale_log2,
        CAUSAL: tl.constexpr, HEAD_DIM: tl.constexpr, BLOCK: tl.constexpr, HEADS_PER_PROGRAM: tl.constexpr,
        PRECISION: tl.constexpr, UPCAST: tl.constexpr,
    ):  # fmt: skip
        """HEADS_PER_PROGRAM (batch, head) pairs, each with the whole sequence in one tile."""
        offs = tl.arange(0, BLOCK)
        offs_d = tl.arange(0, HEAD_DIM)
        for i in tl.static_range(HEADS_PER_PROGRAM):
            bh = tl.program_id(0) * HEADS_PER_PROGRAM + i
            b, h = bh // n_heads, bh % n_heads
            live = tl.where(bh < n_bh, 1, 0)  # the last program may have fewer heads
            m_live, n_live = M * live, N * live
            row_ok = offs < m_live
            q = _tile(Q + b * sqb + h * sqh, offs, offs_d, sqm, sqd, m_live)
            kt = tl.trans(_tile(K + b * skb + h * skh, offs, offs_d, skn, skd, n_live))
            s = _dot(q, kt, PRECISION, UPCAST) * scale_log2
            visible = (offs < N)[None, :]
            if CAUSAL:
                visible = visible & (offs[None, :] <= offs[:, None] + N - M)
            s = tl.where(visible, s, float("-inf"))
            m = tl.max(s, 1)
            p = tl.exp2(s - m[:, None])
            l_sum = tl.sum(p, 1)
            v = _tile(V + b * svb + h * svh, offs, offs_d, svn, svd, n_live)
            out = _dot(p.to(v.dtype), v, PRECISION, UPCAST) / l_sum[:, None]
            tl.store(Out + b * sob + h * soh + offs[:, None] * som + offs_d[None, :] * sod,
                     out.to(Out.dtype.element_ty), mask=row_ok[:, None])  # fmt: skip
            tl.store(LSE + bh * M + offs, m + tl.log2(l_sum), mask=row_ok)

    @triton.jit
    def _bwd_dkdv_kernel(
        Q, K, V, DO, LSE, DELTA, DK, DV,
        sqb, sqh, sqm, sqd, skb, skh, skn, skd, svb, svh, svn, svd, sob, soh, som, sod,
        n_heads, M, N, scale_log2, scale,
        CAUSAL: tl.constexpr, HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
        PRECISION: tl.constexpr, UPCAST: tl.constexpr,
    ):  # fmt: skip
        """dK and dV of one block of BLOCK_N keys: loop over the query blocks that see them.

        DK and DV are contiguous [B, H, N, D]; DO has the strides (sob, ...)."""
        start_n = tl.program_id(0)
        bh = tl.program_id(1)
        b, h = bh // n_heads, bh % n_heads
        offs_n = start_n * BLOCK_N + tl.arange(0, BLOCK_N)
        offs_m = tl.arange(0, BLOCK_M)
        offs_d = tl.arange(0, HEAD_DIM)
        col_ok = offs_n < N
        k = _tile(K + b * skb + h * skh, offs_n, offs_d, skn, skd, N)
        v = _tile(V + b * svb + h * svh, offs_n, offs_d, svn, svd, N)
        dk = tl.zeros([BLOCK_N, HEAD_DIM], tl.float32)
        dv = tl.zeros([BLOCK_N, HEAD_DIM], tl.float32)
        offset = N - M
        lo = 0
        if CAUSAL:
            lo = tl.maximum(start_n * BLOCK_N - offset, 0) // BLOCK_M * BLOCK_M
        for start_m in range(lo, M, BLOCK_M):
            rows = start_m + offs_m
            row_ok = rows < M
            q = _tile(Q + b * sqb + h * sqh, rows, offs_d, sqm, sqd, M)
            do = _tile(DO + b * sob + h * soh, rows, offs_d, som, sod, M)
            lse = tl.load(LSE + bh * M + rows, mask=row_ok, other=0.0)
            delta = tl.load(DELTA + bh * M + rows, mask=row_ok, other=0.0)
            s = _dot(q, tl.trans(k), PRECISION, UPCAST) * scale_log2
            visible = row_ok[:, None] & col_ok[None, :]
            if CAUSAL:
                visible = visible & (offs_n[None, :] <= rows[:, None] + offset)
            p = tl.where(visible, tl.exp2(s - lse[:, None]), 0.0)
            dv += _dot(tl.trans(p.to(do.dtype)), do, PRECISION, UPCAST)
            dp = _dot(do, tl.trans(v), PRECISION, UPCAST)
            ds = p * (dp - delta[:, None])
            dk += _dot(tl.trans(ds.to(q.dtype)), q, PRECISION, UPCAST)
        out = bh * N * HEAD_DIM + offs_n[:, None] * HEAD_DIM + offs_d[None, :]
        tl.store(DK + out, (dk * scale).to(DK.dtype.element_ty), mask=col_ok[:, None])
        tl.store(DV + out, dv.to(DV.dtype.element_ty), mask=col_ok[:, None])

    @triton.jit
    def _bwd_dq_kernel(
        Q, K, V, DO, LSE, DELTA, DQ,
        sqb, sqh, sqm, sqd, skb, skh, skn, skd, svb, svh, svn, svd, sob, soh, som, sod,
        n_heads, M, N, scale_log2, scale,
        CAUSAL: tl.constexpr, HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
        PRECISION: tl.constexpr, UPCAST: tl.constexpr,
    ):  # fmt: skip
        """dQ of one block of BLOCK_M queries: loop over the key blocks they see. DQ is contiguous."""
        start_m = tl.program_id(0)
        bh = tl.program_id(1)
        b, h = bh // n_heads, bh % n_heads
        offs_m = start_m * BLOCK_M + tl.arange(0, BLOCK_M)
        offs_n = tl.arange(0, BLOCK_N)
        offs_d = tl.arange(0, HEAD_DIM)
        row_ok = offs_m < M
        q = _tile(Q + b * sqb + h * sqh, offs_m, offs_d, sqm, sqd, M)
        do = _tile(DO + b * sob + h * soh, offs_m, offs_d, som, sod, M)
        lse = tl.load(LSE + bh * M + offs_m, mask=row_ok, other=0.0)
        delta = tl.load(DELTA + bh * M + offs_m, mask=row_ok, other=0.0)
        dq = tl.zeros([BLOCK_M, HEAD_DIM], tl.float32)
        offset = N - M
        end_n = N
        if CAUSAL:
            end_n = tl.minimum(N, (start_m + 1) * BLOCK_M + offset)
        for start_n in range(0, end_n, BLOCK_N):
            cols = start_n + offs_n
            col_ok = cols < N
            k = _tile(K + b * skb + h * skh, cols, offs_d, skn, skd, N)
            v = _tile(V + b * svb + h * svh, cols, offs_d, svn, svd, N)
            s = _dot(q, tl.trans(k), PRECISION, UPCAST) * scale_log2
            visible = row_ok[:, None] & col_ok[None, :]
            if CAUSAL:
                visible = visible & (cols[None, :] <= offs_m[:, None] + offset)
            p = tl.where(visible, tl.exp2(s - lse[:, None]), 0.0)
            dp = _dot(do, tl.trans(v), PRECISION, UPCAST)
            ds = p * (dp - delta[:, None])
            dq += _dot(ds.to(k.dtype), k, PRECISION, UPCAST)
        out = bh * M * HEAD_DIM + offs_m[:, None] * HEAD_DIM + offs_d[None, :]
        tl.store(DQ + out, (dq * scale).to(DQ.dtype.element_ty), mask=row_ok[:, None])

    def _configs(names: tuple[str, ...]) -> list[triton.Config]:
        """Autotuning candidates: tile sizes, warps and pipeline stages."""
        shapes = [(64, 64, 4, 2), (128, 64, 8, 2), (64, 32, 4, 3), (128, 128, 8, 2), (32, 32, 4, 2)]
        return [
            triton.Config(dict(zip(names, (bm, bn))), num_warps=warps, num_stages=stages)
            for bm, bn, warps, stages in shapes
        ]

    _fwd_tuned = triton.autotune(_configs(("BLOCK_M", "BLOCK_N")), key=["M", "N", "HEAD_DIM", "CAUSAL"])(_fwd_kernel)
    _fwd_short_tuned = triton.autotune(
        [triton.Config({"HEADS_PER_PROGRAM": n}, num_warps=w) for n in (1, 2, 4, 8) for w in (4, 8)],
        key=["n_bh", "M", "N", "HEAD_DIM", "CAUSAL"],
    )(_fwd_short_kernel)
    _dkdv_tuned = triton.autotune(_configs(("BLOCK_M", "BLOCK_N")), key=["M", "N", "HEAD_DIM", "CAUSAL"])(
        _bwd_dkdv_kernel
    )
    _dq_tuned = triton.autotune(_configs(("BLOCK_M", "BLOCK_N")), key=["M", "N", "HEAD_DIM", "CAUSAL"])(_bwd_dq_kernel)

INTERPRETER_BLOCK = 16
"""Tile size under the CPU interpreter (small shapes, fast enough for tests)."""


def _strides(*tensors: Tensor) -> list[int]:
    return [s for t in tensors for s in t.stride()]


def _flags(dtype: torch.dtype, causal: bool, head_dim: int) -> dict[str, bool | int | str]:
    """Compile-time flags: fp32 inputs get IEEE fp32 dot products (not TF32), so they match the
    reference closely; under the interpreter bf16 products are taken in fp32 (Triton 3.9's
    interpreter returns garbage for bf16 tl.dot; its loads, stores and casts are right)."""
    return {
        "CAUSAL": causal,
        "HEAD_DIM": head_dim,
        "PRECISION": "ieee" if dtype == torch.float32 else "tf32",
        "UPCAST": interpreting() and dtype == torch.bfloat16,
    }


def _forward(q: Tensor, k: Tensor, v: Tensor, causal: bool) -> tuple[Tensor, Tensor]:
    batch, heads, m, head_dim = q.shape
    n = k.shape[2]
    out = torch.empty(batch, heads, m, head_dim, dtype=q.dtype, device=q.device)
    lse = torch.empty(batch * heads, m, dtype=torch.float32, device=q.device)
    scale_log2 = LOG2E / math.sqrt(head_dim)
    common = (*_strides(q, k, v, out), heads)
    flags = _flags(q.dtype, causal, head_dim)
    n_bh = batch * heads
    if max(m, n) <= SHORT_MAX:
        block = max(16, triton.next_power_of_2(max(m, n)))
        args = (q, k, v, out, lse, *common, n_bh, m, n, scale_log2)
        if interpreting():
            _fwd_short_kernel[(triton.cdiv(n_bh, 2),)](*args, BLOCK=block, HEADS_PER_PROGRAM=2, **flags)
        else:
            grid = lambda meta: (triton.cdiv(n_bh, meta["HEADS_PER_PROGRAM"]),)  # noqa: E731
            _fwd_short_tuned[grid](*args, BLOCK=block, **flags)
        return out, lse
    args = (q, k, v, out, lse, *common, m, n, scale_log2)
    if interpreting():
        block = INTERPRETER_BLOCK
        _fwd_kernel[(triton.cdiv(m, block), n_bh)](*args, BLOCK_M=block, BLOCK_N=block, **flags)
    else:
        _fwd_tuned[lambda meta: (triton.cdiv(m, meta["BLOCK_M"]), n_bh)](*args, **flags)
    return out, lse


def _backward(
    q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, grad: Tensor, causal: bool
) -> tuple[Tensor, Tensor, Tensor]:
    batch, heads, m, head_dim = q.shape
    n = k.shape[2]
    n_bh = batch * heads
    delta = (grad.float() * out.float()).sum(dim=-1).reshape(n_bh, m)
    dq = torch.empty(batch, heads, m, head_dim, dtype=q.dtype, device=q.device)
    dk = torch.empty(batch, heads, n, head_dim, dtype=k.dtype, device=q.device)
    dv = torch.empty_like(dk, dtype=v.dtype)
    scale = 1.0 / math.sqrt(head_dim)
    common = (*_strides(q, k, v, grad), heads, m, n, scale * LOG2E, scale)
    flags = _flags(q.dtype, causal, head_dim)
    dkdv_args = (q, k, v, grad, lse, delta, dk, dv, *common)
    dq_args = (q, k, v, grad, lse, delta, dq, *common)
    if interpreting():
        block = INTERPRETER_BLOCK
        blocks = {"BLOCK_M": block, "BLOCK_N": block}
        _bwd_dkdv_kernel[(triton.cdiv(n, block), n_bh)](*dkdv_args, **blocks, **flags)
        _bwd_dq_kernel[(triton.cdiv(m, block), n_bh)](*dq_args, **blocks, **flags)
    else:
        _dkdv_tuned[lambda meta: (triton.cdiv(n, meta["BLOCK_N"]), n_bh)](*dkdv_args, **flags)
        _dq_tuned[lambda meta: (triton.cdiv(m, meta["BLOCK_M"]), n_bh)](*dq_args, **flags)
    return dq, dk, dv


class _FlashAttention(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, q: Tensor, k: Tensor, v: Tensor, causal: bool) -> Tensor:
        out, lse = _forward(q, k, v, causal)
        ctx.save_for_backward(q, k, v, out, lse)
        ctx.causal = causal
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, Tensor, Tensor, None]:
        q, k, v, out, lse = ctx.saved_tensors
        return (*_backward(q, k, v, out, lse, grad, ctx.causal), None)


def flash_attention(q: Tensor, k: Tensor, v: Tensor, causal: bool) -> Tensor:
    """softmax(q k^T / sqrt(D) [+ causal mask]) v by the Triton kernels, differentiable in q, k, v."""
    check_inputs(q, k, v, causal)
    return _FlashAttention.apply(q, k, v, causal)

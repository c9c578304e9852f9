"""The Triton attention kernels against the plain-torch reference: forward, gradients, bad input.

Without a GPU these run in Triton's CPU interpreter (tests/conftest.py sets TRITON_INTERPRET=1), on
small shapes; the tests marked ``gpu`` run the full set of shapes and dtypes on a CUDA device.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from icl import config as cfg
from icl.runs import read_metrics
from icl.train import train
from kernels.attention import SHORT_MAX, flash_attention
from kernels.reference import attention_reference

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
TOLERANCE = {torch.float32: 1e-4, torch.float16: 5e-3, torch.bfloat16: 4e-2}


def inputs(shape_q: tuple, n_keys: int, dtype: torch.dtype, seed: int = 0) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    batch, heads, _, head_dim = shape_q
    shapes = [shape_q, (batch, heads, n_keys, head_dim), (batch, heads, n_keys, head_dim)]
    return [torch.randn(s, generator=generator).to(DEVICE, dtype).requires_grad_() for s in shapes]


def check_against_reference(shape_q: tuple, n_keys: int, causal: bool, dtype: torch.dtype) -> None:
    """Output and dQ, dK, dV within the dtype's tolerance of the fp32 reference."""
    q, k, v = inputs(shape_q, n_keys, dtype)
    out = flash_attention(q, k, v, causal)
    grad = torch.randn(out.shape, generator=torch.Generator().manual_seed(1)).to(DEVICE, dtype)
    out.backward(grad)
    ours = [out, q.grad, k.grad, v.grad]
    ref_inputs = [x.detach().float().requires_grad_() for x in (q, k, v)]
    ref = attention_reference(*ref_inputs, causal)
    ref.backward(grad.float())
    expected = [ref, *(x.grad for x in ref_inputs)]
    for name, a, b in zip(("out", "dq", "dk", "dv"), ours, expected):
        error = (a.float() - b).abs().max().item()
        assert error <= TOLERANCE[dtype] * max(1.0, b.abs().max().item()), f"{name}: max error {error:.2e}"


CPU_SHAPES = [
    ((2, 3, 5, 16), 5, True),  # whole-sequence (ICL) kernel, tiny
    ((1, 2, 37, 32), 37, False),  # lengths not divisible by the block
    ((1, 2, 37, 32), 37, True),
    ((1, 1, 9, 128), 9, True),
    ((1, 1, SHORT_MAX + 22, 16), SHORT_MAX + 22, True),  # tiled kernel with a masked tail
    ((1, 2, 20, 64), SHORT_MAX + 22, True),  # fewer queries than keys: bottom-right causal mask
    ((1, 1, SHORT_MAX + 3, 16), SHORT_MAX + 30, False),
]


@pytest.mark.parametrize(("shape_q", "n_keys", "causal"), CPU_SHAPES)
def test_matches_reference_fp32(shape_q: tuple, n_keys: int, causal: bool) -> None:
    check_against_reference(shape_q, n_keys, causal, torch.float32)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize(("shape_q", "n_keys"), [((1, 2, 37, 32), 37), ((1, 1, SHORT_MAX + 5, 16), SHORT_MAX + 5)])
def test_matches_reference_half_precision(shape_q: tuple, n_keys: int, dtype: torch.dtype) -> None:
    check_against_reference(shape_q, n_keys, True, dtype)


def test_strided_inputs_are_read_in_place() -> None:
    """The model passes permuted views of one qkv tensor; the result equals that of contiguous copies."""
    qkv = torch.randn(2, 21, 3, 2, 16, generator=torch.Generator().manual_seed(0)).to(DEVICE)
    q, k, v = qkv.permute(2, 0, 3, 1, 4)
    assert not q.is_contiguous()
    assert torch.equal(
        flash_attention(q, k, v, True), flash_attention(q.contiguous(), k.contiguous(), v.contiguous(), True)
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: (torch.randn(1, 2, 8, 16), torch.randn(1, 2, 8, 32), torch.randn(1, 2, 8, 32)), "shapes do not match"),
        (lambda: (torch.randn(1, 2, 8, 16), torch.randn(1, 3, 8, 16), torch.randn(1, 3, 8, 16)), "shapes do not match"),
        (lambda: (torch.randn(2, 8, 16),) * 3, "must be \\[B, H, N, D\\]"),
        (lambda: (torch.randn(1, 1, 8, 24),) * 3, "head dim 24 is not supported; allowed: 16, 32, 64, 128"),
        (
            lambda: (torch.randn(1, 1, 8, 16), torch.randn(1, 1, 8, 16).half(), torch.randn(1, 1, 8, 16)),
            "must share one dtype",
        ),
        (lambda: (torch.ones(1, 1, 8, 16, dtype=torch.int32),) * 3, "must share one dtype of fp32, fp16, bf16"),
        (
            lambda: (torch.randn(1, 1, 8, 16), torch.randn(1, 1, 8, 16, device="meta"), torch.randn(1, 1, 8, 16)),
            "different devices",
        ),
    ],
)
def test_bad_input_is_refused_before_launch(make: Callable[[], tuple[torch.Tensor, ...]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        flash_attention(*make(), False)


def test_causal_needs_enough_keys() -> None:
    q = torch.randn(1, 1, 9, 16)
    with pytest.raises(ValueError, match="causal attention needs at most as many queries as keys"):
        flash_attention(q, q[:, :, :5], q[:, :, :5], True)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CPU tensors are fine on a GPU machine with the interpreter off")
def test_cpu_tensors_need_the_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRITON_INTERPRET")
    q = torch.randn(1, 1, 8, 16)
    with pytest.raises(ValueError, match="needs CUDA tensors .*TRITON_INTERPRET=1"):
        flash_attention(q, q, q, True)


@pytest.mark.pipeline
def test_training_with_triton_matches_sdpa(tiny_config: cfg.RunConfig, tmp_path: Path) -> None:
    """A short run gives the same loss curve with our kernels as with torch's SDPA: four steps, so three
    updates made with the backward kernel's gradients (Triton's CPU interpreter is slow)."""
    train_config = replace(tiny_config.train, steps=4, batch_size=8, log_every=1, checkpoint_every=4)
    config = replace(tiny_config, train=train_config)
    curves = {}
    for backend in ("sdpa", "triton"):
        run = replace(config, name=backend, model=replace(config.model, backend=backend))
        curves[backend] = [m["loss"] for m in read_metrics(train(run, tmp_path))]
    assert curves["triton"] == pytest.approx(curves["sdpa"], rel=1e-4)


GPU_SHAPES = [
    (batch, heads, n, head_dim, causal)
    for batch, heads, n in [(64, 8, 82), (256, 4, 202), (4, 16, 1000), (2, 16, 4096)]
    for head_dim in (16, 32, 64, 128)
    for causal in (False, True)
]


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize(("batch", "heads", "n", "head_dim", "causal"), GPU_SHAPES)
def test_gpu_full_matrix(batch: int, heads: int, n: int, head_dim: int, causal: bool, dtype: torch.dtype) -> None:
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    check_against_reference((batch, heads, n, head_dim), n, causal, dtype)

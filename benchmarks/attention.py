"""Attention speed on a GPU: our Triton kernels vs torch SDPA (flash backend) vs the math reference.

Two shape families, bf16: (a) ICL shapes — batch 64-512, heads 4-8, 82-402 tokens (41-201
examples x 2), head dims 16-64, causal; (b) standard shapes — batch 4, heads 16, 512-8192 tokens,
head dims 64 and 128, causal and not. For each: forward and forward+backward time (median of
``triton.testing.do_bench``), TFLOP/s (4 B H M N D for the forward, halved when causal; 2.5x
that for the backward, FlashAttention's convention) and the ratio of SDPA's time to ours (> 1 means
we are faster). The math reference is timed on the ICL shapes only (it materialises the scores).
Writes benchmarks/out/attention.csv and a seaborn plot beside it.

    python benchmarks/attention.py            # needs a CUDA GPU
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import seaborn as sns
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from kernels.attention import flash_attention
from kernels.reference import attention_reference
from paper_figs.plots import new_figure, save_figure

ICL_SHAPES = [
    (batch, heads, 2 * examples, head_dim)
    for batch in (64, 512)
    for heads in (4, 8)
    for examples in (41, 201)
    for head_dim in (16, 64)
]
STANDARD_SHAPES = [(4, 16, n, head_dim) for n in (512, 1024, 2048, 4096, 8192) for head_dim in (64, 128)]
H100_BF16_PEAK_TFLOPS = 989.0


def sdpa_flash(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool) -> torch.Tensor:
    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)


IMPLEMENTATIONS: dict[str, Callable[..., torch.Tensor]] = {
    "triton (ours)": flash_attention,
    "sdpa (flash)": sdpa_flash,
    "math": attention_reference,
}


def time_ms(fn: Callable[[], object]) -> float:
    from triton.testing import do_bench

    return float(do_bench(fn, warmup=25, rep=100, return_mode="median"))


def measure(shape: tuple[int, int, int, int], causal: bool, family: str, with_math: bool) -> list[dict]:
    batch, heads, n, head_dim = shape
    q, k, v = (torch.randn(shape, device="cuda", dtype=torch.bfloat16, requires_grad=True) for _ in range(3))
    grad = torch.randn(shape, device="cuda", dtype=torch.bfloat16)
    flops = 4 * batch * heads * n * n * head_dim * (0.5 if causal else 1.0)
    rows = []
    for name, attention in IMPLEMENTATIONS.items():
        if name == "math" and not with_math:
            continue

        def forward() -> torch.Tensor:
            return attention(q, k, v, causal)

        def forward_backward() -> None:
            torch.autograd.grad(attention(q, k, v, causal), (q, k, v), grad)

        for pass_name, fn, pass_flops in (
            ("forward", forward, flops),
            ("forward+backward", forward_backward, 3.5 * flops),
        ):
            with torch.no_grad() if pass_name == "forward" else torch.enable_grad():
                ms = time_ms(fn)
            rows.append(
                {
                    "family": family,
                    "batch": batch,
                    "heads": heads,
                    "tokens": n,
                    "head_dim": head_dim,
                    "causal": causal,
                    "implementation": name,
                    "pass": pass_name,
                    "ms": ms,
                    "tflops": pass_flops / ms / 1e9,
                }
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/out", help="folder for attention.csv/.png/.pdf")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("benchmarks/attention.py needs a CUDA GPU (the CPU interpreter is for correctness only)", file=sys.stderr)
        return 2
    rows = []
    for shape in ICL_SHAPES:
        rows += measure(shape, True, "ICL", with_math=True)
    for shape in STANDARD_SHAPES:
        for causal in (False, True):
            rows += measure(shape, causal, "standard", with_math=False)
    data = pd.DataFrame(rows)
    keys = ["family", "batch", "heads", "tokens", "head_dim", "causal", "pass"]
    sdpa = data[data.implementation == "sdpa (flash)"].set_index(keys)["ms"]
    data["speedup_vs_sdpa"] = sdpa.reindex(pd.MultiIndex.from_frame(data[keys])).to_numpy() / data["ms"]
    ours = data[data.implementation == "triton (ours)"]
    for (family, pass_name), group in ours.groupby(["family", "pass"]):
        print(
            f"{family:8s} {pass_name:16s} speed vs SDPA: min {group.speedup_vs_sdpa.min():.2f}x, "
            f"median {group.speedup_vs_sdpa.median():.2f}x; best {group.tflops.max():.0f} TFLOP/s "
            f"({group.tflops.max() / H100_BF16_PEAK_TFLOPS:.1%} of the H100's bf16 peak)"
        )
    data["shape"] = data.apply(
        lambda r: f"{r.batch}x{r.heads}x{r.tokens}x{r.head_dim}{' c' if r.causal else ''}", axis=1
    )
    plotted = data[data.implementation == "triton (ours)"]
    fig, axes = new_figure(2, width_in=9.0, height_in=4.5)
    for ax, family in zip(axes, ("ICL", "standard")):
        sns.barplot(plotted[plotted.family == family], x="shape", y="speedup_vs_sdpa", hue="pass", ax=ax)
        ax.axhline(1.0, color="k", lw=1)
        ax.set(
            title=f"{family} shapes, bf16 (B x H x tokens x D, c = causal)",
            xlabel="shape",
            ylabel="SDPA time / our time (higher is faster)",
        )
        ax.tick_params(axis="x", rotation=90)
    for path in save_figure(fig, data, Path(args.out) / "attention"):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

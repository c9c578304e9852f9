"""Training steps/s of our transformer vs a Hugging Face GPT-2 of the same size, same inputs.

The GPT-2 side is Garg et al.'s model: a linear read-in, ``GPT2Model`` on ``inputs_embeds``
(dropout off, no cache) and a linear read-out at the x positions. Both train on the
same prompts, each with its own optimizer set-up (ours: ``icl.train.make_optimizer``, fused AdamW;
Garg et al.'s: torch's default Adam); timings alternate between the two in one process and the median of the repeats is
reported. Prints steps/s for each and the ratio ours / GPT-2.

    make setup-bench   # transformers 4.x, the `bench` extra
    python benchmarks/train_speed.py --size tiny --n-dims 20 --n-points 41 --device cpu
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import Tensor, nn

import tasks
from icl.config import MODEL_SIZES, ModelConfig, TrainConfig
from icl.models import build_model
from icl.train import make_optimizer, prompt_loss

try:
    from transformers import GPT2Config, GPT2Model
except ImportError:
    raise SystemExit("the GPT-2 side needs Hugging Face transformers 4.x: `make setup-bench` installs it") from None


class GargGPT2(nn.Module):
    """Garg et al.'s TransformerModel: read-in, Hugging Face GPT-2 backbone, read-out."""

    def __init__(self, n_dims: int, n_positions: int, n_embd: int, n_layer: int, n_head: int) -> None:
        super().__init__()
        config = GPT2Config(
            n_positions=2 * n_positions,
            n_embd=n_embd,
            n_layer=n_layer,
            n_head=n_head,
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
            use_cache=False,
        )
        self.read_in = nn.Linear(n_dims, n_embd)
        self.backbone = GPT2Model(config)
        self.read_out = nn.Linear(n_embd, 1)

    def forward(self, xs: Tensor, ys: Tensor) -> Tensor:
        batch, n_points, n_dims = xs.shape
        ys_wide = torch.cat([ys.unsqueeze(-1), xs.new_zeros(batch, n_points, n_dims - 1)], dim=-1)
        zs = torch.stack([xs, ys_wide], dim=2).view(batch, 2 * n_points, n_dims)
        hidden = self.backbone(inputs_embeds=self.read_in(zs)).last_hidden_state
        return self.read_out(hidden)[:, ::2, 0]


def time_steps(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    prompts: list[tasks.Prompt],
    device: torch.device,
    autocast: bool,
) -> float:
    """Seconds per training step, averaged over ``prompts``."""
    context = torch.autocast("cuda", dtype=torch.bfloat16) if autocast else torch.autocast("cpu", enabled=False)

    def step(prompt: tasks.Prompt) -> None:
        with context:
            loss = prompt_loss("squared_error", model(prompt.xs, prompt.ys), prompt.ys)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step(prompts[0])
    if device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for prompt in prompts:
        step(prompt)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - started) / len(prompts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=list(MODEL_SIZES), default="tiny")
    parser.add_argument("--n-dims", type=int, default=20)
    parser.add_argument("--n-points", type=int, default=41)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=30, help="timed steps per repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()

    device = torch.device(args.device)
    n_embd, n_layer, n_head = MODEL_SIZES[args.size]
    task = tasks.get("linear_regression", args.n_dims)
    generator = torch.Generator().manual_seed(0)
    prompts = [task.sample(args.batch_size, args.n_points, generator).to(device) for _ in range(args.steps)]
    torch.manual_seed(0)
    ours = build_model(ModelConfig(size=args.size, backend="sdpa"), args.n_dims, args.n_points).to(device)
    theirs = GargGPT2(args.n_dims, args.n_points, n_embd, n_layer, n_head).to(device)
    ours_optimizer = make_optimizer(ours, TrainConfig(lr=1e-4))
    theirs_optimizer = torch.optim.Adam(theirs.parameters(), lr=1e-4)
    autocast = device.type == "cuda"

    ours_s, theirs_s = [], []
    for _ in range(args.repeats):
        ours_s.append(time_steps(ours, ours_optimizer, prompts, device, autocast))
        theirs_s.append(time_steps(theirs, theirs_optimizer, prompts, device, autocast))
    ours_med, theirs_med = statistics.median(ours_s), statistics.median(theirs_s)
    print(
        f"device={device.type} size={args.size} ({n_embd}/{n_layer}/{n_head}) d={args.n_dims} K={args.n_points} "
        f"batch={args.batch_size} threads={torch.get_num_threads()}"
    )
    print(f"ours (icl.models, sdpa):   {1 / ours_med:8.1f} steps/s")
    print(f"Hugging Face GPT-2 (Garg): {1 / theirs_med:8.1f} steps/s")
    print(f"ratio ours / GPT-2:        {theirs_med / ours_med:8.2f}x")


if __name__ == "__main__":
    main()

"""Shared fixtures: deterministic threads and tiny run configs; Triton's CPU interpreter without a GPU."""

from __future__ import annotations

import os

import pytest
import torch

if not torch.cuda.is_available():
    # read by Triton when kernels are defined, so it must be set before kernels.attention is imported
    os.environ.setdefault("TRITON_INTERPRET", "1")

from icl import config as cfg


@pytest.fixture(autouse=True)
def _deterministic_threads() -> None:
    torch.set_num_threads(2)


@pytest.fixture
def tiny_config() -> cfg.RunConfig:
    """A run that trains in a second or two on CPU."""
    return cfg.load(
        None,
        [
            "name=tiny",
            "task.n_dims=3",
            "task.n_points=7",
            "model.n_embd=32",
            "model.n_layer=2",
            "train.steps=40",
            "train.batch_size=16",
            "train.lr=1e-3",
            "train.log_every=5",
            "train.checkpoint_every=20",
            "eval.n_prompts=64",
        ],
    )

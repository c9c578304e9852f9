"""Shared fixtures: thread counts that fit the machine, tiny run configs; Triton's CPU interpreter without a GPU.

Threads: one pool of ``ICL_TEST_THREADS`` threads per test process (default: the CPUs this process
may run on, shared out between pytest-xdist's workers, at most 2), for torch here and, through the
environment, for every child process and BLAS, so that the suite never runs more busy threads
than cores even when other work shares the machine.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", 1))
THREADS = int(os.environ.get("ICL_TEST_THREADS", max(1, min(2, len(os.sched_getaffinity(0)) // WORKERS))))
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = str(THREADS)  # also over what xdist's workers inherit from the controller

import pytest  # noqa: E402
import torch  # noqa: E402

if not torch.cuda.is_available():
    # read by Triton when kernels are defined, so it must be set before kernels.attention is imported
    os.environ.setdefault("TRITON_INTERPRET", "1")

from icl import config as cfg  # noqa: E402 - after TRITON_INTERPRET is set


@pytest.fixture(autouse=True)
def _deterministic_threads() -> None:
    torch.set_num_threads(THREADS)


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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without the system's ns-3 (a machine without root or apt), the tests that run it are skipped
    with a message saying how to get it; ``make test`` installs it first, so they run there."""
    marked = [item for item in items if item.get_closest_marker("ns3")]
    if not marked:
        return
    from sim.ns3 import ns3_available

    if ns3_available():
        return
    skip = pytest.mark.skip(
        reason="ns-3 not found (pkg-config ns3-core, protoc, g++): `make ns3` installs it from Debian's packages "
        "(root); see the README's 'Without root'"
    )
    for item in marked:
        item.add_marker(skip)


@pytest.fixture
def pass_env_checkers() -> Callable[[Any], None]:
    """Gymnasium's and Stable-Baselines3's env checkers, warnings as errors, on a made env (SB3's on its
    wrappers too, as a training run sees it)."""
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    def check(env: Any) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            check_env(env.unwrapped)
            sb3_check_env(env.unwrapped)
            sb3_check_env(env)

    return check

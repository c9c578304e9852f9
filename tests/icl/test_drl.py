from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from icl.drl import WINDOWS, DqnAgent
from sim.env import CsmaEnv, Embedded
from theory import bianchi


@pytest.mark.pipeline
def test_dqn_learns_a_good_window_for_a_fixed_network(tmp_path: Path) -> None:
    agent = DqnAgent(seed=0)
    agent.train(lambda episode: CsmaEnv(40, backend=Embedded(1000)), n_episodes=24, episode_steps=20)
    trace = agent.run(CsmaEnv(40, backend=Embedded(5000)), 8, seed=3)
    chosen = trace.windows[-1]
    best = max(WINDOWS, key=lambda w: float(bianchi.throughput(40, w)))
    assert float(bianchi.throughput(40, chosen)) >= 0.95 * float(bianchi.throughput(40, best)), trace.windows
    agent.save(tmp_path / "dqn.pt")
    clone = DqnAgent(seed=1)
    clone.load(tmp_path / "dqn.pt")
    state = np.array([0.1, 0.2, 0.3, 0.2])
    assert clone.act(state) == agent.act(state)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"gamma": 1.0}, r"gamma must be in \[0, 1\)"),
        ({"batch_size": 10, "buffer_size": 5}, "buffer_size >= batch_size"),
    ],
)
def test_bad_parameters(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DqnAgent(**kwargs)

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from control.drl import DrlAgent, window_of
from sim.env import DISCRETE_WINDOWS, CsmaEnv, Embedded
from theory import bianchi


@pytest.mark.pipeline
@pytest.mark.parametrize("algorithm", ["dqn", "td3"])
def test_agent_learns_a_good_window_for_a_fixed_network(algorithm: str, tmp_path: Path) -> None:
    """Trained on N = 40 alone, the greedy agent holds a window within 5% of the best throughput (DQN:
    of its seven windows), and a saved agent acts like the original."""
    agent = DrlAgent(algorithm, seed=0)
    states = random.getstate(), np.random.get_state()[1].copy(), torch.random.get_rng_state()
    agent.train(lambda episode: CsmaEnv(40, backend=Embedded(1000)), n_episodes=24, episode_steps=20)
    after = random.getstate(), np.random.get_state()[1], torch.random.get_rng_state()
    assert states[0] == after[0] and (states[1] == after[1]).all() and torch.equal(states[2], after[2])
    trace = agent.run(CsmaEnv(40, backend=Embedded(5000)), 8, seed=3)
    best = max(DISCRETE_WINDOWS, key=lambda w: float(bianchi.throughput(40, w)))
    held = float(np.mean([bianchi.throughput(40, w) for w in trace.windows[-4:]]))
    assert held >= 0.95 * float(bianchi.throughput(40, best)), trace.windows
    agent.save(tmp_path / "agent.zip")
    clone = DrlAgent(algorithm, seed=1)
    clone.load(tmp_path / "agent.zip")
    assert clone.run(CsmaEnv(40, backend=Embedded(5000)), 8, seed=3).windows == trace.windows


def test_actions_map_to_windows() -> None:
    assert [window_of(a, "dqn") for a in (0, 6)] == [16, 1024]
    assert [window_of(np.array([a]), "td3") for a in (-1.0, 0.0, 1.0, 3.0)] == [16, 128, 1024, 1024]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: DrlAgent(gamma=1.0), r"gamma must be in \[0, 1\)"),
        (lambda: DrlAgent("ppo"), "unknown DRL algorithm 'ppo'; allowed: dqn, td3"),
        (lambda: DrlAgent(history=0), "history must be a positive integer"),
        (lambda: DrlAgent().run(CsmaEnv(5), 3), "not trained"),
    ],
)
def test_bad_parameters(make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises((ValueError, RuntimeError), match=message):
        make()

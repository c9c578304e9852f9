"""A deep Q-network contention-window agent in the manner of CCOD (Wydmanski & Szott 2021).

Actions are the windows W = 2^(a + 4), a = 0..6 (16..1024, CWmin = CWmax); the state is the
history of the last ``history`` observed collision probabilities; the reward is the throughput of
the step (scaled by 1/30 Mb/s). Double DQN with a replay buffer, epsilon-greedy exploration and a
target network, trained on ``sim.CsmaEnv`` episodes with N drawn per episode. It is the learned
baseline the ICL controller is compared with: it must be trained per deployment range, and it
recovers after a change of N as fast as its collision history refreshes.
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from icl.csma import Trace
from icl.io import atomic_path
from sim.env import CsmaEnv

WINDOWS = [2 ** (a + 4) for a in range(7)]
REWARD_SCALE_MBPS = 30.0


class DqnAgent:
    """DQN over the collision-probability history; ``train`` then ``run`` (greedy, frozen)."""

    def __init__(
        self,
        history: int = 4,
        hidden: int = 64,
        lr: float = 1e-3,
        gamma: float = 0.7,
        batch_size: int = 64,
        buffer_size: int = 10_000,
        target_every: int = 100,
        seed: int = 0,
    ) -> None:
        if history < 1 or hidden < 1 or batch_size < 1 or buffer_size < batch_size:
            raise ValueError("history, hidden and batch_size must be positive and buffer_size >= batch_size")
        if not 0 <= gamma < 1:
            raise ValueError(f"gamma must be in [0, 1), got {gamma}")
        self.history = history
        self.gamma = gamma
        self.batch_size = batch_size
        self.target_every = target_every
        self.rng = np.random.default_rng(seed)
        with torch.random.fork_rng(devices=[]):  # the seed decides the weights, not the caller's RNG
            torch.manual_seed(seed)
            self.q = nn.Sequential(
                nn.Linear(history, hidden),
                nn.ReLU(),
                nn.Linear(hidden, hidden),
                nn.ReLU(),
                nn.Linear(hidden, len(WINDOWS)),
            )
        self.target = copy.deepcopy(self.q)
        self.optimizer = torch.optim.Adam(self.q.parameters(), lr=lr)
        self.buffer: deque[tuple[np.ndarray, int, float, np.ndarray]] = deque(maxlen=buffer_size)

    def act(self, state: np.ndarray, epsilon: float = 0.0) -> int:
        """Epsilon-greedy action index."""
        if self.rng.random() < epsilon:
            return int(self.rng.integers(len(WINDOWS)))
        with torch.no_grad():
            return int(self.q(torch.as_tensor(state, dtype=torch.float32)).argmax())

    def _learn(self) -> None:
        batch = [self.buffer[i] for i in self.rng.integers(len(self.buffer), size=self.batch_size)]
        states, actions, rewards, next_states = (torch.as_tensor(np.array(x), dtype=torch.float32) for x in zip(*batch))
        with torch.no_grad():
            best_next = self.q(next_states).argmax(dim=1, keepdim=True)
            targets = rewards + self.gamma * self.target(next_states).gather(1, best_next).squeeze(1)
        predicted = self.q(states).gather(1, actions.long().unsqueeze(1)).squeeze(1)
        loss = nn.functional.smooth_l1_loss(predicted, targets)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()

    def train(self, make_env: Callable[[int], CsmaEnv], n_episodes: int, episode_steps: int) -> list[float]:
        """Train on ``n_episodes`` fresh environments (``make_env(episode)``); mean reward per episode."""
        rewards_per_episode = []
        total_steps = n_episodes * episode_steps
        step = 0
        for episode in range(n_episodes):
            env = make_env(episode)
            env.reset(seed=episode)
            state = np.zeros(self.history)
            rewards = []
            for _ in range(episode_steps):
                epsilon = max(0.05, 1.0 - step / (0.6 * total_steps))
                action = self.act(state, epsilon)
                observation, reward, _, _, _ = env.step(WINDOWS[action])
                next_state = np.append(state[1:], observation[0])
                self.buffer.append((state, action, reward / REWARD_SCALE_MBPS, next_state))
                state = next_state
                rewards.append(reward)
                step += 1
                if len(self.buffer) >= self.batch_size:
                    self._learn()
                if step % self.target_every == 0:
                    self.target.load_state_dict(self.q.state_dict())
            env.close()
            rewards_per_episode.append(float(np.mean(rewards)))
        return rewards_per_episode

    def save(self, path: str | Path) -> None:
        """Write the Q-network atomically."""
        with atomic_path(path) as tmp:
            torch.save({"q": self.q.state_dict(), "history": self.history}, tmp)

    def load(self, path: str | Path) -> None:
        """Read a Q-network written by ``save``."""
        state = torch.load(path, weights_only=True)
        if state["history"] != self.history:
            raise ValueError(f"{path}: agent has history {state['history']}, this one {self.history}")
        self.q.load_state_dict(state["q"])
        self.target.load_state_dict(state["q"])

    def run(self, env: CsmaEnv, n_steps: int, seed: int = 0) -> Trace:
        """Greedy control of ``env`` with the trained network."""
        trace = Trace()
        env.reset(seed=seed)
        state = np.zeros(self.history)
        for _ in range(n_steps):
            window = WINDOWS[self.act(state)]
            observation, _, _, _, info = env.step(window)
            trace.record(window, observation, info, probing=False)
            state = np.append(state[1:], observation[0])
        return trace

"""Deep-RL contention-window agents from Stable-Baselines3, in the set-up of CCOD (Wydmanski & Szott 2021).

The state is the history of the last ``history`` measured collision probabilities; the reward is the
step's throughput scaled by 1/30 Mb/s. ``algorithm="dqn"`` chooses among the windows
W = 2^(a + 4), a = 0..6 (16..1024, CWmin = CWmax); ``"td3"`` (the successor of CCOD's DDPG) sets a
continuous log2 W in [4, 10]. Agents are trained on ``sim.CsmaEnv`` episodes with N drawn per episode
and then act greedily; they are the learned baselines the ICL controller is compared with: they must be
trained per deployment range, and they follow a change of N as fast as their history refreshes.
"""

from __future__ import annotations

import contextlib
import io
import math
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3 import DQN, TD3
from stable_baselines3.common.noise import NormalActionNoise

from control.controller import Trace
from icl.io import atomic_path
from sim.env import DISCRETE_WINDOWS, RENDER_MODES, CsmaEnv, Observation, ansi_frame
from sim.timing import to_window

LOG2_WINDOW_RANGE = (math.log2(DISCRETE_WINDOWS[0]), math.log2(DISCRETE_WINDOWS[-1]))
"""TD3's action [-1, 1] spans these octaves: those of DQN's windows (CCOD's 16..1024)."""
REWARD_SCALE_MBPS = 30.0
ALGORITHMS: dict[str, type[DQN] | type[TD3]] = {"dqn": DQN, "td3": TD3}


def window_of(action: Any, algorithm: str) -> int:
    """The window an agent's action stands for: a window index (DQN) or a point of [-1, 1] on log2 W (TD3)."""
    if algorithm == "dqn":
        return DISCRETE_WINDOWS[int(action)]
    low, high = LOG2_WINDOW_RANGE
    return round(
        float(to_window(low + (float(np.clip(np.asarray(action).reshape(-1)[0], -1, 1)) + 1) / 2 * (high - low)))
    )


class CcodEnv(gym.Env):
    """CCOD's view of a ``CsmaEnv``: the collision history as state, scaled throughput as reward.

    For training it builds a fresh network each episode (``make_env(episode)``, truncated after
    ``episode_steps``); for control it wraps one env. ``render_mode="ansi"``: ``render()`` is the last
    step as a line of text. Registered as ``icl_testbed/Ccod-v0`` (``ccod_env``, ``control.gym_envs``).
    """

    metadata = CsmaEnv.metadata

    def __init__(
        self,
        make_env: Callable[[int], CsmaEnv],
        episode_steps: int | None,
        history: int,
        algorithm: str,
        render_mode: str | None = None,
    ) -> None:
        if algorithm not in ALGORITHMS:
            raise ValueError(f"unknown DRL algorithm {algorithm!r}; allowed: {', '.join(ALGORITHMS)}")
        if isinstance(history, bool) or not isinstance(history, int) or history < 1:
            raise ValueError(f"history must be a positive integer, got {history!r}")
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise ValueError(
                f"render_mode {render_mode!r} is not allowed; choose None or one of: {', '.join(RENDER_MODES)}"
            )
        self.make_env, self.episode_steps, self.history, self.algorithm = make_env, episode_steps, history, algorithm
        self.render_mode = render_mode
        self.observation_space = spaces.Box(0.0, 1.0, (history,), dtype=np.float32)
        self.action_space = (
            spaces.Discrete(len(DISCRETE_WINDOWS)) if algorithm == "dqn" else spaces.Box(-1.0, 1.0, (1,))
        )
        self.env: CsmaEnv | None = None
        self.episode = -1
        self.trace = Trace()
        self.last: tuple[int, int, Observation] | None = None

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.episode += 1
        if self.env is not None and self.episode_steps is not None:
            self.env.close()
        if self.env is None or self.episode_steps is not None:
            self.env = self.make_env(self.episode)
        self.env.reset(seed=self.episode if seed is None else seed)
        self.state, self.steps, self.trace, self.last = np.zeros(self.history, dtype=np.float32), 0, Trace(), None
        return self.state.copy(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        if self.env is None:
            raise RuntimeError("CcodEnv.step() before reset(); call reset(seed=...)")
        window = window_of(action, self.algorithm)
        raw, reward, terminated, truncated, info = self.env.step(window)
        observation = Observation.of(raw)
        self.trace.record(window, observation, info, probing=False)
        self.last = (int(info["n_stations"]), window, observation)
        self.state = np.append(self.state[1:], np.float32(observation.collision_probability))
        self.steps += 1
        truncated = truncated or (self.episode_steps is not None and self.steps >= self.episode_steps)
        return self.state.copy(), reward / REWARD_SCALE_MBPS, terminated, truncated, info

    def render(self) -> str | None:
        """The last step as one line of text (``render_mode="ansi"``); None without a render mode."""
        if self.render_mode is None:
            return None
        if self.last is None:
            return f"step {self.steps}: no interval run yet\n"
        return ansi_frame(self.steps, *self.last)

    def close(self) -> None:
        if self.env is not None:
            self.env.close()


def ccod_env(
    n_stations: int = 10, *, history: int = 4, algorithm: str = "dqn", render_mode: str | None = None, **network: Any
) -> CcodEnv:
    """CCOD's view of one network, ``CsmaEnv(n_stations, **network)`` (the env of ``icl_testbed/Ccod-v0``):
    ``algorithm`` "dqn" acts with an index into CCOD's windows 16..1024, "td3" with a point of [-1, 1] on
    log2 W in [4, 10]; the state is the last ``history`` collision probabilities."""
    fixed = sorted({"action", "windows", "observation", "reward"} & set(network))
    if fixed:
        raise ValueError(f"the CCOD view sets the window and reads raw measurements itself; drop {fixed[0]!r}")
    env = CsmaEnv(n_stations, **network)
    return CcodEnv(lambda episode: env, None, history, algorithm, render_mode=render_mode)


@contextlib.contextmanager
def _own_random_state() -> Iterator[None]:
    """Stable-Baselines3 seeds Python's, NumPy's and torch's global generators; keep the caller's."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        try:
            yield
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)


class DrlAgent:
    """A CCOD-style agent (``algorithm`` "dqn" or "td3"): ``train`` (or ``load``), then ``run``."""

    def __init__(self, algorithm: str = "dqn", history: int = 4, gamma: float = 0.7, seed: int = 0) -> None:
        if algorithm not in ALGORITHMS:
            raise ValueError(f"unknown DRL algorithm {algorithm!r}; allowed: {', '.join(ALGORITHMS)}")
        if not isinstance(history, int) or history < 1:
            raise ValueError(f"history must be a positive integer, got {history!r}")
        if not 0 <= gamma < 1:
            raise ValueError(f"gamma must be in [0, 1), got {gamma}")
        self.algorithm, self.history, self.gamma, self.seed = algorithm, history, gamma, seed
        self.model: DQN | TD3 | None = None

    def _build(self, env: CcodEnv) -> DQN | TD3:
        common: dict[str, Any] = {"learning_rate": 1e-3, "buffer_size": 10_000, "learning_starts": 100, "batch_size": 64,
                  "gamma": self.gamma, "train_freq": 1, "policy_kwargs": {"net_arch": [64, 64]},
                  "seed": self.seed, "device": "cpu", "verbose": 0}  # fmt: skip
        if self.algorithm == "dqn":
            return DQN("MlpPolicy", env, target_update_interval=100, exploration_fraction=0.6,
                       exploration_final_eps=0.05, **common)  # fmt: skip
        return TD3("MlpPolicy", env, action_noise=NormalActionNoise(np.zeros(1), 0.3 * np.ones(1)), **common)

    def train(self, make_env: Callable[[int], CsmaEnv], n_episodes: int, episode_steps: int) -> None:
        """Train on ``n_episodes`` fresh networks (``make_env(episode)``) of ``episode_steps`` steps."""
        if n_episodes < 1 or episode_steps < 1:
            raise ValueError(f"n_episodes and episode_steps must be positive, got {n_episodes}, {episode_steps}")
        env = CcodEnv(make_env, episode_steps, self.history, self.algorithm)
        with _own_random_state():
            self.model = self._build(env)
            self.model.learn(total_timesteps=n_episodes * episode_steps)
        env.close()

    def save(self, path: str | Path) -> None:
        """Write the trained agent atomically (Stable-Baselines3's zip format)."""
        buffer = io.BytesIO()
        self._trained().save(buffer)
        with atomic_path(path) as tmp:
            Path(tmp).write_bytes(buffer.getvalue())

    def load(self, path: str | Path) -> None:
        """Read an agent written by ``save`` with the same algorithm and history."""
        with _own_random_state():
            model = ALGORITHMS[self.algorithm].load(path, device="cpu")
        shape = model.observation_space.shape
        if shape != (self.history,):
            raise ValueError(f"{path}: agent's observations have shape {shape}, this one's ({self.history},)")
        self.model = model

    def run(self, env: CsmaEnv, n_steps: int, seed: int = 0) -> Trace:
        """Greedy control of ``env`` for ``n_steps`` steps."""
        model = self._trained()
        view = CcodEnv(lambda episode: env, None, self.history, self.algorithm)
        state, _ = view.reset(seed=seed)
        for _ in range(n_steps):
            action, _ = model.predict(state, deterministic=True)
            state, *_ = view.step(action)
        return view.trace

    def _trained(self) -> DQN | TD3:
        if self.model is None:
            raise RuntimeError("the agent is not trained: call train() or load() first")
        return self.model

"""The CSMA environment in the Gymnasium ecosystem: registered ids, action spaces RL libraries take,
and Stable-Baselines3 agents driving it through ``gymnasium.make``."""

from __future__ import annotations

import subprocess
import sys
import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3 import DQN, PPO

from sim.env import MAX_STATIONS, CsmaEnv, Embedded

ID = "sim.gym_envs:icl_testbed/Csma-v0"


def make(action: str, **kwargs: object) -> gymnasium.Env:
    return gymnasium.make(ID, n_stations=10, action=action, backend=Embedded(500), max_steps=32, **kwargs)


@pytest.mark.parametrize("action", ["log2_window", "discrete"])
def test_the_new_action_spaces_pass_check_env_without_warnings(action: str) -> None:
    env = make(action)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)
    assert env.spec is not None and env.spec.id == "icl_testbed/Csma-v0"


def test_each_action_mode_sets_the_window_it_names() -> None:
    windows = {}
    for action, value in (("window", [256.0]), ("log2_window", np.float32([0.5])), ("discrete", 4)):
        env = make(action)
        env.reset(seed=0)
        windows[action] = env.step(value)[4]["window"]
    assert windows == {"window": 256, "log2_window": 256, "discrete": 256}
    env = make("discrete", windows=[8, 4096])
    env.reset(seed=0)
    assert env.action_space.n == 2 and env.step(1)[4]["window"] == 4096


@pytest.mark.parametrize(
    ("action", "value", "message"),
    [
        ("discrete", 7, r"action \(window index\) must be an integer in \[0, 6\], got 7"),
        ("discrete", 1.5, r"action \(window index\) must be an integer in \[0, 6\], got 1.5"),
        ("log2_window", [1.5], r"action \(log2\(W\) / 16\) must be in \[0, 1\], got 1.5"),
    ],
)
def test_bad_actions_are_named(action: str, value: object, message: str) -> None:
    env = make(action)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=message):
        env.step(value)


def test_bad_action_options() -> None:
    with pytest.raises(ValueError, match="action 'bits' is not allowed; choose one of: window, log2_window, discrete"):
        make("bits")
    with pytest.raises(ValueError, match=r"windows must be a non-empty list of windows in \[1, 65536\], got \[\]"):
        make("discrete", windows=[])


def test_stable_baselines3_ppo_and_dqn_drive_it_through_gymnasium_make() -> None:
    ppo = PPO("MlpPolicy", make("log2_window"), n_steps=64, batch_size=32, n_epochs=1, seed=0, device="cpu")
    ppo.learn(total_timesteps=192)
    dqn = DQN("MlpPolicy", make("discrete"), learning_starts=64, train_freq=4, seed=0, device="cpu")
    dqn.learn(total_timesteps=256)
    env = make("discrete")
    observation, _ = env.reset(seed=1)
    action, _ = dqn.predict(observation, deterministic=True)
    assert env.action_space.contains(int(action)) and np.isfinite(env.step(int(action))[1])


@pytest.mark.parametrize("max_stations", [MAX_STATIONS + 1, 10**6])
def test_too_many_stations_is_one_line_naming_the_allowed_range(max_stations: int) -> None:
    with pytest.raises(ValueError, match=r"max_stations must be in \[1, 2007\] \(802.11 association IDs end at 2007\)"):
        CsmaEnv(5, max_stations=max_stations)
    CsmaEnv(5, max_stations=MAX_STATIONS).reset(seed=0)


def test_importing_sim_registers_nothing() -> None:
    code = "import sim, gymnasium; print('icl_testbed/Csma-v0' in gymnasium.registry)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"

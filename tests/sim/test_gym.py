"""The CSMA environment in the Gymnasium ecosystem: registered ids (time limit, float32 or discrete
spaces, scaled units, both env checkers), action spaces RL libraries take, and Stable-Baselines3 agents
driving it through ``gymnasium.make``."""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env
from stable_baselines3 import DQN, PPO

from sim.env import MAX_STATIONS, CsmaEnv, Embedded, Ns3, Observation
from sim.gym_envs import EPISODE_STEPS

ID = "sim.gym_envs:icl_testbed/Csma-v0"


def make(action: str, **kwargs: object) -> gymnasium.Env:
    return gymnasium.make(ID, n_stations=10, action=action, backend=Embedded(500), max_steps=32, **kwargs)


@pytest.mark.parametrize("action", ["log2_window", "discrete"])
def test_the_new_action_spaces_pass_check_env_without_warnings(action: str) -> None:
    """Gymnasium's checker (SB3's warns that log2 W / 16 in [0, 1] is not the [-1, 1] its algorithms expect)."""
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
    with pytest.raises(
        ValueError,
        match="action 'bits' is not allowed; choose one of: window, log2_window, signed_log2_window, discrete",
    ):
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


def test_the_registered_id_truncates_episodes_at_its_time_limit() -> None:
    env = gymnasium.make(ID, n_stations=5)
    assert env.spec is not None and env.spec.max_episode_steps == EPISODE_STEPS
    for seed in (0, 1):  # the limit holds again after a reset
        env.reset(seed=seed)
        ends = [env.step(env.action_space.sample())[3] for _ in range(EPISODE_STEPS)]
        assert ends == [False] * (EPISODE_STEPS - 1) + [True]


@pytest.mark.parametrize("options", [{}, {"action": "discrete"}, {"oracle_observations": True}])
def test_the_registered_spaces_are_float32_or_discrete_and_hold_what_it_returns(options: dict) -> None:
    env = gymnasium.make(ID, n_stations=5, backend=Embedded(500), **options)
    assert env.observation_space.dtype == np.float32
    if options.get("action") == "discrete":
        assert isinstance(env.action_space, spaces.Discrete)
    else:
        assert env.action_space == spaces.Box(-1.0, 1.0, (1,), np.float32)
    observation, _ = env.reset(seed=0)
    for _ in range(5):
        assert observation.dtype == np.float32 and env.observation_space.contains(observation)
        observation, reward, *_ = env.step(env.action_space.sample())
        assert isinstance(reward, float) and 0 <= reward < 1


@pytest.mark.parametrize(
    "options", [{}, {"action": "discrete"}, {"oracle_observations": True}, {"render_mode": "ansi"}]
)
def test_both_env_checkers_pass_the_registered_id_with_warnings_as_errors(
    options: dict, pass_env_checkers: Callable[[Any], None]
) -> None:
    pass_env_checkers(gymnasium.make(ID, n_stations=5, backend=Embedded(200), **options))


@pytest.mark.ns3
def test_both_env_checkers_pass_the_registered_ns3_id_with_warnings_as_errors(
    tmp_path: Path, pass_env_checkers: Callable[[Any], None]
) -> None:
    env = gymnasium.make(
        "sim.gym_envs:icl_testbed/CsmaNs3-v0", n_stations=3, backend=Ns3(step_time_s=0.01, run_dir=str(tmp_path))
    )
    assert env.spec.max_episode_steps == EPISODE_STEPS and env.observation_space.dtype == np.float32
    pass_env_checkers(env)
    env.close()


def test_scaled_units_are_the_raw_ones_transformed_and_the_raw_ones_stay_in_info() -> None:
    """Same seed, same windows: the registered (scaled) env and a raw CsmaEnv measure the same network."""
    scaled = gymnasium.make(ID, n_stations=10, backend=Embedded(500))
    raw = CsmaEnv(10, backend=Embedded(500), action="signed_log2_window")
    scaled.reset(seed=3)
    raw.reset(seed=3)
    for action in (np.float32([-0.5]), np.float32([0.0]), np.float32([0.25])):
        observation, reward, _, _, info = scaled.step(action)
        raw_observation, raw_reward, *_ = raw.step(action)
        np.testing.assert_array_equal(info["raw_observation"], raw_observation)
        measured = Observation.of(raw_observation)
        np.testing.assert_allclose(observation, np.float32(measured.scaled(54.0)[:3]))
        assert observation[2] == pytest.approx(np.log2(1 + measured.idle_slots_per_transmission) / 16, rel=1e-6)
        assert reward == pytest.approx(raw_reward / 54.0)


def test_the_signed_log2_action_spans_every_window_with_256_in_the_middle() -> None:
    env = CsmaEnv(10, backend=Embedded(100), action="signed_log2_window")
    env.reset(seed=0)
    assert [env.step(np.float32([a]))[4]["window"] for a in (-1.0, -0.5, 0.0, 1.0)] == [1, 16, 256, 65536]
    with pytest.raises(ValueError, match=r"action \(log2\(W\) / 8 - 1\) must be in \[-1, 1\], got 1.5"):
        env.step([1.5])


def test_render_mode_ansi_shows_the_last_step_and_bad_units_are_named() -> None:
    env = gymnasium.make(ID, n_stations=5, backend=Embedded(200), render_mode="ansi")
    env.reset(seed=0)
    assert env.render() == "step 0: N=5, no interval run yet\n"
    env.step(np.float32([0.0]))
    assert env.render().startswith("step 1: N=5 W=256 p=")
    silent = gymnasium.make(ID, n_stations=5)
    silent.reset(seed=0)
    assert silent.render() is None
    for option, value, allowed in (
        ("render_mode", "human", "None or one of: ansi"),
        ("observation", "normalised", "one of: raw, scaled"),
        ("reward", "bits", "one of: mbps, scaled"),
    ):
        with pytest.raises(ValueError, match=f"{option} '{value}' is not allowed; choose {allowed}"):
            CsmaEnv(5, **{option: value})


@pytest.mark.parametrize("max_stations", [MAX_STATIONS + 1, 10**6])
def test_too_many_stations_is_one_line_naming_the_allowed_range(max_stations: int) -> None:
    with pytest.raises(ValueError, match=r"max_stations must be in \[1, 2007\] \(802.11 association IDs end at 2007\)"):
        CsmaEnv(5, max_stations=max_stations)
    CsmaEnv(5, max_stations=MAX_STATIONS).reset(seed=0)


def test_importing_sim_registers_nothing() -> None:
    code = "import sim, gymnasium; print('icl_testbed/Csma-v0' in gymnasium.registry)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"

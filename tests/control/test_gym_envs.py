"""``icl_testbed/Ccod-v0``, CCOD's view registered by ``control.gym_envs``: time limit, float32 or
discrete spaces, both env checkers with warnings as errors, render mode, named errors."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import gymnasium
import numpy as np
import pytest
from gymnasium import spaces

from sim.env import Embedded
from sim.gym_envs import EPISODE_STEPS

ID = "control.gym_envs:icl_testbed/Ccod-v0"


def test_episodes_truncate_at_the_time_limit_and_the_spaces_are_float32_or_discrete() -> None:
    env = gymnasium.make(ID, n_stations=5, backend=Embedded(200))
    assert env.spec.max_episode_steps == EPISODE_STEPS
    assert env.observation_space == spaces.Box(0.0, 1.0, (4,), np.float32) and env.action_space == spaces.Discrete(7)
    assert gymnasium.make(ID, algorithm="td3").action_space == spaces.Box(-1.0, 1.0, (1,), np.float32)
    for seed in (0, 1):
        env.reset(seed=seed)
        steps = [env.step(env.action_space.sample()) for _ in range(EPISODE_STEPS)]
        assert [step[3] for step in steps] == [False] * (EPISODE_STEPS - 1) + [True]
        assert all(step[0].dtype == np.float32 and env.observation_space.contains(step[0]) for step in steps)


@pytest.mark.parametrize("options", [{}, {"algorithm": "td3"}, {"render_mode": "ansi"}])
def test_both_env_checkers_pass_with_warnings_as_errors(
    options: dict, pass_env_checkers: Callable[[Any], None]
) -> None:
    pass_env_checkers(gymnasium.make(ID, n_stations=5, backend=Embedded(200), **options))


def test_render_mode_ansi_and_bad_arguments_are_named() -> None:
    env = gymnasium.make(ID, n_stations=5, backend=Embedded(200), render_mode="ansi")
    env.reset(seed=0)
    env.step(3)
    assert env.render().startswith("step 1: N=5 W=128 p=")
    with pytest.raises(ValueError, match="render_mode 'human' is not allowed; choose None or one of: ansi"):
        gymnasium.make(ID, render_mode="human")
    with pytest.raises(ValueError, match="unknown DRL algorithm 'ppo'; allowed: dqn, td3"):
        gymnasium.make(ID, algorithm="ppo")
    with pytest.raises(
        ValueError, match="the CCOD view sets the window and reads raw measurements itself; drop 'action'"
    ):
        gymnasium.make(ID, action="discrete")


def test_importing_control_registers_nothing_and_the_registration_module_registers_every_id() -> None:
    code = (
        "import importlib, control, control.drl, gymnasium\n"
        "ids = ('icl_testbed/Ccod-v0', 'icl_testbed/Csma-v0', 'icl_testbed/CsmaNs3-v0')\n"
        "print([i in gymnasium.registry for i in ids])\n"
        "importlib.import_module('control.gym_envs')\n"
        "print([i in gymnasium.registry for i in ids])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split("\n")[:2] == ["[False, False, False]", "[True, True, True]"]

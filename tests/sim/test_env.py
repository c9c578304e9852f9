from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from sim.env import CsmaEnv, Embedded, Ns3, Observation
from sim.timing import Timing
from theory import bianchi


def test_follows_the_gymnasium_api() -> None:
    from gymnasium.utils.env_checker import check_env

    check_env(CsmaEnv(10, backend=Embedded(500)), skip_render_check=True)


def test_reward_is_throughput_and_observation_the_collision_level() -> None:
    env = CsmaEnv(20, backend=Embedded(20_000))
    env.reset(seed=0)
    observation, reward, terminated, truncated, info = env.step(128)
    assert reward == pytest.approx(float(bianchi.throughput(20, 128)), rel=0.05)
    seen = Observation.of(observation)
    assert seen.collision_probability == pytest.approx(float(bianchi.collision_probability(20, 128)), rel=0.1)
    assert not terminated and not truncated and info["window"] == 128


def test_observations_are_what_a_station_can_measure_unless_oracle_ones_are_asked_for() -> None:
    """Collision probability, throughput and the idle slots between transmissions, which match Bianchi's
    (1 - tau)^N / (1 - (1 - tau)^N); attempts per slot (N tau: it gives N away) only on request."""
    env = CsmaEnv(20, backend=Embedded(50_000))
    env.reset(seed=0)
    observation, reward, *_ = env.step(128)
    tau, p = bianchi.fixed_point(20, 128)
    idle = (1 - tau) ** 20 / (1 - (1 - tau) ** 20)
    assert observation.shape == env.observation_space.shape == (3,)
    seen = Observation.of(observation)
    assert seen.throughput_mbps == reward and np.isnan(seen.attempts_per_slot)
    assert seen.idle_slots_per_transmission == pytest.approx(float(idle), rel=0.05)
    oracle = CsmaEnv(20, oracle_observations=True, backend=Embedded(50_000))
    oracle.reset(seed=0)
    observation, *_ = oracle.step(128)
    assert observation.shape == oracle.observation_space.shape == (4,)
    assert Observation.of(observation).attempts_per_slot == pytest.approx(float(20 * tau), rel=0.05)
    assert np.array_equal(np.array(Observation.of(observation)), observation)
    with pytest.raises(ValueError, match="3 entries .4 with oracle_observations., got 2"):
        Observation.of(observation[:2])


def test_schedule_changes_n_and_is_reproducible() -> None:
    env = CsmaEnv(5, n_schedule={3: 40}, backend=Embedded(2000), max_steps=6)
    runs = []
    for _ in range(2):
        env.reset(seed=7)
        runs.append([env.step(64) for _ in range(6)])
    assert [step[4]["n_stations"] for step in runs[0]] == [5, 5, 5, 40, 40, 40]
    assert runs[0][-1][3] is True
    assert [s[1] for s in runs[0]] == [s[1] for s in runs[1]]
    assert runs[0][4][0][0] > 2 * runs[0][1][0][0]


def test_beb_backoff() -> None:
    env = CsmaEnv(50, backoff="beb", backend=Embedded(50_000))
    env.reset(seed=0)
    _, reward, *_ = env.step(16)
    assert reward == pytest.approx(float(bianchi.throughput(50, 16, 6)), rel=0.03)


def test_misuse_is_reported() -> None:
    env = CsmaEnv(5)
    with pytest.raises(RuntimeError, match="before reset"):
        env.step(16)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"contention window W\) must be in \[1, 65536\], got 0.0"):
        env.step(0)
    env.close()
    with pytest.raises(RuntimeError, match="after close"):
        env.step(16)
    with pytest.raises(ValueError, match=r"n_stations must be an integer >= 1, got 0"):
        CsmaEnv(0)
    with pytest.raises(ValueError, match=r"number of stations N must be in \[1, 64\], got 65"):
        CsmaEnv(65)
    with pytest.raises(ValueError, match="unknown CsmaEnv backend 'ns4'"):
        CsmaEnv(5, backend="ns4")
    with pytest.raises(ValueError, match=r"backend must be Embedded\(...\), Ns3\(...\) or one of embedded, ns3"):
        CsmaEnv(5, backend=5000)
    with pytest.raises(ValueError, match="interval_slots must be an integer >= 1, got 0"):
        Embedded(0)
    with pytest.raises(ValueError, match="step_time_s must be positive, got 0"):
        Ns3(0)
    with pytest.raises(ValueError, match="the ns3 backend simulates 802.11a OFDM"):
        CsmaEnv(5, timing=Timing(slot_us=20.0), backend="ns3")


def test_is_a_gym_env() -> None:
    assert isinstance(CsmaEnv(), gym.Env) and np.isclose(CsmaEnv().action_space.high[0], 65536)


def test_erroneous_observations() -> None:
    env = CsmaEnv(20, backend=Embedded(500), observation_error=0.3)
    env.reset(seed=0)
    flags = [env.step(64)[4]["erroneous"] for _ in range(300)]
    assert np.mean(flags) == pytest.approx(0.3, abs=0.07)
    with pytest.raises(ValueError, match=r"observation_error \(eps\) must be in \[0, 1\], got 2"):
        CsmaEnv(5, observation_error=2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_stations": 2.9}, "n_stations must be an integer >= 1, got 2.9"),
        ({"n_stations": True}, "n_stations must be an integer >= 1, got True"),
        ({"max_steps": 0}, "max_steps must be an integer >= 1, got 0"),
        ({"n_schedule": {3: 7.5}}, r"n_schedule\[3\] must be an integer >= 1, got 7.5"),
        ({"n_schedule": {-1: 7}}, "n_schedule keys are step indices"),
    ],
)
def test_loose_constructor_values_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CsmaEnv(**{"n_stations": 5, **kwargs})


@pytest.mark.parametrize("action", [[16, 5000], "32", True, [], np.array([[16.0, 32.0]]), None])
def test_actions_of_the_wrong_shape_or_type_are_refused(action: object) -> None:
    env = CsmaEnv(5)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="the action is the contention window W: one number or an array of shape"):
        env.step(action)


@pytest.mark.parametrize("action", [16, 16.0, [16], np.array([16.0]), np.array([[16]]), np.int64(16)])
def test_one_number_in_any_container_is_a_window(action: object) -> None:
    env = CsmaEnv(5, backend=Embedded(500))
    env.reset(seed=0)
    observation, *_ = env.step(action)
    assert 0 < observation[0] < 1

"""The ns-3 bridge against the real ns-3 (installed by sim/ns3/install.sh, which `make test` runs)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import zmq

from sim import CsmaEnv, Ns3
from sim.ns3 import Ns3Env, Ns3Error, build
from sim.ns3.scenario import ScenarioObservation, network_args, ns3_world_args
from sim.timing import OFDM_54
from sim.worlds import world
from theory import bianchi

pytestmark = pytest.mark.ns3
FAKE_SIM = Path(__file__).with_name("fake_ns3gym_sim.py")


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def wait_gone(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


@pytest.fixture
def env(tmp_path):
    env = Ns3Env(sim_args={"nStations": 5, "stepTime": 0.05}, run_dir=tmp_path, timeout_s=60)
    yield env
    env.close()


def test_short_episode_agrees_with_bianchi_and_ends_cleanly(tmp_path):
    env = CsmaEnv(10, max_steps=4, backend=Ns3(0.25, run_dir=str(tmp_path)))
    env.reset(seed=1)
    process = env._backend.ns3.process
    rows = [env.step([64]) for _ in range(4)]
    p = np.mean([row[0][0] for row in rows])
    throughput = np.mean([row[1] for row in rows])
    assert p == pytest.approx(float(bianchi.collision_probability(10, 64)), abs=0.05)
    assert throughput == pytest.approx(float(bianchi.throughput(10, 64)), rel=0.08)
    assert [row[3] for row in rows] == [False, False, False, True]
    assert all(row[4]["n_stations"] == 10 for row in rows)
    assert process.poll() == 0
    assert "--nStations=10" in (tmp_path / "ns3.log").read_text()
    env.close()


def test_change_of_n_raises_the_collision_probability(tmp_path):
    env = CsmaEnv(5, n_schedule={3: 40}, backend=Ns3(0.2, run_dir=str(tmp_path)))
    env.reset(seed=2)
    rows = [env.step([64]) for _ in range(6)]
    env.close()
    assert [row[4]["n_stations"] for row in rows] == [5, 5, 5, 40, 40, 40]
    before = np.mean([row[0][0] for row in rows[:3]])
    after = np.mean([row[0][0] for row in rows[3:]])
    assert before == pytest.approx(float(bianchi.collision_probability(5, 64)), abs=0.05)
    # At N = 40 and W = 64 ns-3 collides less than the slot model (0.61 vs 0.70; see
    # benchmarks/ns3_crossval.py), so the tolerance there is wider.
    assert after > before + 0.3
    assert after == pytest.approx(float(bianchi.collision_probability(40, 64)), abs=0.12)
    # Idle slots between transmissions, as the AP sees them: Bianchi's (1 - tau)^N / (1 - (1 - tau)^N) at
    # N = 5 (5.9). At N = 40 ns-3 sees 1.7 against the model's 0.4: after a collision the stations defer
    # EIFS, not DIFS, and the AP counts the difference (about 7 slots) as idle; collisions are frequent.
    idle = [np.mean([row[0][2] for row in part]) for part in (rows[:3], rows[3:])]
    assert idle[0] == pytest.approx(float((1 - 2 / 65) ** 5 / (1 - (1 - 2 / 65) ** 5)), rel=0.2)
    assert idle[1] < idle[0] / 2.5


def test_a_step_acknowledges_no_more_frames_than_it_transmitted(tmp_path):
    """802.11ax A-MPDUs in 10 ms steps while N changes: stations that join set up Block Ack (ADDBA) and
    some (re)associate, management frames whose acknowledgements once counted as acknowledged data.
    Every step acknowledges at most the MPDUs it transmitted, and its collision probability is a
    probability."""
    args = network_args({0: 2, 3: 20}, OFDM_54, 0.01, 8, None)
    args |= ns3_world_args(world("ax_ampdu"), OFDM_54, args["maxStations"], np.random.default_rng(0))
    env = Ns3Env(sim_args=args, run_dir=tmp_path)
    env.reset(seed=3)
    steps = [env.step(np.array([32.0])) for _ in range(8)]
    env.close()
    for observation, _, _, _, info in steps:
        seen = ScenarioObservation.of(observation)
        assert seen.acknowledged <= seen.transmitted, info
        assert seen.failed == seen.transmitted - seen.acknowledged
        assert 0 <= seen.collision_probability <= 1
    assert sum(ScenarioObservation.of(step[0]).acknowledged for step in steps) > 0


def test_same_seed_same_episode(tmp_path):
    def run(seed: int) -> list[float]:
        env = Ns3Env(sim_args={"nStations": 8, "stepTime": 0.05}, run_dir=tmp_path)
        env.reset(seed=seed)
        observations = [env.step([32])[0][3] for _ in range(3)]
        env.close()
        return observations

    first = run(7)
    assert run(7) == first
    assert run(8) != first


def test_crash_is_reported_with_the_log_and_leaves_no_process(env):
    env.reset(seed=0)
    env.step([32])
    pid = env.process.pid
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(Ns3Error, match=r"exited \(code -9\)[\s\S]*Log .*ns3\.log ends with"):
        env.step([32])
    assert env.process is None and wait_gone(pid)
    with pytest.raises(RuntimeError, match="reset"):
        env.step([32])
    env.reset(seed=1)
    assert env.step([32])[0].shape == (7,)


@pytest.fixture
def temp_dir(tmp_path, monkeypatch) -> Path:
    """This test's own temporary directory (TMPDIR), so that what an env leaves there is its own."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setenv("TMPDIR", str(directory))
    monkeypatch.setattr(tempfile, "tempdir", None)  # tempfile keeps the first directory it found
    return directory


def test_without_a_run_dir_nothing_is_left_behind(temp_dir, tmp_path):
    """A run, a simulation killed mid-episode, a failing start and an env never closed leave nothing in
    the temporary directory (errors still show the log's tail); a given run_dir keeps its log."""
    env = Ns3Env(sim_args={"nStations": 2, "stepTime": 0.01})
    env.reset(seed=0)
    env.step(np.array([32.0]))
    env.close()
    assert sorted(temp_dir.iterdir()) == []
    env = Ns3Env(sim_args={"nStations": 2, "stepTime": 0.01})
    env.reset(seed=0)
    os.killpg(env.process.pid, signal.SIGKILL)
    with pytest.raises(Ns3Error, match=r"exited \(code -9\)[\s\S]*a temporary file[\s\S]*--openGymPort"):
        env.step(np.array([32.0]))
    env.close()
    failing = [sys.executable, "-c", "print('no simulation here'); raise SystemExit(3)"]
    with pytest.raises(Ns3Error, match=r"exited \(code 3\)[\s\S]*no simulation here"):
        Ns3Env(failing).reset(seed=0)
    assert sorted(temp_dir.iterdir()) == []
    kept = Ns3Env(failing, run_dir=tmp_path / "logs")
    with pytest.raises(Ns3Error, match=r"Log .*logs/ns3\.log ends with"):
        kept.reset(seed=0)
    kept.close()
    assert "no simulation here" in (tmp_path / "logs" / "ns3.log").read_text()


def test_hang_times_out_and_the_simulation_is_killed(tmp_path):
    env = Ns3Env(sim_args={"nStations": 5, "stepTime": 0.05}, run_dir=tmp_path, timeout_s=1.5)
    env.reset(seed=0)
    pid = env.process.pid
    os.kill(pid, signal.SIGSTOP)
    started = time.monotonic()
    with pytest.raises(Ns3Error, match="no answer from the ns-3 simulation within 1.5 s"):
        env.step([32])
    assert time.monotonic() - started < 5
    assert wait_gone(pid)
    env.close()


def test_port_in_use_is_a_clear_error(tmp_path):
    blocker = zmq.Context.instance().socket(zmq.REP)
    port = blocker.bind_to_random_port("tcp://*", 20000, 30000)
    try:
        env = Ns3Env(port=port, run_dir=tmp_path)
        with pytest.raises(Ns3Error, match=f"cannot listen on port {port}.*port=0"):
            env.reset(seed=0)
        env.close()
    finally:
        blocker.close()


def test_use_after_close_and_bad_arguments(env):
    env.reset(seed=0)
    pid = env.process.pid
    env.close()
    assert wait_gone(pid)
    for call in (lambda: env.step([16]), lambda: env.reset(seed=0)):
        with pytest.raises(RuntimeError, match="after close"):
            call()
    with pytest.raises(ValueError, match="port must be"):
        Ns3Env(port=70000)
    with pytest.raises(ValueError, match="start_sim=False needs the port"):
        Ns3Env(start_sim=False)


def test_a_bad_action_from_the_agent_stops_the_simulation_with_its_reason(env):
    env.reset(seed=0)
    with pytest.raises(Ns3Error, match=r"contention window W must be in \[1, 65536\], got 0"):
        env.step([0.0])


def test_no_orphan_when_the_agent_process_is_killed(tmp_path):
    agent = textwrap.dedent(
        f"""
        import sys, time
        from sim.ns3 import Ns3Env
        env = Ns3Env(sim_args={{"nStations": 3}}, run_dir={str(tmp_path)!r})
        env.reset(seed=0)
        print(env.process.pid, flush=True)
        time.sleep(60)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", agent], stdout=subprocess.PIPE, text=True)
    sim_pid = int(process.stdout.readline())
    assert alive(sim_pid)
    process.kill()
    process.wait()
    assert wait_gone(sim_pid), "the simulation outlived its agent"


def test_drives_a_generic_ns3gym_simulation_with_dict_and_tuple_spaces(tmp_path):
    env = Ns3Env([sys.executable, FAKE_SIM], sim_args={"steps": 2}, run_dir=tmp_path, timeout_s=30)
    observation, info = env.reset(seed=5)
    assert set(env.observation_space.spaces) == {"queue", "phase"}
    assert env.observation_space.contains(observation) and info["step"] == 0
    observation, reward, terminated, truncated, info = env.step((3, np.array([0.25, 0.5], dtype=np.float32)))
    assert reward == pytest.approx(3.75) and not (terminated or truncated)
    assert observation["queue"][0] == 1 and observation["phase"] == 1
    observation, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert truncated and not terminated and info["step"] == 2
    assert env.process is None
    env.close()


def test_our_scenario_accepts_an_agent_that_did_not_start_it(tmp_path):
    """ns3-gym's startSim=False: the simulation is started by hand and connects to the agent's port."""
    port = 40000 + os.getpid() % 10000
    env = Ns3Env(port=port, start_sim=False, run_dir=tmp_path, timeout_s=30)
    sim = subprocess.Popen([build.scenario_binary(), f"--openGymPort={port}", "--nStations=4", "--steps=2"])
    try:
        env.reset(seed=0)
        assert env.step([16])[0][0] > 0
        assert env.step([16])[2]
        assert sim.wait(timeout=10) == 0
    finally:
        sim.kill()
        env.close()


@pytest.fixture
def patched_toolchain(monkeypatch):
    """``monkeypatch`` for the toolchain lookup, whose cached result is dropped before and after."""
    build.find_toolchain.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    build.find_toolchain.cache_clear()


def test_missing_ns3_says_how_to_install_it(patched_toolchain):
    patched_toolchain.setattr(build.shutil, "which", lambda name: None)
    with pytest.raises(Ns3Error, match=r"protoc, g\+\+, not found[\s\S]*install\.sh"):
        build.find_toolchain()


def test_libraries_named_by_pkg_config_must_exist(patched_toolchain):
    """Debian's ns-3 .pc files link libsqlite3.so/libgsl.so by path, from -dev packages it does not pull in."""
    real = build._pkg_config
    fake = "/nonexistent/libsqlite3.so -lns3-core"
    patched_toolchain.setattr(build, "_pkg_config", lambda *a: fake if a[0] == "--libs" else real(*a))
    with pytest.raises(Ns3Error, match=r"not installed: /nonexistent/libsqlite3.so; install it with .*install\.sh"):
        build.find_toolchain()


def test_build_failure_shows_the_compiler_error_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("ICL_CACHE_DIR", str(tmp_path / "cache"))
    source = tmp_path / "broken.cc"
    source.write_text("int main() { return undeclared_name; }\n")
    with pytest.raises(Ns3Error, match="building the ns-3 scenario broken.cc failed[\\s\\S]*undeclared_name"):
        build.scenario_binary(source)
    assert [p.name for p in (tmp_path / "cache" / "ns3").iterdir() if not p.name.endswith(".lock")] == []


def test_scenario_is_rebuilt_only_when_its_source_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("ICL_CACHE_DIR", str(tmp_path / "cache"))
    source = tmp_path / "tiny.cc"
    source.write_text("int main() { return 0; }\n")
    first = build.scenario_binary(source)
    built_at = first.stat().st_mtime_ns
    assert build.scenario_binary(source) == first and first.stat().st_mtime_ns == built_at
    source.write_text("int main() { return 1; }\n")
    second = build.scenario_binary(source)
    assert second != first and subprocess.run([second]).returncode == 1


def test_parallel_collection_on_ns3(tmp_path):
    from sim.collect import measure

    table = measure("ns3", [4, 12], [16, 128], [0, 1], workers=2, step_time_s=0.05, run_dir=str(tmp_path))
    assert len(table) == 8 and set(table.backend) == {"ns3"}
    p = table.groupby(["n_stations", "window"]).collision_probability.mean()
    assert p[(12, 16)] > p[(12, 128)] and p[(12, 16)] > p[(4, 16)]
    assert sorted(d.name for d in tmp_path.iterdir()) == ["n12-seed0", "n12-seed1", "n4-seed0", "n4-seed1"]
    # Each column means what its name says (attempts_per_slot once held the throughput in Mb/s): the
    # throughput is the 802.11a network's (at most 54 Mb/s); attempts per virtual slot rise with N and fall
    # with W, and stay below 2 (ns-3 counts more virtual slots than Bianchi's chain: 0.4-0.85 of N tau).
    assert table.throughput_mbps.between(5, 54).all() and table.attempts_per_slot.between(0.01, 2).all()
    attempts = table.groupby(["n_stations", "window"]).attempts_per_slot.mean()
    assert attempts[(12, 16)] > attempts[(4, 16)] > attempts[(4, 128)] and attempts[(12, 16)] > attempts[(12, 128)]

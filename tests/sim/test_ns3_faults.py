"""Faults around the ns-3 processes, injected for real: agents that vanish, short-lived threads, a
PID-1 parent, killed and interrupted collections. Nothing may be left running."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import zmq
from gymnasium import spaces

from sim.ns3 import Ns3Env, build
from sim.ns3.protocol import pack, unpack

pytestmark = pytest.mark.ns3
ROOT = Path(__file__).resolve().parents[2]


def tagged_processes(tag: str) -> list[int]:
    """Live processes whose environment holds ``ICL_TEST_TAG=tag`` (a process and all it started)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().split(") ")[1][0]
        except OSError:
            continue
        if f"ICL_TEST_TAG={tag}".encode() in environ.split(b"\0") and state != "Z":
            found.append(int(entry.name))
    return found


def kill_all(tag: str) -> None:
    """SIGKILL every process ``tagged_processes`` finds (one may exit meanwhile)."""
    for pid in tagged_processes(tag):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def describe(pids: list[int]) -> list[str]:
    """Each process's PID, parent and command line, for a failure message."""
    described = []
    for pid in pids:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
            parent = Path(f"/proc/{pid}/stat").read_text().split(") ")[1].split()[1]
        except OSError:
            continue
        described.append(f"{pid} (parent {parent}): {command}")
    return described


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


def test_simulation_outlives_the_thread_that_started_it(tmp_path: Path) -> None:
    env = Ns3Env(sim_args={"nStations": 5, "stepTime": 0.02}, run_dir=tmp_path, timeout_s=60)
    try:
        thread = threading.Thread(target=env.reset, kwargs={"seed": 0})
        thread.start()
        thread.join()
        time.sleep(1.0)  # PR_SET_PDEATHSIG would have killed it when that thread ended
        assert env.process.poll() is None
        observation, *_ = env.step(np.array([32.0]))
        assert observation[0] > 0
    finally:
        env.close()


def test_scenario_started_by_hand_exits_when_its_agent_vanishes(tmp_path: Path) -> None:
    """ns3-gym's startSim=False: the agent is killed mid-episode; the scenario gives up after --agentTimeout."""
    port = 20000 + os.getpid() % 10000
    agent = f"""
import time
from sim.ns3 import Ns3Env
env = Ns3Env(port={port}, start_sim=False, run_dir={str(tmp_path)!r}, timeout_s=60)
env.reset(seed=0)
print("ready", flush=True)
time.sleep(600)
"""
    agent_process = subprocess.Popen([sys.executable, "-c", agent], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    sim = subprocess.Popen(
        [build.scenario_binary(), f"--openGymPort={port}", "--nStations=4", "--agentTimeout=2"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert agent_process.stdout.readline().strip() == "ready"
        agent_process.kill()
        agent_process.wait()
        started = time.monotonic()
        _, stderr = sim.communicate(timeout=60)
        assert sim.returncode == 2
        assert "no answer from the agent within 2 s (--agentTimeout)" in stderr
        assert time.monotonic() - started < 30
    finally:
        sim.kill()
        agent_process.kill()


@pytest.mark.skipif(os.geteuid() != 0, reason="a PID namespace needs root")
def test_scenario_runs_when_its_parent_is_pid_1(tmp_path: Path) -> None:
    """In a container whose shell is PID 1 the scenario runs (it used to exit 3 without a word)."""
    port = 30000 + os.getpid() % 10000
    env = Ns3Env(port=port, start_sim=False, run_dir=tmp_path, timeout_s=60)
    command = f"{build.scenario_binary()} --openGymPort={port} --nStations=3 --steps=2; echo exit=$?"
    shell = subprocess.Popen(
        ["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", command], stdout=subprocess.PIPE, text=True
    )
    try:
        env.reset(seed=0)
        env.step(np.array([16.0]))
        assert env.step(np.array([16.0]))[2], "the second step ends the game"
        assert shell.communicate(timeout=60)[0].strip() == "exit=0"
    finally:
        shell.kill()
        env.close()


def test_states_follow_ns3gym_and_count_frames_consistently() -> None:
    """Read the scenario's messages raw: a reason only on the final state, the window in force from
    the first state on, and never more acknowledged than transmitted frames in a step."""
    pb = build.messages()
    context = zmq.Context()
    socket = context.socket(zmq.REP)
    port = socket.bind_to_random_port("tcp://127.0.0.1", 5001, 10000)
    steps = 30
    sim = subprocess.Popen(
        [build.scenario_binary(), f"--openGymPort={port}", "--nStations=10", "--stepTime=0.02", f"--steps={steps}"]
    )
    action_space = spaces.Box(1.0, 65536.0, (1,), np.float64)
    try:
        init = pb.SimInitMsg()
        init.ParseFromString(socket.recv())
        socket.send(pb.SimInitAck(done=True).SerializeToString())
        states = []
        while True:
            assert socket.poll(60_000), "the scenario stopped answering"
            state = pb.EnvStateMsg()
            state.ParseFromString(socket.recv())
            states.append(state)
            socket.send(pb.EnvActMsg(actData=pack([16.0], action_space)).SerializeToString())
            if state.isGameOver:
                break
        assert sim.wait(timeout=30) == 0
    finally:
        sim.kill()
        context.destroy(linger=0)
    assert len(states) == steps + 1
    assert "window=16" in states[0].info  # 802.11a's CWmin 15, before the agent's first action
    assert [s.reason for s in states[:-1]] == [pb.EnvStateMsg.SimulationEnd] * steps  # unset, as ns3-gym
    assert states[-1].reason == pb.EnvStateMsg.GameOver
    observations = [np.asarray(unpack(s.obsData)) for s in states[1:]]
    assert all(transmitted >= acked for transmitted, acked, *_ in observations)
    assert sum(o[0] for o in observations) > 20 * steps, "the network was busy"


def collect(out: Path, log_dir: Path, tag: str, seeds: int = 3, step_time: float = 0.05) -> subprocess.Popen:
    command = [sys.executable, "-m", "icl.cli", "csma", "collect", "--backend", "ns3", "--n", "3", "8"]
    command += ["--seeds", str(seeds), "--windows", "16", "64", "--step-time", str(step_time), "--workers", "2"]
    command += ["--out", str(out), "--log-dir", str(log_dir)]
    env = {**os.environ, "ICL_TEST_TAG": tag, "OMP_NUM_THREADS": "1"}
    # Start it as a terminal's foreground command, with Ctrl-C at its default, even when the tests run
    # in a background job (which ignores SIGINT, and so would its children).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
    finally:
        signal.signal(signal.SIGINT, previous)


def simulations(log_dir: Path) -> set[str]:
    return {p.name for p in log_dir.iterdir()} if log_dir.exists() else set()


@pytest.mark.parametrize("signal_number", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_collection_leaves_no_worker_or_simulation(tmp_path: Path, signal_number: int) -> None:
    tag = uuid.uuid4().hex
    # 40 simulations of about a second each: the collection is caught running, its first logs written
    process = collect(tmp_path / "table.csv", tmp_path / "logs", tag, seeds=20, step_time=1.0)
    try:
        started = wait_for(lambda: simulations(tmp_path / "logs") or process.poll() is not None, 120)
        assert started and process.poll() is None, f"no simulation was seen starting: {process.communicate()}"
        time.sleep(0.5)  # the workers' simulations are up
        process.send_signal(signal_number)
        process.wait()
        assert wait_for(lambda: not tagged_processes(tag), 10), f"left running: {describe(tagged_processes(tag))}"
    finally:
        kill_all(tag)


def test_an_interrupted_collection_keeps_what_it_measured_and_a_rerun_skips_it(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the foreground process group) after the first simulations: out within seconds,
    finished simulations kept beside the target; the rerun runs only the rest."""
    tag = uuid.uuid4().hex
    out = tmp_path / "table.csv"
    partial = tmp_path / "table.csv.partial"
    process = collect(out, tmp_path / "logs", tag)
    try:
        assert wait_for(partial.exists, 180), "no simulation finished"
        os.killpg(process.pid, signal.SIGINT)
        interrupted = time.monotonic()
        _, stderr = process.communicate(timeout=60)
        assert time.monotonic() - interrupted < 10
        assert process.returncode == 130, stderr
        assert "measurements kept in" in stderr and "Traceback" not in stderr
        assert wait_for(lambda: not tagged_processes(tag), 10), f"left running: {tagged_processes(tag)}"
    finally:
        kill_all(tag)
    kept = pd.read_csv(partial)
    done = {f"n{n}-seed{seed}" for n, seed in zip(kept.n_stations, kept.seed)}
    assert 1 <= len(done) < 6 and not out.exists()
    rerun = collect(out, tmp_path / "rerun-logs", uuid.uuid4().hex)
    _, stderr = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, stderr
    assert simulations(tmp_path / "rerun-logs") == {f"n{n}-seed{s}" for n in (3, 8) for s in range(3)} - done
    table = pd.read_csv(out)
    assert len(table) == 2 * 3 * 2 and not partial.exists()
    merged = table.merge(kept, on=["n_stations", "window", "seed"], suffixes=("", "_kept"))
    assert len(merged) == len(kept)
    assert (merged.throughput_mbps == merged.throughput_mbps_kept).all()

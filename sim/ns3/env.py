"""``Ns3Env``: a gymnasium environment that drives an ns3-gym simulation over ZeroMQ.

The environment binds a REP socket (a given port, or a free one in 5001-10000 as ns3-gym does),
starts the simulation with ``--openGymPort=PORT --simSeed=SEED`` and the scenario's arguments, and
then answers its requests: SimInitMsg with SimInitAck, each EnvStateMsg with an EnvActMsg. Any
ns3-gym scenario works (ours, ``sim/ns3/scenario.cc``, is the default). The simulator's output goes
to ``<run_dir>/ns3.log`` (kept, one run after another) or, without a run_dir, to an unnamed temporary
file, so that nothing is left behind however the run or this process ends. Every wait has a timeout;
a simulation that exits, crashes or hangs is killed (with its whole process group) and reported with
the tail of its log.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any, NoReturn

import gymnasium as gym
import zmq

from sim.ns3.build import Ns3Error, messages, scenario_binary
from sim.ns3.protocol import pack, space_from_description, unpack

PORT_RANGE = (5001, 10000)
LOG_TAIL_BYTES = 3000


def _kill_group(process: subprocess.Popen) -> None:
    """Kill a simulation and everything it started; reap it so no zombie or orphan is left."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait()


def parse_info(text: str) -> dict[str, Any]:
    """ns3-gym's info string as a dict: ``"a=1;b=x"`` -> {"a": 1, "b": "x"}; anything else under "info"."""
    info: dict[str, Any] = {"info": text}
    for item in filter(None, text.split(";")):
        key, sep, value = item.partition("=")
        if sep:
            info[key.strip()] = int(value) if value.strip().lstrip("-").isdigit() else value.strip()
    return info


class Ns3Env(gym.Env):
    """An ns3-gym simulation as a gymnasium environment.

    ## Spaces
    Whatever the simulation declares in its init message (Box, Discrete, Dict, Tuple). Our CSMA
    scenario (``sim/ns3/scenario.cc``): action ``Box(1, 65536, (1,))``, the window W; observation
    ``Box(0, 1e9, (7,))``: frames transmitted, acknowledged, failed, the collision probability,
    the throughput at the AP (Mb/s), Bianchi virtual slots and busy periods, over the last step
    (``sim.ns3.scenario.ScenarioObservation`` says how attempts are counted).

    ## Reward, episode end, info
    As the simulation sends them: our scenario rewards throughput (Mb/s), ends after ``--steps``
    steps (terminated; a simulation that stops on its own is truncated) and reports
    ``n_stations``, ``window`` and ``step`` in ``info``.

    ## Arguments
    ``command`` starts the simulation (default: our scenario, built on first use); ``sim_args``
    become ``--key=value`` arguments. With ``start_sim=False`` the environment only listens on
    ``port`` and a simulation started elsewhere connects to it, as with ns3-gym's ``startSim=False``.
    ``timeout_s`` bounds every wait for the simulation. ``reset`` starts a fresh simulation. The
    simulation's log is ``<run_dir>/ns3.log`` where ``run_dir`` is given, else an unnamed temporary
    file (errors show its tail).

    ## Example
    >>> env = Ns3Env(sim_args={"nStations": 10, "stepTime": 0.1})
    >>> observation, info = env.reset(seed=0)
    >>> observation, reward, terminated, truncated, info = env.step(np.array([64.0]))
    >>> env.close()
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        command: Sequence[str | os.PathLike] | None = None,
        *,
        sim_args: Mapping[str, Any] | None = None,
        port: int = 0,
        start_sim: bool = True,
        run_dir: str | os.PathLike | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be 0 (a free one) or in [1, 65535], got {port}")
        if not start_sim and port == 0:
            raise ValueError("start_sim=False needs the port the simulation will connect to (port > 0)")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        self.command = [str(part) for part in command] if command is not None else None
        # Our scenario, started here, exits with this process (it watches its parent), so it must not
        # give up on an agent that is merely slow between steps: no --agentTimeout unless asked.
        defaults = {"agentTimeout": 0} if command is None and start_sim else {}
        self.sim_args = {**defaults, **dict(sim_args or {})}
        self.port = port
        self.start_sim = start_sim
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.log_path = self.run_dir / "ns3.log" if self.run_dir is not None else None
        if self.run_dir is not None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        self._log: IO[bytes] | None = None
        self.timeout_s = timeout_s
        self.action_space = None  # type: ignore[assignment]  # the simulation describes its spaces on reset
        self.observation_space = None  # type: ignore[assignment]
        self._context = zmq.Context()
        self._socket: zmq.Socket | None = None
        self._process: subprocess.Popen | None = None
        self._awaiting_reply = False
        self._closed = False
        self._finalizer = weakref.finalize(self, Ns3Env._release, self._context, [], None)

    @property
    def process(self) -> subprocess.Popen | None:
        """The running simulation's process (None before reset, after the episode or close)."""
        return self._process

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        """Start a fresh simulation (seeded from ``seed``) and return its first observation."""
        self._check_open("reset")
        super().reset(seed=seed)
        self._stop()
        sim_seed = int(self.np_random.integers(1, 2**31 - 1))
        self._bind()
        if self.start_sim:
            self._launch(sim_seed)
        pb = messages()
        init = self._receive(pb.SimInitMsg(), "the init message")
        observation_space, action_space = (space_from_description(s) for s in (init.obsSpace, init.actSpace))
        if observation_space is None or action_space is None:
            self._fail("the ns-3 simulation described no observation space or no action space")
        self.observation_space, self.action_space = observation_space, action_space
        self._send(pb.SimInitAck(done=True, stopSimReq=False))
        observation, _, over, _, info = self._state()
        if over:
            self._fail("the ns-3 simulation ended before its first step")
        return observation, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        """Send ``action``; returns (observation, reward, terminated, truncated, info) of the next step."""
        self._check_open("step")
        if not self._awaiting_reply:
            raise RuntimeError("Ns3Env.step() before reset() or after the episode ended; call reset(seed=...)")
        pb = messages()
        self._send(pb.EnvActMsg(actData=pack(action, self.action_space), stopSimReq=False))
        return self._state()

    def close(self) -> None:
        """Stop the simulation (politely, then by force), release the socket, close the log; idempotent."""
        if self._closed:
            return
        self._stop()
        self._closed = True
        self._finalizer()

    def _check_open(self, method: str) -> None:
        if self._closed:
            raise RuntimeError(f"Ns3Env.{method}() after close(); create a new environment")

    def _bind(self) -> None:
        socket = self._context.socket(zmq.REP)
        socket.setsockopt(zmq.LINGER, 0)
        try:
            if self.port:
                socket.bind(f"tcp://*:{self.port}")
                self._bound_port = self.port
            else:
                self._bound_port = socket.bind_to_random_port("tcp://*", *PORT_RANGE, max_tries=200)
        except zmq.ZMQError as error:
            socket.close()
            raise Ns3Error(
                f"cannot listen on port {self.port or PORT_RANGE}: {error}; pass another port, or port=0 for a free one"
            ) from error
        self._socket = socket

    def _launch(self, sim_seed: int) -> None:
        command = self.command or [str(scenario_binary())]
        args = [f"--openGymPort={self._bound_port}", f"--simSeed={sim_seed}"]
        args += [f"--{key}={value}" for key, value in self.sim_args.items()]
        if self.command is None:
            args.append(f"--parentPid={os.getpid()}")  # our scenario exits once this process is gone
        self._close_log()
        log = open(self.log_path, "a+b") if self.log_path is not None else tempfile.TemporaryFile(prefix="icl-ns3-")
        self._log = log
        launched: list[subprocess.Popen] = []
        self._finalizer.detach()
        self._finalizer = weakref.finalize(self, Ns3Env._release, self._context, launched, log)
        log.write(f"$ {' '.join([*command, *args])}\n".encode())
        log.flush()
        try:
            self._process = subprocess.Popen(
                [*command, *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as error:
            raise Ns3Error(f"cannot start the ns-3 simulation {command[0]}: {error}") from error
        launched.append(self._process)

    def _state(self) -> tuple[Any, float, bool, bool, dict]:
        pb = messages()
        state = self._receive(pb.EnvStateMsg(), "the next state")
        observation = unpack(state.obsData)
        info = parse_info(state.info)
        if not state.isGameOver:
            return observation, float(state.reward), False, False, info
        self._stop()
        game_over = state.reason == pb.EnvStateMsg.GameOver
        return observation, float(state.reward), game_over, not game_over, info

    def _receive(self, message: Any, what: str) -> Any:
        """Wait for ``what`` from the simulation, watching for a crash and for the timeout."""
        deadline = time.monotonic() + self.timeout_s
        socket = self._connected()
        while not socket.poll(timeout=100):
            if self._process is not None and self._process.poll() is not None:
                code = self._process.returncode
                self._fail(f"the ns-3 simulation exited (code {code}) while the agent waited for {what}")
            if time.monotonic() > deadline:
                self._fail(
                    f"no answer from the ns-3 simulation within {self.timeout_s:g} s while waiting for {what}; killed it"
                )
        message.ParseFromString(socket.recv())
        self._awaiting_reply = True
        return message

    def _connected(self) -> zmq.Socket:
        """The socket to the simulation (opened by reset)."""
        if self._socket is None:
            raise RuntimeError("Ns3Env is not connected to a simulation; call reset(seed=...)")
        return self._socket

    def _send(self, message: Any) -> None:
        self._connected().send(message.SerializeToString())
        self._awaiting_reply = False

    def _fail(self, reason: str) -> NoReturn:
        self._stop(polite=False)
        where = self.log_path or "(a temporary file; pass run_dir to keep it)"
        raise Ns3Error(f"{reason}.\nLog {where} ends with:\n{self._log_tail()}")

    def _log_tail(self) -> str:
        """The last bytes of the latest simulation's log ('' where none was started here)."""
        if self._log is None:
            return ""
        size = os.fstat(self._log.fileno()).st_size
        start = max(0, size - LOG_TAIL_BYTES)
        return os.pread(self._log.fileno(), size - start, start).decode(errors="replace")

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def _stop(self, polite: bool = True) -> None:
        """End the current simulation: answer with stopSimReq if it waits, give it a moment, kill it."""
        asked_to_stop = polite and self._awaiting_reply
        if asked_to_stop:
            self._send(messages().EnvActMsg(stopSimReq=True))
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        self._awaiting_reply = False
        if self._process is not None:
            try:
                self._process.wait(timeout=5.0 if asked_to_stop else 0.0)
            except subprocess.TimeoutExpired:
                pass
            _kill_group(self._process)
            self._process = None

    @staticmethod
    def _release(context: zmq.Context, processes: list[subprocess.Popen], log: IO[bytes] | None) -> None:
        for process in processes:
            _kill_group(process)
        if log is not None:
            log.close()
        context.destroy(linger=0)

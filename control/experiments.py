"""Closed-loop comparisons of CSMA window policies in any ``CsmaEnv``: the in-context optimizer,
the CCOD-style DQN, binary exponential backoff, model-based and oracle windows.

Each experiment returns a tidy frame of summary rows (panel, policy, x, mean and its 95% bootstrap
interval), which the figures only draw. The environment comes from a factory, so the same
experiment runs on the embedded simulator or on ns-3.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

import tasks
from control.adaptive import CollisionTracker, IdleSense, KalmanN
from control.controller import FixedWindow, IclController, Oracle, Policy, Trace, run_fixed
from control.drl import DrlAgent
from icl import baselines
from icl.evaluate import bootstrap_mean
from icl.learner import Learner
from icl.train import load_model
from sim.collect import measured_optimum
from sim.env import CsmaEnv, Embedded, Ns3
from sim.table import MeasurementTable
from sim.timing import INTERVAL_SLOTS, PAYLOAD_BYTES
from tasks.csma import INPUTS, CsmaPeakTask, CsmaWindowTask, optimum, throughput_at
from theory import bianchi, model_based

N_ASSUMED = 20
"""The N a model-based window assumes when it does not know the network's."""
"""Slots per env step: the measurement window of a probe, matched by the training prompts' noise."""
N_BEFORE, N_AFTER, CHANGE_STEP = 10, 45, 20
"""The change of N in the convergence experiment."""

EnvFactory = Callable[..., CsmaEnv]
"""Builds the environment a policy runs in: ``make_env(n_stations, **CsmaEnv options)``."""


def embedded_env(n_stations: int, **options: Any) -> CsmaEnv:
    """The embedded simulator, one probe's measurement window per step."""
    return CsmaEnv(n_stations, backend=Embedded(INTERVAL_SLOTS), **options)


def controller_for(run_dir: Path) -> IclController:
    """The closed-loop ICL controller of a trained csma_window or csma_peak run (probes: its prompt's
    examples)."""
    config, model = load_model(run_dir)
    task = config.task.build()
    if not isinstance(task, (CsmaWindowTask, CsmaPeakTask)):
        raise ValueError(
            f"{run_dir}: closed-loop control needs a csma_window or csma_peak run, got task {config.task.name!r}"
        )
    return IclController(model, task, n_probes=config.task.n_points - 1)


def summary_row(panel: str, policy: str, x: float, samples: np.ndarray, seed: int) -> dict:
    """One CSV row: the mean of ``samples`` and its 95% bootstrap interval."""
    low, high = bootstrap_mean(samples[:, None], 1000, 0.95, seed)
    return {"panel": panel, "policy": policy, "x": x, "mean": samples.mean(), "ci_low": low[0], "ci_high": high[0]}


def trained_agent(path: Path, algorithm: str, n_episodes: int, seed: int) -> DrlAgent:
    """A CCOD-style DRL baseline (``algorithm`` "dqn" or "td3"), trained for ``n_episodes`` of 25 steps
    on N uniform in [5, 50]; cached at ``path`` (loaded from there when it exists)."""
    agent = DrlAgent(algorithm, seed=seed)
    if Path(path).exists():
        agent.load(path)
        return agent
    rng = np.random.default_rng(seed)
    agent.train(
        lambda episode: CsmaEnv(int(rng.integers(5, 51)), backend=Embedded(2000)),
        n_episodes=n_episodes,
        episode_steps=25,
    )
    agent.save(path)
    return agent


def oracle_window(n_stations: int) -> int:
    """The throughput-optimal window of a network of ``n_stations`` (Bianchi's model), rounded."""
    return round(optimum(n_stations, PAYLOAD_BYTES)[0])


def _window_task(task: tasks.Task) -> CsmaWindowTask | CsmaPeakTask:
    """``task`` as one whose labels map to windows, or a clear error naming the tasks that do."""
    if not isinstance(task, CsmaWindowTask | CsmaPeakTask):
        raise ValueError(f"a CSMA experiment needs the csma_window or csma_peak task, got {type(task).__name__}")
    return task


def training_curve(run_dir: Path, stages: Sequence[int]) -> pd.DataFrame:
    """Throughput ratio S(predicted W) / S(W*) of the checkpoints kept at ``stages``."""
    config, _ = load_model(run_dir)
    task = _window_task(config.task.build())
    prompt = task.sample(config.eval.n_prompts, config.task.n_points, torch.Generator().manual_seed(config.eval.seed))
    n, payloads = prompt.info["n_stations"], prompt.info["payload_bytes"]
    oracle = throughput_at(n, prompt.info["w_star"].log2(), payloads)
    rows = []
    for steps in stages:
        _, model = load_model(run_dir, step=steps)
        ratio = throughput_at(n, task.log2_window_of(model.predict(prompt.xs, prompt.ys)[:, -1]), payloads) / oracle
        rows.append(summary_row("training", "icl:transformer", steps, ratio, config.eval.seed))
    return pd.DataFrame(rows)


def window_accuracy(
    learners: Mapping[str, Learner],
    n_values: Sequence[int],
    eps_values: Sequence[float],
    n_prompts: int,
    seed: int = 0,
    n_points: int = 11,
    measurement_slots: int = INTERVAL_SLOTS,
    frame_error_rate: float = 0.0,
    payload_bytes: int = PAYLOAD_BYTES,
    error_mode: str = "random",
    encoding: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """How close each learner's window for p* comes to W*, open loop, on ``n_prompts`` fresh
    ``csma_window`` prompts per (N, eps) cell (N fixed in a cell, probes measured over
    ``measurement_slots`` slots as in training; ``frame_error_rate`` biases every reading up; frames of
    ``payload_bytes``, which moves p* and W*; wrong examples of ``error_mode``). ``encoding`` holds the
    task's ``inputs`` and ``window_scale`` when the learners read an ablated encoding.

    One row per learner and cell: the median and 90th percentile of |log2 W - log2 W*| (octaves)
    and the mean and 5th percentile of the throughput ratio S(W) / S(W*) in Bianchi's model.
    """
    encoding = dict(encoding or {})
    rows = []
    for n in n_values:
        for eps in eps_values:
            task = _window_task(
                tasks.get(
                    "csma_window",
                    INPUTS[encoding.get("inputs", "p_z")],
                    **encoding,
                    error_mode=error_mode,
                    n_min=n,
                    n_max=n,
                    error_fraction=eps,
                    measurement_slots=measurement_slots,
                    frame_error_rate=frame_error_rate,
                    payload_bytes=[payload_bytes],
                )
            )
            prompt = task.sample(n_prompts, n_points, torch.Generator().manual_seed(seed + 1000 * n))
            truth, payloads = prompt.info["w_star"].log2(), prompt.info["payload_bytes"]
            oracle = throughput_at(prompt.info["n_stations"], truth, payloads)
            for name, learner in learners.items():
                predicted = task.log2_window_of(learner.predict(prompt.xs, prompt.ys)[:, -1].double())
                octaves = (predicted - truth).abs().numpy()
                ratio = throughput_at(prompt.info["n_stations"], predicted, payloads) / oracle
                rows.append(
                    {
                        "learner": name,
                        "N": n,
                        "eps": eps,
                        "frame_error_rate": frame_error_rate,
                        "payload_bytes": payload_bytes,
                        "error_mode": error_mode,
                        "median_octaves": float(np.median(octaves)),
                        "p90_octaves": float(np.quantile(octaves, 0.9)),
                        "throughput_ratio": float(ratio.mean()),
                        "p5_throughput_ratio": float(np.quantile(ratio, 0.05)),
                    }
                )
    return pd.DataFrame(rows)


def peak_accuracy(
    learners: Mapping[str, Learner],
    tables: Mapping[str, str],
    n_prompts: int,
    seed: int = 0,
    n_points: int = 13,
    **task_options: Any,
) -> pd.DataFrame:
    """How close each learner's answer to ``csma_peak`` prompts comes to the measured optimum, open loop,
    per world (``tables``: name -> measurement table) and N of its table: the median octave error and
    the mean and 5th percentile of S(W) / S(W*) on the table's mean throughput curve. ``task_options``
    (``throughput_norm``) must be those the learners read."""
    rows = []
    for world, path in tables.items():
        table = MeasurementTable.load(path)
        for n in table.n_values.tolist():
            task = tasks.get("csma_peak", 3, measurements=path, n_min=n, n_max=n, **task_options)
            prompt = task.sample(n_prompts, n_points, torch.Generator().manual_seed(seed + 1000 * n))
            truth = prompt.ys[:, -1].double().numpy()
            best = table.throughput_at(n, truth)
            for name, learner in learners.items():
                predicted = learner.predict(prompt.xs, prompt.ys)[:, -1].double().numpy()
                ratio = table.throughput_at(n, predicted) / best
                rows.append(
                    {
                        "learner": name,
                        "world": world,
                        "N": n,
                        "median_octaves": float(np.median(np.abs(predicted - truth))),
                        "throughput_ratio": float(ratio.mean()),
                        "p5_throughput_ratio": float(np.quantile(ratio, 0.05)),
                    }
                )
    return pd.DataFrame(rows)


PolicySpec = tuple[Policy, Mapping[str, Any]]
"""A policy and the env options it needs (``{"backoff": "beb"}`` for BEB, else none)."""


ESTIMATORS = (
    "median_offset",
    "shorth_offset",
    "huber_offset",
    f"mle_offset:measurement_slots={INTERVAL_SLOTS}",
    "least_squares_z",
)
"""The hand-made in-context estimators (baseline specs) the transformer is compared with."""

ORACLE = "oracle"
"""The key of the oracle policy, the window W*(N) of the true N (policies are named by keys; figures
show their human names)."""


SCHEMES: dict[str, Callable[[], Policy]] = {
    "p_star_tracker": CollisionTracker,
    "idle_sense": IdleSense,
    "kalman_n": KalmanN,
}
"""The classic adaptive schemes, which need no training and no probes."""


def estimator_controller(controller: IclController, spec: str) -> IclController:
    """The same closed-loop controller with a hand-made estimator (a baseline spec) reading its prompts."""
    return IclController(baselines.from_spec(spec), controller.task, n_probes=len(controller.probe_windows))


def hand_made_policies(controller: IclController) -> dict[str, PolicySpec]:
    """The hand-made policies every CSMA figure shows beside the transformer: the controller reading
    its prompts with the median of offsets, and the classic schemes."""
    table: dict[str, PolicySpec] = {"icl:median_offset": (estimator_controller(controller, "median_offset"), {})}
    table.update({name: (scheme(), {}) for name, scheme in SCHEMES.items()})
    return table


def fair_test_policies(controller: IclController, dqn: DrlAgent, td3: DrlAgent) -> dict[str, PolicySpec]:
    """Every policy of the fair test: the ICL controller with the transformer and with each hand-made
    estimator reading the same prompts, the classic adaptive schemes, the DQN and TD3 agents, BEB and
    the model-based windows (knowing N, and assuming N_ASSUMED)."""
    table: dict[str, PolicySpec] = {"icl:transformer": (controller, {})}
    for spec in ESTIMATORS:
        table[f"icl:{spec}"] = (estimator_controller(controller, spec), {})
    table.update({name: (scheme(), {}) for name, scheme in SCHEMES.items()})
    table["dqn"] = (dqn, {})
    table["td3"] = (td3, {})
    table["beb"] = (FixedWindow(16), {"backoff": "beb"})
    table["p_persistent_window"] = (Oracle(lambda n: round(model_based.p_persistent_window(n))), {})
    table[f"assumed_n_window:n={N_ASSUMED}"] = (FixedWindow(oracle_window(N_ASSUMED)), {})
    return table


def adaptive_policies(controller: IclController, dqn: DrlAgent) -> dict[str, PolicySpec]:
    """The policies that follow a change of N: the ICL controller, the hand-made policies, the
    CCOD-style DQN and 802.11 BEB."""
    return {
        "icl:transformer": (controller, {}),
        **hand_made_policies(controller),
        "dqn": (dqn, {}),
        "beb": (FixedWindow(16), {"backoff": "beb"}),
    }


def held_throughput(policy: Policy, trace: Trace, hold_steps: int) -> float:
    """Mean throughput once a policy holds its window: an in-context controller's steps after its
    probes, any other policy's last ``hold_steps``."""
    if isinstance(policy, IclController):
        return float(np.mean([s for s, probing in zip(trace.throughput_mbps, trace.probing) if not probing]))
    return float(np.mean(trace.throughput_mbps[-hold_steps:]))


def score_policies(
    policies: Mapping[str, PolicySpec],
    n_values: Sequence[int],
    seeds: int,
    n_steps: int,
    observation_error: float = 0.0,
    hold_steps: int = 4,
    make_env: EnvFactory = embedded_env,
    oracle: Callable[[int], int] = oracle_window,
) -> pd.DataFrame:
    """Each policy's throughput relative to the oracle window (Bianchi's W*(N), or a world's measured
    optimum) on the same network and seed, with every step counted (probes are charged): the mean and
    5th percentile over ``seeds``; beside it the ratio over the last ``hold_steps`` steps only (steady
    state) and Jain's fairness over the run. The collision readings are wrong with probability
    ``observation_error``."""
    rows = []
    for n in n_values:
        reference = []
        for seed in range(seeds):
            with make_env(n) as env:
                reference.append(Oracle(oracle).run(env, n_steps, seed=seed).throughput_mbps)
        oracle_all, oracle_held = np.mean(reference, axis=1), np.mean(np.array(reference)[:, -hold_steps:], axis=1)
        for name, (policy, env_options) in policies.items():
            traces = []
            for seed in range(seeds):
                with make_env(n, observation_error=observation_error, **env_options) as env:
                    traces.append(policy.run(env, n_steps, seed=seed))
            throughput = np.array([trace.throughput_mbps for trace in traces])
            ratio = throughput.mean(axis=1) / oracle_all
            rows.append(
                {
                    "policy": name,
                    "N": n,
                    "eps": observation_error,
                    "throughput_ratio": float(ratio.mean()),
                    "p5_throughput_ratio": float(np.quantile(ratio, 0.05)),
                    "held_ratio": float((throughput[:, -hold_steps:].mean(axis=1) / oracle_held).mean()),
                    "fairness": float(np.mean([trace.fairness() for trace in traces])),
                    "throughput_mbps": float(throughput.mean()),
                }
            )
    return pd.DataFrame(rows)


def world_scores(
    policies: Mapping[str, PolicySpec],
    world_names: Sequence[str],
    n_values: Sequence[int],
    seeds: int,
    n_steps: int,
    backend: Embedded | Ns3 | None = None,
    optimum: Callable[[str, int], float] | None = None,
) -> pd.DataFrame:
    """``score_policies`` in each world of ``sim.worlds`` on ``backend`` (default: the embedded
    simulator, ``INTERVAL_SLOTS`` per step; or ns-3), against that world's oracle window ``optimum(world, N)`` (default: the best fixed window of
    an embedded sweep, ``measured_optimum``), with a column saying which world and the oracle's window."""
    frames = []
    for name in world_names:
        window = {n: optimum(name, n) if optimum else measured_optimum(n, name)[0] for n in n_values}
        make_env = functools.partial(CsmaEnv, backend=backend or Embedded(INTERVAL_SLOTS), world=name)
        frame = score_policies(policies, n_values, seeds, n_steps, make_env=make_env, oracle=lambda n: round(window[n]))
        frames.append(frame.assign(world=name, oracle_window=frame.N.map(window)))
    return pd.concat(frames, ignore_index=True)


def recovery_steps(curves: pd.DataFrame, within: float = 0.05) -> pd.Series:
    """Per policy of a ``convergence`` frame: steps after the change of N until its mean throughput is
    within ``within`` of the oracle's and stays there (NaN if it never does)."""
    oracle = curves[curves.policy == ORACLE].set_index("x")["mean"]
    steps = {}
    for policy, rows in curves.groupby("policy", sort=False):
        below = (rows.set_index("x")["mean"] / oracle).loc[CHANGE_STEP:].to_numpy() < 1 - within
        steps[policy] = float("nan") if below[-1] else float(np.flatnonzero(below)[-1] + 1 if below.any() else 0)
    return pd.Series(steps, name="recovery_steps")


def closed_loop(
    controller: IclController,
    dqn: DrlAgent,
    n_grid: Sequence[int],
    seeds: int,
    hold_steps: int,
    make_env: EnvFactory = embedded_env,
) -> pd.DataFrame:
    """Steady-state throughput per policy and N in ``make_env``'s simulator (``held_throughput``): the
    ICL controller, the hand-made policies, the DQN, and fixed windows (the oracle, BEB, the models)."""
    n_steps = len(controller.probe_windows) + hold_steps
    learned = {"icl:transformer": controller, **{k: p for k, (p, _) in hand_made_policies(controller).items()}}
    learned["dqn"] = dqn
    rows = []
    for n in n_grid:
        fixed_policies = (
            (ORACLE, oracle_window(n), "fixed"),
            ("beb", 16, "beb"),
            ("p_persistent_window", round(model_based.p_persistent_window(n)), "fixed"),
            ("non_persistent_window", round(model_based.non_persistent_window(n)), "fixed"),
            (f"assumed_n_window:n={N_ASSUMED}", oracle_window(N_ASSUMED), "fixed"),
        )
        results: dict[str, list[float]] = {policy: [] for policy in learned}
        results.update({policy: [] for policy, _, _ in fixed_policies})
        for seed in range(seeds):
            for name, policy in learned.items():
                with make_env(n) as env:
                    results[name].append(held_throughput(policy, policy.run(env, n_steps, seed=seed), hold_steps))
            for name, window, backoff in fixed_policies:
                with make_env(n, backoff=backoff) as env:
                    fixed = run_fixed(env, window, hold_steps, seed=seed)
                results[name].append(float(np.mean(fixed.throughput_mbps)))
        rows += [summary_row("throughput", policy, n, np.array(values), seed) for policy, values in results.items()]
        theory = float(bianchi.throughput(n, optimum(n, PAYLOAD_BYTES)[0]))
        rows.append(
            {
                "panel": "throughput",
                "policy": f"{ORACLE} (theory)",
                "x": n,
                "mean": theory,
                "ci_low": theory,
                "ci_high": theory,
            }
        )
    return pd.DataFrame(rows)


def error_sweep(
    policies: Mapping[str, PolicySpec],
    eps_grid: Sequence[float],
    seeds: int,
    hold_steps: int,
    n_steps: int,
    make_env: EnvFactory = embedded_env,
) -> pd.DataFrame:
    """Per policy and eps, the mean over N in {5, 20, 50} and seeds of its held throughput
    (``held_throughput`` over ``n_steps``) / the oracle's, with a fraction eps of the collision
    readings wrong."""
    networks = [(n, seed) for n in (5, 20, 50) for seed in range(seeds)]
    oracle = {}
    for n, seed in networks:  # the same for every policy and eps
        with make_env(n) as env:
            oracle[n, seed] = float(np.mean(run_fixed(env, oracle_window(n), hold_steps, seed=seed).throughput_mbps))
    rows = []
    for name, (policy, env_options) in policies.items():
        for eps in eps_grid:
            ratios = []
            for n, seed in networks:
                with make_env(n, observation_error=eps, **env_options) as env:
                    held = held_throughput(policy, policy.run(env, n_steps, seed=seed), hold_steps)
                ratios.append(held / oracle[n, seed])
            rows.append(summary_row("errors", name, eps, np.array(ratios), 0))
    return pd.DataFrame(rows)


def convergence(
    policies: Mapping[str, PolicySpec], seeds: int, n_steps: int, make_env: EnvFactory = embedded_env
) -> pd.DataFrame:
    """Throughput per step of each policy, and of the oracle W*(N), in ``make_env``'s simulator when N
    changes from N_BEFORE to N_AFTER at CHANGE_STEP."""
    schedule = {CHANGE_STEP: N_AFTER}
    runs = {**policies, ORACLE: (Oracle(oracle_window), {})}
    traces: dict[str, list[list[float]]] = {name: [] for name in runs}
    for seed in range(seeds):
        for name, (policy, env_options) in runs.items():
            with make_env(N_BEFORE, n_schedule=schedule, **env_options) as env:
                traces[name].append(policy.run(env, n_steps, seed=seed).throughput_mbps)
    rows = []
    for name, trace in traces.items():
        values = np.array(trace)
        rows += [summary_row("convergence", name, step, values[:, step], step) for step in range(n_steps)]
    return pd.DataFrame(rows)

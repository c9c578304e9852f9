"""Stable-Baselines3's PPO and DQN with default hyper-parameters on the registered CSMA id, against the
best fixed window.

Both agents train on ``gymnasium.make("sim.gym_envs:icl_testbed/Csma-v0", n_stations=N)`` as it is
registered (scaled units, 100-step episodes, 5,000 slots a step): PPO on the default action (log2 W / 8 - 1
in [-1, 1]), DQN with ``action="discrete"`` (CCOD's windows 16..1024), each with SB3's defaults but for
the seed and the CPU device. Before training and every ``--eval-every`` steps, the greedy policy runs one
episode of the same id from ``--eval-seed``; its mean throughput (Mb/s, ``info["raw_observation"]``) is
divided by that of the best fixed window, measured in the same process on the same id and seed over
windows 2^(k/8) from 8 to 4096. Printed per agent and seed: the ratio of the untrained policy, the
training steps after which the ratio first reached 0.95 and after which it stayed there at every later
evaluation (or that it did not within ``--steps``), and the ratio and median window after the last step.
The header gives the fixed windows that are within 5% themselves: how wide the target is. N = 20 is
the issue's size; N = 5 is beside it because at N = 20 the middle of PPO's action range (W = 256) is
itself within 5%, so there the target says little about learning.

    python benchmarks/csma_gym_agents.py --n-stations 20 5 --steps 20000 --seeds 0
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import gymnasium  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from stable_baselines3 import DQN, PPO  # noqa: E402
from stable_baselines3.common.base_class import BaseAlgorithm  # noqa: E402
from stable_baselines3.common.callbacks import BaseCallback  # noqa: E402

ID = "sim.gym_envs:icl_testbed/Csma-v0"
TARGET = 0.95
AGENTS = {"PPO": (PPO, {}), "DQN": (DQN, {"action": "discrete"})}
"""Each agent's algorithm and the arguments its env is made with (DQN needs a discrete action)."""


def episode_throughput_mbps(env: gymnasium.Env, act: object, seed: int) -> tuple[float, int]:
    """Mean throughput (Mb/s) of one episode from ``seed`` with ``act(observation) -> action``, and the
    median window it set."""
    observation, _ = env.reset(seed=seed)
    throughputs, windows, done = [], [], False
    while not done:
        observation, _, terminated, truncated, info = env.step(act(observation))
        throughputs.append(info["raw_observation"][1])
        windows.append(info["window"])
        done = terminated or truncated
    return float(np.mean(throughputs)), int(np.median(windows))


def fixed_windows(n_stations: int, seed: int) -> dict[int, float]:
    """Episode throughput (Mb/s) of every fixed window 2^(k/8), 8..4096."""
    env = gymnasium.make(ID, n_stations=n_stations, action="window")
    windows = sorted({round(2 ** (k / 8)) for k in range(24, 97)})
    return {w: episode_throughput_mbps(env, lambda _, w=w: np.array([w], dtype=float), seed)[0] for w in windows}


class Evaluate(BaseCallback):
    """Every ``every`` training steps, the greedy policy's episode throughput over the baseline's."""

    def __init__(self, env: gymnasium.Env, every: int, seed: int, baseline_mbps: float) -> None:
        super().__init__()
        self.env, self.every, self.seed, self.baseline_mbps = env, every, seed, baseline_mbps
        self.ratios: list[tuple[int, float, int]] = []
        """(training steps, throughput ratio, median window) of each evaluation."""

    def evaluate(self) -> None:
        mbps, window = episode_throughput_mbps(
            self.env, lambda observation: self.model.predict(observation, deterministic=True)[0], self.seed
        )
        self.ratios.append((self.num_timesteps, mbps / self.baseline_mbps, window))

    def _on_training_start(self) -> None:
        self.evaluate()

    def _on_step(self) -> bool:
        if self.num_timesteps % self.every == 0:
            self.evaluate()
        return True


def train_and_evaluate(
    name: str, n_stations: int, args: argparse.Namespace, seed: int, baseline_mbps: float
) -> Evaluate:
    algorithm, env_options = AGENTS[name]
    model: BaseAlgorithm = algorithm(
        "MlpPolicy", gymnasium.make(ID, n_stations=n_stations, **env_options), seed=seed, device="cpu"
    )
    evaluate = Evaluate(
        gymnasium.make(ID, n_stations=n_stations, **env_options), args.eval_every, args.eval_seed, baseline_mbps
    )
    model.learn(total_timesteps=args.steps, callback=evaluate)
    return evaluate


def steps_to_target(ratios: list[tuple[int, float, int]]) -> tuple[int | None, int | None]:
    """Training steps after which the ratio first reached ``TARGET``, and after which it stayed there
    (None: not within the budget)."""
    reached = [ratio >= TARGET for _, ratio, _ in ratios]
    first = next((steps for (steps, _, _), ok in zip(ratios, reached) if ok), None)
    last_miss = max((i for i, ok in enumerate(reached) if not ok), default=-1)
    return first, ratios[last_miss + 1][0] if last_miss + 1 < len(ratios) else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-stations", type=int, nargs="+", default=[20, 5])
    parser.add_argument("--steps", type=int, default=20_000, help="training steps per agent (the budget)")
    parser.add_argument("--eval-every", type=int, default=1_000)
    parser.add_argument("--eval-seed", type=int, default=1_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    torch.set_num_threads(1)

    started = time.perf_counter()
    print(f"{ID}, SB3 defaults, budget {args.steps:,} steps, greedy evaluation every {args.eval_every:,} steps")
    rows = []
    for n_stations in args.n_stations:
        scores = fixed_windows(n_stations, args.eval_seed)
        best_window = max(scores, key=scores.get)
        near = [w for w, mbps in scores.items() if mbps >= TARGET * scores[best_window]]
        print(
            f"N={n_stations}: best fixed window W={best_window} at {scores[best_window]:.2f} Mb/s (100-step episode, "
            f"seed {args.eval_seed}); fixed windows {min(near)}..{max(near)} are within 5% of it"
        )
        for name in AGENTS:
            for seed in args.seeds:
                ratios = train_and_evaluate(name, n_stations, args, seed, scores[best_window]).ratios
                first, stays = (f"{s:,}" if s is not None else "not reached" for s in steps_to_target(ratios))
                rows.append(
                    f"{n_stations:3d} {name:5} {seed:4d} {ratios[0][1]:9.3f} {first:>13} {stays:>13} "
                    f"{ratios[-1][1]:7.3f} {ratios[-1][2]:5d}"
                )
    print(
        f"{'N':>3} {'agent':5} {'seed':>4} {'untrained':>9} {'first >= .95':>13} {'stays >= .95':>13} {'at end':>7} {'W':>5}"
    )
    print("\n".join(rows))
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()

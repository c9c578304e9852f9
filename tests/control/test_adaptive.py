"""The classic adaptive window schemes reach the oracle's throughput in Bianchi's world and follow a
change of N; the honest scoring charges probes and sees unfairness."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from control import experiments
from control.adaptive import CollisionTracker, IdleSense, KalmanN, optimal_idle_slots
from control.controller import FixedWindow, Oracle, Trace, run_fixed
from sim.env import CsmaEnv

pytestmark = pytest.mark.pipeline  # closed-loop simulations (seconds each)
SCHEMES = {"p_star_tracker": CollisionTracker(), "idle_sense": IdleSense(), "Kalman N": KalmanN()}


@pytest.mark.parametrize("name", list(SCHEMES))
@pytest.mark.parametrize("n", [5, 50])
def test_each_scheme_settles_near_the_oracle(name: str, n: int) -> None:
    with experiments.embedded_env(n) as env:
        trace = SCHEMES[name].run(env, 25, seed=1)
    with experiments.embedded_env(n) as env:
        oracle = Oracle(experiments.oracle_window).run(env, 25, seed=1)
    assert np.mean(trace.throughput_mbps[-8:]) >= 0.97 * np.mean(oracle.throughput_mbps[-8:])
    assert abs(np.log2(trace.windows[-1] / experiments.oracle_window(n))) < 0.5


def test_schemes_follow_a_change_of_n() -> None:
    curves = experiments.convergence({name: (scheme, {}) for name, scheme in SCHEMES.items()}, seeds=2, n_steps=40)
    steps = experiments.recovery_steps(curves)
    assert steps["oracle"] == 0
    assert (steps[list(SCHEMES)] <= 12).all(), steps


def test_the_idle_target_hardly_depends_on_n() -> None:
    targets = [optimal_idle_slots(n) for n in (5, 20, 50)]
    assert max(targets) / min(targets) < 1.2


def test_probes_are_charged_and_fairness_is_measured() -> None:
    """A policy that spends half its steps at a bad window scores about halfway; BEB is unfairer than a
    fixed window at the optimum (Jain's index over the run)."""

    class HalfBad:
        def run(self, env: CsmaEnv, n_steps: int, seed: int = 0) -> Trace:
            windows = [16] * (n_steps // 2) + [experiments.oracle_window(30)] * (n_steps - n_steps // 2)
            return run_fixed(env, windows, n_steps, seed)

    table = {"half bad": (HalfBad(), {}), "BEB": (FixedWindow(16), {"backoff": "beb"})}
    table["fixed optimum"] = (FixedWindow(experiments.oracle_window(30)), {})
    scores = experiments.score_policies(table, [30], seeds=3, n_steps=10, hold_steps=4).set_index("policy")
    assert list(scores.columns[:2]) == ["N", "eps"]
    assert scores.loc["half bad", "held_ratio"] == pytest.approx(1.0, abs=0.05)
    assert scores.loc["half bad", "throughput_ratio"] < 0.85
    assert scores.loc["fixed optimum", "throughput_ratio"] == pytest.approx(1.0, abs=0.05)
    assert scores.loc["BEB", "fairness"] < scores.loc["fixed optimum", "fairness"]
    assert (scores.p5_throughput_ratio <= scores.throughput_ratio + 1e-12).all()


def test_recovery_is_nan_when_a_policy_never_recovers() -> None:
    steps = range(experiments.CHANGE_STEP + 3)
    curves = pd.DataFrame(
        [{"policy": "oracle", "x": t, "mean": 10.0} for t in steps]
        + [{"policy": "stuck", "x": t, "mean": 10.0 if t < experiments.CHANGE_STEP else 5.0} for t in steps]
        + [{"policy": "late", "x": t, "mean": 5.0 if t < experiments.CHANGE_STEP + 2 else 10.0} for t in steps]
    )
    steps = experiments.recovery_steps(curves)
    assert np.isnan(steps["stuck"]) and steps["late"] == 2 and steps["oracle"] == 0

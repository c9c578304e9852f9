"""The hand-made in-context estimators of the CSMA window: exact on exact readings, within the theory's
bound on measured ones, and each with its known weakness (the likelihood is pulled by wrong readings)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tasks
from icl.baselines import from_spec
from icl.baselines.csma import HuberOffset, MleOffset, OffsetEstimator
from theory import bianchi
from theory.in_context import in_context_deviation_bound

ESTIMATORS = ["median_offset", "shorth_offset", "huber_offset", "mle_offset:measurement_slots=5000", "least_squares_z"]


def prompts(
    n: int, measurement_slots: int = 0, error_fraction: float = 0.0, count: int = 500, error_mode: str = "random"
):
    task = tasks.get("csma_window", 2, n_min=n, n_max=n, measurement_slots=measurement_slots,
                     error_fraction=error_fraction, error_mode=error_mode)  # fmt: skip
    return task.sample(count, 11, torch.Generator().manual_seed(n))


def octave_errors(spec: str, prompt) -> np.ndarray:  # type: ignore[no-untyped-def]
    predicted = from_spec(spec).predict(prompt.xs, prompt.ys)[:, -1].double()
    return (predicted - prompt.info["w_star"].log2()).abs().numpy()


@pytest.mark.parametrize(
    "spec",
    ["median_offset", "shorth_offset", "huber_offset", "mle_offset:measurement_slots=10000000", "least_squares_z"],
)
@pytest.mark.parametrize("n", [3, 20, 60])
def test_exact_readings_give_the_oracle_window(spec: str, n: int) -> None:
    """Bianchi's readings without measurement noise (the likelihood: with a measurement window so long that
    its counts are large): every estimator finds W*, the likelihood to its grid's step."""
    assert octave_errors(spec, prompts(n)).max() < 0.01


@pytest.mark.parametrize("error_fraction", [0.0, 0.2])
def test_the_median_misses_by_more_than_its_bound_in_at_most_5_percent_of_prompts(error_fraction: float) -> None:
    """Measured over 5,000 slots, a fraction of the examples wrong: each prompt's miss against the 95% bound
    that theory.in_context derives for its own probe windows (up to sampling error over 400 prompts)."""
    n, p_star = 20, bianchi.optimal_collision_probability(20)
    prompt = prompts(n, measurement_slots=5000, error_fraction=error_fraction, count=400)
    probes = 2.0 ** prompt.ys[:, :-1].double().numpy()
    bounds = np.array([in_context_deviation_bound(n, w, 5000, error_fraction, p_star) for w in probes])
    assert np.mean(octave_errors("median_offset", prompt) > bounds) <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 400)


def test_the_huber_estimate_is_bounded_under_wrong_readings() -> None:
    wrong = prompts(20, measurement_slots=5000, error_fraction=0.3)
    assert np.median(octave_errors("huber_offset", wrong)) < 0.1


def test_the_shortest_half_is_not_pulled_by_one_sided_errors() -> None:
    """Interference bursts raise every reading they hit: the median moves with them, the shorth less."""
    burst = prompts(20, measurement_slots=5000, error_fraction=0.3, count=1000, error_mode="burst")
    assert np.median(octave_errors("shorth_offset", burst)) < 0.8 * np.median(octave_errors("median_offset", burst))


def test_the_likelihood_wins_on_clean_readings_and_loses_to_wrong_ones() -> None:
    clean, wrong = prompts(20, measurement_slots=5000), prompts(20, measurement_slots=5000, error_fraction=0.3)
    mle, median = "mle_offset:measurement_slots=5000", "median_offset"
    assert np.median(octave_errors(mle, clean)) < np.median(octave_errors(median, clean))
    assert np.median(octave_errors(mle, wrong)) > 2 * np.median(octave_errors(median, wrong))


def test_every_prefix_is_answered_and_the_first_from_the_prior() -> None:
    prompt = prompts(20, measurement_slots=5000)
    predicted = from_spec("median_offset:prior_n=5").predict(prompt.xs, prompt.ys)
    assert predicted.shape == prompt.ys.shape and torch.isfinite(predicted).all()
    first = bianchi.optimal_window(5)  # the query level is p* of N = 20 at every prefix's last position
    assert abs(float(predicted[0, 0]) - float(np.log2(first))) < 1.5
    errors = [np.median(np.abs(predicted[:, k].numpy() - prompt.info["w_star"].log2().numpy())) for k in (1, 10)]
    assert errors[1] < errors[0]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: OffsetEstimator.__subclasses__()[0](prior_n=1), "prior_n must be > 1"),
        (lambda: MleOffset(measurement_slots=0), "measurement_slots must be a positive integer, got 0"),
        (lambda: HuberOffset(c=0), "c must be positive, got 0"),
        (lambda: from_spec("median_offset:window=3"), "window"),
    ],
)
def test_bad_parameters(make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        make()

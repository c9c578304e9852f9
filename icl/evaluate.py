"""Evaluation: every learner on the same prompts, scored at every prompt length, with bootstrap CIs.

The score at k is the error of the prediction for example k made from the k examples before it:
squared error divided by the task's error scale (Garg et al.'s normalisation: the zero predictor
scores 1) for regression, accuracy of the sign for classification.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from icl import baselines
from icl.config import RunConfig
from icl.io import atomic_path
from icl.learner import Learner
from icl.train import load_model
from tasks import Prompt, Task

EVAL_FILE = "eval.csv"
COLUMNS = ["task", "learner", "k", "metric", "mean", "ci_low", "ci_high", "n_prompts"]


def prompt_scores(predictions: Tensor, prompt: Prompt) -> Tensor:
    """Per-prompt, per-position scores [B, K]: normalised squared error or 0/1 accuracy."""
    if predictions.shape != prompt.ys.shape:
        raise ValueError(f"predictions have shape {tuple(predictions.shape)}, labels {tuple(prompt.ys.shape)}")
    predictions, ys = predictions.double(), prompt.ys.double()
    if prompt.info["metric"] == "accuracy":
        return (torch.where(predictions >= 0, 1.0, -1.0) == ys).double()
    return (predictions - ys).square() / prompt.info["error_scale"]


def bootstrap_mean(scores: np.ndarray, n_bootstrap: int, confidence: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval of the mean over prompts (axis 0) for every column."""
    n_prompts = scores.shape[0]
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n_prompts, np.full(n_prompts, 1.0 / n_prompts), size=n_bootstrap)
    means = counts @ scores / n_prompts
    tail = (1 - confidence) / 2
    return np.quantile(means, tail, axis=0), np.quantile(means, 1 - tail, axis=0)


def evaluate(
    learners: Mapping[str, Learner],
    prompt: Prompt,
    *,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    batch_size: int = 256,
    on_batch: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Score every learner on ``prompt`` (all of them see the same prompts); one row per (learner, k).
    ``on_batch(learner)`` is called after each batch of prompts (progress: ``len(learners)`` x
    ``ceil(prompts / batch_size)`` calls in all)."""
    frames = []
    for label, learner in learners.items():
        batches = []
        for start in range(0, prompt.batch_size, batch_size):
            batches.append(
                learner.predict(prompt.xs[start : start + batch_size], prompt.ys[start : start + batch_size])
            )
            if on_batch is not None:
                on_batch(label)
        predictions = torch.cat(batches)
        scores = prompt_scores(predictions, prompt).numpy()
        low, high = bootstrap_mean(scores, n_bootstrap, confidence, seed)
        frames.append(
            pd.DataFrame(
                {
                    "task": prompt.info["task"],
                    "learner": label,
                    "k": np.arange(prompt.n_points),
                    "metric": prompt.info["metric"],
                    "mean": scores.mean(axis=0),
                    "ci_low": low,
                    "ci_high": high,
                    "n_prompts": prompt.batch_size,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)[COLUMNS]


def eval_prompts(task: Task, config: RunConfig, n_points: int | None = None) -> Prompt:
    """The evaluation prompts of a run: its eval seed, full dimension, no curriculum."""
    n_points = n_points or config.eval.n_points or config.task.n_points
    return task.sample(config.eval.n_prompts, n_points, torch.Generator().manual_seed(config.eval.seed))


def learners_for(model: Learner | None, baseline_specs: list[str]) -> dict[str, Learner]:
    """The trained model (when given; keyed by its ``label``, e.g. "transformer") and the named
    baselines (keyed by their specs)."""
    learners: dict[str, Learner] = {} if model is None else {getattr(model, "label", "model"): model}
    learners.update({spec: baselines.from_spec(spec) for spec in baseline_specs})
    return learners


def evaluate_run(run_dir: str | Path) -> tuple[RunConfig, Prompt, pd.DataFrame]:
    """A trained run scored on its evaluation prompts beside its configured baselines (eval.*)."""
    config, model = load_model(run_dir)
    prompt = eval_prompts(config.task.build(), config)
    frame = evaluate(
        learners_for(model, list(config.eval.baselines)),
        prompt,
        n_bootstrap=config.eval.n_bootstrap,
        confidence=config.eval.confidence,
        seed=config.eval.seed,
    )
    return config, prompt, frame


def with_theory(frame: pd.DataFrame, task: str, learner: str, curve: np.ndarray) -> pd.DataFrame:
    """``frame`` plus the rows of a theory curve for ``learner`` (unbounded values become NaN: gaps)."""
    values = np.where(np.isfinite(curve), curve, np.nan)
    rows = pd.DataFrame(
        {
            "task": task,
            "learner": f"{learner} (theory)",
            "k": range(len(values)),
            "metric": "squared_error",
            "mean": values,
            "ci_low": values,
            "ci_high": values,
            "n_prompts": 0,
        }
    )
    return pd.concat([frame, rows], ignore_index=True)


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a results table atomically."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
    return Path(path)


def value_at(frame: pd.DataFrame, learner: str, k: int, column: str = "mean") -> float:
    """One number from a results table: ``column`` of ``learner`` at ``k`` examples."""
    rows = frame[(frame.learner == learner) & (frame.k == k)]
    if rows.empty:
        raise ValueError(f"no result for learner {learner!r} at k={k}; learners: {', '.join(frame.learner.unique())}")
    return float(rows[column].iloc[0])

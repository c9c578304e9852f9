"""The in-context controller reads and writes the prompts of its task's encoding."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

import tasks
from control.controller import IclController
from sim.env import Observation
from tasks.csma import CsmaWindowTask


class Answers:
    """A learner that checks the prompt's encoding and answers the label of one window."""

    def __init__(self, task: CsmaWindowTask, window: int, width: int) -> None:
        self.label = float(task.labels_of(torch.tensor(float(window)).log2()))
        self.width = width

    def predict(self, xs: Tensor, ys: Tensor) -> Tensor:
        assert xs.shape == (1, 4, self.width) and ys.shape == (1, 4)
        return torch.full(ys.shape, self.label)


@pytest.mark.parametrize(
    ("n_dims", "encoding"),
    [(2, {}), (1, {"inputs": "p"}), (2, {"window_scale": "linear"}), (1, {"inputs": "p", "window_scale": "linear"})],
)
def test_the_controller_decodes_its_tasks_labels(n_dims: int, encoding: dict) -> None:
    task = tasks.get("csma_window", n_dims, **encoding)
    assert isinstance(task, CsmaWindowTask)
    controller = IclController(Answers(task, 96, n_dims), task, n_probes=3)  # type: ignore[arg-type]
    observations = [Observation(p, 20.0, 3.0) for p in (0.5, 0.2, 0.05)]
    assert controller.predict_window([16, 128, 1024], observations) == 96

"""Throughput-peak prompts across measured worlds, the parabola-fit baseline that reads them, and the
controller that runs them closed loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tasks
from control.controller import IclController
from icl.baselines import from_spec
from sim.collect import measure
from sim.env import CsmaEnv, Embedded
from sim.table import MeasurementTable
from sim.timing import window_grid

WINDOWS = window_grid(8, 4096)


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("worlds")
    paths = {}
    for world in ("bianchi", "hidden"):
        paths[world] = str(folder / f"{world}.csv")
        measure("embedded", [5, 20], WINDOWS, [0, 1, 2], interval_slots=5000, world=world).to_csv(
            paths[world], index=False
        )
    return paths


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_prompts_are_measured_probes_and_the_measured_optimum(tables: dict[str, str]) -> None:
    task = tasks.get("csma_peak", 3, measurements=[tables["bianchi"], tables["hidden"]])
    prompt = task.sample(300, 9, gen())
    assert prompt.xs.shape == (300, 9, 3) and set(prompt.info["table"].tolist()) == {0, 1}
    assert (prompt.xs[:, :-1, 2] == 0).all() and (prompt.xs[:, -1] == torch.tensor([0.0, 0.0, 1.0])).all()
    for t, path in enumerate((tables["bianchi"], tables["hidden"])):
        table = MeasurementTable.load(path)
        rows = prompt.info["table"] == t
        for n in (5, 20):
            mine = rows & (prompt.info["n_stations"] == n)
            label = prompt.ys[mine, -1].unique()
            assert label.numel() == 1 and 2 ** label.item() == pytest.approx(table.optimal_window(n), rel=1e-5)
            i = int(np.searchsorted(table.n_values, n))
            runs = (torch.tensor(table.throughput[i]) / 50.0).float()  # [W, run]
            w_index = torch.from_numpy(np.searchsorted(table.windows, np.exp2(prompt.ys[mine, :-1].numpy()).round()))
            assert (runs[w_index] == prompt.xs[mine, :-1, 1:2]).any(-1).all()
    hidden, bianchi = (MeasurementTable.load(tables[w]).optimal_window(20) for w in ("hidden", "bianchi"))
    assert hidden > 2 * bianchi


def test_the_parabola_fit_finds_the_peak_from_a_dense_prompt(tables: dict[str, str]) -> None:
    task = tasks.get("csma_peak", 3, measurements=[tables["bianchi"], tables["hidden"]])
    prompt = task.sample(200, 40, gen(1))
    predicted = from_spec("peak_fit").predict(prompt.xs, prompt.ys)
    assert predicted.shape == prompt.ys.shape
    error = (predicted[:, -1] - prompt.ys[:, -1]).abs()
    assert error.median() < 0.3, error.median()


def test_the_controller_holds_the_peak_it_reads(tables: dict[str, str]) -> None:
    """Closed loop in the hidden world: after probing 12 windows the parabola fit holds a window within
    0.6 octaves of the measured optimum, and the controller re-probes when N jumps."""
    task = tasks.get("csma_peak", 3, measurements=tables["hidden"])
    controller = IclController(from_spec("peak_fit"), task, n_probes=12)
    assert task.query_collision is None and controller.probe_windows[0] == 8 and controller.probe_windows[-1] == 4096
    optimum = MeasurementTable.load(tables["hidden"]).optimal_window(20)
    with CsmaEnv(20, world="hidden", backend=Embedded(5000), n_schedule={20: 50}) as env:
        trace = controller.run(env, 30, seed=3)
    held = np.array(trace.windows[12:20])
    assert (np.abs(np.log2(held / optimum)) < 0.6).all(), (held, optimum)
    assert any(trace.probing[21:])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "csma_peak needs measurements"),
        ({"measurements": "nowhere.csv"}, "measurements table nowhere.csv does not exist"),
        ({"measurements": "x.csv", "throughput_scale": 0}, "throughput_scale must be positive"),
    ],
)
def test_bad_parameters(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tasks.get("csma_peak", 3, **kwargs)
    with pytest.raises(ValueError, match="csma_peak has n_dims = 3"):
        tasks.get("csma_peak", 2, measurements="x.csv")


def test_running_max_throughputs_are_causal_and_rate_free(tables: dict[str, str]) -> None:
    scaled = tasks.get("csma_peak", 3, measurements=tables["bianchi"]).sample(50, 9, gen(5))
    task = tasks.get("csma_peak", 3, measurements=tables["bianchi"], throughput_norm="running_max")
    relative = task.sample(50, 9, gen(5))
    s = scaled.xs[:, :-1, 1].double()
    expected = s / torch.cummax(s, dim=-1).values
    torch.testing.assert_close(relative.xs[:, :-1, 1].double(), expected, atol=1e-6, rtol=0)
    assert (relative.xs[:, :-1, 1] <= 1).all() and (relative.xs[:, 0, 1] == 1).all()
    with pytest.raises(ValueError, match="throughput_norm 'max' is not allowed; choose one of: scale, running_max"):
        tasks.get("csma_peak", 3, measurements=tables["bianchi"], throughput_norm="max")

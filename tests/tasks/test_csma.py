from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import tasks
from tasks.csma import optimum, throughput_at
from theory import bianchi


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_prompt_layout_and_query_label() -> None:
    task = tasks.get("csma_window", 2)
    prompt = task.sample(64, 9, gen())
    assert prompt.xs.shape == (64, 9, 2) and prompt.ys.shape == (64, 9)
    n = prompt.info["n_stations"]
    assert ((n >= 5) & (n <= 50)).all()
    torch.testing.assert_close(prompt.xs[:, -1, 0], prompt.info["p_star"].float())
    assert prompt.info["p_star"].unique().tolist() == [task.target_collision(1500)]
    # the query label reaches p*; its throughput is within 0.5% of the oracle W*'s
    s_label = throughput_at(n, prompt.ys[:, -1], prompt.info["payload_bytes"])
    s_oracle = throughput_at(n, prompt.info["w_star"].log2(), prompt.info["payload_bytes"])
    assert (s_label / s_oracle > 0.995).all()
    assert ((prompt.ys[:, :-1] >= 4) & (prompt.ys[:, :-1] <= 10)).all()


def test_examples_follow_bianchi_and_apply_inverts_it() -> None:
    task = tasks.get("csma_window", 2)
    prompt = task.sample(32, 6, gen(1))
    n = prompt.info["n_stations"][:, None].expand(-1, 5)
    expected = bianchi.collision_probability(n.numpy(), torch.exp2(prompt.ys[:, :-1].double()).numpy())
    torch.testing.assert_close(prompt.xs[:, :-1, 0].double(), torch.from_numpy(expected), atol=1e-6, rtol=0)
    recovered = task.apply({"n_stations": prompt.info["n_stations"]}, prompt.xs[:, :-1])
    torch.testing.assert_close(recovered, prompt.ys[:, :-1], atol=2e-3, rtol=0)


def test_measurement_noise_and_erroneous_examples() -> None:
    exact = tasks.get("csma_window", 2).sample(500, 11, gen(2))
    noisy = tasks.get("csma_window", 2, measurement_slots=5000).sample(500, 11, gen(2))
    spread = (noisy.xs[:, :-1, 0] - exact.xs[:, :-1, 0]).abs()
    assert 0 < spread.mean() < 0.03
    # small windows make many attempts: precise; the largest windows few: coarse
    small_w, large_w = noisy.ys[:, :-1] < 5, noisy.ys[:, :-1] > 9.5
    assert spread[small_w].mean() < spread[large_w].mean()
    corrupted = tasks.get("csma_window", 2, error_fraction=0.2).sample(2000, 11, gen(3))
    off = (corrupted.xs[:, :-1, 0] - exact_like(corrupted)).abs() > 1e-6
    assert off.float().mean().item() == pytest.approx(0.2, abs=0.02)


def test_ablated_encodings_carry_the_same_prompts() -> None:
    """Raw p alone, and labels W / w_max, are the default prompts re-encoded; log2_window_of inverts."""
    default = tasks.get("csma_window", 2, measurement_slots=5000).sample(64, 9, gen(4))
    raw_p = tasks.get("csma_window", 1, inputs="p", measurement_slots=5000).sample(64, 9, gen(4))
    torch.testing.assert_close(raw_p.xs, default.xs[..., :1], rtol=0, atol=0)
    torch.testing.assert_close(raw_p.ys, default.ys, rtol=0, atol=0)
    task = tasks.get("csma_window", 2, window_scale="linear", measurement_slots=5000)
    linear = task.sample(64, 9, gen(4))
    torch.testing.assert_close(linear.ys, torch.exp2(default.ys) / 1024)
    torch.testing.assert_close(task.log2_window_of(linear.ys), default.ys, atol=1e-5, rtol=0)
    assert task.log2_window_of(torch.tensor([-0.5, 0.0])).tolist() == [0.0, 0.0]  # a window is at least 1
    # the loss scale is the label's variance: checked against the labels of many probes
    many = task.sample(4000, 11, gen(5)).ys[:, :-1]
    assert task.error_scale(2) == pytest.approx(many.var().item(), rel=0.05)


def test_interference_bursts_hit_consecutive_probes_alike() -> None:
    """Correlated errors: one run of consecutive probes, about eps of them, each raised by one shared loss."""
    exact = tasks.get("csma_window", 2).sample(2000, 11, gen(6))
    burst = tasks.get("csma_window", 2, error_fraction=0.3, error_mode="burst").sample(2000, 11, gen(6))
    torch.testing.assert_close(burst.ys, exact.ys)
    p, clean = burst.xs[:, :-1, 0].double(), exact.xs[:, :-1, 0].double()
    hit = (p - clean).abs() > 1e-6
    assert hit.float().mean().item() == pytest.approx(0.3, abs=0.02)
    assert (p[hit] > clean[hit]).all()
    for row, p_row, clean_row in zip(hit, p, clean):
        where = row.nonzero().flatten()
        if len(where):
            assert (where.diff() == 1).all()  # consecutive
            lost = 1 - (1 - p_row[where]) / (1 - clean_row[where])
            assert 0.1 - 1e-4 < lost.min() and lost.max() - lost.min() < 1e-3 and lost.max() < 0.5 + 1e-4


def exact_like(prompt: tasks.Prompt) -> torch.Tensor:
    n = prompt.info["n_stations"][:, None].expand(-1, prompt.n_points - 1)
    windows = torch.exp2(prompt.ys[:, :-1].double())
    return torch.from_numpy(bianchi.collision_probability(n.numpy(), windows.numpy())).float()


def test_optimum_and_throughput_helpers() -> None:
    window, p_star = optimum(50, 1500)
    assert window == pytest.approx(bianchi.optimal_window(50)) and 0.15 < p_star < 0.25
    n = torch.tensor([50, 50])
    s = throughput_at(n, torch.tensor([math.log2(window), 4.0]), torch.tensor([1500, 1500]))
    assert s[0] == pytest.approx(29.9, abs=0.1) and s[1] < s[0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"error_fraction": 1.5}, r"error_fraction \(eps\) must be in \[0, 1\], got 1.5"),
        ({"n_min": 1}, "need 2 <= n_min <= n_max"),
        ({"w_min": 0}, "need 1 <= w_min < w_max"),
        ({"error_mode": "evil"}, "error_mode 'evil' is not allowed; choose one of: random, wrong_n, burst"),
        ({"inputs": "z"}, "inputs 'z' is not allowed; choose one of: p_z, p"),
        ({"window_scale": "ln"}, "window_scale 'ln' is not allowed; choose one of: log2, linear"),
        ({"measurement_slots": -1}, "measurement_slots must be >= 0"),
    ],
)
def test_bad_parameters(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tasks.get("csma_window", 2, **kwargs)


def test_needs_two_dimensions_and_a_query() -> None:
    with pytest.raises(ValueError, match="csma_window with inputs 'p_z' has n_dims = 2, got 3"):
        tasks.get("csma_window", 3)
    with pytest.raises(ValueError, match="csma_window with inputs 'p' has n_dims = 1, got 2"):
        tasks.get("csma_window", 2, inputs="p")
    with pytest.raises(ValueError, match="needs n_points >= 2"):
        tasks.get("csma_window", 2).sample(4, 1, gen())
    with pytest.raises(ValueError, match="takes no dimension curriculum"):
        tasks.get("csma_window", 2).sample(4, 5, gen(), n_dims_active=1)


@pytest.fixture(scope="module")
def table_path(tmp_path_factory) -> str:
    """An embedded-simulator measurement table (the format `icl csma collect` writes)."""
    from sim.collect import measure

    path = tmp_path_factory.mktemp("table") / "embedded.csv"
    windows = [round(2 ** (4 + k / 2)) for k in range(13)]
    measure("embedded", [5, 10, 30], windows, [0, 1], interval_slots=20_000).to_csv(path, index=False)
    return str(path)


def test_prompts_from_a_measurement_table(table_path: str) -> None:
    task = tasks.get("csma_window", 2, measurements=table_path, n_max=20)
    table = task.table
    prompt = task.sample(200, 9, gen(4))
    n = prompt.info["n_stations"]
    assert set(n.tolist()) == {5, 10} and table.n_values.tolist() == [5, 10]
    windows = torch.exp2(prompt.ys[:, :-1].double()).round()
    assert set(windows.unique().tolist()) <= set(table.windows.tolist())
    # every example is one measured run of its (N, W)
    runs = torch.tensor(table.collision)
    n_index = torch.from_numpy(np.searchsorted(table.n_values, n.numpy()))[:, None].expand(-1, 8)
    w_index = torch.from_numpy(np.searchsorted(table.windows, windows.numpy()))
    candidates = runs[n_index, w_index].float()
    assert (candidates.clamp(1e-4, 1 - 1e-4) == prompt.xs[:, :-1, :1]).any(-1).all()  # features() clips readings
    # the query is the measured optimum, close to Bianchi's for this (model-exact) simulator
    assert prompt.info["p_star"].unique().item() == pytest.approx(table.target_collision)
    for k in (5, 10):
        assert table.optimal_window(k) == pytest.approx(bianchi.optimal_window(k), rel=0.1)
        label = prompt.ys[n == k, -1].unique()
        assert label.numel() == 1 and 2 ** label.item() == pytest.approx(table.optimal_window(k), rel=0.15)


def test_measurement_table_errors(table_path: str, tmp_path) -> None:
    with pytest.raises(ValueError, match=r"need at least one N in \[40, 50\]"):
        tasks.get("csma_window", 2, measurements=table_path, n_min=40)
    with pytest.raises(ValueError, match="leave measurement_slots at 0"):
        tasks.get("csma_window", 2, measurements=table_path, measurement_slots=100)
    broken = tmp_path / "broken.csv"
    broken.write_text("n_stations,window\n5,16\n")
    with pytest.raises(ValueError, match="not a measurement table: missing columns backend"):
        tasks.get("csma_window", 2, measurements=str(broken))
    import pandas as pd

    partial = tmp_path / "partial.csv"
    pd.read_csv(table_path).iloc[1:].to_csv(partial, index=False)
    with pytest.raises(ValueError, match="not a full grid"):
        tasks.get("csma_window", 2, measurements=str(partial))


def test_channel_losses_raise_every_reading_and_leave_the_label() -> None:
    clean = tasks.get("csma_window", 2).sample(64, 11, gen())
    lossy = tasks.get("csma_window", 2, frame_error_rate=0.1).sample(64, 11, gen())
    p, q = clean.xs[:, :-1, 0].double(), lossy.xs[:, :-1, 0].double()
    assert torch.allclose(q, 1 - (1 - p) * 0.9, atol=1e-6)
    assert torch.equal(clean.ys, lossy.ys) and torch.equal(clean.info["w_star"], lossy.info["w_star"])
    with pytest.raises(ValueError, match=r"frame_error_rate must be in \[0, 1\), got 1.0"):
        tasks.get("csma_window", 2, frame_error_rate=1.0)

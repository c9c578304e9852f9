from __future__ import annotations

import pytest
import torch

from icl.config import MODEL_FAMILIES, ConfigError, ModelConfig
from icl.models import MODELS, S4D, attention, build_model, retention_decays, retention_parallel, retention_recurrent


def prompt(batch: int = 4, n_points: int = 9, n_dims: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return torch.randn(batch, n_points, n_dims, generator=generator), torch.randn(batch, n_points, generator=generator)


@pytest.mark.parametrize(
    ("family", "backend"), [("gpt", "math"), ("gpt", "sdpa"), ("lstm", "sdpa"), ("retnet", "sdpa"), ("s4d", "sdpa")]
)
def test_prediction_k_ignores_later_examples(family: str, backend: str) -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig(family=family, backend=backend), n_dims=3, n_positions=9)
    xs, ys = prompt()
    base = model.predict(xs, ys)
    xs2, ys2 = xs.clone(), ys.clone()
    xs2[:, 5:] += 1.0
    ys2[:, 4:] += 1.0
    changed = model.predict(xs2, ys2)
    assert torch.equal(base[:, :5], changed[:, :5])
    assert not torch.allclose(base[:, 5:], changed[:, 5:])


@pytest.mark.parametrize("family", ["gpt", "lstm", "retnet", "s4d"])
def test_prediction_uses_earlier_labels(family: str) -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig(family=family), n_dims=3, n_positions=9)
    xs, ys = prompt()
    ys2 = ys.clone()
    ys2[:, 0] += 1.0
    assert not torch.allclose(model.predict(xs, ys)[:, 1:], model.predict(xs, ys2)[:, 1:])


def test_retention_parallel_form_equals_its_recurrence() -> None:
    """RetNet's parallel form (masked, decayed Q K^T V) and its recurrent form agree to 1e-5 (float32)."""
    q, k, v = torch.randn(3, 2, 4, 37, 8, generator=torch.Generator().manual_seed(1)).unbind(0)
    gamma = retention_decays(4)
    assert torch.allclose(retention_parallel(q, k, v, gamma), retention_recurrent(q, k, v, gamma), atol=1e-5)
    assert gamma[0] == pytest.approx(1 - 1 / 32) and (gamma.diff() > 0).all()


def test_s4d_convolution_equals_its_scan() -> None:
    """S4D's convolution with its kernel and the state-space scan agree to 1e-5 (float32), trained
    parameters or not; the layer is causal."""
    torch.manual_seed(2)
    layer = S4D(6)
    with torch.no_grad():
        layer.log_dt.add_(torch.randn(6))  # steps from 1e-4 to 1: both fast and slow modes
    u = torch.randn(3, 41, 6)
    assert torch.allclose(layer(u), layer.recurrent(u), atol=1e-5)
    changed = u.clone()
    changed[:, 20:] += 1.0
    assert torch.equal(layer(u)[:, :20], layer(changed)[:, :20])


@pytest.mark.parametrize("causal", [True, False])
def test_backends_agree(causal: bool) -> None:
    q, k, v = torch.randn(3, 2, 4, 11, 16).unbind(0)
    assert torch.allclose(attention(q, k, v, causal, "math"), attention(q, k, v, causal, "sdpa"), atol=1e-5)


def test_backends_give_the_same_model_output() -> None:
    xs, ys = prompt()
    outputs = []
    for backend in ("math", "sdpa", "triton"):
        torch.manual_seed(0)
        outputs.append(build_model(ModelConfig(backend=backend), 3, 9).predict(xs, ys))
    assert torch.allclose(outputs[0], outputs[1], atol=1e-5)
    assert torch.allclose(outputs[0], outputs[2], atol=1e-5)


def test_sizes() -> None:
    model = build_model(ModelConfig(size="small"), n_dims=5, n_positions=11)
    assert len(model.blocks) == 6 and model.read_in.out_features == 128


def test_lstm_size_and_unknown_family() -> None:
    model = build_model(ModelConfig(family="lstm", size="small"), n_dims=5, n_positions=11)
    assert model.lstm.num_layers == 6 and model.lstm.hidden_size == 128
    with pytest.raises(ConfigError, match="model.family = .mamba. is not allowed; choose one of: gpt, lstm"):
        ModelConfig(family="mamba")


def test_prompt_longer_than_context() -> None:
    model = build_model(ModelConfig(), n_dims=3, n_positions=5)
    xs, ys = prompt(n_points=9)
    with pytest.raises(ValueError, match="prompt of 9 examples is longer than the model's context of 5 examples"):
        model.predict(xs, ys)


def test_wrong_dimension() -> None:
    model = build_model(ModelConfig(), n_dims=4, n_positions=9)
    xs, ys = prompt()
    with pytest.raises(ValueError, match="prompt inputs have dimension 3; this model takes n_dims=4"):
        model.predict(xs, ys)


def test_unknown_backend() -> None:
    q = torch.randn(1, 1, 2, 8)
    with pytest.raises(ValueError, match="unknown attention backend 'flash'; allowed: math, sdpa, triton"):
        attention(q, q, q, True, "flash")


def test_every_model_family_the_config_names_has_its_class() -> None:
    assert tuple(MODELS) == MODEL_FAMILIES
    with pytest.raises(ConfigError, match="model.family"):
        ModelConfig(family="mamba")

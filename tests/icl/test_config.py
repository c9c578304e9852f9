from __future__ import annotations

import pytest

from icl import config as cfg


def test_defaults_and_overrides() -> None:
    config = cfg.load(
        None, ["model.size=small", "train.lr=3e-4", "task.params.sparsity=2", "task.name=sparse_linear_regression"]
    )
    assert config.model.dims == (128, 6, 4)
    assert config.train.lr == 3e-4
    assert config.task.build().sparsity == 2


def test_explicit_dims_override_the_size() -> None:
    assert cfg.ModelConfig(size="standard", n_layer=4).dims == (256, 4, 8)


def test_toml_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = cfg.load(None, ["eval.baselines=['ridge:alpha=0.5', 'knn']", "task.params.x_scale=2.0"])
    path = tmp_path / "c.toml"
    path.write_text(cfg.to_toml(config))
    assert cfg.load(path) == config


def test_preset_loads() -> None:
    assert "linear_regression" in cfg.preset_names()
    config = cfg.load("linear_regression")
    assert config.model.size == "standard" and config.train.steps == 500_000


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model.n_layers=4"], "unknown config key 'model.n_layers'; allowed in [model]: backend, family, n_embd"),
        (["modell.size=tiny"], "unknown config key 'modell'"),
        (["model.size=huge"], "model.size = 'huge' is not allowed; choose one of: tiny, small, standard"),
        (["model.backend=flash"], "model.backend = 'flash' is not allowed; choose one of: math, sdpa"),
        (["task.name=nope"], "task.name = 'nope' is not allowed"),
        (["task.n_dims=0"], "task.n_dims must be positive, got 0"),
        (["train.steps=-5"], "train.steps must be positive, got -5"),
        (["train.lr=fast"], "train.lr must be float, got 'fast'"),
        (["task.params.sparsity=3"], "task.params: task 'linear_regression' has no parameter 'sparsity'"),
        (["model.n_embd=30", "model.n_head=4"], "model.n_embd (30) must be divisible by model.n_head (4)"),
        (["name=../x"], "name = '../x' is not allowed"),
        (["train.lr"], "--set expects section.key=value"),
        (["model.family=rnn"], "model.family = 'rnn' is not allowed; choose one of: gpt, lstm, lsa"),
        (['eval.baselines=["svm"]'], "eval.baselines: 'svm': unknown baseline 'svm'; allowed: averaging,"),
        (['eval.baselines=["knn:n_neighbors=0"]'], "eval.baselines: 'knn:n_neighbors=0': n_neighbors must be"),
        (["train.checkpoint_minutes=-1"], "train.checkpoint_minutes must be a number of minutes >= 0 (0: checkpoint"),
        (["train.checkpoint_minutes=inf"], "train.checkpoint_minutes must be finite, got inf"),
    ],
)
def test_bad_config_names_the_key(overrides: list[str], message: str) -> None:
    with pytest.raises(cfg.ConfigError) as error:
        cfg.load(None, overrides)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_missing_config_file() -> None:
    with pytest.raises(cfg.ConfigError, match="neither a file nor a preset"):
        cfg.load("no/such.toml")


def test_the_csma_preset_is_the_controllers_recipe() -> None:
    """Its probes measure as long as an env step does, and its baselines are the hand-made estimators."""
    from sim.timing import INTERVAL_SLOTS

    config = cfg.load("csma_window")
    assert config.task.params["measurement_slots"] == INTERVAL_SLOTS
    assert config.task.build().name == "csma_window"
    assert (
        "median_offset" in config.eval.baselines
        and f"mle_offset:measurement_slots={INTERVAL_SLOTS}" in config.eval.baselines
    )


def test_checkpoints_by_wall_time_every_five_minutes_by_default() -> None:
    assert cfg.TrainConfig().checkpoint_minutes == 5.0
    assert cfg.load(None, ["train.checkpoint_minutes=0"]).train.checkpoint_minutes == 0.0


def test_a_run_saved_before_checkpoint_minutes_existed_reads_with_its_default(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A config.toml saved by an earlier version lacks the key; it is not taken for one cut short."""
    path = tmp_path / "config.toml"
    path.write_text(cfg.to_toml(cfg.RunConfig()).replace("checkpoint_minutes = 5.0\n", ""))
    assert cfg.load(path, complete=True) == cfg.RunConfig()
    path.write_text(cfg.to_toml(cfg.RunConfig()).replace("checkpoint_every = 1000\n", ""))
    with pytest.raises(cfg.ConfigError, match="lacks train.checkpoint_every"):
        cfg.load(path, complete=True)

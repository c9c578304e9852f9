"""Run configuration: frozen dataclasses loaded from TOML, overridable as ``--set section.key=value``.

Every key and value is checked before any work starts; an unknown key or a bad value raises
``ConfigError`` naming the key and what is allowed.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import tasks
from icl.errors import UserError

MODEL_SIZES: dict[str, tuple[int, int, int]] = {
    "tiny": (64, 3, 2),
    "small": (128, 6, 4),
    "standard": (256, 12, 8),
}
"""Model sizes as (n_embd, n_layer, n_head)."""

ATTENTION_BACKENDS = ("math", "sdpa", "triton")
MODEL_FAMILIES = ("gpt", "lstm", "lsa", "retnet", "s4d")
"""The model families by name; ``icl.models.MODELS`` maps each to its class."""
DEVICES = ("cpu", "cuda")
AUTOCAST = ("bf16", "none")
LR_SCHEDULES = ("constant", "cosine")
LOGGERS = ("tensorboard", "wandb")
MAX_SEED = 2**63 - 1
MAX_NAME_BYTES = 200
"""Room for the temporary names beside a run directory within the file system's 255 bytes."""


class ConfigError(UserError, ValueError):
    """A configuration key or value that cannot be used; the message names it."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def _one_of(key: str, value: str, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    _require(value in allowed, f"{key} = {value!r} is not allowed; choose one of: {', '.join(allowed)}")


def _seed(key: str, value: int) -> None:
    _require(0 <= value <= MAX_SEED, f"{key} must be an integer in [0, 2**63 - 1], got {value}")


def _positive(section: Any, *names: str) -> None:
    for name in names:
        value = getattr(section, name)
        _require(value > 0, f"{type(section).SECTION}.{name} must be positive, got {value!r}")


@dataclass(frozen=True)
class TaskConfig:
    """Which function family, at which input dimension and prompt length."""

    SECTION: typing.ClassVar[str] = "task"
    name: str = "linear_regression"
    n_dims: int = 20
    n_points: int = 41
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _one_of("task.name", self.name, tasks.names())
        _positive(self, "n_dims", "n_points")
        try:
            self.build()
        except ValueError as error:
            raise ConfigError(f"task.params: {error}") from None

    def build(self) -> tasks.Task:
        """The task object this section describes."""
        return tasks.get(self.name, self.n_dims, **self.params)


@dataclass(frozen=True)
class CurriculumConfig:
    """Garg et al.'s curriculum; a start of 0 means no curriculum (start at the task's value)."""

    SECTION: typing.ClassVar[str] = "curriculum"
    dims_start: int = 0
    dims_increment: int = 1
    dims_interval: int = 2000
    points_start: int = 0
    points_increment: int = 2
    points_interval: int = 2000

    def __post_init__(self) -> None:
        _positive(self, "dims_increment", "dims_interval", "points_increment", "points_interval")
        _require(self.dims_start >= 0 and self.points_start >= 0, "curriculum starts must be >= 0")

    def build(self, task: TaskConfig) -> tasks.Curriculum:
        """The schedules, ending at the task's dimension and prompt length."""
        try:
            return tasks.Curriculum(
                dims=tasks.Schedule(
                    self.dims_start or task.n_dims, task.n_dims, self.dims_increment, self.dims_interval
                ),
                points=tasks.Schedule(
                    self.points_start or task.n_points, task.n_points, self.points_increment, self.points_interval
                ),
            )
        except ValueError as error:
            raise ConfigError(str(error)) from None


@dataclass(frozen=True)
class ModelConfig:
    """The model: family ``gpt`` (transformer), ``lstm``, ``retnet`` (retention) or ``s4d`` (diagonal
    state spaces), the attention-free comparisons, or ``lsa`` (one layer of linear self-attention, for
    the theory), a named size, with n_embd / n_layer / n_head overriding it when non-zero (an LSTM and
    S4D use n_embd and n_layer; the LSA has no size)."""

    SECTION: typing.ClassVar[str] = "model"
    family: str = "gpt"
    size: str = "tiny"
    n_embd: int = 0
    n_layer: int = 0
    n_head: int = 0
    backend: str = "sdpa"

    def __post_init__(self) -> None:
        _one_of("model.family", self.family, MODEL_FAMILIES)
        _one_of("model.size", self.size, MODEL_SIZES)
        _one_of("model.backend", self.backend, ATTENTION_BACKENDS)
        for name in ("n_embd", "n_layer", "n_head"):
            _require(getattr(self, name) >= 0, f"model.{name} must be >= 0 (0 = from size), got {getattr(self, name)}")
        n_embd, _, n_head = self.dims
        _require(n_embd % n_head == 0, f"model.n_embd ({n_embd}) must be divisible by model.n_head ({n_head})")

    @property
    def dims(self) -> tuple[int, int, int]:
        """(n_embd, n_layer, n_head) after applying the explicit overrides to the size."""
        preset = MODEL_SIZES[self.size]
        return (self.n_embd or preset[0], self.n_layer or preset[1], self.n_head or preset[2])


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation (AdamW), logging, checkpointing and the device.

    The latest checkpoint is written every ``checkpoint_every`` steps, when ``checkpoint_minutes`` of
    wall time have passed since the last one (0: never by time), and at the last step, so that an
    interrupted run resumes from at most a few minutes back. ``keep_checkpoints`` lists steps whose
    checkpoint is kept as ``checkpoint-<step>.pt`` besides the latest one, for learning curves.
    ``loggers`` mirror the metrics to TensorBoard and/or W&B (``icl.tracking``); metrics.jsonl is
    written whatever they are.
    """

    SECTION: typing.ClassVar[str] = "train"
    steps: int = 5000
    batch_size: int = 64
    lr: float = 1e-4
    weight_decay: float = 0.0
    warmup_steps: int = 0
    lr_schedule: str = "constant"
    grad_clip: float = 1.0
    log_every: int = 50
    checkpoint_every: int = 1000
    checkpoint_minutes: float = 5.0
    keep_checkpoints: list[int] = field(default_factory=list)
    seed: int = 0
    device: str = "cpu"
    autocast: str = "bf16"
    compile: bool = False
    loggers: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        _positive(self, "steps", "batch_size", "lr", "grad_clip", "log_every", "checkpoint_every")
        _require(self.weight_decay >= 0, f"train.weight_decay must be >= 0, got {self.weight_decay}")
        _require(self.warmup_steps >= 0, f"train.warmup_steps must be >= 0, got {self.warmup_steps}")
        _require(
            0 <= self.checkpoint_minutes < math.inf,
            f"train.checkpoint_minutes must be a number of minutes >= 0 (0: checkpoint by steps only), "
            f"got {self.checkpoint_minutes}",
        )
        bad = [s for s in self.keep_checkpoints if not 1 <= s <= self.steps]
        _require(not bad, f"train.keep_checkpoints must be steps in [1, train.steps={self.steps}], got {bad}")
        _one_of("train.lr_schedule", self.lr_schedule, LR_SCHEDULES)
        _one_of("train.device", self.device, DEVICES)
        _one_of("train.autocast", self.autocast, AUTOCAST)
        _seed("train.seed", self.seed)
        for logger in self.loggers:
            _one_of("train.loggers", logger, LOGGERS)
        _require(len(set(self.loggers)) == len(self.loggers), f"train.loggers repeats a logger: {self.loggers}")


@dataclass(frozen=True)
class EvalConfig:
    """Evaluation prompts, baselines and bootstrap; n_points 0 means the task's prompt length."""

    SECTION: typing.ClassVar[str] = "eval"
    n_prompts: int = 1280
    n_points: int = 0
    batch_size: int = 256
    baselines: list[str] = field(default_factory=lambda: ["least_squares", "knn", "averaging"])
    n_bootstrap: int = 1000
    confidence: float = 0.95
    seed: int = 12345

    def __post_init__(self) -> None:
        _positive(self, "n_prompts", "batch_size", "n_bootstrap")
        _require(self.n_points >= 0, f"eval.n_points must be >= 0, got {self.n_points}")
        _require(0 < self.confidence < 1, f"eval.confidence must be in (0, 1), got {self.confidence}")
        _seed("eval.seed", self.seed)
        from icl import baselines  # when a config is checked, not with this module: scikit-learn, XGBoost (1.7 s)

        for spec in self.baselines:
            try:
                baselines.from_spec(spec)
            except ValueError as error:
                raise ConfigError(f"eval.baselines: {spec!r}: {error}") from None


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a run; its TOML form is saved as ``runs/<name>/config.toml``."""

    name: str = "run"
    task: TaskConfig = field(default_factory=TaskConfig)
    curriculum: CurriculumConfig = field(default_factory=CurriculumConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def __post_init__(self) -> None:
        _require(
            bool(self.name) and all(c.isalnum() or c in "-_." for c in self.name) and not self.name.startswith("."),
            f"name = {self.name!r} is not allowed; use letters, digits, '-', '_' and '.'",
        )
        _require(
            len(self.name.encode()) <= MAX_NAME_BYTES,
            f"name is {len(self.name.encode())} bytes long; at most {MAX_NAME_BYTES} are allowed",
        )
        _require(
            self.eval.n_points <= self.task.n_points,
            f"eval.n_points = {self.eval.n_points} exceeds task.n_points = {self.task.n_points}, the longest prompt "
            "the model is built for; use at most that (0 = task.n_points)",
        )
        self.curriculum.build(self.task)


def _check_type(key: str, value: Any, hint: Any) -> Any:
    """Return ``value`` as the type ``hint`` asks for, or raise naming ``key``."""
    origin = typing.get_origin(hint) or hint
    if origin is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if origin is list:
        (item,) = typing.get_args(hint)
        _require(isinstance(value, list), f"{key} must be a list, got {value!r}")
        return [_check_type(f"{key}[{i}]", v, item) for i, v in enumerate(value)]
    if origin is dict:
        _require(isinstance(value, dict), f"{key} must be a table, got {value!r}")
        return dict(value)
    ok = isinstance(value, origin) and not (origin is int and isinstance(value, bool))
    _require(ok, f"{key} must be {origin.__name__}, got {value!r} ({type(value).__name__})")
    if origin is float:
        _require(math.isfinite(value), f"{key} must be finite, got {value!r}")
    return value


def from_dict(data: dict[str, Any], klass: type = RunConfig, prefix: str = "") -> Any:
    """Build ``klass`` from nested dicts, rejecting unknown keys and values of the wrong type."""
    hints = typing.get_type_hints(klass)
    fields = {f.name: f for f in dataclasses.fields(klass)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        where = f"[{prefix.rstrip('.')}]" if prefix else "the top level"
        raise ConfigError(f"unknown config key '{prefix}{unknown[0]}'; allowed in {where}: {', '.join(sorted(fields))}")
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        hint = hints[name]
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            _require(isinstance(value, dict), f"[{prefix}{name}] must be a table, got {value!r}")
            kwargs[name] = from_dict(value, hint, f"{prefix}{name}.")
        else:
            kwargs[name] = _check_type(prefix + name, value, hint)
    return klass(**kwargs)


def to_dict(config: Any) -> dict[str, Any]:
    """The nested-dict form of a config (what ``from_dict`` reads)."""
    return dataclasses.asdict(config)


def _parse_value(text: str) -> Any:
    """A TOML value (``4``, ``1e-3``, ``true``, ``["a", "b"]``), or the bare text as a string."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def set_values(data: dict[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of nested dicts ``data`` with dotted keys (``"model.n_layer"``) set to ``values``."""
    data = json.loads(json.dumps(data))
    for key, value in values.items():
        *parents, leaf = key.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
            _require(isinstance(node, dict), f"{key}: {part!r} is not a section")
        node[leaf] = value
    return data


def _hint(key: str) -> Any:
    """The type of the config value at dotted ``key``, or None for an unknown key (reported later)."""
    klass: Any = RunConfig
    for part in key.split("."):
        if not dataclasses.is_dataclass(klass):
            return None
        klass = typing.get_type_hints(klass).get(part)
    return klass


def apply_overrides(data: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` strings to nested dicts (a copy is returned).

    Values are TOML (``4``, ``1e-3``, ``["a"]``), except that a key whose type is a string takes the
    text as it is: ``name=123`` names a run "123".
    """
    values = {}
    for override in overrides:
        key, sep, text = override.partition("=")
        key, text = key.strip(), text.strip()
        _require(bool(sep) and bool(key), f"--set expects section.key=value, got {override!r}")
        value = _parse_value(text)
        values[key] = text if _hint(key) is str and not isinstance(value, str) else value
    return set_values(data, values)


def preset_names() -> list[str]:
    """The configurations shipped with the package (icl/configs/*.toml)."""
    return sorted(
        p.name.removesuffix(".toml") for p in resources.files("icl.configs").iterdir() if p.name.endswith(".toml")
    )


def read_toml(source: str | Path) -> dict[str, Any]:
    """Read a TOML file given by path, or a shipped preset given by name."""
    path = Path(source)
    if not path.exists() and str(source) in preset_names():
        path = Path(str(resources.files("icl.configs").joinpath(f"{source}.toml")))
    if not path.exists():
        raise ConfigError(
            f"config {str(source)!r} is neither a file nor a preset; presets: {', '.join(preset_names())}"
        )
    if path.is_dir():
        raise ConfigError(f"config {path} is a directory; give a TOML file or a preset name")
    try:
        return tomllib.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not a TOML text file (byte {error.start} is not UTF-8)") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None


KEYS_ADDED_LATER = ("train.checkpoint_minutes",)
"""Keys that runs saved by earlier versions lack; such a run's config.toml is read with their defaults."""


def load(source: str | Path | None = None, overrides: Iterable[str] = (), *, complete: bool = False) -> RunConfig:
    """The config from a TOML file or preset (defaults when None) with ``--set`` overrides.

    ``complete`` refuses a file that lacks any key (a run's saved config.toml holds every key, so
    one cut short must not be read with defaults for the rest) but those of ``KEYS_ADDED_LATER``.
    """
    data = read_toml(source) if source is not None else {}
    if complete:
        missing = [key for key in _missing_keys(data, to_dict(RunConfig())) if key not in KEYS_ADDED_LATER]
        _require(
            not missing,
            f"{source} lacks {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}: it was cut short or "
            "not written by icl; restore it or delete the run",
        )
    return from_dict(apply_overrides(data, overrides))


def _missing_keys(data: dict[str, Any], full: dict[str, Any], prefix: str = "") -> list[str]:
    missing = []
    for key, value in full.items():
        if key not in data:
            missing.append(prefix + key)
        elif isinstance(value, dict) and value and isinstance(data[key], dict):
            missing += _missing_keys(data[key], value, f"{prefix}{key}.")
    return missing


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise ConfigError(f"cannot write {value!r} ({type(value).__name__}) to TOML")


def to_toml(config: RunConfig) -> str:
    """TOML text that ``load`` reads back to an equal config."""
    lines: list[str] = []
    sections: list[tuple[str, dict[str, Any]]] = []
    for key, value in to_dict(config).items():
        if isinstance(value, dict):
            sections.append((key, value))
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    for section, values in sections:
        lines += ["", f"[{section}]"] + [f"{k} = {_toml_value(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"

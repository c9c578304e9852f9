"""The Prompt/Task contract and the task registry.

The registry maps each shipped task's name to the module that defines it (``SHIPPED``), so that
listing or checking names imports nothing and ``get`` imports only the module it needs (the CSMA
task alone pulls in the simulator, sympy and scipy). ``register`` adds a task defined elsewhere.

A task is a family of functions. ``Task.sample`` draws one function per prompt (or picks one from
a fixed pool) and labels K inputs with it. Tasks know nothing about models.
"""

from __future__ import annotations

import importlib
import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor

Functions = dict[str, Tensor]
"""A batch of sampled functions: named tensors whose first dimension is the batch."""

METRICS = ("squared_error", "accuracy")
LOSSES = ("squared_error", "bce")


@dataclass(frozen=True)
class Prompt:
    """B prompts of K (input, label) examples: ``xs`` [B, K, d], ``ys`` [B, K].

    ``info`` carries what evaluation needs to score predictions: the task name, the metric and the
    error scale (the variance of a label, so that the zero predictor scores 1).
    """

    xs: Tensor
    ys: Tensor
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.xs.dim() != 3 or self.ys.dim() != 2 or self.xs.shape[:2] != self.ys.shape:
            raise ValueError(
                f"a Prompt needs xs [B, K, d] and ys [B, K]; got xs {tuple(self.xs.shape)} "
                f"and ys {tuple(self.ys.shape)}"
            )

    @property
    def batch_size(self) -> int:
        return self.xs.shape[0]

    @property
    def n_points(self) -> int:
        return self.xs.shape[1]

    def to(self, device: torch.device | str) -> Prompt:
        return Prompt(self.xs.to(device), self.ys.to(device), self.info)


def check_count(name: str, value: object, high: int | None = None, high_name: str = "") -> None:
    """Raise a ValueError naming ``name`` unless ``value`` is an integer in [1, high] (or >= 1 without high)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1 and (high is None or value <= high):
        return
    if high is None:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    upper = f"{high_name}={high}" if high_name else str(high)
    raise ValueError(f"{name} must be an integer in [1, {upper}], got {value!r}")


def check_positive(name: str, value: float) -> None:
    """Raise a ValueError naming ``name`` unless ``value`` > 0."""
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {value!r}")


class Task(ABC):
    """A function family over R^d (or {-1,+1}^d) inputs.

    Subclasses say how to draw functions (``draw_functions``) and how to apply them
    (``apply``); inputs, pools and curricula are handled here so every task gets them alike.
    ``n_dims_active`` (curriculum) zeroes the trailing input coordinates, as in Garg et al. A task
    whose examples are made otherwise overrides ``examples``; ``prompt_info`` adds to ``info``.
    """

    name: ClassVar[str]
    metric: ClassVar[str] = "squared_error"
    loss: ClassVar[str] = "squared_error"
    min_points: ClassVar[int] = 1
    dimension_curriculum: ClassVar[bool] = True

    def __init__(
        self,
        n_dims: int,
        *,
        x_scale: float = 1.0,
        x_cov: Sequence[Sequence[float]] | Tensor | None = None,
        pool_size: int | None = None,
        pool_seed: int = 0,
    ) -> None:
        check_count("n_dims", n_dims)
        check_positive("x_scale", x_scale)
        self.n_dims = n_dims
        self.x_scale = float(x_scale)
        self.x_factor = self._cholesky(x_cov, n_dims)
        self.pool: Functions | None = None
        if pool_size is not None:
            if not isinstance(pool_size, int) or pool_size < 1:
                raise ValueError(f"pool_size must be a positive integer or None, got {pool_size!r}")
            pool_generator = torch.Generator().manual_seed(pool_seed)
            self.pool = self.draw_functions(pool_size, pool_generator, n_dims)

    @staticmethod
    def _cholesky(x_cov: Sequence[Sequence[float]] | Tensor | None, n_dims: int) -> Tensor | None:
        if x_cov is None:
            return None
        cov = torch.as_tensor(x_cov, dtype=torch.float64)
        if cov.shape != (n_dims, n_dims):
            raise ValueError(f"x_cov must be {n_dims}x{n_dims}, got shape {tuple(cov.shape)}")
        factor, info = torch.linalg.cholesky_ex(cov)
        if info.item() != 0 or not torch.allclose(cov, cov.T):
            raise ValueError("x_cov must be symmetric positive definite")
        return factor.float()

    def sample(
        self,
        batch_size: int,
        n_points: int,
        generator: torch.Generator,
        n_dims_active: int | None = None,
    ) -> Prompt:
        """Draw ``batch_size`` prompts of ``n_points`` examples, one function per prompt."""
        check_positive("batch_size", batch_size)
        if n_points < self.min_points:
            raise ValueError(f"a {self.name} prompt needs n_points >= {self.min_points}, got {n_points}")
        active = self.n_dims if n_dims_active is None else n_dims_active
        if not self.dimension_curriculum and active != self.n_dims:
            raise ValueError(
                f"task {self.name!r} takes no dimension curriculum: n_dims_active must be n_dims={self.n_dims}, "
                f"got {n_dims_active}"
            )
        if not 1 <= active <= self.n_dims:
            raise ValueError(f"n_dims_active must be in [1, {self.n_dims}], got {active}")
        functions, xs, ys = self.examples(batch_size, n_points, generator, active)
        info = {
            "task": self.name,
            "metric": self.metric,
            "error_scale": self.error_scale(active),
            "n_dims": active,
            **self.prompt_info(functions),
        }
        return Prompt(xs, ys, info)

    def examples(
        self, batch_size: int, n_points: int, generator: torch.Generator, n_dims_active: int
    ) -> tuple[Functions, Tensor, Tensor]:
        """Each prompt's function and its examples (xs [B, K, d], ys [B, K]): inputs, then functions,
        then inputs that depend on them, then labels (with their noise)."""
        xs = self.sample_inputs(batch_size, n_points, generator, n_dims_active)
        functions = self.functions_for(batch_size, generator, n_dims_active)
        xs = self.condition_inputs(functions, xs, generator)
        return functions, xs, self.corrupt(self.apply(functions, xs), generator)

    def prompt_info(self, functions: Functions) -> dict[str, Any]:
        """Fields a task adds to every prompt's ``info`` (e.g. hidden parameters for scoring); none by default."""
        return {}

    def functions_for(self, batch_size: int, generator: torch.Generator, n_dims_active: int) -> Functions:
        """One function per prompt: fresh draws, or uniform picks from the fixed pool when there is one."""
        if self.pool is None:
            return self.draw_functions(batch_size, generator, n_dims_active)
        pool_len = next(iter(self.pool.values())).shape[0]
        index = torch.randint(pool_len, (batch_size,), generator=generator)
        return {key: value[index] for key, value in self.pool.items()}

    def sample_inputs(self, batch_size: int, n_points: int, generator: torch.Generator, n_dims_active: int) -> Tensor:
        """Gaussian inputs, optionally scaled and correlated; inactive coordinates set to zero."""
        xs = torch.randn(batch_size, n_points, self.n_dims, generator=generator)
        if self.x_factor is not None:
            xs = xs @ self.x_factor.T
        xs = xs * self.x_scale
        xs[..., n_dims_active:] = 0.0
        return xs

    def condition_inputs(self, functions: Functions, xs: Tensor, generator: torch.Generator) -> Tensor:
        """Inputs that depend on the function (forced positives, teaching prefixes); unchanged by default."""
        return xs

    @abstractmethod
    def draw_functions(self, batch_size: int, generator: torch.Generator, n_dims_active: int) -> Functions:
        """Draw ``batch_size`` functions of the family."""

    @abstractmethod
    def apply(self, functions: Functions, xs: Tensor) -> Tensor:
        """Labels [B, K] of inputs ``xs`` [B, K, d] under each prompt's function."""

    def corrupt(self, ys: Tensor, generator: torch.Generator) -> Tensor:
        """Label noise applied after ``apply``; none by default."""
        return ys

    def error_scale(self, n_dims_active: int) -> float:
        """Variance of a label under the default input distribution: the zero predictor's error."""
        return float(n_dims_active)


BOOLEAN_TASKS = (
    "conjunction",
    "disjunction",
    "sparse_disjunction",
    "dnf",
    "cnf",
    "majority",
    "threshold",
    "halfspace",
    "parity",
    "sparse_parity",
    "nearest_neighbour",
)
"""Bhattamishra et al.'s Boolean classes (``tasks.boolean``), in the order of their table."""

SHIPPED: dict[str, str] = {
    **dict.fromkeys(
        (
            "linear_regression",
            "sparse_linear_regression",
            "noisy_linear_regression",
            "linear_classification",
            "quadratic_regression",
            "relu_2nn_regression",
            "decision_tree",
        ),
        "tasks.regression",
    ),
    **dict.fromkeys(BOOLEAN_TASKS, "tasks.boolean"),
    "csma_window": "tasks.csma",
    "csma_peak": "tasks.csma",
}
"""Every shipped task name and the module whose ``@register`` defines it."""

_REGISTRY: dict[str, type[Task]] = {}


def register(cls: type[Task]) -> type[Task]:
    """Class decorator: make a task available to ``get`` under ``cls.name``."""
    if cls.name in _REGISTRY:
        raise ValueError(f"task name {cls.name!r} is registered twice")
    if cls.metric not in METRICS or cls.loss not in LOSSES:
        raise ValueError(f"task {cls.name!r}: metric must be in {METRICS}, loss in {LOSSES}")
    shipped_in = SHIPPED.get(cls.name)
    if shipped_in is not None and shipped_in != cls.__module__:
        raise ValueError(f"task name {cls.name!r} belongs to {shipped_in}; choose another name")
    _REGISTRY[cls.name] = cls
    return cls


def names() -> list[str]:
    """Names of all tasks: the shipped ones and any registered since (imports nothing)."""
    return sorted(set(SHIPPED) | set(_REGISTRY))


def parameters(name: str) -> list[str]:
    """The keyword parameters task ``name`` accepts besides ``n_dims``."""
    params: list[str] = []
    for klass in _lookup(name).__mro__:
        init: Callable[..., Any] | None = klass.__dict__.get("__init__")
        if init is not None:
            signature = inspect.signature(init).parameters.values()
            params += [p.name for p in signature if p.kind is inspect.Parameter.KEYWORD_ONLY]
            # the parent's parameters are accepted only when this __init__ passes **kwargs on
            if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature):
                break
    return sorted(set(params))


def _lookup(name: str) -> type[Task]:
    if name not in _REGISTRY and name in SHIPPED:
        importlib.import_module(SHIPPED[name])
    if name not in _REGISTRY:
        raise ValueError(f"unknown task {name!r}; allowed: {', '.join(names())}")
    return _REGISTRY[name]


def get(name: str, n_dims: int, **params: Any) -> Task:
    """Build the task called ``name``; unknown names or parameters raise ValueError."""
    klass = _lookup(name)
    unknown = sorted(set(params) - set(parameters(name)))
    if unknown:
        raise ValueError(
            f"task {name!r} has no parameter {', '.join(map(repr, unknown))}; allowed: {', '.join(parameters(name))}"
        )
    return klass(n_dims, **params)

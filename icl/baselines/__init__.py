"""Classical in-context baselines behind the Learner interface, looked up by name.

A baseline spec is a name with optional parameters: ``"knn"``, ``"knn:n_neighbors=1"``,
``"ridge:alpha=0.25"``, ``"lasso:alpha=0.01,max_iter=5000"``.
"""

from __future__ import annotations

import inspect
import tomllib
from typing import Any

from icl.baselines.base import PrefixLearner
from icl.baselines.boolean import Elimination, Gf2Parity, MajorityLabel, Perceptron
from icl.baselines.csma import HuberOffset, LeastSquaresZ, MedianOffset, MleOffset, PeakFit, ShorthOffset
from icl.baselines.linear import Averaging, Lasso, LeastSquares, Ridge
from icl.baselines.neighbours import NearestNeighbours
from icl.baselines.nets import GradientDescentNet
from icl.baselines.trees import BoostedTrees, GreedyTree
from icl.learner import Learner

BASELINES: dict[str, type[Learner]] = {
    "least_squares": LeastSquares,
    "ridge": Ridge,
    "lasso": Lasso,
    "averaging": Averaging,
    "knn": NearestNeighbours,
    "gd_net": GradientDescentNet,
    "greedy_tree": GreedyTree,
    "boosted_trees": BoostedTrees,
    "majority_label": MajorityLabel,
    "elimination": Elimination,
    "gf2_parity": Gf2Parity,
    "perceptron": Perceptron,
    "median_offset": MedianOffset,
    "shorth_offset": ShorthOffset,
    "peak_fit": PeakFit,
    "huber_offset": HuberOffset,
    "mle_offset": MleOffset,
    "least_squares_z": LeastSquaresZ,
}


def names() -> list[str]:
    """Names of all baselines."""
    return sorted(BASELINES)


def get(name: str, **params: Any) -> Learner:
    """The baseline ``name`` with ``params``; unknown names or parameters raise ValueError."""
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; allowed: {', '.join(names())}")
    klass = BASELINES[name]
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    signature = inspect.signature(klass.__init__).parameters.values()
    allowed = [p.name for p in signature if p.name != "self" and p.kind in named]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(f"baseline {name!r} has no parameter {unknown[0]!r}; allowed: {', '.join(allowed) or 'none'}")
    return klass(**params)


def from_spec(spec: str) -> Learner:
    """Build a baseline from ``name`` or ``name:key=value,key=value`` (values in TOML syntax)."""
    name, _, arguments = spec.partition(":")
    params: dict[str, Any] = {}
    for item in filter(None, arguments.split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"baseline spec {spec!r}: expected key=value, got {item!r}")
        try:
            params[key.strip()] = tomllib.loads(f"v = {value.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            raise ValueError(f"baseline spec {spec!r}: {value!r} is not a number, boolean or quoted string") from None
    return get(name.strip(), **params)


__all__ = ["BASELINES", "Learner", "PrefixLearner", "from_spec", "get", "names"]

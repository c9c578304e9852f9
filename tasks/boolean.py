"""Boolean function classes of Bhattamishra et al. (2023), "Understanding In-Context Learning in
Transformers and LLMs by Learning to Learn Discrete Functions".

Inputs are uniform on {-1,+1}^n (``domain="01"`` gives {0,1}^n; +1 and 1 mean "true"), labels are
+-1, scored by accuracy and trained with binary cross-entropy on a logit. Sampling follows the
paper where it matters:

- literal classes (conjunction, disjunction, sparse disjunction, 3-term DNF, 3-clause CNF): each
  variable is absent / a positive literal / a negative literal with probabilities 0.7 / 0.15 / 0.15
  (0.8 / 0.1 / 0.1 per DNF term or CNF clause); a ``forced_fraction`` of the inputs is set to
  satisfy the formula (one term of a DNF) or falsify it (one clause of a CNF), so that the labels
  are not almost all equal;
- majority over a random subset (each variable with probability 0.3), 0-1 threshold functions
  (weights in {-1,0,1}, threshold in {-3.5, ..., 2.5}), integer halfspaces (weights in
  {-3, ..., 3}, threshold 0.5), parity over a uniform random subset, sparse parity over
  ``sparsity`` variables, and nearest neighbour (random labels on the first ``n_anchors`` inputs,
  then each input takes the label of its most similar predecessor);
- ``teaching=True`` (conjunctions and disjunctions) starts each prompt with a teaching sequence
  for the target: two examples that agree on the literals and disagree on every other variable,
  then one example per literal with that literal flipped (k + 2 examples for k literals), followed
  by random examples.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from tasks.base import Functions, Task, check_count, register

DOMAINS = ("pm1", "01")
TEACHING_TASKS = ("conjunction", "disjunction", "sparse_disjunction")
"""The classes with a teaching sequence."""


def _signs(generator: torch.Generator, shape: tuple[int, ...]) -> Tensor:
    """Uniform +-1 entries."""
    return torch.randint(0, 2, shape, generator=generator).float() * 2 - 1


def _choice(generator: torch.Generator, shape: tuple[int, ...], values: list[float], probs: list[float]) -> Tensor:
    """Entries drawn from ``values`` with probabilities ``probs``."""
    index = torch.multinomial(
        torch.tensor(probs), int(torch.Size(shape).numel()), replacement=True, generator=generator
    )
    return torch.tensor(values)[index].view(shape)


def _random_subsets(generator: torch.Generator, batch_size: int, n_dims: int, size: int) -> Tensor:
    """0/1 masks [B, n] with exactly ``size`` ones at uniformly random positions."""
    order = torch.rand(batch_size, n_dims, generator=generator).argsort(dim=1)
    return torch.zeros(batch_size, n_dims).scatter_(1, order[:, :size], 1.0)


class BooleanTask(Task):
    """A class of Boolean functions {-1,+1}^n -> {-1,+1}; subclasses draw and apply on +-1 inputs."""

    metric = "accuracy"
    loss = "bce"
    dimension_curriculum = False  # every coordinate of a Boolean input is a variable

    def __init__(
        self,
        n_dims: int,
        *,
        domain: str = "pm1",
        teaching: bool = False,
        pool_size: int | None = None,
        pool_seed: int = 0,
    ) -> None:
        if domain not in DOMAINS:
            raise ValueError(f"domain must be one of {', '.join(DOMAINS)}, got {domain!r}")
        if teaching and self.name not in TEACHING_TASKS:
            raise ValueError(
                f"task {self.name!r} has no teaching sequence; classes with one: {', '.join(TEACHING_TASKS)}"
            )
        self.domain = domain
        self.teaching = bool(teaching)
        super().__init__(n_dims, pool_size=pool_size, pool_seed=pool_seed)

    def examples(
        self, batch_size: int, n_points: int, generator: torch.Generator, n_dims_active: int
    ) -> tuple[Functions, Tensor, Tensor]:
        """Examples over {-1,+1}^n, mapped to {0,1}^n after labelling when ``domain`` is "01"."""
        functions, xs, ys = super().examples(batch_size, n_points, generator, n_dims_active)
        return functions, (xs + 1) / 2 if self.domain == "01" else xs, ys

    def sample_inputs(self, batch_size: int, n_points: int, generator: torch.Generator, n_dims_active: int) -> Tensor:
        return _signs(generator, (batch_size, n_points, self.n_dims))

    def condition_inputs(self, functions: Functions, xs: Tensor, generator: torch.Generator) -> Tensor:
        xs = self.force_inputs(functions, xs, generator)
        if not self.teaching:
            return xs
        teach, length = self.teaching_sequence(functions)
        positions = torch.arange(min(xs.shape[1], teach.shape[1]))
        use = (positions < length.unsqueeze(1)).unsqueeze(-1)
        xs = xs.clone()
        xs[:, : len(positions)] = torch.where(use, teach[:, : len(positions)], xs[:, : len(positions)])
        return xs

    def force_inputs(self, functions: Functions, xs: Tensor, generator: torch.Generator) -> Tensor:
        """Inputs set to a chosen label for balance; unchanged by default."""
        return xs

    def teaching_sequence(self, functions: Functions) -> tuple[Tensor, Tensor]:
        """Teaching inputs [B, T, n] (+-1) and each prompt's sequence length [B]."""
        raise NotImplementedError(f"task {self.name!r} has no teaching sequence")

    def error_scale(self, n_dims_active: int) -> float:
        return 1.0


class LiteralTask(BooleanTask):
    """A DNF (OR of AND-terms) or CNF (AND of OR-clauses) over literals; one term is a conjunction
    (DNF) or disjunction (CNF).

    ``lits`` [B, T, n] holds +1 for a literal x_i, -1 for its negation, 0 for an absent variable.
    """

    form: ClassVar[str]
    n_terms: ClassVar[int] = 1
    literal_prob: ClassVar[float] = 0.15

    def __init__(self, n_dims: int, *, forced_fraction: float = 0.3, **kwargs: Any) -> None:
        if not 0 <= forced_fraction <= 1:
            raise ValueError(f"forced_fraction must be in [0, 1], got {forced_fraction!r}")
        self.forced_fraction = float(forced_fraction)
        super().__init__(n_dims, **kwargs)

    @property
    def _sign(self) -> float:
        """+1 when forcing satisfies a term (DNF), -1 when it falsifies a clause (CNF)."""
        return 1.0 if self.form == "dnf" else -1.0

    def draw_functions(self, batch_size: int, generator: torch.Generator, n_dims_active: int) -> Functions:
        p = self.literal_prob
        return {
            "lits": _choice(generator, (batch_size, self.n_terms, self.n_dims), [0.0, 1.0, -1.0], [1 - 2 * p, p, p])
        }

    def apply(self, functions: Functions, xs: Tensor) -> Tensor:
        lits = functions["lits"].unsqueeze(1)
        s = xs.unsqueeze(2)
        if self.form == "dnf":
            terms = ((s == lits) | (lits == 0)).all(dim=-1)
            out = terms.any(dim=-1)
        else:
            clauses = ((s == lits) & (lits != 0)).any(dim=-1)
            out = clauses.all(dim=-1)
        return out.float() * 2 - 1

    def force_inputs(self, functions: Functions, xs: Tensor, generator: torch.Generator) -> Tensor:
        batch_size, n_points, _ = xs.shape
        term = torch.randint(self.n_terms, (batch_size,), generator=generator)
        lits = functions["lits"][torch.arange(batch_size), term].unsqueeze(1)
        forced = (torch.rand(batch_size, n_points, 1, generator=generator) < self.forced_fraction) & (lits != 0)
        return torch.where(forced, self._sign * lits, xs)

    def teaching_sequence(self, functions: Functions) -> tuple[Tensor, Tensor]:
        lits = functions["lits"][:, 0]
        relevant = lits != 0
        first = torch.where(relevant, self._sign * lits, -1.0)
        second = torch.where(relevant, self._sign * lits, 1.0)
        flipped = first.unsqueeze(1) * (1 - 2 * torch.eye(self.n_dims))
        order = (~relevant).float().argsort(dim=1, stable=True)
        flipped = flipped.gather(1, order.unsqueeze(-1).expand(-1, -1, self.n_dims))
        teach = torch.cat([first.unsqueeze(1), second.unsqueeze(1), flipped], dim=1)
        return teach, relevant.sum(dim=1) + 2


@register
class Conjunction(LiteralTask):
    """AND of literals."""

    name = "conjunction"
    form = "dnf"


@register
class Disjunction(LiteralTask):
    """OR of literals; forced inputs falsify it."""

    name = "disjunction"
    form = "cnf"


@register
class SparseDisjunction(LiteralTask):
    """OR of exactly ``sparsity`` positive literals (monotone, as in the paper)."""

    name = "sparse_disjunction"
    form = "cnf"

    def __init__(self, n_dims: int, *, sparsity: int = 4, **kwargs: Any) -> None:
        check_count("sparsity", sparsity, n_dims, "n_dims")
        self.sparsity = sparsity
        super().__init__(n_dims, **kwargs)

    def draw_functions(self, batch_size: int, generator: torch.Generator, n_dims_active: int) -> Functions:
        return {"lits": _random_subsets(generator, batch_size, self.n_dims, self.sparsity).unsqueeze(1)}


@register
class ThreeTermDnf(LiteralTask):
    """OR of 3 conjunctions (literal probabilities 0.8 / 0.1 / 0.1); forced inputs satisfy one term."""

    name = "dnf"
    form = "dnf"
    n_terms = 3
    literal_prob = 0.1

    def __init__(self, n_dims: int, *, forced_fraction: float = 0.35, **kwargs: Any) -> None:
        super().__init__(n_dims, forced_fraction=forced_fraction, **kwargs)


@register
class ThreeClauseCnf(LiteralTask):
    """AND of 3 disjunctions (literal probabilities 0.8 / 0.1 / 0.1); forced inputs falsify one clause."""

    name = "cnf"
    form = "cnf"
    n_terms = 3
    literal_prob = 0.1


class ThresholdTask(BooleanTask):
    """y = sign(w . x - b) for drawn weights ``w`` [B, n] and thresholds ``b`` [B] (never on the boundary)."""

    def apply(self, functions: Functions, xs: Tensor) -> Tensor:
        margin = torch.einsum("bkn,bn->bk", xs, functions["w"]) - functions["b"].unsqueeze(1)
        return torch.where(margin > 0, 1.0, -1.0)


@register
class Majority(ThresholdTask):
    """+1 when most variables of a random subset (each with probability 0.3) are true."""

    name = "majority"

    def draw_functions(self, batch_size: int, generator: torch.Generator, n_dims_active: int) -> Functions:
        w = _choice(generator, (batch_size, self.n_dims), [0.0, 1.0], [0.7, 0.3])
        return {"w": w, "b": torch.full((batch_size,), 0.5)}


@register
class ZeroOneThreshold(ThresholdTask):
    """Weights in {-1, 0, 1} (0.15 / 0.7 / 0.15) and a threshold in {-3.5, ..., 2.5}."""

    name = "threshold"

    def draw_functions(self, batch_size: int, generator: torch.Generator, n_dims_active: int) -> Functions:
        w = _choice(generator, (batch_size, self.n_dims), [0.0, 1.0, -1.0], [0.7, 0.15, 0.15])
        b = torch.randint(-3, 3, (batch_size,), generator=generator).float() + 0.5
        return {"w": w, "b": b}


@register
class IntegerHalfspace(ThresholdTask):
    """Integer weights uniform in {-3, ..., 3}, threshold 0.5."""

    name = "halfspace"

    def draw_functions(self, batch_size: int, generator: torch.Generator, n_dims_active: int) -> Functions:
        w = torch.randint(-3, 4, (batch_size, self.n_dims), generator=generator).float()
        return {"w": w, "b": torch.full((batch_size,), 0.5)}


@register
class Parity(BooleanTask):
    """+1 when an odd number of the relevant variables (a uniform random subset) are true."""

    name = "parity"

    def draw_functions(self, batch_size: int, generator: torch.Generator, n_dims_active: int) -> Functions:
        return {"w": torch.randint(0, 2, (batch_size, self.n_dims), generator=generator).float()}

    def apply(self, functions: Functions, xs: Tensor) -> Tensor:
        n_true = torch.einsum("bkn,bn->bk", (xs > 0).float(), functions["w"])
        return torch.where(n_true.remainder(2) == 1, 1.0, -1.0)


@register
class SparseParity(Parity):
    """Parity of exactly ``sparsity`` random variables."""

    name = "sparse_parity"

    def __init__(self, n_dims: int, *, sparsity: int = 2, **kwargs: Any) -> None:
        check_count("sparsity", sparsity, n_dims, "n_dims")
        self.sparsity = sparsity
        super().__init__(n_dims, **kwargs)

    def draw_functions(self, batch_size: int, generator: torch.Generator, n_dims_active: int) -> Functions:
        return {"w": _random_subsets(generator, batch_size, self.n_dims, self.sparsity)}


@register
class NearestNeighbour(BooleanTask):
    """Random labels on the first ``n_anchors`` inputs (repeats keep their label); every later input
    takes the label of its most similar predecessor (the earliest among ties)."""

    name = "nearest_neighbour"

    def __init__(self, n_dims: int, *, n_anchors: int = 5, **kwargs: Any) -> None:
        check_count("n_anchors", n_anchors)
        self.n_anchors = n_anchors
        super().__init__(n_dims, **kwargs)

    def draw_functions(self, batch_size: int, generator: torch.Generator, n_dims_active: int) -> Functions:
        return {"anchor_labels": _signs(generator, (batch_size, self.n_anchors))}

    def apply(self, functions: Functions, xs: Tensor) -> Tensor:
        batch_size, n_points, n_dims = xs.shape
        ys = torch.empty(batch_size, n_points)
        anchors = functions["anchor_labels"]
        ys[:, 0] = anchors[:, 0]
        for k in range(1, n_points):
            similarity = torch.einsum("bjn,bn->bj", xs[:, :k], xs[:, k])
            best, nearest = similarity.max(dim=1)
            copied = ys[:, :k].gather(1, nearest.unsqueeze(1)).squeeze(1)
            if k < self.n_anchors:
                ys[:, k] = torch.where(best == n_dims, copied, anchors[:, k])
            else:
                ys[:, k] = copied
        return ys

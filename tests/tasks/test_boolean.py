from __future__ import annotations

import pytest
import torch

import tasks
from icl.baselines import from_spec
from tasks import BOOLEAN_TASKS
from tasks.boolean import TEACHING_TASKS


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", BOOLEAN_TASKS)
def test_prompts_are_boolean_balanced_and_reproducible(name: str) -> None:
    task = tasks.get(name, n_dims=10)
    prompt = task.sample(512, 30, gen(1))
    assert prompt.xs.shape == (512, 30, 10) and prompt.ys.shape == (512, 30)
    assert set(prompt.xs.unique().tolist()) == {-1.0, 1.0}
    assert set(prompt.ys.unique().tolist()) == {-1.0, 1.0}
    assert 0.15 < (prompt.ys > 0).float().mean().item() < 0.85, "labels must not be almost constant"
    assert prompt.info["metric"] == "accuracy" and task.loss == "bce"
    again = task.sample(512, 30, gen(1))
    assert torch.equal(prompt.xs, again.xs) and torch.equal(prompt.ys, again.ys)


def test_literal_semantics() -> None:
    """lits +1 -> x_i, -1 -> not x_i; DNF = OR of ANDs, CNF = AND of ORs."""
    xs = torch.tensor([[[1.0, -1.0, 1.0], [1.0, 1.0, 1.0], [-1.0, -1.0, -1.0]]])
    conjunction = tasks.get("conjunction", 3)
    disjunction = tasks.get("disjunction", 3)
    lits = {"lits": torch.tensor([[[1.0, -1.0, 0.0]]])}
    assert conjunction.apply(lits, xs).tolist() == [[1.0, -1.0, -1.0]]
    assert disjunction.apply(lits, xs).tolist() == [[1.0, 1.0, 1.0]]
    dnf_lits = {"lits": torch.tensor([[[1.0, 1.0, 0.0], [-1.0, 0.0, -1.0], [0.0, 0.0, 0.0]]])}
    cnf = tasks.get("cnf", 3)
    assert tasks.get("dnf", 3).apply({"lits": dnf_lits["lits"][:, :2]}, xs).tolist() == [[-1.0, 1.0, 1.0]]
    cnf_lits = {"lits": torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]])}
    assert cnf.apply(cnf_lits, xs).tolist() == [[1.0, 1.0, -1.0]]


def test_threshold_and_parity_semantics() -> None:
    xs = torch.tensor([[[1.0, 1.0, -1.0, -1.0], [1.0, 1.0, 1.0, -1.0], [1.0, -1.0, -1.0, -1.0]]])
    majority = {"w": torch.tensor([[1.0, 1.0, 1.0, 0.0]]), "b": torch.tensor([0.5])}
    assert tasks.get("majority", 4).apply(majority, xs).tolist() == [[1.0, 1.0, -1.0]]
    parity = {"w": torch.tensor([[1.0, 0.0, 1.0, 1.0]])}
    # true among {0, 2, 3}: 1, 2, 1
    assert tasks.get("parity", 4).apply(parity, xs).tolist() == [[1.0, -1.0, 1.0]]


def test_sparse_classes_have_exactly_sparsity_variables() -> None:
    parity = tasks.get("sparse_parity", 10, sparsity=3)
    assert (parity.draw_functions(64, gen(), 10)["w"].sum(dim=1) == 3).all()
    disjunction = tasks.get("sparse_disjunction", 10, sparsity=4)
    assert (disjunction.draw_functions(64, gen(), 10)["lits"].abs().sum(dim=-1) == 4).all()


def test_forced_inputs_satisfy_the_conjunction() -> None:
    """About forced_fraction of the inputs satisfy the conjunction on purpose (the rest by chance)."""
    for fraction in (0.0, 0.6):
        prompt = tasks.get("conjunction", 20, forced_fraction=fraction).sample(2000, 20, gen())
        positive = (prompt.ys > 0).float().mean().item()
        assert positive == pytest.approx(fraction + (1 - fraction) * 0.85**20, abs=0.03)


def test_zero_one_domain_gives_the_same_functions() -> None:
    pm1 = tasks.get("dnf", 8).sample(64, 20, gen(3))
    zero_one = tasks.get("dnf", 8, domain="01").sample(64, 20, gen(3))
    assert set(zero_one.xs.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(zero_one.xs * 2 - 1, pm1.xs) and torch.equal(zero_one.ys, pm1.ys)


@pytest.mark.parametrize("name", TEACHING_TASKS)
def test_teaching_sequence_identifies_the_target(name: str) -> None:
    """Conjunction: 2 positives, then one negative per flipped literal (k + 2 examples); disjunctions:
    the dual. After the first two examples, elimination knows the target exactly."""
    task = tasks.get(name, 10, teaching=True)
    functions = task.draw_functions(128, gen(4), 10)
    teach, length = task.teaching_sequence(functions)
    n_literals = functions["lits"][:, 0].abs().sum(dim=1)
    assert torch.equal(length, n_literals.long() + 2)
    labels = task.apply(functions, teach)
    first = 1.0 if name == "conjunction" else -1.0
    assert (labels[:, :2] == first).all()
    positions = torch.arange(teach.shape[1])
    flipped = (positions >= 2) & (positions < length.unsqueeze(1))
    assert (labels[flipped] == -first).all()

    prompt = task.sample(256, 30, gen(5))
    target = "conjunction" if name == "conjunction" else "disjunction"
    predictions = from_spec(f"elimination:target='{target}'").predict(prompt.xs, prompt.ys)
    assert torch.equal(predictions[:, 2:], prompt.ys[:, 2:])


def test_nearest_neighbour_labels_follow_the_most_similar_predecessor() -> None:
    prompt = tasks.get("nearest_neighbour", 10, n_anchors=5).sample(256, 40, gen())
    predictions = from_spec("knn:n_neighbors=1").predict(prompt.xs, prompt.ys)
    assert torch.equal(predictions[:, 5:], prompt.ys[:, 5:])


def test_pool_limits_the_functions() -> None:
    task = tasks.get("conjunction", 10, pool_size=3, pool_seed=1)
    functions = task.functions_for(200, gen(), 10)["lits"]
    assert len(functions.unique(dim=0)) <= 3


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("conjunction", {"n_dims": 0}, "n_dims must be a positive integer"),
        ("sparse_parity", {"n_dims": 4, "sparsity": 5}, "sparsity must be an integer in \\[1, n_dims=4\\]"),
        ("sparse_disjunction", {"n_dims": 3, "sparsity": 4}, "sparsity must be an integer"),
        ("parity", {"n_dims": 4, "teaching": True}, "no teaching sequence; classes with one: conjunction"),
        ("conjunction", {"n_dims": 4, "domain": "bits"}, "domain must be one of pm1, 01"),
        ("conjunction", {"n_dims": 4, "x_scale": 2.0}, "no parameter 'x_scale'"),
        ("conjuntion", {"n_dims": 4}, "unknown task 'conjuntion'; allowed: .*conjunction"),
    ],
)
def test_bad_input_is_rejected_clearly(name: str, params: dict, message: str) -> None:
    n_dims = params.pop("n_dims")
    with pytest.raises(ValueError, match=message):
        tasks.get(name, n_dims, **params)


def test_no_dimension_curriculum() -> None:
    with pytest.raises(ValueError, match="no dimension curriculum"):
        tasks.get("majority", 6).sample(4, 5, gen(), n_dims_active=3)

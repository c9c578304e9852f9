"""One human name and one colour per learner and policy, shared by every figure.

Data frames and CSVs keep keys: a baseline's spec (``knn:n_neighbors=3``), a trained model's label
(``transformer``), a CSMA policy's key (``beb``, ``icl:median_offset``: the in-context controller
reading its prompts with that learner). Legends show ``name_of(key)``; ``colour_of(key)`` gives a
learner the same colour in every panel and figure, and the controller that reads prompts with a
learner the colour of that learner.
"""

from __future__ import annotations

import seaborn as sns

THEORY = " (theory)"
"""The suffix of a key whose rows are a closed-form curve rather than a measurement."""

CONTROLLERS = {"icl": "ICL p*", "icl-peak": "ICL peak"}
"""Key prefixes of the in-context controllers (``icl:<learner>``): the p* task (the window at which the
collision probability is p*) and the throughput-peak task."""

NAMES: dict[str, str] = {
    # trained sequence models, by their label
    "transformer": "transformer",
    "LSTM": "LSTM",
    "RetNet": "RetNet",
    "S4D": "S4D",
    "LSA": "LSA",
    # baselines, by spec name (parameters are added by name_of)
    "least_squares": "least squares",
    "ridge": "ridge",
    "lasso": "Lasso",
    "averaging": "averaging",
    "knn": "nearest neighbours",
    "gd_net": "FF net (GD)",
    "greedy_tree": "greedy tree",
    "boosted_trees": "XGBoost",
    "majority_label": "majority label (null)",
    "elimination": "elimination",
    "gf2_parity": "GF(2) elimination",
    "perceptron": "perceptron",
    "median_offset": "median of offsets",
    "shorth_offset": "shortest half",
    "huber_offset": "Huber M-estimate",
    "mle_offset": "binomial likelihood",
    "least_squares_z": "least squares on z",
    "peak_fit": "parabola fit",
    # the linear self-attention figure's learners
    "lsa_optimum": "LSA optimum",
    "gd_step": "one GD step, gamma*",
    # CSMA policies that are not in-context controllers
    "p_star_tracker": "p* tracker",
    "idle_sense": "Idle Sense",
    "kalman_n": "Kalman N estimate + W*(N)",
    "dqn": "DQN (CCOD-style)",
    "td3": "TD3 (CCOD-style)",
    "beb": "BEB 16..1024",
    "oracle": "oracle W*(N)",
    "bianchi_window": "Bianchi's W*(N), knows N",
    "p_persistent_window": "p-persistent model, knows N",
    "non_persistent_window": "non-persistent model, knows N",
    "assumed_n_window": "model-based, N assumed",
}

_ORDER = (
    ("transformer", "least_squares", "knn", "averaging", "lasso", "ridge", "greedy_tree", "boosted_trees")
    + ("gd_net", "LSTM", "RetNet", "S4D", "LSA", "lsa_optimum", "gd_step", "majority_label")
    + ("elimination", "gf2_parity", "perceptron")
)
_CSMA_ORDER = (
    ("transformer", "median_offset", "shorth_offset", "huber_offset", "mle_offset", "least_squares_z", "peak_fit")
    + ("p_star_tracker", "idle_sense", "kalman_n", "dqn", "td3", "beb", "oracle", "bianchi_window")
    + ("p_persistent_window", "non_persistent_window", "assumed_n_window")
)
"""Colour slots: a learner's place in its family's list. The lists are at most as long as the palette,
so the learners of one family never share a colour; the transformer has the first colour in both."""

PALETTE = sns.color_palette("colorblind") + sns.color_palette("dark")
"""Twenty colours: the colour-blind palette, then its darker twin."""


def _parts(key: str) -> tuple[str, str, str, bool]:
    """(controller prefix, learner name, its parameters, theory?) of a key."""
    theory = key.endswith(THEORY)
    key = key.removesuffix(THEORY)
    controller, sep, rest = key.partition(":")
    if not sep or controller not in CONTROLLERS:
        controller, rest = "", key
    name, _, params = rest.partition(":")
    return controller, name, params, theory


def is_named(key: str) -> bool:
    """Whether ``key`` has a human name here (every key a shipped figure draws has: a test checks)."""
    return _parts(key)[1] in NAMES


def name_of(key: str) -> str:
    """The human name of a learner or policy key; a key with none (a learner of the user's own, in a
    notebook) stands for itself."""
    controller, name, params, theory = _parts(key)
    if name not in NAMES:
        return key
    values = [item.partition("=")[2] for item in params.split(",") if item]
    if name == "knn" and len(values) == 1:
        text = f"{values[0]}-NN"
    elif params:
        text = f"{NAMES[name]} ({params.replace('=', ' = ').replace(',', ', ')})"
    else:
        text = NAMES[name]
    if controller:
        text = f"{CONTROLLERS[controller]}, {text}"
    return text + THEORY if theory else text


def colour_of(key: str) -> tuple[float, float, float]:
    """The colour of a learner or policy key in every figure (grey for one outside the lists)."""
    controller, name, _, _ = _parts(key)
    for order in (_CSMA_ORDER, _ORDER) if controller or name in _CSMA_ORDER else (_ORDER,):
        if name in order:
            return PALETTE[order.index(name)]
    return (0.5, 0.5, 0.5)


def palette_of(keys: list[str]) -> dict[str, tuple[float, float, float]]:
    """The colours of ``keys``: a closed-form curve has its learner's colour; where two learners of one
    figure would share a colour (two controllers reading with the same learner), the second gets a free
    one, as does a learner of the user's own."""
    learners = list(dict.fromkeys(key.removesuffix(THEORY) for key in keys))
    by_learner: dict[str, tuple[float, float, float]] = {}
    for learner in sorted(learners, key=lambda learner: not is_named(learner)):  # the user's own learners last
        colour = colour_of(learner)
        taken = set(by_learner.values())
        if colour in taken or colour not in PALETTE:  # a second learner of one colour, or one of the user's own
            colour = next((c for c in PALETTE if c not in taken), colour)
        by_learner[learner] = colour
    return {key: by_learner[key.removesuffix(THEORY)] for key in keys}

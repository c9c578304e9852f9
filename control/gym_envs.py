"""Gymnasium registration of ``icl_testbed/Ccod-v0``, CCOD's view of the CSMA network
(``control.drl.ccod_env``), beside the CSMA ids of ``sim.gym_envs`` (whose docstring lists every id):

    env = gymnasium.make("control.gym_envs:icl_testbed/Ccod-v0", n_stations=20, algorithm="dqn")

Importing this module registers the testbed's ids in gymnasium's registry (the CSMA ones too, as it
imports ``sim.gym_envs``); that is its only effect, and no other module imports it.
"""

from __future__ import annotations

from typing import Any

from sim.gym_envs import register_ids

IDS: dict[str, tuple[str, dict[str, Any]]] = {"Ccod-v0": ("control.drl:ccod_env", {})}
"""This module's ids (without the namespace): entry point and default arguments."""

register_ids(IDS)

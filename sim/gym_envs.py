"""Gymnasium registration of the testbed's environments, under the namespace ``icl_testbed``.

Every id of the testbed, and how to make it (gymnasium imports the module named before the colon,
which registers its ids; nothing else registers them, so importing ``sim`` or ``control`` registers
nothing):

- ``icl_testbed/Csma-v0``: ``sim.env.CsmaEnv`` on the embedded simulator,
  ``gymnasium.make("sim.gym_envs:icl_testbed/Csma-v0", n_stations=20)``;
- ``icl_testbed/CsmaNs3-v0``: ``sim.env.CsmaEnv`` on the system's ns-3,
  ``gymnasium.make("sim.gym_envs:icl_testbed/CsmaNs3-v0", n_stations=20)``;
- ``icl_testbed/Ccod-v0``: CCOD's view of Csma-v0 (``control.drl.CcodEnv``: the collision history as
  state), ``gymnasium.make("control.gym_envs:icl_testbed/Ccod-v0", n_stations=20)``; registered by
  ``control.gym_envs`` (``sim`` does not import ``control``) with ``register_ids`` and this time limit.

The CSMA ids follow the field's conventions (Gymnasium, Stable-Baselines3, CleanRL): episodes are
truncated after ``EPISODE_STEPS`` steps, the action is log2(W) / 8 - 1 in [-1, 1] (float32; pass
``action="discrete"`` for CCOD's windows 16..1024, as DQN needs), observations are float32 on about unit
range and the reward is throughput over the network's fastest data rate (``UNIT_SCALED``; the raw
observation in Mb/s and slots is ``info["raw_observation"]``). Every ``CsmaEnv`` argument can be passed
to ``gymnasium.make``, ``observation="raw"`` and ``reward="mbps"`` among them, and ``render_mode="ansi"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium

NAMESPACE = "icl_testbed"
EPISODE_STEPS = 100
"""Steps of a registered episode: 500,000 virtual slots on the embedded simulator (27 s of air time
at N = 20), 10 simulated seconds on ns-3."""
UNIT_SCALED = {"action": "signed_log2_window", "observation": "scaled", "reward": "scaled"}
"""The registered CSMA ids' units (``sim.env.ACTIONS``, ``OBSERVATIONS``, ``REWARDS``)."""
IDS = {
    "Csma-v0": ("sim.env:CsmaEnv", {"backend": "embedded", **UNIT_SCALED}),
    "CsmaNs3-v0": ("sim.env:CsmaEnv", {"backend": "ns3", **UNIT_SCALED}),
}
"""This module's ids (without the namespace): entry point and default arguments."""


def register_ids(ids: Mapping[str, tuple[str, dict[str, Any]]]) -> None:
    """Register ``ids`` (name -> entry point, default arguments) under ``NAMESPACE`` with the time limit
    ``EPISODE_STEPS``; an id already registered is left as it is."""
    for name, (entry_point, kwargs) in ids.items():
        if f"{NAMESPACE}/{name}" not in gymnasium.registry:
            gymnasium.register(
                id=f"{NAMESPACE}/{name}", entry_point=entry_point, kwargs=kwargs, max_episode_steps=EPISODE_STEPS
            )


register_ids(IDS)

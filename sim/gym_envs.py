"""Gymnasium registration of the CSMA environment: ``icl_testbed/Csma-v0`` (embedded simulator) and
``icl_testbed/CsmaNs3-v0`` (ns-3).

Importing this module registers the ids in gymnasium's registry; that is its only effect, and no
other module imports it, so importing ``sim`` registers nothing. Gymnasium imports it for you:

    env = gymnasium.make("sim.gym_envs:icl_testbed/Csma-v0", n_stations=20, action="discrete")
"""

from __future__ import annotations

import gymnasium

NAMESPACE = "icl_testbed"
IDS = {"Csma-v0": {"backend": "embedded"}, "CsmaNs3-v0": {"backend": "ns3"}}

for name, kwargs in IDS.items():
    if f"{NAMESPACE}/{name}" not in gymnasium.registry:
        gymnasium.register(id=f"{NAMESPACE}/{name}", entry_point="sim.env:CsmaEnv", kwargs=kwargs)

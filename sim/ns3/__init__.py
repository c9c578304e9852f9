"""The ns-3 bridge: our 802.11 scenario on the system's ns-3, driven over ns3-gym's protocol."""

from sim.ns3.build import Ns3Error, find_toolchain, ns3_available, ns3_version, scenario_binary
from sim.ns3.env import Ns3Env
from sim.ns3.scenario import ScenarioObservation, ns3_world_args

__all__ = [
    "Ns3Env",
    "Ns3Error",
    "ScenarioObservation",
    "find_toolchain",
    "ns3_available",
    "ns3_version",
    "ns3_world_args",
    "scenario_binary",
]

"""CSMA/CA data sources: the embedded vectorised simulator (``sim.csma``) and 802.11 timing."""

from icl_testbed import require_own_packages

require_own_packages()  # before importing a package of ours, which may be a namesake's

from sim.csma import CsmaSimulator, Stats, simulate  # noqa: E402
from sim.env import CsmaEnv, Embedded, Ns3, Observation  # noqa: E402
from sim.timing import OFDM_54, Timing  # noqa: E402

__all__ = ["OFDM_54", "CsmaEnv", "CsmaSimulator", "Embedded", "Ns3", "Observation", "Stats", "Timing", "simulate"]

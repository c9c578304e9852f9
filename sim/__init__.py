"""CSMA/CA data sources: the embedded vectorised simulator (``sim.csma``) and 802.11 timing."""

from sim.csma import CsmaSimulator, Stats, simulate
from sim.env import CsmaEnv, Embedded, Ns3
from sim.timing import OFDM_54, Timing

__all__ = ["OFDM_54", "CsmaEnv", "CsmaSimulator", "Embedded", "Ns3", "Stats", "Timing", "simulate"]

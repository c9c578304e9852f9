"""Our ns-3 scenario (``scenario.cc``) seen from Python: what it observes, by name, and the command-line
arguments that make it simulate a world of ``sim.worlds`` (the env holds the dynamics; this module the
scenario's vocabulary)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from sim.timing import Timing
from sim.worlds import World

NS3_RATES_MBPS = (6, 9, 12, 18, 24, 36, 48, 54)
"""The 802.11a OFDM rates the scenario offers."""


class ScenarioObservation(NamedTuple):
    """Our scenario's observation (``sim/ns3/scenario.cc``) by name, over the last step."""

    transmitted: float
    """Attempts: the data MPDUs the stations transmitted (every MPDU of an A-MPDU; RTS frames with
    RTS/CTS), each counted in the step in which its outcome is known (its acknowledgement, or the
    station's next attempt), which may come after the step it was sent in."""
    acknowledged: float
    """The attempts of ``transmitted`` acknowledged (by ACK or Block Ack, one per MPDU), so never more;
    acknowledged management frames (association and ADDBA requests) are no attempts but with RTS/CTS."""
    failed: float
    """transmitted - acknowledged."""
    collision_probability: float
    """failed / transmitted (0 in a step without attempts)."""
    throughput_mbps: float
    """MSDU throughput at the AP."""
    virtual_slots: float
    """Bianchi's virtual slots seen by the AP: idle slots after DIFS, plus one per busy period."""
    busy_periods: float

    @classmethod
    def of(cls, array: Sequence[float]) -> ScenarioObservation:
        if len(array) != len(cls._fields):
            raise ValueError(f"our ns-3 scenario observes {len(cls._fields)} values, got {len(array)}")
        return cls(*(float(value) for value in array))


HE_DATA_MODE = "HeMcs7"
"""The data rate of 802.11ax worlds on ns-3: HE-MCS 7 (86 Mb/s on 20 MHz with an 800 ns guard interval)."""


def ofdm_mode(rate_mbps: float) -> str:
    """ns-3's name of an 802.11a rate."""
    if rate_mbps not in NS3_RATES_MBPS:
        raise ValueError(f"the ns3 backend simulates 802.11a OFDM rates {NS3_RATES_MBPS} Mb/s, got {rate_mbps:g}")
    return f"OfdmRate{rate_mbps:g}Mbps"


def ns3_world_args(world: World, timing: Timing, max_stations: int, rng: np.random.Generator) -> dict[str, Any]:
    """Our scenario's arguments for one network of ``world`` (``sim/ns3/scenario.cc``), its stations
    drawn from ``rng`` as the embedded simulator draws them (``World.stations``)."""
    drawn = world.stations(1, max_stations, timing, rng)
    args: dict[str, Any] = {"queueLimit": world.queue_limit}
    if world.traffic != "saturated":
        args |= {"traffic": world.traffic, "load": world.load, "capacityFps": 1e6 / timing.success_us}
        args |= {"onMs": world.on_ms, "offMs": world.off_ms}
    if world.sensing_range is not None:
        assert drawn.xy is not None, "a world with a sensing range places its stations"
        if world.sensing_range < world.radius:
            raise ValueError(
                f"the ns3 backend has one range for every link, so the AP reaches every station only with "
                f"sensing_range >= radius; got sensing_range {world.sensing_range}, radius {world.radius}"
            )
        args["positions"] = ";".join(f"{x:.5f},{y:.5f}" for x, y in drawn.xy[0])
        args["sensingRange"] = world.sensing_range
    if world.rts_cts:
        args |= {"rtsCts": "true", "controlMode": ofdm_mode(timing.control_rate_mbps)}
    if world.rates_mbps:
        args["dataModes"] = ",".join(ofdm_mode(rate) for rate in drawn.rates_mbps[0])
    if world.payloads:
        args["payloads"] = ",".join(str(payload) for payload in drawn.payload_bytes[0])
    if world.error_range != (0.0, 0.0):
        args["frameErrorRates"] = ",".join(f"{rate:.6f}" for rate in drawn.frame_error_rates[0])
    if drawn.legacy.any():
        args["legacy"] = ",".join("1" if legacy else "0" for legacy in drawn.legacy)
    if world.standard == "80211ax":
        args |= {"standard": world.standard, "dataMode": HE_DATA_MODE, "maxAmpdu": world.ampdu_bytes,
                 "controlMode": ofdm_mode(timing.control_rate_mbps)}  # fmt: skip
    return args


def network_args(
    schedule: Mapping[int, int], timing: Timing, step_time_s: float, max_steps: int | None, cw_max_beb: int | None
) -> dict[str, Any]:
    """Our scenario's arguments for a network (the stations' schedule, timing, step length, episode
    length, BEB's largest window); a world adds its own (``ns3_world_args``)."""
    if (timing.slot_us, timing.sifs_us, timing.difs_us) != (9.0, 16.0, 34.0):
        raise ValueError(f"the ns3 backend simulates 802.11a OFDM (slot 9 us, SIFS 16 us, DIFS 34 us); got {timing}")
    return {
        "nStations": schedule[0],
        "maxStations": max(schedule.values()),
        "schedule": ",".join(f"{step}:{n}" for step, n in schedule.items()),
        "stepTime": step_time_s,
        "steps": max_steps or 0,
        "payload": timing.payload_bytes,
        "dataMode": ofdm_mode(timing.data_rate_mbps),
        "cwMaxBeb": cw_max_beb or 0,
    }

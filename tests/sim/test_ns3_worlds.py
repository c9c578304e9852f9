"""The CSMA worlds on real ns-3: each world's departure from Bianchi's shows up as it must, and the
scenario receives the stations the embedded simulator would draw."""

from __future__ import annotations

import numpy as np
import pytest

from sim import CsmaEnv, Ns3
from sim.ns3.scenario import ns3_world_args
from sim.timing import OFDM_54
from sim.worlds import world

pytestmark = pytest.mark.ns3


def measured(name_or_world, n: int, window: int, tmp_path, seed: int = 1, steps: int = 3, step_s: float = 0.2) -> dict:  # type: ignore[no-untyped-def]
    """Collision probability, throughput (Mb/s) and per-station frames over ``steps`` steps of
    ``step_s`` seconds at a fixed window, after one step to settle."""
    env = CsmaEnv(n, world=name_or_world, backend=Ns3(step_s, run_dir=str(tmp_path)))
    try:
        env.reset(seed=seed)
        env.step([window])
        rows = [env.step([window]) for _ in range(steps)]
    finally:
        env.close()
    frames = np.sum([row[4]["station_successes"] for row in rows], axis=0)
    return {
        "p": float(np.mean([row[0][0] for row in rows])),
        "throughput": float(np.mean([row[1] for row in rows])),
        "frames": frames[frames >= 0],
    }


def test_hidden_stations_collide_and_rts_cts_wins_it_back(tmp_path):
    """Twenty stations in a disc, hearing each other within 1.4 of the AP's range: ns-3 collides more
    than with all in range and loses throughput; RTS/CTS recovers most of it."""
    one = measured("bianchi", 20, 128, tmp_path)
    hidden = measured("hidden", 20, 128, tmp_path)
    rts = measured("hidden_rts", 20, 128, tmp_path)
    assert hidden["p"] > one["p"] + 0.1
    assert hidden["throughput"] < 0.9 * one["throughput"]
    assert rts["throughput"] > 1.05 * hidden["throughput"]


def test_channel_losses_add_to_the_failures(tmp_path):
    """A frame error rate of 0.2 on every link: failures = collisions + 0.2 of the clean frames."""
    clean = measured("bianchi", 10, 256, tmp_path)
    lossy = measured(world("lossy", frame_error_rate=0.2), 10, 256, tmp_path)
    expected = clean["p"] + 0.2 * (1 - clean["p"])
    assert lossy["p"] == pytest.approx(expected, abs=0.04)


def test_light_traffic_is_carried_and_legacy_stations_take_the_channel(tmp_path):
    offered = 0.2 * OFDM_54.payload_bits / OFDM_54.success_us
    light = measured(world("unsaturated", load=0.2), 10, 64, tmp_path)
    assert light["throughput"] == pytest.approx(offered, rel=0.1)
    coexistence = measured("coexistence", 10, 1024, tmp_path)
    legacy, told = coexistence["frames"][1::2], coexistence["frames"][0::2]
    assert legacy.sum() > 3 * told.sum()


def test_802_11ax_aggregates_and_every_mpdu_counts(tmp_path):
    """802.11ax with A-MPDUs carries far more than without; the frames the stations report
    acknowledged (by Block Ack) are the bytes the AP received, and collisions rise as W shrinks."""
    single = measured(world("ax_ampdu", ampdu_bytes=0), 10, 256, tmp_path, step_s=0.5)
    aggregated = measured("ax_ampdu", 10, 256, tmp_path, step_s=0.5)
    assert aggregated["throughput"] > 1.5 * single["throughput"]
    for run in (single, aggregated):
        delivered_mbps = run["frames"].sum() * 8 * OFDM_54.payload_bytes / (3 * 0.5) / 1e6
        assert delivered_mbps == pytest.approx(run["throughput"], rel=0.03)
    # no station starves while its Block Ack agreement waits on the AP (whose window stays the standard's)
    assert aggregated["frames"].min() > 0.3 * aggregated["frames"].mean()
    crowded = measured("ax_ampdu", 10, 16, tmp_path, step_s=0.5)
    assert crowded["p"] > 0.3 > 0.1 > aggregated["p"]


def test_stations_join_and_leave_in_a_world(tmp_path):
    """Churn in the hidden-station world: ns-3 runs the schedule's N at every step (the env checks
    it), each active station (and only those) reports its frames, and the collisions grow with N."""
    env = CsmaEnv(4, n_schedule={2: 16, 4: 6}, world="hidden", backend=Ns3(0.2, run_dir=str(tmp_path)))
    try:
        env.reset(seed=3)
        rows = [env.step([64]) for _ in range(6)]
    finally:
        env.close()
    active = [int((row[4]["station_successes"] >= 0).sum()) for row in rows]
    assert active == [4, 4, 16, 16, 6, 6]
    p = [row[0][0] for row in rows]
    assert min(p[2:4]) > max(p[0], p[1], p[5])


def test_the_scenario_gets_the_stations_the_embedded_simulator_draws() -> None:
    rng = lambda: np.random.default_rng(5)  # noqa: E731
    hidden = world("hidden_rts")
    args = ns3_world_args(hidden, OFDM_54, 4, rng())
    xy = hidden.stations(1, 4, OFDM_54, rng()).xy[0]
    assert args["positions"] == ";".join(f"{x:.5f},{y:.5f}" for x, y in xy)
    assert args["sensingRange"] == 1.4 and args["rtsCts"] == "true" and args["controlMode"] == "OfdmRate24Mbps"
    mixed = ns3_world_args(world("mixed_rates"), OFDM_54, 3, rng())
    assert all(mode in {"OfdmRate6Mbps", "OfdmRate12Mbps", "OfdmRate24Mbps", "OfdmRate54Mbps"}
               for mode in mixed["dataModes"].split(","))  # fmt: skip
    assert ns3_world_args(world("coexistence"), OFDM_54, 4, rng())["legacy"] == "0,1,0,1"
    with pytest.raises(ValueError, match="sensing_range >= radius; got sensing_range 0.5, radius 1.0"):
        ns3_world_args(world("hidden", sensing_range=0.5), OFDM_54, 4, rng())
    ax = ns3_world_args(world("ax_ampdu"), OFDM_54, 4, rng())
    assert (ax["standard"], ax["dataMode"], ax["maxAmpdu"]) == ("80211ax", "HeMcs7", 65535)
    with pytest.raises(ValueError, match=r"802.11a OFDM rates .* got 11"):
        ns3_world_args(world("mixed_rates", rates_mbps=(11.0,)), OFDM_54, 4, rng())

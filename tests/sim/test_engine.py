"""The compiled simulator: against the numpy reference and Bianchi's model in Bianchi's world, its two
paths against each other, and each world against what it must do."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sim.collect import measured_optimum
from sim.csma import CsmaSimulator, simulate
from sim.env import CsmaEnv, Embedded
from sim.timing import OFDM_54
from sim.worlds import NS3_WORLDS, WORLDS, World, WorldRanges, churn, exchange_us, random_worlds, world
from theory import bianchi

STATIONS = np.array([2, 5, 10, 20, 50])


@pytest.mark.parametrize("window", [32, 256])
def test_bianchi_world_matches_the_numpy_reference_and_the_model(window: int) -> None:
    """Collision probability of both simulators within 1% + 4 standard errors of Bianchi's model (the
    slotted chain they share) and throughput within 2%, over 20 networks per N."""
    n = np.repeat(STATIONS, 20)
    compiled = simulate(n, window, n_slots=20_000, retry_limit=None, seed=1)
    reference = simulate(n, window, n_slots=20_000, retry_limit=None, seed=1, implementation="numpy")
    model = bianchi.collision_probability(STATIONS, window)
    for stats in (compiled, reference):
        assert (stats.slots == 20_000).all()
        attempts = stats.attempts.reshape(5, 20).sum(1)
        p = stats.collisions.reshape(5, 20).sum(1) / attempts
        assert (np.abs(p - model) < 0.01 * model + 4 * np.sqrt(model * (1 - model) / attempts)).all(), (p, model)
        throughput = stats.throughput_mbps.reshape(5, 20).mean(1)
        np.testing.assert_allclose(throughput, bianchi.throughput(STATIONS, window), rtol=0.02)


WORLDS_ON_BOTH_PATHS = {
    "bianchi": World(),
    "lossy": World(frame_error_rate=(0.0, 0.3)),
    "coexistence": World(legacy_share=0.5),
    "rts": World(rts_cts=True),
}


@pytest.mark.parametrize("name", list(WORLDS_ON_BOTH_PATHS))
def test_the_event_engine_retraces_the_slotted_path_in_one_collision_domain(name: str) -> None:
    """A sensing range wider than the cell puts every station in one collision domain, but on the event
    engine: with the same seed it replays the slotted fast path's run event for event."""
    fast_world = WORLDS_ON_BOTH_PATHS[name]
    event_world = dataclasses.replace(fast_world, sensing_range=5.0)
    assert fast_world.one_collision_domain and not event_world.one_collision_domain
    runs = []
    for w in (fast_world, event_world):
        simulator = CsmaSimulator([3, 10, 30], [16, 64, 256], [16, 64, 1024], world=w, seed=2, retry_limit=3)
        first = simulator.run(3000)
        simulator.set_stations([8, 4, 30])
        simulator.set_window([32, 32, 32])
        runs.append((first, simulator.run(5000)))
    for fast, event in zip(*runs):
        for field in dataclasses.fields(fast):
            np.testing.assert_array_equal(getattr(fast, field.name), getattr(event, field.name), err_msg=field.name)


def test_same_seed_same_run_whatever_the_workers() -> None:
    for name in ("bianchi", "hidden", "bursty"):
        a, b, c = (simulate([5, 20, 40, 7], 64, n_slots=3000, seed=s, world=name, workers=w) for s, w in
                   ((3, 1), (3, 2), (4, 2)))  # fmt: skip
        for field in dataclasses.fields(a):
            np.testing.assert_array_equal(getattr(a, field.name), getattr(b, field.name))
        assert not np.array_equal(a.station_successes, c.station_successes)


def test_channel_losses_follow_the_frame_error_rate() -> None:
    """Bianchi's model with losses (a fixed window keeps tau = 2 / (W + 1)): a frame that met no other
    is lost with probability FER, and each loss costs a collision's airtime."""
    fer, window, n = 0.1, 128, np.full(20, 10)
    stats = simulate(n, window, n_slots=50_000, retry_limit=None, seed=5, world=world("lossy", frame_error_rate=fer))
    clean_attempts = stats.attempts.sum() - (stats.collisions.sum() - stats.losses.sum())
    assert stats.losses.sum() / clean_attempts == pytest.approx(fer, abs=0.005)
    tau = 2 / (window + 1)
    busy = 1 - (1 - tau) ** 10
    single = 10 * tau * (1 - tau) ** 9 / busy
    t = OFDM_54
    expected = (busy * single * (1 - fer) * t.payload_bits) / (
        (1 - busy) * t.slot_us
        + busy * single * (1 - fer) * t.success_us
        + busy * (1 - single * (1 - fer)) * t.collision_us
    )
    assert stats.throughput_mbps.mean() == pytest.approx(expected, rel=0.02)


@pytest.mark.parametrize("traffic", ["poisson", "onoff"])
def test_light_load_is_carried_and_overload_saturates(traffic: str) -> None:
    """At a tenth of the capacity every offered frame is delivered (throughput = offered load within 5%);
    at full load the network carries what a saturated one does, within 5%, and queues overflow."""
    capacity = OFDM_54.payload_bits / OFDM_54.success_us
    light = simulate(np.full(10, 10), 64, n_slots=100_000, seed=6, world=World(traffic=traffic, load=0.1))
    assert light.throughput_mbps.mean() == pytest.approx(0.1 * capacity, rel=0.05)
    assert light.overflows.sum() == 0 and light.drops.sum() == 0
    heavy = simulate(np.full(10, 10), 64, n_slots=50_000, seed=6, world=World(traffic="poisson", load=1.0))
    saturated = simulate(np.full(10, 10), 64, n_slots=50_000, seed=6)
    assert heavy.throughput_mbps.mean() == pytest.approx(saturated.throughput_mbps.mean(), rel=0.05)
    assert heavy.overflows.sum() > 0


def test_hidden_stations_collide_more_and_rts_cts_wins_it_back() -> None:
    """Stations that cannot hear each other collide at the AP more often than in one collision domain;
    with RTS/CTS a collision costs an RTS, so the throughput comes back."""
    n, window = np.full(20, 20), 64
    one_domain = simulate(n, window, n_slots=20_000, seed=7)
    hidden = simulate(n, window, n_slots=20_000, seed=7, world="hidden")
    rts = simulate(n, window, n_slots=20_000, seed=7, world="hidden_rts")
    p = {name: s.collisions.sum() / s.attempts.sum() for name, s in (("one", one_domain), ("hidden", hidden))}
    assert p["hidden"] > 1.3 * p["one"]
    assert hidden.throughput_mbps.mean() < 0.85 * one_domain.throughput_mbps.mean()
    assert rts.throughput_mbps.mean() > 1.1 * hidden.throughput_mbps.mean()


def test_slow_stations_drag_everyone_down() -> None:
    """The 802.11 performance anomaly: stations win the channel equally often whatever their rate, so a
    few slow stations take most of the airtime and the cell's throughput falls."""
    mixed = CsmaSimulator(np.full(10, 10), 64, world=world("mixed_rates", rates_mbps=(6.0, 54.0), payloads=()), seed=8)
    stats = mixed.run(50_000)
    fast = simulate(np.full(10, 10), 64, n_slots=50_000, seed=8)
    assert stats.throughput_mbps.mean() < 0.5 * fast.throughput_mbps.mean()
    slow = mixed.layout.ipar[..., 0] > mixed.layout.ipar[..., 0].min()
    share = stats.station_successes[slow].sum() / stats.station_successes.sum()
    assert share == pytest.approx(slow.mean(), abs=0.05)


def test_legacy_stations_keep_their_backoff() -> None:
    """With half the stations on legacy BEB 16..1024 and the others told W = 1024, the legacy half wins
    most of the channel; the set window reaches only the others."""
    simulator = CsmaSimulator(np.full(10, 10), 1024, world="coexistence", seed=9)
    stats = simulator.run(50_000)
    legacy = ~simulator.layout.adjustable
    assert legacy.sum() == 5 and (simulator.layout.ipar[:, legacy, 2] == 16).all()
    assert stats.station_successes[:, legacy].sum() > 3 * stats.station_successes[:, ~legacy].sum()


def test_rts_cts_exchange_times() -> None:
    vulnerable, tail = exchange_us(OFDM_54, rts_cts=False)
    assert vulnerable + tail == pytest.approx(OFDM_54.success_us)
    rts, rest = exchange_us(OFDM_54, rts_cts=True)
    assert rts < 60 and rts + rest > OFDM_54.success_us + 40


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: world("mesh"), "unknown world 'mesh'; choose one of: bianchi, unsaturated"),
        (lambda: world("hidden", range=2), "unknown world option 'range'; allowed: "),
        (lambda: World(load=1.5), r"world load must be in \[0, 1\], got 1.5"),
        (lambda: World(legacy_share=-0.1), r"world legacy_share must be in \[0, 1\], got -0.1"),
        (lambda: World(frame_error_rate=(0.3, 0.1)), r"frame_error_rate must be in \[0, 1\)"),
        (lambda: World(frame_error_rate=1.0), r"frame_error_rate must be in \[0, 1\)"),
        (lambda: World(radius=1.5), "world radius 1.5 puts stations outside the AP's range 1"),
        (lambda: World(traffic="cbr"), "world traffic 'cbr' is not allowed; choose one of: saturated, poisson, onoff"),
        (lambda: World(standard="80211b"), "world standard '80211b' is not allowed; choose one of: 80211a, 80211ax"),
        (lambda: World(ampdu_bytes=4096), "world ampdu_bytes must be 0, or positive with standard 80211ax; got 4096"),
        (lambda: world("ax_ampdu", traffic="poisson"), "80211ax runs saturated stations .* drop option 'traffic'"),
        (lambda: world("ax_ampdu", rts_cts=True), "no RTS/CTS with A-MPDUs.*drop option 'rts_cts'"),
        (lambda: simulate([5], 16, world="ax_ampdu"), "80211ax .* runs on the ns3 backend only"),
        (lambda: CsmaEnv(5, world="ax_ampdu"), "80211ax .* runs on the ns3 backend only"),
        (lambda: WorldRanges(hidden_chance=1.5), r"world ranges hidden_chance must be in \[0, 1\], got 1.5"),
        (lambda: WorldRanges(load=(0.9, 0.3)), r"world ranges load must be \(low, high\)"),
        (lambda: WorldRanges(frame_error_rate=(0.1, 1.2)), r"frame_error_rate must be in \[0, 1\)"),
        (lambda: random_worlds(0, 1), "random_worlds needs count >= 1, got 0"),
        (lambda: simulate([5], 16, world="hidden", implementation="numpy"), "the numpy reference simulates Bianchi's"),
        (lambda: simulate([5], 16, implementation="gpu"), "unknown simulator implementation 'gpu'"),
        (lambda: CsmaSimulator([5], 16, workers=0), "workers must be a positive integer, got 0"),
    ],
)
def test_bad_worlds(make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        make()


def test_every_named_world_runs() -> None:
    for name in WORLDS:
        stats = simulate([5, 20], 64, n_slots=2000, seed=0, world=name)
        assert (stats.slots == 2000).all() and (stats.throughput_mbps > 0).all(), name


def test_domain_randomisation_draws_every_departure_within_its_ranges() -> None:
    """The same seed draws the same worlds; every departure is drawn, each within its range (the
    ranges cover what they draw), and ranges that leave a departure out hold its worlds out."""
    drawn = random_worlds(200, seed=4)
    assert drawn == random_worlds(200, seed=4) and drawn != random_worlds(200, seed=5)
    ranges = WorldRanges()
    assert all(ranges.covers(w) for w in drawn)
    departures = {
        "onoff": sum(w.traffic == "onoff" for w in drawn),
        "hidden": sum(w.sensing_range is not None for w in drawn),
        "rts": sum(w.rts_cts for w in drawn),
        "lossy": sum(w.error_range[1] > 0 for w in drawn),
        "mixed": sum(bool(w.rates_mbps) for w in drawn),
        "legacy": sum(w.legacy_share > 0 for w in drawn),
    }
    assert all(count >= 10 for count in departures.values()), departures
    assert all(1.2 <= w.sensing_range <= 2.0 for w in drawn if w.sensing_range is not None)
    assert all(0.3 <= w.load <= 0.9 for w in drawn if w.traffic != "saturated")
    narrow = WorldRanges(onoff_chance=0.0, sensing_range=(1.6, 2.2), mixed_chance=0.0)
    covered = {name for name, w in NS3_WORLDS.items() if narrow.covers(w)}
    assert covered == {"bianchi", "unsaturated", "lossy", "coexistence"}
    assert all(ranges.covers(w) for name, w in WORLDS.items())
    assert not any(ranges.covers(world(name, **option)) for name, option in
                   [("bursty", {"on_ms": 5.0}), ("unsaturated", {"queue_limit": 10}), ("hidden", {"radius": 0.5})])  # fmt: skip
    for w in drawn[:20]:
        assert (simulate([5, 20], 64, n_slots=500, seed=0, world=w).throughput_mbps > 0).all(), w


def test_churn_moves_n_within_its_bounds_and_the_env_follows() -> None:
    schedule = churn(20, 200, n_min=5, n_max=30, changes_per_step=2.0, seed=1)
    values = list(schedule.values())
    assert len(schedule) > 50 and min(values) >= 5 and max(values) <= 30 and schedule[0] == 20
    assert churn(20, 200, n_min=5, n_max=30, changes_per_step=2.0, seed=1) == schedule
    env = CsmaEnv(20, n_schedule=schedule, max_stations=30, world="lossy", backend=Embedded(500))
    env.reset(seed=0)
    seen = [env.step(64)[4]["n_stations"] for _ in range(40)]
    assert seen == [env.n_stations_at(step) for step in range(40)] and len(set(seen)) > 5
    with pytest.raises(ValueError, match="churn needs 1 <= n_min <= n_start <= n_max, got 5, 40, 30"):
        churn(40, 10, n_min=5, n_max=30)


def test_the_env_runs_a_world_and_ns3_refuses_a_geometry_it_cannot_build() -> None:
    """The same seed in two worlds: channel losses show up in the measured collision probability."""
    readings = {}
    for name in ("bianchi", "lossy"):
        env = CsmaEnv(10, world=world(name, frame_error_rate=0.2) if name == "lossy" else name)
        env.reset(seed=3)
        readings[name] = np.mean([env.step(128)[0][0] for _ in range(5)])
    assert readings["lossy"] > readings["bianchi"] + 0.1
    with pytest.raises(ValueError, match="the AP reaches every station only with sensing_range >= radius"):
        CsmaEnv(10, world=world("hidden", sensing_range=0.8), backend="ns3")


def test_the_measured_oracle_finds_bianchis_optimum_and_moves_with_hidden_stations() -> None:
    """In Bianchi's world the best window of a sweep is W*(N) within a quarter octave; with hidden
    stations colliding more, it is at least twice as large."""
    window, best = measured_optimum(20, "bianchi", seeds=4, interval_slots=20_000)
    assert abs(np.log2(window / bianchi.optimal_window(20))) < 0.25
    assert best == pytest.approx(float(bianchi.throughput(20, bianchi.optimal_window(20))), rel=0.02)
    hidden, _ = measured_optimum(20, "hidden", seeds=2, interval_slots=10_000)
    assert hidden > 2 * window

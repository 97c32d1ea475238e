"""The demo street's 14,000余 sensors and their simulated reports: placed on real places, decodable through the
ingestion contract, and misbehaving on schedule so that the domain's own rules raise and clear alarms."""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
import shapely
from shapely.geometry import shape

from chengyun.adapters.payloads import decode_messages
from chengyun.domain.rules import RuleKind, SensorEvaluator, Transition, TransitionKind
from chengyun.domain.sensors import (
    KINDS,
    Reading,
    RejectCode,
    Sensor,
    SensorKind,
    WatchKind,
    sensors_from_rows,
    validate,
)
from chengyun.sim import jingansi
from chengyun.sim.sensors import (
    Fault,
    Message,
    SensorFeed,
    Timing,
    demo_components,
    demo_sensor_csv,
    demo_sensors,
    gateway_batches,
)

START = datetime(2026, 11, 25, 10, 0, tzinfo=jingansi.CST)  # a Wednesday morning


@pytest.fixture(scope="module")
def sensors() -> list[Sensor]:
    return demo_sensors()


@pytest.fixture(scope="module")
def by_id(sensors: list[Sensor]) -> dict[str, Sensor]:
    return {s.id: s for s in sensors}


@pytest.fixture(scope="module")
def feed(sensors: list[Sensor]) -> SensorFeed:
    """A feed only read through `series` (which leaves its state alone), shared by the scenario tests."""
    return SensorFeed(sensors, seed=7, start=START)


def features(kind: str) -> list[dict[str, Any]]:
    return [f for f in jingansi.places()["features"] if f["properties"]["kind"] == kind]


# --- the registry ------------------------------------------------------------------------------------------


def test_the_street_has_over_14000_sensors_of_every_kind_with_unique_readable_ids(
    sensors: list[Sensor],
) -> None:
    assert len(sensors) >= 14_000
    ids = [s.id for s in sensors]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"JAS-[A-Z]+-\d{5}", i) for i in ids)
    counts = Counter(s.kind for s in sensors)
    assert set(counts) == set(SensorKind)
    assert all(s.street == jingansi.STREET_CODE for s in sensors)
    # the kinds' defaults: units and interval untouched
    for s in sensors:
        assert dict(s.units) == {q.name: q.unit for q in KINDS[s.kind].quantities.values()}
        assert s.period == KINDS[s.kind].interval
    # 85 % of the street is historic: every historic building is watched for tilt, displacement and cracks
    historic = {f["properties"]["code"] for f in features("building") if f["properties"]["historic"]}
    watched: dict[str, set[SensorKind]] = defaultdict(set)
    for s in sensors:
        watched[s.watches].add(s.kind)
    structural = {SensorKind.TILT, SensorKind.STRUCTURAL_DISPLACEMENT, SensorKind.CRACK_WIDTH}
    assert all(structural <= watched[code] for code in historic)


def test_the_same_seed_gives_the_same_sensors_and_another_seed_moves_them_but_keeps_ids() -> None:
    a, b = demo_sensors(7), demo_sensors(11)
    assert [s.id for s in a] == [s.id for s in b]
    assert [s.location for s in a] != [s.location for s in b]


def test_every_sensor_stands_inside_the_street_and_its_building_or_near_its_component(
    sensors: list[Sensor],
) -> None:
    street = shape(features("street")[0]["geometry"])
    lon = [s.location.lon for s in sensors]
    lat = [s.location.lat for s in sensors]
    assert shapely.contains_xy(street, lon, lat).all()

    buildings = {f["properties"]["code"]: shape(f["geometry"]) for f in features("building")}
    components = {c.code: c for c in demo_components()}
    for s in sensors:
        if s.watches in buildings:
            assert buildings[s.watches].contains(shapely.Point(s.location.lon, s.location.lat)), s.id
        elif s.watch_kind is WatchKind.COMPONENT:
            assert components[s.watches].location == s.location


def test_every_sensor_watches_a_known_place_or_component_and_components_are_on_their_road(
    sensors: list[Sensor],
) -> None:
    places = {f["properties"]["code"]: f["properties"]["kind"] for f in jingansi.places()["features"]}
    components = demo_components()
    codes = [c.code for c in components]
    assert len(set(codes)) == len(codes)
    assert all(
        c.road in places and places[c.road] == "road" and c.code.startswith(c.road) for c in components
    )
    assert all(c.area is not None and places[c.area] == "area" for c in components)
    known = set(codes)
    for s in sensors:
        if s.watch_kind is WatchKind.PLACE:
            assert places.get(s.watches) in ("building", "road", "poi"), s.id
        else:
            assert s.watches in known, s.id
    on_components = {s.kind for s in sensors if s.watch_kind is WatchKind.COMPONENT}
    assert {SensorKind.MANHOLE_COVER, SensorKind.STREET_LIGHT, SensorKind.LITTER_BIN} <= on_components


def test_the_csv_export_reads_back_into_the_same_registry(sensors: list[Sensor]) -> None:
    rows = list(csv.DictReader(io.StringIO(demo_sensor_csv())))
    places = [f["properties"]["code"] for f in jingansi.places()["features"]]
    back = sensors_from_rows(rows, "JAS", places=places, components=[c.code for c in demo_components()])
    assert back == sensors


def test_structural_sensors_measure_drift_from_their_installation_reading(
    sensors: list[Sensor], feed: SensorFeed
) -> None:
    tilt = next(s for s in sensors if s.kind is SensorKind.TILT and s.id not in feed.scenario_sensor_ids())
    baselines = {r.quantity: r.baseline for r in tilt.rule_set if r.kind is RuleKind.DRIFT}
    first = feed.series(tilt.id, START + timedelta(minutes=10))[0]
    assert set(baselines) == {"tilt_x", "tilt_y"}
    for name, baseline in baselines.items():
        assert baseline is not None and abs(first.values[name] - baseline) < 0.05


# --- reports through the ingestion contract ------------------------------------------------------------------


def check(messages: Iterable[Message], by_id: dict[str, Sensor], now: datetime) -> Counter[Fault | None]:
    """Decode each message as the MQTT worker would, validate it against the registry, and check that a
    healthy one is accepted exactly as sent and a broken one rejected with its code."""
    expected_codes = {
        Fault.NOT_NUMERIC: "not_numeric",
        Fault.FUTURE_TIME: "ts_future",
        Fault.MALFORMED_JSON: "malformed_json",
    }
    seen: Counter[Fault | None] = Counter()
    for m in messages:
        seen[m.fault] += 1
        decoded, rejected = decode_messages([(m.topic, m.payload)], now)
        sensor = by_id[m.sensor_id]
        if m.fault in expected_codes:
            assert not decoded and {r.code for r in rejected} == {expected_codes[m.fault]}, m
            continue
        assert not rejected and len(decoded) == 1, m
        d = decoded[0]
        assert (d.sensor_id, d.ts, d.street) == (m.sensor_id, m.ts, "JAS")
        problems = validate(Reading(d.sensor_id, d.ts, d.values, d.units), sensor, now)
        if m.fault is Fault.UNKNOWN_QUANTITY:
            assert [p.code for p in problems] == [RejectCode.UNKNOWN_QUANTITY]
        elif m.fault is Fault.WRONG_UNIT:
            assert [p.code for p in problems] == [RejectCode.WRONG_UNIT]
        else:
            assert problems == [] and d.values == m.values, (m, problems)
    return seen


def test_five_minutes_of_reports_decode_and_validate_and_the_broken_ones_are_rejected(
    sensors: list[Sensor], by_id: dict[str, Sensor]
) -> None:
    feed = SensorFeed(sensors, seed=7, start=START)
    now = START + timedelta(minutes=5)
    messages = feed.messages(now)
    assert feed.due(now) == []  # everything due was handed out once
    assert all(m.topic == f"chengyun/JAS/sensors/{m.sensor_id}" for m in messages)
    # every 1-minute sensor reported 5 times (less any offline or broken report), slower ones fewer
    assert len(messages) > 5 * sum(1 for s in sensors if s.period == timedelta(minutes=1)) * 0.98
    seen = check(messages, by_id, now)
    broken = sum(n for fault, n in seen.items() if fault is not None)
    assert set(seen) == {None, *Fault}
    assert 0.0004 < broken / len(messages) < 0.002


def test_gateways_carry_the_same_readings_many_to_a_message(
    sensors: list[Sensor], by_id: dict[str, Sensor]
) -> None:
    messages = SensorFeed(sensors, seed=7, start=START).messages(START + timedelta(minutes=3))
    batches = gateway_batches(messages, per_message=100)
    assert len(batches) < len(messages) / 50
    decoded, rejected = decode_messages(batches, START + timedelta(minutes=3))
    got = {(d.sensor_id, d.ts): d.values for d in decoded}
    want = {(m.sensor_id, m.ts): m.values for m in messages if m.fault is None}
    assert {k: got[k] for k in want} == want
    gateway_topics = {t for t, p in batches if b'"sensor_id"' in p}
    assert all(re.fullmatch(r"chengyun/JAS/sensors/JAS-GW-A\d\d", t) for t in gateway_topics)
    codes = Counter(r.code for r in rejected)
    faults = Counter(m.fault for m in messages)
    assert codes["not_numeric"] >= faults[Fault.NOT_NUMERIC]
    assert codes["ts_future"] == faults[Fault.FUTURE_TIME]
    assert codes["malformed_json"] == faults[Fault.MALFORMED_JSON]


@pytest.mark.parametrize("hour", [10, 23])  # a busy morning with every scenario; across midnight
def test_uploads_carry_exactly_what_the_gateways_would_pack_from_the_messages(
    sensors: list[Sensor], hour: int
) -> None:
    """The simulator's cheap path (`uploads`) against the per-message one (`messages` packed by
    `gateway_batches`): the same topics, and payloads that decode to the same readings in the same order
    with the same rejections, over an hour of 5-minute rounds and a long pause (catching up)."""
    sample = sensors[::5]
    start = START.replace(hour=hour, minute=40 if hour == 23 else 0)
    timing = Timing().scaled(0.75)  # flood, offline block, stuck meter and gas leak within the hour
    reference = SensorFeed(sample, seed=7, start=start, timing=timing)
    cheap = SensorFeed(sample, seed=7, start=start, timing=timing)
    assert {s.name for s in cheap.scenarios()} == {"tilt", "flood", "offline", "stuck", "gas"}
    now, sent, faults = start, 0, Counter[Fault | None]()
    for step in [5] * 12 + [40, 5]:
        now += timedelta(minutes=step)
        messages = reference.messages(now)
        sent += len(messages)
        faults.update(m.fault for m in messages)
        want = gateway_batches(messages)
        got = cheap.uploads(now)
        assert [t for t, _ in got] == [t for t, _ in want]
        want_readings, want_rejected = decode_messages(want, now)
        got_readings, got_rejected = decode_messages(got, now)
        assert got_readings == want_readings
        assert [(r.code, r.sensor_id, r.index) for r in got_rejected] == [
            (r.code, r.sensor_id, r.index) for r in want_rejected
        ]
        assert cheap.uploads(now) == []  # everything due was handed out once
    assert cheap.reports == sent > 10_000
    assert set(faults) == {None, *Fault}


# --- rules over the simulated series -------------------------------------------------------------------------


def evaluate(
    sensors: Sequence[Sensor],
    messages: Iterable[Message],
    until: datetime,
    tick: timedelta,
    since: datetime = START,
) -> list[Transition]:
    """The domain's evaluator over decoded, valid readings in time order, with a clock tick every `tick`
    from `since` (when the evaluators start watching) to `until`."""
    evaluators = {s.id: SensorEvaluator(s.id, s.rule_set, s.period, since) for s in sensors}
    by_id = {s.id: s for s in sensors}
    pending = sorted(messages, key=lambda m: m.ts)
    out: list[Transition] = []
    now, k = since, 0
    while now <= until:
        batch = []
        while k < len(pending) and pending[k].ts <= now:
            batch.append(pending[k])
            k += 1
        decoded, _ = decode_messages([(m.topic, m.payload) for m in batch], now)
        for d in decoded:
            reading = Reading(d.sensor_id, d.ts, d.values, d.units)
            if d.sensor_id in evaluators and not validate(reading, by_id[d.sensor_id], now):
                out.extend(evaluators[d.sensor_id].observe(reading))
        for evaluator in evaluators.values():
            out.extend(evaluator.tick(now))
        now += tick
    return out


def scenario(feed: SensorFeed, name: str) -> tuple[list[Sensor], datetime, datetime | None]:
    sc = next(s for s in feed.scenarios() if s.name == name)
    assert re.search(r"[\u4e00-\u9fff]", sc.description)
    by_id = {s.id: s for s in feed.sensors}
    return [by_id[i] for i in sc.sensor_ids], sc.start, sc.end


def kinds(transitions: Iterable[Transition], rule_kind: RuleKind) -> list[TransitionKind]:
    return [t.kind for t in transitions if t.rule_kind is rule_kind]


def test_a_slowly_tilting_historic_building_raises_a_drift_alarm_without_any_jump(feed: SensorFeed) -> None:
    tilting, began, end = scenario(feed, "tilt")
    assert len(tilting) == 4 and end is None and began < START
    until = START + timedelta(hours=3)
    messages = [m for s in tilting for m in feed.series(s.id, until)]
    for s in tilting:  # no reading jumps: the rate rule (0.05°/min) never fires
        xs = [m.values["tilt_x"] for m in messages if m.sensor_id == s.id]
        assert max(abs(b - a) for a, b in itertools.pairwise(xs)) / 10 < 0.05
    transitions = evaluate(tilting, messages, until, timedelta(minutes=10))
    for s in tilting:
        mine = [t for t in transitions if t.sensor_id == s.id]
        assert [(t.rule_id, t.kind) for t in mine] == [("tilt-x-drift", TransitionKind.RAISE)], mine
        assert START + timedelta(minutes=20) <= mine[0].at <= START + timedelta(minutes=90)


def test_a_flooded_drain_raises_and_later_clears(feed: SensorFeed) -> None:
    drains, began, end = scenario(feed, "flood")
    assert drains and end is not None
    until = end + timedelta(minutes=20)
    messages = [m for s in drains for m in feed.series(s.id, until)]
    transitions = evaluate(drains, messages, until, timedelta(minutes=1))
    for s in drains:
        mine = [t for t in transitions if t.sensor_id == s.id]
        by_rule = defaultdict(list)
        for t in mine:
            by_rule[t.rule_id].append(t.kind)
            assert began <= t.at <= end + timedelta(minutes=15)
        raise_clear = [TransitionKind.RAISE, TransitionKind.CLEAR]
        assert by_rule == {
            "water-high": raise_clear,
            "water-sustained": raise_clear,
            "water-rising": raise_clear,
        }


def test_an_offline_block_raises_offline_on_the_clock_and_clears_when_it_reports_again(
    feed: SensorFeed,
) -> None:
    block, began, end = scenario(feed, "offline")
    assert end is not None and len({s.watches for s in block}) >= 3
    until = end + timedelta(minutes=15)
    tick = timedelta(minutes=1)
    messages = [m for s in block for m in feed.series(s.id, until)]
    assert not [m for m in messages if began <= m.ts < end]
    transitions = evaluate(block, messages, until, tick)
    assert {t.rule_kind for t in transitions} == {RuleKind.OFFLINE}
    raised = 0
    for s in block:
        mine = [(t.kind, t.at) for t in transitions if t.sensor_id == s.id]
        last = max((m.ts for m in messages if m.sensor_id == s.id and m.ts < began), default=START)
        # the first report after the outage (an hourly gauge may not report again before `until`)
        back = min((m.ts for m in messages if m.sensor_id == s.id and m.ts >= end), default=until)
        limit = 3 * s.period  # the default offline rule: no data within 3 × the interval
        if back - last > limit + tick:  # silent long enough to be missed: raised on a tick, cleared on return
            assert [k for k, _ in mine] == [TransitionKind.RAISE, TransitionKind.CLEAR], s
            assert last + limit < mine[0][1] <= last + limit + tick and mine[1][1] == back
            raised += 1
        elif back - last <= limit:  # e.g. a crack gauge reporting hourly does not notice
            assert mine == [], s
    assert raised >= len(block) // 2


def test_a_stuck_noise_meter_raises_stuck(feed: SensorFeed) -> None:
    stuck, _, _ = scenario(feed, "stuck")
    until = START + timedelta(hours=2, minutes=10)
    messages = feed.series(stuck[0].id, until)
    assert len({m.values["laeq"] for m in messages}) == 1
    transitions = evaluate(stuck, messages, until, timedelta(minutes=10))
    assert [(t.rule_kind, t.kind) for t in transitions] == [(RuleKind.STUCK, TransitionKind.RAISE)]


def test_a_gas_leak_in_an_old_lane_raises_red_and_orange_and_clears(feed: SensorFeed) -> None:
    gas, _began, end = scenario(feed, "gas")
    assert end is not None
    until = end + timedelta(minutes=10)
    transitions = evaluate(gas, feed.series(gas[0].id, until), until, timedelta(minutes=1))
    assert sorted((t.rule_id, t.kind.value) for t in transitions) == [
        ("gas-high", "clear"),
        ("gas-high", "raise"),
        ("gas-warn", "clear"),
        ("gas-warn", "raise"),
    ]


def test_scenario_times_follow_the_timing_and_can_be_compressed(sensors: list[Sensor]) -> None:
    quick = SensorFeed(sensors, seed=7, start=START, timing=Timing().scaled(0.5))
    normal = {s.name: s for s in SensorFeed(sensors, seed=7, start=START).scenarios()}
    assert {s.name for s in quick.scenarios()} == {"tilt", "flood", "offline", "stuck", "gas"}
    for s in quick.scenarios():
        assert s.start - START == (normal[s.name].start - START) / 2
        assert s.sensor_ids == normal[s.name].sensor_ids


def test_healthy_sensors_raise_nothing_in_an_hour(sensors: list[Sensor], by_id: dict[str, Sensor]) -> None:
    """Every tenth sensor (all kinds, ~1,480 sensors), one simulated hour from 10:00. Healthy noise is bounded
    (±3σ) and daily rhythms stay below every alarm level, so the bound is exact: no transition at all."""
    feed = SensorFeed(sensors, seed=7, start=START)
    skip = feed.scenario_sensor_ids()
    sample = [s for s in sensors[::10] if s.id not in skip]
    assert {s.kind for s in sample} == set(SensorKind)
    until = START + timedelta(hours=1)
    messages = [m for s in sample for m in feed.series(s.id, until)]
    assert evaluate(sample, messages, until, timedelta(minutes=10)) == []


def test_a_day_has_its_rhythm_and_raises_only_full_bins_late_in_the_evening(sensors: list[Sensor]) -> None:
    """Four sensors of every kind over a whole day: lights on at night, bins emptied in the morning and
    filling over the day, noise louder by day, crowds at lunch and in the evening. The only alarms a
    healthy day brings are busy bins getting full late in the evening or at night (a real job for the
    cleaners), cleared when they are emptied at 06:00."""
    midnight = datetime(2026, 11, 25, 0, 0, tzinfo=jingansi.CST)
    feed = SensorFeed(sensors, seed=7, start=midnight)
    skip = feed.scenario_sensor_ids()
    picked = [
        s for kind in SensorKind for s in [s for s in sensors if s.kind is kind and s.id not in skip][:4]
    ]
    until = midnight + timedelta(hours=24)
    messages = [m for s in picked for m in feed.series(s.id, until)]

    kind_of = {s.id: s.kind for s in picked}

    def hourly(kind: SensorKind, name: str) -> dict[int, float]:
        out: dict[int, list[float]] = defaultdict(list)
        for m in messages:
            if m.fault is None and kind_of[m.sensor_id] is kind:
                out[m.ts.astimezone(jingansi.CST).hour].append(m.values[name])
        return {h: sum(v) / len(v) for h, v in out.items()}

    light = hourly(SensorKind.STREET_LIGHT, "on")
    assert light[2] == 1 and light[12] == 0 and light[20] == 1
    fill = hourly(SensorKind.LITTER_BIN, "fill")
    assert fill[5] > fill[7] < fill[12] < fill[20]
    noise = hourly(SensorKind.NOISE, "laeq")
    assert noise[14] > noise[3] + 8
    crowd = hourly(SensorKind.CROWD_DENSITY, "density")
    assert crowd[12] > 2 * crowd[10] and crowd[19] > 2 * crowd[16] and crowd[3] < crowd[10]

    transitions = evaluate(picked, messages, until, timedelta(minutes=30), since=midnight)
    for t in transitions:
        hour = t.at.astimezone(jingansi.CST).hour
        assert t.rule_id == "bin-full", t
        assert hour >= 19 or hour < 6 if t.kind is TransitionKind.RAISE else hour == 6, t

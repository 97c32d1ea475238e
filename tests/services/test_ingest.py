"""Ingestion end to end on the real store (SQLite and PostgreSQL): readings in, rules, alarms, orders."""

from __future__ import annotations

import dataclasses
import gc
import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from chengyun.adapters.clock import ManualClock
from chengyun.adapters.db.sensors import SqlSensorRepository
from chengyun.adapters.payloads import decode_batch, decode_messages
from chengyun.bootstrap import Center
from chengyun.domain.alarms import Alarm, AlarmState
from chengyun.domain.errors import InvalidInput, Unavailable
from chengyun.domain.orders import Source
from chengyun.services.ingest import AlarmOrders, IngestService
from chengyun.services.ports import AlarmQuery, OrderQuery
from street import ADMIN, STREET, T0

SENSORS_CSV = (
    "id,kind,lon,lat,watches,watch_kind\n"
    "W1,water_level,121.4420,31.2250,B1,place\n"
    "W2,water_level,121.4470,31.2250,B2,place\n"
    "S1,smoke,121.4421,31.2251,B1,place\n"
)


def msg(sensor: str, at_minutes: float, **values: object) -> tuple[str, bytes]:
    ts = (T0 + timedelta(minutes=at_minutes)).isoformat()
    return f"chengyun/{STREET}/sensors/{sensor}", json.dumps({"ts": ts, "values": values}).encode()


@pytest.fixture
def sensors(center: Center) -> Center:
    assert center.sensors.import_csv(ADMIN, STREET, SENSORS_CSV) == 3
    return center


def test_the_registry_pages_sensors_by_watched_place_with_the_full_count(sensors: Center) -> None:
    page = sensors.sensors.find(ADMIN, STREET, watches="B1", limit=1)
    assert len(page.items) == 1 and page.total == 2  # W1 and S1 watch building B1


def test_an_id_another_street_registered_is_refused_and_each_id_is_looked_up_alone(sensors: Center) -> None:
    with sensors.uow() as uow:
        theirs = dataclasses.replace(uow.sensors.get("W1"), id="X-W9", street="X")
        uow.sensors.upsert([theirs])
        uow.commit()
    with sensors.uow() as uow:
        assert uow.sensors.owners(["W1", "X-W9", "NOPE"]) == {"W1": STREET, "X-W9": "X"}
    with pytest.raises(InvalidInput) as refused:
        sensors.sensors.import_csv(ADMIN, STREET, SENSORS_CSV + "X-W9,smoke,121.4421,31.2251,B1,place\n")
    assert refused.value.details["code"] == "sensor_id_taken" and "X-W9" in refused.value.message
    assert sensors.sensors.import_csv(ADMIN, STREET, SENSORS_CSV) == 3  # its own ids: imported again


def active_alarms(center: Center) -> list[tuple[str, str, str]]:
    items, _ = center.sensors.alarms(ADMIN, AlarmQuery(street=STREET, states=[AlarmState.RAISED]))
    return sorted((a.sensor_id, a.rule_id, a.state.value) for a in items)


def alarms_of(center: Center, rule: str) -> list[Alarm]:
    return [a for a in center.sensors.alarms(ADMIN, AlarmQuery(street=STREET))[0] if a.rule_id == rule]


def test_readings_are_stored_and_a_flood_raises_an_alarm_that_files_a_located_order(
    sensors: Center, clock: ManualClock
) -> None:
    center = sensors
    clock.set(T0 + timedelta(minutes=5))
    report = center.ingest.ingest_messages([msg("W1", i, level=v) for i, v in enumerate([2.0, 3.0, 16.0])])
    assert (report.readings, report.points, report.rejected) == (3, 3, [])
    # 16 cm is above the orange threshold, and rising 13 cm a minute is a yellow warning
    assert active_alarms(center) == [("W1", "water-high", "raised"), ("W1", "water-rising", "raised")]

    assert len(report.orders) == 1  # only orange and red alarms file orders
    order = center.orders.get(ADMIN, report.orders[0])
    assert order.source is Source.SENSOR
    assert order.category == "040104"  # 道路积水
    assert order.location.area == "A1"  # located at the sensor, routed like any order
    assert order.colour.value == "orange"
    assert "W1" in order.description and "16" in order.description
    orders = {a.rule_id: a.order_id for a in center.sensors.alarms(ADMIN, AlarmQuery(street=STREET))[0]}
    assert orders == {"water-high": order.id, "water-rising": None}

    # the latest state is readable
    _, live = center.sensors.get(ADMIN, "W1")
    assert live is not None and live.values == {"level": 16.0}
    assert live.last_ts == T0 + timedelta(minutes=2)


def test_a_batch_is_stored_sensor_by_sensor_in_id_order_each_in_its_own_order(
    sensors: Center, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The points go to the store grouped by sensor in id order (the readings table's clustering), each
    sensor's points as they came, and every one is stored; the rules still see each sensor's readings."""
    center = sensors
    clock.set(T0 + timedelta(minutes=5))
    given: list[list[tuple[str, str, int, float, str]]] = []
    add_points = SqlSensorRepository.add_points

    def spy(self: SqlSensorRepository, rows: list[tuple[str, str, int, float, str]]) -> int:
        given.append(list(rows))
        return add_points(self, rows)

    monkeypatch.setattr(SqlSensorRepository, "add_points", spy)
    batch = [
        msg("W2", 0, level=1.0),
        msg("S1", 0, obscuration=0.5),
        msg("W1", 0, level=2.0),
        msg("W2", 1, level=1.5),
        msg("W1", 1, level=3.0),
        msg("W1", 2, level=16.0),
        msg("S1", 1, obscuration=0.25),
    ]
    report = center.ingest.ingest_messages(batch)
    assert (report.readings, report.points, report.rejected) == (7, 7, [])
    [rows] = given
    assert [(r[0], r[3]) for r in rows] == [
        ("S1", 0.5),
        ("S1", 0.25),
        ("W1", 2.0),
        ("W1", 3.0),
        ("W1", 16.0),
        ("W2", 1.0),
        ("W2", 1.5),
    ]
    assert active_alarms(center) == [("W1", "water-high", "raised"), ("W1", "water-rising", "raised")]
    with center.uow() as uow:
        assert uow.sensors.reading_count(STREET) == 7


def test_an_alarm_whose_order_could_not_be_filed_gets_it_from_the_repair_once(
    sensors: Center, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The order is filed after the alarm is stored: a database lost in between leaves the alarm (and
    the acknowledged readings) without it, until the sensor worker's repair files it."""
    center = sensors
    clock.set(T0 + timedelta(minutes=2, seconds=10))  # the alarm's reading came 10 s ago
    create = center.orders.create

    def database_lost(*args: object, **kwargs: object) -> object:
        raise Unavailable("数据库暂时无法连接，请稍后重试")

    monkeypatch.setattr(center.orders, "create", database_lost)
    report = center.ingest.ingest_messages([msg("W1", i, level=v) for i, v in enumerate([2.0, 3.0, 16.0])])
    assert report.orders == []
    [high] = alarms_of(center, "water-high")
    assert high.order_id is None

    monkeypatch.setattr(center.orders, "create", create)  # the database is back
    assert center.ingest.file_missing_orders() == 0  # too fresh: the usual path may still be at it
    clock.advance(minutes=2)
    assert center.ingest.file_missing_orders() == 1
    assert center.ingest.file_missing_orders() == 0  # nothing left to file
    [high] = alarms_of(center, "water-high")
    assert high.order_id is not None
    order = center.orders.get(ADMIN, high.order_id)
    assert order.source is Source.SENSOR and order.external_id == f"alarm:{high.id}"
    assert center.orders.search(ADMIN, OrderQuery(street=STREET)).total == 1


def test_a_second_alarm_of_the_same_sensor_joins_the_order_of_the_first(
    sensors: Center, clock: ManualClock
) -> None:
    center = sensors
    clock.set(T0 + timedelta(minutes=12))
    # 35 cm: over the orange threshold at once, and red once 8 of the last 10 readings were over 30 cm
    report = center.ingest.ingest_messages([msg("W1", i, level=35.0) for i in range(10)])
    [high] = alarms_of(center, "water-high")
    [sustained] = alarms_of(center, "water-sustained")
    assert high.colour.value == "orange" and sustained.colour.value == "red"
    assert report.orders == [high.order_id] and sustained.order_id == high.order_id
    notes = [e.note or "" for e in center.orders.timeline(ADMIN, high.order_id or 0)]
    assert any(sustained.reason in n for n in notes)  # the red alarm is noted on the order


def test_a_batch_the_store_refused_is_evaluated_again_in_full_when_redelivered(
    sensors: Center, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rules ran in memory before the store failed: a worker must not keep that state, or the
    redelivered readings would look already seen and the alarm they raise would never be stored."""
    center = sensors
    clock.set(T0 + timedelta(minutes=12))
    center.ingest.ingest_messages([msg("W1", i, level=35.0) for i in range(5)])
    failing = [msg("W1", i, level=35.0) for i in range(5, 8)]  # the 8th reading over 30 cm: red
    original = SqlSensorRepository.add_points

    def refuse(self: SqlSensorRepository, rows: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(SqlSensorRepository, "add_points", refuse)
    with pytest.raises(RuntimeError):
        center.ingest.ingest_messages(failing)
    assert alarms_of(center, "water-sustained") == []
    monkeypatch.setattr(SqlSensorRepository, "add_points", original)
    center.ingest.ingest_messages(failing)  # the broker delivers the unacknowledged batch again
    [sustained] = alarms_of(center, "water-sustained")
    assert sustained.colour.value == "red"


def test_a_redelivered_batch_stores_nothing_twice_and_raises_nothing_again(
    sensors: Center, clock: ManualClock
) -> None:
    center = sensors
    clock.set(T0 + timedelta(minutes=5))
    batch = [msg("W1", i, level=v) for i, v in enumerate([2.0, 16.0, 17.0])]
    first = center.ingest.ingest_messages(batch)
    alarms = center.sensors.alarms(ADMIN, AlarmQuery(street=STREET))[0]
    again = center.ingest.ingest_messages(batch)  # the broker redelivers after a crash
    assert (first.points, again.points) == (3, 0)
    assert len(first.orders) == 1
    assert again.readings == 3 and again.events == [] and again.orders == []
    assert center.sensors.alarms(ADMIN, AlarmQuery(street=STREET))[0] == alarms
    with center.uow() as uow:
        assert uow.sensors.reading_count(STREET) == 3


def test_a_flapping_sensor_raises_one_alarm_and_the_clear_reaches_the_order(
    sensors: Center, clock: ManualClock
) -> None:
    center = sensors
    levels = [16.0, 9.0, 16.0, 9.0, 16.0, 9.0]  # in and out around the threshold every minute
    clock.set(T0 + timedelta(minutes=6))
    center.ingest.ingest_messages([msg("W1", i, level=v) for i, v in enumerate(levels)])
    items = alarms_of(center, "water-high")
    assert len(items) == 1 and items[0].flaps >= 2 and items[0].state is AlarmState.RAISED
    order_id = items[0].order_id
    assert order_id is not None

    # calm for longer than the clear hold: the sweep clears the alarm and tells the order
    clock.set(T0 + timedelta(minutes=20))
    center.ingest.ingest_messages([msg("W1", 6 + i, level=5.0) for i in range(10)])
    center.ingest.sweep()
    [alarm] = alarms_of(center, "water-high")
    assert alarm.state is AlarmState.CLEARED_UNACKNOWLEDGED
    notes = [e.note for e in center.orders.timeline(ADMIN, order_id) if e.note]
    assert any("告警解除" in n for n in notes)


def test_bad_readings_go_to_the_dead_letter_log_with_a_reason_and_the_good_ones_are_kept(
    sensors: Center, clock: ManualClock
) -> None:
    center = sensors
    clock.set(T0 + timedelta(minutes=5))
    topic = f"chengyun/{STREET}/sensors/W1"
    batch = [
        msg("W1", 0, level=3.0),
        msg("NOPE", 0, level=3.0),  # not registered
        msg("W1", 1, depth=3.0),  # the sensor has no such quantity
        msg("W1", 2, level=5000.0),  # outside the physical range
        msg("W1", 60 * 24, level=3.0),  # a day in the future
        (topic, b'{"ts": 1, "values": '),  # broken JSON
        (topic, b'{"ts": "2026-11-25T09:01:00+08:00", "values": {"level": "high"}}'),
        (f"chengyun/{STREET}/other/W1", b"{}"),  # wrong topic
    ]
    report = center.ingest.ingest_messages(batch)
    assert report.readings == 1
    codes = sorted(r.code for r in report.rejected)
    assert codes == sorted(
        [
            "unknown_sensor",
            "unknown_quantity",
            "out_of_range",
            "ts_future",
            "malformed_json",
            "not_numeric",
            "bad_topic",
        ]
    )
    # the street's operators read every letter whose topic named their street (all but the bad topic)
    page = center.sensors.dead_letters(ADMIN, STREET)
    assert page.total == 6 and sum(page.counts.values()) == 6
    assert page.counts["unknown_sensor"] == 1
    assert all(d.reason and d.source == "mqtt" for d in page.items)
    [future] = [d for d in page.items if d.code == "ts_future"]
    assert future.sensor_id == "W1" and "晚于当前时间" in future.reason


def test_an_http_batch_from_a_gateway_in_senml(sensors: Center, clock: ManualClock) -> None:
    center = sensors
    clock.set(T0 + timedelta(minutes=5))
    base = T0.timestamp()
    senml = [
        {"bn": "W2:", "bt": base, "n": "level", "u": "cm", "v": 3.5},
        {"n": "level", "u": "cm", "v": 4.0, "t": 60},
        {"bn": "S1:", "n": "obscuration", "u": "%/m", "v": 0.1, "t": 0},
    ]
    report = center.ingest.ingest_body(json.dumps(senml).encode(), frozenset({STREET}))
    assert report.rejected == [] and report.readings == 3
    # a gateway limited to another street feeds none of these sensors
    other = center.ingest.ingest_body(json.dumps(senml).encode(), frozenset({"ELSEWHERE"}))
    assert other.readings == 0 and {r.code for r in other.rejected} == {"unknown_sensor"}


def test_a_sensor_that_never_reports_goes_offline_on_the_sweep_and_back_online_with_data(
    sensors: Center, clock: ManualClock
) -> None:
    center = sensors
    clock.set(T0)
    center.ingest.sweep()
    assert active_alarms(center) == []
    clock.set(T0 + timedelta(minutes=4))  # water sensors report every minute; offline after 3
    center.ingest.sweep()
    offline = active_alarms(center)
    assert ("W1", "offline", "raised") in offline and ("S1", "offline", "raised") in offline
    center.ingest.ingest_messages([msg("W1", m, level=2.0) for m in range(4, 10)])  # reporting again
    clock.set(T0 + timedelta(minutes=10))
    center.ingest.sweep()
    items, _ = center.sensors.alarms(ADMIN, AlarmQuery(street=STREET, sensor_id="W1"))
    assert [a.state for a in items] == [AlarmState.CLEARED_UNACKNOWLEDGED]


def test_two_workers_splitting_one_stream_evaluate_like_one(sensors: Center, clock: ManualClock) -> None:
    """MQTT shared subscriptions hand alternate messages to different workers: the rule state lives in
    the store, so a sustained rule (8 of 10 above 30 cm) still sees every reading."""
    center = sensors
    other = IngestService(center.uow, clock, decode_messages, decode_batch, orders=AlarmOrders(center.orders))
    assert other.warm() == 3  # every registered sensor's state, loaded before the stream starts
    clock.set(T0 + timedelta(minutes=15))
    workers = [center.ingest, other]
    for i in range(10):
        workers[i % 2].ingest_messages([msg("W1", i, level=35.0)])
    rules = {rule for _, rule, _ in active_alarms(center)}
    assert "water-sustained" in rules  # each worker alone saw only 5 of the 10


def test_acknowledging_an_alarm(sensors: Center, clock: ManualClock) -> None:
    center = sensors
    clock.set(T0 + timedelta(minutes=5))
    center.ingest.ingest_messages([msg("S1", i, obscuration=9.0) for i in range(3)])
    alarm = center.sensors.alarms(ADMIN, AlarmQuery(street=STREET))[0][0]
    assert alarm.id is not None
    done = center.sensors.acknowledge(ADMIN, alarm.id)
    assert done.state is AlarmState.ACKNOWLEDGED and done.acknowledged_by == ADMIN.name
    _, history = center.sensors.alarm(ADMIN, alarm.id)
    assert [h.kind for h in history] == ["raised", "acknowledged"]


def test_roll_ups_and_retention(sensors: Center, clock: ManualClock) -> None:
    center = sensors
    clock.set(T0 + timedelta(minutes=5))
    center.ingest.ingest_messages([msg("W1", i / 2, level=float(i)) for i in range(6)])  # 3 minutes
    center.ingest.roll_up()
    minutes = center.sensors.series(ADMIN, "W1", "level", T0, T0 + timedelta(minutes=5), "1m")
    assert [(p.count, p.minimum, p.maximum, p.mean) for p in minutes] == [
        (2, 0.0, 1.0, 0.5),
        (2, 2.0, 3.0, 2.5),
        (2, 4.0, 5.0, 4.5),
    ]
    hours = center.sensors.series(ADMIN, "W1", "level", T0, T0 + timedelta(hours=1), "1h")
    assert [(p.count, p.mean) for p in hours] == [(6, 2.5)]
    clock.set(T0 + timedelta(days=40))
    assert center.ingest.purge(timedelta(days=30)) >= 6
    raw = center.sensors.series(ADMIN, "W1", "level", T0, T0 + timedelta(hours=1), "raw")
    assert raw == []
    assert center.sensors.series(ADMIN, "W1", "level", T0, T0 + timedelta(hours=1), "1h") != []


def test_a_payload_with_nul_characters_is_logged_as_a_dead_letter_and_spoils_nothing_else(
    sensors: Center, clock: ManualClock
) -> None:
    """PostgreSQL cannot store NUL in text: the letter keeps a visible stand-in instead of failing the
    whole batch (which the broker would redeliver for ever)."""
    center = sensors
    clock.set(T0 + timedelta(minutes=5))
    batch = [
        (f"chengyun/{STREET}/sensors/W1", b"\x00\x00"),
        (f"chengyun/{STREET}/sensors/W\x001", b'{"ts": 1, "values": {"level": 1}}'),
        msg("W1", 0, level=3.0),
    ]
    report = center.ingest.ingest_messages(batch)
    assert report.readings == 1
    assert len(report.rejected) == 2
    letters = center.sensors.dead_letters(ADMIN, STREET).items
    assert len(letters) == 2
    assert all("\x00" not in (d.excerpt + (d.sensor_id or "") + (d.topic or "")) for d in letters)
    assert any("\\u0000" in d.excerpt for d in letters)


def test_batches_arriving_together_after_an_import_load_the_registry_once(
    sensors: Center, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a start or an import every batch in flight needs the registry: one loads it, the rest wait
    for it, instead of each thread loading every street's sensors at once."""
    loads: list[int] = []
    original = SqlSensorRepository.list

    def slow_list(self: SqlSensorRepository, *args: Any, **kwargs: Any) -> Any:
        loads.append(1)
        time.sleep(0.2)  # a district's registry takes seconds to load: let the batches pile up
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SqlSensorRepository, "list", slow_list)
    sensors.ingest.forget_registry()
    with ThreadPoolExecutor(max_workers=8) as pool:
        registries = list(pool.map(lambda _: sensors.ingest.sensors(), range(8)))
    assert len(loads) == 1
    assert all(sorted(r) == ["S1", "W1", "W2"] for r in registries)


def test_a_batch_is_gone_before_the_garbage_collector_resumes(sensors: Center, clock: ManualClock) -> None:
    """The collector is paused while a batch is ingested; its thousands of decoded readings are freed
    before it resumes, so the first collection after the batch has none of them to walk (it used to walk
    them all: about 4 % of the CPU per point of a gateway stream)."""
    clock.set(T0 + timedelta(hours=3))
    items = [
        {"sensor_id": s, "ts": (T0 + timedelta(seconds=6 * k)).isoformat(), "values": {"level": 1.0}}
        for k in range(1500)
        for s in ("W1", "W2")
    ]
    gateway = (f"chengyun/{STREET}/sensors/GW", json.dumps(items).encode())
    young: list[int] = []  # the objects in the young generation as each collection starts

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            young.append(len(gc.get_objects(generation=0)))

    # The first batch loads the registry, the sensors' states and the store's prepared statements:
    # those stay. Readings of a batch are all gone afterwards.
    sensors.ingest.ingest_messages([msg("W1", -1, level=1.0), msg("W2", -1, level=1.0)])
    gc.collect()
    gc.callbacks.append(watch)
    try:
        report = sensors.ingest.ingest_messages([gateway])
        allocated = [[] for _ in range(3 * gc.get_threshold()[0])]  # enough for the next collections
    finally:
        gc.callbacks.remove(watch)
    assert report.points == 3000 and len(allocated) > 0
    assert young, "no collection ran after the batch"
    assert max(young) <= gc.get_threshold()[0] + 200  # the lists above, and a few of the batch's own

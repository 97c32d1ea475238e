"""Live state saved every N seconds (`IngestService(state_every=N)`, CHENGYUN_SENSOR_STATE_SAVE_S) instead of
after every batch: the same alarms, a clean stop saves what memory held, a crash loses rule state but never
a reading, and a registry reload keeps what memory held."""

from __future__ import annotations

import random
from dataclasses import asdict, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from chengyun.adapters.clock import ManualClock
from chengyun.adapters.payloads import decode_batch, decode_messages
from chengyun.bootstrap import Center, build
from chengyun.domain.alarms import AlarmEvent
from chengyun.services.ingest import IngestService
from chengyun.services.ports import AlarmQuery, SensorLive
from chengyun.settings import Settings
from services.test_ingest import SENSORS_CSV, alarms_of, msg
from street import ADMIN, STREET, T0

HOUR = 3600.0


def _service(center: Center, clock: ManualClock, every: float) -> IngestService:
    service = IngestService(center.uow, clock, decode_messages, decode_batch, state_every=every)
    service.warm()
    return service


def _seen(events: list[AlarmEvent]) -> list[tuple[Any, ...]]:
    return [
        (e.kind, e.at, e.rule_id, e.colour, e.state, e.message.replace("W2", "W1").replace("B2", "B1"))
        for e in events
    ]


def _alarms(center: Center, sensor_id: str) -> list[tuple[Any, ...]]:
    items, _ = center.sensors.alarms(ADMIN, AlarmQuery(street=STREET, sensor_id=sensor_id))
    return sorted(
        (a.rule_id, a.state, a.colour, a.raised_at, a.last_raised_at, a.clear_pending_since, a.value, a.flaps)
        for a in items
    )


def _stored_last(center: Center, sensor_id: str) -> Any:
    with center.uow() as uow:
        return uow.sensors.live([sensor_id], lock=False)[sensor_id].last_ts


def test_saving_the_live_state_every_hour_raises_exactly_the_alarms_of_saving_every_batch(
    center: Center, clock: ManualClock
) -> None:
    """W1 through a service saving after every batch, W2 (the same readings) through one saving at most
    once an hour: every alarm event is the same, in the same order."""
    assert center.sensors.import_csv(ADMIN, STREET, SENSORS_CSV) == 3
    clock.set(T0 + timedelta(hours=3))
    every_batch, hourly = _service(center, clock, 0.0), _service(center, clock, HOUR)
    rng = random.Random(7)
    levels = [rng.choice([1.0, 9.0, 12.0, 16.0, 31.0, 40.0]) for _ in range(150)]
    got: dict[str, list[AlarmEvent]] = {"W1": [], "W2": []}
    start = 0
    while start < len(levels):
        size = rng.randint(1, 12)
        for sensor, service in (("W1", every_batch), ("W2", hourly)):
            batch = [msg(sensor, m, level=levels[m]) for m in range(start, min(start + size, len(levels)))]
            got[sensor] += service.ingest_messages(batch).events
        start += size
    assert _seen(got["W2"]) == _seen(got["W1"])
    # and every alarm ends the same: state, times, flaps (each raise and clear of the rules counted)
    stored = {s: _alarms(center, s) for s in ("W1", "W2")}
    assert sum(a[-1] for a in stored["W1"]) >= 20  # the series does flip the rules, many times
    assert stored["W2"] == stored["W1"]
    assert _stored_last(center, "W2") < _stored_last(center, "W1")  # W2's newest state is in memory only
    assert hourly.save_state() == 1
    assert _stored_last(center, "W2") == _stored_last(center, "W1") == T0 + timedelta(minutes=149)


def test_a_clean_stop_saves_the_state_held_in_memory_and_a_restart_goes_on_from_it(
    center: Center, clock: ManualClock
) -> None:
    assert center.sensors.import_csv(ADMIN, STREET, SENSORS_CSV) == 3
    clock.set(T0 + timedelta(minutes=12))
    worker = _service(center, clock, HOUR)
    for m in range(5):  # five readings over 30 cm, one batch each: only the first batch's state is saved
        worker.ingest_messages([msg("W1", m, level=35.0)])
    assert _stored_last(center, "W1") == T0
    worker.save_state()  # what Center.stop does
    assert _stored_last(center, "W1") == T0 + timedelta(minutes=4)

    restarted = _service(center, clock, HOUR)
    restarted.ingest_messages([msg("W1", m, level=35.0) for m in range(5, 7)])
    assert alarms_of(center, "water-sustained") == []  # 7 of 10 over 30 cm
    restarted.ingest_messages([msg("W1", 7, level=35.0)])
    [sustained] = alarms_of(center, "water-sustained")  # the 8th: red, counting the ones before the stop
    assert sustained.colour.value == "red"


def test_a_crash_loses_the_unsaved_rule_state_but_never_a_reading(center: Center, clock: ManualClock) -> None:
    assert center.sensors.import_csv(ADMIN, STREET, SENSORS_CSV) == 3
    clock.set(T0 + timedelta(minutes=30))
    worker = _service(center, clock, HOUR)
    for m in range(5):
        worker.ingest_messages([msg("W1", m, level=35.0)])
    # the process dies here: no save_state
    with center.uow() as uow:
        assert uow.sensors.reading_count(STREET) == 5  # every acknowledged reading is stored
    assert _stored_last(center, "W1") == T0  # the rules' state as of the first batch

    restarted = _service(center, clock, HOUR)
    for m in range(5, 8):
        restarted.ingest_messages([msg("W1", m, level=35.0)])
    # what was lost: the sustained rule counts 4 over 30 cm since the saved state, not 8 (no alarm yet)
    assert alarms_of(center, "water-sustained") == []
    for m in range(8, 12):
        restarted.ingest_messages([msg("W1", m, level=35.0)])
    [sustained] = alarms_of(center, "water-sustained")  # 8 of the readings it saw: raised, 4 late
    assert sustained.colour.value == "red"


def test_a_registry_reload_keeps_the_state_held_in_memory(center: Center, clock: ManualClock) -> None:
    assert center.sensors.import_csv(ADMIN, STREET, SENSORS_CSV) == 3
    clock.set(T0 + timedelta(minutes=12))
    worker = _service(center, clock, HOUR)
    for m in range(5):
        worker.ingest_messages([msg("W1", m, level=35.0)])
    more = SENSORS_CSV + "W3,water_level,121.4430,31.2252,B1,place\n"
    assert center.sensors.import_csv(ADMIN, STREET, more) == 4  # the registry stamp moves
    worker.forget_registry()  # (its 1-second check, at once)
    for m in range(5, 8):
        worker.ingest_messages([msg("W1", m, level=35.0)])
    [sustained] = alarms_of(center, "water-sustained")  # all 8 readings counted
    assert sustained.colour.value == "red"


def test_the_save_interval_is_read_from_the_environment() -> None:
    base = {"CHENGYUN_DATABASE_URL": "sqlite://"}
    assert Settings.from_env(base).sensor_state_save_s == 0.0
    assert Settings.from_env({**base, "CHENGYUN_SENSOR_STATE_SAVE_S": "5"}).sensor_state_save_s == 5.0
    for bad in ("-1", "soon", "7200"):
        try:
            Settings.from_env({**base, "CHENGYUN_SENSOR_STATE_SAVE_S": bad})
        except SystemExit as exc:
            assert "CHENGYUN_SENSOR_STATE_SAVE_S" in str(exc)
        else:
            raise AssertionError(bad)


def test_a_leased_save_copies_every_field_of_the_live_state_but_the_later_check() -> None:
    # Every field set to something other than its default, so a field the copy forgot would show.
    live = SensorLive("S1", STREET, T0, {"level": 1.5}, {"high": {"active": True}}, T0, 7)
    later = live.checked_later(timedelta(seconds=5))
    assert later.check_at == T0 + timedelta(seconds=5)
    assert asdict(later) == asdict(live) | {"check_at": T0 + timedelta(seconds=5)}
    assert live.check_at == T0  # the cached state itself is not moved


def test_the_mqtt_topics_a_worker_takes_are_read_from_the_environment(tmp_path: Path) -> None:
    base = {
        "CHENGYUN_DATABASE_URL": f"sqlite:///{tmp_path / 'topic.db'}",
        "CHENGYUN_MQTT_URL": "mqtt://127.0.0.1:1",
    }
    assert Settings.from_env(base).mqtt_topic == "chengyun/+/sensors/+"
    settings = Settings.from_env({**base, "CHENGYUN_MQTT_TOPIC": "chengyun/JAS/sensors/+"})
    center = build(replace(settings, run_worker=False))
    try:
        assert center.mqtt is not None
        assert center.mqtt.config.subscription == "$share/chengyun/chengyun/JAS/sensors/+"
    finally:
        center.stop()


def _offline_events(events: list[AlarmEvent], sensor_id: str) -> list[tuple[str, Any]]:
    return [(e.kind.value, e.at) for e in events if e.rule_id == "offline" and e.sensor_id == sensor_id]


@pytest.mark.parametrize("every", [0.0, HOUR])
def test_the_sweep_raises_offline_alarms_at_the_same_minute_when_the_state_is_held_in_memory(
    center: Center, clock: ManualClock, every: float
) -> None:
    """A water gauge (every minute, offline after 3) whose gateway uploads every 5 minutes, then once
    more, then never again; a sweep every minute. Held in memory for an hour, its state's stored check
    time is not the true one (older, or none while its offline alarm stood), and the sweep goes by
    memory's: the same offline alarm events at the same minutes as when every batch saves the state."""
    assert center.sensors.import_csv(ADMIN, STREET, SENSORS_CSV) == 3
    events: list[AlarmEvent] = []
    service = IngestService(
        center.uow, clock, decode_messages, decode_batch, publish=events.extend, state_every=every
    )
    service.warm()
    uploads = {5: range(0, 5), 10: range(5, 10), 15: [14]}
    for minute in range(5, 45):
        clock.set(T0 + timedelta(minutes=minute))
        if minute in uploads:
            service.ingest_messages([msg("W1", m, level=2.0) for m in uploads[minute]])
        service.sweep()
    # quiet after :04 (heard at :10), after :09, and after :14 for good: offline again from :18, so the
    # clear that the :14 reading began never completes
    assert _offline_events(events, "W1") == [
        ("raised", T0 + timedelta(minutes=8)),
        ("cleared", T0 + timedelta(minutes=10)),
        ("reopened", T0 + timedelta(minutes=13)),
    ]
    [offline] = [a for a in alarms_of(center, "offline") if a.sensor_id == "W1"]
    assert offline.state.active and offline.clear_pending_since is None
    service.save_state()
    assert _stored_check(center, "W1") is None  # standing offline: no check due


def test_a_clean_stop_stores_the_true_check_time_of_a_state_saved_with_the_hold_added(
    center: Center, clock: ManualClock
) -> None:
    """A state saved by a batch while states are held is stored with its check time an hour on (so the
    sweep does not claim it again and again); the clean stop stores the true one, and a restarted
    service that saves every batch raises the offline alarm when it is due."""
    assert center.sensors.import_csv(ADMIN, STREET, SENSORS_CSV) == 3
    clock.set(T0 + timedelta(minutes=5))
    worker = _service(center, clock, HOUR)
    worker.ingest_messages([msg("W1", m, level=2.0) for m in range(5)])
    assert _stored_check(center, "W1") == T0 + timedelta(minutes=4 + 3) + timedelta(hours=1)
    clock.set(T0 + timedelta(minutes=10))
    worker.ingest_messages([msg("W1", m, level=2.0) for m in range(5, 10)])  # held: not saved
    assert _stored_check(center, "W1") == T0 + timedelta(minutes=4 + 3) + timedelta(hours=1)
    assert worker.save_state() == 1  # what Center.stop does
    assert _stored_check(center, "W1") == T0 + timedelta(minutes=9 + 3)

    restarted = _service(center, clock, 0.0)
    clock.set(T0 + timedelta(minutes=13))
    restarted.sweep()
    [offline] = [a for a in alarms_of(center, "offline") if a.sensor_id == "W1"]
    assert offline.raised_at == T0 + timedelta(minutes=13)


def _stored_check(center: Center, sensor_id: str) -> Any:
    with center.uow() as uow:
        return uow.sensors.live([sensor_id], lock=False)[sensor_id].check_at

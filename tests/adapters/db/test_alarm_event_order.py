"""Alarm events become visible in id order on PostgreSQL: a live feed reading "ids above the last one
seen" never skips an event whose transaction committed after a later one's."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from chengyun.adapters.db.engine import make_engine
from chengyun.adapters.db.uow import SqlUnitOfWork
from chengyun.domain.alarms import Alarm, AlarmPolicy
from chengyun.domain.geo import Point
from chengyun.domain.rules import RuleKind, Transition, TransitionKind
from chengyun.domain.sensors import Sensor, SensorKind
from chengyun.domain.severity import Colour
from throwaway import wait_for

pytestmark = pytest.mark.postgres

T = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


def raised(sensor_id: str) -> Alarm:
    sensor = Sensor(sensor_id, "JAS", SensorKind.TILT, Point(121.45, 31.22), "B-001")
    transition = Transition(
        sensor_id, "r", RuleKind.THRESHOLD, TransitionKind.RAISE, T, Colour.ORANGE, "倾角超限", 2.5
    )
    alarm = Alarm.open(transition, sensor)
    alarm.raised(AlarmPolicy())
    return alarm


WAITING_ON_ADVISORY_LOCK = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")


def test_a_second_writer_of_alarm_events_waits_for_the_first_to_commit(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    done = threading.Event()

    def second_writer() -> None:
        with SqlUnitOfWork(engine) as uow:
            uow.sensors.save_alarms([raised("S-2")])
            uow.commit()
        done.set()

    try:
        with SqlUnitOfWork(engine) as first:
            first.sensors.save_alarms([raised("S-1")])  # its event has the lower id
            writer = threading.Thread(target=second_writer)
            writer.start()
            with engine.connect() as probe:
                wait_for(
                    lambda: done.is_set() or probe.execute(WAITING_ON_ADVISORY_LOCK).scalar_one() > 0,
                    "the second writer to finish or to wait",
                )
                assert not done.is_set(), "a later event id was committed while an earlier one was not"
                assert probe.execute(text("SELECT count(*) FROM alarm_events")).scalar_one() == 0
            first.commit()
        writer.join(10)
        assert done.is_set()
        with engine.connect() as probe:
            sensors = probe.execute(
                text(
                    "SELECT a.sensor_id FROM alarm_events e JOIN alarms a ON a.id = e.alarm_id ORDER BY e.id"
                )
            ).scalars()
            assert list(sensors) == ["S-1", "S-2"]
    finally:
        engine.dispose()

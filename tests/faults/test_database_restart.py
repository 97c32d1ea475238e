"""PostgreSQL restarted under load (`chengyun serve --workers 2`): while it is down callers get a
retriable 503 with Retry-After and a Chinese message, never a 500; the service recovers by itself;
every acknowledged order is stored once; the deadline worker fires what came due meanwhile, once; the
sensor worker carries on sweeping; the MQTT ingestion stores every reading published meanwhile, once."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from apikit import TILE
from callers import Callers, stored
from chengyun.adapters.mqtt import MqttPublisher
from chengyun.bootstrap import build
from chengyun.settings import Settings
from district import TOKEN, District
from street import ADMIN, STREET
from throwaway import Broker, running_broker, wait_for

AUTH = {"Authorization": f"Bearer {TOKEN}"}

# Orders whose response deadline (5 minutes after receipt) passed a minute ago or more, and that have
# no overdue notice for it.
LATE_WITHOUT_NOTICE = text(
    """
    SELECT o.id FROM orders o
    WHERE o.received_at < :now - interval '6 minutes'
      AND NOT EXISTS (
        SELECT 1 FROM timeline t
        WHERE t.order_id = o.id AND t.kind = 'deadline_overdue' AND t.data->>'stage' = 'respond')
    """
)
# Any warning, overdue notice or escalation recorded twice.
FIRED_TWICE = text(
    """
    SELECT order_id, kind, data->>'stage', data->>'rung', count(*) FROM timeline
    WHERE kind IN ('deadline_warning', 'deadline_overdue', 'escalated')
    GROUP BY 1, 2, 3, 4 HAVING count(*) > 1
    """
)


def server_now(district: District) -> datetime:
    return datetime.fromisoformat(httpx.get(f"{district.server.url}/api/v1/health", timeout=5).json()["time"])


def test_a_postgresql_restart_under_load_costs_retriable_503s_and_loses_nothing_acknowledged(
    district: District,
) -> None:
    serve = district.server
    with Callers(serve.url, TOKEN, TILE | {"street": "T"}, "pg") as callers:
        wait_for(lambda: callers.acknowledged() >= 20, "orders before the restart")
        district.cluster.stop("fast")  # every session ended; connections refused until it is back
        time.sleep(1.5)
        district.cluster.start()
        before = callers.acknowledged()
        wait_for(lambda: callers.acknowledged() >= before + 20, "orders after the restart", 60)
    tally = callers.tally
    assert tally.failures == []
    assert tally.server_errors == []  # no 500: every failure was a proper 503
    assert tally.statuses[503] > 0, "no request met the database down"
    assert all(int(seconds) >= 1 for seconds in tally.retry_after)
    with district.engine.connect() as connection:
        orders = stored(connection, "pg")
    assert len(orders) == len(dict(orders))
    assert dict(orders) == tally.acknowledged

    # The deadline worker lived through it: what came due while the database was down fires, once.
    def overdue_all_noticed() -> bool:
        with district.engine.connect() as connection:
            return not connection.execute(LATE_WITHOUT_NOTICE, {"now": server_now(district)}).all()

    wait_for(overdue_all_noticed, "overdue notices of the orders created around the restart", 60)
    with district.engine.connect() as connection:
        assert connection.execute(FIRED_TWICE).all() == []

    # So did the sensor worker: a gauge registered now and never heard from is found offline.
    registered = httpx.put(
        f"{serve.url}/api/v1/sensors/csv?street=T",
        content="id,kind,lon,lat,watches,interval_s\nPG-W1,water_level,121.4420,31.2250,B1,60\n",
        headers=AUTH | {"Content-Type": "text/csv"},
        timeout=10,
    )
    assert registered.status_code == 200, registered.text

    def offline_alarm() -> bool:
        alarms = httpx.get(f"{serve.url}/api/v1/alarms?sensor_id=PG-W1", headers=AUTH, timeout=5).json()
        return any(a["rule_id"] == "offline" for a in alarms["items"])

    wait_for(offline_alarm, "the silent gauge's offline alarm", 30)


@pytest.fixture
def broker() -> Iterator[Broker]:
    with running_broker(persistence=False) as broker:
        yield broker


def test_readings_published_while_postgresql_restarts_are_all_stored_once(
    district: District, broker: Broker
) -> None:
    """The MQTT ingestion acknowledges a message only once its batch is stored: a batch that meets the
    database down is retried until it is, and nothing the broker handed over is lost."""
    group = uuid.uuid4().hex[:8]
    settings = Settings(
        database_url=district.url,
        mqtt_url=broker.url,
        mqtt_client_id=f"pg-{group}",
        mqtt_group=group,
        run_worker=False,
    )
    center = build(settings, migrate=False)
    gauges = [f"PG-G{i}" for i in range(5)]
    rows = "".join(f"{g},water_level,121.4420,31.2250,B1,60\n" for g in gauges)
    center.sensors.import_csv(ADMIN, STREET, "id,kind,lon,lat,watches,interval_s\n" + rows)
    start = datetime.now(UTC) - timedelta(minutes=20)
    stream = [
        (
            f"chengyun/{STREET}/sensors/{g}",
            json.dumps({"ts": (start + timedelta(seconds=k)).timestamp(), "values": {"level": 1.0}}).encode(),
        )
        for k in range(200)
        for g in gauges
    ]
    center.start()
    assert center.mqtt is not None and center.mqtt.wait_connected(15)
    try:
        with MqttPublisher(broker.url) as publisher:
            for n in range(0, len(stream), 50):
                publisher.publish_many(stream[n : n + 50])  # the broker has them: QoS 1
                if n == 300:
                    district.cluster.stop("fast")
                if n == 600:
                    district.cluster.start()
                time.sleep(0.05)

        def all_stored() -> bool:
            with district.engine.connect() as connection:
                found = connection.execute(
                    text("SELECT count(*) FROM readings WHERE sensor_id LIKE 'PG-G%'")
                ).scalar_one()
            return int(found) >= len(stream)

        wait_for(all_stored, "every reading published around the restart", 60)
        with district.engine.connect() as connection:
            per_gauge = dict(
                connection.execute(
                    text("SELECT sensor_id, count(*) FROM readings WHERE sensor_id LIKE 'PG-G%' GROUP BY 1")
                ).all()
            )
        assert per_gauge == {g: 200 for g in gauges}
        assert center.mqtt.stats()["sink_failures"] > 0, "no batch met the database down"
    finally:
        center.stop()

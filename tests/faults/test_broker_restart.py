"""The MQTT broker restarted: ingestion resumes by itself, what was published meanwhile is stored, and
the gap is reported as offline alarms only for the sensor that really stopped reporting, not for every
sensor the center could not hear while the broker was away."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from chengyun.adapters.clock import ManualClock
from chengyun.adapters.mqtt import MqttPublisher
from chengyun.bootstrap import Center, build
from chengyun.domain.alarms import AlarmState
from chengyun.services.ports import AlarmQuery
from chengyun.settings import Settings
from district import street_database
from street import ADMIN, STREET
from throwaway import Broker, PostgresCluster, running_broker, wait_for

GAUGES = ["BR-W1", "BR-W2", "BR-W3", "BR-W4"]  # water levels reporting every minute: offline after 3


@pytest.fixture
def broker() -> Iterator[Broker]:
    with running_broker(persistence=True) as broker:  # sessions and queued messages survive a restart
        yield broker


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def center(own_postgres: PostgresCluster, broker: Broker, clock: ManualClock) -> Iterator[Center]:
    """An MQTT-fed center whose sensor sweeps the test runs itself, on its own clock."""
    group = uuid.uuid4().hex[:8]
    settings = Settings(
        database_url=street_database(own_postgres),
        mqtt_url=broker.url,
        mqtt_client_id=f"faults-{group}",
        mqtt_group=group,
        run_worker=False,
    )
    center = build(settings, clock=clock, migrate=False)
    rows = [f"{g},water_level,121.4420,31.2250,B1,60" for g in GAUGES]
    center.sensors.import_csv(ADMIN, STREET, "id,kind,lon,lat,watches,interval_s\n" + "\n".join(rows) + "\n")
    center.start()
    assert center.mqtt is not None and center.mqtt.wait_connected(15)
    try:
        yield center
    finally:
        center.stop()


def report(broker: Broker, clock: ManualClock, gauges: list[str]) -> None:
    payload = json.dumps({"ts": clock.now().isoformat(), "values": {"level": 2.0}}).encode()
    with MqttPublisher(broker.url) as publisher:
        publisher.publish_many([(f"chengyun/{STREET}/sensors/{g}", payload) for g in gauges])


def heard_at(center: Center, clock: ManualClock, gauges: list[str]) -> bool:
    with center.uow() as uow:
        live = uow.sensors.live(gauges, lock=False)
    return all(g in live and live[g].last_ts == clock.now() for g in gauges)


def offline(center: Center) -> list[str]:
    alarms, _ = center.sensors.alarms(ADMIN, AlarmQuery(street=STREET, states=[AlarmState.RAISED]))
    return sorted(a.sensor_id for a in alarms if a.rule_id == "offline")


def test_after_a_broker_restart_ingestion_resumes_and_only_a_really_silent_sensor_is_offline(
    center: Center, broker: Broker, clock: ManualClock
) -> None:
    assert center.mqtt is not None
    report(broker, clock, GAUGES)
    wait_for(lambda: heard_at(center, clock, GAUGES), "the first readings")

    broker.stop()
    wait_for(lambda: center.mqtt is not None and not center.mqtt.connected, "the ingestor to see the loss")
    clock.advance(minutes=10)  # the broker stays away ten minutes: nothing can be heard
    center.ingest.sweep()
    assert offline(center) == []

    broker.start()
    # It reconnects by itself. (Only then may the gauges report: Mosquitto 2.0.11 does not restore a
    # shared subscription from its persistence, so what is published before reaches nobody.)
    wait_for(lambda: center.mqtt is not None and center.mqtt.connections == 2, "the ingestor to reconnect")
    report(broker, clock, GAUGES[:3])  # the fourth gauge died meanwhile
    wait_for(lambda: heard_at(center, clock, GAUGES[:3]), "readings published after the restart")
    center.ingest.sweep()
    assert offline(center) == []  # every gauge gets its allowance again from the reconnection

    clock.advance(minutes=4)
    report(broker, clock, GAUGES[:3])
    wait_for(lambda: heard_at(center, clock, GAUGES[:3]), "readings four minutes on")
    center.ingest.sweep()
    assert offline(center) == ["BR-W4"]

"""`chengyun worker` taking sensor readings from the real Mosquitto: killed with SIGKILL mid-stream and
restarted, it loses no QoS 1 reading and stores none twice."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chengyun.adapters.mqtt import MqttPublisher
from chengyun.cli import main
from street import PLACES

pytestmark = pytest.mark.mqtt
N_SENSORS = 10
PER_SENSOR = 150  # 1,500 readings, published at ~250 a second


@pytest.fixture
def mqtt_url() -> str:
    url = os.environ.get("CHENGYUN_TEST_MQTT_URL")
    if not url:
        if os.environ.get("CHENGYUN_REQUIRE_SERVICES"):
            pytest.fail("CHENGYUN_TEST_MQTT_URL is not set")
        pytest.skip("needs CHENGYUN_TEST_MQTT_URL")
    return url


@pytest.fixture
def street(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path, dict[str, str]]]:
    """A fresh database with the test street's places and ten water-level gauges of a street code of
    its own (the broker is shared with every other test)."""
    code = f"K{uuid.uuid4().hex[:6]}"
    db = tmp_path / "worker.db"
    env = {
        "CHENGYUN_DATABASE_URL": f"sqlite:///{db}",
        "CHENGYUN_MQTT_CLIENT_ID": f"test-worker-{code}",  # the same across the restart
        "CHENGYUN_MQTT_GROUP": f"g{code}",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    places = json.loads(json.dumps(PLACES).replace('"T"', f'"{code}"'))
    (tmp_path / "places.geojson").write_text(json.dumps(places, ensure_ascii=False), encoding="utf-8")
    assert main(["import", "places", str(tmp_path / "places.geojson"), "--street", code]) == 0
    rows = ["id,kind,lon,lat,watches"] + [
        f"{code}-W{i},water_level,121.4420,31.2250,B1" for i in range(N_SENSORS)
    ]
    (tmp_path / "sensors.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert main(["import", "sensors", str(tmp_path / "sensors.csv"), "--street", code]) == 0
    yield code, db, env


def start_worker(env: dict[str, str], url: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "chengyun.cli", "worker"],
        env={**os.environ, **env, "CHENGYUN_MQTT_URL": url},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # printed once subscribed
    assert "MQTT" in line, line
    return process


def stored(db: Path) -> int:
    with sqlite3.connect(db) as connection:
        return int(connection.execute("SELECT count(*) FROM readings").fetchone()[0])


def test_a_worker_killed_mid_stream_and_restarted_loses_no_reading(
    street: tuple[str, Path, dict[str, str]], mqtt_url: str
) -> None:
    code, db, env = street
    start = datetime.now(UTC) - timedelta(minutes=30)
    messages = [
        (
            f"chengyun/{code}/sensors/{code}-W{i}",
            json.dumps(
                {"ts": (start + timedelta(seconds=k)).timestamp(), "values": {"level": 1.0 + k % 7}}
            ).encode(),
        )
        for k in range(PER_SENSOR)
        for i in range(N_SENSORS)
    ]
    worker = start_worker(env, mqtt_url)
    publisher = MqttPublisher(mqtt_url, f"test-pub-{code}")
    try:
        killed = False
        for n in range(0, len(messages), 50):
            publisher.publish_many(messages[n : n + 50])  # QoS 1: the broker has each one
            time.sleep(0.2)
            if not killed and n >= len(messages) // 3:
                worker.send_signal(signal.SIGKILL)  # mid-stream, batches in flight
                worker.wait()
                killed = True
                assert stored(db) < len(messages)
                worker = start_worker(env, mqtt_url)  # same client id: the broker kept its queue
        deadline = time.monotonic() + 30
        while stored(db) < len(messages) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert stored(db) == len(messages)  # every reading once: none lost, none twice
    finally:
        publisher.close()
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=15)
    with sqlite3.connect(db) as connection:
        per_sensor = dict(connection.execute("SELECT sensor_id, count(*) FROM readings GROUP BY sensor_id"))
    assert per_sensor == {f"{code}-W{i}": PER_SENSOR for i in range(N_SENSORS)}

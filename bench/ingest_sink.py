"""The real ingestion sink for bench/sensor_mqtt.py: decode, validate against the registry, evaluate every
rule, store readings and live state, raise alarms — the same `IngestService.ingest_messages` the center's
MQTT worker calls — on a throwaway SQLite file or PostgreSQL schema.

  .venv/bin/python bench/sensor_mqtt.py --sink ingest_sink:sqlite
  .venv/bin/python bench/sensor_mqtt.py --sink ingest_sink:postgres   (needs CHENGYUN_TEST_DATABASE_URL)
  .venv/bin/python bench/sensor_mqtt.py --sink ingest_sink:sqlite_held (live state saved every 5 s)

The bench's sensors are registered as water-level gauges: S0..S63 (the single-reading topics) and
S-00000..S-13999 (the gateway items). The clock stands a minute after the bench's first timestamp.
"""

from __future__ import annotations

import atexit
import gc
import os
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

from _common import postgres_base_url, temp_database
from chengyun.adapters.clock import ManualClock
from chengyun.bootstrap import build
from chengyun.domain.geo import Point
from chengyun.domain.sensors import Sensor, SensorKind
from chengyun.settings import Settings

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # bench/sensor_mqtt.py's first timestamp
STREET = "bench"
HELD_S = 5.0  # the `_held` sinks: seconds between two saves of one sensor's live state
SHARED = "BENCH_INGEST_DATABASE_URL"  # the database several ingestor processes share
Sink = Callable[[Sequence[tuple[str, bytes]]], object]
_stack = ExitStack()
atexit.register(_stack.close)


def bench_sensors() -> list[Sensor]:
    ids = [f"S{i}" for i in range(64)] + [f"S-{i:05d}" for i in range(14_000)]
    return [Sensor(i, STREET, SensorKind.WATER_LEVEL, Point(121.445, 31.225), "BENCH") for i in ids]


def _sink(url: str, state_every: float = 0.0) -> Sink:
    clock = ManualClock(NOW + timedelta(minutes=1))
    settings = Settings(database_url=url, run_worker=False, sensor_state_save_s=state_every)
    center = build(settings, clock=clock)
    _stack.callback(center.stop)
    sensors = bench_sensors()
    with center.uow() as uow:
        uow.sensors.upsert(sensors)
        uow.commit()
    center.ingest.start_watching(sensors, clock.now())
    # As the server does before its stream starts (bootstrap): the registry, every sensor's live state
    # and rule evaluator loaded, so the timed batches do not pay for building 14,064 evaluators.
    center.ingest.warm()
    gc.freeze()  # as the server does after warming (bootstrap.Center.start)
    return center.ingest.ingest_messages


def _database(backend: str) -> str:
    """A throwaway database of this process's, or the one the first of several ingestor processes made
    (`SHARED`, set for the others by bench/sensor_mqtt.py --workers); named in `SHARED` either way."""
    url = os.environ.get(SHARED)
    if not url:
        base = None
        if backend == "postgres":
            base = postgres_base_url(os.environ.get("CHENGYUN_TEST_DATABASE_URL"))
            if base is None:
                raise SystemExit("ingest_sink:postgres needs CHENGYUN_TEST_DATABASE_URL")
        url = os.environ[SHARED] = _stack.enter_context(temp_database(backend, base))
    return url


def sqlite() -> Sink:
    return _sink(_database("sqlite"))


def postgres(state_every: float = 0.0) -> Sink:
    return _sink(_database("postgres"), state_every)


def sqlite_held() -> Sink:
    """As `sqlite`, each sensor's live state saved at most every 5 s (CHENGYUN_SENSOR_STATE_SAVE_S=5)."""
    return _sink(_database("sqlite"), HELD_S)


def postgres_held() -> Sink:
    """As `postgres`, each sensor's live state saved at most every 5 s."""
    return postgres(HELD_S)

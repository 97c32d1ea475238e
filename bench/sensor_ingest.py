"""The ingestion batch path in-process, without a broker or HTTP in front: `IngestService.ingest_body` (what
`POST /api/v1/readings` calls) and `IngestService.ingest_messages` (what the MQTT worker calls) on gateway
payloads, beside a bare baseline in the same run: the same points decoded untyped by msgspec and stored
by `SensorRepository.add_points` alone (no registry, no checks, no rules, no live state, no alarms).

Each cell is a fresh database (SQLite file or PostgreSQL schema) with bench/ingest_sink.py's 14,064
water-level gauges registered, the service warmed and the GC frozen as the server does. Cells alternate
(body, messages, bare) so background load hits each alike; the figure is data points stored per second
of wall time, and the CPU time of this process per point.

`held` is `ingest_messages` again with each sensor's live state saved at most every `--state-every` seconds
(CHENGYUN_SENSOR_STATE_SAVE_S) instead of after every batch.

Run: .venv/bin/python bench/sensor_ingest.py [--backend sqlite|postgres|both] [--points 200000] [--runs 3]
     [--per-body 1000] [--per-batch 45] [--paths body,messages,held,bare] [--state-every 5]
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import statistics
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta

import msgspec

import ingest_sink
from _common import med_range, postgres_base_url, progress, table, temp_database
from chengyun.adapters.clock import ManualClock
from chengyun.adapters.db.sensors import to_ms
from chengyun.bootstrap import Center, build
from chengyun.settings import Settings
from sensor_mqtt import gateway_lines

TOPIC = "chengyun/bench/sensors/GW"


def registered_center(url: str, state_every: float = 0.0) -> Center:
    """A center on `url` with the 14,064 bench gauges registered, watched and their evaluators built,
    on a manual clock; the heap frozen (also used by sensor_instructions.py)."""
    clock = ManualClock(ingest_sink.NOW + timedelta(minutes=1))
    settings = Settings(database_url=url, run_worker=False, sensor_state_save_s=state_every)
    center = build(settings, clock=clock)
    sensors = ingest_sink.bench_sensors()
    with center.uow() as uow:
        uow.sensors.upsert(sensors)
        uow.commit()
    center.ingest.start_watching(sensors, clock.now())
    center.ingest.warm()
    gc.freeze()
    return center


def _bodies(points: int, per: int) -> list[bytes]:
    """Gateway lists of `per` readings (one value each), 14,000 sensors in turn, one timestamp per list."""
    return gateway_lines(points // per, per)


def _run(center: Center, kind: str, bodies: list[bytes], per_batch: int) -> int:
    ingest = center.ingest
    stored = 0
    if kind == "body":
        for body in bodies:
            stored += ingest.ingest_body(body).points
    elif kind in ("messages", "held"):
        messages = [(TOPIC, body) for body in bodies]
        # The save interval is counted on the service's clock: `held`'s follows the wall clock here, so
        # "every N s" means what it means on a server.
        clock = center.clock
        assert isinstance(clock, ManualClock)
        began, start_at = time.perf_counter(), clock.now()
        for start in range(0, len(messages), per_batch):
            if kind == "held":
                clock.set(start_at + timedelta(seconds=time.perf_counter() - began))
            stored += ingest.ingest_messages(messages[start : start + per_batch]).points
    else:  # bare: decode and store, nothing else
        decode = msgspec.json.Decoder().decode
        times: dict[str, int] = {}
        for body in bodies:
            rows = []
            for item in decode(body):
                ms = times.get(item["ts"])
                if ms is None:
                    ms = times[item["ts"]] = to_ms(datetime.fromisoformat(item["ts"]))
                for quantity, value in item["values"].items():
                    rows.append((item["sensor_id"], quantity, ms, float(value), ingest_sink.STREET))
            with center.uow() as uow:
                stored += uow.sensors.add_points(rows)
                uow.commit()
    return stored


def measure(
    backend: str, url_of: Callable[[], AbstractContextManager[str]], kind: str, args: argparse.Namespace
) -> tuple[float, float]:
    bodies = _bodies(args.points, args.per_body)
    with url_of() as url:
        center = registered_center(url, args.state_every if kind == "held" else 0.0)
        try:
            wall, cpu = time.perf_counter(), time.process_time()
            stored = _run(center, kind, bodies, args.per_batch)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        finally:
            center.stop()
            gc.unfreeze()
    if stored != args.points:
        raise SystemExit(f"{backend} {kind}: stored {stored} of {args.points} points")
    return stored / wall, cpu / stored * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--postgres", default=os.environ.get("CHENGYUN_TEST_DATABASE_URL"))
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--per-body", type=int, default=1000, help="readings per HTTP body / MQTT message")
    parser.add_argument(
        "--per-batch", type=int, default=45, help="messages per ingest_messages call (45 × 1,000 readings)"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--paths", default="body,messages,held,bare", help="which of body, messages, held, bare"
    )
    parser.add_argument(
        "--state-every",
        type=float,
        default=5.0,
        help="`held`: ingest_messages with each sensor's live state saved at most every N s",
    )
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    kinds = args.paths.split(",")
    rates: dict[tuple[str, str], list[float]] = {}
    cpus: dict[tuple[str, str], list[float]] = {}
    for backend in backends:
        base = postgres_base_url(args.postgres) if backend == "postgres" else None

        def url_of(backend: str = backend, base: str | None = base) -> AbstractContextManager[str]:
            return temp_database(backend, base)

        for run in range(1, args.runs + 1):
            for kind in kinds:
                progress(f"{backend} run {run}/{args.runs}: {kind}")
                rate, cpu = measure(backend, url_of, kind, args)
                rates.setdefault((backend, kind), []).append(rate)
                cpus.setdefault((backend, kind), []).append(cpu)
    progress("", done=True)
    names = {
        "body": f"ingest_body, {args.per_body:,} readings per body (POST /api/v1/readings)",
        "messages": f"ingest_messages, {args.per_batch} messages of {args.per_body:,} per call (MQTT)",
        "held": f"the same, live state saved every {args.state_every:g} s (CHENGYUN_SENSOR_STATE_SAVE_S)",
        "bare": "bare: msgspec decode + add_points",
    }
    rows = []
    for backend in backends:
        bare = statistics.median(rates.get((backend, "bare"), [math.nan]))
        for kind in kinds:
            r = rates[(backend, kind)]
            rows.append(
                [
                    backend,
                    names[kind],
                    med_range([x / 1000 for x in r]),
                    med_range(cpus[(backend, kind)]),
                    f"{statistics.median(r) / bare:.0%}",
                ]
            )
    print(
        f"{args.points:,} points per cell, 14,064 sensors, {args.runs} runs; median (min–max); "
        f"load average at the end {os.getloadavg()[0]:.1f}"
    )
    print(table(["backend", "path", "k points/s", "CPU µs/point", "÷ bare"], rows))


if __name__ == "__main__":
    main()

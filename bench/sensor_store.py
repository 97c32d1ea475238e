"""Sensor readings into the store: data points/s of `SensorRepository.add_readings` (one unit of work and
one commit per batch) on SQLite and PostgreSQL at batch sizes 1,000 and 5,000, beside a bare baseline in
the same run:

  SQLite      plain sqlite3 `executemany` of ready tuples into a table of the same shape (same columns,
              primary key WITHOUT ROWID, ts index; INSERT OR IGNORE), same pragmas, one commit per batch
  PostgreSQL  psycopg COPY (binary) of ready tuples into a bare table (no key, no index), one commit per
              batch

The store's figure includes what the baseline does not: ReadingRow → tuple (datetime → epoch ms), the
unit of work (pool checkout, BEGIN IMMEDIATE on SQLite), and on PostgreSQL the INSERT ... SELECT
... ON CONFLICT DO NOTHING from the COPY's temporary table into the keyed, indexed table. ReadingRows are
built before the clock starts, as the worker has them from the decoder. Every point is new (a fresh
time per run); 10,000 sensors x 2 quantities. Median (min–max) of 3 runs.

Run: .venv/bin/python bench/sensor_store.py [--points 200000] [--runs 3] [--postgres URL] [--backend ...]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from _common import med_range, postgres_base_url, progress, table, temp_database
from chengyun.adapters.db.engine import make_engine
from chengyun.adapters.db.migrate import upgrade
from chengyun.adapters.db.uow import unit_of_work_factory
from chengyun.services.ports import ReadingRow

T0 = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
SENSORS = 10_000
QUANTITIES = ("tilt_x", "tilt_y")
BATCHES = (1_000, 5_000)


def make_rows(points: int, start: datetime) -> list[ReadingRow]:
    """`points` data points: readings of SENSORS sensors, each reading two quantities at one time."""
    rows: list[ReadingRow] = []
    step = 0
    while len(rows) < points:
        at = start + timedelta(seconds=step)
        for i in range(SENSORS):
            sensor = f"S-{i:05d}"
            for q in QUANTITIES:
                rows.append(ReadingRow(sensor, "JAS", at, q, float(i % 97) / 7.0))
        step += 1
    return rows[:points]


def as_tuples(rows: list[ReadingRow]) -> list[tuple[str, str, int, float, str]]:
    return [(r.sensor_id, r.quantity, round(r.ts.timestamp() * 1000), r.value, r.street) for r in rows]


def timed(run: Callable[[], int], points: int) -> float:
    started = time.perf_counter()
    added = run()
    elapsed = time.perf_counter() - started
    if added != points:
        raise SystemExit(f"expected {points} new points, stored {added}")
    return points / elapsed


def store_run(url: str, rows: list[ReadingRow], size: int) -> float:
    engine = make_engine(url)
    uow_factory = unit_of_work_factory(engine)
    chunks = [rows[i : i + size] for i in range(0, len(rows), size)]

    def run() -> int:
        added = 0
        for chunk in chunks:
            with uow_factory() as uow:
                added += uow.sensors.add_readings(chunk)
                uow.commit()
        return added

    try:
        with uow_factory() as uow:  # warm the pool and the temp table outside the clock
            uow.sensors.add_readings([])
        return timed(run, len(rows))
    finally:
        engine.dispose()


_SQLITE_SHAPE = (
    "CREATE TABLE IF NOT EXISTS bare (sensor_id VARCHAR(64) NOT NULL, quantity VARCHAR(64) NOT NULL, "
    "ts BIGINT NOT NULL, value FLOAT NOT NULL, street VARCHAR(64) NOT NULL, "
    "PRIMARY KEY (sensor_id, quantity, ts)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS ix_bare_ts ON bare (ts)",
)


def sqlite_bare_run(path: Path, tuples: list[tuple[str, str, int, float, str]], size: int) -> float:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        for sql in _SQLITE_SHAPE:
            connection.execute(sql)
        chunks = [tuples[i : i + size] for i in range(0, len(tuples), size)]

        def run() -> int:
            added = 0
            for chunk in chunks:
                connection.execute("BEGIN IMMEDIATE")
                cursor = connection.executemany("INSERT OR IGNORE INTO bare VALUES (?, ?, ?, ?, ?)", chunk)
                added += cursor.rowcount
                connection.execute("COMMIT")
            return added

        return timed(run, len(tuples))
    finally:
        connection.close()


def pg_bare_run(url: str, tuples: list[tuple[str, str, int, float, str]], size: int) -> float:
    parsed = make_url(url).set(drivername="postgresql")
    conninfo = parsed.render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as connection:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS bare (sensor_id text, quantity text, ts bigint, value float8, "
            "street text)"
        )
        connection.commit()
        chunks = [tuples[i : i + size] for i in range(0, len(tuples), size)]

        def run() -> int:
            added = 0
            for chunk in chunks:
                with connection.cursor() as cursor:
                    with cursor.copy("COPY bare FROM STDIN (FORMAT BINARY)") as copy:
                        copy.set_types(["text", "text", "int8", "float8", "text"])
                        for row in chunk:
                            copy.write_row(row)
                    added += len(chunk)
                connection.commit()
            return added

        return timed(run, len(tuples))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--points", type=int, default=200_000, help="data points per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", default=None, help="PostgreSQL URL (else CHENGYUN_TEST_DATABASE_URL)")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()

    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    pg_url = postgres_base_url(args.postgres)
    if "postgres" in backends and pg_url is None:
        progress("no PostgreSQL URL: SQLite only", done=True)
        backends = ["sqlite"]

    results: list[list[str]] = []
    for backend in backends:
        for size in BATCHES:
            # A fresh database per cell: both tables start empty and grow alike (points x runs).
            with temp_database(backend, pg_url) as url:
                upgrade(url)
                store: list[float] = []
                bare: list[float] = []
                for run in range(args.runs):
                    # A fresh stretch of time per run: every point is new.
                    rows = make_rows(args.points, T0 + timedelta(days=run))
                    tuples = as_tuples(rows)
                    progress(f"{backend} batch {size}: run {run + 1}/{args.runs}")
                    store.append(store_run(url, rows, size))
                    if backend == "sqlite":
                        database = make_url(url).database
                        assert database is not None
                        bare.append(sqlite_bare_run(Path(database).with_name("bare.db"), tuples, size))
                    else:
                        bare.append(pg_bare_run(url, tuples, size))
                results.append(
                    [
                        backend,
                        f"{size:,}",
                        med_range([s / 1000 for s in store]),
                        med_range([b / 1000 for b in bare]),
                        f"{statistics.median(store) / statistics.median(bare) * 100:.0f} %",
                    ]
                )
    progress("done", done=True)
    print()
    print(
        f"add_readings, {args.points:,} new points per run into a fresh database per row, "
        f"median (min–max) of {args.runs} runs"
    )
    print()
    print(
        table(
            ["backend", "batch", "store k points/s", "bare baseline k points/s", "store / bare"],
            results,
        )
    )


if __name__ == "__main__":
    main()

"""Five-colour grading per order, against its baselines in the same run (target: p99 < 2 ms per order).

A fresh database gets the demo street (静安寺街道, its POIs, roads and 450 historic buildings, the demo's
grading rules with its main roads) and a year of orders (default 100,000, spread over 365 days, at the
demo's buildings, in the categories and words of bench/_common.py), so repetition is counted against a
realistic history. Then, for sample orders at random buildings:

- default: the category's default colour (what intake did before grading): the floor of the cost;
- duplicates: the duplicate-candidates query intake already runs per order (a database reference);
- rules: the rule set on prepared facts (pure domain);
- intake: grading a new order as intake does: place data around it and the rules (no database);
- intake+repeats: the same plus counting earlier reports at the same place (one indexed query);
- regrade: grading a stored order again after an overdue notice, as the deadline worker does (its grade
  record read, facts, rules, the record written), in a transaction rolled back afterwards.

    .venv/bin/python bench/grading.py --quick                       # 20,000 orders, SQLite, ~1 min
    .venv/bin/python bench/grading.py                               # 100,000 orders, SQLite and PostgreSQL
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shapely.geometry import shape
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    TEXTS,
    med_range,
    percentile,
    postgres_base_url,
    proc_memory_mb,
    progress,
    table,
    temp_database,
)
from chengyun.adapters.db import tables as t
from chengyun.adapters.db.engine import make_engine
from chengyun.adapters.db.repositories import _order_values
from chengyun.bootstrap import Center, build
from chengyun.domain.calendar import local_date
from chengyun.domain.geo import Point
from chengyun.domain.grading import Facts
from chengyun.domain.orders import SYSTEM, Location, OrderState, Source, TimelineEntry, Who, WorkOrder
from chengyun.domain.places import PlaceKind
from chengyun.settings import Settings
from chengyun.sim.demo import STREET, load_demo_street
from deadlines import ORDER_COLUMNS, _convert, _converters, _copy_postgres, _insert_sqlite

HOTLINE = Who("hotline", "12345")
TARGET_MS = 2.0


def _centre(geometry: Any) -> Point:
    middle = shape(geometry).centroid
    return Point(middle.x, middle.y)


def buildings(center: Center) -> list[tuple[str, str, str, str | None, Point]]:
    with center.uow() as uow:
        places = uow.places.list(STREET, PlaceKind.BUILDING)
    return [
        (p.code, str(p.props["address"]), str(p.props["area"]), p.parent, _centre(p.geometry))
        for p in places
        if p.props.get("address") and p.props.get("area")
    ]


def new_order(center: Center, rng: random.Random, sites: list[Any], at: datetime) -> WorkOrder:
    category, texts = rng.choice(TEXTS)
    code, address, area, grid, point = rng.choice(sites)
    colour = center.orders.catalogue(STREET).get(category).colour
    policy = center.orders.policies(STREET).for_order(category, colour)
    return WorkOrder.receive(
        street=STREET,
        source=Source.HOTLINE,
        category=category,
        description=rng.choice(texts).format(addr=address),
        location=Location(point, address, area, grid, code),
        colour=colour,
        policy=policy,
        now=at,
        by=HOTLINE,
    )


def seed(center: Center, count: int, now: datetime) -> float:
    """A year of orders, inserted in bulk (orders only: grading reads no timeline)."""
    engine, dialect = center.engine, center.engine.dialect.name
    rng = random.Random(1125)
    sites = buildings(center)
    procs = _converters(t.orders, ORDER_COLUMNS, dialect)
    policies = center.orders.policies(STREET)
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for first in range(0, count, 5_000):
            rows = []
            for order_id in range(first + 1, min(count, first + 5_000) + 1):
                order = new_order(center, rng, sites, now - timedelta(days=rng.uniform(0, 365)))
                order.state = OrderState.CLOSED
                values = _order_values(order, policies.get(order.policy_code)) | {
                    "id": order_id,
                    "version": 1,
                }
                rows.append(_convert(values, ORDER_COLUMNS, procs))
            if dialect == "sqlite":
                cursor.execute("BEGIN IMMEDIATE")
                _insert_sqlite(cursor, "orders", ORDER_COLUMNS, rows)
                cursor.execute("COMMIT")
            else:
                _copy_postgres(cursor, "orders", ORDER_COLUMNS, rows)
                raw.commit()
            progress(f"  seeding {min(count, first + 5_000):,}/{count:,} orders")
    finally:
        raw.close()
    if dialect == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('orders', 'id'), (SELECT max(id) FROM orders))"
            )
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    elapsed = time.perf_counter() - started
    progress(f"  seeded {count:,} orders in {elapsed:.0f} s", done=True)
    return elapsed


class Clocks:
    """Wall-clock and CPU (this thread's) milliseconds of each call: on a shared, busy machine the wall
    clock's tail is mostly the scheduler; the CPU time is the code's own."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self._wall = self._cpu = 0.0

    def start(self) -> None:
        self._wall, self._cpu = time.perf_counter(), time.thread_time()

    def stop(self) -> None:
        self.wall.append((time.perf_counter() - self._wall) * 1000)
        self.cpu.append((time.thread_time() - self._cpu) * 1000)


def timed(samples: int, run: Callable[[int], object]) -> Clocks:
    clocks = Clocks()
    for i in range(samples):
        clocks.start()
        run(i)
        clocks.stop()
    return clocks


def measure(center: Center, samples: int, now: datetime) -> dict[str, Clocks]:
    rng = random.Random(7)
    sites = buildings(center)
    grading = center.grading
    catalogue = center.orders.catalogue(STREET)
    rules = grading.rules(STREET)
    orders = [new_order(center, rng, sites, now) for _ in range(samples)]
    facts = [
        Facts(
            o.category,
            catalogue.get(o.category).colour,
            source="hotline",
            text=o.description,
            address=o.location.address or "",
            received_at=now,
        )
        for o in orders
    ]
    results: dict[str, Clocks] = {}
    results["default"] = timed(samples, lambda i: catalogue.get(orders[i].category).colour)

    def duplicates(i: int) -> None:
        o = orders[i]
        with center.uow() as uow:
            uow.orders.open_similar(
                STREET,
                o.category,
                now - timedelta(hours=72),
                o.location.point,
                50.0,
                o.location.building,
                o.location.address,
            )

    results["duplicates"] = timed(samples, duplicates)
    results["rules"] = timed(samples, lambda i: rules.grade(facts[i]))

    def intake(i: int) -> Any:
        o = orders[i]
        return grading.intake(
            STREET,
            o.category,
            catalogue.get(o.category).colour,
            None,
            o.source,
            o.description,
            o.location,
            now,
        )

    results["intake"] = timed(samples, intake)

    results["intake+repeats"] = clocks = Clocks()
    for i in range(samples):
        # As intake does: grading before its transaction, the repeats inside it (only grading is timed).
        clocks.start()
        graded = intake(i)
        clocks.stop()
        before_wall, before_cpu = clocks.wall.pop(), clocks.cpu.pop()
        with center.uow() as uow:
            clocks.start()
            grading.with_repeats(uow, graded, orders[i])
            clocks.stop()
        clocks.wall[-1] += before_wall
        clocks.cpu[-1] += before_cpu
    with center.engine.connect() as connection:
        ids = [
            int(i) for i in connection.scalars(select(t.orders.c.id).order_by(func.random()).limit(samples))
        ]
    results["regrade"] = clocks = Clocks()
    for i in range(samples):
        with center.uow() as uow:  # rolled back on leaving: the stored orders stay as seeded
            order = uow.orders.get(ids[i % len(ids)], for_update=True)  # the worker has it already
            order.state = OrderState.DISPATCHED
            entry = TimelineEntry(
                order.last_seq + 1, now, "deadline_overdue", SYSTEM.id, SYSTEM.name, order.state, "响应已超期"
            )
            clocks.start()
            grading.react(uow, order, [entry], now)
            clocks.stop()
    return results


def run_backend(backend: str, postgres: str | None, count: int, samples: int, runs: int) -> dict[str, Any]:
    with temp_database(backend, postgres) as url:
        progress(f"{backend}: preparing the demo street …", done=True)
        center = build(Settings(database_url=url, run_worker=False))
        try:
            now = datetime.now(UTC)
            load_demo_street(center, local_date(now) - timedelta(days=1), 2)
            seconds = seed(center, count, now)
            rounds = []
            for r in range(runs):
                progress(f"  run {r + 1}/{runs}: {samples:,} sample orders …")
                rounds.append(measure(center, samples, now))
            progress(f"  {runs} runs done", done=True)
            rss, peak = proc_memory_mb()
            return {
                "backend": backend,
                "orders": count,
                "seed_s": seconds,
                "rounds": rounds,
                "rss_mb": rss,
                "peak_mb": peak,
            }
        finally:
            center.stop()
            make_engine(url).dispose()


def report(results: list[dict[str, Any]]) -> None:
    rows = []
    for result in results:
        for name in result["rounds"][0]:
            rounds: list[Clocks] = [r[name] for r in result["rounds"]]
            p50 = [percentile(c.wall, 50) for c in rounds]
            p99 = [percentile(c.wall, 99) for c in rounds]
            cpu99 = [percentile(c.cpu, 99) for c in rounds]
            rate = [len(c.wall) / (sum(c.wall) / 1000) for c in rounds]
            mark = ""
            if name in ("intake+repeats", "regrade"):
                mark = " ✓" if statistics.median(p99) < TARGET_MS else " ✗"
            rows.append(
                [
                    result["backend"],
                    name,
                    med_range(p50, 3),
                    med_range(p99, 3) + mark,
                    med_range(cpu99, 3),
                    med_range(rate, 0),
                ]
            )
    print()
    print(table(["backend", "step", "p50 ms", "p99 ms", "p99 CPU ms", "per second"], rows))
    for result in results:
        print(
            f"\n{result['backend']}: {result['orders']:,} orders in the database (seeded in "
            f"{result['seed_s']:.0f} s); process RSS {result['rss_mb']:.0f} MiB, "
            f"peak {result['peak_mb']:.0f} MiB"
        )
    print(
        f"\nTarget: grading p99 < {TARGET_MS:g} ms per order (intake+repeats, regrade). "
        "Median (min–max) of the runs. Load average now: " + " ".join(f"{x:.1f}" for x in os.getloadavg())
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=100_000, help="orders of the year in the database")
    parser.add_argument("--samples", type=int, default=2_000, help="sample orders per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--postgres", help="PostgreSQL URL (default CHENGYUN_TEST_DATABASE_URL)")
    parser.add_argument("--quick", action="store_true", help="20,000 orders, 500 samples, SQLite only")
    parser.add_argument("--json", help="write the raw figures here")
    args = parser.parse_args()
    if args.quick:
        args.orders, args.samples, args.backend = 20_000, 500, "sqlite"
    postgres = postgres_base_url(args.postgres)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    if "postgres" in backends and postgres is None:
        if args.backend == "both":
            backends = ["sqlite"]
            print("(no PostgreSQL: --postgres URL or CHENGYUN_TEST_DATABASE_URL; SQLite only)")
        else:
            raise SystemExit("PostgreSQL needs --postgres URL or CHENGYUN_TEST_DATABASE_URL")
    results = [run_backend(b, postgres, args.orders, args.samples, args.runs) for b in backends]
    report(results)
    if args.json:
        raw = [r | {"rounds": [{k: vars(c) for k, c in x.items()} for x in r["rounds"]]} for r in results]
        Path(args.json).write_text(json.dumps(raw, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

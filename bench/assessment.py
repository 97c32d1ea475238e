"""Assessment at scale: a year of a street's orders (about 100,000, realistic timelines) assessed in < 5 s.

What it does
    For each backend, on a fresh database with the demo street 静安寺街道 (JAS):
      1. seeds a year of orders in bulk (SQLite executemany, PostgreSQL COPY). Each order is built by the
         domain (WorkOrder.receive, dispatch, respond, arrive, handle or plan, close_loop with a callback
         answer, close; some late, some returned and re-dispatched, reopened after an unsatisfied callback
         or after closing, merged as duplicates, suspended, a few still open) with the deadline alerts it
         would have fired, and converted with the repository's own `_order_values` / `_entry_row`;
      2. times `AssessmentService.assessment` for the whole year (load through SqlOrderHistory + compute),
         by area and by staff, 3 runs each, and the load alone;
      3. times the peer in the same run: the same assessment by area, and the load, with each order's
         marks gathered from its timeline entries (with the partial index) as before the order_marks
         projection (migration 0011), and checks that both give the same assessment;
      4. times the baseline in the same run: a bare SQL aggregate over the same rows (orders per area and
         state, timeline entries per kind): what a database answers without any of the figures' logic.

Target (issue): under 5 s on SQLite and on PostgreSQL.

Run
    .venv/bin/python bench/assessment.py                          # SQLite, 100,000 orders
    .venv/bin/python bench/assessment.py --backend both # and PostgreSQL (CHENGYUN_TEST_DATABASE_URL)
    .venv/bin/python bench/assessment.py --orders 20000           # a quick run
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import Engine, text

from _common import (
    SURNAMES,
    TEXTS,
    med_range,
    postgres_base_url,
    proc_memory_mb,
    progress,
    table,
    temp_database,
)
from chengyun.adapters.db import history, marks
from chengyun.adapters.db import tables as t
from chengyun.adapters.db.engine import make_engine
from chengyun.adapters.db.history import SqlOrderHistory
from chengyun.adapters.db.repositories import _entry_row, _order_values
from chengyun.adapters.db.uow import SqlUnitOfWork
from chengyun.domain.access import Actor, Role
from chengyun.domain.assessment import Dimension, assessed_marks, lookback_start
from chengyun.domain.calendar import SHANGHAI
from chengyun.domain.categories import Catalogue
from chengyun.domain.geo import Point
from chengyun.domain.orders import Contact, Location, ReturnReason, Satisfaction, Source, Who, WorkOrder
from chengyun.domain.places import PlaceKind
from chengyun.domain.sla import DEFAULT_POLICIES, PolicySet
from chengyun.services.assessment import AssessmentService, period_of

STREET = "JAS"
TARGET_S = 5.0
YEAR_START = date(2025, 1, 1)
NOW = datetime(2026, 1, 2, 12, 0, tzinfo=SHANGHAI)
DESK = Who("H01", "受理员")
DIRECTOR = Actor(Role.DIRECTOR, frozenset({STREET}), None, "基准测试", "bench")


def _centre(geometry: Any) -> Point:
    """A building's point: its own, or the mean of its outline's corners."""
    if geometry["type"] == "Point":
        return Point(*geometry["coordinates"][:2])
    ring = geometry["coordinates"][0][:-1]
    return Point(sum(p[0] for p in ring) / len(ring), sum(p[1] for p in ring) / len(ring))


class YearFactory:
    """Orders spread over 2025 (more at meal peaks and on workdays), each with a plausible life."""

    def __init__(self, engine: Engine, count: int) -> None:
        from chengyun.bootstrap import builtin_categories

        with SqlUnitOfWork(engine) as uow:
            places = uow.places.list(STREET, PlaceKind.BUILDING)
            pairs = uow.people.pairs(STREET)
            names = {s.id: s.name for s in uow.people.staff(STREET)}
            self.policies: PolicySet = uow.config.policies(STREET) or DEFAULT_POLICIES
        self.buildings = [
            (p.code, str(p.props["address"]), str(p.props["area"]), p.parent, _centre(p.geometry))
            for p in places
            if p.props.get("address") and p.props.get("area")
        ]
        self.pairs = {
            p.area: (Who(p.a_staff, names[p.a_staff]), Who(p.b_staff, names[p.b_staff])) for p in pairs
        }
        self.catalogue = Catalogue(builtin_categories())
        self.span = (
            NOW - timedelta(days=1) - datetime.combine(YEAR_START, datetime.min.time(), SHANGHAI)
        ) / count
        self.rng = random.Random(0)
        self.recent: list[WorkOrder] = []

    def order(self, order_id: int) -> WorkOrder:
        rng = self.rng
        start = datetime.combine(YEAR_START, datetime.min.time(), SHANGHAI)
        received = start + self.span * order_id + timedelta(seconds=rng.uniform(0, 60))
        category, texts = rng.choice(TEXTS)
        code, address, area, grid, point = rng.choice(self.buildings)
        colour = self.catalogue.get(category).colour
        policy = self.policies.for_order(category, colour)
        order = WorkOrder.receive(
            street=STREET,
            source=Source.HOTLINE,
            category=category,
            description=rng.choice(texts).format(addr=address),
            location=Location(point, address, area, grid, code),
            colour=colour,
            policy=policy,
            now=received,
            by=DESK,
            complainant=Contact(rng.choice(SURNAMES) + "先生", "1380000" + f"{rng.randrange(10_000):04d}"),
        )
        order.id = order_id

        def alerts(at: datetime) -> None:
            order.fire_alerts(at, policy, lambda rung: None)

        a, b = self.pairs.get(area, (Who("M01", "专管员"), Who("M02", "搭档")))
        who = a if rng.random() < 0.8 else b
        at = received + timedelta(seconds=rng.uniform(10, 60))
        order.dispatch(at, DESK, who)
        if rng.random() < 0.03 and self.recent:
            target = self.recent[-1]
            if target.state.group.value == "open" or target.state.value == "handled":
                order.merge_into(at + timedelta(minutes=1), DESK, target)
                return order
        if rng.random() < 0.04:  # returned: wrong area or department, then sent to the partner
            at += timedelta(minutes=rng.uniform(1, 6))
            alerts(at)
            order.return_to_dispatcher(at, who, ReturnReason.WRONG_DEPARTMENT, "不属本人职责")
            who = b if who == a else a
            at += timedelta(minutes=rng.uniform(1, 4))
            order.dispatch(at, DESK, who)
        if received > NOW - timedelta(hours=6):  # the last hours: still open
            self.recent.append(order)
            return order
        slow = rng.random() < 0.12
        for round_no in (1, 2):
            at += timedelta(minutes=rng.uniform(1, 9 if slow else 4.5))
            alerts(at)
            order.respond(at, who, policy)
            at += timedelta(minutes=rng.uniform(4, 18 if slow else 11))
            alerts(at)
            order.arrive(at, who, policy, point)
            at += timedelta(minutes=rng.uniform(5, 40 if slow else 28))
            alerts(at)
            if rng.random() < 0.05:
                order.make_plan(at, who, "需产权单位配合维修", at + timedelta(days=rng.uniform(1, 7)))
                at += timedelta(days=rng.uniform(0.5, 8))
                alerts(at)
                order.handle(at, who, "已按方案修复", policy)
            else:
                order.handle(at, who, "已现场处置", policy)
            if rng.random() < 0.02:
                order.suspend(at + timedelta(minutes=1), DESK, "需统一改造")
                return order
            at += timedelta(minutes=rng.uniform(5, 40 if slow else 25))
            alerts(at)
            roll = rng.random()
            answer = (
                Satisfaction.SATISFIED
                if roll < 0.75
                else Satisfaction.BASICALLY
                if roll < 0.92
                else Satisfaction.UNSATISFIED
            )
            order.close_loop(at, DESK, "已回访", answer)
            if answer is Satisfaction.UNSATISFIED and round_no == 1:
                at += timedelta(minutes=rng.uniform(5, 60))
                order.reopen(at, DESK, "诉求人不满意", policy)
                continue
            at += timedelta(minutes=rng.uniform(1, 30))
            order.close(at, DESK)
            if round_no == 1 and rng.random() < 0.02:
                at += timedelta(days=rng.uniform(1, 5))
                order.reopen(at, DESK, "问题复发", policy)
                continue
            break
        self.recent = [*self.recent[-20:], order]
        return order


# --- seeding (domain in worker processes, bulk inserts here) -----------------------------------------

_JSON_COLUMNS = {"complainants", "attachments", "clocks", "extensions", "supervisions", "data"}
ORDER_COLUMNS = [c.name for c in t.orders.columns]
ENTRY_COLUMNS = [c.name for c in t.timeline.columns if c.name != "id"]
MARKS_COLUMNS = ["order_id", "marks"]
Converter = Callable[[Any], Any] | None
_STATE: dict[str, Any] = {}


def _converters(table_: Any, columns: Sequence[str], dialect: str) -> list[Converter]:
    if dialect == "postgresql":
        return [json.dumps if c in _JSON_COLUMNS else None for c in columns]
    from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite

    sqlite = SQLiteDialect_pysqlite()
    return [table_.c[c].type.dialect_impl(sqlite).bind_processor(sqlite) for c in columns]


def _init(url: str, count: int, dialect: str) -> None:
    engine = make_engine(url)
    try:
        _STATE["factory"] = YearFactory(engine, count)
    finally:
        engine.dispose()
    _STATE["orders"] = _converters(t.orders, ORDER_COLUMNS, dialect)
    _STATE["timeline"] = _converters(t.timeline, ENTRY_COLUMNS, dialect)


def _row(values: dict[str, Any], columns: Sequence[str], procs: list[Converter]) -> tuple[Any, ...]:
    return tuple(
        values[c] if p is None or values[c] is None else p(values[c])
        for c, p in zip(columns, procs, strict=True)
    )


Rows = list[tuple[Any, ...]]


def _batch(task: tuple[int, int]) -> tuple[Rows, Rows, Rows]:
    first, size = task
    factory: YearFactory = _STATE["factory"]
    factory.rng.seed(first)
    orders: Rows = []
    entries: Rows = []
    projected: Rows = []  # order_marks: the projection the repository writes beside the timeline
    built = [factory.order(i) for i in range(first, first + size)]
    for order in built:  # after the whole batch: a merge appends to its target
        assert order.id is not None
        policy = factory.policies.get(order.policy_code)
        values = _order_values(order, policy) | {"id": order.id, "version": 1}
        orders.append(_row(values, ORDER_COLUMNS, _STATE["orders"]))
        for entry in order.new_entries:
            entries.append(_row(_entry_row(order.id, STREET, entry), ENTRY_COLUMNS, _STATE["timeline"]))
        if order_marks := assessed_marks(order.new_entries):
            projected.append((order.id, marks.encode(order_marks)))
    return orders, entries, projected


def _bounded(pool: Any, tasks: Sequence[tuple[int, int]], window: int) -> Iterator[Any]:
    pending: list[Any] = []
    for task in tasks:
        pending.append(pool.apply_async(_batch, (task,)))
        if len(pending) >= window:
            yield pending.pop(0).get()
    while pending:
        yield pending.pop(0).get()


def seed(engine: Engine, url: str, count: int, batch: int = 2_000) -> dict[str, float]:
    dialect = engine.dialect.name
    tasks = [(first, min(batch, count + 1 - first)) for first in range(1, count + 1, batch)]
    started = time.perf_counter()
    done = entries_total = 0
    _init(url, count, dialect)  # here first: an initializer that fails would leave the pool waiting
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        context = multiprocessing.get_context("fork")
        with context.Pool(2, _init, (url, count, dialect)) as pool:
            for orders, entries, projected in _bounded(pool, tasks, window=8):
                if dialect == "sqlite":
                    cursor.execute("BEGIN IMMEDIATE")
                    for name, columns, rows in (
                        ("orders", ORDER_COLUMNS, orders),
                        ("timeline", ENTRY_COLUMNS, entries),
                        ("order_marks", MARKS_COLUMNS, projected),
                    ):
                        holes = ", ".join("?" for _ in columns)
                        cursor.executemany(
                            f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({holes})", rows
                        )
                    cursor.execute("COMMIT")
                else:
                    for name, columns, rows in (
                        ("orders", ORDER_COLUMNS, orders),
                        ("timeline", ENTRY_COLUMNS, entries),
                        ("order_marks", MARKS_COLUMNS, projected),
                    ):
                        with cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copier:
                            for row in rows:
                                copier.write_row(row)
                    raw.commit()
                done += len(orders)
                entries_total += len(entries)
                if done % 20_000 < batch or done == count:
                    progress(
                        f"  seeding {done:,}/{count:,} ({done / (time.perf_counter() - started):,.0f}/s)"
                    )
    finally:
        raw.close()
    # As a running database would be by then: autovacuum has analysed PostgreSQL's tables, and SQLite has
    # checkpointed its write-ahead log (a bulk load leaves it holding every page).
    if dialect == "postgresql":
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    else:
        engine.dispose()  # the pool's connections would keep the log's pages in use
        direct = sqlite3.connect(str(engine.url.database))
        try:
            direct.execute("ANALYZE")
            direct.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            direct.close()
    elapsed = time.perf_counter() - started
    progress(
        f"  seeded {count:,} orders and {entries_total:,} timeline entries in {elapsed:.0f} s", done=True
    )
    return {"seconds": elapsed, "entries": entries_total}


# --- measuring ----------------------------------------------------------------------------------------


def baseline(engine: Engine, since: datetime, until: datetime) -> tuple[int, int]:
    """A bare aggregate over the same rows: orders per area and state, entries per kind."""
    with engine.connect() as connection:
        groups = connection.execute(
            text(
                "SELECT area, state, count(*) FROM orders WHERE street = :s AND received_at >= :a "
                "AND received_at < :b GROUP BY area, state"
            ),
            {"s": STREET, "a": _bind(engine, since), "b": _bind(engine, until)},
        ).all()
        kinds = connection.execute(
            text(
                "SELECT kind, count(*) FROM timeline WHERE order_id IN (SELECT id FROM orders "
                "WHERE street = :s AND received_at >= :a AND received_at < :b) GROUP BY kind"
            ),
            {"s": STREET, "a": _bind(engine, since), "b": _bind(engine, until)},
        ).all()
    return len(groups), len(kinds)


# The peer: the loader as it was before the order_marks projection (main up to migration 0011), each
# order's marks gathered from its timeline entries by the database, with the partial index it had.
_KINDS = "('dispatched', 'reassigned', 'returned', 'reopened', 'loop_closed', 'closed')"
_MARK_KEYS = {
    "dispatched": "assignee",
    "reassigned": "assignee",
    "returned": "previous",
    "reopened": "previous_clocks",
    "loop_closed": "satisfaction",
}


def _value_sql(path: str) -> str:
    whens = " ".join(f"WHEN '{kind}' THEN {path.format(key)}" for kind, key in _MARK_KEYS.items())
    return f"CASE t.kind {whens} END"


_TIMELINE_INDEX = f"CREATE INDEX ix_timeline_assessed ON timeline (order_id, seq) WHERE kind IN {_KINDS}"


class TimelineHistory(SqlOrderHistory):
    """SqlOrderHistory reading each order's marks from the timeline, as before the projection."""

    queries: ClassVar[Mapping[str, str]] = {
        "sqlite": history._SQLITE.replace(
            "o.clocks, m.marks",
            "o.clocks, (SELECT json_group_array(json_array(replace(t.at, ' ', 'T') || 'Z', t.kind, "
            + _value_sql("t.data -> '$.{}'")
            + f")) FROM (SELECT * FROM timeline t WHERE t.order_id = o.id AND t.kind IN {_KINDS} "
            "ORDER BY t.seq) AS t)",
        ).replace("LEFT JOIN order_marks m ON m.order_id = o.id", ""),
        "postgresql": history._POSTGRES.replace(
            "o.clocks::text, m.marks",
            "o.clocks::text, (SELECT coalesce(json_agg(json_build_array(t.at, t.kind, "
            + _value_sql("t.data -> '{}'")
            + f") ORDER BY t.seq), '[]')::text FROM timeline t "
            f"WHERE t.order_id = o.id AND t.kind IN {_KINDS})",
        ).replace("LEFT JOIN order_marks m ON m.order_id = o.id", ""),
    }


def _bind(engine: Engine, at: datetime) -> Any:
    utc = at.astimezone(UTC)
    return utc.replace(tzinfo=None).isoformat(sep=" ") if engine.dialect.name == "sqlite" else utc


def run(backend: str, postgres_url: str | None, count: int, runs: int) -> dict[str, Any]:
    from chengyun.adapters.clock import ManualClock
    from chengyun.bootstrap import build
    from chengyun.settings import Settings
    from chengyun.sim.demo import load_demo_street

    with temp_database(backend, postgres_url) as url:
        center = build(Settings(database_url=url, run_worker=False), clock=ManualClock(NOW))
        try:
            progress(f"{backend}: loading the demo street …", done=True)
            load_demo_street(center, NOW.date(), 1)
            seeded = seed(center.engine, url, count)
            with center.engine.begin() as connection:  # the peer's index, as before migration 0011
                connection.exec_driver_sql(_TIMELINE_INDEX)
                connection.exec_driver_sql("ANALYZE timeline")
            period = period_of(YEAR_START, date(2025, 12, 31))
            service = center.assessment
            assert service is not None
            history = SqlOrderHistory(center.engine)
            before = TimelineHistory(center.engine)
            peer = AssessmentService(before, center.uow, center.clock, center.orders.catalogue, service.cells)
            figures: dict[str, list[float]] = {
                "area": [],
                "staff": [],
                "area_cpu": [],
                "staff_cpu": [],
                "load": [],
                "baseline": [],
                "peer_area": [],
                "peer_load": [],
                "load_cpu": [],
                "peer_area_cpu": [],
                "peer_load_cpu": [],
            }
            result = None
            Path("/proc/self/clear_refs").write_text("5")  # restart the peak RSS (VmHWM) from here
            rss_before = proc_memory_mb()[0]
            for i in range(runs):
                for by in (Dimension.AREA, Dimension.STAFF):
                    started, cpu = time.perf_counter(), time.process_time()
                    result = service.assessment(DIRECTOR, STREET, period, by)
                    figures[by.value].append(time.perf_counter() - started)
                    figures[f"{by.value}_cpu"].append(time.process_time() - cpu)
                started, cpu = time.perf_counter(), time.process_time()
                loaded = history.records(STREET, lookback_start(period), period.end)
                figures["load"].append(time.perf_counter() - started)
                figures["load_cpu"].append(time.process_time() - cpu)
                started, cpu = time.perf_counter(), time.process_time()
                peer_result = peer.assessment(DIRECTOR, STREET, period, Dimension.AREA)
                figures["peer_area"].append(time.perf_counter() - started)
                figures["peer_area_cpu"].append(time.process_time() - cpu)
                started, cpu = time.perf_counter(), time.process_time()
                before.records(STREET, lookback_start(period), period.end)
                figures["peer_load"].append(time.perf_counter() - started)
                figures["peer_load_cpu"].append(time.process_time() - cpu)
                by_area = service.assessment(DIRECTOR, STREET, period, Dimension.AREA).result
                # The projection and the timeline give the same assessment, every figure of every group.
                assert by_area == peer_result.result, "the projection disagrees with the timeline"
                started = time.perf_counter()
                baseline(center.engine, lookback_start(period), period.end)
                figures["baseline"].append(time.perf_counter() - started)
                area, staff = figures["area"][-1], figures["staff"][-1]
                progress(f"  run {i + 1}/{runs}: by area {area:.2f} s, by staff {staff:.2f} s")
            assert result is not None
            totals = result.result.totals
            return {
                "backend": backend,
                "orders": count,
                "assessed_orders": totals.orders,
                "loaded": len(loaded),
                "entries": seeded["entries"],
                "seed_s": seeded["seconds"],
                "seconds": figures,
                "peak_rss_mb": proc_memory_mb()[1],
                "rss_before_mb": rss_before,
                "totals": {k: r.value for k, r in totals.rates().items()} | {"score": totals.score},
            }
        finally:
            center.stop()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--postgres", help="PostgreSQL URL (default: CHENGYUN_TEST_DATABASE_URL)")
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", help="also write the raw figures to this file")
    args = parser.parse_args()
    postgres_url = postgres_base_url(args.postgres)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    load = os.getloadavg()[0]
    print(f"assessment: {args.orders:,} orders over 2025; {args.runs} runs; load average {load:.1f}")
    results = [run(b, postgres_url, args.orders, args.runs) for b in backends]
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    rows = []
    for r in results:
        s = r["seconds"]
        ratio = statistics.median(s["area"]) / statistics.median(s["baseline"])
        rows.append(
            [
                r["backend"],
                f"{r['assessed_orders']:,}",
                f"{r['entries']:,}",
                med_range(s["area"], 2),
                med_range(s["staff"], 2),
                f"{statistics.median(s['area_cpu']):.2f} / {statistics.median(s['staff_cpu']):.2f}",
                med_range(s["load"], 2),
                med_range(s["peer_area"], 2),
                med_range(s["peer_load"], 2),
                f"{statistics.median(s['load_cpu']):.2f} / {statistics.median(s['peer_area_cpu']):.2f}"
                f" / {statistics.median(s['peer_load_cpu']):.2f}",
                med_range(s["baseline"], 2),
                f"{ratio:.1f}×",
                f"{r['peak_rss_mb'] - r['rss_before_mb']:.0f}",
                "yes"
                if max(statistics.median(s["area"]), statistics.median(s["staff"])) < TARGET_S
                else "NO",
            ]
        )
    print()
    print(
        table(
            [
                "backend",
                "orders in 2025",
                "timeline rows",
                "by area s",
                "by staff s",
                "CPU s (area / staff)",
                "load only s",
                "peer: by area from timeline s",
                "peer: load from timeline s",
                "CPU s (load / peer area / peer load)",
                "bare SQL aggregate s",
                "area ÷ bare",
                "peak RSS growth MiB",
                f"< {TARGET_S:g} s",
            ],
            rows,
        )
    )
    for r in results:
        shown = {k: (None if v is None else round(v, 3)) for k, v in r["totals"].items()}
        print(f"\n{r['backend']} street totals: {shown}")
    print(f"\nload average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())

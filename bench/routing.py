"""Routing decisions on the demo street: how long "who gets this order" takes, and what it decides.

What it does
    Loads the demo street 静安寺街道 (JAS: 12 areas, 46 staff, a day's roster) into a fresh SQLite
    center, then makes the street busy: every field worker checks in at a random spot of the street,
    two are on leave, and a few hundred orders are open. For random sites (building centres) and areas
    it times:

    decide      `DutySnapshot.decide`: A → B → nearest available field worker who can arrive in 15
                minutes, with the explanation. This is what each new order pays while the snapshot is
                fresh (it is reloaded every 10 s).
    reload      `load_duty`: reading pairs, roster, leave, workload and check-ins from the database
                (once per street per 10 s, not per order).
    baseline    always the area's A manager (`ABPair.roles_on`), the "naive" dispatch of the simulator.

    It also counts which rule decided (A, B, nearest, fastest, ...).

Run
    .venv/bin/python bench/routing.py [--runs 3] [--decisions 20000] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from chengyun.adapters.clock import ManualClock
from chengyun.bootstrap import build
from chengyun.domain.access import Actor, Role
from chengyun.domain.calendar import SHANGHAI
from chengyun.domain.geo import Point
from chengyun.domain.orders import Contact
from chengyun.domain.places import PlaceKind
from chengyun.services.orders import NewOrder
from chengyun.services.routing import FIELD_POSTS, load_duty
from chengyun.settings import Settings
from chengyun.sim.demo import CLI_ADMIN, STREET, load_demo_street

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import med_range, percentile, table

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone(timedelta(hours=8)))
HOTLINE = Actor(Role.HOTLINE_SYSTEM, frozenset({STREET}), None, "12345", "bench")


def busy_street(folder: Path, seed: int, open_orders: int) -> Any:
    center = build(
        Settings(database_url=f"sqlite:///{folder / 'routing.db'}", run_worker=False), ManualClock(NOW)
    )
    load_demo_street(center, date(2026, 11, 25), 1)
    rng = random.Random(seed)
    buildings = center.directory.places(STREET, PlaceKind.BUILDING)
    sites = [_centre(b.geometry) for b in buildings]
    by_area: dict[str, list[Point]] = {}
    for building, site in zip(buildings, sites, strict=True):
        by_area.setdefault(str(building.props.get("area")), []).append(site)
    with center.uow() as uow:
        staff = [s for s in uow.people.staff(STREET) if s.posts & FIELD_POSTS]
        home = {p.a_staff: p.area for p in uow.people.pairs(STREET)} | {
            p.b_staff: p.area for p in uow.people.pairs(STREET)
        }
    for person in staff:
        # Mostly somewhere in their own area; one time in four out on an errand anywhere in the street.
        own = by_area.get(home.get(person.id, ""), sites)
        spot = rng.choice(own if rng.random() < 0.75 else sites)
        me = Actor(Role.AREA_MANAGER, frozenset({STREET}), person.id, person.name)
        center.directory.check_in(me, spot, NOW - timedelta(minutes=rng.randrange(0, 20)))
    for person in rng.sample(staff, 2):
        center.directory.add_absence(
            CLI_ADMIN, STREET, person.id, NOW - timedelta(hours=1), NOW + timedelta(hours=8), "请假"
        )
    addresses = [str(b.props["address"]) for b in buildings if b.props.get("address")]
    for _ in range(open_orders):
        center.orders.create(
            HOTLINE,
            NewOrder(
                "hotline",
                "200101",
                "人行道地砖翘起",
                address=rng.choice(addresses),
                complainant=Contact("王先生", "13800000000"),
            ),
        )
    areas = [a.code for a in center.directory.places(STREET, PlaceKind.AREA)]
    return center, by_area, areas


def _centre(geometry: dict[str, Any]) -> Point:
    if geometry["type"] == "Point":
        return Point(*geometry["coordinates"])
    ring = geometry["coordinates"][0][:-1]
    return Point(sum(p[0] for p in ring) / len(ring), sum(p[1] for p in ring) / len(ring))


def run(seed: int, decisions: int, open_orders: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        center, by_area, areas = busy_street(Path(folder), seed, open_orders)
        try:
            rng = random.Random(seed + 1)
            reload_ms = []
            for _ in range(50):
                with center.uow() as uow:
                    started = time.perf_counter()
                    duty = load_duty(uow, STREET, NOW)
                    reload_ms.append((time.perf_counter() - started) * 1000)
            places = [(area, site) for area, found in by_area.items() if area in areas for site in found]
            work = [rng.choice(places) for _ in range(decisions)]
            rules: Counter[str] = Counter()
            decide_ms = []
            for area, site in work:
                started = time.perf_counter()
                decision = duty.decide(area, NOW, site, 15.0)
                decide_ms.append((time.perf_counter() - started) * 1000)
                rules[decision.rule if decision else "no_pair"] += 1
            tracemalloc.start()  # separately: tracing slows the timed loop several times over
            for area, site in work[:500]:
                duty.decide(area, NOW, site, 15.0)
            peak_kib = tracemalloc.get_traced_memory()[1] / 1024
            tracemalloc.stop()
            day = NOW.astimezone(SHANGHAI).date()
            naive_ms = []
            for area, _ in work:
                started = time.perf_counter()
                pair = duty.pairs.get(area)
                _ = pair.roles_on(day)[0] if pair else None
                naive_ms.append((time.perf_counter() - started) * 1000)
        finally:
            center.stop()
    return {
        "decide": _summary(decide_ms),
        "reload": _summary(reload_ms),
        "naive": _summary(naive_ms),
        "rules": dict(rules),
        "peak_kib": peak_kib,
        "staff": len(duty.names),
        "open_orders": sum(duty.open_counts.values()),
    }


def _summary(ms: list[float]) -> dict[str, float]:
    return {
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
        "per_s": len(ms) / (sum(ms) / 1000),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--open-orders", type=int, default=40)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = []
    for i in range(args.runs):
        print(f"run {i + 1}/{args.runs} ...", file=sys.stderr, flush=True)
        results.append(run(seed=i, decisions=args.decisions, open_orders=args.open_orders))

    def cell(what: str, key: str, digits: int = 3) -> str:
        return med_range([r[what][key] for r in results], digits)

    rows = [
        [label, cell(what, "p50"), cell(what, "p95"), cell(what, "p99"), cell(what, "per_s", 0)]
        for label, what in (
            ("decide (A → B → nearest)", "decide"),
            ("reload snapshot (per 10 s)", "reload"),
            ("baseline: always A", "naive"),
        )
    ]
    first = results[0]
    print(
        f"\nRouting on the demo street: {first['staff']} staff, {first['open_orders']} open orders, "
        f"{args.decisions} decisions per run, {args.runs} runs; median (min–max)\n"
    )
    print(table(["path", "p50 ms", "p95 ms", "p99 ms", "per second"], rows))
    rules: Counter[str] = Counter()
    for r in results:
        rules.update(r["rules"])
    total = sum(rules.values())
    print("\nWho decided (all runs):\n")
    print(table(["rule", "share"], [[k, f"{v / total:.1%}"] for k, v in rules.most_common()]))
    print(f"\nPeak traced memory while deciding: {statistics.median(r['peak_kib'] for r in results):.0f} KiB")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

"""The simulator end to end: deterministic for a seed, a report that agrees with its orders, sensor faults
that become alarms and orders."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import select

from chengyun.adapters.db import tables as t
from chengyun.adapters.db.engine import make_engine
from chengyun.adapters.db.uow import unit_of_work_factory
from chengyun.domain.sla import STAGES
from chengyun.services.ports import OrderQuery
from chengyun.sim import jingansi
from chengyun.sim.day import Options, run
from chengyun.sim.demand import day_script

MORNING = datetime(2026, 11, 25, 9, 0, tzinfo=jingansi.CST)  # a Wednesday: everyone on shift


def _without_timing(report: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in report.items() if k != "run"}


def test_two_runs_with_the_same_seed_give_the_same_report() -> None:
    options = Options(hours=0.5, seed=11, load=2, start=MORNING, sensors=0)
    first, second = run(options), run(options)
    assert _without_timing(first) == _without_timing(second)
    assert first["orders"]["total"] > 5  # type: ignore[index]


def test_another_seed_gives_another_day() -> None:
    first, _ = day_script(11, MORNING, 3, 1)
    other, _ = day_script(12, MORNING, 3, 1)
    assert [(r.at, r.text) for r in first] != [(r.at, r.text) for r in other]
    assert first == day_script(11, MORNING, 3, 1)[0]


def test_the_report_agrees_with_the_orders_it_created(database_url: str) -> None:
    report = run(Options(hours=1.5, seed=5, load=2, start=MORNING, sensors=0, database_url=database_url))
    engine = make_engine(database_url)
    try:
        with unit_of_work_factory(engine)() as uow:
            page = uow.orders.search(OrderQuery(street="JAS", limit=1000))
            timeline = {o.id: uow.orders.timeline(o.id) for o in page.items if o.id is not None}
        with engine.connect() as c:
            stored = c.execute(select(t.orders.c.source)).scalars().all()
    finally:
        engine.dispose()
    orders = page.items
    assert report["orders"]["total"] == len(orders) == len(stored)
    assert report["orders"]["by_source"] == dict(sorted(Counter(stored).items()))
    end = datetime.fromisoformat(report["settled_at"])
    # Recount each stage from the timeline's own entries: when the stage's action happened against the
    # deadline the order's clocks promised.
    kinds = {
        "respond": "responded",
        "arrive": "arrived",
        "handle": ("handled", "planned"),
        "close": "loop_closed",
    }
    for stage in STAGES:
        met = missed = 0
        for order in orders:
            clock = order.clocks.get(stage)
            if clock is None:
                continue
            wanted = kinds[stage.value]
            done = [
                e.at
                for e in timeline[order.id]
                if e.kind in (wanted if isinstance(wanted, tuple) else (wanted,))
            ]
            if done:
                met += done[0] <= clock.due_at
                missed += done[0] > clock.due_at
            elif end > clock.due_at:
                missed += 1
        tally = report["stages"][stage.value]
        assert (tally["met"], tally["missed"] - _unstarted(orders, stage, end)) == (met, missed), stage
    shares = report["on_time"]
    assert shares["all"] == round(
        report["stages"]["all"]["met"] / (report["stages"]["all"]["met"] + report["stages"]["all"]["missed"]),
        4,
    )
    assert report["overdue"] == report["stages"]["all"]["missed"]
    assert sum(h["orders"] for h in report["per_hour"]) == len(orders)


def _unstarted(orders: list, stage: object, end: datetime) -> int:
    """Stages never started because an earlier one was missed: counted as missed by the report."""
    from chengyun.sim.outcome import MISSED, stage_outcome

    return sum(1 for o in orders if stage not in o.clocks and stage_outcome(o, stage, end) == MISSED)


def test_a_gas_leak_injected_into_a_sensor_raises_alarms_and_files_an_order() -> None:
    report = run(
        Options(hours=1.0, seed=7, load=0.2, start=MORNING.replace(hour=17, minute=30), sensors=0.08)
    )
    gas = [s for s in report["sensors"]["scenarios"] if "燃气泄漏" in s]
    assert gas, report["sensors"]["scenarios"]
    assert report["alarms"]["raised_by_colour"].get("red", 0) >= 1
    assert report["orders"]["by_source"].get("sensor", 0) >= 1
    assert report["alarms"]["orders"] == report["orders"]["by_source"]["sensor"]
    assert report["sensors"]["readings"] > 0

"""Dispatch in the simulated street: who goes at night, and who the busy 12345 desk calls first."""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from chengyun.adapters.clock import ManualClock
from chengyun.adapters.db.engine import make_engine
from chengyun.adapters.db.uow import unit_of_work_factory
from chengyun.bootstrap import build
from chengyun.domain.access import Actor, Role
from chengyun.domain.orders import Contact, WorkOrder
from chengyun.domain.severity import Colour
from chengyun.services.orders import NewOrder
from chengyun.services.ports import OrderQuery
from chengyun.settings import Settings
from chengyun.sim import jingansi
from chengyun.sim.day import Options, peak_cover, run
from chengyun.sim.demand import day_script
from chengyun.sim.demo import STREET, load_demo_street
from chengyun.sim.engine import JumpPacer, Simulation

NIGHT = datetime(2026, 11, 25, 1, 0, tzinfo=jingansi.CST)  # a Wednesday, 01:00


def day_orders(database_url: str) -> list[WorkOrder]:
    """The orders a simulated run left in its database."""
    engine = make_engine(database_url)
    try:
        with unit_of_work_factory(engine)() as uow:
            return uow.orders.search(OrderQuery(street="JAS", limit=500)).items
    finally:
        engine.dispose()


def test_a_night_order_gets_a_night_duty_responder_who_arrives_in_time(database_url: str) -> None:
    report = run(Options(hours=2, seed=7, load=2, start=NIGHT, sensors=0, database_url=database_url))
    orders = day_orders(database_url)
    assert orders
    night = set(jingansi.night_team())
    assert {o.assignee for o in orders} <= night
    assert report["stages"]["arrive"]["met"] >= 1
    assert report["staff"]["utilisation"] > 0
    assert not any("没有在班的外勤" in line for line in report["why"])


def test_a_red_order_is_called_before_older_blue_ones_on_a_busy_desk() -> None:
    at = NIGHT.replace(hour=3)  # two handlers on the 12345 desk
    with tempfile.TemporaryDirectory() as tmp:
        clock = ManualClock(at)
        center = build(
            Settings(database_url=f"sqlite:///{Path(tmp) / 'sim.db'}", run_worker=False), clock=clock
        )
        try:
            load_demo_street(center, at.date() - timedelta(days=1), 3, [], community=False)
            sim = Simulation(center, STREET, 7, at, at + timedelta(hours=1), [], JumpPacer(clock))
            sim.prepare()
            reports, _ = day_script(7, NIGHT.replace(hour=9), 3, 2)
            calls = [r for r in reports if r.caller is not None][:5]
            desk = Actor(Role.HOTLINE_SYSTEM, frozenset({STREET}), None, "12345", "sim-hotline")
            ids = []
            for k, r in enumerate(calls):  # four blue calls, then a red one, seconds apart
                clock.set(at + timedelta(seconds=10 * k))
                order = center.orders.create(
                    desk,
                    NewOrder(
                        source="hotline",
                        category=r.category,
                        description=r.text,
                        street=STREET,
                        point=r.point,
                        colour=Colour.RED if k == 4 else Colour.BLUE,
                        complainant=Contact(*r.caller),  # type: ignore[misc]
                    ),
                ).order
                assert order.id is not None
                ids.append(order.id)
                sim._after_create(order, clock.now(), r.area)
            sim.run()
            sim.close()
            with center.uow() as uow:
                answered = {
                    i: next(e.at for e in uow.orders.timeline(i) if e.kind == "responded") for i in ids
                }
            red = center.orders.get(desk, ids[4])
        finally:
            center.stop()
    assert red.colour is Colour.RED
    *blue, red_at = (answered[i] for i in ids)
    assert red_at < max(blue)  # it jumped the queue of blue orders received before it
    assert red_at - red.received_at <= timedelta(minutes=3)  # and met its 3-minute first contact


def test_the_peak_cover_what_if_puts_new_people_in_the_field_at_the_peaks(database_url: str) -> None:
    """`--peak-cover N`: N new field staff on a split shift at the peaks, posted in areas spread out
    over the street, who take orders like anyone on shift."""
    people, shifts = peak_cover(NIGHT, 1, 3)
    staff = list(csv.DictReader(io.StringIO(people)))
    roster = list(csv.DictReader(io.StringIO(shifts)))
    known = jingansi.staff()
    assert len(staff) == 3 and {p["posts"] for p in staff} == {"chief_responder"}
    assert not {p["id"] for p in staff} & {p["id"] for p in known}
    assert not {p["name"] for p in staff} & {p["name"] for p in known}
    assert len({r["area"] for r in roster}) == 3  # one area office each
    hours = sorted(
        {(datetime.fromisoformat(r["start"]).hour, datetime.fromisoformat(r["end"]).hour) for r in roster}
    )
    assert hours == [(8, 13), (15, 19)]

    morning = NIGHT + timedelta(hours=8)  # 09:00
    report = run(
        Options(hours=2, seed=7, load=2, start=morning, sensors=0, peak_cover=3, database_url=database_url)
    )
    assert report["peak_cover"] == 3
    orders = day_orders(database_url)
    assert {o.assignee for o in orders} & {p["id"] for p in staff}

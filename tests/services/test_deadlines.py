"""The deadline worker on a real database: alerts fire once, survive a restart, and two workers share."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from chengyun.adapters.clock import ManualClock
from chengyun.bootstrap import Center, build
from chengyun.domain.access import Role
from chengyun.domain.orders import Contact
from chengyun.services.deadlines import fire_due
from chengyun.services.orders import NewOrder
from chengyun.settings import Settings
from street import T0, Recorder, load_street, person

HOTLINE = person(Role.HOTLINE_SYSTEM)
DESK = person(Role.HOTLINE_HANDLER, "H1", "孙丽")


def new_order(center: Center, address: str = "愚园路608弄6号") -> int:
    command = NewOrder(
        source="hotline",
        category="200101",
        description="人行道地砖翘起",
        address=address,
        complainant=Contact("唐女士", "13812345678"),
    )
    order_id = center.orders.create(HOTLINE, command).order.id
    assert order_id is not None
    return order_id


def alerts(center: Center, order_id: int) -> list[tuple[str, str, str | None]]:
    return [
        (e.kind, str(e.data.get("stage")), e.data.get("notify"))
        for e in center.orders.timeline(DESK, order_id)
        if e.kind in ("deadline_warning", "deadline_overdue", "escalated")
    ]


def test_nothing_fires_before_its_time(center: Center, clock: ManualClock) -> None:
    order_id = new_order(center)
    clock.advance(minutes=3, seconds=59)
    assert center.worker.run_once() == 0
    assert alerts(center, order_id) == []


def test_the_ladder_reaches_real_people_from_the_roster(center: Center, clock: ManualClock) -> None:
    order_id = new_order(center)  # A1 at 09:00: M1 is A; M2 is B; O1 is the duty officer; D1 the director
    clock.advance(minutes=4)
    center.worker.run_once()
    clock.advance(minutes=1)
    center.worker.run_once()
    assert alerts(center, order_id) == [
        ("deadline_warning", "respond", None),
        ("deadline_overdue", "respond", None),
        ("escalated", "respond", "M2"),
    ]
    clock.advance(minutes=10)
    center.worker.run_once()
    notified = [
        n for kind, stage, n in alerts(center, order_id) if kind == "escalated" and stage == "respond"
    ]
    assert notified == ["M2", "O1", "D1"]
    order = center.orders.get(DESK, order_id)
    assert order.escalation_level == 3 and order.is_overdue(clock.now())


def test_events_reach_subscribers_once(center: Center, clock: ManualClock, recorder: Recorder) -> None:
    order_id = new_order(center)
    clock.advance(minutes=4)
    center.worker.run_once()
    center.worker.run_once()
    assert recorder.kinds(order_id).count("deadline_warning") == 1


def test_a_completed_stage_cancels_its_pending_alerts(center: Center, clock: ManualClock) -> None:
    order_id = new_order(center)
    clock.advance(minutes=2)
    center.orders.respond(DESK, order_id, "已先联")
    clock.advance(minutes=4)
    center.worker.run_once()
    assert alerts(center, order_id) == []


def test_pending_deadlines_survive_a_restart_and_fire_once(database_url: str, clock: ManualClock) -> None:
    first = build(Settings(database_url=database_url, run_worker=False), clock=clock, migrate=False)
    load_street(first)
    ids = [new_order(first) for _ in range(3)]
    clock.advance(minutes=4)
    first.worker.run_once()  # warnings fire before the "crash"
    first.stop()

    clock.advance(minutes=1)
    second = build(Settings(database_url=database_url, run_worker=False), clock=clock, migrate=False)
    try:
        second.worker.run_once()
        for order_id in ids:
            kinds = Counter(kind for kind, _, _ in alerts(second, order_id))
            assert kinds == {"deadline_warning": 1, "deadline_overdue": 1, "escalated": 1}
    finally:
        second.stop()


@pytest.mark.postgres
def test_two_workers_on_postgresql_never_fire_an_alert_twice(postgres_url: str, clock: ManualClock) -> None:
    centers = [
        build(Settings(database_url=postgres_url, run_worker=False), clock=clock, migrate=False)
        for _ in range(2)
    ]
    load_street(centers[0])
    ids = [new_order(centers[0], a) for a in ["愚园路608弄6号", "南京西路1618号"] * 20]
    clock.advance(minutes=16)
    handled: list[int] = []
    start = threading.Barrier(2)

    def work(center: Center) -> None:
        start.wait()
        while True:
            n = fire_due(center.uow, clock, center.bus.publish, center.orders, batch=3)
            handled.append(n)
            if n == 0:
                return

    threads = [threading.Thread(target=work, args=(c,)) for c in centers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert sum(handled) >= len(ids)
        for order_id in ids:
            fired = Counter(alerts(centers[0], order_id))
            assert all(count == 1 for count in fired.values()), fired
            assert sum(1 for kind, stage, _ in fired if kind == "escalated" and stage == "respond") == 3
    finally:
        for c in centers:
            c.stop()


def test_clock_time_not_wall_time_drives_the_deadlines(center: Center, clock: ManualClock) -> None:
    order_id = new_order(center)
    assert center.orders.get(DESK, order_id).received_at == T0
    clock.advance(hours=2)
    center.worker.run_once()
    kinds = Counter(kind for kind, _, _ in alerts(center, order_id))
    assert kinds["deadline_overdue"] == 2  # respond and arrive, each once, however late the worker is

"""The history loader reads what assessment needs in one query; it must agree with the orders and
their whole timelines as the order service stores them (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from chengyun.adapters.clock import ManualClock
from chengyun.adapters.db import history
from chengyun.adapters.db.history import SqlOrderHistory
from chengyun.bootstrap import Center
from chengyun.domain.access import Role
from chengyun.domain.assessment import OrderRecord
from chengyun.domain.geo import Point
from chengyun.domain.orders import ReturnReason, Satisfaction
from street import ADMIN, STREET, T0, person, tile

HOTLINE = person(Role.HOTLINE_SYSTEM)
DESK = person(Role.HOTLINE_HANDLER, "H1", "孙丽")
M1, M2 = person(Role.AREA_MANAGER, "M1"), person(Role.AREA_MANAGER, "M2")
DUTY = person(Role.DUTY_OFFICER, "O1", "周强")
B1 = Point(121.442, 31.225)


def test_the_history_query_reads_the_projection_not_the_timeline(center: Center) -> None:
    assert "timeline" not in history._SQLITE and "timeline" not in history._POSTGRES
    if center.engine.dialect.name == "sqlite":  # each order's marks found by its key, not scanned
        with center.engine.connect() as connection:
            plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + history._SQLITE, history_params()).all()
        assert any("SEARCH m USING INTEGER PRIMARY KEY" in str(step) for step in plan), plan


def history_params() -> dict[str, str]:
    return {"street": STREET, "since": "2026-01-01 00:00:00.000000", "until": "2027-01-01 00:00:00.000000"}


def test_records_match_the_orders_and_their_full_timelines(center: Center, clock: ManualClock) -> None:
    service = center.orders
    done = service.create(HOTLINE, tile()).order.id or 0
    service.respond(M1, done)
    clock.advance(minutes=3)
    service.arrive(M1, done, B1)
    service.handle(M1, done, "已修复")
    service.close_loop(DESK, done, "已回访", Satisfaction.UNSATISFIED)
    service.reopen(DUTY, done, "诉求人不满意")
    returned = service.create(HOTLINE, tile(address="南京西路1618号")).order.id or 0
    service.return_order(person(Role.AREA_MANAGER, "M3"), returned, ReturnReason.WRONG_AREA, "不属本居民区")
    service.dispatch(DESK, returned, "M2")
    suspended = service.create(HOTLINE, tile(description="路灯不亮", category="100118")).order.id or 0
    service.suspend(DUTY, suspended, "待统一改造")
    clock.advance(hours=1)
    outside = service.create(HOTLINE, tile()).order.id or 0  # received after the window below

    history = SqlOrderHistory(center.engine)
    loaded = history.records(STREET, T0 - timedelta(hours=1), T0 + timedelta(minutes=30))
    assert [r.id for r in loaded] == [done, returned, suspended]
    assert outside not in [r.id for r in loaded]
    for record in loaded:
        order = service.get(ADMIN, record.id)
        expected = OrderRecord.of(order, service.timeline(ADMIN, record.id))
        assert record._replace(clocks=(), marks=tuple(record.marks)) == expected._replace(clocks=())
        assert [(c.stage, c.due_at, c.done_at) for c in record.clocks] == list(expected.clocks)
    reopened = loaded[0]
    assert [m.kind for m in reopened.marks] == ["dispatched", "loop_closed", "reopened"]
    assert reopened.marks[1].value == "unsatisfied" and reopened.marks[0].value == "M1"
    assert [m.kind for m in loaded[1].marks] == ["dispatched", "returned", "dispatched"]
    assert history.records("another-street", T0 - timedelta(days=1), T0 + timedelta(days=1)) == []

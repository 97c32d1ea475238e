"""The order_marks projection agrees with the timeline it is kept beside (SQLite and PostgreSQL): for
generated histories, random walks through the order service, every order loaded for assessment equals
the order read with its whole timeline, and so does every figure; and the migration that brought the
projection in fills it for the orders already stored."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from chengyun.adapters.clock import ManualClock
from chengyun.adapters.db import migrate, tables
from chengyun.adapters.db.history import SqlOrderHistory
from chengyun.bootstrap import Center
from chengyun.domain.access import Role
from chengyun.domain.assessment import Dimension, OrderRecord, Period, assess
from chengyun.domain.errors import DomainError
from chengyun.domain.geo import Point
from chengyun.domain.orders import OrderState, ReturnReason, Satisfaction
from chengyun.domain.sla import Stage
from street import ADMIN, STREET, T0, person, tile

HOTLINE = person(Role.HOTLINE_SYSTEM)
DESK = person(Role.HOTLINE_HANDLER, "H1", "孙丽")
DUTY = person(Role.DUTY_OFFICER, "O1", "周强")
MANAGERS = ["M1", "M2", "M3", "M4"]
PLACES = [
    {},
    {"address": "南京西路1618号"},
    {"category": "100118", "description": "路灯不亮"},
    {"address": "", "point": Point(121.4431, 31.2262)},
]
WHOLE_WEEK = (T0 - timedelta(days=1), T0 + timedelta(days=8))

Step = Callable[[Center, random.Random, int], object]


def holder(center: Center, order_id: int) -> object:
    """The person who has the order (a manager's steps are taken by them), or M1."""
    assignee = center.orders.get(ADMIN, order_id).assignee or "M1"
    return person(Role.AREA_MANAGER, assignee)


RESPOND, ARRIVE, HANDLE, CLOSE_LOOP, CLOSE, REOPEN, RETURN, DISPATCH, SUSPEND, RESUME, MERGE = range(11)
STEPS: list[Step] = [
    lambda c, r, i: c.orders.respond(holder(c, i), i),  # type: ignore[arg-type]
    lambda c, r, i: c.orders.arrive(holder(c, i), i, Point(121.442, 31.225)),  # type: ignore[arg-type]
    lambda c, r, i: c.orders.handle(holder(c, i), i, "已处理"),  # type: ignore[arg-type]
    lambda c, r, i: c.orders.close_loop(DESK, i, "已回访", r.choice([*Satisfaction, None])),
    lambda c, r, i: c.orders.close(DESK, i, "结案"),
    lambda c, r, i: c.orders.reopen(DUTY, i, "诉求人不满意"),
    lambda c, r, i: c.orders.return_order(
        holder(c, i),  # type: ignore[arg-type]
        i,
        ReturnReason.WRONG_AREA,
        "不属本居民区",
    ),
    lambda c, r, i: c.orders.dispatch(DESK, i, r.choice(MANAGERS)),
    lambda c, r, i: c.orders.suspend(DUTY, i, "待统一改造"),
    lambda c, r, i: c.orders.resume(DUTY, i),
    lambda c, r, i: c.orders.merge(DESK, i, r.randrange(1, i + 1)),
]
# The usual next step in each state (the walk takes it most of the time, so lives get far).
NEXT = {
    OrderState.RECEIVED: DISPATCH,
    OrderState.DISPATCHED: RESPOND,
    OrderState.RETURNED: DISPATCH,
    OrderState.RESPONDED: ARRIVE,
    OrderState.ON_SITE: HANDLE,
    OrderState.HANDLED: CLOSE_LOOP,
    OrderState.LOOP_CLOSED: CLOSE,
    OrderState.CLOSED: REOPEN,
    OrderState.SUSPENDED: RESUME,
}


def generate(center: Center, clock: ManualClock, seed: int, orders: int = 10, steps: int = 120) -> list[int]:
    """Orders with random lives: every step a random action on a random order, legal or not (a refused
    one changes nothing), and the clock moves on minutes to hours, so some stages run late."""
    rng = random.Random(seed)
    ids: list[int] = []
    for _ in range(steps):
        if len(ids) < orders and (not ids or rng.random() < 0.25):
            created = center.orders.create(HOTLINE, tile(**rng.choice(PLACES)))
            assert created.order.id is not None
            ids.append(created.order.id)
        else:
            order_id = rng.choice(ids)
            state = center.orders.get(ADMIN, order_id).state
            usual = NEXT.get(state)
            step = usual if usual is not None and rng.random() < 0.6 else rng.randrange(len(STEPS))
            with contextlib.suppress(DomainError):  # refused: nothing changed
                STEPS[step](center, rng, order_id)
        clock.advance(minutes=rng.choice([1, 3, 10, 40, 90, 300]))
    return ids


def from_timelines(center: Center, ids: list[int]) -> list[OrderRecord]:
    service = center.orders
    return [OrderRecord.of(service.get(ADMIN, i), service.timeline(ADMIN, i)) for i in ids]


def assert_same_records(loaded: list[OrderRecord], expected: list[OrderRecord]) -> None:
    assert [r.id for r in loaded] == [r.id for r in expected]
    for record, truth in zip(loaded, expected, strict=True):
        assert record._replace(clocks=(), marks=tuple(record.marks)) == truth._replace(clocks=())
        assert [(c.stage, c.due_at, c.done_at) for c in record.clocks] == [
            (c.stage, c.due_at, c.done_at) for c in truth.clocks
        ]


def assert_same_figures(center: Center, loaded: list[OrderRecord], expected: list[OrderRecord]) -> None:
    departments = {c.code: c.department for c in center.orders.catalogue(STREET)}.get
    period = Period(T0 - timedelta(hours=1), T0 + timedelta(days=3))
    for now in (center.clock.now(), center.clock.now() + timedelta(days=2)):
        for by in Dimension:
            assert assess(loaded, period, by, now, departments) == assess(
                expected, period, by, now, departments
            )


@pytest.mark.parametrize("seed", range(4))
def test_the_projection_gives_every_order_and_figure_its_timeline_gives(
    center: Center, clock: ManualClock, seed: int
) -> None:
    ids = generate(center, clock, seed)

    loaded = SqlOrderHistory(center.engine).records(STREET, *WHOLE_WEEK)
    expected = from_timelines(center, ids)

    assert_same_records(loaded, expected)
    assert_same_figures(center, loaded, expected)
    # The walks did reach the entries that matter.
    kinds = {m.kind for r in expected for m in r.marks}
    assert {"dispatched", "returned", "loop_closed", "closed", "reopened"} <= kinds, kinds


def test_the_projection_follows_an_order_through_rounds_and_returns(
    center: Center, clock: ManualClock
) -> None:
    service = center.orders
    order = service.create(HOTLINE, tile()).order.id or 0
    m1 = person(Role.AREA_MANAGER, "M1")
    service.respond(m1, order)
    clock.advance(hours=3)  # late to arrive
    service.arrive(m1, order, Point(121.442, 31.225))
    service.handle(m1, order, "已修复")
    service.close_loop(DESK, order, "已回访", Satisfaction.UNSATISFIED)
    service.reopen(DUTY, order, "诉求人不满意")
    service.return_order(m1, order, ReturnReason.WRONG_AREA, "不属本居民区")
    service.dispatch(DESK, order, "M2")

    (loaded,) = SqlOrderHistory(center.engine).records(STREET, *WHOLE_WEEK)

    assert [m.kind for m in loaded.marks] == [
        "dispatched",
        "loop_closed",
        "reopened",
        "returned",
        "dispatched",
    ]
    assert [m.value for m in loaded.marks][:2] == ["M1", "unsatisfied"]
    assert loaded.marks[3].value == "M1" and loaded.marks[4].value == "M2"
    assert loaded.marks[2].value[Stage.ARRIVE.value]["done_at"] is not None  # the round it ended
    assert_same_records([loaded], from_timelines(center, [order]))


def test_the_migration_fills_the_projection_of_orders_stored_before_it(
    center: Center, clock: ManualClock
) -> None:
    ids = generate(center, clock, seed=7)
    expected = from_timelines(center, ids)
    kinds = {m.kind for r in expected for m in r.marks}
    assert {"dispatched", "returned", "loop_closed", "closed", "reopened"} <= kinds, kinds
    with center.engine.connect() as connection:
        written = connection.execute(select(func.count()).select_from(tables.order_marks)).scalar_one()

    migrate.downgrade(center.engine, "0010")  # as before the projection: the timelines alone
    migrate.upgrade(center.engine)

    with center.engine.connect() as connection:
        filled = connection.execute(select(func.count()).select_from(tables.order_marks)).scalar_one()
    assert filled == written == sum(1 for r in expected if r.marks)
    loaded = SqlOrderHistory(center.engine).records(STREET, *WHOLE_WEEK)
    assert_same_records(loaded, expected)
    assert_same_figures(center, loaded, expected)
    # And the projection goes on from the backfilled rows.
    moved = 0
    for record in expected:
        try:
            center.orders.dispatch(DESK, record.id, "M3")
            moved += bool(record.marks)
        except DomainError:
            pass
    assert moved
    assert_same_records(
        SqlOrderHistory(center.engine).records(STREET, *WHOLE_WEEK), from_timelines(center, ids)
    )

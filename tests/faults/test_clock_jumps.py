"""The wall clock stepping forward and back (an NTP correction, a mis-set clock put right) under two
deadline workers sharing one PostgreSQL: every alert that has come due fires once, none twice, none
early, and a step back fires nothing again."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from chengyun.bootstrap import Center, build
from chengyun.domain.access import Role
from chengyun.settings import Settings
from district import street_database
from street import person, tile
from throwaway import PostgresCluster, wait_for


class SteppedClock:
    """The machine's wall clock, with the steps an operating system would make to it."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def real_seconds_until(self, at: datetime) -> float:
        return (at - self.now()).total_seconds()


ALERTS = text(
    """
    SELECT order_id, kind, data->>'stage', coalesce(data->>'rung', '') FROM timeline
    WHERE kind IN ('deadline_warning', 'deadline_overdue', 'escalated')
    """
)


@pytest.fixture
def clock() -> SteppedClock:
    return SteppedClock()


@pytest.fixture
def centers(own_postgres: PostgresCluster, clock: SteppedClock) -> Iterator[list[Center]]:
    """Two processes' worth of deadline workers on one database and one (stepping) clock."""
    url = street_database(own_postgres)
    centers = [
        build(Settings(database_url=url, run_worker=True), clock=clock, migrate=False) for _ in range(2)
    ]
    try:
        yield centers
    finally:
        for center in centers:
            center.stop()


def alerts(center: Center) -> Counter[tuple[int, str, str, str]]:
    with center.engine.connect() as connection:
        return Counter(tuple(row) for row in connection.execute(ALERTS))


def settle(centers: list[Center]) -> None:
    """Lets every worker finish two more rounds: whatever was due by now has fired."""
    marks = [c.worker.rounds for c in centers]
    wait_for(
        lambda: all(c.worker.rounds >= m + 2 for c, m in zip(centers, marks, strict=True)), "worker rounds"
    )


def expected(orders: list[int], *stages: tuple[str, str, str]) -> Counter[tuple[int, str, str, str]]:
    return Counter((order, kind, stage, rung) for order in orders for kind, stage, rung in stages)


RESPOND_LATE = [
    ("deadline_overdue", "respond", ""),
    ("escalated", "respond", "partner"),  # at 100 % of its 5 minutes
    ("escalated", "respond", "duty_officer"),  # at 200 %
]


def test_deadlines_fire_once_when_the_wall_clock_steps_forward_and_back(
    centers: list[Center], clock: SteppedClock
) -> None:
    desk = person(Role.HOTLINE_HANDLER, "H1")
    # Five different problems: five reports of one would be graded up as a repeated problem (red, with
    # its tighter deadlines), which is grading's business, not this test's.
    problems = ["100101", "100103", "100120", "200101", "200104"]
    orders = [centers[0].orders.create(desk, tile(category=c)).order.id for c in problems]
    assert all(o is not None for o in orders)
    for center in centers:
        center.start()
    settle(centers)
    assert alerts(centers[0]) == Counter()  # nothing is due yet

    clock.offset = timedelta(minutes=11)  # forward past the response deadline and its second rung
    settle(centers)
    # The warning due at 4 minutes is superseded by the overdue notice it came too late for.
    assert alerts(centers[0]) == expected(orders, *RESPOND_LATE)

    clock.offset = timedelta(minutes=-19)  # back, to before the orders were received
    settle(centers)
    assert alerts(centers[0]) == expected(orders, *RESPOND_LATE)

    clock.offset = timedelta(minutes=20)  # forward again, past the arrival deadline
    settle(centers)
    assert alerts(centers[0]) == expected(
        orders,
        *RESPOND_LATE,
        ("escalated", "respond", "director"),  # at 300 %: 15 minutes
        ("deadline_overdue", "arrive", ""),  # 15 minutes from receipt
        ("escalated", "arrive", "partner"),
    )

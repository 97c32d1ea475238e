"""Analysis and judgement: a seeded stubborn problem (delivery e-bikes on the pavement at lunchtime around an
office tower) is found among random noise with the right patrol window and place; hot spots, trends and the
daily brief."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from chengyun.domain.analysis import (
    Labels,
    brief,
    day_period,
    hotspots,
    patrol_window,
    recurrences,
    trends,
)
from chengyun.domain.assessment import ClockMark, Dimension, Mark, OrderRecord, Period
from chengyun.domain.calendar import SHANGHAI
from chengyun.domain.geo import Point
from chengyun.domain.orders import OrderState
from chengyun.domain.sla import Stage

TOWER = Point(121.4490, 31.2280)  # an office tower's door
EBIKES = "050104"
FIRST_MONDAY = date(2026, 10, 5)
LABELS = Labels(
    {EBIKES: "非机动车乱停放", "200101": "人行道板"}, {"a1": "嘉园居民区"}, {"m1": "李思远"}, {}, {}
)


class SquareCells:
    """A stand-in PlaceIndex: squares of 0.0007° (about 70 m) with their eight neighbours."""

    SIZE = 0.0007

    def cell(self, point: Point) -> str:
        return f"{math.floor(point.lon / self.SIZE)}:{math.floor(point.lat / self.SIZE)}"

    def neighbours(self, cell: str) -> Iterable[str]:
        x, y = (int(v) for v in cell.split(":"))
        return [f"{x + dx}:{y + dy}" for dx in (-1, 0, 1) for dy in (-1, 0, 1) if dx or dy]

    def centre(self, cell: str) -> Point:
        x, y = (int(v) for v in cell.split(":"))
        return Point((x + 0.5) * self.SIZE, (y + 0.5) * self.SIZE)

    def count_in(self, geometry: object) -> int:
        return STREET_SQUARES


STREET_SQUARES = round(0.012 / SquareCells.SIZE) ** 2  # the random orders' square of the street


def record(
    oid: int,
    at: datetime,
    category: str,
    point: Point,
    address: str,
    state: OrderState = OrderState.CLOSED,
    clocks: tuple[ClockMark, ...] = (),
    marks: tuple[Mark, ...] = (),
) -> OrderRecord:
    return OrderRecord(oid, at, category, "a1", "g1", None, point, address, state, "m1", None, clocks, marks)


def seeded(seed: int = 5) -> list[OrderRecord]:
    """Eight weeks: on every workday one or two e-bike complaints within 40 m of the tower between 11:00
    and 13:30, and 120 complaints of ten kinds at random places and times of the street."""
    rng = random.Random(seed)
    found: list[OrderRecord] = []
    for day in range(56):
        d = FIRST_MONDAY + timedelta(days=day)
        if d.weekday() >= 5:
            continue
        for _ in range(rng.choice((1, 1, 2))):
            minute = rng.uniform(11 * 60, 13 * 60 + 30)
            at = datetime.combine(d, time(0), SHANGHAI) + timedelta(minutes=minute)
            near = Point(TOWER.lon + rng.uniform(-0.0004, 0.0004), TOWER.lat + rng.uniform(-0.0003, 0.0003))
            address = rng.choice(["南京西路1266号", "南京西路1266号", "恒隆广场"])
            found.append(record(len(found) + 1, at, EBIKES, near, address))
    kinds = [EBIKES, "200101", "100118", "010101", "900101", "050102", "020101", "040104", "900102", "100101"]
    for _ in range(120):
        at = datetime.combine(FIRST_MONDAY, time(0), SHANGHAI) + timedelta(
            minutes=rng.uniform(0, 56 * 24 * 60)
        )
        where = Point(121.440 + rng.uniform(0, 0.012), 31.220 + rng.uniform(0, 0.012))
        found.append(record(len(found) + 1, at, rng.choice(kinds), where, f"随机地址{len(found)}号"))
    return found


def test_the_seeded_lunchtime_e_bike_problem_is_found_with_its_patrol_window_and_place() -> None:
    records = seeded()
    (problem,) = recurrences(records, SquareCells())
    assert problem.category == EBIKES
    planted = {r.id for r in records if r.address in ("南京西路1266号", "恒隆广场")}
    assert planted <= set(problem.orders)
    # A random e-bike complaint that happens to fall within the cluster's squares belongs to it too.
    by_id = {r.id: r for r in records}
    for extra in set(problem.orders) - planted:
        point = by_id[extra].point
        assert point is not None and by_id[extra].category == EBIKES
        assert abs(point.lon - TOWER.lon) < 0.0025 and abs(point.lat - TOWER.lat) < 0.0025
    assert problem.window == (time(11, 0), time(13, 30)) and problem.window_share >= 0.9
    assert problem.days_of_week == "workdays"
    assert problem.landmark == "南京西路1266号"
    assert abs(problem.point.lon - TOWER.lon) < 0.0002 and abs(problem.point.lat - TOWER.lat) < 0.0002
    assert problem.suggestion("非机动车乱停放").startswith("建议工作日 11:00–13:30 在南京西路1266号附近")


def test_on_a_busy_street_only_what_stands_out_from_the_background_is_stubborn() -> None:
    rng = random.Random(9)
    start = datetime(2026, 11, 2, tzinfo=SHANGHAI)
    # A month of a busy street: 600 complaints of one kind spread evenly, no spot of its own.
    busy = [
        record(
            i,
            start + timedelta(minutes=rng.uniform(0, 30 * 24 * 60)),
            EBIKES,
            Point(121.440 + rng.uniform(0, 0.012), 31.220 + rng.uniform(0, 0.012)),
            f"地址{i}",
        )
        for i in range(600)
    ]
    assert recurrences(busy, SquareCells())  # bare counts alone would call the background stubborn
    assert recurrences(busy, SquareCells(), street_cells=STREET_SQUARES) == []
    planted = seeded()
    (problem,) = recurrences(planted, SquareCells(), street_cells=STREET_SQUARES)
    assert problem.landmark == "南京西路1266号"


def test_a_problem_on_too_few_days_is_not_called_stubborn() -> None:
    at = datetime(2026, 11, 2, 12, 0, tzinfo=SHANGHAI)
    same_two_days = [
        record(i, at + timedelta(days=i % 2, minutes=i), EBIKES, TOWER, "恒隆广场") for i in range(8)
    ]
    assert recurrences(same_two_days, SquareCells()) == []
    assert len(recurrences(same_two_days, SquareCells(), min_days=2)) == 1


def test_the_patrol_window_may_pass_midnight_and_is_none_when_times_are_spread() -> None:
    night = [time(23, 10), time(23, 40), time(0, 20), time(0, 50), time(23, 55)]
    assert patrol_window(night) == ((time(23, 0), time(1, 0)), 5)
    spread = [time(h, 0) for h in range(0, 24, 2)]
    assert patrol_window(spread) == (None, 0)


def test_hot_spots_count_by_place_hour_and_weekday() -> None:
    records = seeded()
    result = hotspots(records, lambda r: SquareCells().cell(r.point) if r.point else None, category=EBIKES)
    top = result.places[0]
    assert top.count >= 40 and top.peak_hour in (11, 12, 13)
    assert top.weekdays[5] == top.weekdays[6] == 0
    assert (
        sum(sum(row) for row in result.matrix)
        == result.total
        == sum(1 for r in records if r.category == EBIKES)
    )


def test_trends_compare_each_category_with_the_previous_period() -> None:
    start = datetime(2026, 11, 2, tzinfo=SHANGHAI)
    period = Period(start, start + timedelta(days=7))
    before = [record(i, start - timedelta(days=3, minutes=i), "200101", TOWER, "x") for i in range(2)]
    now = [record(10 + i, start + timedelta(days=i % 7, hours=9), "200101", TOWER, "x") for i in range(9)]
    (tile,) = trends(before + now, period, Dimension.CATEGORY, lambda _: None)
    assert (tile.count, tile.previous, tile.direction) == (9, 2, "up")
    assert tile.daily == (2, 2, 1, 1, 1, 1, 1) and tile.change == 3.5


def test_the_daily_brief_names_the_top_problem_the_late_order_and_the_stubborn_spot() -> None:
    records = seeded()
    day = date(2026, 11, 27)  # the Friday of the eighth week
    assert any(day_period(day).holds(r.received_at) and r.category == EBIKES for r in records)
    due = datetime.combine(day, time(9, 5), SHANGHAI)
    late = record(
        999,
        due - timedelta(minutes=5),
        "200101",
        Point(121.441, 31.221),
        "愚园路1号",
        OrderState.DISPATCHED,
        clocks=(ClockMark(Stage.RESPOND, due, None),),
        marks=(Mark(due - timedelta(minutes=4), "dispatched", "m1"),),
    )
    now = datetime.combine(day, time(18, 0), SHANGHAI)
    result = brief([*records, late], day, now, SquareCells(), LABELS, lambda _: None)
    assert result.late_total == 1 and result.late[0].id == 999 and result.late[0].minutes_late == 535
    assert result.recurring and result.recurring[0].category == EBIKES
    text = "\n".join(result.text)
    assert text.startswith("2026年11月27日（周五）受理工单")
    assert "#999 人行道板（嘉园居民区，李思远，响应超期 8 小时）" in text
    assert "顽症：南京西路1266号「非机动车乱停放」" in text and "11:00–13:30" in text

"""Assessment figures against a small case worked out by hand from the orders' raw timelines.

The case (one day, 2026-11-25, under 51530: respond 5 min and arrive 15 min from receipt, handle 30 min
after arriving, close 30 min after handling), now = two days later:

A  a1/c1  m1: everything on time, callback 满意, closed.
B  a1/c1  m1: responds 3 min late, handles 6 min late, callback 不满意 -> reopened (rework), second round
          all on time, callback 基本满意, closed.
C  a2/c2  m1 holds it past the respond deadline and returns it; m2 responds late, arrives and plans on
          time; the plan's date (the close deadline) passed a day ago.
D  a2/c2  merged into C as a duplicate.
E  a1/c1  m2, at A's building: a repeat. Round 1 on time, closed without an answer, reopened after closing;
          round 2 never responded (respond and arrive late).
F  a1/c2  m1 responds on time, then it is put on the problem list (挂账) before the arrive deadline.
P  a2/c2  m2, the day before (the previous period): everything on time, 满意.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from builders import CLERK, DIRECTOR, POLICY, T0, an_order
from chengyun.domain.assessment import (
    Dimension,
    Figures,
    OrderRecord,
    Period,
    Rate,
    assess,
    facts_of,
    mark_repeats,
)
from chengyun.domain.geo import Point
from chengyun.domain.orders import Location, ReturnReason, Satisfaction, Who, WorkOrder
from chengyun.domain.sla import Stage

M1, M2 = Who("m1", "李专管"), Who("m2", "赵搭档")
DAY = Period(T0 - timedelta(hours=9), T0 + timedelta(hours=15))  # 2026-11-25 00:00-24:00 local
NOW = T0 + timedelta(days=2)
DEPARTMENTS = {"c1": "d1", "c2": "d2"}
B1 = Point(121.4420, 31.2250)


def at(hh: int, mm: int, day: int = 0) -> datetime:
    return T0.replace(hour=hh, minute=mm) + timedelta(days=day)


def new(
    oid: int,
    received: datetime,
    area: str,
    category: str,
    point: Point,
    address: str,
    building: str | None = None,
) -> WorkOrder:
    order = an_order(now=received, area=area, category=category, point=point, address=address)
    order.location = Location(point, address, area, "g-" + area, building)
    order.id = oid
    return order


def full_round(
    order: WorkOrder, who: Who, start: datetime, answer: Satisfaction | None, close: bool = True
) -> None:
    """respond +2, arrive +10, handle +30, close the loop +50 (minutes from `start`), then close (+55)."""
    order.respond(start + timedelta(minutes=2), who, POLICY)
    order.arrive(start + timedelta(minutes=10), who, POLICY, B1)
    order.handle(start + timedelta(minutes=30), who, "已处置", POLICY)
    order.close_loop(start + timedelta(minutes=50), CLERK, "已回访", answer)
    if close:
        order.close(start + timedelta(minutes=55), CLERK)


def the_case() -> dict[str, WorkOrder]:
    a = new(1, at(9, 0), "a1", "c1", B1, "愚园路608弄6号", "B1")
    a.dispatch(at(9, 1), CLERK, M1)
    full_round(a, M1, at(9, 0), Satisfaction.SATISFIED)

    b = new(2, at(10, 0), "a1", "c1", Point(121.4470, 31.2250), "南京西路1618号", "B2")
    b.dispatch(at(10, 1), CLERK, M1)
    b.respond(at(10, 8), M1, POLICY)  # due 10:05: late
    b.arrive(at(10, 14), M1, POLICY, B1)  # due 10:15
    b.handle(at(10, 50), M1, "已处置", POLICY)  # due 10:44: late
    b.close_loop(at(11, 0), CLERK, "回访不满意", Satisfaction.UNSATISFIED)  # due 11:20
    b.reopen(at(11, 5), CLERK, "诉求人不满意", POLICY)  # from 已闭环: rework
    b.respond(at(11, 7), M1, POLICY)
    b.arrive(at(11, 15), M1, POLICY, B1)
    b.handle(at(11, 30), M1, "已重新处置", POLICY)
    b.close_loop(at(11, 40), CLERK, "已回访", Satisfaction.BASICALLY)
    b.close(at(11, 45), CLERK)

    c = new(3, at(9, 0), "a2", "c2", Point(121.4450, 31.2280), "常德路1号")
    c.dispatch(at(9, 1), CLERK, M1)
    c.return_to_dispatcher(at(9, 6), M1, ReturnReason.WRONG_DEPARTMENT, "不属本部门")  # held past 09:05
    c.dispatch(at(9, 7), CLERK, M2)
    c.respond(at(9, 8), M2, POLICY)
    c.arrive(at(9, 14), M2, POLICY, B1)
    c.make_plan(at(9, 20), M2, "联系产权单位维修", at(10, 0, day=1))

    d = new(4, at(9, 30), "a2", "c2", Point(121.4451, 31.2281), "常德路1号")
    d.merge_into(at(9, 35), CLERK, c)

    e = new(5, at(13, 0), "a1", "c1", B1, "愚园路608弄6号", "B1")
    e.dispatch(at(13, 1), CLERK, M2)
    full_round(e, M2, at(13, 0), None)
    e.reopen(at(14, 0), CLERK, "问题复发", POLICY)  # after 结案; nobody responds again

    f = new(6, at(15, 0), "a1", "c2", Point(121.4430, 31.2210), "华山路2号")
    f.dispatch(at(15, 1), CLERK, M1)
    f.respond(at(15, 3), M1, POLICY)
    f.suspend(at(15, 5), DIRECTOR, "需市政统一改造")

    p = new(7, at(9, 0, day=-1), "a2", "c2", Point(121.4490, 31.2290), "延安中路3号")
    p.dispatch(at(9, 1, day=-1), CLERK, M2)
    full_round(p, M2, at(9, 0, day=-1), Satisfaction.SATISFIED)
    return {"A": a, "B": b, "C": c, "D": d, "E": e, "F": f, "P": p}


def records() -> list[OrderRecord]:
    return [OrderRecord.of(o, o.new_entries) for o in the_case().values()]


def rates(f: Figures) -> dict[str, tuple[int, int]]:
    return {name: (r.numerator, r.denominator) for name, r in f.rates().items()}


def run(by: Dimension) -> dict[str, object]:
    result = assess(records(), DAY, by, NOW, DEPARTMENTS.get)
    return {s.key: s for s in result.standings} | {
        "totals": result.totals,
        "previous": result.previous_totals,
    }


def test_street_totals_match_the_hand_count() -> None:
    totals = run(Dimension.AREA)["totals"]
    assert isinstance(totals, Figures)
    assert (totals.orders, totals.assessed, totals.overdue) == (6, 5, 3)  # D is merged; B, C, E are late
    assert rates(totals) == {
        # respond: A ok, B late, B2 ok, C late, E ok, E2 late, F ok
        "on_time_respond": (4, 7),
        # arrive: A, B, B2, C, E ok; E2 late (F's was frozen by the suspension: undecided)
        "on_time_arrive": (5, 6),
        "on_time_handle": (4, 5),  # A, B2, C (the plan), E ok; B late
        "on_time_close": (4, 5),  # A, B, B2, E ok; C's plan date passed
        "all_on_time": (1, 4),  # A only; B, C, E had a late clock; F undecided
        "response": (3, 5),  # first responses: A, E, F in time; B, C late
        "solve": (2, 5),  # A and B closed without a last 不满意
        "satisfaction": (2, 2),  # A 满意, B's latest 基本满意
        "returns": (1, 6),  # one return (C by m1) in six dispatches
        "rework": (1, 3),  # B reopened from 已闭环, of A, B, E whose loops closed
        "reopen": (1, 3),  # E reopened after 结案, of A, B, E closed
        "repeat": (2, 6),  # D merged, E at A's building the same day
    }


def test_each_staff_member_counts_what_they_held() -> None:
    by = run(Dimension.STAFF)
    m1, m2, nobody = by["m1"], by["m2"], by[""]
    # m1 handles A, B, F; m2 handles C (m1 returned it) and E; D (merged, never dispatched) is nobody's.
    assert (m1.figures.orders, m2.figures.orders, nobody.figures.orders) == (3, 2, 1)
    assert rates(m1.figures) == {
        "on_time_respond": (3, 5),  # A, B2, F ok; B late; C's late response is m1's: m1 held it at 09:05
        "on_time_arrive": (3, 3),
        "on_time_handle": (2, 3),
        "on_time_close": (3, 3),
        "all_on_time": (1, 2),  # A of A and B (F undecided)
        "response": (2, 3),
        "solve": (2, 3),
        "satisfaction": (2, 2),
        "returns": (1, 4),  # dispatched A, B, C, F; returned C
        "rework": (1, 2),
        "reopen": (0, 2),
        "repeat": (0, 3),
    }
    assert rates(m2.figures) == {
        "on_time_respond": (1, 2),  # E ok, E2 late
        "on_time_arrive": (2, 3),  # C, E ok, E2 late
        "on_time_handle": (2, 2),
        "on_time_close": (1, 2),  # E ok, C's plan date passed
        "all_on_time": (0, 2),
        "response": (1, 2),  # C's first response was late, E's in time
        "solve": (0, 2),
        "satisfaction": (0, 0),
        "returns": (0, 2),
        "rework": (0, 1),
        "reopen": (1, 1),
        "repeat": (1, 2),
    }
    assert (m1.figures.overdue, m2.figures.overdue) == (1, 2)
    assert nobody.figures.assessed == 0 and nobody.figures.repeat == Rate(1, 1)


def test_scores_rank_the_staff_and_show_the_change_from_the_previous_period() -> None:
    by = run(Dimension.STAFF)
    m1, m2, nobody = by["m1"], by["m2"], by[""]
    # m1: 100 × (0.2 × 1/2 + 0.1 × 2/3 + 0.35 × 2/3 + 0.35 × 1) = 75.0
    # m2: no callback answer, so the other weights share: 100 × (0.2 × 0 + 0.1 × 1/2 + 0.35 × 0) / 0.65 = 7.7
    assert (m1.figures.score, m2.figures.score, nobody.figures.score) == (75.0, 7.7, None)
    assert (m1.rank, m2.rank, nobody.rank) == (1, 2, None)
    # The day before, m2 alone had an order (P, perfect): first of one, now second.
    assert (m2.previous_rank, m2.rank_change, m2.score_change) == (1, -1, -92.3)
    assert m1.previous is None and m1.rank_change is None


def test_areas_departments_and_categories_count_each_order_once() -> None:
    areas = run(Dimension.AREA)
    assert (areas["a1"].figures.orders, areas["a2"].figures.orders) == (4, 2)
    a2 = rates(areas["a2"].figures)
    # C alone is assessed in a2; its late response counts for its area, whoever held it.
    assert a2["on_time_respond"] == (0, 1) and a2["returns"] == (1, 2) and a2["repeat"] == (1, 2)
    categories = run(Dimension.CATEGORY)
    departments = run(Dimension.DEPARTMENT)
    for key, dept in DEPARTMENTS.items():
        assert rates(categories[key].figures) == rates(departments[dept].figures)
    assert (categories["c1"].figures.orders, categories["c2"].figures.orders) == (3, 3)


def test_late_clocks_are_decided_when_they_fall_due_and_pending_ones_in_time_are_not() -> None:
    case = the_case()
    e = OrderRecord.of(case["E"], case["E"].new_entries)
    # Ten minutes after the reopening the new respond deadline (14:05) has passed, the arrive one (14:15) not.
    early = facts_of(e, at(14, 10))
    assert [(stage, on_time, n) for stage, on_time, _, n in early.stages if n == 2] == [
        (Stage.RESPOND, False, 2)
    ]
    later = facts_of(e, at(14, 20))
    assert [(stage, on_time) for stage, on_time, _, n in later.stages if n == 2] == [
        (Stage.RESPOND, False),
        (Stage.ARRIVE, False),
    ]


def test_an_extension_moves_the_deadline_the_clock_is_judged_by() -> None:
    order = an_order(now=T0)
    order.id = 9
    order.dispatch(at(9, 1), CLERK, M1)
    order.request_extension(at(9, 2), M1, at(9, 30), "诉求人约定 9:30 后联系", Stage.RESPOND)
    order.decide_extension(at(9, 3), DIRECTOR, True, "", POLICY)
    order.respond(at(9, 20), M1, POLICY)  # after 09:05, before the extended 09:30
    facts = facts_of(OrderRecord.of(order, order.new_entries), NOW)
    assert facts.first_response is True


@pytest.mark.parametrize(
    ("metres", "days", "repeat"),
    [(30, 1, True), (80, 1, False), (30, 40, False)],
)
def test_a_repeat_is_the_same_category_near_the_same_place_within_thirty_days(
    metres: float, days: int, repeat: bool
) -> None:
    first = new(1, T0, "a1", "c1", B1, "甲地址")
    later_point = Point(B1.lon, B1.lat + metres / 111_320)
    second = new(2, T0 + timedelta(days=days), "a1", "c1", later_point, "乙地址")
    other_kind = new(3, T0 + timedelta(days=days), "a1", "c2", later_point, "乙地址")
    facts = [facts_of(OrderRecord.of(o, o.new_entries), NOW) for o in (first, second, other_kind)]
    mark_repeats(facts)
    assert [f.repeat for f in facts] == [False, repeat, False]

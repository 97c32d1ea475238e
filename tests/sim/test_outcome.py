"""The simulator's outcome figures from an order's own stage clocks (hand-worked cases)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from chengyun.domain.geo import Point
from chengyun.domain.orders import Location, Source, Who, WorkOrder
from chengyun.domain.severity import Colour
from chengyun.domain.sla import DEFAULT_POLICIES, Stage
from chengyun.sim.outcome import MET, MISSED, OPEN, _spans, outcome, stage_outcome, tallies, why

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 25, 10, 0, tzinfo=CST)
DESK = Who("H1", "受理员")
M1 = Who("M1", "李思远")
SITE = Point(121.4420, 31.2250)
POLICY = DEFAULT_POLICIES.policies[-1]  # 51530


def order(received: datetime = T0, area: str = "A1") -> WorkOrder:
    o = WorkOrder.receive(
        street="T",
        source=Source.HOTLINE,
        category="200101",
        description="人行道板翘起",
        location=Location(address="愚园路608弄6号", area=area),
        colour=Colour.GREEN,
        policy=POLICY,
        now=received,
        by=DESK,
    )
    o.dispatch(received, DESK, M1)
    return o


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def test_an_order_done_in_time_meets_every_stage() -> None:
    o = order()
    o.respond(minutes(3), M1, POLICY)
    o.arrive(minutes(12), M1, POLICY, SITE)
    o.handle(minutes(40), M1, "已处置", POLICY)
    o.close_loop(minutes(60), DESK, "已回访")
    end = minutes(200)
    assert [stage_outcome(o, s, end) for s in Stage] == [MET, MET, MET, MET]
    assert tallies([o], end)["all"].share == 1.0


def test_a_late_arrival_misses_that_stage_and_all_but_not_the_others() -> None:
    o = order()
    o.respond(minutes(2), M1, POLICY)
    o.arrive(minutes(16), M1, POLICY, SITE)
    o.handle(minutes(30), M1, "已处置", POLICY)
    o.close_loop(minutes(50), DESK, "已回访")
    t = tallies([o], minutes(200))
    assert (t["arrive"].missed, t["handle"].met, t["close"].met, t["all"].missed) == (1, 1, 1, 1)


def test_a_stage_never_started_after_a_missed_one_counts_as_missed_and_a_pending_one_as_open() -> None:
    o = order()
    o.respond(minutes(2), M1, POLICY)
    assert stage_outcome(o, Stage.HANDLE, minutes(10)) == OPEN  # not yet on site, nothing late yet
    assert stage_outcome(o, Stage.ARRIVE, minutes(20)) == MISSED  # pending past its deadline
    assert stage_outcome(o, Stage.HANDLE, minutes(20)) == MISSED  # never started: the arrival was missed
    assert tallies([o], minutes(10))["all"].open == 1


def test_a_planned_repair_leaves_the_close_stage_open_until_its_date() -> None:
    o = order()
    o.respond(minutes(2), M1, POLICY)
    o.arrive(minutes(10), M1, POLICY, SITE)
    o.make_plan(minutes(20), M1, "物业明日更换地砖", T0 + timedelta(days=1))
    t = tallies([o], minutes(300))
    assert (t["handle"].met, t["close"].open, t["all"].open, t["all"].share) == (1, 1, 1, None)


def test_the_report_splits_misses_by_first_stage_area_and_hour_and_says_why() -> None:
    on_time, late = order(area="A1"), order(received=T0 + timedelta(hours=3), area="A2")
    on_time.respond(minutes(1), M1, POLICY)
    late.respond(minutes(190), M1, POLICY)  # 10 minutes after receipt: late
    end = minutes(600)
    report = outcome([on_time, late], end, {"A2": "华山居民区"}, {"200101": "人行道板"})
    assert report["misses"]["by_first_stage"] == {"respond": 1, "arrive": 1}
    assert report["overdue"] == 2
    assert report["misses"]["by_area"]["A2"] == {"name": "华山居民区", "count": 1}
    assert report["misses"]["by_hour"][13] == 1 and report["per_hour"][10]["orders"] == 1
    lines = why(report, 0.95, uncovered=[22, 23, 0, 1, 2, 3, 4, 5, 6])
    assert lines[0].startswith("四个环节全部按时的工单占 0.0%")
    assert lines[1].startswith("22:00–07:00 没有在班的外勤人员")
    # For each kind of miss: where, when, and what would close it.
    assert report["misses"]["by_stage"]["respond"]["by_area"] == {"A2": 1}
    assert report["misses"]["by_stage"]["respond"]["by_hour"][13] == 1
    respond = next(line for line in lines if line.startswith("「响应"))
    assert "华山居民区" in respond and "13:00–14:00" in respond
    assert "对策：受理席在这些时段排队" in respond
    assert sum(line.startswith("「") and "对策：" in line for line in lines) == 2


def test_hour_spans_join_across_midnight() -> None:
    assert _spans([22, 23, 0, 1, 2, 3, 4, 5, 6]) == "22:00–07:00"
    assert _spans([12, 13, 18]) == "12:00–14:00、18:00–19:00"

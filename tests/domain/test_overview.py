"""The wall screen's figures: counters, 51530 compliance, orders per hour, areas, sensor health."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from chengyun.domain.alarms import Alarm, AlarmState
from chengyun.domain.orders import OrderState, Source
from chengyun.domain.overview import (
    OrderFacts,
    PointStatus,
    SensorPoint,
    StageFact,
    area_figures,
    compliance,
    counters,
    day_start,
    hourly,
    sensor_health,
    week_start,
)
from chengyun.domain.rules import RuleKind
from chengyun.domain.sensors import SensorKind
from chengyun.domain.severity import Colour
from chengyun.domain.sla import Stage

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 25, 15, 30, tzinfo=CST)  # a Wednesday afternoon
MIN = timedelta(minutes=1)


def order(
    id: int,
    received: datetime,
    state: OrderState = OrderState.DISPATCHED,
    *,
    source: Source = Source.HOTLINE,
    colour: Colour = Colour.YELLOW,
    area: str | None = "A1",
    stages: tuple[StageFact, ...] = (),
    due: datetime | None = None,
) -> OrderFacts:
    return OrderFacts(id, source, "200101", colour, state, area, None, None, "M1", received, due, stages)


def stage(which: Stage, due: datetime, done: datetime | None = None) -> StageFact:
    return StageFact(which, due, done)


def test_today_and_this_week_are_local_days_and_the_week_starts_on_monday() -> None:
    late_evening_utc = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)  # 01:00 on Thursday in Shanghai
    assert day_start(late_evening_utc) == datetime(2026, 11, 26, 0, 0, tzinfo=CST)
    assert week_start(NOW) == datetime(2026, 11, 23, 0, 0, tzinfo=CST)


def test_counters_count_todays_orders_by_source_and_colour_and_live_ones_of_any_day() -> None:
    yesterday = NOW - timedelta(days=1)
    orders = [
        order(1, NOW - 60 * MIN, source=Source.HOTLINE, colour=Colour.RED),
        order(2, NOW - 30 * MIN, source=Source.PATROL, due=NOW - MIN),  # overdue now
        order(3, yesterday, OrderState.ON_SITE, due=NOW + 10 * MIN),  # live, received yesterday
        order(4, yesterday, OrderState.SUSPENDED),
        order(
            5,
            NOW - 90 * MIN,
            OrderState.CLOSED,
            stages=(stage(Stage.CLOSE, NOW - 20 * MIN, NOW - 25 * MIN),),
        ),
    ]
    c = counters(orders, NOW)
    assert c.received == 3
    assert c.by_source[Source.HOTLINE] == 2 and c.by_source[Source.PATROL] == 1
    assert c.by_source[Source.SENSOR] == 0  # every source is listed
    assert c.by_colour[Colour.RED] == 1 and c.by_colour[Colour.YELLOW] == 2
    assert (c.live, c.overdue, c.suspended, c.closed) == (3, 1, 1, 1)
    assert c.live_by_colour[Colour.RED] == 1 and c.live_by_colour[Colour.YELLOW] == 2


def test_compliance_counts_stages_done_or_past_their_deadline_and_leaves_out_those_still_running() -> None:
    orders = [
        order(
            1,
            NOW - 40 * MIN,
            stages=(
                stage(Stage.RESPOND, NOW - 35 * MIN, NOW - 37 * MIN),  # on time
                stage(Stage.ARRIVE, NOW - 25 * MIN, NOW - 20 * MIN),  # late
                stage(Stage.HANDLE, NOW + 10 * MIN),  # still running: not counted
            ),
        ),
        order(2, NOW - 20 * MIN, stages=(stage(Stage.RESPOND, NOW - 15 * MIN),)),  # pending past due: late
        order(3, NOW - timedelta(days=2), stages=(stage(Stage.RESPOND, NOW, NOW - timedelta(days=2)),)),
    ]
    today = {c.stage: c for c in compliance(orders, day_start(NOW), NOW)}
    assert (today[Stage.RESPOND].on_time, today[Stage.RESPOND].decided) == (1, 2)
    assert today[Stage.RESPOND].share == 0.5
    assert (today[Stage.ARRIVE].on_time, today[Stage.ARRIVE].decided) == (0, 1)
    assert today[Stage.HANDLE].decided == 0 and today[Stage.HANDLE].share is None
    week = {c.stage: c for c in compliance(orders, week_start(NOW), NOW)}
    assert (week[Stage.RESPOND].on_time, week[Stage.RESPOND].decided) == (2, 3)


def test_orders_per_hour_compare_today_with_the_mean_of_the_previous_days_that_have_data() -> None:
    today = [NOW.replace(hour=9, minute=5), NOW.replace(hour=9, minute=50), NOW.replace(hour=15, minute=1)]
    two_days_ago = NOW - timedelta(days=2)
    history = [
        two_days_ago.replace(hour=9),
        two_days_ago.replace(hour=9, minute=30),
        (NOW - timedelta(days=1)).replace(hour=9),
        two_days_ago.replace(hour=23),
    ]
    result = hourly(today, history, NOW)
    assert len(result.today) == 16  # 00:00 … the current hour, 15:00
    assert result.today[9] == 2 and result.today[15] == 1 and sum(result.today) == 3
    assert result.usual_days == 2
    assert result.usual is not None and len(result.usual) == 24
    assert result.usual[9] == 1.5 and result.usual[23] == 0.5 and result.usual[10] == 0


def test_without_history_there_is_no_usual_day() -> None:
    result = hourly([NOW], [], NOW)
    assert result.usual is None and result.usual_days == 0


def test_areas_are_ranked_by_todays_orders_with_their_overdue_and_weekly_on_time_share() -> None:
    orders = [
        order(1, NOW - 10 * MIN, area="A2", due=NOW - MIN),
        order(2, NOW - 20 * MIN, area="A2", stages=(stage(Stage.RESPOND, NOW - 15 * MIN, NOW - 16 * MIN),)),
        order(3, NOW - 30 * MIN, area="A1", colour=Colour.RED),
        order(4, NOW - 30 * MIN, area=None),  # not placed yet: in no area
    ]
    rows = area_figures(orders, ["A1", "A2", "A3"], NOW)
    assert [r.code for r in rows] == ["A2", "A1", "A3"]
    a2 = rows[0]
    assert (a2.received, a2.live, a2.overdue) == (2, 2, 1)
    assert a2.on_time_share == 1.0
    assert rows[1].live_by_colour[Colour.RED] == 1
    assert rows[2].received == 0 and rows[2].on_time_share is None


def alarm(sensor: str, colour: Colour, state: AlarmState = AlarmState.RAISED) -> Alarm:
    return Alarm(sensor, "r1", RuleKind.THRESHOLD, "T", colour, state, NOW, "超限")


def test_sensor_health_counts_online_sensors_and_marks_alarming_and_silent_ones() -> None:
    points = [
        SensorPoint("s1", SensorKind.TILT, 121.44, 31.22, 60, NOW - 2 * MIN),  # online
        SensorPoint("s2", SensorKind.TILT, 121.44, 31.22, 60, NOW - 4 * MIN),  # silent 4 intervals: offline
        SensorPoint("s3", SensorKind.GAS, 121.44, 31.22, 60, None),  # never reported
        SensorPoint("s4", SensorKind.GAS, 121.44, 31.22, 60, NOW),  # online, alarming
    ]
    alarms = [
        alarm("s4", Colour.RED),
        alarm("s1", Colour.YELLOW, AlarmState.CLEARED),  # not active: ignored
    ]
    health = sensor_health(points, alarms, NOW)
    assert (health.total, health.online, health.silent) == (4, 2, 1)
    assert health.online_share == 0.5
    assert health.statuses == [
        PointStatus.NORMAL,
        PointStatus.OFFLINE,
        PointStatus.OFFLINE,
        PointStatus.ALARM,
    ]
    assert health.alarms_by_colour[Colour.RED] == 1 and health.alarms_by_colour[Colour.YELLOW] == 0
    by_kind = {k.kind: k for k in health.by_kind}
    assert (
        by_kind[SensorKind.GAS].total,
        by_kind[SensorKind.GAS].online,
        by_kind[SensorKind.GAS].alarms,
    ) == (
        2,
        1,
        1,
    )
    assert SensorKind.NOISE not in by_kind  # kinds the street does not have are left out


def test_sensor_health_takes_the_reading_times_given_apart_from_the_places() -> None:
    places = [
        SensorPoint("s1", SensorKind.TILT, 121.44, 31.22, 60, None),
        SensorPoint("s2", SensorKind.TILT, 121.44, 31.22, 60, NOW),  # stale: the times given count
        SensorPoint("s3", SensorKind.GAS, 121.44, 31.22, 60, None),
    ]
    ms = [round((NOW - 2 * MIN).timestamp() * 1000), round((NOW - 4 * MIN).timestamp() * 1000), None]
    health = sensor_health(places, [], NOW, ms)
    assert (health.total, health.online, health.silent) == (3, 1, 1)
    assert health.statuses == [PointStatus.NORMAL, PointStatus.OFFLINE, PointStatus.OFFLINE]
    with pytest.raises(ValueError):
        sensor_health(places, [], NOW, ms[:2])

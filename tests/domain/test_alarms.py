"""Alarms: lifecycle, one alarm per (sensor, rule), flap suppression, which alarms want a work order."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest

from chengyun.domain.alarms import Alarm, AlarmBook, AlarmEvent, AlarmEventKind, AlarmPolicy, AlarmState
from chengyun.domain.errors import IllegalTransition
from chengyun.domain.geo import Point
from chengyun.domain.rules import (
    OfflineRule,
    RuleKind,
    SensorEvaluator,
    ThresholdRule,
    Transition,
    TransitionKind,
)
from chengyun.domain.sensors import Reading, Sensor, SensorKind
from chengyun.domain.severity import Colour

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 6, 1, 8, 0, tzinfo=CST)
MIN = timedelta(minutes=1)
POLICY = AlarmPolicy(clear_hold=5 * MIN, reopen_window=30 * MIN)
SENSOR = Sensor("W1", "T", SensorKind.WATER_LEVEL, Point(121.44, 31.22), "T-R-01")


def t(
    kind: TransitionKind, minute: float, colour: Colour = Colour.ORANGE, rule: str = "water-high"
) -> Transition:
    return Transition(
        "W1", rule, RuleKind.THRESHOLD, kind, T0 + minute * MIN, colour, "水位 20，高于上限 15", 20.0
    )


RAISE, CLEAR = TransitionKind.RAISE, TransitionKind.CLEAR


def test_raise_acknowledge_clear() -> None:
    book = AlarmBook(POLICY)
    raised = book.apply(t(RAISE, 0), SENSOR)
    assert raised is not None and raised.kind is AlarmEventKind.RAISED
    assert raised.state is AlarmState.RAISED and raised.colour is Colour.ORANGE
    assert raised.message == "告警：水位传感器 W1（监测 T-R-01）阈值告警：水位 20，高于上限 15"
    alarm = book.get("W1", "water-high")
    assert alarm is not None
    ack = alarm.acknowledge("值班长王", T0 + 2 * MIN, POLICY)
    assert ack.kind is AlarmEventKind.ACKNOWLEDGED and alarm.state is AlarmState.ACKNOWLEDGED
    assert book.apply(t(CLEAR, 10), SENSOR) is None  # pending: the clear must hold 5 minutes
    assert alarm.state is AlarmState.ACKNOWLEDGED
    assert book.tick(T0 + 14 * MIN) == []
    (cleared,) = book.tick(T0 + 15 * MIN)
    assert cleared.kind is AlarmEventKind.CLEARED and alarm.state is AlarmState.CLEARED
    assert alarm.cleared_at == T0 + 10 * MIN
    assert cleared.message.startswith("告警解除：")
    with pytest.raises(IllegalTransition):
        alarm.acknowledge("值班长王", T0 + 16 * MIN, POLICY)


def test_cleared_before_acknowledged_then_acknowledged() -> None:
    book = AlarmBook(POLICY)
    book.apply(t(RAISE, 0), SENSOR)
    book.apply(t(CLEAR, 1), SENSOR)
    book.tick(T0 + 6 * MIN)
    alarm = book.get("W1", "water-high")
    assert alarm is not None and alarm.state is AlarmState.CLEARED_UNACKNOWLEDGED
    alarm.acknowledge("专管员李", T0 + 20 * MIN, POLICY)
    assert alarm.state is AlarmState.CLEARED and alarm.acknowledged_by == "专管员李"


def test_a_held_clear_is_final_when_the_next_transition_arrives_even_without_a_tick() -> None:
    book = AlarmBook(AlarmPolicy(clear_hold=5 * MIN, reopen_window=timedelta(0)))
    first = book.apply(t(RAISE, 0), SENSOR)
    book.apply(t(CLEAR, 1), SENSOR)
    second = book.apply(t(RAISE, 60), SENSOR)  # no tick in between; the clear had held 59 minutes
    assert first is not None and second is not None and second.kind is AlarmEventKind.RAISED
    assert len(book.alarms) == 1 and book.get("W1", "water-high") is not first  # a new alarm replaced it


def test_a_flapping_sensor_raises_one_alarm_not_hundreds() -> None:
    """A water level hovering at the threshold; even without hysteresis in the rule the alarm layer
    keeps it to one alarm, counting the flaps."""
    sensor = Sensor(
        "W1",
        "T",
        SensorKind.WATER_LEVEL,
        Point(121.44, 31.22),
        "T-R-01",
        rules=(ThresholdRule("water-high", "level", Colour.ORANGE, high=15.0),),
    )
    ev = SensorEvaluator("W1", sensor.rule_set, sensor.period)
    book = AlarmBook(POLICY)
    events: list[AlarmEvent] = []
    transitions = 0
    for i in range(600):  # ten hours, one reading a minute
        at = T0 + i * MIN
        reading = Reading("W1", at, {"level": 15.0 + 2.0 * math.sin(i * 0.9)})
        for tr in ev.observe(reading):
            transitions += 1
            event = book.apply(tr, sensor)
            if event is not None:
                events.append(event)
        events.extend(book.tick(at))
    assert transitions > 150
    assert [e.kind for e in events] == [AlarmEventKind.RAISED]
    alarm = book.get("W1", "water-high")
    assert alarm is not None and alarm.active and alarm.flaps > 80
    assert sum(1 for e in events if e.creates_order) == 1


def test_re_raise_within_the_window_reopens_the_same_alarm() -> None:
    book = AlarmBook(POLICY)
    book.apply(t(RAISE, 0), SENSOR)
    alarm = book.get("W1", "water-high")
    assert alarm is not None
    alarm.acknowledge("值班长王", T0 + MIN, POLICY)
    alarm.order_id = 42  # the services created the order
    book.apply(t(CLEAR, 2), SENSOR)
    book.tick(T0 + 8 * MIN)
    assert alarm.state is AlarmState.CLEARED
    reopened = book.apply(t(RAISE, 20), SENSOR)
    assert reopened is not None and reopened.kind is AlarmEventKind.REOPENED
    assert book.get("W1", "water-high") is alarm and alarm.state is AlarmState.RAISED and alarm.flaps == 1
    assert not reopened.creates_order and reopened.order_id == 42  # goes on the existing order's timeline
    assert "第 1 次反复" in reopened.message


def test_re_raise_after_the_window_is_a_new_alarm() -> None:
    book = AlarmBook(POLICY)
    book.apply(t(RAISE, 0), SENSOR)
    old = book.get("W1", "water-high")
    book.apply(t(CLEAR, 1), SENSOR)
    book.tick(T0 + 10 * MIN)
    event = book.apply(t(RAISE, 6 + 31), SENSOR)
    assert event is not None and event.kind is AlarmEventKind.RAISED
    new = book.get("W1", "water-high")
    assert new is not old and old is not None and old.state is AlarmState.CLEARED_UNACKNOWLEDGED


def test_alarms_are_kept_apart_per_sensor_and_rule() -> None:
    book = AlarmBook(POLICY)
    book.apply(t(RAISE, 0, rule="water-high"), SENSOR)
    book.apply(t(RAISE, 0, Colour.RED, rule="water-sustained"), SENSOR)
    assert {a.rule_id for a in book.active()} == {"water-high", "water-sustained"}


def test_only_the_configured_colours_want_a_work_order() -> None:
    book = AlarmBook(AlarmPolicy(order_colours=frozenset({Colour.RED})))
    orange = book.apply(t(RAISE, 0, Colour.ORANGE, rule="a"), SENSOR)
    red = book.apply(t(RAISE, 0, Colour.RED, rule="b"), SENSOR)
    assert orange is not None and not orange.creates_order
    assert red is not None and red.creates_order


def test_offline_alarm_from_a_tick_clears_after_the_sensor_is_back_for_the_hold() -> None:
    sensor = Sensor(
        "W1",
        "T",
        SensorKind.WATER_LEVEL,
        Point(121.44, 31.22),
        "T-R-01",
        rules=(OfflineRule("offline", Colour.BLUE),),
    )
    ev = SensorEvaluator("W1", sensor.rule_set, sensor.period, since=T0)
    book = AlarmBook(POLICY)
    (off,) = ev.tick(T0 + 4 * MIN)
    raised = book.apply(off, sensor)
    assert raised is not None and "无数据" in raised.message and not raised.creates_order
    (back,) = ev.observe(Reading("W1", T0 + 10 * MIN, {"level": 3.0}))
    assert book.apply(back, sensor) is None
    (cleared,) = book.tick(T0 + 15 * MIN)
    assert cleared.kind is AlarmEventKind.CLEARED and "恢复上报" in cleared.message


def test_zero_hold_clears_at_once() -> None:
    book = AlarmBook(AlarmPolicy(clear_hold=timedelta(0)))
    book.apply(t(RAISE, 0), SENSOR)
    cleared = book.apply(t(CLEAR, 1), SENSOR)
    assert cleared is not None and cleared.kind is AlarmEventKind.CLEARED


def test_a_stored_alarm_with_a_pending_clear_is_resumed() -> None:
    alarm = Alarm.open(t(RAISE, 0), SENSOR)
    alarm.on_clear(t(CLEAR, 3), POLICY)
    book = AlarmBook(POLICY, [alarm])
    (cleared,) = book.tick(T0 + 9 * MIN)
    assert cleared.sensor_id == "W1" and alarm.state is AlarmState.CLEARED_UNACKNOWLEDGED


def test_an_alarm_still_wanting_its_order_asks_for_it_again_without_adding_to_its_history() -> None:
    book = AlarmBook(POLICY)
    raised = book.apply(t(RAISE, 0), SENSOR)
    alarm = book.get("W1", "water-high")
    assert raised is not None and alarm is not None
    alarm.events.clear()  # stored
    again = alarm.order_request(POLICY)
    assert again == raised  # the same request the raise made
    assert alarm.events == []
    alarm.order_id = 7
    assert alarm.order_request(POLICY) is None  # it has its order
    blue = AlarmBook(POLICY)
    blue.apply(t(RAISE, 0, Colour.BLUE), SENSOR)
    quiet = blue.get("W1", "water-high")
    assert quiet is not None and quiet.order_request(POLICY) is None  # blue files no order

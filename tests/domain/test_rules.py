"""Sensor rules with crafted series: threshold with hysteresis, rate, sustained, drift, offline, stuck."""

from __future__ import annotations

import json
import math
import tracemalloc
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import pytest

from chengyun.domain.errors import InvalidInput
from chengyun.domain.rules import (
    DriftRule,
    OfflineRule,
    RateRule,
    RuleKind,
    SensorEvaluator,
    StuckRule,
    SustainedRule,
    ThresholdRule,
    Transition,
    TransitionKind,
    rule_from_dict,
    rule_to_dict,
    rules_from_dicts,
)
from chengyun.domain.sensors import KINDS, Reading, SensorKind
from chengyun.domain.severity import Colour

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 6, 1, 8, 0, tzinfo=CST)
MIN = timedelta(minutes=1)


def run(
    rules: list[ThresholdRule | RateRule | SustainedRule | DriftRule | OfflineRule | StuckRule],
    series: Sequence[float],
    quantity: str = "v",
    step: timedelta = MIN,
    interval: timedelta = MIN,
) -> list[tuple[int, str, str]]:
    """(index of the reading, rule id, raise/clear) for every transition over the series."""
    ev = SensorEvaluator("S1", rules, interval)
    out: list[tuple[int, str, str]] = []
    for i, value in enumerate(series):
        for t in ev.observe(Reading("S1", T0 + i * step, {quantity: value})):
            out.append((i, t.rule_id, t.kind.value))
    return out


# --- threshold ------------------------------------------------------------------------------------


def test_threshold_raises_above_high_and_clears_only_below_clear_level() -> None:
    rule = ThresholdRule("hi", "v", Colour.ORANGE, high=10.0, clear_below=8.0)
    series = [5, 9, 10.5, 9.9, 10.2, 9.5, 8.5, 10.1, 7.9, 9.0, 10.0, 10.01]
    assert run([rule], series) == [(2, "hi", "raise"), (8, "hi", "clear"), (11, "hi", "raise")]


def test_threshold_hysteresis_stops_chatter_around_the_threshold() -> None:
    hovering = [10.0 + 0.3 * math.sin(i) for i in range(200)]  # 9.7 .. 10.3, crossing 10 all the time
    with_gap = ThresholdRule("gap", "v", Colour.ORANGE, high=10.0, clear_below=9.0)
    no_gap = ThresholdRule("nogap", "v", Colour.ORANGE, high=10.0)
    transitions = run([with_gap, no_gap], hovering)
    assert [t for t in transitions if t[1] == "gap"] == [(1, "gap", "raise")]
    assert len([t for t in transitions if t[1] == "nogap"]) > 50  # what the gap prevents


def test_threshold_low_side() -> None:
    rule = ThresholdRule("lo", "v", Colour.YELLOW, low=-2.0, clear_above=-1.5)
    assert run([rule], [0, -1.9, -2.1, -1.8, -1.6, -1.4]) == [(2, "lo", "raise"), (5, "lo", "clear")]


def test_transition_carries_colour_value_time_and_chinese_reason() -> None:
    ev = SensorEvaluator("S9", [ThresholdRule("hi", "v", Colour.RED, high=1.0)], MIN)
    (t,) = ev.observe(Reading("S9", T0, {"v": 3.0}))
    assert t == Transition(
        "S9", "hi", RuleKind.THRESHOLD, TransitionKind.RAISE, T0, Colour.RED, t.reason, 3.0
    )
    assert "高于上限 1" in t.reason
    assert ev.active_rules() == ["hi"]


def test_rules_ignore_readings_without_their_quantity() -> None:
    rule = ThresholdRule("hi", "v", Colour.RED, high=1.0)
    assert run([rule], [5.0, 5.0], quantity="other") == []


# --- rate -----------------------------------------------------------------------------------------


def test_rate_of_change_per_minute_uses_the_time_between_readings() -> None:
    rule = RateRule("jump", "v", Colour.RED, per_minute=1.0)
    # 10-minute steps: +5 is 0.5/min (quiet), +15 is 1.5/min (alarm), then steady (clear)
    series = [0.0, 5.0, 20.0, 20.5, 20.5]
    assert run([rule], series, step=10 * MIN) == [(2, "jump", "raise"), (3, "jump", "clear")]


def test_rate_direction_rise_ignores_falls() -> None:
    rise = RateRule("rise", "v", Colour.YELLOW, per_minute=1.0, direction="rise")
    fall = RateRule("fall", "v", Colour.YELLOW, per_minute=1.0, direction="fall")
    assert run([rise, fall], [10.0, 0.0, 0.0, 5.0]) == [
        (1, "fall", "raise"),
        (2, "fall", "clear"),
        (3, "rise", "raise"),
    ]


def test_rate_skips_late_readings() -> None:
    ev = SensorEvaluator("S1", [RateRule("r", "v", Colour.RED, per_minute=1.0)], MIN)
    assert ev.observe(Reading("S1", T0 + 10 * MIN, {"v": 0.0})) == []
    assert ev.observe(Reading("S1", T0, {"v": 100.0})) == []  # older: no rate, no alarm
    assert ev.observe(Reading("S1", T0 + 11 * MIN, {"v": 0.5})) == []


# --- sustained ------------------------------------------------------------------------------------


def test_sustained_needs_n_of_the_last_m_samples() -> None:
    rule = SustainedRule("wet", "v", Colour.RED, n=3, m=5, above=30.0)
    # single spikes never reach 3 of 5; three of five do; it clears once the last five are all fine
    series = [40, 0, 0, 0, 40, 0, 0, 0, 40, 0, 40, 0, 40, 0, 0, 0, 0, 0]
    assert run([rule], series) == [(12, "wet", "raise"), (17, "wet", "clear")]


def test_sustained_below_and_clear_at_most() -> None:
    rule = SustainedRule("low", "v", Colour.YELLOW, n=2, m=3, below=1.0, clear_at_most=1)
    assert run([rule], [5, 0, 0, 5, 0, 5, 5]) == [(2, "low", "raise"), (5, "low", "clear")]


# --- drift ------------------------------------------------------------------------------------------


def test_slow_tilt_over_five_days_raises_drift_while_threshold_and_rate_stay_quiet() -> None:
    """A historic building tilting 0.01° an hour, read every 10 minutes with ±0.02° of noise: no step
    jumps and the absolute value stays under the 2° threshold, yet after 5 days it has moved 1.2°."""
    rules = list(KINDS[SensorKind.TILT].default_rules)
    step = 10 * MIN
    samples = 5 * 24 * 6
    series = [0.3 + 0.01 * (i / 6) + 0.02 * math.sin(i * 2.3) for i in range(samples)]
    transitions = run([r for r in rules if r.quantity in (None, "tilt_x")], series, "tilt_x", step, step)
    assert [(rule, kind) for _, rule, kind in transitions] == [("tilt-x-drift", "raise")]
    raised_at = transitions[0][0] * step
    # 0.5° of drift at 0.01°/h takes about 50 hours
    assert timedelta(hours=45) < raised_at < timedelta(hours=56)


def test_drift_against_a_fixed_baseline_clears_when_back() -> None:
    rule = DriftRule("d", "v", Colour.YELLOW, max_drift=1.0, baseline=10.0, smoothing=1.0, clear_within=0.5)
    assert run([rule], [10, 10.5, 11.2, 10.8, 10.4]) == [(2, "d", "raise"), (4, "d", "clear")]


def test_drift_smoothing_ignores_a_single_spike() -> None:
    rule = DriftRule("d", "v", Colour.YELLOW, max_drift=1.0, baseline_samples=3, smoothing=0.2)
    assert run([rule], [5.0, 5.0, 5.0, 5.0, 8.0, 5.0, 5.0]) == []
    assert run([rule], [5.0, 5.0, 5.0, 5.0] + [8.0] * 4) == [(5, "d", "raise")]


# --- offline ----------------------------------------------------------------------------------------


def test_offline_is_raised_by_the_clock_tick_and_cleared_by_the_next_reading() -> None:
    ev = SensorEvaluator("S1", [OfflineRule("off", Colour.BLUE, factor=3)], 10 * MIN)
    assert ev.observe(Reading("S1", T0, {"v": 1.0})) == []
    assert ev.tick(T0 + 30 * MIN) == []  # exactly 3 intervals: still allowed
    (raised,) = ev.tick(T0 + 31 * MIN)
    assert raised.kind is TransitionKind.RAISE and raised.rule_kind is RuleKind.OFFLINE
    assert "31 分钟无数据" in raised.reason
    assert ev.tick(T0 + 60 * MIN) == []  # raised once, not on every tick
    (cleared,) = ev.observe(Reading("S1", T0 + 61 * MIN, {"v": 1.0}))
    assert cleared.kind is TransitionKind.CLEAR


def test_offline_counts_from_registration_or_first_tick_when_never_heard_of() -> None:
    ev = SensorEvaluator("S1", [OfflineRule("off", Colour.BLUE, factor=2)], MIN, since=T0)
    assert [t.kind for t in ev.tick(T0 + 3 * MIN)] == [TransitionKind.RAISE]
    quiet = SensorEvaluator("S2", [OfflineRule("off", Colour.BLUE, factor=2)], MIN)
    assert quiet.tick(T0) == []
    assert quiet.tick(T0 + 2 * MIN) == []
    assert len(quiet.tick(T0 + 3 * MIN)) == 1


def test_offline_counts_only_silence_heard_since_the_center_was_listening_again() -> None:
    ev = SensorEvaluator("S1", [OfflineRule("off", Colour.BLUE, factor=3)], 10 * MIN)
    ev.observe(Reading("S1", T0, {"v": 1.0}))
    back = T0 + 60 * MIN  # the center could not hear anything from T0 + 5 to T0 + 60
    assert ev.tick(T0 + 61 * MIN, listening_since=back) == []  # a full allowance again from `back`
    assert ev.due(listening_since=back) == back + 30 * MIN
    (raised,) = ev.tick(T0 + 91 * MIN, listening_since=back)  # still silent: really offline
    assert "91 分钟无数据" in raised.reason  # the message tells the whole silence


def test_listening_since_before_the_last_reading_changes_nothing() -> None:
    ev = SensorEvaluator("S1", [OfflineRule("off", Colour.BLUE, factor=3)], 10 * MIN)
    ev.observe(Reading("S1", T0, {"v": 1.0}))
    assert ev.due(listening_since=T0 - 60 * MIN) == ev.due() == T0 + 30 * MIN
    assert len(ev.tick(T0 + 31 * MIN, listening_since=T0 - 60 * MIN)) == 1


# --- stuck ------------------------------------------------------------------------------------------


def test_stuck_value_for_n_samples() -> None:
    rule = StuckRule("stuck", "v", Colour.BLUE, samples=5)
    series = [1.0, 2.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.1]
    assert run([rule], series) == [(6, "stuck", "raise"), (8, "stuck", "clear")]


def test_stuck_value_for_a_duration_with_tolerance() -> None:
    rule = StuckRule("stuck", "v", Colour.BLUE, duration=timedelta(hours=1), tolerance=0.01)
    series = [50.0, 50.005, 49.995] * 3  # 9 readings over 80 minutes, within ±0.01
    assert run([rule], series, step=10 * MIN) == [(6, "stuck", "raise")]


# --- specifications as data ----------------------------------------------------------------------


def test_every_rule_kind_round_trips_through_a_dict() -> None:
    rules = [
        ThresholdRule("a", "v", Colour.ORANGE, high=1.0, clear_below=0.5),
        RateRule("b", "v", Colour.RED, per_minute=2.0, direction="rise"),
        SustainedRule("c", "v", Colour.YELLOW, n=2, m=4, above=3.0),
        DriftRule("d", "v", Colour.YELLOW, max_drift=0.5, baseline=0.0),
        OfflineRule("e", Colour.BLUE, factor=2.5),
        StuckRule("f", "v", Colour.BLUE, samples=10, duration=timedelta(minutes=30)),
    ]
    assert rules_from_dicts([rule_to_dict(r) for r in rules]) == tuple(rules)
    assert rule_to_dict(rules[5])["duration_s"] == 1800.0


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"id": "x", "kind": "magic", "colour": "red"}, "未知的规则类型"),
        ({"id": "x", "kind": "threshold", "colour": "pink", "quantity": "v", "high": 1}, "未知的颜色"),
        ({"id": "x", "kind": "threshold", "colour": "red", "quantity": "v"}, "至少需要上限"),
        (
            {"id": "x", "kind": "threshold", "colour": "red", "quantity": "v", "high": 1, "clear_below": 2},
            "不能高于",
        ),
        (
            {"id": "x", "kind": "threshold", "colour": "red", "quantity": "v", "high": 1, "hgh": 2},
            "不认识的参数",
        ),
        ({"id": "x", "kind": "rate", "colour": "red", "quantity": "v"}, "缺少参数 per_minute"),
        ({"id": "x", "kind": "rate", "colour": "red", "quantity": "v", "per_minute": "fast"}, "必须是数字"),
        ({"id": "x", "kind": "rate", "colour": "red", "quantity": "v", "per_minute": -1}, "必须大于 0"),
        (
            {"id": "x", "kind": "sustained", "colour": "red", "quantity": "v", "n": 5, "m": 3, "above": 1},
            "n 应在",
        ),
        (
            {"id": "x", "kind": "sustained", "colour": "red", "quantity": "v", "n": 1.5, "m": 3, "above": 1},
            "整数",
        ),
        ({"id": "x", "kind": "drift", "colour": "red", "quantity": "v", "max_drift": float("nan")}, "有限"),
        ({"id": "x", "kind": "offline", "colour": "red", "factor": 0.5}, "至少为 1"),
        ({"id": "x", "kind": "stuck", "colour": "red", "quantity": "v"}, "samples 或时长"),
        ({"id": "", "kind": "offline", "colour": "red"}, "规则编号"),
    ],
)
def test_bad_rule_dicts_are_refused_with_a_reason(data: dict[str, object], words: str) -> None:
    with pytest.raises(InvalidInput) as e:
        rule_from_dict(data)
    assert words in e.value.message


def test_duplicate_rule_ids_are_refused() -> None:
    item = {"id": "x", "kind": "offline", "colour": "blue"}
    with pytest.raises(InvalidInput, match="重复"):
        rules_from_dicts([item, item])


def test_live_state_of_14000_sensors_is_small() -> None:
    rules = KINDS[SensorKind.TILT].default_rules  # seven rules, the richest kind
    tracemalloc.start()
    try:
        evaluators = [SensorEvaluator(f"S{i}", rules, 10 * MIN, T0) for i in range(14_000)]
        for i, ev in enumerate(evaluators):
            ev.observe(Reading(ev.sensor_id, T0, {"tilt_x": 0.1 * (i % 7), "tilt_y": 0.2}))
        size, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size < 60 * 1024 * 1024  # the target is "well under 500 MB"


# --- state kept between batches -------------------------------------------------------------------


ALL_KINDS: list[ThresholdRule | RateRule | SustainedRule | DriftRule | OfflineRule | StuckRule] = [
    ThresholdRule("hi", "v", Colour.ORANGE, high=10.0, clear_below=8.0),
    RateRule("jump", "v", Colour.YELLOW, per_minute=3.0),
    SustainedRule("long", "v", Colour.YELLOW, above=9.0, n=3, m=4),
    DriftRule("drift", "v", Colour.RED, max_drift=2.0, baseline_samples=3, smoothing=0.5),
    OfflineRule("off", Colour.BLUE, factor=3),
    StuckRule("stuck", "v", Colour.BLUE, samples=4),
]


def test_a_snapshot_taken_mid_series_continues_exactly_where_it_stopped() -> None:
    """A worker stores each sensor's rule state after a batch; whichever worker takes the next batch
    restores it and must see the same transitions as one evaluator that saw the whole series."""
    series = [5.0, 5.0, 5.0, 9.5, 9.6, 9.7, 10.5, 10.5, 10.5, 10.5, 7.0, 6.0, 12.0, 5.0]
    whole = SensorEvaluator("S1", ALL_KINDS, MIN)
    split = SensorEvaluator("S1", ALL_KINDS, MIN)
    expected: list[tuple[str, str]] = []
    got: list[tuple[str, str]] = []
    for i, value in enumerate(series):
        reading = Reading("S1", T0 + i * MIN, {"v": value})
        expected += [(t.rule_id, t.kind.value) for t in whole.observe(reading)]
        got += [(t.rule_id, t.kind.value) for t in split.observe(reading)]
        stored = json.loads(json.dumps(split.snapshot()))  # what the store keeps, as JSON
        split = SensorEvaluator("S1", ALL_KINDS, MIN)
        split.restore(stored)
    assert {rule for rule, _ in expected} >= {"hi", "jump", "long", "drift", "stuck"}
    assert got == expected
    # the offline clock too: due when the last reading is older than 3 intervals
    assert split.due() == T0 + (len(series) - 1) * MIN + 3 * MIN
    assert [t.rule_id for t in split.tick(T0 + (len(series) + 3) * MIN)] == ["off"]
    assert split.due() is None  # raised: nothing more for the clock to do until a reading comes


def test_a_learnt_drift_baseline_survives_a_restore() -> None:
    rule = DriftRule("drift", "v", Colour.RED, max_drift=0.5, baseline_samples=4)
    ev = SensorEvaluator("S1", [rule], MIN)
    for i in range(4):
        ev.observe(Reading("S1", T0 + i * MIN, {"v": 1.0}))
    fresh = SensorEvaluator("S1", [rule], MIN)
    fresh.restore(ev.snapshot())
    raised = [t for i in range(4, 40) for t in fresh.observe(Reading("S1", T0 + i * MIN, {"v": 1.8}))]
    assert [t.kind for t in raised] == [TransitionKind.RAISE]


def test_a_snapshot_of_another_rule_set_is_taken_in_part() -> None:
    old = SensorEvaluator("S1", [ThresholdRule("hi", "v", Colour.ORANGE, high=10.0)], MIN)
    old.observe(Reading("S1", T0, {"v": 11.0}))
    new_rules = [
        ThresholdRule("hi", "v", Colour.ORANGE, high=10.0),
        StuckRule("stuck", "v", Colour.BLUE, samples=3),
    ]
    ev = SensorEvaluator("S1", new_rules, MIN)
    ev.restore({**old.snapshot(), "gone": [True], "stuck": ["not", "a", "state"]})
    assert ev.active_rules() == ["hi"]
    assert [t.kind for t in ev.observe(Reading("S1", T0 + MIN, {"v": 5.0}))] == [TransitionKind.CLEAR]

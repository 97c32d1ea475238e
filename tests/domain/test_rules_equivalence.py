"""The evaluator's fast paths (each rule's quantity resolved once, `observe_many` rule by rule over a batch)
give exactly the transitions, and leave exactly the state, of the reading-by-reading path they replaced.

The reference below is that earlier path, kept here and not in src: per reading, every rule looks its
quantity up through its spec, and a threshold reads its levels through the spec's properties."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chengyun.domain.geo import Point
from chengyun.domain.rules import (
    DriftRule,
    OfflineState,
    RateRule,
    RuleState,
    SensorEvaluator,
    StuckRule,
    SustainedRule,
    ThresholdRule,
    ThresholdState,
    Transition,
    TransitionKind,
    _fmt,
)
from chengyun.domain.sensors import KINDS, Reading, Sensor, SensorKind

T0 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)


# --- the reference: the per-reading path as it was ----------------------------------------------------


def _reference_threshold(
    state: ThresholdState, ts: datetime, value: float, sensor_id: str
) -> Transition | None:
    s = state.spec
    if not state.active:
        if value > s.raise_high:
            reason = f"{s.quantity} 为 {_fmt(value)}，高于上限 {_fmt(s.raise_high)}"
            return _reference_flip(state, sensor_id, True, ts, reason, value)
        if value < s.raise_low:
            reason = f"{s.quantity} 为 {_fmt(value)}，低于下限 {_fmt(s.raise_low)}"
            return _reference_flip(state, sensor_id, True, ts, reason, value)
        return None
    if s.clear_low <= value <= s.clear_high:
        return _reference_flip(state, sensor_id, False, ts, f"{s.quantity} 恢复为 {_fmt(value)}", value)
    return None


def _reference_flip(
    state: RuleState, sensor_id: str, active: bool, at: datetime, reason: str, value: float | None
) -> Transition | None:
    if active == state.active:
        return None
    state.active = active
    spec = state.spec
    kind = TransitionKind.RAISE if active else TransitionKind.CLEAR
    return Transition(sensor_id, spec.id, spec.kind, kind, at, spec.colour, reason, value)


def _reference_observe(states: Sequence[RuleState], reading: Reading) -> list[Transition]:
    out: list[Transition] = []
    for state in states:
        t: Transition | None
        if isinstance(state, OfflineState):
            if state.last_seen is None or reading.ts > state.last_seen:
                state.last_seen = reading.ts
            t = (
                _reference_flip(state, reading.sensor_id, False, reading.ts, "恢复上报", None)
                if state.active
                else None
            )
        else:
            quantity = state.spec.quantity
            value = reading.values.get(quantity) if quantity is not None else None
            if value is None:
                continue
            if isinstance(state, ThresholdState):
                t = _reference_threshold(state, reading.ts, float(value), reading.sensor_id)
            else:
                t = state.step(reading.ts, float(value), reading.sensor_id)
        if t is not None:
            out.append(t)
    return out


# --- generated series ---------------------------------------------------------------------------------


def _levels(kind: SensorKind) -> dict[str, list[float]]:
    """Per quantity: the values where the kind's rules change their mind (and the physical range)."""
    spec = KINDS[kind]
    out: dict[str, list[float]] = {name: [q.minimum, q.maximum, 0.0] for name, q in spec.quantities.items()}
    for rule in spec.default_rules:
        if rule.quantity is None:
            continue
        levels = out[rule.quantity]
        if isinstance(rule, ThresholdRule):
            levels += [x for x in (rule.high, rule.clear_below, rule.low, rule.clear_above) if x is not None]
        elif isinstance(rule, SustainedRule):
            levels += [x for x in (rule.above, rule.below) if x is not None]
        elif isinstance(rule, DriftRule):
            levels += [rule.max_drift, -rule.max_drift, rule.clear_drift]
        elif isinstance(rule, RateRule):
            levels += [rule.per_minute, 2 * rule.per_minute]
        elif isinstance(rule, StuckRule):
            levels += [rule.tolerance]
    return out


@st.composite
def series(draw: Any, kind: SensorKind) -> list[Reading]:
    spec = KINDS[kind]
    levels = _levels(kind)
    names = sorted(spec.quantities)
    readings: list[Reading] = []
    at = T0
    for _ in range(draw(st.integers(1, 60))):
        # Mostly forward in time, sometimes the same moment or back (late and repeated readings).
        at += timedelta(seconds=draw(st.sampled_from([60, 60, 60, 1, 600, 3600, 0, -60, -600])))
        present = draw(st.lists(st.sampled_from(names), min_size=1, max_size=len(names), unique=True))
        values: dict[str, float] = {}
        for name in present:
            q = spec.quantities[name]
            base = draw(st.sampled_from(levels[name]))
            nudge = draw(st.sampled_from([0.0, 0.0, 1e-3, -1e-3, 0.5, -0.5]))
            values[name] = min(q.maximum, max(q.minimum, base + nudge))
        if draw(st.booleans()) and draw(st.booleans()):
            values = {n: v for n, v in values.items() if n == names[0]} or values
        readings.append(Reading("S-1", at, values))
    return readings


@st.composite
def kind_and_series(draw: Any) -> tuple[SensorKind, list[Reading], list[int]]:
    kind = draw(st.sampled_from(list(SensorKind)))
    readings = draw(series(kind))
    cuts = sorted(draw(st.lists(st.integers(0, len(readings)), max_size=4)))
    return kind, readings, cuts


def _sensor(kind: SensorKind) -> Sensor:
    return Sensor("S-1", "JAS", kind, Point(121.445, 31.225), "P1")


def _batches(readings: list[Reading], cuts: list[int]) -> list[list[Reading]]:
    bounds = [0, *cuts, len(readings)]
    return [readings[a:b] for a, b in pairwise(bounds) if b > a]


def _described(transitions: Sequence[Transition]) -> list[tuple[Any, ...]]:
    return [
        (t.sensor_id, t.rule_id, t.rule_kind, t.kind, t.at, t.colour, t.reason, t.value) for t in transitions
    ]


# --- the properties -----------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind_and_series())
def test_observe_and_observe_many_give_the_reference_transitions_for_every_kind(
    case: tuple[SensorKind, list[Reading], list[int]],
) -> None:
    kind, readings, cuts = case
    sensor = _sensor(kind)
    reference = SensorEvaluator(sensor.id, sensor.rule_set, sensor.period, T0)
    one_by_one = SensorEvaluator(sensor.id, sensor.rule_set, sensor.period, T0)
    batched = SensorEvaluator(sensor.id, sensor.rule_set, sensor.period, T0)

    expected = [t for r in readings for t in _reference_observe(reference.states, r)]
    single = [t for r in readings for t in one_by_one.observe(r)]
    many = [t for batch in _batches(readings, cuts) for t in batched.observe_many(batch)]

    assert _described(single) == _described(expected)
    assert _described(many) == _described(expected)
    # and the state each leaves behind (what the store keeps for the next batch) is the same
    assert one_by_one.snapshot() == reference.snapshot()
    assert batched.snapshot() == reference.snapshot()
    assert batched.due() == reference.due()


def test_the_generated_series_do_raise_and_clear_alarms_of_every_kind() -> None:
    """The property above is only worth something if the series it draws make rules flip: a crafted
    series per kind through the reference shows that values at the rule levels do."""
    flipped: set[SensorKind] = set()
    for kind in SensorKind:
        sensor = _sensor(kind)
        ev = SensorEvaluator(sensor.id, sensor.rule_set, sensor.period, T0)
        levels = _levels(kind)
        at = T0
        for level in [v for v in sorted({v for vs in levels.values() for v in vs}) for _ in range(16)]:
            at += timedelta(minutes=1)
            values = {
                name: min(q.maximum, max(q.minimum, level)) for name, q in KINDS[kind].quantities.items()
            }
            if _reference_observe(ev.states, Reading(sensor.id, at, values)):
                flipped.add(kind)
    assert flipped == set(SensorKind)

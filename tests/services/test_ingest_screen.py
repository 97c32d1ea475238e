"""The batch check of ingestion, a sensor at a time, against the reading-by-reading check it replaces:
the same readings accepted, in the same order, and the same refusals with the same reasons, in the
same order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from chengyun.adapters.payloads import Decoded
from chengyun.domain.geo import Point
from chengyun.domain.sensors import DEFAULT_LIMITS, Reading, Sensor, SensorKind, validate
from chengyun.services.ingest import _describe, _Screening

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
REGISTRY = {
    s.id: s
    for s in (
        Sensor("W1", "A", SensorKind.WATER_LEVEL, Point(121.44, 31.22), "B1"),
        Sensor("W2", "B", SensorKind.WATER_LEVEL, Point(121.44, 31.22), "B2"),
        Sensor("T1", "A", SensorKind.TILT, Point(121.44, 31.22), "B1"),
        Sensor("M1", "A", SensorKind.MANHOLE_COVER, Point(121.44, 31.22), "C1"),
    )
}
# A payload's readings share one time object (the decoder caches them): a few, some out of the window.
TIMES = [
    NOW - timedelta(minutes=1),
    NOW - timedelta(minutes=2),
    NOW - timedelta(hours=30),  # too old
    NOW + timedelta(hours=1),  # too far ahead
    datetime(2026, 11, 25, 7, 59),  # no time zone
]
VALUES = st.dictionaries(
    st.sampled_from(["level", "tilt_x", "tilt_y", "open", "bogus"]),
    st.sampled_from([1.0, 0.5, -3.0, 5000.0, float("nan"), float("inf")]),
    max_size=3,
)
ITEMS = st.builds(
    Decoded,
    st.sampled_from(["W1", "W2", "T1", "M1", "X9"]),
    st.sampled_from(TIMES),
    VALUES,
    st.sampled_from([None, "A", "A", "B"]),
    st.sampled_from([None, None, None, {}, {"level": "cm"}, {"level": "m"}, {"tilt_x": "deg"}]),
)


def reading_by_reading(decoded: list[Decoded], streets: frozenset[str] | None) -> tuple[Any, list[Any]]:
    """The specification: each reading in turn, accepted unless its sensor is unknown (or of another
    street) or `validate` finds anything wrong."""
    accepted: dict[str, list[tuple[datetime, dict[str, float]]]] = {}
    refused: list[Any] = []
    for index, item in enumerate(decoded):
        sensor = REGISTRY.get(item.sensor_id)
        if (
            sensor is None
            or (item.street is not None and item.street != sensor.street)
            or (streets is not None and sensor.street not in streets)
        ):
            reason = f"传感器 {item.sensor_id} 未登记" + (f"（街道 {item.street}）" if item.street else "")
            refused.append(("unknown_sensor", reason, item.sensor_id, item.street, _describe(item), index))
            continue
        problems = validate(Reading(item.sensor_id, item.ts, item.values, item.units), sensor, NOW)
        if problems:
            reason = "；".join(p.reason for p in problems)
            refused.append((problems[0].code.value, reason, sensor.id, sensor.street, _describe(item), index))
            continue
        accepted.setdefault(sensor.id, []).append((item.ts, dict(item.values)))
    return accepted, refused


def screened(decoded: list[Decoded], streets: frozenset[str] | None) -> tuple[Any, list[Any]]:
    refused: list[Any] = []
    accepted = _Screening(REGISTRY, streets, None, NOW, DEFAULT_LIMITS, lambda *r: refused.append(r)).screen(
        decoded
    )
    return {k: [(r.ts, dict(r.values)) for r in v] for k, v in accepted.items()}, refused


@settings(max_examples=400, deadline=None)
@given(st.lists(ITEMS, max_size=40), st.sampled_from([None, frozenset({"A"}), frozenset({"A", "B"})]))
def test_a_batch_checked_sensor_by_sensor_accepts_and_refuses_as_reading_by_reading(
    decoded: list[Decoded], streets: frozenset[str] | None
) -> None:
    expected_accepted, expected_refused = reading_by_reading(decoded, streets)
    accepted, refused = screened(decoded, streets)
    assert refused == expected_refused
    assert list(accepted) == list(expected_accepted)  # sensors in the order of their first accepted reading
    assert accepted == expected_accepted


def test_a_clean_gateway_batch_is_accepted_whole_in_arrival_order() -> None:
    early, late = TIMES[1], TIMES[0]
    decoded = [
        Decoded("W2", early, {"level": 1.0}, "B"),
        Decoded("T1", early, {"tilt_x": 0.5}, "A"),
        Decoded("W1", early, {"level": 2.0}, None),
        Decoded("W2", late, {"level": 3.0}, "B"),
        Decoded("T1", late, {"tilt_x": 0.5, "tilt_y": -3.0}, "A"),
    ]
    accepted, refused = screened(decoded, None)
    assert refused == []
    assert accepted == {
        "W2": [(early, {"level": 1.0}), (late, {"level": 3.0})],
        "T1": [(early, {"tilt_x": 0.5}), (late, {"tilt_x": 0.5, "tilt_y": -3.0})],
        "W1": [(early, {"level": 2.0})],
    }


def test_a_sensor_with_a_refused_reading_keeps_its_place_by_its_first_accepted_one() -> None:
    now, old = TIMES[0], TIMES[2]
    decoded = [
        Decoded("W1", old, {"level": 1.0}, "A"),  # refused: too old
        Decoded("W1", now, {"level": 2.0}, "A"),
        Decoded("W2", now, {"level": 3.0}, "B"),
        Decoded("T1", now, {"tilt_x": 99.0}, "A"),  # refused: out of range
        Decoded("T1", now, {"tilt_x": 1.0}, "A"),
    ]
    accepted, refused = screened(decoded, None)
    assert [(r[0], r[5]) for r in refused] == [("ts_too_old", 0), ("out_of_range", 3)]
    assert list(accepted) == ["W1", "W2", "T1"]
    assert (accepted, refused) == reading_by_reading(decoded, None)

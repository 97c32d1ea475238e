"""Sensor kinds, the registry entry, reading validation at the edge and the CSV registry import."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from chengyun.domain.errors import ImportRejected, InvalidInput
from chengyun.domain.geo import Point
from chengyun.domain.rules import OfflineRule, ThresholdRule
from chengyun.domain.sensors import (
    KINDS,
    Reading,
    RejectCode,
    Sensor,
    SensorKind,
    TimeLimits,
    WatchKind,
    sensor_to_row,
    sensors_from_rows,
    validate,
)
from chengyun.domain.severity import Colour

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 6, 1, 8, 0, tzinfo=CST)
HERE = Point(121.44, 31.22)


def tilt_sensor() -> Sensor:
    return Sensor("TILT-001", "T", SensorKind.TILT, HERE, "T-B-001")


def codes(reading: Reading, sensor: Sensor, now: datetime = NOW, **kw: TimeLimits) -> list[RejectCode]:
    return [r.code for r in validate(reading, sensor, now, **kw)]


def test_every_kind_the_issue_names_has_a_chinese_label_quantities_and_an_interval() -> None:
    for kind in SensorKind:
        spec = KINDS[kind]
        assert spec.label and not spec.label.isascii()
        assert spec.quantities and spec.interval > timedelta(0)
        for q in spec.quantities.values():
            assert q.minimum < q.maximum
        assert any(isinstance(r, OfflineRule) for r in spec.default_rules)
    assert SensorKind.CRACK_WIDTH.label == "裂缝宽度"


def test_a_sensor_defaults_to_its_kinds_units_interval_and_rules() -> None:
    s = tilt_sensor()
    assert s.units == {"tilt_x": "°", "tilt_y": "°"}
    assert s.period == timedelta(minutes=10)
    assert {r.id for r in s.rule_set} >= {"tilt-x-drift", "offline"}
    q = s.quantities()
    assert q["tilt_x"]["unit"] == "°"
    assert q["tilt_x"]["thresholds"][0]["high"] == 2.0


def test_a_sensor_reporting_a_subset_gets_only_the_rules_for_it() -> None:
    s = Sensor("M1", "T", SensorKind.MANHOLE_COVER, HERE, "C-17", WatchKind.COMPONENT, {"open": ""})
    assert {r.id for r in s.rule_set} == {"cover-open", "offline"}


def test_sensor_refuses_a_foreign_quantity_a_wrong_unit_or_a_rule_on_a_missing_quantity() -> None:
    with pytest.raises(InvalidInput, match="没有测量量"):
        Sensor("X", "T", SensorKind.NOISE, HERE, "B", units={"pm25": "µg/m³"})
    with pytest.raises(InvalidInput, match="单位应为"):
        Sensor("X", "T", SensorKind.WATER_LEVEL, HERE, "B", units={"level": "m"})
    with pytest.raises(InvalidInput, match="不在此传感器上"):
        Sensor("X", "T", SensorKind.NOISE, HERE, "B", rules=(ThresholdRule("r", "pm25", Colour.RED, high=1),))


def test_a_good_reading_passes() -> None:
    reading = Reading("TILT-001", NOW - timedelta(minutes=1), {"tilt_x": 0.31, "tilt_y": -0.02})
    assert validate(reading, tilt_sensor(), NOW) == []


def test_unknown_quantity_is_rejected_naming_the_expected_ones() -> None:
    (r,) = validate(Reading("TILT-001", NOW, {"tilt_z": 0.1}), tilt_sensor(), NOW)
    assert r.code is RejectCode.UNKNOWN_QUANTITY and r.quantity == "tilt_z"
    assert "没有测量量 'tilt_z'" in r.reason and "tilt_x" in r.reason


@pytest.mark.parametrize("value", ["0.3", None, True, [1.0]])
def test_non_numeric_values_are_rejected(value: object) -> None:
    (r,) = validate(Reading("TILT-001", NOW, {"tilt_x": value}), tilt_sensor(), NOW)
    assert r.code is RejectCode.NOT_NUMERIC
    assert "不是数字" in r.reason


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_values_are_rejected(value: float) -> None:
    assert codes(Reading("TILT-001", NOW, {"tilt_x": value}), tilt_sensor()) == [RejectCode.NOT_FINITE]


def test_values_outside_the_physical_range_are_rejected() -> None:
    (r,) = validate(Reading("TILT-001", NOW, {"tilt_x": 95.0}), tilt_sensor(), NOW)
    assert r.code is RejectCode.OUT_OF_RANGE
    assert "超出物理量程 -90～90°" in r.reason
    assert codes(Reading("TILT-001", NOW, {"tilt_x": 90.0}), tilt_sensor()) == []


def test_time_too_far_ahead_or_behind_is_rejected() -> None:
    s = tilt_sensor()
    assert codes(Reading("TILT-001", NOW + timedelta(minutes=4), {"tilt_x": 0}), s) == []
    (ahead,) = validate(Reading("TILT-001", NOW + timedelta(minutes=6), {"tilt_x": 0}), s, NOW)
    assert ahead.code is RejectCode.IN_FUTURE and "晚 6.0 分钟" in ahead.reason
    assert codes(Reading("TILT-001", NOW - timedelta(hours=23), {"tilt_x": 0}), s) == []
    (old,) = validate(Reading("TILT-001", NOW - timedelta(hours=25), {"tilt_x": 0}), s, NOW)
    assert old.code is RejectCode.TOO_OLD and "早 25.0 小时" in old.reason
    week = TimeLimits(past=timedelta(days=7))
    assert codes(Reading("TILT-001", NOW - timedelta(hours=25), {"tilt_x": 0}), s, limits=week) == []


def test_naive_time_wrong_sensor_no_values_and_wrong_unit() -> None:
    s = tilt_sensor()
    assert codes(Reading("TILT-001", NOW.replace(tzinfo=None), {"tilt_x": 0}), s) == [RejectCode.NAIVE_TIME]
    assert codes(Reading("OTHER", NOW, {"tilt_x": 0}), s) == [RejectCode.WRONG_SENSOR]
    assert codes(Reading("TILT-001", NOW, {}), s) == [RejectCode.NO_VALUES]
    assert codes(Reading("TILT-001", NOW, {"tilt_x": 0}, {"tilt_x": "rad"}), s) == [RejectCode.WRONG_UNIT]
    assert codes(Reading("TILT-001", NOW, {"tilt_x": 0}, {"tilt_x": "deg"}), s) == []  # SenML's spelling


def test_every_problem_of_a_reading_is_listed() -> None:
    reading = Reading("TILT-001", NOW + timedelta(hours=1), {"tilt_x": float("nan"), "hum": 3, "tilt_y": 200})
    assert codes(reading, tilt_sensor()) == [
        RejectCode.IN_FUTURE,
        RejectCode.NOT_FINITE,
        RejectCode.UNKNOWN_QUANTITY,
        RejectCode.OUT_OF_RANGE,
    ]


# --- registry rows ----------------------------------------------------------------------------------


def row(**kw: str) -> dict[str, str]:
    base = {"id": "W1", "kind": "water_level", "lon": "121.44", "lat": "31.22", "watches": "T-R-01"}
    base.update(kw)
    return base


def test_rows_become_sensors_and_round_trip() -> None:
    rules = json.dumps(
        [{"id": "deep", "kind": "threshold", "colour": "red", "quantity": "level", "high": 40}]
    )
    sensors = sensors_from_rows(
        [
            row(),
            row(id="W2", interval_s="30", rules=rules),
            row(id="M1", kind="manhole_cover", watch_kind="component", watches="C-1", quantities="open"),
        ],
        "T",
        places=["T-R-01"],
        components=["C-1"],
    )
    w1, w2, m1 = sensors
    assert w1.period == timedelta(minutes=1) and len(w1.rule_set) == len(
        KINDS[SensorKind.WATER_LEVEL].default_rules
    )
    assert w2.period == timedelta(seconds=30) and [r.id for r in w2.rule_set] == ["deep"]
    assert m1.watch_kind is WatchKind.COMPONENT and m1.units == {"open": ""}
    assert sensors_from_rows([sensor_to_row(s) for s in sensors], "T") == sensors


def test_bad_rows_are_all_reported_by_line_and_nothing_is_imported() -> None:
    rows = [
        row(),
        row(),  # duplicate id
        row(id="W3", kind="radar"),
        row(id="W4", lon="east"),
        row(id="W5", lat="95"),
        row(id="W6", watches="nowhere"),
        row(id="W7", interval_s="-5"),
        row(id="W8", quantities="level|colour"),
        row(id="W9", rules="[{"),
        row(id="W10", rules='[{"id": "x", "kind": "threshold", "colour": "red", "quantity": "level"}]'),
        row(id="W11", street="OTHER"),
        row(id="W12", watch_kind="tree"),
        row(id="", watches=""),
    ]
    with pytest.raises(ImportRejected) as e:
        sensors_from_rows(rows, "T", places=["T-R-01"])
    errors = e.value.details["errors"]
    got = {(err["row"], err["field"]) for err in errors}
    assert got == {
        (3, "id"),
        (4, "kind"),
        (5, "lon"),
        (6, "lon"),
        (7, "watches"),
        (8, "interval_s"),
        (9, "quantities"),
        (10, "rules"),
        (11, "rules"),
        (12, "street"),
        (13, "watch_kind"),
        (14, "id"),
        (14, "watches"),
    }
    assert "未导入任何数据" in e.value.message
    reasons = {err["row"]: err["reason"] for err in errors}
    assert "未知的传感器类型 'radar'" in reasons[4]
    assert "地点 nowhere 不存在" in reasons[7]
    assert "没有测量量 'colour'" in reasons[9]
    assert "至少需要上限" in reasons[11]


def test_geojson_feature_of_a_sensor() -> None:
    feature = tilt_sensor().as_feature()
    assert feature["geometry"] == {"type": "Point", "coordinates": [121.44, 31.22]}
    assert feature["properties"]["label"] == "建筑倾斜"
    assert feature["properties"]["quantities"]["tilt_y"]["unit"] == "°"

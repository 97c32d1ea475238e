"""Sensors (神经元): their kinds and quantities, the registry entry, readings and edge validation."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from chengyun.domain.errors import ImportRejected, InvalidInput
from chengyun.domain.geo import Point
from chengyun.domain.rules import (
    DriftRule,
    OfflineRule,
    RateRule,
    RuleSpec,
    StuckRule,
    SustainedRule,
    ThresholdRule,
    rule_to_dict,
    rules_from_dicts,
)
from chengyun.domain.severity import Colour


class SensorKind(StrEnum):
    STRUCTURAL_DISPLACEMENT = "structural_displacement"  # 结构位移
    TILT = "tilt"  # 建筑倾斜
    CRACK_WIDTH = "crack_width"  # 裂缝宽度
    MANHOLE_COVER = "manhole_cover"  # 井盖倾斜/开启
    WATER_LEVEL = "water_level"  # 积水/排水水位
    SMOKE = "smoke"  # 烟感
    GAS = "gas"  # 燃气
    NOISE = "noise"  # 噪声
    CROWD_DENSITY = "crowd_density"  # 人群密度（视频计数）
    EBIKE_PARKING = "ebike_parking"  # 非机动车停放（视频计数）
    STREET_LIGHT = "street_light"  # 路灯
    LITTER_BIN = "litter_bin"  # 垃圾桶满溢
    AIR_QUALITY = "air_quality"  # 空气质量

    @property
    def label(self) -> str:
        return KINDS[self].label


@dataclass(frozen=True, slots=True)
class Quantity:
    """A value a sensor reports: its name in the payload, unit, Chinese label and physical range
    (a reading outside it is a device or transmission fault, not an alarm)."""

    name: str
    unit: str
    label: str
    minimum: float
    maximum: float


@dataclass(frozen=True)
class KindSpec:
    kind: SensorKind
    label: str
    quantities: Mapping[str, Quantity]
    interval: timedelta  # expected reporting interval
    default_rules: tuple[RuleSpec, ...] = ()


def _q(*quantities: Quantity) -> dict[str, Quantity]:
    return {q.name: q for q in quantities}


_MIN = timedelta(minutes=1)
_R, _O, _Y, _B = Colour.RED, Colour.ORANGE, Colour.YELLOW, Colour.BLUE

KINDS: Mapping[SensorKind, KindSpec] = {
    spec.kind: spec
    for spec in (
        KindSpec(
            SensorKind.STRUCTURAL_DISPLACEMENT,
            "结构位移",
            _q(Quantity("displacement", "mm", "位移", -500.0, 500.0)),
            10 * _MIN,
            (
                ThresholdRule(
                    "displacement-high",
                    "displacement",
                    _O,
                    high=10.0,
                    clear_below=8.0,
                    low=-10.0,
                    clear_above=-8.0,
                ),
                RateRule("displacement-rate", "displacement", _R, per_minute=0.5),
                DriftRule("displacement-drift", "displacement", _Y, max_drift=3.0),
                OfflineRule("offline", _B),
                StuckRule("stuck", "displacement", _B, samples=144),
            ),
        ),
        KindSpec(
            SensorKind.TILT,
            "建筑倾斜",
            _q(
                Quantity("tilt_x", "°", "X 向倾角", -90.0, 90.0),
                Quantity("tilt_y", "°", "Y 向倾角", -90.0, 90.0),
            ),
            10 * _MIN,
            (
                ThresholdRule(
                    "tilt-x-high", "tilt_x", _O, high=2.0, clear_below=1.8, low=-2.0, clear_above=-1.8
                ),
                ThresholdRule(
                    "tilt-y-high", "tilt_y", _O, high=2.0, clear_below=1.8, low=-2.0, clear_above=-1.8
                ),
                RateRule("tilt-x-rate", "tilt_x", _R, per_minute=0.05),
                RateRule("tilt-y-rate", "tilt_y", _R, per_minute=0.05),
                DriftRule("tilt-x-drift", "tilt_x", _Y, max_drift=0.5),
                DriftRule("tilt-y-drift", "tilt_y", _Y, max_drift=0.5),
                OfflineRule("offline", _B),
            ),
        ),
        KindSpec(
            SensorKind.CRACK_WIDTH,
            "裂缝宽度",
            _q(Quantity("width", "mm", "裂缝宽度", 0.0, 100.0)),
            60 * _MIN,
            (
                ThresholdRule("crack-wide", "width", _O, high=3.0, clear_below=2.8),
                DriftRule("crack-drift", "width", _Y, max_drift=0.3),
                OfflineRule("offline", _B),
            ),
        ),
        KindSpec(
            SensorKind.MANHOLE_COVER,
            "井盖",
            _q(
                Quantity("tilt", "°", "井盖倾角", 0.0, 180.0),
                Quantity("open", "", "开启（0/1）", 0.0, 1.0),
            ),
            5 * _MIN,
            (
                ThresholdRule("cover-open", "open", _R, high=0.5),
                ThresholdRule("cover-tilt", "tilt", _O, high=15.0, clear_below=10.0),
                OfflineRule("offline", _B),
            ),
        ),
        KindSpec(
            SensorKind.WATER_LEVEL,
            "水位",
            _q(Quantity("level", "cm", "水位", -500.0, 1000.0)),
            _MIN,
            (
                ThresholdRule("water-high", "level", _O, high=15.0, clear_below=10.0),
                SustainedRule("water-sustained", "level", _R, n=8, m=10, above=30.0),
                RateRule("water-rising", "level", _Y, per_minute=2.0, direction="rise"),
                OfflineRule("offline", _B),
            ),
        ),
        KindSpec(
            SensorKind.SMOKE,
            "烟感",
            _q(Quantity("obscuration", "%/m", "烟雾遮光率", 0.0, 100.0)),
            _MIN,
            (
                SustainedRule("smoke", "obscuration", _R, n=2, m=3, above=4.0),
                OfflineRule("offline", _B),
            ),
        ),
        KindSpec(
            SensorKind.GAS,
            "燃气",
            _q(Quantity("lel", "%LEL", "可燃气体浓度", 0.0, 100.0)),
            _MIN,
            (
                ThresholdRule("gas-high", "lel", _R, high=20.0, clear_below=10.0),
                ThresholdRule("gas-warn", "lel", _O, high=10.0, clear_below=5.0),
                OfflineRule("offline", _B),
            ),
        ),
        KindSpec(
            SensorKind.NOISE,
            "噪声",
            _q(Quantity("laeq", "dB(A)", "等效声级", 20.0, 140.0)),
            _MIN,
            (
                SustainedRule("noise-loud", "laeq", _Y, n=10, m=15, above=70.0),
                OfflineRule("offline", _B),
                StuckRule("stuck", "laeq", _B, samples=120),
            ),
        ),
        KindSpec(
            SensorKind.CROWD_DENSITY,
            "人群密度",
            _q(
                Quantity("density", "人/m²", "人群密度", 0.0, 10.0),
                Quantity("count", "人", "人数", 0.0, 100000.0),
            ),
            _MIN,
            (
                SustainedRule("crowd-dense", "density", _O, n=3, m=5, above=2.0),
                ThresholdRule("crowd-crush", "density", _R, high=4.0, clear_below=3.0),
                OfflineRule("offline", _B),
            ),
        ),
        KindSpec(
            SensorKind.EBIKE_PARKING,
            "非机动车停放",
            _q(
                Quantity("occupancy", "%", "占用率", 0.0, 300.0),
                Quantity("count", "辆", "停放数", 0.0, 10000.0),
            ),
            5 * _MIN,
            (
                SustainedRule("ebike-full", "occupancy", _Y, n=3, m=4, above=100.0),
                OfflineRule("offline", _B),
            ),
        ),
        KindSpec(
            SensorKind.STREET_LIGHT,
            "路灯",
            _q(
                Quantity("on", "", "亮灯（0/1）", 0.0, 1.0),
                Quantity("fault", "", "故障（0/1）", 0.0, 1.0),
            ),
            15 * _MIN,
            (
                ThresholdRule("light-fault", "fault", _Y, high=0.5),
                OfflineRule("offline", _B),
            ),
        ),
        KindSpec(
            SensorKind.LITTER_BIN,
            "垃圾桶满溢",
            _q(Quantity("fill", "%", "满溢度", 0.0, 100.0)),
            30 * _MIN,
            (
                ThresholdRule("bin-full", "fill", _Y, high=90.0, clear_below=30.0),
                OfflineRule("offline", _B),
            ),
        ),
        KindSpec(
            SensorKind.AIR_QUALITY,
            "空气质量",
            _q(
                Quantity("pm25", "µg/m³", "PM2.5", 0.0, 1000.0),
                Quantity("pm10", "µg/m³", "PM10", 0.0, 2000.0),
            ),
            5 * _MIN,
            (
                SustainedRule("pm25-high", "pm25", _Y, n=6, m=12, above=115.0),
                OfflineRule("offline", _B),
                StuckRule("stuck", "pm25", _B, samples=72),
            ),
        ),
    )
}

# Other spellings of a unit that mean the same (SenML's "deg", "dBA", ...).
_UNIT_ALIASES = {
    "deg": "°",
    "degree": "°",
    "dba": "dB(A)",
    "db(a)": "dB(A)",
    "ug/m3": "µg/m³",
    "μg/m³": "µg/m³",
    "µg/m3": "µg/m³",
    "1": "",
    "/": "",
    "%lel": "%LEL",
}


def normalise_unit(unit: str) -> str:
    text = unit.strip()
    return _UNIT_ALIASES.get(text.lower(), text)


class WatchKind(StrEnum):
    PLACE = "place"  # a building, area, POI or road (places.py)
    COMPONENT = "component"  # a city component (部件): a manhole, a street light, a bin


@dataclass(frozen=True)
class Sensor:
    """A registered sensor. `units` maps each quantity it reports to its unit (a subset of its
    kind's quantities, in the kind's units); `rules` is its rule set (the kind's defaults if none)."""

    id: str
    street: str
    kind: SensorKind
    location: Point
    watches: str  # code of the watched place or component
    watch_kind: WatchKind = WatchKind.PLACE
    units: Mapping[str, str] = field(default_factory=dict)
    interval: timedelta | None = None
    rules: tuple[RuleSpec, ...] | None = None

    def __post_init__(self) -> None:
        if not self.id.strip() or len(self.id) > 64:
            raise InvalidInput("传感器编号不能为空，且不超过 64 个字符", sensor=self.id)
        spec = KINDS[self.kind]
        if not self.units:
            object.__setattr__(self, "units", {q.name: q.unit for q in spec.quantities.values()})
        for name, unit in self.units.items():
            quantity = spec.quantities.get(name)
            if quantity is None:
                raise InvalidInput(f"{spec.label}传感器没有测量量 {name}", sensor=self.id, quantity=name)
            if normalise_unit(unit) != quantity.unit:
                raise InvalidInput(
                    f"{quantity.label}的单位应为 {quantity.unit or '无量纲'}，不是 {unit}",
                    sensor=self.id,
                    quantity=name,
                )
        if self.interval is None:
            object.__setattr__(self, "interval", spec.interval)
        elif self.interval <= timedelta(0):
            raise InvalidInput("上报周期必须大于 0", sensor=self.id)
        if self.rules is None:
            object.__setattr__(
                self,
                "rules",
                tuple(r for r in spec.default_rules if r.quantity is None or r.quantity in self.units),
            )
        for rule in self.rule_set:
            if rule.quantity is not None and rule.quantity not in self.units:
                raise InvalidInput(
                    f"规则 {rule.id} 针对的测量量 {rule.quantity} 不在此传感器上", sensor=self.id
                )
        ids = [r.id for r in self.rule_set]
        if len(set(ids)) != len(ids):
            raise InvalidInput("规则编号重复", sensor=self.id)

    @functools.cached_property
    def ranges(self) -> dict[str, tuple[float, float]]:
        """Each reported quantity's physical range (what `validate` checks values against)."""
        quantities = self.spec.quantities
        return {name: (quantities[name].minimum, quantities[name].maximum) for name in self.units}

    @property
    def spec(self) -> KindSpec:
        return KINDS[self.kind]

    @property
    def period(self) -> timedelta:
        assert self.interval is not None
        return self.interval

    @property
    def rule_set(self) -> tuple[RuleSpec, ...]:
        assert self.rules is not None
        return self.rules

    def quantities(self) -> dict[str, dict[str, Any]]:
        """For GET /api/v1/sensors: each value name with unit, label, range and alarm thresholds."""
        out: dict[str, dict[str, Any]] = {}
        for name, unit in self.units.items():
            q = self.spec.quantities[name]
            thresholds = [
                {k: v for k, v in rule_to_dict(r).items() if k not in ("quantity",)}
                for r in self.rule_set
                if r.quantity == name and isinstance(r, ThresholdRule | SustainedRule)
            ]
            out[name] = {
                "unit": unit,
                "label": q.label,
                "range": [q.minimum, q.maximum],
                "thresholds": thresholds,
            }
        return out

    def as_feature(self) -> dict[str, Any]:
        """A GeoJSON Feature (for export and maps)."""
        return {
            "type": "Feature",
            "id": self.id,
            "geometry": {"type": "Point", "coordinates": [self.location.lon, self.location.lat]},
            "properties": {
                "id": self.id,
                "kind": self.kind.value,
                "label": self.kind.label,
                "street": self.street,
                "watches": self.watches,
                "watch_kind": self.watch_kind.value,
                "interval_s": self.period.total_seconds(),
                "quantities": self.quantities(),
                "rules": [rule_to_dict(r) for r in self.rule_set],
            },
        }


@dataclass(frozen=True, slots=True)
class Reading:
    """One sensor's values at one moment. `units`, if the payload carried them (SenML), are checked."""

    sensor_id: str
    ts: datetime
    values: Mapping[str, float]
    units: Mapping[str, str] | None = None


# --- validation at the edge ----------------------------------------------------------------------


class RejectCode(StrEnum):
    """The same codes as the payload decoder's dead-letter log (adapters/payloads.py) where they overlap."""

    WRONG_SENSOR = "wrong_sensor"
    NAIVE_TIME = "ts_no_timezone"
    NO_VALUES = "empty_values"
    UNKNOWN_QUANTITY = "unknown_quantity"
    WRONG_UNIT = "wrong_unit"
    NOT_NUMERIC = "not_numeric"
    NOT_FINITE = "not_finite"
    OUT_OF_RANGE = "out_of_range"
    IN_FUTURE = "ts_future"
    TOO_OLD = "ts_too_old"


@dataclass(frozen=True, slots=True)
class Rejection:
    code: RejectCode
    reason: str  # Chinese, for the dead-letter log an operator reads
    quantity: str | None = None


@dataclass(frozen=True, slots=True)
class TimeLimits:
    future: timedelta = timedelta(minutes=5)
    past: timedelta = timedelta(hours=24)


DEFAULT_LIMITS = TimeLimits()


def validate(
    reading: Reading, sensor: Sensor, now: datetime, limits: TimeLimits = DEFAULT_LIMITS
) -> list[Rejection]:
    """Everything wrong with a reading, in order; empty when it can be stored and evaluated."""
    out: list[Rejection] = []
    if reading.sensor_id != sensor.id:
        out.append(
            Rejection(RejectCode.WRONG_SENSOR, f"读数属于 {reading.sensor_id}，不是传感器 {sensor.id}")
        )
    ts = reading.ts
    if not isinstance(ts, datetime) or ts.tzinfo is None:
        out.append(Rejection(RejectCode.NAIVE_TIME, "时间戳缺少时区"))
    elif ts - now > limits.future:
        ahead = (ts - now).total_seconds() / 60.0
        out.append(
            Rejection(
                RejectCode.IN_FUTURE,
                f"时间戳比当前时间晚 {ahead:.1f} 分钟，"
                f"超过允许的 {limits.future.total_seconds() / 60.0:g} 分钟",
            )
        )
    elif now - ts > limits.past:
        behind = (now - ts).total_seconds() / 3600.0
        out.append(
            Rejection(
                RejectCode.TOO_OLD,
                f"时间戳比当前时间早 {behind:.1f} 小时，"
                f"超过允许的 {limits.past.total_seconds() / 3600.0:g} 小时",
            )
        )
    if not reading.values:
        out.append(Rejection(RejectCode.NO_VALUES, "读数没有任何测量值"))
    spec = sensor.spec
    for name, value in reading.values.items():
        if name not in sensor.units:
            known = "、".join(sensor.units)
            out.append(
                Rejection(
                    RejectCode.UNKNOWN_QUANTITY,
                    f"{spec.label}传感器 {sensor.id} 没有测量量 {name!r}（应为 {known}）",
                    str(name),
                )
            )
            continue
        q = spec.quantities[name]
        if reading.units and name in reading.units:
            given = reading.units[name]
            if normalise_unit(str(given)) != normalise_unit(sensor.units[name]):
                out.append(
                    Rejection(
                        RejectCode.WRONG_UNIT,
                        f"{q.label}的单位应为 {sensor.units[name] or '无量纲'}，不是 {given!r}",
                        name,
                    )
                )
        if isinstance(value, bool) or not isinstance(value, int | float):
            out.append(Rejection(RejectCode.NOT_NUMERIC, f"{q.label} {name} 的值 {value!r} 不是数字", name))
        elif not math.isfinite(value):
            out.append(Rejection(RejectCode.NOT_FINITE, f"{q.label} {name} 的值 {value} 不是有限数字", name))
        elif not q.minimum <= value <= q.maximum:
            out.append(
                Rejection(
                    RejectCode.OUT_OF_RANGE,
                    f"{q.label} {name} 的值 {value:g}{q.unit} 超出物理量程 "
                    f"{q.minimum:g}～{q.maximum:g}{q.unit}",
                    name,
                )
            )
    return out


# --- registry import / export (CSV rows) ---------------------------------------------------------

CSV_COLUMNS = (
    "id",
    "kind",
    "lon",
    "lat",
    "watches",
    "watch_kind",
    "interval_s",
    "quantities",
    "rules",
    "street",
)


def sensor_to_row(sensor: Sensor) -> dict[str, str]:
    """A CSV row `sensors_from_rows` reads back."""
    return {
        "id": sensor.id,
        "kind": sensor.kind.value,
        "lon": repr(sensor.location.lon),
        "lat": repr(sensor.location.lat),
        "watches": sensor.watches,
        "watch_kind": sensor.watch_kind.value,
        "interval_s": f"{sensor.period.total_seconds():g}",
        "quantities": "|".join(sensor.units),
        "rules": json.dumps([rule_to_dict(r) for r in sensor.rule_set], ensure_ascii=False),
        "street": sensor.street,
    }


def sensors_from_rows(
    rows: Sequence[Mapping[str, str]],
    street: str,
    places: Iterable[str] | None = None,
    components: Iterable[str] | None = None,
) -> list[Sensor]:
    """Sensors from CSV rows (columns: CSV_COLUMNS; `interval_s`, `quantities`, `rules`, `watch_kind`,
    `street` optional). All-or-nothing: any bad row raises ImportRejected listing every bad row by its
    line number (the header is line 1), field and reason. `places`/`components`, if given, are the
    known codes a sensor may watch."""
    errors: list[dict[str, Any]] = []
    known = {
        WatchKind.PLACE: set(places) if places is not None else None,
        WatchKind.COMPONENT: set(components) if components is not None else None,
    }
    seen: set[str] = set()
    out: list[Sensor] = []

    for index, data in enumerate(rows):
        row = index + 2
        row_errors: list[dict[str, Any]] = []

        def fail(
            name: str, reason: str, row: int = row, row_errors: list[dict[str, Any]] = row_errors
        ) -> None:
            row_errors.append({"row": row, "field": name, "reason": reason})

        def text(name: str, data: Mapping[str, str] = data) -> str:
            return (data.get(name) or "").strip()

        sensor_id = text("id")
        if not sensor_id:
            fail("id", "不能为空")
        elif sensor_id in seen:
            fail("id", f"{sensor_id} 重复")
        seen.add(sensor_id)
        kind: SensorKind | None = None
        try:
            kind = SensorKind(text("kind"))
        except ValueError:
            fail("kind", f"未知的传感器类型 {text('kind')!r}")
        location: Point | None = None
        try:
            location = Point(float(text("lon")), float(text("lat")))
        except ValueError:
            fail("lon", f"坐标应为数字：{text('lon')!r}, {text('lat')!r}")
        except InvalidInput as e:
            fail("lon", e.message)
        watches = text("watches")
        if not watches:
            fail("watches", "不能为空")
        watch_kind = WatchKind.PLACE
        try:
            watch_kind = WatchKind(text("watch_kind") or "place")
        except ValueError:
            fail("watch_kind", f"应为 place 或 component，不是 {text('watch_kind')!r}")
        codes = known[watch_kind]
        if watches and codes is not None and watches not in codes:
            fail("watches", f"{'地点' if watch_kind is WatchKind.PLACE else '部件'} {watches} 不存在")
        interval: timedelta | None = None
        if text("interval_s"):
            try:
                seconds = float(text("interval_s"))
                if not (math.isfinite(seconds) and seconds > 0):
                    raise ValueError(seconds)
                interval = timedelta(seconds=seconds)
            except ValueError:
                fail("interval_s", f"上报周期应为正数（秒），不是 {text('interval_s')!r}")
        units: dict[str, str] = {}
        if kind is not None and text("quantities"):
            for name in (n.strip() for n in text("quantities").split("|") if n.strip()):
                quantity = KINDS[kind].quantities.get(name)
                if quantity is None:
                    fail("quantities", f"{kind.label}传感器没有测量量 {name!r}")
                else:
                    units[name] = quantity.unit
        rules: tuple[RuleSpec, ...] | None = None
        if text("rules"):
            try:
                items = json.loads(text("rules"))
                if not isinstance(items, list):
                    raise InvalidInput("规则应为 JSON 数组")
                rules = rules_from_dicts(items)
            except json.JSONDecodeError as e:
                fail("rules", f"规则不是合法的 JSON：{e.msg}")
            except InvalidInput as e:
                fail("rules", e.message)
        row_street = text("street") or street
        if row_street != street:
            fail("street", f"属于街道 {row_street}，不是 {street}")
        if not row_errors and kind is not None and location is not None:
            try:
                out.append(
                    Sensor(sensor_id, street, kind, location, watches, watch_kind, units, interval, rules)
                )
            except InvalidInput as e:
                fail("rules" if "规则" in e.message else "quantities", e.message)
        errors.extend(row_errors)

    if errors:
        raise ImportRejected(f"传感器表有 {len(errors)} 处错误，未导入任何数据", errors=errors)
    return out


def sensors_from_geojson(
    collection: Mapping[str, Any],
    street: str,
    places: Iterable[str] | None = None,
    components: Iterable[str] | None = None,
) -> list[Sensor]:
    """Sensors from a GeoJSON FeatureCollection of points whose properties are those `Sensor.as_feature`
    writes (`id`, `kind`, `watches`, optional `watch_kind`, `interval_s`, `quantities`, `rules`, `street`).
    All-or-nothing like `sensors_from_rows`; errors name the feature by its index (0-based)."""
    features = collection.get("features") if isinstance(collection, Mapping) else None
    if collection.get("type") != "FeatureCollection" or not isinstance(features, list):
        raise ImportRejected(
            "应为 GeoJSON FeatureCollection", errors=[{"feature": None, "reason": "缺少 features 数组"}]
        )
    rows: list[dict[str, str]] = []
    shape_errors: list[dict[str, Any]] = []
    for index, feature in enumerate(features):
        props = feature.get("properties") if isinstance(feature, Mapping) else None
        geometry = feature.get("geometry") if isinstance(feature, Mapping) else None
        coords = geometry.get("coordinates") if isinstance(geometry, Mapping) else None
        if (
            not isinstance(props, Mapping)
            or not isinstance(geometry, Mapping)
            or geometry.get("type") != "Point"
            or not isinstance(coords, list)
            or len(coords) < 2
        ):
            shape_errors.append({"feature": index, "reason": "应为带 properties 的点（Point）要素"})
            rows.append({})
            continue
        quantities = props.get("quantities") or ()
        rules = props.get("rules")
        interval = props.get("interval_s")
        rows.append(
            {
                "id": str(props.get("id") or feature.get("id") or ""),
                "kind": str(props.get("kind") or ""),
                "lon": str(coords[0]),
                "lat": str(coords[1]),
                "watches": str(props.get("watches") or ""),
                "watch_kind": str(props.get("watch_kind") or ""),
                "interval_s": "" if interval is None else str(interval),
                "quantities": "|".join(str(q) for q in quantities),
                "rules": "" if rules is None else json.dumps(rules, ensure_ascii=False),
                "street": str(props.get("street") or ""),
            }
        )
    if shape_errors:
        raise ImportRejected(
            f"传感器 GeoJSON 有 {len(shape_errors)} 处错误，未导入任何数据", errors=shape_errors
        )
    try:
        return sensors_from_rows(rows, street, places, components)
    except ImportRejected as e:
        errors = [
            {"feature": err["row"] - 2, **{k: v for k, v in err.items() if k != "row"}}
            for err in e.details.get("errors", [])
        ]
        raise ImportRejected(
            f"传感器 GeoJSON 有 {len(errors)} 处错误，未导入任何数据", errors=errors
        ) from None

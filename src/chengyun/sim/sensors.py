"""The demo street's sensor network (14,000余个"神经元") and its simulated reports: pure generators, no I/O.

* `demo_sensors(seed)`: every sensor of 静安寺街道, placed on the street's buildings, roads, points of
  interest and city components (部件: manholes, drains, street lights, litter bins, e-bike parking zones; see
  `demo_components`). Deterministic: equal seeds give equal lists.
* `SensorFeed(sensors, seed, start)`: the reports they send, as MQTT (topic, payload) pairs in the contract
  format, each sensor on its own reporting interval, with noise and a daily rhythm; plus the misbehaviour
  scenarios (`Scenario`, Chinese descriptions) and a small share of deliberately broken payloads (`Fault`).
* `gateway_batches(messages)`: the same readings packed many to a message, as gateways send them.

Values are pure functions of (seed, sensor, report number): how often `due` is called does not change them,
and `series` replays one sensor without touching the feed's state.

Structural sensors (tilt, displacement, crack width) carry their installation reading (初始值) as the drift
rule's baseline instead of learning one from the first readings: the drift is then measured from the first
report on and survives a restart, and a building that is already moving when monitoring starts is not taken
as its own baseline. Every other unit, interval and rule is the kind's default.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import hashlib
import io
import itertools
import math
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import msgspec
import numpy as np

from chengyun.domain.geo import Point
from chengyun.domain.rules import DriftRule, OfflineRule, RuleSpec, StuckRule
from chengyun.domain.sensors import (
    CSV_COLUMNS,
    KINDS,
    Sensor,
    SensorKind,
    WatchKind,
    sensor_to_row,
)
from chengyun.sim import jingansi
from chengyun.sim.jingansi import inside

STREET = jingansi.STREET_CODE
TOPIC = "chengyun/{street}/sensors/{sensor_id}"

# Short, readable id parts per kind: JAS-TILT-00123.
ABBREVIATIONS: Mapping[SensorKind, str] = {
    SensorKind.STRUCTURAL_DISPLACEMENT: "DISP",
    SensorKind.TILT: "TILT",
    SensorKind.CRACK_WIDTH: "CRACK",
    SensorKind.MANHOLE_COVER: "MHC",
    SensorKind.WATER_LEVEL: "WATER",
    SensorKind.SMOKE: "SMOKE",
    SensorKind.GAS: "GAS",
    SensorKind.NOISE: "NOISE",
    SensorKind.CROWD_DENSITY: "CROWD",
    SensorKind.EBIKE_PARKING: "EBIKE",
    SensorKind.STREET_LIGHT: "LIGHT",
    SensorKind.LITTER_BIN: "BIN",
    SensorKind.AIR_QUALITY: "AIR",
}

# --- local plane (metres around the street's centre) ---------------------------------------------------

_LON0, _LAT0 = 121.4445, 31.225
_KX = 111_320.0 * math.cos(math.radians(_LAT0))
_KY = 110_574.0

XY = tuple[float, float]


def _xy(lonlat: Sequence[float]) -> XY:
    return ((lonlat[0] - _LON0) * _KX, (lonlat[1] - _LAT0) * _KY)


def _point(p: XY) -> Point:
    return Point(round(_LON0 + p[0] / _KX, 7), round(_LAT0 + p[1] / _KY, 7))


def _ring(geometry: Mapping[str, Any]) -> list[XY]:
    coords = geometry["coordinates"][0] if geometry["type"] == "Polygon" else geometry["coordinates"][0][0]
    ring = [_xy(c) for c in coords]
    return ring[:-1] if ring[0] == ring[-1] else ring


def _centroid(ring: Sequence[XY]) -> XY:
    return (sum(p[0] for p in ring) / len(ring), sum(p[1] for p in ring) / len(ring))


def _inset(ring: Sequence[XY], share: float) -> list[XY]:
    """The ring's corners pulled towards its centre by `share` (inside for a convex building)."""
    cx, cy = _centroid(ring)
    return [(x + (cx - x) * share, y + (cy - y) * share) for x, y in ring]


def _interior(rng: random.Random, ring: Sequence[XY], margin: float = 0.15) -> XY:
    """A random point inside the ring, kept off its walls by `margin` of the bounding box."""
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    dx, dy = (x1 - x0) * margin, (y1 - y0) * margin
    for _ in range(50):
        p = (rng.uniform(x0 + dx, x1 - dx), rng.uniform(y0 + dy, y1 - dy))
        if inside(p, ring):
            return p
    return _centroid(ring)


# --- the street's places, as this module needs them ------------------------------------------------------


@dataclass(frozen=True)
class _Road:
    code: str
    name: str
    line: tuple[XY, ...]
    main: bool  # a main road (bounds blocks) rather than a small one

    @property
    def length(self) -> float:
        return sum(math.dist(a, b) for a, b in zip(self.line, self.line[1:], strict=False))

    def at(self, d: float) -> tuple[XY, XY]:
        """Point `d` metres from the start and the unit normal to the left there."""
        for a, b in zip(self.line, self.line[1:], strict=False):
            seg = math.dist(a, b)
            if d <= seg or b == self.line[-1]:
                f = d / seg
                tx, ty = (b[0] - a[0]) / seg, (b[1] - a[1]) / seg
                return (a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1])), (-ty, tx)
            d -= seg
        raise AssertionError("unreachable")


@dataclass(frozen=True)
class _Street:
    ring: tuple[XY, ...]
    roads: tuple[_Road, ...]
    areas: tuple[tuple[str, tuple[XY, ...]], ...]
    buildings: tuple[tuple[str, Mapping[str, Any], tuple[XY, ...]], ...]
    pois: tuple[tuple[str, Mapping[str, Any], XY], ...]
    props: Mapping[str, Mapping[str, Any]]  # place code -> properties

    def area_of(self, p: XY) -> str | None:
        for code, ring in self.areas:
            if inside(p, ring):
                return code
        return None


_MAIN_ROADS = frozenset(
    {"延安中路", "南京西路", "愚园路", "新闸路", "江苏路", "乌鲁木齐北路", "常德路", "胶州路", "陕西北路"}
)


@functools.lru_cache(maxsize=1)
def _street() -> _Street:
    ring: tuple[XY, ...] = ()
    roads: list[_Road] = []
    areas: list[tuple[str, tuple[XY, ...]]] = []
    buildings: list[tuple[str, Mapping[str, Any], tuple[XY, ...]]] = []
    pois: list[tuple[str, Mapping[str, Any], XY]] = []
    props: dict[str, Mapping[str, Any]] = {}
    for feature in jingansi.places()["features"]:
        p, g = feature["properties"], feature["geometry"]
        props[p["code"]] = p
        kind = p["kind"]
        if kind == "street":
            ring = tuple(_ring(g))
        elif kind == "road":
            line = tuple(_xy(c) for c in g["coordinates"])
            roads.append(_Road(p["code"], p["name"], line, p["name"] in _MAIN_ROADS))
        elif kind == "area":
            areas.append((p["code"], tuple(_ring(g))))
        elif kind == "building":
            buildings.append((p["code"], p, tuple(_ring(g))))
        elif kind == "poi":
            pois.append((p["code"], p, _xy(g["coordinates"])))
    return _Street(ring, tuple(roads), tuple(areas), tuple(buildings), tuple(pois), props)


# --- city components (部件) -------------------------------------------------------------------------------


class ComponentKind(StrEnum):
    MANHOLE = "manhole"  # 井盖
    DRAIN = "drain"  # 雨水口
    STREET_LIGHT = "street_light"  # 路灯
    LITTER_BIN = "litter_bin"  # 垃圾箱
    EBIKE_ZONE = "ebike_zone"  # 非机动车停放点

    @property
    def label(self) -> str:
        return _COMPONENT_LABELS[self]


_COMPONENT_LABELS = {
    ComponentKind.MANHOLE: "井盖",
    ComponentKind.DRAIN: "雨水口",
    ComponentKind.STREET_LIGHT: "路灯",
    ComponentKind.LITTER_BIN: "垃圾箱",
    ComponentKind.EBIKE_ZONE: "非机动车停放点",
}
_COMPONENT_CODES = {
    ComponentKind.MANHOLE: "MH",
    ComponentKind.DRAIN: "DR",
    ComponentKind.STREET_LIGHT: "SL",
    ComponentKind.LITTER_BIN: "LB",
    ComponentKind.EBIKE_ZONE: "EB",
}


@dataclass(frozen=True, slots=True)
class Component:
    """A city component (部件) on a road: code `JAS-R05-MH017` (street, road, kind, number along the road)."""

    code: str
    kind: ComponentKind
    name: str  # Chinese: 愚园路井盖017
    location: Point
    road: str  # road place code
    area: str | None  # residential area it stands in, for routing


# (kind, spacing in metres on main roads, on small roads, both sides?, metres from the centre line, offset
# along the road). Spacings follow the usual furniture of a central Shanghai street.
_FURNITURE = (
    (ComponentKind.MANHOLE, 20.0, 28.0, True, 4.0, 5.0),
    (ComponentKind.DRAIN, 50.0, 70.0, True, 7.5, 12.0),
    (ComponentKind.STREET_LIGHT, 22.0, 28.0, True, 9.5, 2.0),
    (ComponentKind.LITTER_BIN, 45.0, 60.0, True, 10.5, 20.0),
    (ComponentKind.EBIKE_ZONE, 70.0, 90.0, True, 11.0, 35.0),
)


@functools.lru_cache(maxsize=1)
def _components() -> tuple[Component, ...]:
    street = _street()
    out: list[Component] = []
    for road in street.roads:
        length = road.length
        for kind, main_gap, small_gap, both, offset, first in _FURNITURE:
            gap = main_gap if road.main else small_gap
            n = 0
            d = first
            while d < length - 8.0:
                p, normal = road.at(d)
                for side in (1, -1) if both else (1,):
                    q = (p[0] + side * offset * normal[0], p[1] + side * offset * normal[1])
                    if not inside(q, street.ring):
                        continue
                    n += 1
                    prefix = _COMPONENT_CODES[kind]
                    out.append(
                        Component(
                            f"{road.code}-{prefix}{n:03d}",
                            kind,
                            f"{road.name}{kind.label}{n:03d}",
                            _point(q),
                            road.code,
                            street.area_of(q),
                        )
                    )
                d += gap
    return tuple(out)


def demo_components() -> list[Component]:
    """The street's city components that carry sensors, in a stable order."""
    return list(_components())


# --- sensors -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Draft:
    kind: SensorKind
    at: XY
    watches: str
    watch_kind: WatchKind
    profile: str  # what the simulator needs to know of the place: "main", "small", "mall", ...


# The installation reading (初始值) of a structural sensor: its drift baseline and the value the feed reports
# around; a pure function of the seed and the sensor, so the registry and the feed agree.
def _install_value(seed: int, sensor_id: str, quantity: str) -> float:
    u = _unit(_hash_str(seed, sensor_id, quantity))
    if quantity in ("tilt_x", "tilt_y"):
        return round((u - 0.5) * 0.6, 4)  # ±0.3°
    if quantity == "displacement":
        return round((u - 0.5) * 4.0, 2)  # ±2 mm
    return round(0.1 + u * 1.4, 3)  # crack width 0.1–1.5 mm


_STRUCTURAL = frozenset({SensorKind.TILT, SensorKind.STRUCTURAL_DISPLACEMENT, SensorKind.CRACK_WIDTH})


def _rules_with_baseline(kind: SensorKind, seed: int, sensor_id: str) -> tuple[RuleSpec, ...]:
    return tuple(
        dataclasses.replace(r, baseline=_install_value(seed, sensor_id, r.quantity))
        if isinstance(r, DriftRule)
        else r
        for r in KINDS[kind].default_rules
    )


def _drafts(rng: random.Random) -> list[_Draft]:
    street = _street()
    out: list[_Draft] = []
    place, component = WatchKind.PLACE, WatchKind.COMPONENT

    # Buildings: structure on every historic building, smoke by floor, gas where people cook.
    for code, p, ring in street.buildings:
        use, floors, historic = p["use"], int(p["floors"]), bool(p["historic"])
        profile = "lane" if p.get("lane") else use
        corners = _inset(ring, 0.12)
        if historic:
            for corner in corners[:4]:
                out.append(_Draft(SensorKind.TILT, corner, code, place, profile))
            for _ in range(2):
                out.append(
                    _Draft(SensorKind.STRUCTURAL_DISPLACEMENT, _interior(rng, ring), code, place, profile)
                )
            for _ in range(3):
                out.append(_Draft(SensorKind.CRACK_WIDTH, _interior(rng, ring), code, place, profile))
        else:  # modern towers: settlement and sway watched at two corners
            for corner in (corners[0], corners[2 % len(corners)]):
                out.append(_Draft(SensorKind.TILT, corner, code, place, profile))
                out.append(_Draft(SensorKind.STRUCTURAL_DISPLACEMENT, corner, code, place, profile))
        per_floor = {"residential": 0.8, "commercial": 1.5, "office": 1.0, "mixed": 1.2, "public": 1.2}
        smoke = min(40, max(2, round(floors * per_floor.get(use, 1.0))))
        for _ in range(smoke):
            out.append(_Draft(SensorKind.SMOKE, _interior(rng, ring), code, place, profile))
        gas = {"residential": 2, "commercial": 3, "mixed": 3}.get(use, 0)
        for _ in range(gas):
            out.append(_Draft(SensorKind.GAS, _interior(rng, ring), code, place, profile))

    # Components on the roads, one sensor each.
    by_component = {
        ComponentKind.MANHOLE: SensorKind.MANHOLE_COVER,
        ComponentKind.DRAIN: SensorKind.WATER_LEVEL,
        ComponentKind.STREET_LIGHT: SensorKind.STREET_LIGHT,
        ComponentKind.LITTER_BIN: SensorKind.LITTER_BIN,
        ComponentKind.EBIKE_ZONE: SensorKind.EBIKE_PARKING,
    }
    roads = {r.code: r for r in street.roads}
    for c in _components():
        profile = "main" if roads[c.road].main else "small"
        at = _xy((c.location.lon, c.location.lat))
        out.append(_Draft(by_component[c.kind], at, c.code, component, profile))

    # Noise and air quality at points along the roads (on the pavement, watching the road).
    for road in street.roads:
        profile = "main" if road.main else "small"
        for kind, gap, offset in ((SensorKind.NOISE, 60.0, 12.0), (SensorKind.AIR_QUALITY, 150.0, 12.5)):
            d = gap / 2
            while d < road.length - 8.0:
                on_road, normal = road.at(d)
                for side in (1, -1):
                    q = (on_road[0] + side * offset * normal[0], on_road[1] + side * offset * normal[1])
                    if inside(q, street.ring):
                        out.append(_Draft(kind, q, road.code, place, profile))
                        break
                d += gap

    # Points of interest: cameras counting people at entrances, noise and air at the busy ones.
    cameras = {"metro": 8, "mall": 10, "temple": 6, "park": 4, "market": 4, "school": 3, "hospital": 4}
    cameras["office_tower"] = 4
    for code, poi, spot in street.pois:
        poi_kind = str(poi["poi_kind"])
        count = cameras.get(poi_kind, 2)
        for k in range(count):
            angle = 2 * math.pi * k / count
            q = (spot[0] + 6.0 * math.cos(angle), spot[1] + 6.0 * math.sin(angle))
            out.append(_Draft(SensorKind.CROWD_DENSITY, q, code, place, poi_kind))
        for kind in (SensorKind.NOISE, SensorKind.AIR_QUALITY):
            out.append(_Draft(kind, (spot[0] + 3.0, spot[1] - 3.0), code, place, poi_kind))
        if poi_kind in ("metro", "mall", "office_tower"):
            q = (spot[0] - 4.0, spot[1] + 4.0)
            out.append(_Draft(SensorKind.EBIKE_PARKING, q, code, place, poi_kind))
    return out


@functools.lru_cache(maxsize=4)
def _demo(seed: int) -> tuple[tuple[Sensor, ...], tuple[str, ...]]:
    rng = random.Random(seed)
    drafts = _drafts(rng)
    counters: dict[SensorKind, int] = defaultdict(int)
    sensors: list[Sensor] = []
    profiles: list[str] = []
    for d in drafts:
        counters[d.kind] += 1
        sensor_id = f"{STREET}-{ABBREVIATIONS[d.kind]}-{counters[d.kind]:05d}"
        rules = _rules_with_baseline(d.kind, seed, sensor_id) if d.kind in _STRUCTURAL else None
        sensors.append(Sensor(sensor_id, STREET, d.kind, _point(d.at), d.watches, d.watch_kind, rules=rules))
        profiles.append(d.profile)
    return tuple(sensors), tuple(profiles)


def demo_sensors(seed: int = 7) -> list[Sensor]:
    """Every sensor of the demo street, in a stable order: buildings, components, roads, then POIs."""
    return list(_demo(seed)[0])


def demo_sensor_csv(seed: int = 7, sensors: Sequence[Sensor] | None = None) -> str:
    """The demo sensors (or those given) as the registry's CSV (`sensors_from_rows` reads it back). A sensor
    whose rule set is its kind's default leaves the `rules` cell empty, which means the same."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for sensor in demo_sensors(seed) if sensors is None else sensors:
        row = sensor_to_row(sensor)
        if sensor.rule_set == KINDS[sensor.kind].default_rules:
            row["rules"] = ""
        writer.writerow(row)
    return out.getvalue()


def topic(sensor_id: str, street: str = STREET) -> str:
    return TOPIC.format(street=street, sensor_id=sensor_id)


# --- deterministic noise -----------------------------------------------------------------------------------

_M64 = (1 << 64) - 1


def _mix(x: int) -> int:
    """splitmix64's finaliser: a well-spread 64-bit hash of x."""
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def _unit(h: int) -> float:
    return (h >> 11) * (1.0 / (1 << 53))


def _hash_str(seed: int, *parts: str) -> int:
    text = "\x1f".join((str(seed), *parts)).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little")


def _bounded_normal(h: int) -> float:
    """An approximately standard normal number, never beyond ±3 (sum of three uniforms): healthy noise
    that cannot cross an alarm threshold by a freak draw."""
    a = (h & 0x1FFFFF) / 0x200000
    b = ((h >> 21) & 0x1FFFFF) / 0x200000
    c = ((h >> 42) & 0x1FFFFF) / 0x200000
    return (a + b + c - 1.5) * 2.0


# --- daily rhythm (Beijing time) ---------------------------------------------------------------------------

_CST_OFFSET = 8 * 3600


def _bump(h: float, centre: float, width: float) -> float:
    d = (h - centre) / width
    return math.exp(-0.5 * d * d)


def _activity(h: float) -> float:
    """0 deep at night, 1 in the busy day."""
    if h < 5.5:
        return 0.05
    if h < 9.0:
        return 0.05 + 0.95 * (h - 5.5) / 3.5
    if h < 21.0:
        return 1.0
    return max(0.05, 1.0 - 0.95 * (h - 21.0) / 3.0)


# Busy hours since the bins were emptied at 06:00: the integral of `_activity`, per tenth of an hour.
_BUSY_HOURS = tuple(
    sum(_activity((6.0 + (j + 0.5) / 10.0) % 24.0) for j in range(step)) / 10.0 for step in range(241)
)


def _daylight(epoch: float) -> tuple[float, float]:
    """(sunrise, sunset) in Beijing hours for Shanghai, roughly."""
    day = (epoch + _CST_OFFSET) / 86400.0
    c = math.cos(2 * math.pi * ((day + 10) % 365.25 - 172) / 365.25)  # 1 at midsummer
    return 5.85 - 1.0 * c, 18.0 + 1.0 * c


# --- scenarios and faults ----------------------------------------------------------------------------------


class Fault(StrEnum):
    """A deliberately broken report and the rejection code it must get (from the payload decoder or from
    the domain's validate)."""

    NOT_NUMERIC = "not_numeric"  # decoder
    UNKNOWN_QUANTITY = "unknown_quantity"  # domain validate
    WRONG_UNIT = "wrong_unit"  # domain validate (SenML unit)
    FUTURE_TIME = "ts_future"  # decoder
    MALFORMED_JSON = "malformed_json"  # decoder


_FAULTS = tuple(Fault)
_WRONG_UNITS = {"°": "rad", "mm": "m", "cm": "m", "%/m": "ppm", "%LEL": "ppm", "dB(A)": "dB(C)"}
_WRONG_UNITS |= {"人/m²": "人", "人": "人/h", "%": "‰", "辆": "台", "": "V", "µg/m³": "mg/m³"}


@dataclass(frozen=True)
class Timing:
    """When the scenarios happen, as offsets from the feed's start (simulated time). `scaled(f)` stretches
    (f > 1) or compresses (f < 1) all of them, e.g. for a demo that should show everything sooner."""

    tilt_from: timedelta = timedelta(minutes=-40)  # the building started tilting before monitoring began
    tilt_rate: float = (
        0.6  # degrees per hour (along x; y leans about a third as much, staying below its drift limit)
    )
    tilt_max: float = 1.2  # degrees: the tilt stops growing there (stays below the 2° threshold)
    flood_at: timedelta = timedelta(minutes=5)
    flood_rise: timedelta = timedelta(minutes=12)
    flood_hold: timedelta = timedelta(minutes=10)
    flood_fall: timedelta = timedelta(minutes=20)
    flood_peak: float = 42.0  # cm above the kerb
    offline_at: timedelta = timedelta(minutes=10)
    offline_for: timedelta = timedelta(minutes=40)
    stuck_at: timedelta = timedelta(0)
    gas_at: timedelta = timedelta(minutes=15)
    gas_for: timedelta = timedelta(minutes=6)
    gas_peak: float = 26.0  # %LEL
    fault_rate: float = 0.001  # share of reports sent broken

    def scaled(self, factor: float) -> Timing:
        changes: dict[str, Any] = {
            f.name: getattr(self, f.name) * factor
            for f in dataclasses.fields(self)
            if isinstance(getattr(self, f.name), timedelta)
        }
        changes["tilt_rate"] = self.tilt_rate / factor
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Scenario:
    name: str  # tilt, flood, offline, stuck, gas
    description: str  # Chinese: what will happen and which alarms to expect
    sensor_ids: tuple[str, ...]
    start: datetime
    end: datetime | None  # None: lasts


@dataclass(slots=True)
class Message:
    """One MQTT message as the feed sends it, with what the simulator knows about it."""

    topic: str
    payload: bytes
    sensor_id: str
    ts: datetime
    values: Mapping[str, float]  # what the sensor measured (also for a broken message)
    gateway: str  # the gateway that would carry it: one per residential area
    fault: Fault | None = None


# --- the feed ----------------------------------------------------------------------------------------------

_ENCODE = msgspec.json.Encoder()


class SensorFeed:
    """The simulated reports of `sensors` from `start` on. Each sensor reports every `interval`, first at a
    fixed phase within its interval; `due(now)` returns what has come due since the last call (catching up
    at most `max_catchup` reports per sensor after a long pause)."""

    def __init__(
        self,
        sensors: Sequence[Sensor],
        seed: int = 7,
        start: datetime | None = None,
        timing: Timing | None = None,
        *,
        max_catchup: int = 30,
    ) -> None:
        if start is None:
            start = datetime(2026, 11, 25, 10, 0, tzinfo=jingansi.CST)
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self.sensors = tuple(sensors)
        self.seed = seed
        self.start = start
        self.timing = timing or Timing()
        self.max_catchup = max_catchup
        self._epoch0 = start.timestamp()
        self._index = {s.id: i for i, s in enumerate(self.sensors)}
        n = len(self.sensors)
        self._interval = np.array([s.period.total_seconds() for s in self.sensors], dtype=np.float64)
        self._phase = np.array(
            [
                float(_hash_str(seed, s.id, "phase") % max(1, int(s.period.total_seconds())))
                for s in self.sensors
            ],
            dtype=np.float64,
        )
        self._phases: list[float] = self._phase.tolist()
        self._intervals: list[float] = self._interval.tolist()
        self._install = [
            tuple(_install_value(seed, s.id, q) for q in s.units) if s.kind in _STRUCTURAL else ()
            for s in self.sensors
        ]
        self._next = np.zeros(n, dtype=np.int64)  # number of the next report per sensor
        self._topics = [topic(s.id, s.street) for s in self.sensors]
        self._names = [tuple(s.units) for s in self.sensors]
        self._salt = [_hash_str(seed, s.id) for s in self.sensors]
        self._profiles = self._profiles_of(self.sensors)
        street = _street()
        areas: dict[str, str] = {}
        for s in self.sensors:
            place = street.props.get(s.watches)
            area = None
            if place is not None:
                area = place.get("area") or (place.get("parent") if place.get("kind") == "poi" else None)
            if area is None:
                area = street.area_of(_xy((s.location.lon, s.location.lat)))
            areas[s.id] = f"{s.street}-GW-{(area or 'X').rsplit('-', 1)[-1]}"
        self._gateways = [areas[s.id] for s in self.sensors]
        self._iso: dict[float, tuple[datetime, str]] = {}  # epoch -> (UTC time, ISO text in Beijing time)
        self._scenarios = self._choose()
        self._special: dict[int, Callable[[float, int], dict[str, float] | None]] = {}
        self._offline: set[int] = set()
        self._off = (math.inf, math.inf)
        self._setup()
        self.reports = 0  # reports handed out by `uploads` so far (healthy and broken)
        self._fast: _FastTables | None = None  # built on the first `uploads`

    # -- public ------------------------------------------------------------------------------------------

    def scenarios(self) -> list[Scenario]:
        return list(self._scenarios)

    def scenario_sensor_ids(self) -> set[str]:
        return {sid for sc in self._scenarios for sid in sc.sensor_ids}

    def due(self, now: datetime) -> list[tuple[str, bytes]]:
        """The MQTT (topic, payload) of every report that has come due since the last call."""
        return [(m.topic, m.payload) for m in self.messages(now)]

    def messages(self, now: datetime) -> list[Message]:
        """As `due`, with each message's sensor, time, values, gateway and fault."""
        t = now.timestamp() - self._epoch0
        last = np.floor((t - self._phase) / self._interval).astype(np.int64)  # last report number due
        ready = np.nonzero(last >= self._next)[0]
        lasts = last[ready]
        firsts = np.maximum(self._next[ready], lasts - (self.max_catchup - 1))
        self._next[ready] = lasts + 1
        out: list[Message] = []
        emit, append = self._emit, out.append
        for i, first, k_last in zip(ready.tolist(), firsts.tolist(), lasts.tolist(), strict=True):
            for k in range(first, k_last + 1):
                m = emit(i, k)
                if m is not None:
                    append(m)
        if len(self._iso) > 50_000:
            self._iso.clear()
        return out

    def uploads(self, now: datetime, per_message: int = 100, street: str = STREET) -> list[tuple[str, bytes]]:
        """What `gateway_batches(self.messages(now))` returns, the same readings in the same order and
        the same wire format, built without a `Message` or a dict per reading: the healthy values of a
        round are computed together per kind (numpy) and written straight into each sensor's JSON item
        template. The scenarios' sensors and the broken reports take the per-message path."""
        fast = self._fast
        if fast is None:
            fast = self._fast = _FastTables(self)
        t = now.timestamp() - self._epoch0
        last = np.floor((t - self._phase) / self._interval).astype(np.int64)
        ready = np.nonzero(last >= self._next)[0]
        if not len(ready):
            return []
        lasts = last[ready]
        firsts = np.maximum(self._next[ready], lasts - (self.max_catchup - 1))
        self._next[ready] = lasts + 1
        counts = lasts - firsts + 1
        total = int(counts.sum())
        # every due (sensor, report number), in the order `messages` hands them out
        ii = np.repeat(ready, counts)
        starts = np.repeat(np.cumsum(counts) - counts, counts)
        kk = np.repeat(firsts, counts) + (np.arange(total, dtype=np.int64) - starts)
        offset = self._phase[ii] + kk * self._interval[ii]
        epoch = self._epoch0 + offset
        special = fast.special[ii]
        offline = fast.offline[ii]
        h = _mix_np(fast.salt[ii] ^ (kk.astype(np.uint64) * np.uint64(0x9E3779B1)))
        broken = ((h >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))) < self.timing.fault_rate
        slow = special | (broken & ~offline)
        lo, hi = self._off
        dropped = offline & ~special & (offset >= lo) & (offset < hi)
        simple = ~(slow | dropped)
        self.reports += total - int(np.count_nonzero(dropped))

        # ISO times, once per distinct instant of the round
        uniq, inverse = np.unique(epoch, return_inverse=True)
        isos = np.empty(len(uniq), dtype=object)
        for n, e in enumerate(uniq.tolist()):
            stamp = self._iso.get(e)
            if stamp is None:
                ts = datetime.fromtimestamp(e, UTC)
                stamp = self._iso[e] = (ts, ts.astimezone(jingansi.CST).isoformat())
            isos[n] = stamp[1]
        if len(self._iso) > 50_000:
            self._iso.clear()
        iso = isos[inverse]

        texts: list[str] = []
        positions: list[np.ndarray] = []
        shape_of = fast.shape[ii]
        for code in np.unique(shape_of[simple]).tolist():
            pos = np.flatnonzero(simple & (shape_of == code))
            i = ii[pos]
            columns = fast.values(code, i, kk[pos], epoch[pos])
            templates = fast.templates[i].tolist()
            rows = zip(iso[pos].tolist(), *(c.tolist() for c in columns), strict=True)
            texts.extend([tpl % args for tpl, args in zip(templates, rows, strict=True)])
            positions.append(pos)
        loose: list[tuple[str, bytes]] = []
        slow_pos = np.flatnonzero(slow)
        kept: list[int] = []
        for j, i, k in zip(slow_pos.tolist(), ii[slow_pos].tolist(), kk[slow_pos].tolist(), strict=True):
            m = self._emit(i, k)
            if m is None:
                self.reports -= 1
                continue
            if m.fault in (Fault.MALFORMED_JSON, Fault.WRONG_UNIT):
                loose.append((m.topic, m.payload))
                continue
            item = msgspec.json.decode(m.payload)
            item["sensor_id"] = m.sensor_id
            texts.append(_ENCODE.encode(item).decode())
            kept.append(j)
        positions.append(np.array(kept, dtype=np.int64))
        if not texts:
            return loose
        pos = np.concatenate(positions)
        gateway = fast.gateway[ii[pos]]
        order = np.lexsort((pos, gateway))  # by gateway (sorted by name), then as handed out
        gateway = gateway[order]
        ordered = [texts[o] for o in order.tolist()]
        cuts = np.flatnonzero(gateway[1:] != gateway[:-1]) + 1
        bounds = [0, *cuts.tolist(), len(ordered)]
        out: list[tuple[str, bytes]] = []
        for a, b in itertools.pairwise(bounds):
            name = topic(fast.gateway_names[int(gateway[a])], street)
            for c in range(a, b, per_message):
                out.append((name, ("[" + ",".join(ordered[c : min(b, c + per_message)]) + "]").encode()))
        return out + loose

    def series(self, sensor_id: str, until: datetime) -> list[Message]:
        """Every report one sensor sends from the start to `until`, without touching the feed's state."""
        i = self._index[sensor_id]
        t = until.timestamp() - self._epoch0
        k_last = math.floor((t - self._phases[i]) / self._intervals[i])
        return [m for k in range(k_last + 1) if (m := self._emit(i, k)) is not None]

    # -- one report --------------------------------------------------------------------------------------

    def _emit(self, i: int, k: int) -> Message | None:
        offset = self._phases[i] + k * self._intervals[i]
        epoch = self._epoch0 + offset
        special = self._special.get(i)
        values = special(offset, k) if special is not None else None
        if values is None:
            if i in self._offline and self._is_offline(offset):
                return None
            values = self._values(i, k, epoch)
        stamp = self._iso.get(epoch)
        if stamp is None:
            ts = datetime.fromtimestamp(epoch, UTC)
            stamp = self._iso[epoch] = (ts, ts.astimezone(jingansi.CST).isoformat())
        ts, iso = stamp
        sensor = self.sensors[i]
        fault: Fault | None = None
        h = _mix(self._salt[i] ^ (k * 0x9E3779B1))
        if _unit(h) < self.timing.fault_rate and special is None and i not in self._offline:
            fault = _FAULTS[(h >> 3) % len(_FAULTS)]
            payload = self._broken(fault, sensor, iso, epoch, values)
        else:
            payload = _ENCODE.encode({"ts": iso, "values": values})
        return Message(self._topics[i], payload, sensor.id, ts, values, self._gateways[i], fault)

    def _broken(
        self, fault: Fault, sensor: Sensor, iso: str, epoch: float, values: dict[str, float]
    ) -> bytes:
        if fault is Fault.NOT_NUMERIC:
            return _ENCODE.encode({"ts": iso, "values": dict.fromkeys(values, "ERR")})
        if fault is Fault.UNKNOWN_QUANTITY:
            return _ENCODE.encode({"ts": iso, "values": {**values, "temperature": 21.5}})
        if fault is Fault.FUTURE_TIME:
            future = datetime.fromtimestamp(epoch + 3 * 3600, jingansi.CST).isoformat()
            return _ENCODE.encode({"ts": future, "values": values})
        if fault is Fault.WRONG_UNIT:
            name = next(iter(values))
            unit = _WRONG_UNITS.get(sensor.units[name], "V")
            records: list[dict[str, Any]] = [{"bn": f"{sensor.id}:", "bt": epoch}]
            records += [
                {"n": n, "u": unit if n == name else sensor.units[n], "v": v} for n, v in values.items()
            ]
            return _ENCODE.encode(records)
        whole = _ENCODE.encode({"ts": iso, "values": values})
        return whole[: len(whole) - 3]  # cut off in transmission

    def _values(self, i: int, k: int, epoch: float) -> dict[str, float]:
        sensor = self.sensors[i]
        kind = sensor.kind
        salt = self._salt[i]
        h = _mix(salt ^ (k * 0xD1B54A32D192ED03 & _M64))
        n1 = _bounded_normal(h)
        n2 = _bounded_normal(_mix(h))
        u = _unit(salt)  # a fixed per-sensor number in [0, 1)
        hour = ((epoch + _CST_OFFSET) % 86400.0) / 3600.0
        profile = self._profiles[i]
        names = self._names[i]
        thermal = math.sin(2 * math.pi * (hour - 9.0) / 24.0)  # warmest mid-afternoon
        out: dict[str, float]
        if kind in _STRUCTURAL:
            out = {}
            for n, name in enumerate(names):
                base = self._install[i][n]
                noise = n1 if n == 0 else n2
                if kind is SensorKind.TILT:
                    out[name] = round(base + 0.01 * thermal + 0.004 * noise, 4)
                elif kind is SensorKind.STRUCTURAL_DISPLACEMENT:
                    out[name] = round(base + 0.25 * thermal + 0.04 * noise, 3)
                else:
                    out[name] = round(max(0.0, base + 0.02 * thermal + 0.004 * noise), 4)
            return out
        act = _activity(hour)
        if kind is SensorKind.MANHOLE_COVER:
            return {"tilt": round(0.3 + 1.5 * u + 0.05 * n1, 2), "open": 0.0}
        if kind is SensorKind.WATER_LEVEL:
            return {"level": round(-75.0 + 35.0 * u + 0.15 * n1, 2)}
        if kind is SensorKind.SMOKE:
            return {"obscuration": round(0.12 + 0.1 * u + 0.03 * n1, 3)}
        if kind is SensorKind.GAS:
            cooking = _bump(hour, 11.5, 0.8) + _bump(hour, 18.0, 0.9)
            return {"lel": round(max(0.0, 0.3 + 0.6 * u + 0.8 * cooking + 0.1 * n1), 2)}
        if kind is SensorKind.NOISE:
            day = {"main": 65.0, "small": 60.0, "metro": 66.0, "mall": 64.0}.get(profile, 61.0)
            night = day - 14.0
            return {"laeq": round(night + (day - night) * act + 1.2 * u + 0.8 * n1, 1)}
        if kind is SensorKind.CROWD_DENSITY:
            if profile == "metro":
                wave = 0.25 * act + 1.0 * _bump(hour, 8.5, 0.8) + 1.1 * _bump(hour, 18.0, 0.9)
            else:
                peak = {"mall": 1.0, "temple": 0.9, "park": 0.6, "market": 0.9, "school": 0.8}.get(
                    profile, 0.7
                )
                wave = 0.2 * act + peak * (_bump(hour, 12.3, 1.0) + 0.9 * _bump(hour, 19.0, 1.5))
            density = round(max(0.0, wave * (0.6 + 0.5 * u) + 0.03 * n1), 3)
            return {"density": density, "count": float(round(density * (150.0 + 200.0 * u)))}
        if kind is SensorKind.EBIKE_PARKING:
            if profile in ("office_tower", "mall", "metro", "main"):
                level = 25.0 + 55.0 * _bump(hour, 12.3, 1.3) + 20.0 * act
            else:  # homes: full at night, emptier by day
                level = 80.0 - 45.0 * act
            occupancy = round(min(94.0, max(0.0, level * (0.8 + 0.2 * u) + 1.0 * n1)), 1)
            capacity = 10.0 + round(30.0 * u)
            return {"occupancy": occupancy, "count": float(round(occupancy * capacity / 100.0))}
        if kind is SensorKind.STREET_LIGHT:
            sunrise, sunset = _daylight(epoch)
            on = 1.0 if hour < sunrise - 0.2 or hour >= sunset + 0.2 else 0.0
            return {"on": on, "fault": 0.0}
        if kind is SensorKind.LITTER_BIN:
            # emptied every morning at 06:00, then filling with the street's activity; a few busy bins
            # (rate above ~5.6 % per busy hour) get full late in the evening or at night
            busy = _BUSY_HOURS[int(((hour - 6.0) % 24.0) * 10.0)]
            rate = (2.0 + 4.0 * u**3) * (1.0 if profile == "main" else 0.85)  # % per busy hour
            return {"fill": round(min(100.0, max(0.0, 3.0 + rate * busy + 1.0 * n1)), 1)}
        if kind is SensorKind.AIR_QUALITY:
            day = int((epoch + _CST_OFFSET) // 86400)
            background = 22.0 + 30.0 * _unit(_mix(self.seed ^ day))
            rush = 8.0 * (_bump(hour, 8.0, 1.0) + _bump(hour, 18.0, 1.2))
            pm25 = round(max(1.0, background + rush + 6.0 * u + 2.5 * n1), 1)
            return {"pm25": pm25, "pm10": round(pm25 * (1.5 + 0.3 * u) + 3.0 * n2, 1)}
        raise AssertionError(kind)

    # -- scenarios ----------------------------------------------------------------------------------------

    @staticmethod
    def _profiles_of(sensors: Sequence[Sensor]) -> list[str]:
        """What the simulator needs to know of each sensor's place (the demo's own, else from the place)."""
        demo, profiles = _demo(7)  # profiles do not depend on the seed
        known = {s.id: p for s, p in zip(demo, profiles, strict=True)}
        props = _street().props
        out = []
        for s in sensors:
            profile = known.get(s.id)
            if profile is None:
                place = props.get(s.watches, {})
                profile = str(place.get("poi_kind") or place.get("use") or "small")
            out.append(profile)
        return out

    def _choose(self) -> list[Scenario]:
        rng = random.Random(_mix(self.seed ^ 0x5CE7A210))
        street = _street()
        t = self.timing

        def at(offset: timedelta) -> datetime:
            return self.start + offset

        by_watch: dict[str, list[Sensor]] = defaultdict(list)
        for s in self.sensors:
            by_watch[s.watches].append(s)
        out: list[Scenario] = []
        used: set[str] = set()

        def building(code: str) -> Mapping[str, Any]:
            return street.props.get(code, {})

        # (c) offline: every sensor of one lane (弄) whose gateway loses power
        lanes: dict[tuple[str, str], list[str]] = defaultdict(list)
        for code, p, _ in street.buildings:
            if p.get("lane") and p.get("historic") and code in by_watch:
                lanes[(str(p["road"]), str(p["lane"]))].append(code)
        lane_choices = sorted(k for k, v in lanes.items() if 3 <= len(v) <= 8)
        offline_codes: list[str] = []
        if lane_choices:
            road, lane = rng.choice(lane_choices)
            offline_codes = lanes[(road, lane)]
            ids = tuple(s.id for c in offline_codes for s in by_watch[c])
            used.update(offline_codes)
            limits: dict[timedelta, list[str]] = defaultdict(list)
            for s in (s for c in offline_codes for s in by_watch[c]):
                rule = next((r for r in s.rule_set if isinstance(r, OfflineRule)), None)
                label = s.kind.label
                if rule is not None and label not in limits[s.period * rule.factor]:
                    limits[s.period * rule.factor].append(label)
            noticed = [
                f"{'、'.join(labels)}约 {_minutes(k)}后"
                for k, labels in sorted(limits.items())
                if k < t.offline_for
            ]
            missed = [label for k, labels in limits.items() if k >= t.offline_for for label in labels]
            out.append(
                Scenario(
                    "offline",
                    f"{road}{lane}弄网关断电：该弄 {len(offline_codes)} 栋楼的 {len(ids)} 个传感器停止上报 "
                    f"{_minutes(t.offline_for)}后恢复；离线告警依上报周期出现（{'，'.join(noticed) or '无'}"
                    f"{'；' + '、'.join(missed) + '上报周期长，不会告警' if missed else ''}），"
                    "恢复上报后自动解除。",
                    ids,
                    at(t.offline_at),
                    at(t.offline_at + t.offline_for),
                )
            )

        # (a) a slowly tilting historic building
        candidates = sorted(
            code
            for code, p, _ in street.buildings
            if p.get("historic")
            and code not in used
            and any(s.kind is SensorKind.TILT for s in by_watch[code])
        )
        if candidates:
            code = rng.choice(candidates)
            used.add(code)
            tilts = [s for s in by_watch[code] if s.kind is SensorKind.TILT]
            ids = tuple(s.id for s in tilts)
            limit = min((r.max_drift for r in tilts[0].rule_set if isinstance(r, DriftRule)), default=0.5)
            name = building(code).get("name", code)
            out.append(
                Scenario(
                    "tilt",
                    f"历史建筑{name}缓慢倾斜：{len(ids)} 个倾斜传感器每小时偏移约 {t.tilt_rate:g}°"
                    "（单次读数无突变），"
                    f"累计超过 {limit:g}° 后触发累计漂移告警（黄色），最终稳定在约 {t.tilt_max:g}°。",
                    ids,
                    at(t.tilt_from),
                    None,
                )
            )

        # (b) a flooded drain after rain: two neighbouring drains in a dip of a road
        drains = [
            s
            for s in self.sensors
            if s.kind is SensorKind.WATER_LEVEL and s.watch_kind is WatchKind.COMPONENT
        ]
        if drains:
            first = rng.randrange(len(drains))
            pair = [
                d
                for d in drains[first : first + 2]
                if d.watches.rsplit("-", 1)[0] == drains[first].watches.rsplit("-", 1)[0]
            ]
            ids = tuple(d.id for d in pair)
            road = street.props.get(pair[0].watches.rsplit("-", 1)[0], {}).get("name", "")
            end = t.flood_at + t.flood_rise + t.flood_hold + t.flood_fall
            out.append(
                Scenario(
                    "flood",
                    f"暴雨后{road}雨水口积水：水位在 {_minutes(t.flood_rise)}内涨到路面以上约 "
                    f"{t.flood_peak:g} 厘米，"
                    f"维持 {_minutes(t.flood_hold)}后在 {_minutes(t.flood_fall)}内退去；"
                    "依次触发水位上涨、积水超限、持续积水告警，退水后解除。",
                    ids,
                    at(t.flood_at),
                    at(end),
                )
            )

        # (d) a stuck noise meter
        noise = [s for s in self.sensors if s.kind is SensorKind.NOISE and s.watches not in used]
        if noise:
            s = rng.choice(noise)
            samples = next((r.samples for r in s.rule_set if isinstance(r, StuckRule) and r.samples), 0)
            when = f"连续 {samples} 个读数（约 {_minutes(s.period * samples)}）不变后" if samples else ""
            out.append(
                Scenario(
                    "stuck",
                    f"噪声监测点 {s.id} 故障，读数卡死不变；{when}触发数值卡死告警（蓝色）。",
                    (s.id,),
                    at(t.stuck_at),
                    None,
                )
            )

        # (e) a gas leak in an old lane
        gas = [
            s
            for s in self.sensors
            if s.kind is SensorKind.GAS and s.watches not in used and building(s.watches).get("lane")
        ]
        if gas:
            s = rng.choice(gas)
            name = building(s.watches).get("name", s.watches)
            out.append(
                Scenario(
                    "gas",
                    f"{name}（老式里弄）燃气泄漏：可燃气体浓度升到约 {t.gas_peak:g}%LEL，"
                    f"持续 {_minutes(t.gas_for)}后通风回落；"
                    "触发燃气预警（橙色）和燃气超限（红色），回落后解除。",
                    (s.id,),
                    at(t.gas_at),
                    at(t.gas_at + t.gas_for),
                )
            )
        return out

    def _setup(self) -> None:
        for sc in self._scenarios:
            idx = [self._index[sid] for sid in sc.sensor_ids]
            if sc.name == "offline":
                self._offline.update(idx)
                end = math.inf if sc.end is None else (sc.end - self.start).total_seconds()
                self._off = ((sc.start - self.start).total_seconds(), end)
                continue
            for i in idx:
                self._special[i] = self._scenario_values(sc.name, i, self.timing)

    def _is_offline(self, offset: float) -> bool:
        lo, hi = self._off
        return lo <= offset < hi

    def _scenario_values(
        self, name: str, i: int, t: Timing
    ) -> Callable[[float, int], dict[str, float] | None]:
        epoch0 = self._epoch0

        def healthy(offset: float, k: int) -> dict[str, float]:
            return self._values(i, k, epoch0 + offset)

        if name == "tilt":
            t0 = t.tilt_from.total_seconds()
            rate = t.tilt_rate / 3600.0
            # each corner leans a little differently, all the same way
            share_x, share_y = 0.9 + 0.1 * _unit(self._salt[i]), 0.25 + 0.1 * _unit(_mix(self._salt[i]))

            def tilt(offset: float, k: int) -> dict[str, float]:
                v = healthy(offset, k)
                drift = min(t.tilt_max, max(0.0, (offset - t0) * rate))
                return {
                    "tilt_x": round(v["tilt_x"] + share_x * drift, 4),
                    "tilt_y": round(v["tilt_y"] + share_y * drift, 4),
                }

            return tilt
        if name == "flood":
            a = t.flood_at.total_seconds()
            b = a + t.flood_rise.total_seconds()
            c = b + t.flood_hold.total_seconds()
            d = c + t.flood_fall.total_seconds()

            def flood(offset: float, k: int) -> dict[str, float]:
                v = healthy(offset, k)
                dry = v["level"]
                if offset < a or offset >= d:
                    return v
                if offset < b:
                    f = (offset - a) / (b - a)
                elif offset < c:
                    f = 1.0
                else:
                    f = 1.0 - (offset - c) / (d - c)
                return {"level": round(dry + f * (t.flood_peak - dry), 2)}

            return flood
        if name == "stuck":
            s0 = t.stuck_at.total_seconds()
            frozen: dict[str, float] = {}

            def stuck(offset: float, k: int) -> dict[str, float]:
                if offset < s0:
                    return healthy(offset, k)
                if not frozen:
                    k0 = max(0, math.ceil((s0 - self._phases[i]) / self._intervals[i]))
                    frozen.update(healthy(self._phases[i] + k0 * self._intervals[i], k0))
                return dict(frozen)

            return stuck
        # gas
        g0, g1 = t.gas_at.total_seconds(), (t.gas_at + t.gas_for).total_seconds()

        def leak(offset: float, k: int) -> dict[str, float]:
            v = healthy(offset, k)
            if g0 <= offset < g1:
                ramp = min(1.0, (offset - g0) / 120.0 + 0.5)
                return {"lel": round(v["lel"] + ramp * t.gas_peak, 2)}
            return v

        return leak


# --- the feed, many reports at once -------------------------------------------------------------------------

_U64 = np.uint64


def _mix_np(x: np.ndarray) -> np.ndarray:
    """`_mix` over an array of uint64 (wrapping arithmetic is the `& _M64` of the scalar version)."""
    x = x + _U64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> _U64(27))) * _U64(0x94D049BB133111EB)
    out: np.ndarray = x ^ (x >> _U64(31))
    return out


def _bounded_normal_np(h: np.ndarray) -> np.ndarray:
    mask, scale = _U64(0x1FFFFF), float(0x200000)
    a = (h & mask).astype(np.float64) / scale
    b = ((h >> _U64(21)) & mask).astype(np.float64) / scale
    c = ((h >> _U64(42)) & mask).astype(np.float64) / scale
    return (a + b + c - 1.5) * 2.0


def _bump_np(h: np.ndarray, centre: float, width: float) -> np.ndarray:
    d = (h - centre) / width
    return np.exp(-0.5 * d * d)


def _activity_np(h: np.ndarray) -> np.ndarray:
    return np.where(
        h < 5.5,
        0.05,
        np.where(
            h < 9.0,
            0.05 + 0.95 * (h - 5.5) / 3.5,
            np.where(h < 21.0, 1.0, np.maximum(0.05, 1.0 - 0.95 * (h - 21.0) / 3.0)),
        ),
    )


def _round_exact(x: np.ndarray, digits: int) -> np.ndarray:
    """Python's `round` (correctly rounded), where a rounded value feeds further maths."""
    return np.array([round(v, digits) for v in x.tolist()], dtype=np.float64)


# Decimals of each reported quantity (as `_values` rounds them); the JSON items print them with as many.
_DIGITS: Mapping[SensorKind, int] = {
    SensorKind.TILT: 4,
    SensorKind.STRUCTURAL_DISPLACEMENT: 3,
    SensorKind.CRACK_WIDTH: 4,
}
# The values' names and decimals per kind, in `_values`' order; a text: a constant, printed as is.
_ITEMS: Mapping[SensorKind, tuple[tuple[str, int | str], ...]] = {
    SensorKind.MANHOLE_COVER: (("tilt", 2), ("open", "0.0")),
    SensorKind.WATER_LEVEL: (("level", 2),),
    SensorKind.SMOKE: (("obscuration", 3),),
    SensorKind.GAS: (("lel", 2),),
    SensorKind.NOISE: (("laeq", 1),),
    SensorKind.CROWD_DENSITY: (("density", 3), ("count", 1)),
    SensorKind.EBIKE_PARKING: (("occupancy", 1), ("count", 1)),
    SensorKind.STREET_LIGHT: (("on", 1), ("fault", "0.0")),
    SensorKind.LITTER_BIN: (("fill", 1),),
    SensorKind.AIR_QUALITY: (("pm25", 1), ("pm10", 1)),
}


class _FastTables:
    """Per-sensor constants of `SensorFeed.uploads`, computed once: `_values` taken apart into what
    depends only on the sensor (here) and what depends on the report (`values`, over arrays).

    Each value is printed with `%.{n}f`, n the decimals `_values` rounds it to: the text is the correctly
    rounded decimal, so it decodes to exactly the float `round(x, n)` gives (`1.50` rather than `1.5`)."""

    def __init__(self, feed: SensorFeed) -> None:
        self.feed = feed
        sensors = feed.sensors
        n = len(sensors)
        self.salt = np.array(feed._salt, dtype=np.uint64)
        self.u = np.array([_unit(x) for x in feed._salt], dtype=np.float64)
        self.special = np.zeros(n, dtype=bool)
        self.special[list(feed._special)] = True
        self.offline = np.zeros(n, dtype=bool)
        self.offline[list(feed._offline)] = True
        self.gateway_names = sorted(set(feed._gateways))
        rank = {g: r for r, g in enumerate(self.gateway_names)}
        self.gateway = np.array([rank[g] for g in feed._gateways], dtype=np.int64)
        shapes: dict[tuple[SensorKind, tuple[str, ...]], int] = {}
        self.kinds: list[SensorKind] = []
        shape = []
        templates = []
        for i, s in enumerate(sensors):
            names = feed._names[i] if s.kind in _STRUCTURAL else ()
            code = shapes.setdefault((s.kind, names), len(shapes))
            if code == len(self.kinds):
                self.kinds.append(s.kind)
            shape.append(code)
            items: list[tuple[str, int | str]]
            if s.kind in _STRUCTURAL:
                items = [(name, _DIGITS[s.kind]) for name in names]
            else:
                items = list(_ITEMS[s.kind])
            values = ",".join(
                msgspec.json.encode(name).decode().replace("%", "%%")
                + ":"
                + (f"%.{d}f" if isinstance(d, int) else d)
                for name, d in items
            )
            sid = msgspec.json.encode(s.id).decode().replace("%", "%%")
            templates.append('{"ts":"%s","values":{' + values + '},"sensor_id":' + sid + "}")
        self.shape = np.array(shape, dtype=np.int64)
        self.templates = np.array(templates, dtype=object)
        # structural: installation readings per quantity
        width = max((len(x) for x in feed._install), default=0)
        self.base = np.zeros((n, max(1, width)), dtype=np.float64)
        for i, install in enumerate(feed._install):
            self.base[i, : len(install)] = install
        # per-sensor levels of the daily rhythms, as `_values` derives them from the sensor's number u
        profiles = feed._profiles
        u = self.u.tolist()
        noise_day = [
            {"main": 65.0, "small": 60.0, "metro": 66.0, "mall": 64.0}.get(p, 61.0) for p in profiles
        ]
        self.noise_day = np.array(noise_day, dtype=np.float64)
        self.metro = np.array([p == "metro" for p in profiles], dtype=bool)
        peaks = {"mall": 1.0, "temple": 0.9, "park": 0.6, "market": 0.9, "school": 0.8}
        self.crowd_peak = np.array([peaks.get(p, 0.7) for p in profiles], dtype=np.float64)
        busy = ("office_tower", "mall", "metro", "main")
        self.ebike_busy = np.array([p in busy for p in profiles], dtype=bool)
        self.capacity = np.array([10.0 + round(30.0 * x) for x in u], dtype=np.float64)
        rates = [
            (2.0 + 4.0 * x**3) * (1.0 if p == "main" else 0.85) for x, p in zip(u, profiles, strict=True)
        ]
        self.bin_rate = np.array(rates, dtype=np.float64)
        self.busy_hours = np.array(_BUSY_HOURS, dtype=np.float64)
        self._background: dict[int, float] = {}

    def values(self, code: int, i: np.ndarray, k: np.ndarray, epoch: np.ndarray) -> list[np.ndarray]:
        """The healthy values of sensors `i` (all of shape `code`) at report numbers `k`, unrounded (except
        where a rounded value feeds further maths, as in `_values`), in their template's order."""
        kind = self.kinds[code]
        salt = self.salt[i]
        h = _mix_np(salt ^ (k.astype(np.uint64) * _U64(0xD1B54A32D192ED03)))
        n1 = _bounded_normal_np(h)
        u = self.u[i]
        hour = ((epoch + _CST_OFFSET) % 86400.0) / 3600.0
        if kind in _STRUCTURAL:
            n2 = _bounded_normal_np(_mix_np(h))
            thermal = np.sin(2 * math.pi * (hour - 9.0) / 24.0)
            out = []
            for n in range(len(self.feed._names[int(i[0])])):
                base = self.base[i, n]
                noise = n1 if n == 0 else n2
                if kind is SensorKind.TILT:
                    out.append(base + 0.01 * thermal + 0.004 * noise)
                elif kind is SensorKind.STRUCTURAL_DISPLACEMENT:
                    out.append(base + 0.25 * thermal + 0.04 * noise)
                else:
                    out.append(np.maximum(0.0, base + 0.02 * thermal + 0.004 * noise))
            return out
        if kind is SensorKind.MANHOLE_COVER:
            return [0.3 + 1.5 * u + 0.05 * n1]
        if kind is SensorKind.WATER_LEVEL:
            return [-75.0 + 35.0 * u + 0.15 * n1]
        if kind is SensorKind.SMOKE:
            return [0.12 + 0.1 * u + 0.03 * n1]
        if kind is SensorKind.GAS:
            cooking = _bump_np(hour, 11.5, 0.8) + _bump_np(hour, 18.0, 0.9)
            return [np.maximum(0.0, 0.3 + 0.6 * u + 0.8 * cooking + 0.1 * n1)]
        if kind is SensorKind.NOISE:
            day = self.noise_day[i]
            night = day - 14.0
            return [night + (day - night) * _activity_np(hour) + 1.2 * u + 0.8 * n1]
        if kind is SensorKind.CROWD_DENSITY:
            act = _activity_np(hour)
            metro = 0.25 * act + 1.0 * _bump_np(hour, 8.5, 0.8) + 1.1 * _bump_np(hour, 18.0, 0.9)
            other = 0.2 * act + self.crowd_peak[i] * (
                _bump_np(hour, 12.3, 1.0) + 0.9 * _bump_np(hour, 19.0, 1.5)
            )
            wave = np.where(self.metro[i], metro, other)
            density = _round_exact(np.maximum(0.0, wave * (0.6 + 0.5 * u) + 0.03 * n1), 3)
            return [density, np.rint(density * (150.0 + 200.0 * u))]
        if kind is SensorKind.EBIKE_PARKING:
            act = _activity_np(hour)
            level = np.where(
                self.ebike_busy[i], 25.0 + 55.0 * _bump_np(hour, 12.3, 1.3) + 20.0 * act, 80.0 - 45.0 * act
            )
            occupancy = _round_exact(np.minimum(94.0, np.maximum(0.0, level * (0.8 + 0.2 * u) + 1.0 * n1)), 1)
            return [occupancy, np.rint(occupancy * self.capacity[i] / 100.0)]
        if kind is SensorKind.STREET_LIGHT:
            day = (epoch + _CST_OFFSET) / 86400.0
            c = np.cos(2 * math.pi * ((day + 10) % 365.25 - 172) / 365.25)
            sunrise, sunset = 5.85 - 1.0 * c, 18.0 + 1.0 * c
            return [np.where((hour < sunrise - 0.2) | (hour >= sunset + 0.2), 1.0, 0.0)]
        if kind is SensorKind.LITTER_BIN:
            busy = self.busy_hours[(((hour - 6.0) % 24.0) * 10.0).astype(np.int64)]
            rate = self.bin_rate[i]
            return [np.minimum(100.0, np.maximum(0.0, 3.0 + rate * busy + 1.0 * n1))]
        if kind is SensorKind.AIR_QUALITY:
            n2 = _bounded_normal_np(_mix_np(h))
            days = ((epoch + _CST_OFFSET) // 86400).astype(np.int64)
            background = np.array([self._day_background(d) for d in days.tolist()], dtype=np.float64)
            rush = 8.0 * (_bump_np(hour, 8.0, 1.0) + _bump_np(hour, 18.0, 1.2))
            pm25 = _round_exact(np.maximum(1.0, background + rush + 6.0 * u + 2.5 * n1), 1)
            return [pm25, pm25 * (1.5 + 0.3 * u) + 3.0 * n2]
        raise AssertionError(kind)

    def _day_background(self, day: int) -> float:
        value = self._background.get(day)
        if value is None:
            value = self._background[day] = 22.0 + 30.0 * _unit(_mix(self.feed.seed ^ day))
        return value


def _minutes(d: timedelta) -> str:
    minutes = d.total_seconds() / 60.0
    return f"{minutes:.0f} 分钟" if minutes < 120 else f"{minutes / 60.0:g} 小时"


# --- gateways -----------------------------------------------------------------------------------------------


def gateway_batches(
    messages: Iterable[Message], per_message: int = 100, street: str = STREET
) -> list[tuple[str, bytes]]:
    """The readings packed as gateways send them: one MQTT message per gateway and up to `per_message`
    readings, topic `chengyun/{street}/sensors/{gateway id}`, payload a JSON list of
    `{"sensor_id", "ts", "values"}` (each item names its own sensor, which the decoder takes over the
    topic's). The same payload is a valid `POST /api/v1/readings` body. A broken report that cannot be an
    item of a list (malformed JSON, SenML) is passed on as its own message."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    loose: list[tuple[str, bytes]] = []
    for m in messages:
        if m.fault in (Fault.MALFORMED_JSON, Fault.WRONG_UNIT):
            loose.append((m.topic, m.payload))
            continue
        item = msgspec.json.decode(m.payload)
        item["sensor_id"] = m.sensor_id
        groups[m.gateway].append(item)
    out: list[tuple[str, bytes]] = []
    for gateway in sorted(groups):
        items = groups[gateway]
        for k in range(0, len(items), per_message):
            out.append((topic(gateway, street), _ENCODE.encode(items[k : k + per_message])))
    return out + loose

"""Places of a street: street → residential area → unit grid → building, plus zones, POIs and roads."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from chengyun.domain.errors import ImportRejected


class PlaceKind(StrEnum):
    STREET = "street"  # 街道
    AREA = "area"  # 居民区
    GRID = "grid"  # 单元网格
    BUILDING = "building"  # 楼栋 / 弄号
    HISTORIC_ZONE = "historic_zone"  # 历史风貌保护区
    POI = "poi"  # 商场、写字楼、学校……
    ROAD = "road"  # 道路

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]


_KIND_LABELS = {
    PlaceKind.STREET: "街道",
    PlaceKind.AREA: "居民区",
    PlaceKind.GRID: "单元网格",
    PlaceKind.BUILDING: "楼栋",
    PlaceKind.HISTORIC_ZONE: "历史风貌保护区",
    PlaceKind.POI: "兴趣点",
    PlaceKind.ROAD: "道路",
}

# Which kind a place's parent must be; None means "no parent" (the street is the root).
PARENT_KINDS: Mapping[PlaceKind, frozenset[PlaceKind | None]] = {
    PlaceKind.STREET: frozenset({None}),
    PlaceKind.AREA: frozenset({PlaceKind.STREET}),
    PlaceKind.GRID: frozenset({PlaceKind.AREA}),
    PlaceKind.BUILDING: frozenset({PlaceKind.GRID, PlaceKind.AREA}),
    PlaceKind.HISTORIC_ZONE: frozenset({PlaceKind.STREET}),
    PlaceKind.POI: frozenset({PlaceKind.STREET, PlaceKind.AREA, PlaceKind.GRID, PlaceKind.BUILDING}),
    PlaceKind.ROAD: frozenset({PlaceKind.STREET}),
}

GEOMETRY_TYPES: Mapping[PlaceKind, frozenset[str]] = {
    PlaceKind.STREET: frozenset({"Polygon", "MultiPolygon"}),
    PlaceKind.AREA: frozenset({"Polygon", "MultiPolygon"}),
    PlaceKind.GRID: frozenset({"Polygon", "MultiPolygon"}),
    PlaceKind.BUILDING: frozenset({"Polygon", "MultiPolygon", "Point"}),
    PlaceKind.HISTORIC_ZONE: frozenset({"Polygon", "MultiPolygon"}),
    PlaceKind.POI: frozenset({"Point", "Polygon"}),
    PlaceKind.ROAD: frozenset({"LineString", "MultiLineString"}),
}

# Properties that are columns of their own rather than free attributes.
CORE_PROPERTIES = frozenset({"kind", "code", "name", "parent", "street"})


@dataclass(frozen=True)
class Place:
    code: str
    kind: PlaceKind
    name: str
    street: str
    parent: str | None
    geometry: Mapping[str, Any]
    props: Mapping[str, Any] = field(default_factory=dict)

    def as_feature(self) -> dict[str, Any]:
        properties: dict[str, Any] = {
            "kind": self.kind.value,
            "code": self.code,
            "name": self.name,
            "parent": self.parent,
            "street": self.street,
        }
        properties.update(self.props)
        return {"type": "Feature", "id": self.code, "geometry": dict(self.geometry), "properties": properties}


def places_from_geojson(
    collection: Mapping[str, Any], street: str, known: Mapping[str, PlaceKind] | None = None
) -> list[Place]:
    """Validate a GeoJSON FeatureCollection and turn it into places.

    All rows are checked before anything is returned; if any is bad, ImportRejected lists every bad
    feature by its index and code, so the operator can fix the file in one go. `known` are places
    already stored (code → kind), which parents may refer to.
    """
    errors: list[dict[str, Any]] = []
    if not isinstance(collection, Mapping) or collection.get("type") != "FeatureCollection":
        raise ImportRejected("文件不是 GeoJSON FeatureCollection", errors=[])
    features = collection.get("features")
    if not isinstance(features, list):
        raise ImportRejected("FeatureCollection 缺少 features 数组", errors=[])

    parsed: list[Place] = []
    kinds: dict[str, PlaceKind] = dict(known or {})
    seen: set[str] = set()
    for index, feature in enumerate(features):
        place, problems = _parse_feature(index, feature, street, seen)
        errors.extend(problems)
        if place is not None:
            parsed.append(place)
            kinds[place.code] = place.kind
            seen.add(place.code)

    for place in parsed:
        expected = PARENT_KINDS[place.kind]
        parent_kind = kinds.get(place.parent) if place.parent is not None else None
        if place.parent is not None and place.parent not in kinds:
            errors.append(_error(None, place.code, f"上级 {place.parent} 不存在"))
        elif parent_kind not in expected:
            wanted = "、".join(k.label if k else "无" for k in expected)
            errors.append(_error(None, place.code, f"{place.kind.label}的上级应为{wanted}"))

    if errors:
        raise ImportRejected(f"地点数据有 {len(errors)} 处错误，未导入任何数据", errors=errors)
    return parsed


def _error(index: int | None, code: str | None, reason: str) -> dict[str, Any]:
    return {"row": index, "code": code, "reason": reason}


def _parse_feature(
    index: int, feature: Any, street: str, seen: set[str]
) -> tuple[Place | None, list[dict[str, Any]]]:
    if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
        return None, [_error(index, None, "不是 GeoJSON Feature")]
    props = feature.get("properties")
    if not isinstance(props, Mapping):
        return None, [_error(index, None, "缺少 properties")]
    code = props.get("code")
    if not isinstance(code, str) or not code.strip():
        return None, [_error(index, None, "缺少编码 code")]
    problems: list[dict[str, Any]] = []
    if code in seen:
        problems.append(_error(index, code, "编码重复"))
    try:
        kind = PlaceKind(str(props.get("kind")))
    except ValueError:
        return None, [_error(index, code, f"未知的地点类型 {props.get('kind')!r}")]
    name = props.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(_error(index, code, "缺少名称 name"))
    parent = props.get("parent")
    if parent is not None and not isinstance(parent, str):
        problems.append(_error(index, code, "上级编码 parent 必须是字符串"))
    feature_street = props.get("street", street)
    if feature_street != street:
        problems.append(_error(index, code, f"属于街道 {feature_street}，不是 {street}"))
    geometry = feature.get("geometry")
    reason = _geometry_problem(kind, geometry)
    if reason:
        problems.append(_error(index, code, reason))
    if problems:
        return None, problems
    extra = {k: v for k, v in props.items() if k not in CORE_PROPERTIES}
    assert isinstance(name, str) and isinstance(geometry, Mapping)
    return Place(code, kind, name.strip(), street, parent, geometry, extra), []


def _geometry_problem(kind: PlaceKind, geometry: Any) -> str | None:
    if not isinstance(geometry, Mapping):
        return "缺少几何 geometry"
    gtype = geometry.get("type")
    if gtype not in GEOMETRY_TYPES[kind]:
        return f"{kind.label}的几何类型不能是 {gtype}"
    try:
        positions = list(_positions(geometry.get("coordinates")))
    except (TypeError, ValueError):
        return "坐标格式错误"
    if not positions:
        return "几何没有坐标"
    for lon, lat in positions:
        if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
            return f"坐标超出经纬度范围：{lon}, {lat}"
    if gtype in ("Polygon", "MultiPolygon"):
        rings = [geometry["coordinates"]] if gtype == "Polygon" else geometry["coordinates"]
        for polygon in rings:
            for ring in polygon:
                if len(ring) < 4 or list(ring[0]) != list(ring[-1]):
                    return "多边形的环必须闭合且至少有 4 个点"
    return None


def _positions(coordinates: Any) -> Iterable[tuple[float, float]]:
    if not isinstance(coordinates, list | tuple) or not coordinates:
        raise ValueError("empty")
    if all(isinstance(c, int | float) and not isinstance(c, bool) for c in coordinates):
        if len(coordinates) < 2:
            raise ValueError("position")
        yield float(coordinates[0]), float(coordinates[1])
        return
    for part in coordinates:
        yield from _positions(part)

"""The digital twin's geometry and its answers (数字孪生底座): what is where, near what, and who is free.

Pure. Places, people, sensors, orders and alarms are reduced to points on the street; these functions
say which of them are in an area or near a point, and shape the answers the base gives.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chengyun.domain.geo import Point

_METRES_PER_DEGREE = 111_320.0


def centre(geometry: Mapping[str, Any]) -> Point:
    """A representative point of a GeoJSON geometry: the point itself, the mean of a polygon's outer ring,
    or the middle vertex of a line."""
    kind = geometry.get("type")
    coords: Any = geometry.get("coordinates")
    if kind == "Point":
        return Point(float(coords[0]), float(coords[1]))
    if kind == "Polygon":
        ring = coords[0][:-1] or coords[0]
    elif kind == "MultiPolygon":
        ring = coords[0][0][:-1] or coords[0][0]
    elif kind == "LineString":
        ring = [coords[len(coords) // 2]]
    elif kind == "MultiLineString":
        ring = [coords[0][len(coords[0]) // 2]]
    else:
        raise ValueError(f"unsupported geometry {kind!r}")
    return Point(sum(c[0] for c in ring) / len(ring), sum(c[1] for c in ring) / len(ring))


def metres(a: Point, b: Point) -> float:
    """Straight-line distance in metres (equirectangular: exact enough across a street)."""
    mid = math.radians((a.lat + b.lat) / 2)
    dx = (a.lon - b.lon) * _METRES_PER_DEGREE * math.cos(mid)
    dy = (a.lat - b.lat) * _METRES_PER_DEGREE
    return math.hypot(dx, dy)


class Region:
    """A polygon (or multipolygon) to test points against, with a bounding box to skip most quickly."""

    def __init__(self, geometry: Mapping[str, Any]) -> None:
        coords = geometry.get("coordinates") or []
        polygons = [coords] if geometry.get("type") == "Polygon" else list(coords)
        self._rings = [[(float(x), float(y)) for x, y, *_ in polygon[0]] for polygon in polygons if polygon]
        xs = [x for ring in self._rings for x, _ in ring]
        ys = [y for ring in self._rings for _, y in ring]
        self._box = (min(xs), min(ys), max(xs), max(ys)) if xs else (0.0, 0.0, -1.0, -1.0)

    def contains(self, p: Point) -> bool:
        x0, y0, x1, y1 = self._box
        if not (x0 <= p.lon <= x1 and y0 <= p.lat <= y1):
            return False
        return any(_in_ring(p.lon, p.lat, ring) for ring in self._rings)


def _in_ring(x: float, y: float, ring: Sequence[tuple[float, float]]) -> bool:
    inside = False
    for (x1, y1), (x2, y2) in itertools.pairwise(ring):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


@dataclass(frozen=True)
class PersonNow:
    """A person on shift as the base knows them."""

    id: str
    name: str
    posts: tuple[str, ...]
    area: str | None  # the area of their shift, if any
    position: Point | None  # last check-in, if fresh
    seen_at: datetime | None
    open_orders: int  # orders still to go to or on site
    field_worker: bool

    @property
    def free(self) -> bool:
        return self.field_worker and self.open_orders == 0


@dataclass(frozen=True)
class Nearby:
    person: PersonNow
    metres: float
    walk_minutes: float


def nearest(
    people: Iterable[PersonNow], point: Point, free_only: bool, walk_m_per_min: float, limit: int
) -> list[Nearby]:
    """Field workers with a known position, nearest first (by walking distance on the street grid)."""
    out = []
    for person in people:
        if person.position is None or not person.field_worker or (free_only and not person.free):
            continue
        walk = _grid_metres(person.position, point)
        out.append(Nearby(person, round(walk, 1), round(walk / walk_m_per_min, 1)))
    return sorted(out, key=lambda n: (n.metres, n.person.id))[:limit]


def _grid_metres(a: Point, b: Point) -> float:
    mid = math.radians((a.lat + b.lat) / 2)
    return (abs(a.lon - b.lon) * math.cos(mid) + abs(a.lat - b.lat)) * _METRES_PER_DEGREE


@dataclass
class Counts:
    """Tallies of one area or one neighbourhood, for the answers."""

    orders_by_state: dict[str, int] = field(default_factory=dict)
    orders_by_colour: dict[str, int] = field(default_factory=dict)
    overdue: int = 0
    alarms_by_colour: dict[str, int] = field(default_factory=dict)
    sensors_by_kind: dict[str, int] = field(default_factory=dict)
    sensors_silent: int = 0  # no reading within three reporting intervals

    def as_dict(self) -> dict[str, Any]:
        return {
            "orders_by_state": dict(sorted(self.orders_by_state.items())),
            "orders_by_colour": dict(sorted(self.orders_by_colour.items())),
            "overdue": self.overdue,
            "alarms_by_colour": dict(sorted(self.alarms_by_colour.items())),
            "sensors_by_kind": dict(sorted(self.sensors_by_kind.items())),
            "sensors_silent": self.sensors_silent,
        }


def feature(point: Point, layer: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    """A GeoJSON point feature of the snapshot, its layer named in `properties.layer`."""
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [point.lon, point.lat]},
        "properties": {"layer": layer, **properties},
    }

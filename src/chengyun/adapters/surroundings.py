"""What is around an order, from the street's place data (shapely): points of interest by kind, roads
and whether its building is historic. Grading reads it (services/grading.py)."""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import shapely
from shapely import Point as ShapelyPoint
from shapely import STRtree
from shapely.geometry import shape

from chengyun.domain.geo import Point
from chengyun.domain.places import Place, PlaceKind
from chengyun.services.grading import PlaceFacts
from chengyun.services.ports import UnitOfWork

_METRES_PER_DEGREE = 111_320.0


class PlaceIndex:
    """The places of one street in local metres (an equirectangular projection at the street's latitude:
    centimetre-accurate over a few kilometres), indexed for "what is within r metres of here"."""

    def __init__(self, places: Iterable[Place]) -> None:
        items = list(places)
        lats = [p.geometry["coordinates"][1] for p in items if p.geometry.get("type") == "Point"]
        self._kx = _METRES_PER_DEGREE * math.cos(math.radians(sum(lats) / len(lats) if lats else 31.2))
        self._historic = {
            p.code for p in items if p.kind is PlaceKind.BUILDING and p.props.get("historic") is True
        }
        pois = [p for p in items if p.kind is PlaceKind.POI and p.props.get("poi_kind")]
        roads = [p for p in items if p.kind is PlaceKind.ROAD]
        self._poi_kinds = [str(p.props["poi_kind"]) for p in pois]
        self._poi_shapes = [self._metres(shape(p.geometry)) for p in pois]
        self._road_names = [p.name for p in roads]
        self._road_shapes = [self._metres(shape(p.geometry)) for p in roads]
        self._poi_tree = STRtree(self._poi_shapes) if pois else None
        self._road_tree = STRtree(self._road_shapes) if roads else None

    def _metres(self, geometry: Any) -> Any:
        scale = np.array([self._kx, _METRES_PER_DEGREE])
        return shapely.transform(geometry, lambda coordinates: coordinates * scale)

    def around(self, point: Point | None, building: str | None, radius_m: float) -> PlaceFacts:
        if point is None or radius_m <= 0:
            return PlaceFacts(historic=building is not None and building in self._historic)
        return self._around(point.lon, point.lat, building, radius_m)

    # Orders located by their address stand at their building's point: the same few thousand questions
    # come again and again.
    @functools.lru_cache(maxsize=16_384)  # noqa: B019 (one index per street, kept as long as the street)
    def _around(self, lon: float, lat: float, building: str | None, radius_m: float) -> PlaceFacts:
        historic = building is not None and building in self._historic
        here = ShapelyPoint(lon * self._kx, lat * _METRES_PER_DEGREE)
        return PlaceFacts(
            nearby=_nearest(self._poi_tree, self._poi_shapes, self._poi_kinds, here, radius_m),
            roads=_nearest(self._road_tree, self._road_shapes, self._road_names, here, radius_m),
            historic=historic,
        )


def _nearest(
    tree: STRtree | None, shapes: list[Any], names: list[str], here: Any, radius_m: float
) -> dict[str, float]:
    """Each name within `radius_m` of `here`, with its distance (the nearest of a name's shapes)."""
    found: dict[str, float] = {}
    if tree is None:
        return found
    for index in tree.query(here, predicate="dwithin", distance=radius_m):
        name, distance = names[int(index)], float(shapes[int(index)].distance(here))
        if distance < found.get(name, math.inf):
            found[name] = round(distance, 1)
    return found


class PlaceIndexCache:
    """One index per street, built on first use (with the caller's unit of work when it is inside one)
    and dropped when the street's places change."""

    def __init__(self, load: Callable[[str, UnitOfWork | None], list[Place]]) -> None:
        self._load = load
        self._cache: dict[str, PlaceIndex] = {}
        self._lock = threading.Lock()

    def __call__(self, street: str, uow: UnitOfWork | None = None) -> PlaceIndex:
        with self._lock:
            index = self._cache.get(street)
        if index is None:
            index = PlaceIndex(self._load(street, uow))
            with self._lock:
                self._cache[street] = index
        return index

    def invalidate(self, street: str) -> None:
        with self._lock:
            self._cache.pop(street, None)

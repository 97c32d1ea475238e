"""Point-in-polygon and address lookup over a street's places, with shapely's STRtree."""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from shapely import STRtree
from shapely.geometry import Point as ShapelyPoint
from shapely.geometry import shape

from chengyun.domain.geo import Point
from chengyun.domain.orders import Location
from chengyun.domain.places import Place, PlaceKind
from chengyun.services.ports import Gazetteer, Located

# How far from a building's outline a point may be and still count as that building.
BUILDING_SNAP_M = 25.0
_METRES_PER_DEGREE = 111_320.0


def normalise_address(text: str) -> str:
    """Full-width to half-width, no spaces or punctuation: '愚园路 608 弄 6 号' → '愚园路608弄6号'."""
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"[\s,，。.、:：;；\-—()（）]", "", text)


class ShapelyGazetteer:
    def __init__(self, places: Iterable[Place]) -> None:
        self._street: Any = None
        areas: list[tuple[Any, Place]] = []
        grids: list[tuple[Any, Place]] = []
        buildings: list[tuple[Any, Place]] = []
        self._by_code: dict[str, Place] = {}
        self._addresses: dict[str, Place] = {}
        self._resolved: dict[str, Location | None] = {}
        for place in places:
            self._by_code[place.code] = place
            geometry = shape(place.geometry)
            if place.kind is PlaceKind.STREET:
                self._street = geometry
            elif place.kind is PlaceKind.AREA:
                areas.append((geometry, place))
            elif place.kind is PlaceKind.GRID:
                grids.append((geometry, place))
            elif place.kind is PlaceKind.BUILDING:
                buildings.append((geometry, place))
            if place.kind in (PlaceKind.BUILDING, PlaceKind.POI):
                for key in (place.props.get("address"), place.name if place.kind is PlaceKind.POI else None):
                    if isinstance(key, str) and key:
                        self._addresses.setdefault(normalise_address(key), place)
        self._areas, self._area_tree = _index(areas)
        self._grids, self._grid_tree = _index(grids)
        self._buildings, self._building_tree = _index(buildings)

    def knows_street(self) -> bool:
        return self._street is not None

    def area_exists(self, code: str) -> bool:
        place = self._by_code.get(code)
        return place is not None and place.kind is PlaceKind.AREA

    def locate_point(self, point: Point) -> Located | None:
        p = ShapelyPoint(point.lon, point.lat)
        area = _containing(self._area_tree, self._areas, p)
        inside_street = self._street.covers(p) if self._street is not None else area is not None
        if not inside_street or area is None:
            return None
        grid = _containing(self._grid_tree, self._grids, p)
        building = self._nearest_building(p)
        return Located(
            Location(point, None, area.code, grid.code if grid else None, building.code if building else None)
        )

    def locate_address(self, address: str) -> Located | None:
        place = self._addresses.get(normalise_address(address))
        if place is None:
            return None
        if place.code not in self._resolved:
            self._resolved[place.code] = self._resolve(place)
        found = self._resolved[place.code]
        if found is None:
            return None
        return Located(replace(found, address=address))

    def _resolve(self, place: Place) -> Location | None:
        """Where a named building or landmark is: its centre, area, grid and building."""
        building = (
            place if place.kind is PlaceKind.BUILDING else self._by_code.get(str(place.props.get("building")))
        )
        centre = shape(place.geometry).centroid
        point = Point(round(centre.x, 6), round(centre.y, 6))
        found = self.locate_point(point)
        if found is None:
            return None
        loc = found.location
        return Location(point, None, loc.area, loc.grid, building.code if building else loc.building)

    def _nearest_building(self, p: Any) -> Place | None:
        if self._building_tree is None:
            return None
        index = self._building_tree.nearest(p)
        if index is None:
            return None
        geometry, place = self._buildings[int(index)]
        if geometry.distance(p) * _METRES_PER_DEGREE > BUILDING_SNAP_M:
            return None
        return place


def _index(items: list[tuple[Any, Place]]) -> tuple[list[tuple[Any, Place]], STRtree | None]:
    return items, (STRtree([g for g, _ in items]) if items else None)


def _containing(tree: STRtree | None, items: list[tuple[Any, Place]], p: Any) -> Place | None:
    if tree is None:
        return None
    for index in tree.query(p, predicate="covered_by"):
        return items[int(index)][1]
    return None


class GazetteerCache:
    """One gazetteer per street, built on first use and rebuilt after the street's places change."""

    def __init__(self, load: Callable[[str], list[Place]]) -> None:
        self._load = load
        self._cache: dict[str, ShapelyGazetteer] = {}
        self._lock = threading.Lock()

    def __call__(self, street: str) -> Gazetteer:
        with self._lock:
            gazetteer = self._cache.get(street)
            if gazetteer is None:
                gazetteer = self._cache[street] = ShapelyGazetteer(self._load(street))
            return gazetteer

    def invalidate(self, street: str) -> None:
        with self._lock:
            self._cache.pop(street, None)

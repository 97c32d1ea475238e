"""The twin's geometry: centres, areas, and the nearest free person."""

from __future__ import annotations

from chengyun.domain.geo import Point
from chengyun.domain.twin import PersonNow, Region, centre, metres, nearest

SQUARE = {
    "type": "Polygon",
    "coordinates": [[[121.44, 31.22], [121.45, 31.22], [121.45, 31.23], [121.44, 31.23], [121.44, 31.22]]],
}


def person(pid: str, lon: float | None, open_orders: int = 0, field: bool = True) -> PersonNow:
    position = None if lon is None else Point(lon, 31.225)
    return PersonNow(pid, pid, ("area_manager",), None, position, None, open_orders, field)


def test_the_centre_of_a_polygon_is_the_mean_of_its_ring_and_of_a_point_the_point() -> None:
    assert centre(SQUARE) == Point(121.445, 31.225)
    assert centre({"type": "Point", "coordinates": [121.4, 31.2]}) == Point(121.4, 31.2)


def test_a_region_contains_its_inside_only() -> None:
    region = Region(SQUARE)
    assert region.contains(Point(121.445, 31.225))
    assert not region.contains(Point(121.455, 31.225))


def test_nearest_free_skips_the_busy_the_unplaced_and_the_desk() -> None:
    site = Point(121.445, 31.225)
    people = [person("near_busy", 121.4451, open_orders=1), person("far", 121.449), person("unknown", None),
              person("desk", 121.445, field=False), person("near", 121.4455)]  # fmt: skip
    assert [n.person.id for n in nearest(people, site, True, 70, 5)] == ["near", "far"]
    assert [n.person.id for n in nearest(people, site, False, 70, 2)] == ["near_busy", "near"]


def test_metres_across_a_street_block() -> None:
    assert 90 < metres(Point(121.444, 31.225), Point(121.445, 31.225)) < 100

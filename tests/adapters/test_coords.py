from __future__ import annotations

import math

import pytest

from chengyun.adapters.coords import from_wgs84, to_wgs84
from chengyun.domain.errors import InvalidInput
from chengyun.domain.geo import Point

HERE = Point(121.4445, 31.225)  # the middle of the demo street


def metres(a: Point, b: Point) -> float:
    dx = (a.lon - b.lon) * 111_320 * math.cos(math.radians(a.lat))
    return math.hypot(dx, (a.lat - b.lat) * 110_574)


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_chinese_map_coordinates_come_back_to_the_wgs84_point(crs: str) -> None:
    lat, lon = from_wgs84(HERE, crs)
    assert metres(Point(lon, lat), HERE) > 300  # the offset is real, several hundred metres here
    assert metres(to_wgs84(lat, lon, crs), HERE) < 0.5


def test_gcj02_of_a_known_point() -> None:
    # 静安寺 as 高德 shows it is about 500 m east and 200 m south of its WGS-84 position.
    lat, lon = from_wgs84(HERE, "gcj02")
    assert 0.004 < lon - HERE.lon < 0.005 and -0.0025 < lat - HERE.lat < -0.0015


def test_wgs84_is_left_as_it_is_and_an_unknown_crs_is_refused() -> None:
    assert to_wgs84(31.225, 121.4445) == HERE
    assert to_wgs84(31.225, 121.4445, "wgs84") == HERE
    with pytest.raises(InvalidInput) as refused:
        to_wgs84(31.225, 121.4445, "epsg3857")
    assert refused.value.details["code"] == "invalid_crs"
    with pytest.raises(InvalidInput):
        to_wgs84(95.0, 121.0, "gcj02")

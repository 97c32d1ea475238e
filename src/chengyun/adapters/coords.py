"""Chinese map coordinates to WGS-84, with `prcoords`.

Chinese map apps (高德, 腾讯, 百度 after conversion) send GCJ-02 ("Mars coordinates"), 百度 its own BD-09;
the places are WGS-84. GCJ-02 and BD-09 are inverted exactly (prcoords' iterative `*_bored` functions, to
well under a metre); outside China GCJ-02 equals WGS-84 and prcoords leaves the point as it is.
"""

from __future__ import annotations

import math
import warnings

import prcoords

from chengyun.domain.errors import InvalidInput
from chengyun.domain.geo import Point

CRS = ("wgs84", "gcj02", "bd09")
# Outside China prcoords returns the point as it is (the documented behaviour above) and says so each time.
warnings.filterwarnings("ignore", message="Non-Chinese coords found", category=UserWarning, module="prcoords")


def to_wgs84(lat: float, lon: float, crs: str = "wgs84") -> Point:
    """A position given in `crs` ("wgs84", "gcj02" or "bd09") as a WGS-84 Point."""
    if crs not in CRS:
        raise InvalidInput(f"未知的坐标系 {crs!r}，应为 wgs84、gcj02 或 bd09", code="invalid_crs", crs=crs)
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise InvalidInput("坐标必须是有限的数字", lon=lon, lat=lat)
    if crs == "wgs84":
        return Point(lon, lat)
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise InvalidInput("坐标超出经纬度范围", lon=lon, lat=lat)
    given = prcoords.Coords(lat, lon)
    wgs = prcoords.gcj_wgs_bored(given) if crs == "gcj02" else prcoords.bd_wgs_bored(given)
    return Point(round(wgs.lon, 7), round(wgs.lat, 7))


def from_wgs84(point: Point, crs: str) -> tuple[float, float]:
    """(lat, lon) of a WGS-84 point in `crs`; the inverse of `to_wgs84`, for tests and exports."""
    if crs not in CRS:
        raise InvalidInput(f"未知的坐标系 {crs!r}，应为 wgs84、gcj02 或 bd09", code="invalid_crs", crs=crs)
    if crs == "wgs84":
        return point.lat, point.lon
    wgs = prcoords.Coords(point.lat, point.lon)
    out = prcoords.wgs_gcj(wgs) if crs == "gcj02" else prcoords.wgs_bd(wgs)
    return out.lat, out.lon

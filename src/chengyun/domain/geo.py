"""Points on the earth (WGS-84) and the distance between them."""

from __future__ import annotations

import math
from dataclasses import dataclass

from chengyun.domain.errors import InvalidInput

EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True, slots=True)
class Point:
    """A WGS-84 position, longitude first as in GeoJSON."""

    lon: float
    lat: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lon) and math.isfinite(self.lat)):
            raise InvalidInput("坐标必须是有限的数字", lon=self.lon, lat=self.lat)
        if not (-180.0 <= self.lon <= 180.0 and -90.0 <= self.lat <= 90.0):
            raise InvalidInput("坐标超出经纬度范围", lon=self.lon, lat=self.lat)

    def distance_m(self, other: Point) -> float:
        """Great-circle distance in metres (haversine); plenty for a street."""
        p1, p2 = math.radians(self.lat), math.radians(other.lat)
        dp = p2 - p1
        dl = math.radians(other.lon - self.lon)
        a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))

    def as_geojson(self) -> dict[str, object]:
        return {"type": "Point", "coordinates": [self.lon, self.lat]}

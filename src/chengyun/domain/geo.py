"""Points on the earth (WGS-84)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from chengyun.domain.errors import InvalidInput


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

"""H3 hexagons as the places of analysis: resolution 10 cells are about 66 m across an edge, so a cell with
its six neighbours covers the few hundred metres around an office tower or a market."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import h3

from chengyun.domain.geo import Point

RESOLUTION = 10


class H3Cells:
    """The analysis PlaceIndex port over the h3 library."""

    def __init__(self, resolution: int = RESOLUTION) -> None:
        self.resolution = resolution

    def cell(self, point: Point) -> str:
        return str(h3.latlng_to_cell(point.lat, point.lon, self.resolution))

    def neighbours(self, cell: str) -> Iterable[str]:
        return [c for c in h3.grid_disk(cell, 1) if c != cell]

    def centre(self, cell: str) -> Point:
        lat, lon = h3.cell_to_latlng(cell)
        return Point(lon, lat)

    def count_in(self, geometry: Mapping[str, Any]) -> int:
        """How many cells have their centre inside a GeoJSON Polygon or MultiPolygon (0 for anything else)."""
        if geometry.get("type") not in ("Polygon", "MultiPolygon"):
            return 0
        try:
            return len(h3.geo_to_cells(dict(geometry), self.resolution))
        except (ValueError, TypeError, h3.H3BaseException):
            return 0

"""H3 cells as the places of analysis: about 66 m across an edge, six neighbours each."""

from __future__ import annotations

from chengyun.adapters.cells import H3Cells
from chengyun.domain.dispatch import walk_metres
from chengyun.domain.geo import Point

TOWER = Point(121.4490, 31.2280)


def test_a_cell_has_six_neighbours_and_its_centre_lies_within_it() -> None:
    cells = H3Cells()
    cell = cells.cell(TOWER)
    neighbours = list(cells.neighbours(cell))
    assert len(neighbours) == 6 and cell not in neighbours
    assert cells.cell(cells.centre(cell)) == cell
    assert walk_metres(cells.centre(cell), TOWER) < 150


def test_points_a_few_metres_apart_share_a_cell_or_touch() -> None:
    cells = H3Cells()
    near = Point(TOWER.lon + 0.0002, TOWER.lat)  # about 19 m east
    assert cells.cell(near) in {cells.cell(TOWER), *cells.neighbours(cells.cell(TOWER))}
    far = Point(TOWER.lon + 0.01, TOWER.lat)  # about 950 m
    assert cells.cell(far) not in {cells.cell(TOWER), *cells.neighbours(cells.cell(TOWER))}


def test_a_street_of_about_a_square_kilometre_holds_about_ninety_cells() -> None:
    square = [[121.440, 31.220], [121.450, 31.220], [121.450, 31.230], [121.440, 31.230], [121.440, 31.220]]
    count = H3Cells().count_in({"type": "Polygon", "coordinates": [square]})
    assert 80 <= count <= 100  # 0.01° × 0.01° here is 0.95 × 1.11 km; a cell is about 0.0115 km²
    assert H3Cells().count_in({"type": "Point", "coordinates": [121.44, 31.22]}) == 0

"""The built-in demo street, 静安寺街道 (静安区, Shanghai): places, departments, staff, A/B pairs, roster.

No open boundary data exists for the street's residential areas, grids or buildings, so the geometry here
is invented: a plausible layout of roughly rectangular blocks bounded by real road names near
31.218–31.232 N, 121.437–121.452 E (WGS-84). The roads' positions, most area names, all grids, all ordinary
buildings, all people and all phone numbers are invented. Some landmarks (静安寺, 久光百货, 静安嘉里中心,
越洋广场, 会德丰国际广场, 静安公园, 市西中学, 静安区中心医院, …) carry their real names and, where known, real
door numbers, but stand where this layout puts them. 嘉园居委会 and the courtyard of 愚园路608弄6号 come from
the seed article.

Everything is a pure, deterministic function of fixed constants and fixed-seed generators: two calls give
equal results, and nothing runs at import.

Layout: the street is a 4 × 3 lattice of blocks (one residential area each) bounded by main roads, and each
block is cut into quarters by a smaller road; every unit grid is one or two quarters, every building stands
inside one quarter. Door numbers run along a road from its start (east end of an east–west road, south end
of a north–south road), odd numbers on the left-hand side; the LineStrings run in that direction.

Staffing: each area's A/B partners (AB角) keep the area covered 07:00–22:00 every day between them (to
23:00 on weekdays). On weekdays the A works a half day as area manager (07:00–15:00 or 15:00–23:00: the late
half stays out through the evening's noise complaints, 22:00–23:00, the night team's first hour) while the B
takes the other half on the 12345 hotline, standing in; on Saturday the A, on Sunday the B, is the area's
manager for the whole day. A separate hotline team (00:00–08:00 and 16:00–24:00 daily, one handler
08:00–16:00 on weekdays and two on weekend days) keeps at least two handlers on the hotline at every
moment; one duty officer is on duty around the clock in three shifts. A night duty team of eight chief
responders (夜间值守) keeps four people in the field 22:00–07:00, each starting from an area office chosen
so that no point of the street is far from one of them; each works every other night.
"""

from __future__ import annotations

import copy
import csv
import functools
import itertools
import json
import math
import pathlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

STREET_CODE = "JAS"
STREET_NAME = "静安寺街道"
DISTRICT = "静安区"
ANCHOR_DATE = date(2026, 1, 5)  # a Monday: A/B periods and rota cycles count from here
SWAP_EVERY_DAYS = 14
CST = timezone(timedelta(hours=8), "CST")

_GEO_SEED = 20_260_105
_STAFF_SEED = 6086

Point = tuple[float, float]  # metres east, metres north of the local origin

# --- local plane ------------------------------------------------------------------------------------

_LON0 = 121.4445
_LAT0 = 31.225
_KX = 111_320.0 * math.cos(math.radians(_LAT0))  # metres per degree of longitude here
_KY = 110_574.0  # metres per degree of latitude


def _lonlat(p: Point) -> list[float]:
    return [round(_LON0 + p[0] / _KX, 6), round(_LAT0 + p[1] / _KY, 6)]


# Main roads bound the blocks: 5 north–south (columns 0..4 from the west), 4 east–west (rows 0..3 from the
# south). Small tilts keep the blocks from looking ruled.
_COL_LON = (121.4370, 121.4410, 121.4450, 121.4486, 121.4520)
_ROW_LAT = (31.2180, 31.2228, 31.2273, 31.2320)
_COL_TILT = (0.04, -0.02, 0.03, 0.05, 0.02)
_ROW_TILT = (0.03, -0.02, 0.04, 0.01)
_COLS = len(_COL_LON) - 1
_ROWS = len(_ROW_LAT) - 1


def _node(i: int, j: int) -> Point:
    x0 = (_COL_LON[i] - _LON0) * _KX
    y0 = (_ROW_LAT[j] - _LAT0) * _KY
    return (x0 + _COL_TILT[i] * y0, y0 + _ROW_TILT[j] * x0)


def _plan(s: float, t: float) -> Point:
    """Plan coordinates (s: 0..4 columns, t: 0..3 rows) to metres, bilinear within each block.

    Lines of constant s or t are straight inside a block, so a polygon whose edges follow them needs
    vertices only where they cross block edges."""
    i = max(0, min(math.floor(s), _COLS - 1))
    j = max(0, min(math.floor(t), _ROWS - 1))
    u, v = s - i, t - j
    a, b, c, d = _node(i, j), _node(i + 1, j), _node(i + 1, j + 1), _node(i, j + 1)
    w = ((1 - u) * (1 - v), u * (1 - v), u * v, (1 - u) * v)
    return (
        w[0] * a[0] + w[1] * b[0] + w[2] * c[0] + w[3] * d[0],
        w[0] * a[1] + w[1] * b[1] + w[2] * c[1] + w[3] * d[1],
    )


def _plan_path(corners: list[tuple[float, float]], step: float = 0.5) -> list[Point]:
    """A closed plan polygon (axis-parallel edges) as metre points, with a vertex at every `step`."""
    out: list[Point] = []
    for k, (s0, t0) in enumerate(corners):
        s1, t1 = corners[(k + 1) % len(corners)]
        n = max(1, round(max(abs(s1 - s0), abs(t1 - t0)) / step))
        for m in range(n):
            out.append(_plan(s0 + (s1 - s0) * m / n, t0 + (t1 - t0) * m / n))
    return out


def _signed_area(ring: list[Point]) -> float:
    return 0.5 * sum(
        ring[k][0] * ring[(k + 1) % len(ring)][1] - ring[(k + 1) % len(ring)][0] * ring[k][1]
        for k in range(len(ring))
    )


def _polygon(points: list[Point]) -> dict[str, Any]:
    """A GeoJSON Polygon: closed, counter-clockwise (RFC 7946), 6 decimals."""
    if _signed_area(points) < 0:
        points = points[::-1]
    ring = [_lonlat(p) for p in points]
    ring.append(list(ring[0]))
    return {"type": "Polygon", "coordinates": [ring]}


def inside(p: Point, ring: Sequence[Point]) -> bool:
    """Ray casting: is p inside the (open, unclosed) ring?"""
    x, y = p
    inside = False
    n = len(ring)
    for k in range(n):
        (x1, y1), (x2, y2) = ring[k], ring[(k + 1) % n]
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _centroid(ring: list[Point]) -> Point:
    a = _signed_area(ring)
    cx = cy = 0.0
    for k in range(len(ring)):
        (x1, y1), (x2, y2) = ring[k], ring[(k + 1) % len(ring)]
        cross = x1 * y2 - x2 * y1
        cx += (x1 + x2) * cross
        cy += (y1 + y2) * cross
    return (cx / (6 * a), cy / (6 * a))


# --- roads --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _RoadSpec:
    name: str
    axis: str  # "ew" or "ns"
    index: int  # the lattice line (main road) or the block row/column it halves (small road)
    halving: bool
    base: int  # door number at the road's start
    metres_per_number: float


_ROAD_SPECS = (
    _RoadSpec("延安中路", "ew", 0, False, 1050, 3.0),
    _RoadSpec("长乐路", "ew", 0, True, 800, 2.5),
    _RoadSpec("南京西路", "ew", 1, False, 1480, 3.0),
    _RoadSpec("万航渡路", "ew", 1, True, 2, 2.5),
    _RoadSpec("愚园路", "ew", 2, False, 20, 2.2),
    _RoadSpec("北京西路", "ew", 2, True, 1500, 3.0),
    _RoadSpec("新闸路", "ew", 3, False, 1600, 3.0),
    _RoadSpec("江苏路", "ns", 0, False, 200, 2.5),
    _RoadSpec("镇宁路", "ns", 0, True, 200, 2.5),
    _RoadSpec("乌鲁木齐北路", "ns", 1, False, 100, 2.5),
    _RoadSpec("华山路", "ns", 1, True, 100, 2.5),
    _RoadSpec("常德路", "ns", 2, False, 100, 2.5),
    _RoadSpec("富民路", "ns", 2, True, 100, 2.5),
    _RoadSpec("胶州路", "ns", 3, False, 200, 2.5),
    _RoadSpec("西康路", "ns", 3, True, 100, 2.5),
    _RoadSpec("陕西北路", "ns", 4, False, 300, 2.5),
)


@dataclass(frozen=True)
class _Road:
    code: str
    spec: _RoadSpec
    line: tuple[Point, ...]

    @property
    def name(self) -> str:
        return self.spec.name

    def point_at(self, d: float) -> tuple[Point, Point]:
        """The point `d` metres from the start and the unit tangent there."""
        for k in range(len(self.line) - 1):
            (x1, y1), (x2, y2) = self.line[k], self.line[k + 1]
            seg = math.hypot(x2 - x1, y2 - y1)
            if d <= seg or k == len(self.line) - 2:
                f = d / seg
                return (x1 + f * (x2 - x1), y1 + f * (y2 - y1)), ((x2 - x1) / seg, (y2 - y1) / seg)
            d -= seg
        raise AssertionError("unreachable")

    def project(self, p: Point) -> tuple[float, float, int]:
        """(metres along the road, distance from it, +1 if p is on the left-hand side else -1)."""
        best = (math.inf, 0.0, 1)
        run = 0.0
        for k in range(len(self.line) - 1):
            (x1, y1), (x2, y2) = self.line[k], self.line[k + 1]
            dx, dy = x2 - x1, y2 - y1
            seg2 = dx * dx + dy * dy
            f = max(0.0, min(1.0, ((p[0] - x1) * dx + (p[1] - y1) * dy) / seg2))
            qx, qy = x1 + f * dx, y1 + f * dy
            dist = math.hypot(p[0] - qx, p[1] - qy)
            if dist < best[0]:
                side = 1 if dx * (p[1] - y1) - dy * (p[0] - x1) > 0 else -1
                best = (dist, run + f * math.sqrt(seg2), side)
            run += math.sqrt(seg2)
        return best[1], best[0], best[2]

    def natural_number(self, along: float, side: int) -> int:
        n = self.spec.base + round(along / self.spec.metres_per_number)
        if n % 2 != (1 if side > 0 else 0):
            n += 1
        return n


def _roads() -> list[_Road]:
    out: list[_Road] = []
    for k, spec in enumerate(_ROAD_SPECS):
        pos = spec.index + (0.5 if spec.halving else 0.0)
        if spec.axis == "ew":
            line = tuple(_plan(float(s), pos) for s in range(_COLS, -1, -1))
        else:
            line = tuple(_plan(pos, float(t)) for t in range(_ROWS + 1))
        out.append(_Road(f"{STREET_CODE}-R{k + 1:02d}", spec, line))
    return out


# --- areas and grids --------------------------------------------------------------------------------

# (column, row) → area name stem; codes A01..A12 run row by row from the north-west.
_AREA_NAMES: dict[tuple[int, int], str] = {
    (0, 2): "嘉园",
    (1, 2): "华山",
    (2, 2): "常德",
    (3, 2): "新闸",
    (0, 1): "万航",
    (1, 1): "愚谷邨",
    (2, 1): "静安寺",
    (3, 1): "胶州",
    (0, 0): "镇宁",
    (1, 0): "延安",
    (2, 0): "景华",
    (3, 0): "富民",
}

Quarter = tuple[int, int]  # (qu, qv): west/east half, south/north half of a block

_GRID_LAYOUTS: dict[str, list[list[Quarter]]] = {
    "4": [[(0, 1)], [(1, 1)], [(0, 0)], [(1, 0)]],
    "2u": [[(0, 0), (0, 1)], [(1, 0), (1, 1)]],
    "2v": [[(0, 1), (1, 1)], [(0, 0), (1, 0)]],
    "3a": [[(0, 1), (1, 1)], [(0, 0)], [(1, 0)]],
    "3b": [[(0, 0), (0, 1)], [(1, 1)], [(1, 0)]],
}
_AREA_LAYOUT = ("4", "3a", "2u", "4", "3b", "4", "4", "2v", "3a", "2u", "3b", "4")


@dataclass
class _Area:
    code: str
    name: str
    col: int
    row: int
    grids: list[_Grid] = field(default_factory=list)


@dataclass
class _Grid:
    code: str
    name: str
    area: _Area
    quarters: list[Quarter]
    ring: list[Point]


def _quarter_ring(col: int, row: int, q: Quarter) -> list[Point]:
    s0, t0 = col + 0.5 * q[0], row + 0.5 * q[1]
    return [_plan(s0, t0), _plan(s0 + 0.5, t0), _plan(s0 + 0.5, t0 + 0.5), _plan(s0, t0 + 0.5)]


def _areas() -> list[_Area]:
    cells = sorted(_AREA_NAMES, key=lambda c: (-c[1], c[0]))
    areas: list[_Area] = []
    for n, (col, row) in enumerate(cells):
        area = _Area(f"{STREET_CODE}-A{n + 1:02d}", f"{_AREA_NAMES[(col, row)]}居民区", col, row)
        for g, quarters in enumerate(_GRID_LAYOUTS[_AREA_LAYOUT[n]]):
            u0 = 0.5 * min(q[0] for q in quarters)
            u1 = 0.5 * max(q[0] for q in quarters) + 0.5
            v0 = 0.5 * min(q[1] for q in quarters)
            v1 = 0.5 * max(q[1] for q in quarters) + 0.5
            corners = [(col + u0, row + v0), (col + u1, row + v0), (col + u1, row + v1), (col + u0, row + v1)]
            ring = _plan_path(corners)
            area.grids.append(
                _Grid(f"{area.code}-G{g + 1}", f"{area.name}第{g + 1}网格", area, quarters, ring)
            )
        areas.append(area)
    return areas


def _block_ring(col: int, row: int) -> list[Point]:
    # Vertices at every half block, where the grids' corners are, so shared edges match exactly.
    return _plan_path([(col, row), (col + 1, row), (col + 1, row + 1), (col, row + 1)])


def _street_ring() -> list[Point]:
    corners = [(0.0, 0.0), (float(_COLS), 0.0), (float(_COLS), float(_ROWS)), (0.0, float(_ROWS))]
    return _plan_path(corners)


# Historic protection zones (plan coordinates): everything but the modern towers of the south-east.
_HISTORIC_ZONES = (
    ("愚园路历史风貌区", [(0.0, 1.5), (4.0, 1.5), (4.0, 3.0), (0.0, 3.0)]),
    ("南京西路历史风貌区", [(0.0, 0.0), (2.5, 0.0), (2.5, 0.5), (3.0, 0.5), (3.0, 1.5), (0.0, 1.5)]),
)


# --- buildings ------------------------------------------------------------------------------------------


@dataclass
class _Building:
    ring: list[Point]
    use: str
    floors: int
    quarter: tuple[int, int, int, int]  # col, row, qu, qv
    name: str | None = None
    road: _Road | None = None
    number: int | None = None
    lane: int | None = None
    house: int | None = None
    historic: bool = False
    grid: _Grid | None = None
    code: str = ""

    @property
    def centre(self) -> Point:
        return _centroid(self.ring)

    @property
    def address(self) -> str:
        assert self.road is not None
        if self.lane is not None:
            return f"{self.road.name}{self.lane}弄{self.house}号"
        return f"{self.road.name}{self.number}号"


@dataclass(frozen=True)
class _Landmark:
    name: str
    pois: tuple[str, ...]  # poi_kind per point of interest; extra names follow after the first
    road: str
    number: int
    use: str
    floors: int
    length: float  # metres along the road
    depth: float  # metres back from the frontage
    extra_names: tuple[str, ...] = ()


_LANDMARKS = (
    _Landmark("静安寺", ("temple",), "南京西路", 1686, "public", 3, 64, 56),
    _Landmark("久光百货", ("mall",), "南京西路", 1618, "commercial", 10, 56, 44),
    _Landmark("静安嘉里中心", ("mall",), "南京西路", 1515, "commercial", 5, 58, 40),
    _Landmark("静安嘉里中心办公楼", ("office_tower",), "南京西路", 1539, "office", 60, 34, 30),
    _Landmark("越洋广场", ("office_tower", "mall"), "南京西路", 1601, "mixed", 52, 40, 36, ("芮欧百货",)),
    _Landmark("会德丰国际广场", ("office_tower",), "南京西路", 1717, "office", 58, 40, 34),
    _Landmark("晶品购物中心", ("mall",), "愚园路", 68, "commercial", 8, 48, 38),
    _Landmark("百乐门", ("mall",), "愚园路", 218, "commercial", 4, 38, 30),
    _Landmark("上海市市西中学", ("school",), "愚园路", 404, "school", 5, 48, 40),
    _Landmark("静安区愚园路第一小学", ("school",), "愚园路", 540, "school", 4, 40, 30),
    _Landmark("静安区第一中心小学", ("school",), "万航渡路", 300, "school", 4, 44, 34),
    _Landmark("上海市华东模范中学", ("school",), "胶州路", 601, "school", 5, 44, 34),
    _Landmark("静安区中心医院", ("hospital",), "西康路", 259, "public", 12, 50, 40),
    _Landmark("静安寺街道社区卫生服务中心", ("hospital",), "江苏路", 480, "public", 4, 30, 24),
    _Landmark("胶州路菜场", ("market",), "胶州路", 340, "commercial", 2, 34, 24),
    _Landmark("华山路菜场", ("market",), "华山路", 150, "commercial", 2, 30, 24),
    _Landmark("新闸路菜市场", ("market",), "新闸路", 1789, "commercial", 2, 30, 24),
    _Landmark("静安寺商务大厦", ("office_tower",), "延安中路", 1238, "office", 28, 40, 30),
    _Landmark("常德商务楼", ("office_tower",), "常德路", 470, "office", 22, 34, 28),
    _Landmark("万航国际大厦", ("office_tower",), "万航渡路", 88, "office", 30, 34, 30),
)

# Open spaces (no building): name, poi_kind, plan point, address, reserved radius in metres.
_OPEN_POIS = (
    ("静安公园", "park", (2.25, 0.75), "南京西路1649号", 0.0),
    ("静安寺广场", "park", (1.72, 0.9), "南京西路华山路口", 35.0),
    ("静安寺站", "metro", (1.55, 1.06), "南京西路华山路口", 0.0),
    ("江苏路站", "metro", (0.05, 1.94), "愚园路江苏路口", 0.0),
    ("昌平路站", "metro", (3.55, 2.94), "新闸路西康路口", 0.0),
)
# Other names people use for the points of interest (short forms, old names, "地铁站" for a station).
_ALIASES: dict[str, tuple[str, ...]] = {
    "静安寺": ("静安古寺",),
    "久光百货": ("久光", "久光商场", "静安久光", "久光百货商场"),
    "静安嘉里中心": ("嘉里中心", "嘉里中心商场", "静安嘉里"),
    "静安嘉里中心办公楼": ("嘉里中心办公楼", "嘉里中心写字楼"),
    "越洋广场": ("越洋",),
    "芮欧百货": ("芮欧", "芮欧商场"),
    "会德丰国际广场": ("会德丰", "会德丰广场"),
    "晶品购物中心": ("晶品", "晶品商场"),
    "百乐门": ("百乐门舞厅", "百乐门大舞厅"),
    "上海市市西中学": ("市西中学", "市西"),
    "静安区愚园路第一小学": ("愚园路第一小学", "愚一小"),
    "静安区第一中心小学": ("第一中心小学", "一中心小学", "一中心"),
    "上海市华东模范中学": ("华东模范中学", "华模"),
    "静安区中心医院": ("静安中心医院", "中心医院"),
    "静安寺街道社区卫生服务中心": ("社区卫生服务中心", "静安寺社区卫生服务中心", "社区医院"),
    "胶州路菜场": ("胶州路菜市场",),
    "华山路菜场": ("华山路菜市场",),
    "新闸路菜市场": ("新闸路菜场",),
    "静安寺商务大厦": ("静安商务大厦",),
    "常德商务楼": ("常德商务大楼",),
    "万航国际大厦": ("万航大厦",),
    "愚园路608弄共享花园": ("共享花园", "608弄共享花园", "608弄花园"),
    "静安公园": ("静安公园大门",),
    "静安寺广场": ("静安寺下沉广场",),
    "静安寺站": ("静安寺地铁站", "地铁静安寺站"),
    "江苏路站": ("江苏路地铁站", "地铁江苏路站"),
    "昌平路站": ("昌平路地铁站", "地铁昌平路站"),
}
_PARK_PLAN = (2.04, 2.46, 0.54, 0.96)  # 静安公园 in plan coordinates: s0, s1, t0, t1

# The seed's micro-renewal courtyard: a lane of old houses on 愚园路 in 嘉园居民区.
_COURTYARD_QUARTER = (0, 2, 0, 0)
_COURTYARD_LANE = 608
_COURTYARD_HOUSE = 6

_SIZES: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "residential": ((18, 32), (12, 20)),
    "office": ((28, 40), (22, 32)),
    "commercial": ((20, 34), (14, 24)),
    "mixed": ((18, 30), (14, 22)),
    "public": ((16, 26), (14, 20)),
}


def _use_weights(historic: bool, on_nanjing: bool) -> dict[str, int]:
    if on_nanjing:
        return {"commercial": 35, "office": 25, "mixed": 20, "residential": 20}
    if historic:
        return {"residential": 78, "mixed": 8, "commercial": 7, "office": 4, "public": 3}
    return {"office": 40, "commercial": 20, "mixed": 15, "residential": 20, "public": 5}


def _floors(rng: random.Random, use: str, historic: bool) -> int:
    ranges = {
        "residential": (2, 4) if historic else (6, 24),
        "office": (4, 10) if historic else (15, 45),
        "commercial": (2, 6) if historic else (3, 10),
        "mixed": (3, 8) if historic else (6, 20),
        "public": (2, 5),
    }
    lo, hi = ranges[use]
    return rng.randint(lo, hi)


def _rect(centre: Point, ex: Point, half_x: float, half_y: float) -> list[Point]:
    ey = (-ex[1], ex[0])
    cx, cy = centre
    return [
        (cx + sx * half_x * ex[0] + sy * half_y * ey[0], cy + sx * half_x * ex[1] + sy * half_y * ey[1])
        for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))
    ]


def _bbox(ring: list[Point], pad: float = 0.0) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    return (min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad)


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@dataclass
class _World:
    roads: list[_Road]
    areas: list[_Area]
    zones: list[tuple[str, list[Point]]]
    buildings: list[_Building]
    landmarks: dict[str, _Building]
    courtyard: _Building


def _quarters() -> dict[tuple[int, int, int, int], list[Point]]:
    return {
        (col, row, qu, qv): _quarter_ring(col, row, (qu, qv))
        for row in range(_ROWS)
        for col in range(_COLS)
        for qv in (0, 1)
        for qu in (0, 1)
    }


def _place_landmarks(roads: dict[str, _Road]) -> list[_Building]:
    quarters = _quarters()
    placed: list[_Building] = []
    for mark in _LANDMARKS:
        road = roads[mark.road]
        side = 1 if mark.number % 2 else -1
        nominal = (mark.number - road.spec.base) * road.spec.metres_per_number
        found: _Building | None = None
        for shift in (0, *[sign * k * 8 for k in range(1, 30) for sign in (1, -1)]):
            where, tangent = road.point_at(nominal + shift)
            normal = (-tangent[1] * side, tangent[0] * side)
            back = 12.0 + mark.depth / 2
            centre = (where[0] + normal[0] * back, where[1] + normal[1] * back)
            ring = _rect(centre, tangent, mark.length / 2, mark.depth / 2)
            home = [k for k, q in quarters.items() if all(inside(p, q) for p in ring)]
            box = _bbox(ring, 10.0)
            if home and not any(_overlaps(box, _bbox(b.ring)) for b in placed):
                found = _Building(
                    ring, mark.use, mark.floors, home[0], name=mark.name, road=road, number=mark.number
                )
                break
        if found is None:
            raise AssertionError(f"no room for {mark.name}")
        placed.append(found)
    return placed


def _lattice(rng: random.Random, reserved: list[_Building]) -> list[_Building]:
    out: list[_Building] = []
    boxes = [_bbox(b.ring, 6.0) for b in reserved]
    keep_out = [(_plan(*plan), radius) for _, _, plan, _, radius in _OPEN_POIS if radius > 0]
    zones = [_plan_path(z) for _, z in _HISTORIC_ZONES]
    for (col, row, qu, qv), ring in _quarters().items():
        forced = (col, row, qu, qv) == _COURTYARD_QUARTER
        cols, rows = (3, 4) if forced else rng.choice(((3, 3), (3, 4), (4, 3), (3, 4)))
        s0, t0 = col + 0.5 * qu, row + 0.5 * qv
        width = math.dist(_plan(s0, t0 + 0.25), _plan(s0 + 0.5, t0 + 0.25))
        height = math.dist(_plan(s0 + 0.25, t0), _plan(s0 + 0.25, t0 + 0.5))
        a, b = _plan(s0, t0), _plan(s0 + 0.5, t0)
        ex_len = math.dist(a, b)
        ex = ((b[0] - a[0]) / ex_len, (b[1] - a[1]) / ex_len)
        jitter = 6.0
        max_hx = width / cols / 2 - jitter - 3
        max_hy = height / rows / 2 - jitter - 3
        for m in range(rows):
            for k in range(cols):
                s = s0 + 0.5 * (k + 0.5) / cols
                t = t0 + 0.5 * (m + 0.5) / rows
                p0, p1, p2, p3 = _PARK_PLAN
                if p0 <= s <= p1 and p2 <= t <= p3:
                    continue
                centre = _plan(s, t)
                centre = (centre[0] + rng.uniform(-jitter, jitter), centre[1] + rng.uniform(-jitter, jitter))
                historic = any(inside(centre, z) for z in zones)
                on_nanjing = row in (0, 1) and abs(t - 1.0) < 0.12
                if forced:
                    use = "residential"
                else:
                    weights = _use_weights(historic, on_nanjing)
                    use = rng.choices(list(weights), weights=list(weights.values()))[0]
                (wx0, wx1), (wy0, wy1) = _SIZES[use]
                hx = min(rng.uniform(wx0, wx1) / 2, max_hx)
                hy = min(rng.uniform(wy0, wy1) / 2, max_hy)
                footprint = _rect(centre, ex, hx, hy)
                box = _bbox(footprint)
                if any(_overlaps(box, r) for r in boxes):
                    continue
                if any(math.dist(centre, c) < radius + max(hx, hy) for c, radius in keep_out):
                    continue
                if not all(inside(p, ring) for p in footprint):
                    continue
                out.append(_Building(footprint, use, _floors(rng, use, historic), (col, row, qu, qv)))
    return out


def _address_all(buildings: list[_Building], roads: list[_Road]) -> _Building:
    """Give every building a road, a door number or a lane (弄) and house number; return the courtyard."""
    by_name = {r.name: r for r in roads}
    used: dict[str, set[int]] = {r.name: set() for r in roads}
    for b in buildings:
        if b.name is not None:
            assert b.road is not None and b.number is not None
            used[b.road.name].add(b.number)
    used["愚园路"].add(_COURTYARD_LANE)

    # (road, along, side, members) for lanes; members of one lane share its number.
    lanes: list[tuple[_Road, list[_Building], bool]] = []
    singles: list[_Building] = []
    groups: dict[tuple[tuple[int, int, int, int], str], list[_Building]] = {}
    for b in buildings:
        if b.name is not None:
            continue
        if b.quarter == _COURTYARD_QUARTER:
            yuyuan = by_name["愚园路"]
            if yuyuan.project(b.centre)[1] <= 115:
                groups.setdefault((b.quarter, yuyuan.name), []).append(b)
                continue
        nearest = min(roads, key=lambda r: r.project(b.centre)[1])
        if b.use == "residential":
            groups.setdefault((b.quarter, nearest.name), []).append(b)
        else:
            b.road = nearest
            singles.append(b)
    courtyard_members: list[_Building] = []
    for (quarter, road_name), members in groups.items():
        road = by_name[road_name]
        if len(members) >= 3:
            is_courtyard = quarter == _COURTYARD_QUARTER and road_name == "愚园路"
            lanes.append((road, members, is_courtyard))
            if is_courtyard:
                courtyard_members = members
        else:
            for b in members:
                b.road = road
                singles.append(b)

    def claim(road: _Road, along: float, side: int) -> int:
        natural = road.natural_number(along, side)
        for step in range(0, 400):
            for candidate in (natural + 2 * step, natural - 2 * step):
                if candidate > 0 and candidate not in used[road.name]:
                    used[road.name].add(candidate)
                    return candidate
        raise AssertionError("door numbers exhausted")

    items: list[tuple[str, float, int, Any]] = []
    for b in singles:
        assert b.road is not None
        along, _, side = b.road.project(b.centre)
        items.append((b.road.name, along, side, b))
    for road, members, is_courtyard in lanes:
        cx = sum(m.centre[0] for m in members) / len(members)
        cy = sum(m.centre[1] for m in members) / len(members)
        along, _, side = road.project((cx, cy))
        if is_courtyard:
            assert side == -1, "608 is even: the lane must open on the north side of 愚园路"
            number = _COURTYARD_LANE
            _number_lane(road, members, number)
        else:
            items.append((road.name, along, side, (road, members)))
    for road_name, along, side, item in sorted(items, key=lambda i: (i[0], i[1], i[2])):
        road = by_name[road_name]
        number = claim(road, along, side)
        if isinstance(item, _Building):
            item.number = number
        else:
            _number_lane(road, item[1], number)

    courtyard = [b for b in courtyard_members if b.house == _COURTYARD_HOUSE]
    assert len(courtyard) == 1, "the courtyard lane needs at least six houses"
    courtyard[0].floors = 3  # a three-storey house of seven households
    return courtyard[0]


def _number_lane(road: _Road, members: list[_Building], number: int) -> None:
    def key(m: _Building) -> tuple[int, float]:
        along, off, _ = road.project(m.centre)
        return round(off / 20), along

    ordered = sorted(members, key=key)
    for house, m in enumerate(ordered, start=1):
        m.road, m.number, m.lane, m.house = road, number, number, house


@functools.lru_cache(maxsize=1)
def _world() -> _World:
    rng = random.Random(_GEO_SEED)
    roads = _roads()
    areas = _areas()
    zones = [(name, _plan_path(corners)) for name, corners in _HISTORIC_ZONES]
    marks = _place_landmarks({r.name: r for r in roads})
    buildings = marks + _lattice(rng, marks)
    courtyard = _address_all(buildings, roads)
    grids = {(a.col, a.row, q): g for a in areas for g in a.grids for q in g.quarters}
    for b in buildings:
        col, row, qu, qv = b.quarter
        b.grid = grids[(col, row, (qu, qv))]
        b.historic = any(inside(b.centre, ring) for _, ring in zones)
    ordered: list[_Building] = []
    for area in areas:
        for grid in area.grids:
            mine = sorted((b for b in buildings if b.grid is grid), key=lambda b: (-b.centre[1], b.centre[0]))
            for n, b in enumerate(mine, start=1):
                b.code = f"{grid.code}-B{n:03d}"
            ordered.extend(mine)
    return _World(roads, areas, zones, ordered, {b.name: b for b in marks if b.name}, courtyard)


def _feature(geometry: dict[str, Any], **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "id": properties["code"], "geometry": geometry, "properties": properties}


def _point(p: Point) -> dict[str, Any]:
    return {"type": "Point", "coordinates": _lonlat(p)}


@functools.lru_cache(maxsize=1)
def _places() -> dict[str, Any]:
    world = _world()
    street_ring = _street_ring()
    historic_area = sum(_signed_area(ring) for _, ring in world.zones)
    features: list[dict[str, Any]] = [
        _feature(
            _polygon(street_ring),
            kind="street",
            code=STREET_CODE,
            name=STREET_NAME,
            parent=None,
            district=DISTRICT,
            historic_share=round(historic_area / _signed_area(street_ring), 3),
        )
    ]
    for area in world.areas:
        features.append(
            _feature(
                _polygon(_block_ring(area.col, area.row)),
                kind="area",
                code=area.code,
                name=area.name,
                parent=STREET_CODE,
                committee=area.name.removesuffix("居民区") + "居委会",
            )
        )
    for area in world.areas:
        for grid in area.grids:
            features.append(
                _feature(_polygon(grid.ring), kind="grid", code=grid.code, name=grid.name, parent=area.code)
            )
    for n, (name, ring) in enumerate(world.zones, start=1):
        features.append(
            _feature(
                _polygon(ring),
                kind="historic_zone",
                code=f"{STREET_CODE}-H{n}",
                name=name,
                parent=STREET_CODE,
            )
        )
    for road in world.roads:
        features.append(
            _feature(
                {"type": "LineString", "coordinates": [_lonlat(p) for p in road.line]},
                kind="road",
                code=road.code,
                name=road.name,
                parent=STREET_CODE,
            )
        )
    for b in world.buildings:
        assert b.grid is not None and b.road is not None
        features.append(
            _feature(
                _polygon(b.ring),
                kind="building",
                code=b.code,
                name=b.name or b.address,
                parent=b.grid.code,
                area=b.grid.area.code,
                road=b.road.name,
                number=str(b.number),
                lane=None if b.lane is None else str(b.lane),
                house=None if b.house is None else str(b.house),
                address=b.address,
                historic=b.historic,
                use=b.use,
                floors=b.floors,
            )
        )
    features.extend(_pois(world))
    return {"type": "FeatureCollection", "features": features}


def _pois(world: _World) -> list[dict[str, Any]]:
    entries: list[tuple[str, str, Point, str, _Building | None]] = []
    for mark in _LANDMARKS:
        b = world.landmarks[mark.name]
        for name, kind in zip((mark.name, *mark.extra_names), mark.pois, strict=True):
            entries.append((name, kind, b.centre, b.address, b))
    entries.append(
        ("愚园路608弄共享花园", "park", world.courtyard.centre, world.courtyard.address, world.courtyard)
    )
    for name, kind, plan, address, _ in _OPEN_POIS:
        entries.append((name, kind, _plan(*plan), address, None))
    out: list[dict[str, Any]] = []
    for n, (name, kind, where, address, building) in enumerate(entries, start=1):
        if building is not None:
            assert building.grid is not None
            area = building.grid.area.code
        else:
            area = next(a.code for a in world.areas if inside(where, _block_ring(a.col, a.row)))
        out.append(
            _feature(
                _point(where),
                kind="poi",
                code=f"{STREET_CODE}-P{n:02d}",
                name=name,
                parent=area,
                poi_kind=kind,
                address=address,
                building=None if building is None else building.code,
                aliases=list(_ALIASES.get(name, ())),
            )
        )
    return out


def places() -> dict[str, Any]:
    """The demo street as a GeoJSON FeatureCollection (WGS-84, [lon, lat])."""
    return copy.deepcopy(_places())


# --- people ---------------------------------------------------------------------------------------------

_DEPARTMENTS = (
    ("chengyun", "城运中心", "internal"),
    ("fangban", "房办", "internal"),
    ("shirong", "市容所", "internal"),
    ("police", "静安寺派出所", "external"),
    ("market_reg", "静安寺市场监管所", "external"),
    ("chengguan", "静安寺城管中队", "external"),
    ("property", "物业公司", "external"),
    ("greening", "静安区绿化市容局", "external"),
    ("water", "供水公司", "external"),
    ("gas", "燃气公司", "external"),
    ("power", "供电公司", "external"),
)


def departments() -> list[dict[str, str]]:
    return [{"code": c, "name": n, "kind": k} for c, n, k in _DEPARTMENTS]


SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭"
    "曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦顾"
)
GIVEN = (
    "明",
    "伟",
    "芳",
    "敏",
    "静",
    "磊",
    "洁",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "军",
    "超",
    "霞",
    "平",
    "刚",
    "晓峰",
    "海燕",
    "文杰",
    "佳慧",
    "志强",
    "丽华",
    "建国",
    "雪梅",
    "俊杰",
    "慧敏",
    "春燕",
    "国庆",
    "晨",
    "颖",
    "琳",
    "浩",
    "宇",
    "欣怡",
    "子涵",
    "雨萱",
    "一鸣",
    "天宇",
    "思琪",
    "嘉豪",
    "婷婷",
    "建华",
    "红梅",
    "卫东",
    "秀英",
    "玉兰",
    "立新",
    "永康",
    "文斌",
    "亚琴",
    "振华",
    "美玲",
    "晓东",
)

# Group sizes, in id order after the director.
_DUTY_OFFICERS = 5
_AB_PEOPLE = 2 * len(_AREA_NAMES)
_HOTLINE_TEAM = 8
_PATROL = 5
_RESPONDERS = 3
_NIGHT_TEAM = 8  # the night duty team (夜间值守): half of them on each night, 22:00–07:00
_NIGHT_POSTS = 4  # people on duty each night, each posted in an area spread over the street


@dataclass(frozen=True)
class _Person:
    id: str
    name: str
    phone: str
    department: str
    posts: tuple[str, ...]


@functools.lru_cache(maxsize=1)
def _people() -> tuple[_Person, ...]:
    rng = random.Random(_STAFF_SEED)
    fixed = {1: "张燕芬", 7: "李思远", 8: "陆佳颖"}  # the seed's director, 嘉园's 小李 and her partner 小陆
    plan: list[tuple[str, tuple[str, ...]]] = [("chengyun", ("director",))]
    for k in range(_DUTY_OFFICERS):
        extra = {1: ("patrol_observer",), 3: ("hotline_handler",)}.get(k, ())
        plan.append((("chengyun", "fangban", "shirong")[k % 3], ("duty_officer", *extra)))
    for k in range(_AB_PEOPLE):
        dept = ("fangban", "shirong", "chengyun")[(k // 2) % 3] if k % 2 == 0 else "chengyun"
        plan.append((dept, ("area_manager", "hotline_handler")))
    plan.extend(("chengyun", ("hotline_handler",)) for _ in range(_HOTLINE_TEAM))
    for k in range(_PATROL):
        extra = ("chief_responder",) if k == 0 else ()
        plan.append((("shirong", "fangban")[k % 2], ("patrol_observer", *extra)))
    plan.extend(("chengyun", ("chief_responder",)) for _ in range(_RESPONDERS))
    plan.extend((("chengyun", "shirong")[k % 2], ("chief_responder",)) for k in range(_NIGHT_TEAM))

    names = set(fixed.values())
    phones: set[str] = set()
    people: list[_Person] = []
    for n, (dept, posts) in enumerate(plan, start=1):
        name = fixed.get(n) or new_name(rng, names)
        people.append(_Person(f"S{n:03d}", name, new_phone(rng, phones, "139"), dept, posts))
    return tuple(people)


def new_name(rng: random.Random, taken: set[str]) -> str:
    """An invented Chinese name not in `taken`, which it is added to."""
    name = ""
    while not name or name in taken:
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
    taken.add(name)
    return name


def new_phone(rng: random.Random, taken: set[str], prefix: str) -> str:
    """An invented mobile number (`prefix` and eight digits) not in `taken`, which it is added to."""
    phone = ""
    while not phone or phone in taken:
        phone = prefix + "".join(rng.choice("0123456789") for _ in range(8))
    taken.add(phone)
    return phone


def _ids(posts_first: str, start: int, count: int) -> list[str]:
    return [p.id for p in _people()[start : start + count] if p.posts[0] == posts_first]


def _director() -> str:
    return _people()[0].id


def _duty_officers() -> list[str]:
    return _ids("duty_officer", 1, _DUTY_OFFICERS)


def _ab_people() -> list[str]:
    return _ids("area_manager", 1 + _DUTY_OFFICERS, _AB_PEOPLE)


def _hotline_team() -> list[str]:
    return _ids("hotline_handler", 1 + _DUTY_OFFICERS + _AB_PEOPLE, _HOTLINE_TEAM)


def _patrol() -> list[str]:
    return _ids("patrol_observer", 1 + _DUTY_OFFICERS + _AB_PEOPLE + _HOTLINE_TEAM, _PATROL)


def _responders() -> list[str]:
    return _ids("chief_responder", 1 + _DUTY_OFFICERS + _AB_PEOPLE + _HOTLINE_TEAM + _PATROL, _RESPONDERS)


def night_team() -> list[str]:
    """The night duty team: chief responders who work only the 22:00–07:00 night shift."""
    first = 1 + _DUTY_OFFICERS + _AB_PEOPLE + _HOTLINE_TEAM + _PATROL + _RESPONDERS
    return _ids("chief_responder", first, _NIGHT_TEAM)


@functools.lru_cache(maxsize=1)
def night_posts() -> tuple[str, ...]:
    """The areas whose committee offices the night team starts from: of every choice of `_NIGHT_POSTS`
    areas, the one with the shortest longest walk (along the grid) from the nearest post to any point of
    the street, ties broken by the shorter mean walk."""
    centres = {(a.col, a.row): (a.code, _plan(a.col + 0.5, a.row + 0.5)) for a in _areas()}
    samples = [_plan(s / 4, t / 4) for s in range(4 * _COLS + 1) for t in range(4 * _ROWS + 1)]

    def score(posts: tuple[tuple[int, int], ...]) -> tuple[float, float]:
        walks = [
            min(abs(p[0] - centres[c][1][0]) + abs(p[1] - centres[c][1][1]) for c in posts) for p in samples
        ]
        return max(walks), sum(walks) / len(walks)

    best = min(itertools.combinations(sorted(centres), _NIGHT_POSTS), key=lambda c: (score(c), c))
    return tuple(centres[c][0] for c in best)


def staff() -> list[dict[str, str]]:
    return [
        {
            "id": p.id,
            "name": p.name,
            "phone": p.phone,
            "department": p.department,
            "posts": "|".join(p.posts),
            "street": STREET_CODE,
        }
        for p in _people()
    ]


def _pairs() -> list[tuple[str, str, str]]:
    """(area code, a_staff, b_staff) per area, in area order."""
    people = _ab_people()
    return [(area.code, people[2 * k], people[2 * k + 1]) for k, area in enumerate(_areas())]


def ab_pairs() -> list[dict[str, str]]:
    return [
        {
            "area": area,
            "a_staff": a,
            "b_staff": b,
            "swap_every_days": str(SWAP_EVERY_DAYS),
            "anchor_date": ANCHOR_DATE.isoformat(),
        }
        for area, a, b in _pairs()
    ]


def _roles_on(a: str, b: str, day: date) -> tuple[str, str]:
    period = (day - ANCHOR_DATE).days // SWAP_EVERY_DAYS
    return (a, b) if period % 2 == 0 else (b, a)


# --- roster -----------------------------------------------------------------------------------------------

# Weekday halves of eight hours each. The late half runs to 23:00 (it was 14:30–22:00, the early one
# 07:00–14:30): the evening's noise calls peak in the night team's first hour, when four people covered the
# whole street (README, "Simulating a day").
_EARLY = (7 * 60, 15 * 60)
_LATE = (15 * 60, 23 * 60)
_WHOLE_DAY = (7 * 60, 22 * 60)
_DUTY_SHIFTS = ((0, 8 * 60), (8 * 60, 16 * 60), (16 * 60, 24 * 60))
# By day on weekdays one of the team keeps a line open besides the B partners standing in, who go out to
# sites when their area needs them.
_TEAM_WEEKDAY = ((0, 8 * 60), (0, 8 * 60), (8 * 60, 16 * 60), (16 * 60, 24 * 60), (16 * 60, 24 * 60))
_TEAM_WEEKEND = (
    (0, 8 * 60),
    (0, 8 * 60),
    (8 * 60, 16 * 60),
    (8 * 60, 16 * 60),
    (16 * 60, 24 * 60),
    (16 * 60, 24 * 60),
)
# The middle patrol shift doubles up over the lunch and dinner peaks of delivery e-bikes (a 顽症); the
# first starts with the morning peak, the last stays out through the evening's noise until midnight.
_PATROL_SHIFTS = ((7 * 60 + 30, 15 * 60 + 30), (11 * 60, 19 * 60), (16 * 60, 24 * 60))
# The first weekday responder starts with the morning peak of calls (07:30), before the offices open.
_RESPONDER_WEEKDAY = ((7 * 60 + 30, 16 * 60), (13 * 60 + 30, 22 * 60))
_RESPONDER_WEEKEND = ((9 * 60, 17 * 60 + 30),)
_DIRECTOR = (9 * 60, 18 * 60)
_NIGHT = (22 * 60, 31 * 60)  # 22:00 to 07:00 the next morning


def _stamp(day: date, minutes: int) -> str:
    return (datetime.combine(day, time(0), tzinfo=CST) + timedelta(minutes=minutes)).isoformat()


def _shift(who: str, post: str, day: date, span: tuple[int, int], area: str = "") -> dict[str, str]:
    return {
        "staff": who,
        "post": post,
        "start": _stamp(day, span[0]),
        "end": _stamp(day, span[1]),
        "area": area,
    }


def _slots_before(weekday: int, weekday_count: int, weekend_count: int) -> int:
    return sum(weekday_count if d < 5 else weekend_count for d in range(weekday))


def _day_roster(day: date) -> list[dict[str, str]]:
    index = (day - ANCHOR_DATE).days
    week, weekday = index // 7, index % 7  # ANCHOR_DATE is a Monday
    rows: list[dict[str, str]] = []

    officers = _duty_officers()
    for k, span in enumerate(_DUTY_SHIFTS):
        rows.append(_shift(officers[(index * 3 + k) % len(officers)], "duty_officer", day, span))

    if weekday < 5:
        rows.append(_shift(_director(), "director", day, _DIRECTOR))

    for k, (area, a_staff, b_staff) in enumerate(_pairs()):
        a, b = _roles_on(a_staff, b_staff, day)
        if weekday < 5:
            a_span, b_span = (_EARLY, _LATE) if (k + week) % 2 == 0 else (_LATE, _EARLY)
            rows.append(_shift(a, "area_manager", day, a_span, area))
            rows.append(_shift(b, "hotline_handler", day, b_span))
        else:
            rows.append(_shift(a if weekday == 5 else b, "area_manager", day, _WHOLE_DAY, area))

    team = _hotline_team()
    spans: tuple[tuple[int, int], ...] = _TEAM_WEEKDAY if weekday < 5 else _TEAM_WEEKEND
    first = week * _slots_before(7, len(_TEAM_WEEKDAY), len(_TEAM_WEEKEND)) + _slots_before(
        weekday, len(_TEAM_WEEKDAY), len(_TEAM_WEEKEND)
    )
    for k, span in enumerate(spans):
        rows.append(_shift(team[(first + k) % len(team)], "hotline_handler", day, span))

    patrol = _patrol()
    for k, span in enumerate(_PATROL_SHIFTS):
        rows.append(
            _shift(patrol[(index * len(_PATROL_SHIFTS) + k) % len(patrol)], "patrol_observer", day, span)
        )

    responders = _responders()
    spans = _RESPONDER_WEEKDAY if weekday < 5 else _RESPONDER_WEEKEND
    first = week * _slots_before(7, len(_RESPONDER_WEEKDAY), len(_RESPONDER_WEEKEND)) + _slots_before(
        weekday, len(_RESPONDER_WEEKDAY), len(_RESPONDER_WEEKEND)
    )
    for k, span in enumerate(spans):
        rows.append(_shift(responders[(first + k) % len(responders)], "chief_responder", day, span))

    night = night_team()
    for k, area in enumerate(night_posts()):
        who = night[(index * _NIGHT_POSTS + k) % len(night)]
        rows.append(_shift(who, "chief_responder", day, _NIGHT, area))
    return rows


def roster(start: date, days: int) -> list[dict[str, str]]:
    """Shifts starting on each day of [start, start + days), times in China Standard Time (+08:00)."""
    rows: list[dict[str, str]] = []
    for offset in range(days):
        rows.extend(_day_roster(start + timedelta(days=offset)))
    return sorted(rows, key=lambda r: (r["start"], r["post"], r["staff"]))


# --- files ------------------------------------------------------------------------------------------------


def _write_csv(path: pathlib.Path, columns: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def write_all(directory: pathlib.Path, start: date, days: int) -> None:
    """Write places.geojson, departments.csv, staff.csv, ab_pairs.csv and roster.csv (UTF-8)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "places.geojson").write_text(
        json.dumps(places(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    _write_csv(directory / "departments.csv", ["code", "name", "kind"], departments())
    _write_csv(directory / "staff.csv", ["id", "name", "phone", "department", "posts", "street"], staff())
    _write_csv(
        directory / "ab_pairs.csv",
        ["area", "a_staff", "b_staff", "swap_every_days", "anchor_date"],
        ab_pairs(),
    )
    _write_csv(directory / "roster.csv", ["staff", "post", "start", "end", "area"], roster(start, days))

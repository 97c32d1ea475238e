"""Point-in-polygon and address lookup over a street's places, with shapely's STRtree.

Addresses are taken apart by `chengyun.domain.addresses` and matched against an index built from the
places: roads (name, stem without 路, pinyin), door numbers (号), lanes (弄) and their houses, landmark and
POI names with their `aliases`, area and grid names. Fuzzy matching is deliberately narrow, because a wrong
area is worse than none: a road or a name may differ from the written one only by homophones (a pinyin
input slip, 愚圆路 for 愚园路) or by a missing 路; a long name may also differ by one character. Roads that
differ in a direction character (南京西路, 南京东路) are never taken for each other. Whatever is not
matched, or is matched to places in more than one area, is unresolved: `locate_address` returns None and
`geocode` lists the candidates for a person to choose from.

Confidence: 1.0 the exact address or name; 0.95 after normalising (digits, qualifiers such as 门口); minus
0.1 for a homophone or a missing 路; 0.85 a lane without its house; 0.85 a fuzzy name; 0.8 a crossing or an
area by name; 0.7 across the road (对面); 0.6 a door number between two known numbers of the same area.
"""

from __future__ import annotations

import functools
import threading
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from rapidfuzz import fuzz, process
from shapely import STRtree
from shapely.geometry import Point as ShapelyPoint
from shapely.geometry import shape

from chengyun.domain.addresses import ParsedAddress, directions, normalise, parse_address, road_stem
from chengyun.domain.geo import Point
from chengyun.domain.orders import Location
from chengyun.domain.places import Place, PlaceKind
from chengyun.services.ports import Located

# How far from a building's outline a point may be and still count as that building.
BUILDING_SNAP_M = 25.0
# How far from a crossing an area's outline may be and still count as one of the crossing's areas.
CROSSING_REACH_M = 8.0
# A door number between two known ones on the same side is placed between them if they are this close.
INTERPOLATE_SPAN = 40
# A fuzzy name must score this much (0..100, rapidfuzz ratio on pinyin syllables or characters).
NAME_SCORE = 90.0
_METRES_PER_DEGREE = 111_320.0
_MEMO_SIZE = 4096


def normalise_address(text: str) -> str:
    """Full-width to half-width, no spaces or punctuation: '愚园路 608 弄 6 号' → '愚园路608弄6号'."""
    return normalise(unicodedata.normalize("NFKC", text))


@dataclass(frozen=True)
class Candidate:
    """A place an unresolved address may mean, for a person to choose."""

    code: str
    name: str
    kind: str
    area: str | None
    score: float  # 0..1


@dataclass(frozen=True)
class Geocoded:
    """The answer for an address: what was found (None: unresolved) and the alternatives."""

    found: Located | None
    candidates: tuple[Candidate, ...] = ()
    reason: str = ""  # why it is unresolved, for people (Chinese)


@dataclass
class _Road:
    name: str
    line: Any = None
    doors: dict[int, Place] = field(default_factory=dict)  # door number → building or POI
    lanes: dict[int, dict[int, Place]] = field(default_factory=dict)  # lane → house → building
    # Per side (number parity): sorted (number, area, x, y, code) of every known door and lane.
    sides: dict[int, list[tuple[int, str, float, float, str]]] = field(default_factory=dict)


@functools.lru_cache(maxsize=65_536)
def _pinyin(text: str) -> tuple[str, ...]:
    # Imported on first use: loading pypinyin's dictionaries takes ~0.3 s, which every CLI command
    # would pay at start-up; only building a street's address index needs it.
    from pypinyin import lazy_pinyin

    return tuple(lazy_pinyin(text))


class ShapelyGazetteer:
    def __init__(self, places: Iterable[Place]) -> None:
        self._street: Any = None
        self._street_place: Place | None = None
        areas: list[tuple[Any, Place]] = []
        grids: list[tuple[Any, Place]] = []
        buildings: list[tuple[Any, Place]] = []
        self._by_code: dict[str, Place] = {}
        self._shapes: dict[str, Any] = {}
        self._memo: dict[str, Geocoded] = {}
        all_places = list(places)
        for place in all_places:
            self._by_code[place.code] = place
            geometry = shape(place.geometry)
            self._shapes[place.code] = geometry
            if place.kind is PlaceKind.STREET:
                self._street = geometry
                self._street_place = place
            elif place.kind is PlaceKind.AREA:
                areas.append((geometry, place))
            elif place.kind is PlaceKind.GRID:
                grids.append((geometry, place))
            elif place.kind is PlaceKind.BUILDING:
                buildings.append((geometry, place))
        self._areas, self._area_tree = _index(areas)
        self._grids, self._grid_tree = _index(grids)
        self._buildings, self._building_tree = _index(buildings)
        self._build_address_index(all_places)

    # --- the Gazetteer port ---------------------------------------------------------------------------

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
        place = building or grid or area
        return Located(
            Location(
                point, None, area.code, grid.code if grid else None, building.code if building else None
            ),
            matched="point",
            place=place.code,
        )

    def locate_address(self, address: str) -> Located | None:
        """The place an address names; None when unresolved (see `geocode` for the candidates)."""
        return self.geocode(address).found

    # --- more for the API -----------------------------------------------------------------------------

    def place(self, code: str | None) -> Place | None:
        return self._by_code.get(code) if code else None

    @property
    def street(self) -> Place | None:
        return self._street_place

    def geocode(self, address: str) -> Geocoded:
        """Resolve a Chinese street address, with candidates when it cannot be resolved safely."""
        key = address.strip()
        answer = self._memo.get(key)
        if answer is None:
            answer = self._geocode(key) if key else Geocoded(None, reason="地址为空")
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = answer
        if answer.found is None:
            return answer
        return replace(
            answer, found=replace(answer.found, location=replace(answer.found.location, address=key))
        )

    # --- the index --------------------------------------------------------------------------------------

    def _build_address_index(self, places: list[Place]) -> None:
        self._roads: dict[str, _Road] = {}
        self._exact: dict[str, Place] = {}
        names: dict[str, list[Place]] = {}
        for place in places:
            if place.kind is PlaceKind.ROAD:
                self._road_entry(place.name).line = self._shapes[place.code]
        for place in sorted(places, key=lambda p: p.kind is not PlaceKind.BUILDING):
            props = place.props
            if place.kind in (PlaceKind.BUILDING, PlaceKind.POI):
                address = props.get("address")
                if isinstance(address, str) and address:
                    parsed = parse_address(address)
                    if parsed.road is not None and parsed.number is not None:
                        self._exact.setdefault(normalise(address), place)
                        self._add_door(place, parsed)
            named = place.kind in (PlaceKind.POI, PlaceKind.AREA, PlaceKind.GRID) or (
                place.kind is PlaceKind.BUILDING and place.name != props.get("address")
            )
            if named:
                aliases = props.get("aliases")
                extra = [a for a in aliases if isinstance(a, str)] if isinstance(aliases, list) else []
                if place.kind is PlaceKind.AREA:
                    committee = props.get("committee")
                    extra += [committee] if isinstance(committee, str) else []
                    extra += [c.removesuffix("会") for c in extra if c.endswith("居委会")]
                for name in (place.name, *extra):
                    for key in {normalise(name), parse_address(name).text}:
                        if len(key) >= 2 and place not in names.setdefault(key, []):
                            names[key].append(place)
        for road in self._roads.values():
            for side in road.sides.values():
                side.sort()
        self._names = names
        self._name_keys = list(names)
        self._name_pinyin = [_pinyin(k) for k in self._name_keys]
        # Road spellings: the name, its stem (no 路), both in pinyin; one that two roads share is dropped.
        spellings: dict[str, set[str]] = {}
        sounds: dict[tuple[str, ...], set[str]] = {}
        for name in self._roads:
            for spelling in {name, road_stem(name)}:
                spellings.setdefault(spelling, set()).add(name)
                sounds.setdefault(_pinyin(spelling), set()).add(name)
        self._road_spellings = {k: next(iter(v)) for k, v in spellings.items() if len(v) == 1}
        self._road_sounds = {k: next(iter(v)) for k, v in sounds.items() if len(v) == 1}

    def _road_entry(self, name: str) -> _Road:
        road = self._roads.get(name)
        if road is None:
            road = self._roads[name] = _Road(name)
        return road

    def _add_door(self, place: Place, parsed: ParsedAddress) -> None:
        assert parsed.road is not None and parsed.number is not None
        road = self._road_entry(parsed.road)
        where = self._shapes[place.code].centroid
        area = self._area_of(place)
        if parsed.lane is not None and parsed.house is not None:
            road.lanes.setdefault(parsed.lane, {}).setdefault(parsed.house, place)
            if len(road.lanes[parsed.lane]) > 1:
                return  # the lane is on the side list once
        elif parsed.lane is None:
            road.doors.setdefault(parsed.number, place)
        if area is not None:
            side = road.sides.setdefault(parsed.number % 2, [])
            side.append((parsed.number, area, where.x, where.y, place.code))

    def _area_of(self, place: Place) -> str | None:
        seen = 0
        current: Place | None = place
        while current is not None and seen < 6:
            if current.kind is PlaceKind.AREA:
                return current.code
            current = self._by_code.get(current.parent) if current.parent else None
            seen += 1
        if place.kind is PlaceKind.POI:
            found = self._point_of(place)
            return found.location.area if found else None
        return None

    def _point_of(self, place: Place) -> Located | None:
        centre = self._shapes[place.code].centroid
        return self.locate_point(Point(round(centre.x, 6), round(centre.y, 6)))

    # --- resolving ----------------------------------------------------------------------------------------

    def _geocode(self, address: str) -> Geocoded:
        text = normalise(address)
        exact = self._exact.get(text)
        if exact is not None:
            return self._at_place(exact, 1.0, _matched(exact))
        parsed = parse_address(address)
        street = self._street_place
        if street is not None:
            district = street.props.get("district")
            ours = isinstance(district, str) and _pinyin(parsed.district or "") == _pinyin(district)
            if parsed.district and not ours:
                return Geocoded(None, reason=f"地址在{parsed.district}，不在本街道")
            if parsed.street and parsed.street != street.name and parsed.text not in self._names:
                return Geocoded(None, reason=f"地址在{parsed.street}，不在本街道")
        penalty = 0.05 if parsed.qualifier and not parsed.opposite else 0.0
        for key in (text, parsed.text):
            if key in self._names:
                return self._named(self._names[key], parsed, 1.0 - (0.05 if key != text else 0.0) - penalty)
        if parsed.road is not None and parsed.number is not None:
            return self._road_number(parsed, penalty)
        if parsed.crossing is not None:
            return self._crossing(parsed)
        if parsed.name is not None:
            return self._fuzzy_name(parsed, penalty)
        return Geocoded(None, reason="地址无法识别")

    def _road(self, written: str) -> tuple[str, float] | None:
        """The street's road a written road name means, and the confidence lost in reading it."""
        if written in self._roads:
            return written, 0.0
        name = self._road_spellings.get(written)
        if name is not None:
            return name, 0.1
        name = self._road_sounds.get(_pinyin(written)) or self._road_sounds.get(_pinyin(road_stem(written)))
        if name is not None and directions(name) == directions(written):
            return name, 0.1
        return None

    def _road_number(self, parsed: ParsedAddress, penalty: float) -> Geocoded:
        assert parsed.road is not None and parsed.number is not None
        found = self._road(parsed.road)
        if found is None:
            return Geocoded(None, reason=f"本街道没有「{parsed.road}」")
        name, lost = found
        road = self._roads[name]
        confidence = 0.95 - lost - penalty
        if parsed.lane is not None:
            houses = road.lanes.get(parsed.lane)
            if houses is not None:
                house = houses.get(parsed.house) if parsed.house is not None else None
                if house is not None:
                    return self._at_place(house, confidence, "building", parsed)
                return self._lane(road, parsed.lane, min(confidence, 0.85) - (0.1 if parsed.house else 0.0))
        door = road.doors.get(parsed.number)
        if door is not None and parsed.lane is None:
            return self._at_place(door, confidence, _matched(door), parsed)
        if parsed.number in road.lanes and parsed.lane is None:
            return self._lane(road, parsed.number, min(confidence, 0.85))
        return self._between(road, parsed)

    def _lane(self, road: _Road, lane: int, confidence: float) -> Geocoded:
        houses = list(road.lanes[lane].values())
        areas = {self._area_of(h) for h in houses}
        grids = {h.parent for h in houses}
        if len(areas) != 1 or None in areas:
            return Geocoded(None, self._candidates(houses), f"{road.name}{lane}弄跨多个居民区")
        xs = [self._shapes[h.code].centroid for h in houses]
        point = Point(round(sum(c.x for c in xs) / len(xs), 6), round(sum(c.y for c in xs) / len(xs), 6))
        (area,) = areas
        grid = next(iter(grids)) if len(grids) == 1 else None
        first = min(houses, key=lambda h: h.code)
        return Geocoded(
            Located(Location(point, None, area, grid, None), round(confidence, 2), (), "lane", first.code)
        )

    def _between(self, road: _Road, parsed: ParsedAddress) -> Geocoded:
        """A door number not in the data: between its known neighbours on the same side, if both are in one
        area and close; else unresolved."""
        assert parsed.number is not None
        number = parsed.number
        side = road.sides.get(number % 2, [])
        below = [e for e in side if e[0] < number]
        above = [e for e in side if e[0] > number]
        near = below[-1:] + above[:1]
        candidates = self._candidates([self._by_code[e[4]] for e in near])
        written = f"{road.name}{number}号"
        if not below or not above:
            return Geocoded(None, candidates, f"{written}不在本街道的门牌范围内")
        lo, hi = below[-1], above[0]
        if lo[1] != hi[1] or hi[0] - lo[0] > INTERPOLATE_SPAN:
            return Geocoded(None, candidates, f"本街道没有{written}，无法确定所属居民区")
        if parsed.opposite:
            return Geocoded(None, candidates, f"本街道没有{written}，对面无法确定")
        f = (number - lo[0]) / (hi[0] - lo[0])
        point = Point(round(lo[2] + f * (hi[2] - lo[2]), 6), round(lo[3] + f * (hi[3] - lo[3]), 6))
        at = self.locate_point(point)
        grid = at.location.grid if at is not None and at.location.area == lo[1] else None
        located = Located(Location(point, None, lo[1], grid, None), 0.6, (lo[4], hi[4]), "road_number", None)
        return Geocoded(located, candidates)

    def _crossing(self, parsed: ParsedAddress) -> Geocoded:
        assert parsed.crossing is not None
        roads = [self._road(r) for r in parsed.crossing]
        if roads[0] is None or roads[1] is None:
            missing = "、".join(r for r, f in zip(parsed.crossing, roads, strict=True) if f is None)
            return Geocoded(None, reason=f"本街道没有「{missing}」")
        (a, lost_a), (b, lost_b) = roads[0], roads[1]
        line_a, line_b = self._roads[a].line, self._roads[b].line
        if a == b or line_a is None or line_b is None:
            return Geocoded(None, reason=f"{a}与{b}不相交")
        meet = line_a.intersection(line_b)
        if meet.is_empty or meet.geom_type != "Point":
            return Geocoded(None, reason=f"{a}与{b}在本街道内不相交")
        reach = CROSSING_REACH_M / _METRES_PER_DEGREE
        touching = [
            self._areas[int(i)][1]
            for i in (
                self._area_tree.query(meet.buffer(reach), predicate="intersects") if self._area_tree else []
            )
        ]
        touching.sort(key=lambda p: p.code)
        point = Point(round(meet.x, 6), round(meet.y, 6))
        if len(touching) != 1 or parsed.opposite:
            candidates = tuple(Candidate(p.code, p.name, p.kind.value, p.code, 0.5) for p in touching)
            return Geocoded(None, candidates, f"{a}与{b}路口位于{len(touching)}个居民区交界处，请人工确认")
        area = touching[0]
        grids = [
            self._grids[int(i)][1]
            for i in (
                self._grid_tree.query(meet.buffer(reach), predicate="intersects") if self._grid_tree else []
            )
        ]
        grid = grids[0].code if len(grids) == 1 else None
        confidence = round(0.8 - max(lost_a, lost_b), 2)
        return Geocoded(
            Located(Location(point, None, area.code, grid, None), confidence, (), "crossing", None)
        )

    def _named(self, places: Sequence[Place], parsed: ParsedAddress, confidence: float) -> Geocoded:
        areas = {self._area_of(p) for p in places}
        if len(places) > 1 and (len(areas) != 1 or None in areas):
            return Geocoded(None, self._candidates(places), "名称对应多个地点，请人工确认")
        place = min(places, key=lambda p: (p.kind is not PlaceKind.POI, p.code))
        return self._at_place(place, confidence, _matched(place), parsed)

    def _fuzzy_name(self, parsed: ParsedAddress, penalty: float) -> Geocoded:
        assert parsed.name is not None
        text = parsed.name
        scored: dict[str, float] = {}
        for query, choices in ((_pinyin(text), self._name_pinyin), (text, self._name_keys)):
            for _, score, index in process.extract(
                query, choices, scorer=fuzz.ratio, limit=8, score_cutoff=50
            ):
                key = self._name_keys[index]
                scored[key] = max(scored.get(key, 0.0), float(score))
        ranked = sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))
        candidates: list[Place] = []
        for key, _ in ranked:
            candidates += [p for p in self._names[key] if p not in candidates]
        if not ranked or ranked[0][1] < NAME_SCORE:
            return Geocoded(None, self._candidates(candidates[:5], ranked), f"未找到「{text}」")
        best_key, best = ranked[0]
        best_places = self._names[best_key]
        best_areas = {self._area_of(p) for p in best_places}
        rivals = [
            k
            for k, s in ranked[1:]
            if s >= best - 5 and {self._area_of(p) for p in self._names[k]} != best_areas
        ]
        if rivals:
            return Geocoded(None, self._candidates(candidates[:5], ranked), f"「{text}」可能指多个地点")
        return self._named(best_places, parsed, min(0.85, best / 100 - 0.1) - penalty)

    def _at_place(
        self, place: Place, confidence: float, matched: str, parsed: ParsedAddress | None = None
    ) -> Geocoded:
        """A located building, POI, area or grid; across the road from it for '对面'."""
        building = place if place.kind is PlaceKind.BUILDING else self.place(str(place.props.get("building")))
        if parsed is not None and parsed.opposite:
            return self._opposite(place, building)
        if place.kind in (PlaceKind.AREA, PlaceKind.GRID):
            centre = self._shapes[place.code].representative_point()
            point = Point(round(centre.x, 6), round(centre.y, 6))
            area = place.code if place.kind is PlaceKind.AREA else place.parent
            grid = place.code if place.kind is PlaceKind.GRID else None
            loc = Location(point, None, area, grid, None)
            return Geocoded(Located(loc, round(min(confidence, 0.8), 2), (), place.kind.value, place.code))
        centre = self._shapes[place.code].centroid
        point = Point(round(centre.x, 6), round(centre.y, 6))
        area = self._area_of(building or place)
        if area is None:
            return Geocoded(None, self._candidates([place]), f"「{place.name}」不在本街道的居民区内")
        grid = building.parent if building is not None else None
        if grid is None:
            at = self.locate_point(point)
            grid = at.location.grid if at is not None and at.location.area == area else None
        loc = Location(point, None, area, grid, building.code if building else None)
        return Geocoded(Located(loc, round(confidence, 2), (), matched, place.code))

    def _opposite(self, place: Place, building: Place | None) -> Geocoded:
        """Across the road: the place's centre mirrored through the nearest point of its road."""
        road_name = (building or place).props.get("road")
        if not isinstance(road_name, str):
            parsed = parse_address(str((building or place).props.get("address") or ""))
            road_name = parsed.road
        road = self._roads.get(road_name or "")
        if road is None or road.line is None:
            return Geocoded(None, self._candidates([place]), f"无法确定「{place.name}」对面是哪里")
        centre = self._shapes[place.code].centroid
        on_road = road.line.interpolate(road.line.project(centre))
        mirrored = Point(round(2 * on_road.x - centre.x, 6), round(2 * on_road.y - centre.y, 6))
        found = self.locate_point(mirrored)
        if found is None:
            return Geocoded(None, self._candidates([place]), f"「{place.name}」对面不在本街道")
        loc = found.location
        return Geocoded(Located(loc, 0.7, (place.code,), "opposite", loc.building or loc.grid or loc.area))

    def _candidates(
        self, places: Sequence[Place], scores: Sequence[tuple[str, float]] = ()
    ) -> tuple[Candidate, ...]:
        by_key = dict(scores)
        out: list[Candidate] = []
        for place in places:
            score = max((s for k, s in by_key.items() if place in self._names.get(k, ())), default=50.0)
            out.append(Candidate(place.code, place.name, place.kind.value, self._area_of(place), score / 100))
        return tuple(out)

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


def _matched(place: Place) -> str:
    return "building" if place.kind is PlaceKind.BUILDING else place.kind.value


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

    def __call__(self, street: str) -> ShapelyGazetteer:
        with self._lock:
            gazetteer = self._cache.get(street)
            if gazetteer is None:
                gazetteer = self._cache[street] = ShapelyGazetteer(self._load(street))
            return gazetteer

    def invalidate(self, street: str) -> None:
        with self._lock:
            self._cache.pop(street, None)

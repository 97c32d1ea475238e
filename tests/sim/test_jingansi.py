"""The demo street 静安寺街道: its places, people, A/B pairs and roster keep their invariants."""

from __future__ import annotations

import csv
import itertools
import json
import math
import pathlib
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import pytest

from chengyun.domain.dispatch import walk_metres
from chengyun.domain.geo import Point
from chengyun.domain.twin import centre
from chengyun.sim import jingansi

Ring = list[tuple[float, float]]

START = date(2026, 1, 5)  # a Monday
CST = timezone(timedelta(hours=8))
POSTS = {"hotline_handler", "area_manager", "duty_officer", "director", "patrol_observer", "chief_responder"}
PARENT_KIND = {
    "street": None,
    "area": "street",
    "grid": "area",
    "building": "grid",
    "historic_zone": "street",
    "road": "street",
    "poi": "area",
}


# --- helpers -----------------------------------------------------------------------------------------


def ring_of(feature: dict[str, Any]) -> Ring:
    coordinates = feature["geometry"]["coordinates"][0]
    return [(float(x), float(y)) for x, y in coordinates[:-1]]


def inside(point: tuple[float, float], ring: Ring) -> bool:
    """Ray casting: count crossings of a ray going east from the point."""
    x, y = point
    crossings = 0
    for k in range(len(ring)):
        (x1, y1), (x2, y2) = ring[k], ring[(k + 1) % len(ring)]
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            crossings += 1
    return crossings % 2 == 1


def signed_area(ring: Ring) -> float:
    """Shoelace area, taken relative to the first vertex so large longitudes lose no precision."""
    x0, y0 = ring[0]
    rel = [(x - x0, y - y0) for x, y in ring]
    return 0.5 * sum(
        rel[k][0] * rel[(k + 1) % len(rel)][1] - rel[(k + 1) % len(rel)][0] * rel[k][1]
        for k in range(len(rel))
    )


def centroid(ring: Ring) -> tuple[float, float]:
    x0, y0 = ring[0]
    rel = [(x - x0, y - y0) for x, y in ring]
    a = signed_area(ring)
    cx = cy = 0.0
    for k in range(len(rel)):
        (x1, y1), (x2, y2) = rel[k], rel[(k + 1) % len(rel)]
        cross = x1 * y2 - x2 * y1
        cx += (x1 + x2) * cross
        cy += (y1 + y2) * cross
    return x0 + cx / (6 * a), y0 + cy / (6 * a)


def pulled_in(ring: Ring, share: float = 0.01) -> Ring:
    """The ring's vertices moved a little towards its centroid, so they are strictly inside."""
    cx, cy = centroid(ring)
    return [(x + (cx - x) * share, y + (cy - y) * share) for x, y in ring]


def metres(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    lat = math.radians((a[1] + b[1]) / 2)
    return (b[0] - a[0]) * 111_320.0 * math.cos(lat), (b[1] - a[1]) * 110_574.0


def distance_to_line(point: tuple[float, float], line: list[tuple[float, float]]) -> float:
    best = math.inf
    for a, b in itertools.pairwise(line):
        ax, ay = metres(point, a)
        bx, by = metres(point, b)
        dx, dy = bx - ax, by - ay
        f = max(0.0, min(1.0, -(ax * dx + ay * dy) / (dx * dx + dy * dy)))
        best = min(best, math.hypot(ax + f * dx, ay + f * dy))
    return best


def lattice(ring: Ring, n: int = 120) -> list[tuple[float, float]]:
    """A fixed lattice of sample points over the ring's bounding box (offset so none sits on an edge)."""
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    return [
        (x0 + (x1 - x0) * (i + 0.5137) / n, y0 + (y1 - y0) * (j + 0.4711) / n)
        for i in range(n)
        for j in range(n)
    ]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture(scope="module")
def features() -> list[dict[str, Any]]:
    collection = jingansi.places()
    assert collection["type"] == "FeatureCollection"
    return list(collection["features"])


@pytest.fixture(scope="module")
def by_code(features: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f["properties"]["code"]: f for f in features}


def of_kind(features: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [f for f in features if f["properties"]["kind"] == kind]


@pytest.fixture(scope="module")
def week() -> list[dict[str, str]]:
    return jingansi.roster(START, 7)


# --- places ----------------------------------------------------------------------------------------------


def test_codes_are_unique_ascii_and_every_feature_has_kind_code_name_parent(
    features: list[dict[str, Any]],
) -> None:
    codes = [f["properties"]["code"] for f in features]
    assert len(codes) == len(set(codes))
    for f in features:
        props = f["properties"]
        assert props["kind"] in PARENT_KIND
        assert props["code"].isascii() and props["code"].startswith("JAS")
        assert isinstance(props["name"], str) and props["name"]
        assert "parent" in props


def test_every_parent_exists_and_has_the_right_kind(
    features: list[dict[str, Any]], by_code: dict[str, dict[str, Any]]
) -> None:
    for f in features:
        props = f["properties"]
        wanted = PARENT_KIND[props["kind"]]
        if wanted is None:
            assert props["parent"] is None
        else:
            assert props["parent"] in by_code, props["code"]
            assert by_code[props["parent"]]["properties"]["kind"] == wanted, props["code"]


def test_the_street_is_one_polygon_with_twelve_areas_of_two_to_four_grids(
    features: list[dict[str, Any]],
) -> None:
    streets = of_kind(features, "street")
    assert len(streets) == 1
    street = streets[0]["properties"]
    assert (street["code"], street["name"], street["district"]) == ("JAS", "静安寺街道", "静安区")
    areas = of_kind(features, "area")
    assert len(areas) == 12
    grids_per_area = Counter(g["properties"]["parent"] for g in of_kind(features, "grid"))
    assert set(grids_per_area) == {a["properties"]["code"] for a in areas}
    assert all(2 <= n <= 4 for n in grids_per_area.values())
    committees = {a["properties"]["committee"] for a in areas}
    assert "嘉园居委会" in committees and len(committees) == 12
    for grid in of_kind(features, "grid"):
        area_name = next(a for a in areas if a["properties"]["code"] == grid["properties"]["parent"])
        assert grid["properties"]["name"].startswith(area_name["properties"]["name"] + "第")


def test_the_street_lies_near_jingan_temple(features: list[dict[str, Any]]) -> None:
    ring = ring_of(of_kind(features, "street")[0])
    for lon, lat in ring:
        assert 121.436 <= lon <= 121.453
        assert 31.217 <= lat <= 31.233


def test_polygons_are_closed_counter_clockwise_and_rounded(features: list[dict[str, Any]]) -> None:
    for f in features:
        geometry = f["geometry"]
        positions = (
            [geometry["coordinates"]]
            if geometry["type"] == "Point"
            else geometry["coordinates"]
            if geometry["type"] == "LineString"
            else geometry["coordinates"][0]
        )
        for lon, lat in positions:
            assert round(lon, 6) == lon and round(lat, 6) == lat
        if geometry["type"] == "Polygon":
            outer = geometry["coordinates"][0]
            assert len(outer) >= 4 and outer[0] == outer[-1]
            assert signed_area(ring_of(f)) > 0, f["properties"]["code"]


def test_every_building_lies_inside_its_grid(
    features: list[dict[str, Any]], by_code: dict[str, dict[str, Any]]
) -> None:
    for b in of_kind(features, "building"):
        grid = ring_of(by_code[b["properties"]["parent"]])
        footprint = ring_of(b)
        assert inside(centroid(footprint), grid), b["properties"]["code"]
        assert all(inside(p, grid) for p in footprint), b["properties"]["code"]
        assert by_code[b["properties"]["parent"]]["properties"]["parent"] == b["properties"]["area"]


def test_every_grid_lies_inside_its_area_and_every_area_inside_the_street(
    features: list[dict[str, Any]], by_code: dict[str, dict[str, Any]]
) -> None:
    for f in of_kind(features, "grid") + of_kind(features, "area"):
        parent = ring_of(by_code[f["properties"]["parent"]])
        ring = ring_of(f)
        assert inside(centroid(ring), parent)
        assert all(inside(p, parent) for p in pulled_in(ring)), f["properties"]["code"]


def test_areas_tile_the_street_and_grids_tile_their_area(features: list[dict[str, Any]]) -> None:
    street = ring_of(of_kind(features, "street")[0])
    areas = {a["properties"]["code"]: ring_of(a) for a in of_kind(features, "area")}
    grids: dict[str, list[Ring]] = defaultdict(list)
    for g in of_kind(features, "grid"):
        grids[g["properties"]["parent"]].append(ring_of(g))
    assert sum(signed_area(r) for r in areas.values()) == pytest.approx(signed_area(street), rel=1e-4)
    for code, ring in areas.items():
        assert sum(signed_area(g) for g in grids[code]) == pytest.approx(signed_area(ring), rel=1e-4)
    for p in lattice(street, 80):
        holders = [code for code, ring in areas.items() if inside(p, ring)]
        assert len(holders) == (1 if inside(p, street) else 0)
        if holders:
            assert sum(inside(p, g) for g in grids[holders[0]]) == 1


def test_historic_zones_cover_80_to_90_percent_of_the_street(features: list[dict[str, Any]]) -> None:
    street = ring_of(of_kind(features, "street")[0])
    zones = [ring_of(z) for z in of_kind(features, "historic_zone")]
    assert 1 <= len(zones) <= 3
    samples = [p for p in lattice(street) if inside(p, street)]
    historic = sum(any(inside(p, z) for z in zones) for p in samples)
    assert 0.80 <= historic / len(samples) <= 0.90


def test_a_building_is_historic_exactly_when_it_stands_in_a_historic_zone(
    features: list[dict[str, Any]],
) -> None:
    zones = [ring_of(z) for z in of_kind(features, "historic_zone")]
    buildings = of_kind(features, "building")
    for b in buildings:
        assert b["properties"]["historic"] is any(inside(centroid(ring_of(b)), z) for z in zones)
    share = sum(b["properties"]["historic"] for b in buildings) / len(buildings)
    assert 0.75 <= share <= 0.95


def test_buildings_are_realistic_in_number_use_and_floors(features: list[dict[str, Any]]) -> None:
    buildings = [b["properties"] for b in of_kind(features, "building")]
    assert 400 <= len(buildings) <= 600
    uses = Counter(b["use"] for b in buildings)
    assert set(uses) <= {"residential", "office", "commercial", "mixed", "school", "public"}
    assert uses.most_common(1)[0][0] == "residential"
    assert all(isinstance(b["floors"], int) and 1 <= b["floors"] <= 80 for b in buildings)
    for props in buildings:
        assert props["code"].startswith(props["parent"] + "-B")


def test_building_addresses_are_unique_and_spelled_from_road_lane_and_number(
    features: list[dict[str, Any]],
) -> None:
    buildings = [b["properties"] for b in of_kind(features, "building")]
    assert len({b["address"] for b in buildings}) == len(buildings)
    for b in buildings:
        if b["lane"] is None:
            assert b["house"] is None
            assert b["address"] == f"{b['road']}{b['number']}号"
        else:
            assert b["lane"] == b["number"]
            assert b["address"] == f"{b['road']}{b['lane']}弄{b['house']}号"
        assert b["number"].isdigit()


def test_every_building_is_addressed_on_a_road_within_120_metres(features: list[dict[str, Any]]) -> None:
    roads: dict[str, list[tuple[float, float]]] = {
        r["properties"]["name"]: [(p[0], p[1]) for p in r["geometry"]["coordinates"]]
        for r in of_kind(features, "road")
    }
    for b in of_kind(features, "building"):
        road = b["properties"]["road"]
        assert road in roads
        assert distance_to_line(centroid(ring_of(b)), roads[road]) <= 120, b["properties"]["address"]


def test_the_main_roads_of_the_street_are_there(features: list[dict[str, Any]]) -> None:
    names = {r["properties"]["name"] for r in of_kind(features, "road")}
    assert {
        "南京西路",
        "愚园路",
        "华山路",
        "常德路",
        "延安中路",
        "万航渡路",
        "乌鲁木齐北路",
        "北京西路",
    } <= names
    for r in of_kind(features, "road"):
        assert r["geometry"]["type"] == "LineString" and len(r["geometry"]["coordinates"]) >= 2


def test_the_courtyard_of_yuyuan_road_608_lane_6_exists(
    features: list[dict[str, Any]], by_code: dict[str, dict[str, Any]]
) -> None:
    found = [b for b in of_kind(features, "building") if b["properties"]["address"] == "愚园路608弄6号"]
    assert len(found) == 1
    props = found[0]["properties"]
    assert (props["road"], props["number"], props["lane"], props["house"]) == ("愚园路", "608", "608", "6")
    assert props["use"] == "residential" and props["historic"] is True
    assert by_code[props["area"]]["properties"]["committee"] == "嘉园居委会"


def test_points_of_interest_lie_in_their_area_and_name_real_buildings(
    features: list[dict[str, Any]], by_code: dict[str, dict[str, Any]]
) -> None:
    pois = of_kind(features, "poi")
    assert 25 <= len(pois) <= 40
    kinds = Counter(p["properties"]["poi_kind"] for p in pois)
    assert set(kinds) == {"mall", "office_tower", "school", "temple", "park", "hospital", "market", "metro"}
    names = {p["properties"]["name"] for p in pois}
    assert {
        "静安寺",
        "久光百货",
        "静安嘉里中心",
        "芮欧百货",
        "晶品购物中心",
        "越洋广场",
        "静安公园",
        "静安寺站",
    } <= names
    for p in pois:
        props = p["properties"]
        point = (p["geometry"]["coordinates"][0], p["geometry"]["coordinates"][1])
        assert p["geometry"]["type"] == "Point"
        assert inside(point, ring_of(by_code[props["parent"]])), props["name"]
        assert props["address"]
        if props["building"] is not None:
            building = by_code[props["building"]]
            assert building["properties"]["kind"] == "building"
            assert building["properties"]["area"] == props["parent"]
            assert inside(point, ring_of(building))


# --- people ----------------------------------------------------------------------------------------------


def test_departments_are_the_three_merged_offices_and_the_outside_units() -> None:
    rows = jingansi.departments()
    kinds = {r["code"]: r["kind"] for r in rows}
    assert {k for k, v in kinds.items() if v == "internal"} == {"chengyun", "fangban", "shirong"}
    assert {k for k, v in kinds.items() if v == "external"} == {
        "police",
        "market_reg",
        "chengguan",
        "property",
        "greening",
        "water",
        "gas",
        "power",
    }
    assert all(list(r) == ["code", "name", "kind"] and r["name"] for r in rows)


def test_staff_fill_every_post_with_fake_but_valid_details() -> None:
    rows = jingansi.staff()
    assert 45 <= len(rows) <= 60
    assert [r["id"] for r in rows] == [f"S{n:03d}" for n in range(1, len(rows) + 1)]
    assert len({r["name"] for r in rows}) == len(rows)
    assert len({r["phone"] for r in rows}) == len(rows)
    departments = {d["code"] for d in jingansi.departments() if d["kind"] == "internal"}
    holders: Counter[str] = Counter()
    for r in rows:
        assert list(r) == ["id", "name", "phone", "department", "posts", "street"]
        assert r["phone"].startswith("139") and len(r["phone"]) == 11 and r["phone"].isdigit()
        assert r["department"] in departments and r["street"] == "JAS"
        posts = r["posts"].split("|")
        assert set(posts) <= POSTS and len(posts) == len(set(posts))
        holders.update(posts)
    assert [r["name"] for r in rows if "director" in r["posts"].split("|")] == ["张燕芬"]
    assert 4 <= holders["duty_officer"] <= 6
    assert 4 <= holders["patrol_observer"] <= 6
    assert 3 <= holders["chief_responder"] - len(jingansi.night_team()) <= 4
    assert holders["area_manager"] >= 12 and holders["hotline_handler"] >= 12
    assert sum(len(r["posts"].split("|")) > 1 for r in rows) >= 12


def test_each_area_has_an_ab_pair_whose_partners_hold_both_posts(features: list[dict[str, Any]]) -> None:
    pairs = jingansi.ab_pairs()
    areas = {a["properties"]["code"] for a in of_kind(features, "area")}
    assert sorted(p["area"] for p in pairs) == sorted(areas)
    people = {r["id"]: set(r["posts"].split("|")) for r in jingansi.staff()}
    partners = [p["a_staff"] for p in pairs] + [p["b_staff"] for p in pairs]
    assert len(partners) == len(set(partners))
    for p in pairs:
        assert list(p) == ["area", "a_staff", "b_staff", "swap_every_days", "anchor_date"]
        for who in (p["a_staff"], p["b_staff"]):
            assert {"area_manager", "hotline_handler"} <= people[who]
        assert int(p["swap_every_days"]) > 0
        assert date.fromisoformat(p["anchor_date"]).weekday() == 0


def test_the_seeds_jiayuan_pair_is_xiao_li_and_xiao_lu(features: list[dict[str, Any]]) -> None:
    jiayuan = next(a for a in of_kind(features, "area") if a["properties"]["committee"] == "嘉园居委会")
    pair = next(p for p in jingansi.ab_pairs() if p["area"] == jiayuan["properties"]["code"])
    names = {r["id"]: r["name"] for r in jingansi.staff()}
    assert names[pair["a_staff"]].startswith("李") and names[pair["b_staff"]].startswith("陆")


# --- roster ----------------------------------------------------------------------------------------------


def on_duty(rows: list[dict[str, str]], moment: datetime, post: str | None = None) -> list[str]:
    return [
        r["staff"]
        for r in rows
        if at(r["start"]) <= moment < at(r["end"]) and (post is None or r["post"] == post)
    ]


def instants(days: int, step_minutes: int = 30) -> list[datetime]:
    first = datetime(START.year, START.month, START.day, tzinfo=CST)
    return [first + timedelta(minutes=step_minutes * k) for k in range(days * 24 * 60 // step_minutes)]


def test_exactly_one_duty_officer_and_at_least_two_hotline_handlers_are_always_on_duty(
    week: list[dict[str, str]],
) -> None:
    for moment in instants(7, 15):
        assert len(on_duty(week, moment, "duty_officer")) == 1, moment
        assert len(on_duty(week, moment, "hotline_handler")) >= 2, moment


def test_every_area_has_its_a_or_b_on_duty_from_7_to_22(week: list[dict[str, str]]) -> None:
    pairs = jingansi.ab_pairs()
    for moment in instants(7, 30):
        if not 7 <= moment.hour < 22:
            continue
        working = set(on_duty(week, moment))
        managing = {
            r["area"]
            for r in week
            if r["post"] == "area_manager"
            and r["staff"] in working
            and at(r["start"]) <= moment < at(r["end"])
        }
        for p in pairs:
            assert {p["a_staff"], p["b_staff"]} & working, (p["area"], moment)
        assert len(managing) >= 6, moment


def test_area_manager_shifts_belong_to_the_areas_a_or_b(week: list[dict[str, str]]) -> None:
    pairs = {p["area"]: {p["a_staff"], p["b_staff"]} for p in jingansi.ab_pairs()}
    night = set(jingansi.night_team())
    for r in week:
        if r["post"] == "area_manager":
            assert r["staff"] in pairs[r["area"]]
        elif r["staff"] in night:  # the night duty team starts from an area office
            assert r["area"] in jingansi.night_posts()
        else:
            assert r["area"] == ""


def test_four_of_the_night_team_are_in_the_field_every_night_each_every_other_night(
    week: list[dict[str, str]],
) -> None:
    night = set(jingansi.night_team())
    assert len(night) == 8
    for day in range(7):
        for hour in (22, 23, 24, 27, 30):  # 22:00, 23:00, 00:00, 03:00, 06:00
            moment = datetime.combine(START, time(0), CST) + timedelta(days=day, hours=hour)
            on = [r for r in week if r["staff"] in night and at(r["start"]) <= moment < at(r["end"])]
            assert len(on) == 4, moment
            assert sorted(r["area"] for r in on) == sorted(jingansi.night_posts())
    nights = Counter(r["staff"] for r in week if r["staff"] in night)
    assert set(nights) == night and max(nights.values()) <= 4


def test_the_night_posts_leave_no_corner_of_the_street_far_from_one_of_them(
    features: list[dict[str, Any]],
) -> None:
    offices = {
        a["properties"]["code"]: centre(a["geometry"])
        for a in of_kind(features, "area")
        if a["properties"]["code"] in jingansi.night_posts()
    }
    assert len(offices) == 4
    street = next(f for f in features if f["properties"]["kind"] == "street")
    corners = street["geometry"]["coordinates"][0]
    for lon, lat in corners:
        walk = min(walk_metres(Point(lon, lat), office) for office in offices.values())
        assert walk < 1000  # under a quarter of an hour on foot, setting off included


def test_the_a_role_swaps_every_fourteen_days() -> None:
    pair = jingansi.ab_pairs()[0]
    first = [r for r in jingansi.roster(START, 1) if r["area"] == pair["area"]]
    later = [r for r in jingansi.roster(START + timedelta(days=14), 1) if r["area"] == pair["area"]]
    assert [r["staff"] for r in first] == [pair["a_staff"]]
    assert [r["staff"] for r in later] == [pair["b_staff"]]


def test_everyone_on_the_roster_holds_the_post_and_works_one_shift_at_a_time(
    week: list[dict[str, str]],
) -> None:
    posts = {r["id"]: set(r["posts"].split("|")) for r in jingansi.staff()}
    shifts: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for r in week:
        assert list(r) == ["staff", "post", "start", "end", "area"]
        assert r["post"] in posts[r["staff"]]
        shifts[r["staff"]].append((at(r["start"]), at(r["end"])))
    for spans in shifts.values():
        spans.sort()
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert end <= start


def test_all_roster_times_are_in_china_standard_time(week: list[dict[str, str]]) -> None:
    for r in week:
        for text in (r["start"], r["end"]):
            assert text.endswith("+08:00")
            assert at(text).utcoffset() == timedelta(hours=8)
        assert at(r["start"]) < at(r["end"])
        assert at(r["start"]).date() >= START and at(r["start"]).date() < START + timedelta(days=7)


def test_the_director_works_weekdays_nine_to_six(week: list[dict[str, str]]) -> None:
    director = [r for r in week if r["post"] == "director"]
    assert len(director) == 5
    assert all(
        r["start"].endswith("T09:00:00+08:00") and r["end"].endswith("T18:00:00+08:00") for r in director
    )


def test_patrol_observers_cover_day_and_evening(week: list[dict[str, str]]) -> None:
    for moment in instants(7, 30):
        if 8 <= moment.hour < 22:
            assert on_duty(week, moment, "patrol_observer"), moment


# --- determinism and files -------------------------------------------------------------------------------


def test_outputs_are_deterministic_and_windows_agree() -> None:
    assert jingansi.places() == jingansi.places()
    assert jingansi.staff() == jingansi.staff()
    assert jingansi.ab_pairs() == jingansi.ab_pairs()
    assert jingansi.roster(START, 7) == jingansi.roster(START, 7)
    whole = jingansi.roster(START, 7)
    third = START + timedelta(days=3)
    assert [r for r in whole if r["start"].startswith(third.isoformat())] == jingansi.roster(third, 1)


def test_places_returns_a_fresh_copy() -> None:
    first = jingansi.places()
    first["features"].clear()
    assert jingansi.places()["features"]


def test_write_all_writes_files_that_round_trip(tmp_path: pathlib.Path) -> None:
    out = tmp_path / "street"
    jingansi.write_all(out, START, 3)
    assert json.loads((out / "places.geojson").read_text(encoding="utf-8")) == jingansi.places()
    expected = {
        "departments.csv": jingansi.departments(),
        "staff.csv": jingansi.staff(),
        "ab_pairs.csv": jingansi.ab_pairs(),
        "roster.csv": jingansi.roster(START, 3),
    }
    for name, rows in expected.items():
        with (out / name).open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            assert reader.fieldnames == list(rows[0])
            assert list(reader) == rows

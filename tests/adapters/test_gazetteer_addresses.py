"""Address resolution on the demo street 静安寺街道: the right area, or unresolved, never a wrong one."""

from __future__ import annotations

import pytest

from chengyun.adapters.coords import from_wgs84, to_wgs84
from chengyun.adapters.gazetteer import ShapelyGazetteer
from chengyun.domain.geo import Point
from chengyun.domain.places import places_from_geojson
from chengyun.sim import jingansi

COURTYARD = "JAS-A01-G3-B009"  # 愚园路608弄6号, 嘉园居民区
JIUGUANG = "JAS-A07-G4-B011"  # 南京西路1618号, 久光百货, 静安寺居民区


@pytest.fixture(scope="module")
def gazetteer() -> ShapelyGazetteer:
    return ShapelyGazetteer(places_from_geojson(jingansi.places(), jingansi.STREET_CODE))


@pytest.mark.parametrize(
    ("address", "building", "matched"),
    [
        ("愚园路608弄6号", COURTYARD, "building"),
        ("愚园路６０８弄６号", COURTYARD, "building"),
        ("愚园路六百零八弄六号", COURTYARD, "building"),
        ("愚园路六零八弄六号", COURTYARD, "building"),
        ("愚园608弄6号", COURTYARD, "building"),  # no 路
        ("愚圆路608弄6号", COURTYARD, "building"),  # a homophone slip
        ("上海市静安区愚园路608弄6号302室", COURTYARD, "building"),
        ("愚园路608弄6#楼", COURTYARD, "building"),
        ("南京西路1618号门口", JIUGUANG, "building"),
        ("南京西路1618号附近", JIUGUANG, "building"),
        ("久光百货", JIUGUANG, "poi"),
        ("久光", JIUGUANG, "poi"),  # an alias
        ("九光百货", JIUGUANG, "poi"),  # a homophone slip
        ("久光百货门口", JIUGUANG, "poi"),
    ],
)
def test_an_address_in_many_styles_finds_its_building(
    gazetteer: ShapelyGazetteer, address: str, building: str, matched: str
) -> None:
    found = gazetteer.locate_address(address)
    assert found is not None, gazetteer.geocode(address).reason
    assert found.location.building == building
    assert found.location.area == building[:7]
    assert found.location.grid == building[:10]
    assert found.matched == matched
    assert found.location.address == address
    assert 0.8 <= found.confidence <= 1.0


def test_the_exact_address_is_certain_and_a_reading_costs_confidence(gazetteer: ShapelyGazetteer) -> None:
    exact = gazetteer.locate_address("愚园路608弄6号")
    slip = gazetteer.locate_address("愚圆路608弄6号")
    assert exact is not None and slip is not None
    assert exact.confidence == 1.0 and slip.confidence < exact.confidence


def test_landmarks_and_their_other_names(gazetteer: ShapelyGazetteer) -> None:
    for name, area in [
        ("静安寺", "JAS-A07"),
        ("静安寺地铁站", "JAS-A06"),
        ("市西中学", "JAS-A02"),
        ("静安区中心医院", "JAS-A12"),
        ("静安公园", "JAS-A11"),
        ("芮欧百货", "JAS-A11"),
        ("嘉园居委会", "JAS-A01"),
    ]:
        found = gazetteer.locate_address(name)
        assert found is not None and found.location.area == area, name


def test_a_lane_without_its_house_is_the_lane(gazetteer: ShapelyGazetteer) -> None:
    found = gazetteer.locate_address("愚园路608弄")
    assert found is not None
    assert (found.matched, found.location.area, found.location.grid) == ("lane", "JAS-A01", "JAS-A01-G3")
    assert found.location.building is None and found.confidence < 0.9
    # A lane number written as a door number is the same lane.
    as_door = gazetteer.locate_address("愚园路608号")
    assert as_door is not None and as_door.location.area == "JAS-A01"


def test_a_door_number_between_known_ones_of_one_area_is_placed_between_them(
    gazetteer: ShapelyGazetteer,
) -> None:
    found = gazetteer.locate_address("常德路150号")  # between 142 and 160, both in 景华居民区
    assert found is not None
    assert (found.matched, found.location.area, found.location.building) == ("road_number", "JAS-A11", None)
    assert found.confidence == 0.6
    # Between numbers of two areas, or past the street's last number: unresolved, with the neighbours.
    across = gazetteer.geocode("常德路200号")
    assert across.found is None and {c.area for c in across.candidates} == {"JAS-A11", "JAS-A07"}
    assert gazetteer.locate_address("愚园路1200号") is None


def test_a_crossing_inside_one_area_is_that_area(gazetteer: ShapelyGazetteer) -> None:
    found = gazetteer.locate_address("富民路近万航渡路")
    assert found is not None and (found.matched, found.location.area) == ("crossing", "JAS-A07")


@pytest.mark.parametrize("address", ["常德路近南京西路", "南京西路华山路口", "常德路与南京西路交叉口"])
def test_a_crossing_where_areas_meet_is_flagged_with_every_area_as_a_candidate(
    gazetteer: ShapelyGazetteer, address: str
) -> None:
    answer = gazetteer.geocode(address)
    assert answer.found is None
    assert len({c.area for c in answer.candidates}) >= 2
    assert "交界" in answer.reason


def test_across_the_road_is_the_area_on_the_other_side(gazetteer: ShapelyGazetteer) -> None:
    # 久光百货 is on the south side of 南京西路 in 静安寺居民区; across it is 景华居民区.
    found = gazetteer.locate_address("南京西路1618号对面")
    assert found is not None and (found.matched, found.location.area) == ("opposite", "JAS-A11")


@pytest.mark.parametrize(
    "address",
    [
        "南京东路100号",  # another road, one direction character away
        "常熟路470号",  # a real road one character from 常德路, not a homophone
        "长宁路100号",
        "乌鲁木齐中路100号",
        "南京西路88号",  # a real address of 南京西路, far outside this street
        "静安雕塑公园",  # a real park elsewhere, close to the name 静安公园
        "静安别墅",
        "静安寺路100号",
        "徐汇区华山路1954号",
        "人民广场",
        "火星路1号",
        "608弄6号",  # no road
        "   ",
    ],
)
def test_what_is_not_in_the_street_is_unresolved(gazetteer: ShapelyGazetteer, address: str) -> None:
    assert gazetteer.locate_address(address) is None
    assert gazetteer.geocode(address).reason


def test_an_unresolved_name_offers_candidates(gazetteer: ShapelyGazetteer) -> None:
    answer = gazetteer.geocode("静安雕塑公园")
    assert answer.found is None
    assert "JAS-P23" in [c.code for c in answer.candidates]  # 静安公园, for the handler to confirm


def test_a_gcj02_point_of_a_building_lands_in_its_area(gazetteer: ShapelyGazetteer) -> None:
    building = gazetteer.place(COURTYARD)
    assert building is not None
    found = gazetteer.locate_address("愚园路608弄6号")
    assert found is not None and found.location.point is not None
    lat, lon = from_wgs84(found.location.point, "gcj02")
    wrong = gazetteer.locate_point(Point(lon, lat))  # the GCJ-02 point read as WGS-84 is elsewhere
    assert wrong is None or wrong.location.area != "JAS-A01"
    right = gazetteer.locate_point(to_wgs84(lat, lon, "gcj02"))
    assert right is not None and right.location.area == "JAS-A01"
    assert right.location.building == COURTYARD and right.matched == "point"

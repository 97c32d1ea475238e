"""POST /api/v1/geocode on the test street T, and GCJ-02 positions in order creation."""

from __future__ import annotations

from typing import Any

import pytest

from apikit import TILE, Api, assert_error
from chengyun.adapters.coords import from_wgs84
from chengyun.domain.geo import Point

B1 = Point(121.4420, 31.2250)  # 愚园路608弄6号 in A1 (嘉园居民区); A2 begins 280 m east of it


def test_an_address_answers_its_place_area_grid_point_and_confidence(api: Api) -> None:
    response = api.post("/geocode", "desk", json={"address": "愚园路608弄6号门口"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["place"] == {"code": "B1", "name": "608弄6号", "kind": "building"}
    assert body["area"] == {"code": "A1", "name": "嘉园居民区", "kind": None}
    assert body["grid"]["code"] == "A1-G1"
    assert body["building"]["code"] == "B1"
    assert body["point"] == {"lat": 31.225, "lon": 121.442}
    assert body["matched"] == "building"
    assert 0.8 <= body["confidence"] < 1.0  # 门口: near the building, not the building itself


def test_a_typo_and_chinese_numerals_still_find_the_building_with_less_confidence(api: Api) -> None:
    exact = api.post("/geocode", "hotline", json={"address": "南京西路1618号", "street": "T"}).json()
    slip = api.post("/geocode", "hotline", json={"address": "南京西路一六一八号"}).json()
    typo = api.post("/geocode", "hotline", json={"address": "南京西1618号"}).json()
    assert exact["area"]["code"] == slip["area"]["code"] == typo["area"]["code"] == "A2"
    assert exact["confidence"] == 1.0 and typo["confidence"] < exact["confidence"]


@pytest.mark.parametrize("address", ["火星路1号", "南京东路1618号", "南京西路1700号"])
def test_an_unresolvable_address_is_a_422_with_candidates(api: Api, address: str) -> None:
    error = assert_error(api.post("/geocode", "desk", json={"address": address}), 422, "address_unresolved")
    assert address in error["message"]
    assert isinstance(error["details"]["candidates"], list)


def test_the_candidates_name_the_nearest_known_places(api: Api) -> None:
    error = assert_error(
        api.post("/geocode", "desk", json={"address": "南京西路1700号"}), 422, "address_unresolved"
    )
    assert [(c["code"], c["area"]) for c in error["details"]["candidates"]] == [("B2", "A2")]


def test_a_point_resolves_to_area_grid_and_building_in_any_crs(api: Api) -> None:
    plain = api.post("/geocode", "desk", json={"lat": 31.2251, "lon": 121.4471}).json()
    assert (plain["matched"], plain["area"]["code"], plain["grid"]["code"]) == ("point", "A2", "A2-G1")
    assert plain["building"]["code"] == "B2" and plain["place"]["kind"] == "building"

    lat, lon = from_wgs84(B1, "gcj02")
    as_wgs = api.post("/geocode", "desk", json={"lat": lat, "lon": lon}).json()
    assert as_wgs["area"]["code"] == "A2"  # the 高德 point read as WGS-84 lands 450 m away, in A2
    gcj = api.post("/geocode", "desk", json={"lat": lat, "lon": lon, "crs": "gcj02"}).json()
    assert (gcj["area"]["code"], gcj["building"]["code"]) == ("A1", "B1")
    assert abs(gcj["point"]["lat"] - B1.lat) < 1e-5 and abs(gcj["point"]["lon"] - B1.lon) < 1e-5

    bd_lat, bd_lon = from_wgs84(B1, "bd09")
    bd = api.post("/geocode", "desk", json={"lat": bd_lat, "lon": bd_lon, "crs": "bd09"}).json()
    assert bd["area"]["code"] == "A1"


def test_a_point_outside_the_street_is_refused(api: Api) -> None:
    response = api.post("/geocode", "desk", json={"lat": 31.25, "lon": 121.50})
    assert_error(response, 422, "outside_street")


@pytest.mark.parametrize(
    "body",
    [
        {"address": ""},
        {"address": "   "},
        {"address": "愚" * 201},
        {},
        {"lat": 31.225},
        {"address": "愚园路608弄6号", "lat": 31.225, "lon": 121.442},
        {"lat": 31.225, "lon": 121.442, "crs": "epsg3857"},
        {"lat": 91, "lon": 121.442},
        {"address": "愚园路608弄6号", "extra": 1},
    ],
)
def test_bad_bodies_are_422(api: Api, body: dict[str, Any]) -> None:
    response = api.post("/geocode", "desk", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"


def test_anyone_who_reads_or_creates_orders_may_geocode_but_only_in_their_street(api: Api) -> None:
    for who in ("desk", "M1", "sensor", "patrol", "director"):
        assert api.post("/geocode", who, json={"address": "愚园路608弄6号"}).status_code == 200, who
    assert api.post("/geocode", None, json={"address": "愚园路608弄6号"}).status_code == 401
    refused = api.post("/geocode", "outsider", json={"address": "愚园路608弄6号", "street": "T"})
    assert refused.status_code == 403


def test_an_order_with_a_gcj02_position_is_placed_where_it_really_is(api: Api) -> None:
    lat, lon = from_wgs84(B1, "gcj02")
    order = api.create(address=None, position={"lon": lon, "lat": lat}, crs="gcj02")
    assert (order["area"], order["building"]) == ("A1", "B1")
    assert abs(order["position"]["lon"] - B1.lon) < 1e-5 and abs(order["position"]["lat"] - B1.lat) < 1e-5
    assert order["assignee"] == "M1"
    # The same numbers without the crs are taken as WGS-84: another area.
    naive = api.create(address=None, position={"lon": lon, "lat": lat})
    assert naive["area"] == "A2"


def test_an_order_with_an_unknown_crs_is_refused(api: Api) -> None:
    body = dict(TILE, position={"lon": 121.442, "lat": 31.225}, crs="wgs72")
    response = api.post("/orders", "hotline", json=body)
    assert response.status_code == 422

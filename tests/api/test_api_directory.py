"""Places, people and configuration through HTTP: GeoJSON and CSV in and out, the 51530 policies."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from typing import Any

from apikit import TILE, Api, assert_error, outcome
from chengyun.adapters.clock import ManualClock
from street import STAFF

CSV_HEADERS = {"Content-Type": "text/csv; charset=utf-8"}


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def building(code: str, parent: str, lon: float, lat: float, **props: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"kind": "building", "code": code, "name": props.pop("name", code), "parent": parent}
        | props,
    }


# --- places -------------------------------------------------------------------------------------------


def test_places_are_served_as_geojson_and_filtered_by_kind(api: Api) -> None:
    everything = api.get("/places", "patrol").json()
    assert everything["type"] == "FeatureCollection"
    assert sorted(f["id"] for f in everything["features"]) == ["A1", "A1-G1", "A2", "A2-G1", "B1", "B2", "T"]
    areas = api.get("/places", "patrol", params={"kind": "area"}).json()["features"]
    assert [(f["properties"]["code"], f["properties"]["name"]) for f in areas] == [
        ("A1", "嘉园居民区"),
        ("A2", "华山居民区"),
    ]
    assert all(f["geometry"]["type"] == "Polygon" for f in areas)
    assert_error(api.get("/places", params={"kind": "castle"}), 422, "invalid_request")


def test_one_place_is_a_geojson_feature(api: Api) -> None:
    b1 = api.get("/places/B1").json()
    assert b1["type"] == "Feature" and b1["geometry"] == {"type": "Point", "coordinates": [121.442, 31.225]}
    assert (b1["properties"]["address"], b1["properties"]["parent"]) == ("愚园路608弄6号", "A1-G1")
    error = assert_error(api.get("/places/B9"), 404, "not_found")
    assert "B9" in error["message"]


def test_a_bad_feature_collection_is_rejected_whole_with_every_bad_feature_listed(api: Api) -> None:
    collection = {
        "type": "FeatureCollection",
        "features": [
            building("B3", "A1-G1", 121.443, 31.226, name="新楼"),  # good, but must not be stored either
            building("B4", "A9-G1", 121.443, 31.227),  # no such parent
            building("B5", "A1-G1", 200.0, 31.227),  # off the globe
            {
                "type": "Feature",
                "geometry": None,
                "properties": {"kind": "building", "code": "B6", "name": "无"},
            },
            {"type": "Feature", "properties": {"kind": "castle", "code": "C1", "name": "城堡"}},
        ],
    }
    response = api.put("/places", "admin", json=collection)
    error = assert_error(response, 422, "import_rejected")
    assert "未导入" in error["message"]
    bad = {e["code"]: e["reason"] for e in error["details"]["errors"]}
    assert sorted(bad) == ["B4", "B5", "B6", "C1"]
    assert "A9-G1" in bad["B4"] and "坐标" in bad["B5"]
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in reason) for reason in bad.values())
    assert_error(api.get("/places/B3"), 404, "not_found")
    assert len(api.get("/places").json()["features"]) == 7


def test_things_that_are_not_a_feature_collection_are_refused(api: Api) -> None:
    tries = {
        "a list": api.put("/places", "admin", json=[building("B3", "A1-G1", 121.443, 31.226)]),
        "a feature": api.put("/places", "admin", json=building("B3", "A1-G1", 121.443, 31.226)),
        "no features": api.put("/places", "admin", json={"type": "FeatureCollection"}),
        "NUL in a name": api.put(
            "/places",
            "admin",
            json={
                "type": "FeatureCollection",
                "features": [building("B3", "A1-G1", 121.443, 31.226, name="楼\x00")],
            },
        ),
    }
    assert {name: outcome(r) for name, r in tries.items()} == {
        "a list": (422, "invalid_request"),
        "a feature": (422, "import_rejected"),
        "no features": (422, "import_rejected"),
        "NUL in a name": (422, "invalid_request"),
    }
    assert len(api.get("/places").json()["features"]) == 7


def test_a_good_import_is_counted_and_new_addresses_are_found_at_once(api: Api) -> None:
    new = building("B3", "A1-G1", 121.4431, 31.2261, name="愚园路700号", address="愚园路700号", area="A1")
    response = api.put("/places", "duty", json={"type": "FeatureCollection", "features": [new]})
    assert response.status_code == 200, response.text
    assert response.json() == {"imported": 1}
    assert api.get("/places/B3").json()["properties"]["name"] == "愚园路700号"
    order = api.create(address="愚园路700号")
    assert (order["building"], order["area"], order["assignee"]) == ("B3", "A1", "M1")


def test_only_supervisors_may_change_the_street(api: Api) -> None:
    collection = {"type": "FeatureCollection", "features": [building("B3", "A1-G1", 121.443, 31.226)]}
    staff = "id,name,phone,department,posts\nM9,新人,13900000099,chengyun,area_manager\n"
    tries = {
        ("places", who): api.put("/places", who, json=collection)
        for who in ("desk", "M1", "patrol", "hotline")
    }
    tries |= {
        ("staff", who): api.put("/staff", who, content=staff, headers=CSV_HEADERS) for who in ("desk", "M1")
    }
    tries[("ab-pairs", "M1")] = api.put(
        "/ab-pairs", "M1", content="area,a_staff,b_staff\n", headers=CSV_HEADERS
    )
    tries[("roster", "patrol")] = api.post(
        "/roster", "patrol", content="staff,post,start,end\n", headers=CSV_HEADERS
    )
    tries[("departments", "responder")] = api.put(
        "/departments", "responder", content="code,name\nx,某部门\n", headers=CSV_HEADERS
    )
    assert {key: outcome(r) for key, r in tries.items()} == dict.fromkeys(tries, (403, "forbidden"))
    assert_error(api.get("/places/B3"), 404, "not_found")
    assert "M9" not in [s["id"] for s in api.get("/staff").json()]


# --- people -------------------------------------------------------------------------------------------


def test_the_staff_list_and_its_csv_agree(api: Api) -> None:
    people = api.get("/staff", "patrol").json()
    assert len(people) == 10
    m1 = next(p for p in people if p["id"] == "M1")
    assert m1 == {
        "id": "M1",
        "name": "李思远",
        "phone": "13900000001",
        "department": "chengyun",
        "posts": ["area_manager", "hotline_handler"],
        "street": "T",
        "active": True,
    }
    exported = api.get("/staff.csv")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    listed = rows(exported.text)
    assert [r["id"] for r in listed] == [p["id"] for p in people]
    assert next(r for r in listed if r["id"] == "M1") == {
        "id": "M1",
        "name": "李思远",
        "phone": "13900000001",
        "department": "chengyun",
        "posts": "area_manager|hotline_handler",
        "street": "T",
        "active": "true",
    }


def test_a_staff_csv_with_a_bad_row_stores_nothing(api: Api) -> None:
    text = (
        "id,name,phone,department,posts\n"
        "M9,新人甲,13900000099,chengyun,area_manager\n"
        "M10,新人乙,电话,nowhere,wizard\n"
        "M9,重复,13900000098,chengyun,director\n"
    )
    error = assert_error(
        api.put("/staff", "admin", content=text, headers=CSV_HEADERS), 422, "import_rejected"
    )
    problems = {(e["row"], e["field"]) for e in error["details"]["errors"]}
    assert problems == {(3, "phone"), (3, "department"), (3, "posts"), (4, "id")}
    assert sorted(s["id"] for s in api.get("/staff").json()) == sorted(r["id"] for r in rows(STAFF))


def test_a_staff_csv_that_is_not_a_csv_is_refused(api: Api) -> None:
    tries = {
        "missing columns": api.put("/staff", "admin", content="id,name\nM9,新人\n", headers=CSV_HEADERS),
        "not UTF-8": api.put(
            "/staff", "admin", content="id,name\n".encode("gbk") + "新人".encode("gbk"), headers=CSV_HEADERS
        ),
        "NUL": api.put(
            "/staff",
            "admin",
            content="id,name,department,posts\nM9,新\x00人,chengyun,director\n",
            headers=CSV_HEADERS,
        ),
        "empty": api.put("/staff", "admin", content="", headers=CSV_HEADERS),
        "carriage return inside a field": api.put(
            "/staff",
            "admin",
            content="id,name,department,posts\nM9,新\r人,chengyun,director\n",
            headers=CSV_HEADERS,
        ),
    }
    assert {name: outcome(r) for name, r in tries.items()} == {
        "missing columns": (422, "import_rejected"),
        "not UTF-8": (422, "invalid_input"),
        "NUL": (422, "invalid_input"),
        "empty": (422, "import_rejected"),
        "carriage return inside a field": (422, "import_rejected"),
    }
    assert len(api.get("/staff").json()) == 10


def test_a_good_staff_csv_is_imported_and_counted(api: Api) -> None:
    text = (
        "\ufeffid,name,phone,department,posts\n"  # Excel's BOM is fine
        "M9,新人甲,13900000099,chengyun,area_manager\n"
        "P2,新人乙,,shirong,patrol_observer\n"
    )
    response = api.put("/staff", "director", content=text.encode(), headers=CSV_HEADERS)
    assert response.status_code == 200, response.text
    assert response.json() == {"imported": 2}
    people = {s["id"]: s for s in api.get("/staff").json()}
    assert (people["M9"]["name"], people["M9"]["posts"]) == ("新人甲", ["area_manager"])
    assert people["P2"]["department"] == "shirong"
    assert "M9,新人甲" in api.get("/staff.csv").text


def test_ab_pairs_roster_and_who_is_on_duty(api: Api, clock: ManualClock) -> None:
    pairs = rows(api.get("/ab-pairs").text)
    assert [(p["area"], p["a_staff"], p["b_staff"], p["swap_every_days"]) for p in pairs] == [
        ("A1", "M1", "M2", "14"),
        ("A2", "M3", "M4", "14"),
    ]

    roster = rows(api.get("/roster").text)  # from now (09:00) for a week
    assert ("M1", "area_manager", "A1") in [(r["staff"], r["post"], r["area"]) for r in roster]
    m3 = next(r for r in roster if r["staff"] == "M3")
    assert datetime.fromisoformat(m3["start"]) == datetime.fromisoformat("2026-11-25T07:00:00+08:00")
    assert m3["start"].endswith("+08:00")
    evening = rows(api.get("/roster", params={"start": "2026-11-25T16:00:00+08:00"}).text)
    assert "M1" not in [r["staff"] for r in evening]
    assert_error(api.get("/roster", params={"start": "2026-11-25T16:00:00"}), 422, "invalid_input")

    on_duty = api.get("/on-duty").json()
    m1 = next(s for s in on_duty if s["staff"] == "M1")
    assert (m1["name"], m1["post"], m1["post_label"], m1["area"]) == (
        "李思远",
        "area_manager",
        "专管员",
        "A1",
    )
    assert "O2" not in [s["staff"] for s in on_duty]
    clock.advance(hours=4)  # 13:00
    afternoon = {(s["staff"], s["post"]) for s in api.get("/on-duty").json()}
    assert ("M2", "area_manager") in afternoon and ("M1", "area_manager") not in afternoon
    evening_duty = api.get("/on-duty", params={"at": "2026-11-25T17:00:00+08:00"}).json()
    assert [s["staff"] for s in evening_duty if s["post"] == "duty_officer"] == ["O2"]
    assert_error(api.get("/on-duty", params={"at": "2026-11-25T17:00:00"}), 422, "invalid_input")
    assert_error(api.get("/on-duty", params={"at": "9999-12-31T23:59:59-12:00"}), 422, "invalid_request")


def test_a_roster_csv_with_a_bad_row_stores_nothing(api: Api) -> None:
    text = (
        "staff,post,start,end,area\n"
        "M1,area_manager,2026-11-26T07:00:00+08:00,2026-11-26T12:00:00+08:00,A1\n"
        "M1,area_manager,2026-11-26T12:00:00+08:00,tomorrow,A1\n"
    )
    response = api.post("/roster", "admin", content=text, headers=CSV_HEADERS)
    assert_error(response, 422, "import_rejected")
    tomorrow = rows(api.get("/roster", params={"start": "2026-11-26T00:00:00+08:00"}).text)
    assert tomorrow == []
    header, first, _ = text.splitlines()
    good = api.post("/roster", "admin", content=f"{header}\n{first}\n", headers=CSV_HEADERS)
    assert good.json() == {"imported": 1}
    assert len(rows(api.get("/roster", params={"start": "2026-11-26T00:00:00+08:00"}).text)) == 1


# --- configuration ------------------------------------------------------------------------------------


def test_the_category_catalogue_is_served_with_chinese_names(api: Api) -> None:
    catalogue = {c["code"]: c for c in api.get("/categories", "hotline").json()}
    assert (catalogue["200101"]["name"], catalogue["200101"]["colour"]) == ("人行道板", "yellow")
    assert catalogue["200101"]["colour_label"] == "黄色（Ⅲ级）"
    assert catalogue["040101"]["colour"] == "red"
    assert_error(api.get("/categories", "hotline", params={"street": "X"}), 403, "forbidden")


def test_the_deadline_policies_are_51530_by_default(api: Api) -> None:
    policies = api.get("/deadline-policies").json()
    assert [p["code"] for p in policies] == ["51530-red", "51530"]
    default = policies[-1]
    assert [(s["stage"], s["minutes"], s["counted_from"]) for s in default["stages"]] == [
        ("respond", 5, "receipt"),
        ("arrive", 15, "receipt"),
        ("handle", 30, "previous"),
        ("close", 30, "previous"),
    ]
    assert (default["categories"], default["colours"]) == ([], [])


def tighter(policies: list[dict[str, Any]], respond: float) -> list[dict[str, Any]]:
    default = policies[-1]
    stages = [s | {"minutes": respond} if s["stage"] == "respond" else s for s in default["stages"]]
    return [*policies[:-1], default | {"stages": stages, "name": "更紧的默认时限"}]


def test_a_tighter_default_applies_to_new_orders_only(api: Api, clock: ManualClock) -> None:
    before = api.create()
    policies = api.get("/deadline-policies").json()
    response = api.put("/deadline-policies", "duty", json=tighter(policies, 3))
    assert response.status_code == 200, response.text
    assert response.json()[-1]["stages"][0]["minutes"] == 3
    assert api.get("/deadline-policies", "patrol").json() == response.json()

    clock.advance(minutes=1)
    after = api.create()
    due = datetime.fromisoformat(after["clocks"][0]["due_at"]) - datetime.fromisoformat(after["received_at"])
    assert due == timedelta(minutes=3)
    assert api.order(before["id"])["clocks"][0]["due_at"] == before["clocks"][0]["due_at"]


def test_bad_policy_lists_are_refused_with_a_chinese_reason_and_nothing_changes(api: Api) -> None:
    policies = api.get("/deadline-policies").json()
    red, default = policies
    bad = {
        "empty": ([], "至少"),
        "no default last": ([default, red], "默认"),
        "a stage missing": ([red, default | {"stages": default["stages"][:3]}], "环节"),
        "zero minutes": (tighter(policies, 0), "时限"),
        "minutes in words": (tighter(policies, "five"), "格式"),  # type: ignore[arg-type]
        "a duplicate code": ([default | {"colours": ["red"]}, default], "重复"),
        "unknown colour": ([red | {"colours": ["purple"]}, default], "格式"),
        "no code": ([{k: v for k, v in default.items() if k != "code"}], "格式"),
        "escalation too late": (
            [red, default | {"escalation": [{"share": 1e308, "rung": "partner"}]}],
            "升级",
        ),
        "escalation before the deadline": (
            [red, default | {"escalation": [{"share": 0.5, "rung": "partner"}]}],
            "升级",
        ),
        "negative supervision time": ([red, default | {"supervision_reply_minutes": -5}], "督办"),
    }
    got, wanted = {}, {}
    for name, (items, word) in bad.items():
        response = api.put("/deadline-policies", "admin", json=items)
        error = response.json().get("error", {})
        got[name] = (*outcome(response), word in error.get("message", ""))
        wanted[name] = (422, "invalid_input", True)
    assert got == wanted
    assert_error(api.put("/deadline-policies", "admin", json={"policies": policies}), 422, "invalid_request")
    with_nul = [red, default | {"name": "默认\x00"}]
    assert_error(api.put("/deadline-policies", "admin", json=with_nul), 422, "invalid_request")
    for number in ("NaN", "Infinity"):  # not JSON, but Python's parser takes them
        raw = json.dumps([red, default | {"escalation": [{"share": "X", "rung": "partner"}]}]).replace(
            '"X"', number
        )
        response = api.put(
            "/deadline-policies", "admin", content=raw, headers={"Content-Type": "application/json"}
        )
        assert outcome(response) == (422, "invalid_input"), number
    assert api.post("/orders", "hotline", json=TILE).status_code == 201
    assert api.get("/deadline-policies").json() == policies


def test_only_supervisors_may_change_the_deadlines(api: Api) -> None:
    policies = api.get("/deadline-policies").json()
    tries = {
        who: api.put("/deadline-policies", who, json=tighter(policies, 1))
        for who in ("desk", "M1", "responder")
    }
    assert {who: outcome(r) for who, r in tries.items()} == dict.fromkeys(tries, (403, "forbidden"))
    assert api.get("/deadline-policies").json() == policies
    assert api.put("/deadline-policies", "director", json=tighter(policies, 4)).status_code == 200
    new = api.post("/orders", "hotline", json=TILE).json()
    assert new["clocks"][0]["due_at"] == "2026-11-25T01:04:00Z"

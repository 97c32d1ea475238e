"""The sensors over HTTP: registry import/export, gateway readings, alarms, dead letters, series."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest

from apikit import CHINESE, Api, assert_error
from chengyun.adapters.clock import ManualClock
from street import T0

SENSORS_CSV = (
    "id,kind,lon,lat,watches,watch_kind,rules\n"
    "W1,water_level,121.4420,31.2250,B1,place,\n"
    'G1,gas,121.4470,31.2250,B2,place,"[{""id"": ""gas-high"", ""kind"": ""threshold"", ""quantity"": ""lel"", '
    '""colour"": ""red"", ""high"": 10, ""clear_below"": 5}]"\n'
)


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


@pytest.fixture
def registered(api: Api, clock: ManualClock) -> Api:
    response = api.put(
        "/sensors/csv", "duty", content=SENSORS_CSV.encode(), headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"imported": 2}
    clock.set(T0 + timedelta(minutes=5))
    return api


def test_sensors_list_names_kind_location_and_each_quantity_with_unit_and_thresholds(registered: Api) -> None:
    body = registered.get("/sensors", "desk").json()
    assert body["total"] == 2
    water = next(s for s in body["items"] if s["id"] == "W1")
    assert water["kind"] == "water_level" and water["street"] == "T" and water["label"] == "水位"
    assert water["location"] == {"lon": 121.442, "lat": 31.225}
    assert water["quantities"]["level"]["unit"] == "cm"
    assert any(t.get("high") == 15.0 for t in water["quantities"]["level"]["thresholds"])
    gas = registered.get("/sensors", "desk", params={"kind": "gas"}).json()
    assert [s["id"] for s in gas["items"]] == ["G1"]
    assert gas["items"][0]["quantities"]["lel"]["thresholds"][0]["high"] == 10


def test_a_bad_registry_file_names_each_bad_row_and_imports_nothing(api: Api) -> None:
    bad = "id,kind,lon,lat,watches\nX1,volcano,121.44,31.22,B1\nX2,smoke,121.44,31.22,NOWHERE\n"
    response = api.put("/sensors/csv", "duty", content=bad.encode(), headers={"Content-Type": "text/csv"})
    error = assert_error(response, 422, "import_rejected")
    rows = {(e["row"], e["field"]) for e in error["details"]["errors"]}
    assert rows == {(2, "kind"), (3, "watches")}
    assert api.get("/sensors", "desk").json()["total"] == 0
    # and only supervisors may change the registry
    assert (
        api.put("/sensors/csv", "desk", content=b"id\n", headers={"Content-Type": "text/csv"}).status_code
        == 403
    )


def test_export_round_trips_through_csv_and_geojson(registered: Api) -> None:
    exported = registered.get("/sensors/export", "duty").text
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert sorted(r["id"] for r in rows) == ["G1", "W1"]
    geo = registered.get("/sensors/export", "duty", params={"format": "geojson"}).json()
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) == 2
    assert registered.put("/sensors", "duty", json=geo).json() == {"imported": 2}


def test_a_gateway_posts_readings_and_an_alarm_appears_and_is_acknowledged(registered: Api) -> None:
    api = registered
    batch = [
        {"sensor_id": "G1", "ts": at(0), "values": {"lel": 2.0}},
        {"sensor_id": "G1", "ts": at(1), "values": {"lel": 12.5}},
        {"sensor_id": "W1", "ts": at(1), "values": {"level": 3.0}},
    ]
    response = api.post("/readings", "sensor", json=batch)
    assert response.status_code == 200, response.text
    assert response.json() | {"rejections": []} == {
        "accepted": 3,
        "stored": 3,
        "rejected": 0,
        "rejections": [],
        "alarms": 1,
    }
    alarms = api.get("/alarms", "desk").json()
    assert alarms["total"] == 1
    alarm = alarms["items"][0]
    assert (alarm["sensor_id"], alarm["state"], alarm["colour"]) == ("G1", "raised", "red")
    assert CHINESE.search(alarm["state_label"]) and "G1" in alarm["message"]
    assert alarm["order_id"] is not None  # a red gas alarm files an order
    order = api.order(alarm["order_id"])
    assert order["source"] == "sensor" and order["category"] == "040103"
    assert api.get("/sensors/G1", "desk").json()["live"]["active_rules"] == ["gas-high"]

    assert api.post(f"/alarms/{alarm['id']}/acknowledge", "patrol").status_code == 403
    acked = api.post(f"/alarms/{alarm['id']}/acknowledge", "duty")
    assert acked.status_code == 200 and acked.json()["state"] == "acknowledged"
    assert_error(api.post(f"/alarms/{alarm['id']}/acknowledge", "duty"), 409, "illegal_transition")
    detail = api.get(f"/alarms/{alarm['id']}", "desk").json()
    assert [h["kind"] for h in detail["history"]] == ["raised", "acknowledged"]
    active = api.get("/alarms", "desk", params={"active": "true"}).json()
    assert active["total"] == 1
    assert api.get("/alarms", "desk", params={"state": "cleared"}).json()["total"] == 0


def test_bad_readings_are_refused_with_precise_reasons_and_the_good_ones_kept(registered: Api) -> None:
    api = registered
    batch = [
        {"sensor_id": "W1", "ts": at(0), "values": {"level": 3.0}},
        {"sensor_id": "W1", "ts": at(1), "values": {"depth": 3.0}},
        {"sensor_id": "ZZ", "ts": at(1), "values": {"level": 3.0}},
    ]
    body = api.post("/readings", "sensor", json=batch).json()
    assert (body["accepted"], body["rejected"]) == (1, 2)
    assert {(r["index"], r["code"]) for r in body["rejections"]} == {
        (1, "unknown_quantity"),
        (2, "unknown_sensor"),
    }
    # nothing acceptable at all: 422 with the reasons
    error = assert_error(api.post("/readings", "sensor", json=batch[1:]), 422, "readings_rejected")
    assert len(error["details"]["rejections"]) == 2
    assert_error(
        api.post("/readings", "sensor", content=b"[{", headers={"Content-Type": "application/json"}),
        422,
        "readings_rejected",
    )
    # hotline staff cannot feed sensors
    assert api.post("/readings", "desk", json=batch).status_code == 403
    letters = api.get("/dead-letters", "duty").json()
    assert letters["total"] == 5 and letters["counts"]["unknown_sensor"] == 2
    assert all(item["reason"] for item in letters["items"])
    assert api.get("/dead-letters", "desk").status_code == 403


def test_sensor_detail_and_series(registered: Api, clock: ManualClock) -> None:
    api = registered
    batch = [{"sensor_id": "W1", "ts": at(i / 2), "values": {"level": float(i)}} for i in range(4)]
    assert api.post("/readings", "sensor", json=batch).status_code == 200
    detail = api.get("/sensors/W1", "desk").json()
    assert detail["live"]["values"] == {"level": 3.0}
    raw = api.get(
        "/sensors/W1/series", "desk", params={"quantity": "level", "resolution": "raw", "since": at(-1)}
    )
    assert [p["mean"] for p in raw.json()] == [0.0, 1.0, 2.0, 3.0]
    api.center.ingest.roll_up()
    minutes = api.get("/sensors/W1/series", "desk", params={"quantity": "level", "since": at(-1)}).json()
    assert [(p["count"], p["mean"]) for p in minutes] == [(2, 0.5), (2, 2.5)]
    assert_error(api.get("/sensors/W1/series", "desk", params={"quantity": "nope"}), 422, "unknown_quantity")
    assert_error(api.get("/sensors/NOPE", "desk"), 404, "not_found")
    assert api.get("/sensors/W1", "outsider").status_code == 404


def test_senml_over_http(registered: Api) -> None:
    senml = [{"bn": "W1:", "bt": T0.timestamp(), "n": "level", "u": "cm", "v": 1.5}]
    response = registered.post(
        "/readings",
        "sensor",
        content=json.dumps(senml).encode(),
        headers={"Content-Type": "application/senml+json"},
    )
    assert response.status_code == 200 and response.json()["accepted"] == 1
    wrong_unit = [{"bn": "W1:", "bt": T0.timestamp() + 60, "n": "level", "u": "m", "v": 1.5}]
    error = assert_error(registered.post("/readings", "sensor", json=wrong_unit), 422, "readings_rejected")
    assert error["details"]["rejections"][0]["code"] == "wrong_unit"

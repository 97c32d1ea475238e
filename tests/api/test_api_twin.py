"""The digital twin's base over HTTP: around a place, nearest free person, an area now, the snapshot."""

from __future__ import annotations

from datetime import timedelta

from apikit import Api, assert_error
from chengyun.adapters.clock import ManualClock
from street import T0

SENSORS_CSV = (
    "id,kind,lon,lat,watches,watch_kind,rules\n"
    "W1,water_level,121.4420,31.2250,B1,place,\n"
    "W2,water_level,121.4475,31.2250,B2,place,\n"
)


def test_around_a_building_shows_its_sensors_open_orders_and_people_nearest_first(
    api: Api, clock: ManualClock
) -> None:
    assert (
        api.put(
            "/sensors/csv", "duty", content=SENSORS_CSV.encode(), headers={"Content-Type": "text/csv"}
        ).status_code
        == 200
    )
    order = api.create()  # the loose paving at B1, dispatched to M1
    api.post("/checkins", "M1", json={"position": {"lon": 121.4421, "lat": 31.2251}})
    api.post(
        "/readings", "sensor", json=[{"sensor_id": "W1", "ts": T0.isoformat(), "values": {"level": 3.5}}]
    )
    clock.set(T0 + timedelta(minutes=2))
    body = api.get("/twin/places/B1?radius=150", "desk").json()
    assert body["place"]["code"] == "B1" and body["area"] == "A1"
    assert [s["id"] for s in body["sensors"]] == ["W1"]  # W2 stands 500 m away
    assert body["sensors"][0]["values"] == {"level": 3.5} and body["sensors"][0]["silent"] is False
    assert [o["id"] for o in body["orders"]] == [order["id"]]
    assert body["counts"]["orders_by_state"] == {"dispatched": 1}
    assert body["people"][0]["person"]["id"] == "M1" and body["people"][0]["metres"] < 30
    assert body["at"].startswith("2026-11-25T01:02")  # the clock's time, in UTC


def test_nearest_free_person_skips_those_with_an_order_in_hand(api: Api) -> None:
    api.post("/checkins", "M1", json={"position": {"lon": 121.4421, "lat": 31.2251}})
    api.post("/checkins", "M3", json={"position": {"lon": 121.4480, "lat": 31.2251}})
    first = api.get("/twin/nearest?lon=121.4420&lat=31.2250", "desk").json()
    assert [n["person"]["id"] for n in first["people"]] == ["M1", "M3"]
    api.create()  # dispatched to M1
    busy = api.get("/twin/nearest?lon=121.4420&lat=31.2250", "desk").json()
    assert [n["person"]["id"] for n in busy["people"]] == ["M3"]
    anyone = api.get("/twin/nearest?lon=121.4420&lat=31.2250&free=false", "desk").json()
    assert anyone["people"][0]["person"] == anyone["people"][0]["person"] | {
        "id": "M1",
        "open_orders": 1,
        "free": False,
    }


def test_an_area_now_names_its_managers_people_orders_and_sensors(api: Api) -> None:
    api.put("/sensors/csv", "duty", content=SENSORS_CSV.encode(), headers={"Content-Type": "text/csv"})
    api.create()
    body = api.get("/twin/areas/A1", "director").json()
    assert (body["a_manager"], body["b_manager"]) == ("M1", "M2")
    assert "M1" in [p["id"] for p in body["people"]]
    assert body["counts"]["sensors_by_kind"] == {"water_level": 1}
    assert body["counts"]["sensors_silent"] == 1  # W1 never reported
    assert len(body["orders"]) == 1
    assert_error(api.get("/twin/areas/B1", "director"), 422, "not_an_area")
    assert_error(api.get("/twin/areas/NOPE", "director"), 404, "not_found")


def test_snapshot_is_geojson_stamped_with_its_time_and_layers(api: Api) -> None:
    api.put("/sensors/csv", "duty", content=SENSORS_CSV.encode(), headers={"Content-Type": "text/csv"})
    api.create()
    api.post("/checkins", "M1", json={"position": {"lon": 121.4421, "lat": 31.2251}})
    body = api.get("/twin/snapshot", "desk").json()
    assert body["type"] == "FeatureCollection" and body["timestamp"].startswith("2026-11-25T01:00")
    layers = sorted({f["properties"]["layer"] for f in body["features"]})
    assert layers == ["orders", "sensors", "staff"]
    places = api.get("/twin/snapshot?layers=places", "desk").json()
    assert {f["properties"]["layer"] for f in places["features"]} == {"places"}
    assert_error(api.get("/twin/snapshot?layers=people", "desk"), 422, "unknown_layer")


def test_the_twin_is_closed_to_other_streets_and_to_gateways(api: Api) -> None:
    assert api.get("/twin/snapshot?street=T", "outsider").status_code == 403
    assert api.get("/twin/places/B1?street=T", "sensor").status_code == 403
    assert api.get("/twin/nearest?lon=121.4&lat=31.2", None).status_code == 401

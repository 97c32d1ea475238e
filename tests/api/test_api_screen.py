"""What the wall screen reads: its figures, live orders as markers, the sensor layer, and alarms live."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from apikit import CHINESE, V1, Api, assert_error
from chengyun.adapters.clock import ManualClock
from chengyun.api.app import create_app
from chengyun.bootstrap import Center, build
from chengyun.domain.access import Role
from chengyun.domain.calendar import local_date
from chengyun.settings import Settings, sqlite_url
from chengyun.sim.demo import STREET, load_demo_street, seed_history
from street import T0

SENSORS_CSV = (
    "id,kind,lon,lat,watches,watch_kind,rules\n"
    "W1,water_level,121.4420,31.2250,B1,place,\n"
    'G1,gas,121.4470,31.2250,B2,place,"[{""id"": ""gas-high"", ""kind"": ""threshold"", ""quantity"": ""lel"", '
    '""colour"": ""red"", ""high"": 10, ""clear_below"": 5}]"\n'
)


def register_sensors(api: Api) -> None:
    response = api.put(
        "/sensors/csv", "duty", content=SENSORS_CSV.encode(), headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text


def reading(api: Api, sensor: str, minutes: float, **values: float) -> None:
    at = (T0 + timedelta(minutes=minutes)).isoformat()
    response = api.post("/readings", "sensor", json=[{"sensor_id": sensor, "ts": at, "values": values}])
    assert response.status_code == 200, response.text


def test_the_overview_counts_todays_orders_and_each_stages_compliance(api: Api, clock: ManualClock) -> None:
    first = api.create()  # 愚园路608弄6号: area A1, dispatched to 李思远
    api.create(source="patrol", address="南京西路1618号", complainant=None, colour="red")
    clock.advance(minutes=2)
    api.ok(first["id"], "respond", "M1")
    clock.advance(minutes=12)  # the second order's respond (3 min for red) and arrive are late

    body = api.get("/screen/overview", "director").json()
    counters = body["counters"]
    assert counters["received"] == 2
    sources = {s["source"]: s["count"] for s in counters["by_source"]}
    assert sources["hotline"] == 1 and sources["patrol"] == 1 and sources["sensor"] == 0
    assert {c["colour"]: c["count"] for c in counters["by_colour"]}["red"] == 1
    assert (counters["live"], counters["overdue"], counters["closed"]) == (2, 1, 0)
    respond = next(s for s in body["compliance"] if s["stage"] == "respond")
    assert respond["label"] == "响应"
    assert respond["today"] == {"on_time": 1, "decided": 2, "share": 0.5}
    assert respond["week"] == respond["today"]
    assert len(body["hourly"]["today"]) == 10  # 00:00 … 09:00 on T0's day
    assert body["hourly"]["today"][9] == 2 and body["hourly"]["usual"] is None
    areas = {a["code"]: a for a in body["areas"]}
    assert areas["A1"]["name"] == "嘉园居民区" and areas["A1"]["a_staff"] == "李思远"
    assert areas["A2"]["overdue"] == 1 and areas["A2"]["live_by_colour"]["red"] == 1


def test_the_overview_follows_a_change_at_once_and_names_the_last_event_it_counts(api: Api) -> None:
    before = api.get("/screen/overview", "director").json()
    assert before["counters"]["received"] == 0
    api.create()
    # read again immediately: a new timeline entry makes the kept figures stale
    after = api.get("/screen/overview", "director").json()
    assert after["counters"]["received"] == 1
    assert after["event_id"] > before["event_id"]
    with api.client.stream(
        "GET", f"{V1}/events", headers=api.headers("director"), params={"after": before["event_id"]}
    ) as response:
        first = next(sse(response))
    assert first["data"]["kind"] == "received"  # the feed from there holds what the figures added


def test_live_orders_are_markers_with_position_names_and_time_left(api: Api, clock: ManualClock) -> None:
    order = api.create()
    done = api.create(address="南京西路1618号")
    for action, who, body in [
        ("respond", "M3", {}),
        ("arrive", "M3", {"position": {"lon": 121.447, "lat": 31.225}}),
        ("handle", "M3", {"note": "已修复"}),
        ("close-loop", "M3", {"note": "已回访"}),
        ("close", "desk", {}),
    ]:
        api.ok(done["id"], action, who, **body)
    items = api.get("/screen/orders", "director").json()["items"]
    assert [m["id"] for m in items] == [order["id"]]  # closed orders are off the map
    marker = items[0]
    assert marker["category_name"] == "人行道板" and marker["assignee_name"] == "李思远"
    assert (marker["lon"], marker["lat"]) == (121.442, 31.225)
    assert marker["state_label"] == "已派遣" and marker["overdue"] is False
    clock.advance(minutes=6)
    assert api.get("/screen/orders", "director").json()["items"][0]["overdue"] is True


def test_the_sensor_layer_has_every_point_the_online_share_and_active_alarms(
    api: Api, clock: ManualClock
) -> None:
    register_sensors(api)
    clock.set(T0 + timedelta(minutes=2))
    reading(api, "G1", 1, lel=12.5)  # over 10: a red alarm
    body = api.get("/screen/sensors", "director").json()
    assert body["total"] == 2 and body["online"] == 1 and body["silent"] == 1
    assert body["online_share"] == 0.5
    kinds = body["kinds"]
    points = {(p[0], p[1]): p for p in body["points"]}
    gas = points[(121.447, 31.225)]
    assert kinds[int(gas[2])] == "gas" and gas[3] == 2  # alarming
    assert points[(121.442, 31.225)][3] == 1  # never reported: offline
    assert {c["colour"]: c["count"] for c in body["alarms_by_colour"]}["red"] == 1
    (alarm,) = body["alarms"]
    assert alarm["sensor_id"] == "G1" and (alarm["lon"], alarm["lat"]) == (121.447, 31.225)
    assert alarm["order_id"] is not None and CHINESE.search(alarm["state_label"])
    by_kind = {k["kind"]: k for k in body["by_kind"]}
    assert by_kind["gas"]["label"] == "燃气" and by_kind["gas"]["alarms"] == 1


def test_the_sensor_layer_is_revalidated_with_its_etag_and_follows_new_readings(
    api: Api, clock: ManualClock
) -> None:
    register_sensors(api)
    clock.set(T0 + timedelta(minutes=2))
    reading(api, "G1", 1.5, lel=1.0)
    first = api.get("/screen/sensors", "director")
    etag = first.headers["ETag"]
    assert first.status_code == 200 and etag.startswith('W/"')
    assert "no-cache" in first.headers["Cache-Control"]
    assert first.json()["online"] == 1
    same = api.get("/screen/sensors", "director", headers={"If-None-Match": etag})
    assert same.status_code == 304 and same.content == b"" and same.headers["ETag"] == etag
    clock.advance(minutes=1)  # a new read of the layer (the clock moved on), nothing else changed
    again = api.get("/screen/sensors", "director", headers={"If-None-Match": f'"x", {etag}'})
    assert again.status_code == 304
    reading(api, "W1", 3.5, level=0.2)  # the silent sensor reports: its status and the counts change
    clock.advance(minutes=1)
    changed = api.get("/screen/sensors", "director", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    body = changed.json()
    assert (body["online"], body["silent"]) == (2, 0)
    assert sorted(p[3] for p in body["points"]) == [0, 0]
    assert next(iter(body)) == "at" and body["at"] != first.json()["at"]


def test_the_screens_data_is_for_readers_of_the_street_only(api: Api) -> None:
    for path in ("/screen/overview", "/screen/orders", "/screen/sensors"):
        assert_error(api.get(path, "sensor"), 403, "forbidden")
        assert_error(api.get(path, "outsider", params={"street": "T"}), 403, "forbidden")
        assert_error(api.get(path, None), 401, "unauthorized")


def sse(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """The stream's events as {"id", "event", "data"}; a keepalive means nothing more is coming."""
    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if line.startswith(": keepalive"):
            raise AssertionError("the feed went quiet")
        if line.startswith(":"):
            continue
        if line == "":
            if "data" in fields:
                yield {
                    "id": fields.get("id"),
                    "event": fields.get("event"),
                    "data": json.loads(fields["data"]),
                }
            fields = {}
            continue
        name, _, value = line.partition(":")
        fields[name] = value.removeprefix(" ")


def next_alarm(events: Iterator[dict[str, Any]]) -> dict[str, Any]:
    return next(e for e in events if e["event"] == "alarm")


def test_the_feed_carries_alarm_events_when_asked_and_resumes_both_streams(api: Api) -> None:
    register_sensors(api)
    params = {"alarms": "true"}
    with api.client.stream("GET", f"{V1}/events", headers=api.headers("director"), params=params) as response:
        events = sse(response)
        reading(api, "G1", 1, lel=12.5)  # a red gas alarm, which also files an order
        raised = next_alarm(events)
    order_part, _, alarm_part = str(raised["id"]).partition(".")
    assert order_part.isdigit() and alarm_part.isdigit()
    data = raised["data"]
    assert (data["kind"], data["sensor_id"], data["colour"], data["state"]) == (
        "raised",
        "G1",
        "red",
        "raised",
    )
    assert (data["lon"], data["lat"]) == (121.447, 31.225) and data["sensor_label"] == "燃气"
    assert data["order_id"] is not None and CHINESE.search(data["message"])
    api.post(f"/alarms/{data['alarm_id']}/acknowledge", "duty")
    # A screen that reconnects with the last id it saw gets what it missed, in both streams, and no repeat.
    headers = api.headers("director", {"Last-Event-ID": str(raised["id"])})
    with api.client.stream("GET", f"{V1}/events", headers=headers, params=params) as response:
        resumed = next_alarm(sse(response))
    assert resumed["data"]["kind"] == "acknowledged"
    assert resumed["data"]["alarm_id"] == data["alarm_id"]


def test_the_plain_feed_has_no_alarm_events_and_keeps_numeric_ids(api: Api) -> None:
    register_sensors(api)
    with api.client.stream("GET", f"{V1}/events", headers=api.headers("director")) as response:
        events = sse(response)
        reading(api, "G1", 1, lel=12.5)
        first = next(events)
    assert first["event"] == "order" and str(first["id"]).isdigit()
    assert first["data"]["category_name"]  # the order the red alarm filed, named by its category


def district_admin(api: Api) -> dict[str, str]:
    token, _ = api.center.auth.issue(Role.ADMIN, streets=[])  # every street: none named in the token
    return {"Authorization": f"Bearer {token}"}


def test_a_district_admin_needs_no_street_while_the_database_holds_one(api: Api) -> None:
    api.create()
    headers = district_admin(api)
    for path in ("/screen/overview", "/screen/orders", "/screen/sensors", "/board", "/community/summary"):
        response = api.client.get(V1 + path, headers=headers)
        assert response.status_code == 200, (path, response.text)
    assert api.client.get(V1 + "/screen/overview", headers=headers).json()["counters"]["received"] == 1
    assert api.client.get(V1 + "/board", headers=headers).json()["street"] == "T"


def test_with_several_streets_a_district_admin_is_asked_which_one(api: Api) -> None:
    with api.center.uow() as uow:
        uow.config.ensure_street("X", "另一街道", "静安区")
        uow.commit()
    headers = district_admin(api)
    for path in ("/screen/overview", "/screen/orders", "/screen/sensors", "/board", "/community/summary"):
        body = assert_error(api.client.get(V1 + path, headers=headers), 422, "street_required")
        assert "T" in body["message"] and "X" in body["message"]
    named = api.client.get(V1 + "/screen/overview", headers=headers, params={"street": "T"})
    assert named.status_code == 200, named.text


def demo_street_center(sqlite_template: Path, tmp_path: Path, days: int) -> Center:
    """The demo street on a fresh SQLite copy, its roster covering `days` before T0 and T0's own day."""
    db = tmp_path / "demo.db"
    shutil.copyfile(sqlite_template, db)
    center = build(
        Settings(database_url=sqlite_url(db), run_worker=False), clock=ManualClock(T0), migrate=False
    )
    load_demo_street(center, local_date(T0) - timedelta(days=days), days + 1, sensors=[], community=False)
    return center


def test_the_demo_opens_with_past_days_to_compare_and_tells_nobody_about_them(
    sqlite_template: Path, tmp_path: Path
) -> None:
    center = demo_street_center(sqlite_template, tmp_path, days=3)
    stored = seed_history(center, days=3, orders_per_hour=40, seed=7)
    assert 3 * 24 * 30 < stored < 3 * 24 * 50  # about 40 an hour
    token, _ = center.auth.issue(Role.DIRECTOR, [STREET])
    with TestClient(create_app(center)) as client:
        body = client.get(f"{V1}/screen/overview", headers={"Authorization": f"Bearer {token}"}).json()
    hourly = body["hourly"]
    assert hourly["usual_days"] == 3 and hourly["usual"] is not None and len(hourly["usual"]) == 24
    assert 700 < sum(hourly["usual"]) < 1300  # a usual day of about 40 orders an hour
    assert max(hourly["usual"][9:12]) > 3 * max(hourly["usual"][2:5])  # busy mornings, quiet nights
    assert (
        body["counters"]["received"] == 0 and body["counters"]["live"] == 0
    )  # all of it closed before today
    # T0 is a Wednesday: Monday and Tuesday count in this week's compliance, mostly on time
    respond = next(s for s in body["compliance"] if s["stage"] == "respond")["week"]
    assert respond["decided"] > 1000 and 0.85 < respond["share"] < 1
    # the past is already told: the notifier and the supervision reader have nothing to read
    assert center.notifications.pump() == 0
    assert center.supervision.pump() == 0
    center.stop()


def test_a_demo_sped_up_to_thousands_an_hour_stores_a_past_of_a_busy_street_not_thousands_an_hour(
    sqlite_template: Path, tmp_path: Path
) -> None:
    center = demo_street_center(sqlite_template, tmp_path, days=1)
    stored = seed_history(center, days=1, orders_per_hour=3600, seed=7)
    assert 24 * 45 < stored < 24 * 75  # about HISTORY_MAX_RATE (60) an hour
    center.stop()

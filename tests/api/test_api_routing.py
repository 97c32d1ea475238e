"""The routing preview: the intake form shows who would get an order before it is saved."""

from __future__ import annotations

from apikit import Api, assert_error
from chengyun.adapters.clock import ManualClock


def test_the_preview_names_who_intake_would_dispatch_to_and_stores_nothing(api: Api) -> None:
    body = {"area": "A1", "category": "200101", "position": {"lon": 121.442, "lat": 31.225}}
    preview = api.post("/routing/preview", "desk", json=body).json()
    assert (preview["assignee"], preview["assignee_name"], preview["rule"]) == ("M1", "李思远", "a")
    assert "李思远" in preview["note"] and "人行道板" in preview["note"]
    assert api.get("/orders", "desk").json()["total"] == 0
    order = api.create()
    dispatched = [e for e in api.timeline(order["id"]) if e["kind"] == "dispatched"]
    assert order["assignee"] == preview["assignee"]
    assert dispatched[0]["note"] == preview["note"]  # the same decision, in the same words


def test_the_preview_follows_the_roster(api: Api, clock: ManualClock) -> None:
    clock.advance(hours=4)  # 13:00: A (李思远) is off shift, B (陆佳颖) is on
    preview = api.post("/routing/preview", "desk", json={"area": "A1"}).json()
    assert (preview["assignee"], preview["rule"]) == ("M2", "b")
    assert preview["note"].startswith("A 角 李思远 不在班")


def test_a_bad_preview_request_is_refused_precisely(api: Api) -> None:
    assert_error(api.post("/routing/preview", "desk", json={"area": "NOWHERE"}), 422, "invalid_input")
    unknown = api.post("/routing/preview", "desk", json={"area": "A1", "category": "999999"})
    assert_error(unknown, 422, "unknown_category")
    assert_error(api.post("/routing/preview", "desk", json={}), 422, "invalid_request")
    outsider = api.post("/routing/preview", "outsider", json={"area": "A1", "street": "T"})
    assert_error(outsider, 403, "forbidden")

"""The five colours, supervision and notifications over HTTP: rule sets as data (GET/PUT, all or
nothing), the dry run, why an order has its colour, urge and circulated notices, one's own feed."""

from __future__ import annotations

from typing import Any

from apikit import Api, assert_error
from chengyun.domain.grading import DEFAULT_GRADING_DATA

PLAIN = "商场门口人行道大理石地砖翘起"


def test_the_grading_rules_are_read_by_staff_and_replaced_by_supervisors(api: Api) -> None:
    rules = api.get("/grading-rules", "M1").json()
    assert [r["code"] for r in rules["rules"]][:2] == ["life", "injury"]
    assert rules["max_raise"] == 2
    changed = rules | {"main_roads": ["南京西路"], "max_raise": 1}
    assert_error(api.put("/grading-rules", "M1", json=changed), 403, "forbidden")
    stored = api.put("/grading-rules", "duty", json=changed)
    assert stored.status_code == 200, stored.text
    assert api.get("/grading-rules", "desk").json()["main_roads"] == ["南京西路"]
    assert api.create(description=PLAIN, address="南京西路1618号")["colour"] == "orange"  # a main road now


def test_a_bad_rule_set_is_a_422_naming_every_bad_rule_and_nothing_changes(api: Api) -> None:
    bad = {
        "rules": [
            {"code": "a", "name": "缺因素", "raise": 1},
            {"code": "b", "name": "无效", "factor": "time"},
        ]
    }
    error = assert_error(api.put("/grading-rules", "duty", json=bad), 422, "import_rejected")
    assert [e["row"] for e in error["details"]["errors"]] == [0, 1]
    assert api.get("/grading-rules", "desk").json()["rules"][0]["code"] == "life"


def test_an_orders_grade_says_where_it_starts_and_what_moved_it(api: Api) -> None:
    order = api.create()
    grade = api.get(f"/orders/{order['id']}/grade", "M1").json()
    assert (grade["colour"], grade["base"], grade["manual"]) == ("orange", "yellow", None)
    assert grade["causes"] == [
        {"code": "injury", "name": "有人受伤", "factor": "affected", "effect": "至少橙色（Ⅱ级）"}
    ]
    assert grade["explanation"] == "类别默认黄色（Ⅲ级）；有人受伤：至少橙色（Ⅱ级）"
    api.ok(order["id"], "regrade", "duty", colour="yellow", reason="轻微擦伤")
    manual = api.get(f"/orders/{order['id']}/grade", "M1").json()
    assert (manual["colour"], manual["manual"], manual["explanation"]) == (
        "yellow",
        "yellow",
        "人工定级黄色（Ⅲ级）",
    )
    assert_error(api.get(f"/orders/{order['id']}/grade", "outsider"), 404, "not_found")


def test_a_dry_run_over_http_reports_the_colours_that_would_change(api: Api) -> None:
    api.create(description=PLAIN, address="南京西路1618号")
    proposed = DEFAULT_GRADING_DATA | {"main_roads": ["南京西路"]}
    body: dict[str, Any] = {"since": "2026-11-25T00:00:00+08:00", "until": "2026-11-26T00:00:00+08:00"}
    response = api.post("/grading-rules/dry-run", "duty", json=body | {"rules": proposed})
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["orders"], report["changed"]) == (1, 1)
    assert report["moves"] == [{"from": "yellow", "to": "orange", "count": 1}]
    assert report["examples"][0]["proposed"] == "orange"
    current = api.post("/grading-rules/dry-run", "duty", json=body).json()
    assert current["changed"] == 0
    assert_error(api.post("/grading-rules/dry-run", "M1", json=body), 403, "forbidden")
    naive = {"since": "2026-11-25T00:00:00", "until": "2026-11-26T00:00:00+08:00"}
    assert_error(api.post("/grading-rules/dry-run", "duty", json=naive), 422, "invalid_request")
    wrong = body | {"rules": {"rules": [{"code": "x"}]}}
    assert_error(api.post("/grading-rules/dry-run", "duty", json=wrong), 422, "import_rejected")


def test_urge_and_circulate_by_hand_and_list_the_notices(api: Api) -> None:
    first, second = api.create()["id"], api.create(address="南京西路1618号")["id"]
    urged = api.ok(first, "urge", "duty", note="请尽快联系诉求人")
    assert urged["id"] == first
    assert api.timeline(first)[-1]["note"] == "催办（第 1 次）：请尽快联系诉求人"
    assert_error(api.act(first, "urge", "M1", note="快"), 403, "forbidden")
    assert_error(api.act(first, "urge", "duty", note=""), 422, "invalid_request")
    response = api.post(
        "/notices", "director", json={"order_ids": [first, second], "note": "先联不及时，通报"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["order_ids"] == [first, second]
    listed = api.get("/notices", "M1").json()
    assert [(n["kind_label"], n["order_ids"]) for n in listed["items"]] == [
        ("通报", [first, second]),
        ("催办", [first]),
    ]
    circulated = api.get("/notices", "M1", params={"kind": "circulate"}).json()
    assert circulated["total"] == 1
    unknown = api.post("/notices", "duty", json={"order_ids": [first, 424242], "note": "通报"})
    assert_error(unknown, 422, "invalid_input")


def test_the_supervision_thresholds_are_data(api: Api) -> None:
    assert api.get("/supervision-rules", "desk").json()["urge_after_late"] == 2
    stored = api.put("/supervision-rules", "duty", json={"urge_after_late": 3, "circulate_person_late": 8})
    assert stored.json() == {
        "urge_after_late": 3,
        "circulate_after_urges": 2,
        "circulate_person_late": 8,
        "circulate_window_days": 7,
    }
    assert_error(api.put("/supervision-rules", "duty", json={"urge_after_late": -1}), 422, "import_rejected")
    assert_error(api.put("/supervision-rules", "desk", json={}), 403, "forbidden")


def test_ones_own_notifications_are_listed_and_marked_read(api: Api) -> None:
    api.create()
    api.center.notifications.pump()
    mine = api.get("/notifications", "M1").json()
    assert (mine["total"], mine["unread"]) == (1, 1)
    assert mine["items"][0]["kind"] == "dispatched" and mine["items"][0]["read"] is False
    marked = api.post("/notifications/read", "M1", json={"ids": [mine["items"][0]["id"]]}).json()
    assert marked == {"marked": 1, "unread": 0}
    assert api.get("/notifications", "M1", params={"unread": "true"}).json()["total"] == 0
    assert api.get("/notifications", "M2").json()["total"] == 0
    assert_error(api.get("/notifications", "admin"), 422, "no_staff")


def test_notification_rules_and_deliveries_are_for_supervisors(api: Api) -> None:
    rules = api.get("/notification-rules", "duty").json()
    assert {
        "events": ["colour_raised"],
        "to": ["assignee", "duty_officer"],
        "channels": ["feed", "sms"],
    } in rules["rules"]
    assert_error(api.get("/notification-rules", "M1"), 403, "forbidden")
    hooked = rules | {
        "webhooks": [
            {"code": "hub", "url": "http://127.0.0.1:9/hook", "secret": "0123456789abcdef", "events": []}
        ]
    }
    stored = api.put("/notification-rules", "duty", json=hooked).json()
    assert stored["webhooks"][0]["secret"] == "******"
    bad = rules | {"webhooks": [{"code": "hub", "url": "ftp://x", "secret": "short"}]}
    assert_error(api.put("/notification-rules", "duty", json=bad), 422, "import_rejected")
    api.create()
    api.center.notifications.pump()
    page = api.get("/notifications/deliveries", "duty", params={"status": "pending"}).json()
    assert {(d["channel"], d["target"], d["kind"]) for d in page["items"]} >= {("webhook", "hub", "received")}
    assert_error(api.get("/notifications/deliveries", "M1"), 403, "forbidden")

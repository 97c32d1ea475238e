"""The duty officer's board over HTTP: what needs attention now, each for its reasons, ordered by colour
and then by the time left on its most pressing deadline."""

from __future__ import annotations

from typing import Any

from apikit import Api, assert_error

PLAIN = "商场门口人行道大理石地砖翘起"
HERE = {"lon": 121.4471, "lat": 31.2251}


def board(api: Api, who: str = "duty") -> dict[str, Any]:
    response = api.get("/board", who)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_the_board_lists_what_needs_attention_by_colour_then_time_left(api: Api) -> None:
    clock = api.center.clock
    plain = api.create(description=PLAIN)["id"]  # M1, yellow
    red = api.create(category="040101", description="路面塌陷一个大坑", address="南京西路1618号")["id"]
    api.ok(red, "respond", "M3")
    api.ok(red, "arrive", "M3", position=HERE)
    lost = api.create(description=PLAIN, address="火星路1号")["id"]  # not placed: awaits the handler
    asked = api.create(description=PLAIN, address="南京西路1618号", complainant=None)["id"]
    api.ok(asked, "respond", "M3")
    api.ok(asked, "arrive", "M3", position=HERE)
    api.ok(asked, "extension", "M3", until="2026-11-25T11:00:00+08:00", reason="需等待材料")
    api.ok(asked, "supervise", "duty", note="请说明进展")
    back = api.create(description=PLAIN, address="愚园路1号", area="A1")["id"]
    api.ok(back, "return", "M1", reason="wrong_area", note="不属于本居民区")
    done = api.create(description=PLAIN, address="愚园路3号", area="A1")["id"]
    api.ok(done, "respond", "M1")
    api.ok(done, "arrive", "M1", position=HERE)
    api.ok(done, "handle", "M1", note="已修复")
    clock.advance(minutes=4, seconds=30)  # type: ignore[attr-defined]

    found = board(api)
    items = {i["order"]["id"]: i for i in found["items"]}
    reasons = {oid: [r["code"] for r in i["reasons"]] for oid, i in items.items()}
    assert reasons == {
        red: ["severe"],
        plain: ["near_deadline"],
        lost: ["near_deadline", "address_unresolved"],
        back: ["near_deadline", "returned"],
        asked: ["supervision", "extension"],
    }
    assert done not in items  # handled, its loop-closing clock far from due
    assert [i["order"]["id"] for i in found["items"]] == [red, plain, lost, back, asked]
    assert items[plain]["time_left_s"] == 30 and items[plain]["due_what"] == "响应"
    assert items[red]["order"]["colour_label"] == "红色（Ⅰ级）"
    assert items[asked]["extension"]["reason"] == "需等待材料"
    assert items[asked]["supervision"]["note"] == "请说明进展"
    assert items[asked]["due_what"] == "处置"
    assert items[plain]["order"]["assignee_name"] == "李思远"
    assert found["counts"]["near_deadline"] == 3 and found["counts"]["overdue"] == 0
    assert found["live"] == 6

    clock.advance(minutes=1)  # type: ignore[attr-defined]
    later = board(api)
    first_yellow = next(i for i in later["items"] if i["order"]["colour"] == "yellow")
    assert first_yellow["reasons"][0]["code"] == "overdue"
    assert first_yellow["time_left_s"] == -30


def test_the_board_shows_the_latest_notices_and_is_the_streets_own(api: Api) -> None:
    order = api.create()["id"]
    api.ok(order, "urge", "duty", note="请尽快联系")
    assert [n["kind"] for n in board(api, "M1")["notices"]] == ["urge"]
    assert_error(api.get("/board", "outsider", params={"street": "T"}), 403, "forbidden")
    assert_error(api.get("/board", "sensor"), 403, "forbidden")

"""Bad input never gives a 500: every refusal is a JSON error with a code and a Chinese message.

The cases are tables run against one center each (a fresh database per case would make the suite slow);
a failing table shows every case that went wrong at once."""

from __future__ import annotations

import json
from typing import Any

import httpx

from apikit import TILE, V1, Api, assert_error, outcome
from street import STREET

DROP = object()  # a field left out of the request


def order(**changes: Any) -> dict[str, Any]:
    body = TILE | changes
    return {k: v for k, v in body.items() if v is not DROP}


def named_field(response: httpx.Response, field: str | None) -> str | None:
    """`field` if the error names it in its message and details, else None."""
    if field is None:
        return None
    error = response.json().get("error", {})
    problems = (error.get("details") or {}).get("errors", [])
    named = any(d.get("field") == field for d in problems)
    return field if named and field in error.get("message", "") else None


BAD_ORDERS: dict[str, tuple[Any, str, str | None]] = {
    "empty category": (order(category=""), "invalid_request", "category"),
    "no description": (order(description=DROP), "invalid_request", "description"),
    "no source": (order(source=DROP), "invalid_request", "source"),
    "unknown category": (order(category="999999"), "unknown_category", None),
    "unknown source": (order(source="pigeon"), "invalid_request", "source"),
    "empty description": (order(description=""), "invalid_request", "description"),
    "blank description": (order(description=" \n\t　"), "invalid_request", "description"),
    "10,001 characters": (order(description="坑" * 10_001), "invalid_request", "description"),
    "NUL in the text": (order(description="地砖\x00翘起"), "invalid_request", "description"),
    "longitude 181": (order(position={"lon": 181, "lat": 31.2}), "invalid_request", "position.lon"),
    "latitude -91": (order(position={"lon": 121.4, "lat": -91}), "invalid_request", "position.lat"),
    "position in words": (
        order(position={"lon": "东经121度", "lat": "31.2"}),
        "invalid_request",
        "position.lon",
    ),
    "no latitude": (order(position={"lon": 121.4}), "invalid_request", "position.lat"),
    "position as a list": (order(position=[121.44, 31.22]), "invalid_request", "position"),
    "unknown field": (order(priority="high"), "invalid_request", "priority"),
    "unknown nested field": (
        order(position={"lon": 121.44, "lat": 31.22, "alt": 3}),
        "invalid_request",
        "position.alt",
    ),
    "unknown area": (order(area="A9"), "invalid_input", None),
    "no location at all": (order(address=DROP), "invalid_input", None),
    "bad phone": (
        order(complainant={"name": "唐女士", "phone": "打我电话"}),
        "invalid_request",
        "complainant.phone",
    ),
    "unknown colour": (order(colour="purple"), "invalid_request", "colour"),
    "attachment not a URL": (order(attachments=["not a url"]), "invalid_request", "attachments.0"),
    "auto_dispatch not a bool": (order(auto_dispatch="perhaps"), "invalid_request", "auto_dispatch"),
    "street of another": (order(street="X"), "forbidden", None),
    "a list, not an object": ([TILE], "invalid_request", None),
}


def test_bad_orders_are_refused_with_a_reason_and_nothing_is_stored(api: Api) -> None:
    got, wanted = {}, {}
    for name, (body, code, field) in BAD_ORDERS.items():
        response = api.post("/orders", "hotline", json=body)
        got[name] = (*outcome(response), named_field(response, field))
        wanted[name] = (403 if code == "forbidden" else 422, code, field)
    assert got == wanted
    assert api.get("/orders").json()["total"] == 0


def test_a_position_that_is_not_a_finite_number_is_refused(api: Api) -> None:
    body = json.dumps(order(address=DROP, position={"lon": 0, "lat": 31.2}))
    got = {}
    for number in ("NaN", "Infinity", "-Infinity", '"NaN"', "1e999"):
        raw = body.replace('"lon": 0', f'"lon": {number}')
        response = api.post("/orders", "hotline", content=raw, headers={"Content-Type": "application/json"})
        got[number] = (*outcome(response), named_field(response, "position.lon"))
    assert set(got.values()) == {(422, "invalid_request", "position.lon")}, got
    assert api.get("/orders").json()["total"] == 0


def test_a_position_outside_the_street_is_refused_as_outside_the_street(api: Api) -> None:
    response = api.post("/orders", "hotline", json=order(address=DROP, position={"lon": 121.5, "lat": 31.25}))
    error = assert_error(response, 422, "outside_street")
    assert "不在本街道" in error["message"]
    assert api.get("/orders").json()["total"] == 0


def test_a_body_that_is_not_a_json_object_is_refused(api: Api) -> None:
    bodies = {
        "form data": (b"source=hotline&category=200101", "application/json"),
        "truncated JSON": (b'{"source": "hotline", ', "application/json"),
        "empty body": (b"", "application/json"),
        "JSON sent as text/plain": (json.dumps(TILE).encode(), "text/plain"),
        "binary": (b"\xff\xfe\x00", "application/json"),
    }
    got = {}
    for name, (content, content_type) in bodies.items():
        response = api.post("/orders", "hotline", content=content, headers={"Content-Type": content_type})
        got[name] = outcome(response)
    assert got == {
        "form data": (422, "invalid_request"),
        "truncated JSON": (422, "invalid_request"),
        "empty body": (422, "invalid_request"),
        "JSON sent as text/plain": (422, "invalid_request"),
        "binary": (400, "bad_request"),
    }
    not_json = api.post("/orders", "hotline", content=b"{", headers={"Content-Type": "application/json"})
    assert assert_error(not_json, 422, "invalid_request")["message"] == "请求体不是合法的 JSON"
    assert api.get("/orders").json()["total"] == 0


BAD_SEARCHES: dict[str, tuple[dict[str, Any], str]] = {
    "huge limit": ({"limit": 10**9}, "invalid_request"),
    "enormous limit": ({"limit": 10**30}, "invalid_request"),
    "zero limit": ({"limit": 0}, "invalid_request"),
    "limit in words": ({"limit": "ten"}, "invalid_request"),
    "negative offset": ({"offset": -1}, "invalid_request"),
    "naive since": ({"since": "2026-11-25T09:00:00"}, "invalid_input"),
    "naive until": ({"until": "2026-11-25 09:00"}, "invalid_input"),
    "since in words": ({"since": "yesterday"}, "invalid_request"),
    "since after year 9999": ({"since": "9999-12-31T23:59:59-12:00"}, "invalid_request"),
    "until before year 1": ({"until": "0001-01-01T00:00:00+14:00"}, "invalid_request"),
    "unknown state": ({"state": "lost"}, "invalid_request"),
    "unknown group": ({"group": "everything"}, "invalid_request"),
    "unknown colour": ({"colour": "purple"}, "invalid_request"),
    "overdue not a bool": ({"overdue": "maybe"}, "invalid_request"),
    "long text": ({"q": "字" * 101}, "invalid_request"),
    "NUL in the text": ({"q": "地砖\x00"}, "invalid_request"),
    "NUL in the area": ({"area": "A\x001"}, "invalid_request"),
    "another street": ({"street": "X"}, "forbidden"),
}


def test_a_bad_search_is_refused(api: Api) -> None:
    api.create()
    got = {name: outcome(api.get("/orders", params=params)) for name, (params, _) in BAD_SEARCHES.items()}
    wanted = {name: (403 if code == "forbidden" else 422, code) for name, (_, code) in BAD_SEARCHES.items()}
    assert got == wanted
    naive = assert_error(api.get("/orders", params={"since": "2026-11-25T09:00:00"}), 422, "invalid_input")
    assert "时区" in naive["message"]


def test_an_order_id_that_names_no_order_is_refused(api: Api) -> None:
    api.create()
    ids = {
        "unknown": ("999", (404, "not_found")),
        "letters": ("abc", (422, "invalid_request")),
        "fraction": ("1.5", (422, "invalid_request")),
        "zero": ("0", (422, "invalid_request")),
        "negative": ("-1", (422, "invalid_request")),
        "beyond 32 bits": ("99999999999", (422, "invalid_request")),
        "beyond 64 bits": ("9" * 30, (422, "invalid_request")),
    }
    got, wanted = {}, {}
    for name, (order_id, expected) in ids.items():
        got[name] = [
            outcome(api.get(f"/orders/{order_id}")),
            outcome(api.get(f"/orders/{order_id}/timeline")),
            outcome(api.post(f"/orders/{order_id}/notes", "desk", json={"note": "备注"})),
            outcome(api.post(f"/orders/{order_id}/supervisions/1/reply", "M1", json={"reply": "好"})),
        ]
        wanted[name] = [expected] * 4
    assert got == wanted
    assert "999" in assert_error(api.get("/orders/999"), 404, "not_found")["message"]


BAD_ACTIONS: dict[str, tuple[str, str, Any, str]] = {
    "arrive without a position": ("arrive", "M1", {}, "invalid_request"),
    "arrive off the map": ("arrive", "M1", {"position": {"lon": 500, "lat": 0}}, "invalid_request"),
    "handle with an empty note": ("handle", "M1", {"note": ""}, "invalid_request"),
    "a blank note": ("notes", "desk", {"note": "   "}, "invalid_input"),
    "a note too long": ("notes", "desk", {"note": "字" * 2001}, "invalid_request"),
    "a note with a NUL": ("notes", "desk", {"note": "a\x00b"}, "invalid_request"),
    "an unknown field": ("notes", "desk", {"note": "ok", "colour": "red"}, "invalid_request"),
    "dispatch to nobody": ("dispatch", "desk", {"assignee": "NOBODY"}, "invalid_input"),
    "dispatch to no area": ("dispatch", "desk", {"area": "A9"}, "invalid_input"),
    "plan with a naive time": (
        "plan",
        "M1",
        {"plan": "明天修", "planned_for": "2026-11-26T10:00:00"},
        "invalid_request",
    ),
    "extension to year 9999": (
        "extension",
        "M1",
        {"until": "9999-12-31T23:59:59-12:00", "reason": "等材料"},
        "invalid_request",
    ),
    "extension to an earlier time": (
        "extension",
        "M1",
        {"until": "2026-11-25T09:01:00+08:00", "reason": "等材料"},
        "invalid_input",
    ),
    "unknown return reason": ("return", "M1", {"reason": "lazy", "note": "不想办"}, "invalid_request"),
    "regrade to the same colour": (
        "regrade",
        "desk",
        {"colour": "orange", "reason": "没变"},  # the tile complaint's injury made it orange
        "invalid_input",
    ),
    "merge into a huge id": ("merge", "desk", {"into": 10**12}, "invalid_request"),
    "merge into itself": ("merge", "desk", {"into": 1}, "invalid_input"),
    "supervise with no time to reply": (
        "supervise",
        "duty",
        {"note": "快", "reply_minutes": 0},
        "invalid_request",
    ),
    "reply to no supervision": ("supervisions/7/reply", "M1", {"reply": "好"}, "invalid_input"),
    "decision not a bool": ("extension/decision", "duty", {"approve": "yes please"}, "invalid_request"),
    "a body that is a list": ("notes", "desk", [{"note": "x"}], "invalid_request"),
}


def test_bad_actions_are_refused_and_change_nothing(api: Api) -> None:
    order_id = api.create()["id"]
    assert order_id == 1
    before = api.order(order_id)
    got = {
        name: outcome(api.post(f"/orders/{order_id}/{action}", who, json=body))
        for name, (action, who, body, _) in BAD_ACTIONS.items()
    }
    assert got == {name: (422, code) for name, (*_, code) in BAD_ACTIONS.items()}
    assert api.order(order_id) == before
    assert len(api.timeline(order_id)) == 3


def test_merging_into_an_unknown_order_is_a_404_naming_that_order(api: Api) -> None:
    order_id = api.create()["id"]
    error = assert_error(api.act(order_id, "merge", "desk", into=999), 404, "not_found")
    assert "999" in error["message"]
    assert api.order(order_id)["state"] == "dispatched"


def test_a_long_idempotency_key_is_refused(api: Api) -> None:
    response = api.post("/orders", "hotline", json=TILE, headers={"Idempotency-Key": "k" * 201})
    assert_error(response, 422, "invalid_request")
    assert api.get("/orders").json()["total"] == 0


def test_unknown_paths_and_methods_answer_in_chinese_json(api: Api) -> None:
    assert outcome(api.get("/nothing-here")) == (404, "not_found")
    assert outcome(api.client.delete(f"{V1}/orders", headers=api.headers("admin"))) == (
        405,
        "method_not_allowed",
    )
    assert outcome(api.client.get(f"{V1}/places/A%001", headers=api.headers("desk"))) == (
        422,
        "invalid_request",
    )


def test_a_nul_inside_a_list_of_a_body_is_refused_naming_the_field(api: Api) -> None:
    """Found by schemathesis on PostgreSQL: a NUL in a token's street list was a 500."""
    response = api.post("/tokens", "admin", json={"role": "duty_officer", "streets": [STREET, "J\x00S"]})
    assert response.status_code == 422
    assert named_field(response, "streets") == "streets"

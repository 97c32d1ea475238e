"""The live feed (Server-Sent Events), the OpenAPI description, the health check and the wall screen."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from apikit import V1, Api, assert_error
from chengyun.adapters.clock import ManualClock
from chengyun.bootstrap import Center

Event = dict[str, Any]


class Feed:
    """An open event stream, read one event at a time. Never waits on a timer: reading stops at the event
    the test is looking for; a keepalive (sent after 15 s of silence) means it is not coming."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.retry: str | None = None
        self._lines = response.iter_lines()

    def next(self) -> Event:
        fields: dict[str, str] = {}
        for line in self._lines:
            if line.startswith(": keepalive"):
                raise AssertionError("the feed went quiet: the event never came")
            if line.startswith(":"):
                continue
            if line == "":
                if "retry" in fields:
                    self.retry = fields.pop("retry")
                if fields:
                    return {
                        "id": int(fields["id"]),
                        "event": fields["event"],
                        "data": json.loads(fields["data"]),
                    }
                continue
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        raise AssertionError("the feed closed")

    def until(self, found: Callable[[Event], bool]) -> list[Event]:
        events = [self.next()]
        while not found(events[-1]):
            events.append(self.next())
        return events


@contextmanager
def feed(api: Api, who: str = "desk", **headers: str) -> Iterator[Feed]:
    with api.client.stream("GET", f"{V1}/events", headers=api.headers(who, headers)) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        yield Feed(response)


@contextmanager
def feed_after(api: Api, after: int, who: str = "desk", **headers: str) -> Iterator[Feed]:
    params = {"after": after}
    with api.client.stream(
        "GET", f"{V1}/events", headers=api.headers(who, headers), params=params
    ) as response:
        assert response.status_code == 200
        yield Feed(response)


def is_event(order_id: int, kind: str) -> Callable[[Event], bool]:
    return lambda e: e["data"]["order_id"] == order_id and e["data"]["kind"] == kind


def test_the_feed_replays_an_orders_events_in_order(api: Api) -> None:
    order_id = api.create()["id"]
    with feed_after(api, 0) as stream:
        events = stream.until(is_event(order_id, "dispatched"))
        assert stream.retry == "2000"
    assert [(e["event"], e["data"]["kind"]) for e in events] == [
        ("order", "received"),
        ("order", "first_contact_task"),
        ("order", "dispatched"),
    ]
    assert events[0]["id"] < events[1]["id"] < events[2]["id"]
    received, first_contact, dispatched = (e["data"] for e in events)
    assert first_contact["note"].startswith("先联：请受理员")
    assert received["id"] == events[0]["id"]
    assert (received["order_id"], received["category"], received["category_name"]) == (
        order_id,
        "200101",
        "人行道板",
    )
    assert (received["state"], received["state_label"], received["actor_name"]) == (
        "received",
        "已受理",
        "12345 对接系统",
    )
    assert (dispatched["state_label"], dispatched["assignee"], dispatched["area"]) == ("已派遣", "M1", "A1")
    assert dispatched["note"] == "派遣给 A 角 李思远（人行道板，责任部门：市容所）"


def test_a_reconnecting_screen_resumes_after_the_last_event_it_saw(api: Api) -> None:
    first = api.create()["id"]
    with feed_after(api, 0) as stream:
        seen = stream.until(is_event(first, "received"))
    second = api.create(address="南京西路1618号")["id"]
    with feed_after(api, 0, **{"Last-Event-ID": str(seen[-1]["id"])}) as stream:
        resumed = stream.until(is_event(second, "dispatched"))
    assert [(e["data"]["order_id"], e["data"]["kind"]) for e in resumed] == [
        (first, "first_contact_task"),
        (first, "dispatched"),
        (second, "received"),
        (second, "first_contact_task"),
        (second, "dispatched"),
    ]
    assert resumed[0]["id"] == seen[-1]["id"] + 1


def test_a_new_screen_gets_only_new_events_as_they_happen(api: Api) -> None:
    old = api.create()["id"]
    with feed(api, "patrol") as stream:
        new = api.create(address="南京西路1618号")["id"]
        api.ok(new, "notes", "patrol", note="现场已拍照")
        events = stream.until(is_event(new, "noted"))
    assert [(e["data"]["order_id"], e["data"]["kind"]) for e in events] == [
        (new, "received"),
        (new, "first_contact_task"),
        (new, "dispatched"),
        (new, "noted"),
    ]
    assert old not in [e["data"]["order_id"] for e in events]
    assert events[-1]["data"]["actor_name"] == "冯巡"


def test_the_feed_carries_deadline_alerts_from_the_worker(
    api: Api, center: Center, clock: ManualClock
) -> None:
    order_id = api.create()["id"]
    with feed(api) as stream:
        clock.advance(minutes=4)
        center.worker.run_once()
        clock.advance(minutes=2)
        center.worker.run_once()
        events = stream.until(is_event(order_id, "escalated"))
    assert [e["data"]["kind"] for e in events] == ["deadline_warning", "deadline_overdue", "escalated"]
    assert events[-1]["data"]["data"]["notify_name"] == "陆佳颖"


def test_the_feed_needs_a_reader(api: Api) -> None:
    response = api.client.get(f"{V1}/events")
    assert_error(response, 401, "unauthorized")
    assert_error(api.get("/events", "sensor"), 403, "forbidden")
    assert_error(api.get("/events", params={"after": 10**12}), 422, "invalid_request")
    assert_error(api.get("/events", params={"after": -1}), 422, "invalid_request")


def test_the_browser_may_pass_the_token_in_the_query(api: Api) -> None:
    order_id = api.create()["id"]
    params = {"after": 0, "access_token": api.token("desk")}
    with api.client.stream("GET", f"{V1}/events", params=params) as response:
        assert response.status_code == 200
        events = Feed(response).until(is_event(order_id, "dispatched"))
    assert len(events) == 3


def test_a_nonsense_last_event_id_is_ignored(api: Api) -> None:
    first = api.create()["id"]
    for nonsense in ("abc", "-5", "1e3", "12 "):
        with feed_after(api, 0, **{"Last-Event-ID": nonsense}) as stream:
            assert stream.next()["data"]["order_id"] == first, nonsense


def test_a_last_event_id_beyond_the_last_event_means_from_now_on(api: Api) -> None:
    api.create()
    with feed_after(api, 0, **{"Last-Event-ID": "9" * 40}) as stream:
        new = api.create(address="南京西路1618号")["id"]
        event = stream.next()
    assert (event["data"]["order_id"], event["data"]["kind"]) == (new, "received")


# --- the API's description, health and the screen --------------------------------------------------------

PATHS = [
    "/api/v1/orders",
    "/api/v1/orders/{order_id}",
    "/api/v1/orders/{order_id}/timeline",
    *(
        f"/api/v1/orders/{{order_id}}/{action}"
        for action in (
            "dispatch",
            "respond",
            "arrive",
            "handle",
            "plan",
            "close-loop",
            "close",
            "return",
            "extension",
            "extension/decision",
            "suspend",
            "resume",
            "reopen",
            "merge",
            "supervise",
            "supervisions/{no}/reply",
            "regrade",
            "notes",
        )
    ),
    "/api/v1/places",
    "/api/v1/places/{code}",
    "/api/v1/departments",
    "/api/v1/staff",
    "/api/v1/staff.csv",
    "/api/v1/ab-pairs",
    "/api/v1/roster",
    "/api/v1/on-duty",
    "/api/v1/streets",
    "/api/v1/categories",
    "/api/v1/deadline-policies",
    "/api/v1/me",
    "/api/v1/tokens",
    "/api/v1/tokens/{token_id}",
    "/api/v1/events",
    "/api/v1/health",
    "/api/v1/screen/overview",
    "/api/v1/screen/orders",
    "/api/v1/screen/sensors",
    "/api/v1/routing/preview",
]


def test_the_openapi_description_lists_every_endpoint(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    assert spec["info"]["title"] == "城运 chengyun"
    missing = [p for p in PATHS if p not in spec["paths"]]
    assert missing == []
    assert set(spec["paths"]["/api/v1/orders"]) == {"get", "post"}
    create = spec["paths"]["/api/v1/orders"]["post"]
    assert "Idempotency-Key" in {p["name"].title() for p in create["parameters"]}
    events = spec["paths"]["/api/v1/events"]["get"]
    assert {p["name"] for p in events["parameters"]} == {"after", "alarms", "last-event-id"}
    assert "Last-Event-ID" in events["description"]


def test_health_names_the_database_and_the_clock(api: Api, center: Center) -> None:
    health = api.client.get(f"{V1}/health").json()
    assert health["status"] == "ok"
    assert health["database"] == center.engine.dialect.name
    assert health["time"] == "2026-11-25T01:00:00Z"


def test_the_wall_screen_is_served(api: Api) -> None:
    page = api.client.get("/screen")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "城运中心" in page.text and "/static/screen.js" in page.text
    assert "/api/v1/events" in api.client.get("/static/screen.js").text
    root = api.client.get("/", follow_redirects=False)
    assert (root.status_code, root.headers["location"]) == (307, "/screen")


def test_the_feed_masks_phone_numbers_in_notes_for_those_who_may_not_see_the_contact(api: Api) -> None:
    order_id = api.create()["id"]
    api.ok(order_id, "respond", "M1", note="已回电13812345678，市民同意下午处理")
    notes = {}
    for who in ("desk", "M1", "M3", "patrol"):
        with feed_after(api, 0, who) as stream:
            notes[who] = stream.until(is_event(order_id, "responded"))[-1]["data"]["note"]
    assert notes == {
        "desk": "已回电13812345678，市民同意下午处理",
        "M1": "已回电13812345678，市民同意下午处理",  # the assignee
        "M3": "已回电138****5678，市民同意下午处理",
        "patrol": "已回电138****5678，市民同意下午处理",
    }

"""A screen sees the events of every process: the live feed of `serve --workers 2` and the live feed of
another server process on the same database both carry, in order and once, the orders registered
through either of them."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx

from apikit import TILE
from chengyun.api.app import create_app
from chengyun.bootstrap import build
from chengyun.settings import Settings
from district import TOKEN, District
from liveserver import serving

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def events(response: httpx.Response) -> Iterator[tuple[int, dict[str, object]]]:
    """(id, data) of each event of an open feed; a keepalive (15 s of silence) ends it."""
    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if line.startswith(": keepalive"):
            return
        if line == "":
            if "data" in fields:
                yield int(fields["id"]), json.loads(fields["data"])
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")


def received(response: httpx.Response, wanted: set[int]) -> list[int]:
    """Reads the feed until every wanted order's `received` event has come; returns them in feed order
    (more of them than wanted means one came twice)."""
    seen: list[int] = []
    last = 0
    for event_id, data in events(response):
        assert event_id > last  # in order, never repeated
        last = event_id
        if data["kind"] == "received" and data["order_id"] in wanted:
            seen.append(int(str(data["order_id"])))
            if set(seen) == wanted:
                break
    return seen


def test_a_screen_on_any_process_sees_the_orders_registered_through_every_process(district: District) -> None:
    other = build(Settings(database_url=district.url, run_worker=False, bootstrap_token=TOKEN), migrate=False)
    with (
        serving(create_app(other)) as other_url,
        httpx.Client(timeout=30, headers=AUTH) as client,
        client.stream("GET", f"{district.server.url}/api/v1/events") as workers_feed,
        client.stream("GET", f"{other_url}/api/v1/events") as other_feed,
    ):
        assert workers_feed.status_code == other_feed.status_code == 200
        body = TILE | {"street": "T"}
        wanted = {
            client.post(f"{district.server.url}/api/v1/orders", json=body).json()["id"] for _ in range(6)
        }
        wanted |= {client.post(f"{other_url}/api/v1/orders", json=body).json()["id"] for _ in range(2)}
        assert len(wanted) == 8
        assert sorted(received(workers_feed, wanted)) == sorted(wanted)
        assert sorted(received(other_feed, wanted)) == sorted(wanted)
    other.stop()

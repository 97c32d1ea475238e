"""Notifications: the timeline reader tells the people the rules name (feed, SMS), once; webhooks get
signed JSON from a real local HTTP server's point of view, retried with back-off on a moved clock, and
given up on after the last try; no command waits for any of it."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from chengyun.adapters.clock import ManualClock
from chengyun.bootstrap import Center
from chengyun.domain.access import Role
from chengyun.domain.errors import ImportRejected, InvalidInput, PermissionDenied
from chengyun.domain.notify import BACKOFF, DeliveryStatus
from chengyun.services.deadlines import fire_due
from chengyun.settings import Settings
from street import ADMIN, STREET, person, tile

DESK = person(Role.HOTLINE_HANDLER, "H1")
DUTY = person(Role.DUTY_OFFICER, "O1", "周强")
M1 = person(Role.AREA_MANAGER, "M1")
M2 = person(Role.AREA_MANAGER, "M2")
SECRET = "s3cret-for-the-district-hub"
PLAIN = "商场门口人行道大理石地砖翘起"


@dataclass
class Hub:
    """A real HTTP endpoint on a free local port: records what it gets, answers with `statuses` in turn."""

    url: str
    statuses: list[int]
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def hub() -> Iterator[Hub]:
    state = Hub("", [200])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            status = state.statuses.pop(0) if len(state.statuses) > 1 else state.statuses[0]
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/chengyun"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def feed(center: Center, who: Any) -> list[tuple[str, str]]:
    return [(n.kind, n.title) for n in reversed(center.notifications.feed(who).items)]


def hook(url: str, **changes: Any) -> dict[str, Any]:
    return {"code": "hub", "url": url, "secret": SECRET, "events": ["colour_raised", "received"]} | changes


def test_the_assignee_and_the_duty_officer_are_told_what_the_rules_say(
    center: Center, clock: ManualClock
) -> None:
    order = center.orders.create(DESK, tile(description=PLAIN)).order
    center.notifications.pump()
    assert feed(center, M1) == [("dispatched", f"【黄色】工单 #{order.id} 人行道板 · 派遣")]
    assert feed(center, DUTY) == []
    clock.advance(minutes=4)
    fire_due(center.uow, clock, center.bus.publish, center.orders)
    clock.advance(minutes=2)
    fire_due(center.uow, clock, center.bus.publish, center.orders)
    center.notifications.pump()
    assert [k for k, _ in feed(center, M1)] == [
        "dispatched",
        "deadline_warning",
        "deadline_overdue",
        "colour_raised",
    ]
    assert feed(center, DUTY) == [("colour_raised", f"【橙色】工单 #{order.id} 人行道板 · 颜色升级预警")]
    assert [k for k, _ in feed(center, M2)] == ["escalated"]  # the partner the escalation named
    sms = center.notifications.deliveries(DUTY, STREET, DeliveryStatus.PENDING)[0]
    assert sorted((d.channel, d.target, d.kind) for d in sms) == [
        ("sms", "M1", "colour_raised"),
        ("sms", "M2", "escalated"),
        ("sms", "O1", "colour_raised"),
    ]


def test_nobody_is_told_twice_or_about_what_they_did_themselves(center: Center) -> None:
    order = center.orders.create(DESK, tile(description=PLAIN)).order
    center.orders.supervise(DUTY, order.id or 0, "请尽快到场")
    center.orders.reply_supervision(M1, order.id or 0, 1, "正在前往")
    assert center.notifications.pump() > 0
    assert center.notifications.pump() == 0
    assert [k for k, _ in feed(center, M1)] == ["dispatched", "supervised"]
    assert [k for k, _ in feed(center, DUTY)] == ["supervision_replied"]  # not their own supervision


def test_the_feed_is_read_and_marked_read_per_person(center: Center) -> None:
    center.orders.create(DESK, tile(description=PLAIN))
    center.orders.create(DESK, tile(description=PLAIN, address="愚园路1号", area="A1"))
    center.notifications.pump()
    mine = center.notifications.feed(M1)
    assert (mine.total, mine.unread) == (2, 2)
    assert center.notifications.mark_read(M1, [mine.items[0].id or 0]) == 1
    assert center.notifications.mark_read(M2, None) == 0  # someone else's are not theirs to mark
    assert center.notifications.feed(M1, unread_only=True).total == 1
    assert center.notifications.mark_read(M1, None) == 1
    assert center.notifications.feed(M1).unread == 0
    with pytest.raises(InvalidInput):
        center.notifications.feed(ADMIN)  # a token bound to nobody has no feed


def test_who_is_told_what_is_the_streets_data(center: Center) -> None:
    rules = {"rules": [{"events": ["received"], "to": ["staff:D1", "hotline_handler"], "channels": ["feed"]}]}
    center.notifications.set_rules(ADMIN, STREET, rules)
    center.orders.create(DESK, tile(description=PLAIN))
    center.notifications.pump()
    assert [k for k, _ in feed(center, person(Role.DIRECTOR, "D1"))] == ["received"]
    assert [k for k, _ in feed(center, M2)] == ["received"]  # the other hotline handler on shift
    assert feed(center, M1) == []  # dispatches are no longer told
    with pytest.raises(ImportRejected) as caught:
        center.notifications.set_rules(
            ADMIN, STREET, {"rules": [{"events": ["exploded"], "to": ["mayor"]}], "webhooks": [{"code": "x"}]}
        )
    assert [(e["section"], e["row"]) for e in caught.value.details["errors"]] == [
        ("rules", 0),
        ("webhooks", 0),
    ]
    with pytest.raises(PermissionDenied):
        center.notifications.set_rules(M1, STREET, rules)


def test_a_kind_only_a_streets_own_rules_name_is_read_and_told(center: Center) -> None:
    """The notifier decodes only the kinds some rules name; a street that names one more is told of it
    from then on, and the entries nobody is told of are still passed (never read again)."""
    first = center.orders.create(DESK, tile(description=PLAIN)).order.id or 0
    center.orders.respond(M1, first, "已联系")  # "responded" is in no default rule
    read = center.notifications.pump()
    assert read >= 3  # received, its intake remarks, dispatched, responded: all passed
    assert [k for k, _ in feed(center, M1)] == ["dispatched"]
    assert center.notifications.pump() == 0

    rules = {"rules": [{"events": ["responded"], "to": ["duty_officer"], "channels": ["feed"]}]}
    center.notifications.set_rules(ADMIN, STREET, rules)
    second = center.orders.create(DESK, tile(description=PLAIN)).order.id or 0
    center.orders.respond(M1, second, "已联系")
    assert center.notifications.pump() >= 3
    assert feed(center, DUTY) == [("responded", f"【黄色】工单 #{second} 人行道板 · 响应")]
    assert [k for k, _ in feed(center, M1)] == ["dispatched"]  # this street no longer tells dispatches


def test_a_webhook_gets_signed_json_and_a_failure_is_retried_after_the_back_off(
    center: Center, clock: ManualClock, hub: Hub
) -> None:
    center.notifications.set_rules(ADMIN, STREET, {"rules": [], "webhooks": [hook(hub.url)]})
    hub.statuses = [500, 200]
    order = center.orders.create(DESK, tile(category="040101", description="路面塌陷")).order
    center.notifications.pump()
    assert center.notifications.deliver() == 1
    [failed] = center.notifications.deliveries(ADMIN, STREET, None)[0]
    assert (failed.status, failed.attempts, failed.last_error) == (DeliveryStatus.PENDING, 1, "HTTP 500")
    assert failed.next_try_at == clock.now() + BACKOFF[0]
    assert center.notifications.deliver() == 0  # not before its time
    clock.advance(seconds=10)
    assert center.notifications.deliver() == 1
    [sent] = center.notifications.deliveries(ADMIN, STREET, DeliveryStatus.SENT)[0]
    assert (sent.attempts, sent.last_error) == (2, None)
    headers, body = hub.received[-1]
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers["x-chengyun-event"] == "received"
    stamp, mac = (part.split("=", 1)[1] for part in headers["x-chengyun-signature"].split(","))
    expected = hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(mac, expected)
    payload = json.loads(body)
    assert (payload["event"], payload["event_label"], payload["street"]) == ("received", "新工单", STREET)
    assert payload["order"] | {"assignee": None} == {
        "id": order.id,
        "category": "040101",
        "category_name": "路面塌陷",
        "colour": "red",
        "state": "received",  # as the event left it
        "area": "A1",
        "assignee": None,
    }
    assert len(hub.received) == 2 and hub.received[0][1] == body  # the same event both times


def test_an_endpoint_that_keeps_failing_is_given_up_on_and_shown(
    center: Center, clock: ManualClock, hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    center.notifications.set_rules(ADMIN, STREET, {"webhooks": [hook(hub.url, events=["received"])]})
    hub.statuses = [503]
    center.orders.create(DESK, tile(description=PLAIN))
    center.notifications.pump()
    with caplog.at_level(logging.WARNING, "chengyun.services.notify"):
        for wait in (0, *BACKOFF):
            clock.advance(seconds=wait.total_seconds() if wait else 0)
            assert center.notifications.deliver() == 1
    assert center.notifications.deliver() == 0
    [dead] = center.notifications.deliveries(ADMIN, STREET, DeliveryStatus.FAILED)[0]
    assert (dead.attempts, dead.last_error, dead.next_try_at) == (len(BACKOFF) + 1, "HTTP 503", None)
    assert len(hub.received) == len(BACKOFF) + 1
    assert "giving up" in caplog.records[-1].getMessage()


def test_no_command_waits_for_a_webhook(center: Center, hub: Hub) -> None:
    center.notifications.set_rules(ADMIN, STREET, {"webhooks": [hook(hub.url, events=[])]})
    order = center.orders.create(DESK, tile(description=PLAIN)).order  # every event, to an endpoint…
    center.orders.supervise(DUTY, order.id or 0, "请尽快到场")
    assert hub.received == []  # …that has heard nothing: commands only store the events
    center.notifications.pump()
    pending = center.notifications.deliveries(ADMIN, STREET, DeliveryStatus.PENDING)[1]
    assert pending == 3  # received, dispatched, supervised
    center.notifications.deliver()
    assert [h["x-chengyun-event"] for h, _ in hub.received] == ["received", "dispatched", "supervised"]


def test_a_webhook_secret_is_never_shown_and_kept_when_sent_back_masked(center: Center, hub: Hub) -> None:
    center.notifications.set_rules(ADMIN, STREET, {"webhooks": [hook(hub.url)]})
    shown = center.notifications.get_rules(ADMIN, STREET).to_dict()
    assert shown["webhooks"][0]["secret"] == "******"
    center.notifications.set_rules(ADMIN, STREET, shown)  # sent back as shown
    assert center.notifications.rules(STREET).webhooks[0].secret == SECRET


def test_an_sms_is_logged_with_the_phone_masked(center: Center, caplog: pytest.LogCaptureFixture) -> None:
    rules = {"rules": [{"events": ["dispatched"], "to": ["assignee"], "channels": ["sms"]}]}
    center.notifications.set_rules(ADMIN, STREET, rules)
    center.orders.create(DESK, tile(description=PLAIN))
    center.notifications.pump()
    with caplog.at_level(logging.INFO, "chengyun.adapters.notifier"):
        assert center.notifications.deliver() == 1
    assert "139****0001" in caplog.text and "13900000001" not in caplog.text
    assert center.notifications.deliveries(ADMIN, STREET, DeliveryStatus.SENT)[1] == 1


def test_a_fresh_worker_process_grades_supervises_and_notifies_inside_its_own_transactions(
    center: Center, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker started apart has nothing cached: the rules, catalogues and place data it needs are read
    inside the transaction that needs them. A second transaction opened inside one would wait on SQLite's
    write lock until it gives up; here it fails the test at once."""
    import chengyun.bootstrap

    real = chengyun.bootstrap.unit_of_work_factory
    open_now = threading.local()

    def guarded(engine: Any) -> Any:
        make = real(engine)

        class Guarded:
            def __init__(self) -> None:
                self.inner = make()

            def __enter__(self) -> Any:
                assert not getattr(open_now, "busy", False), "a transaction was opened inside another"
                open_now.busy = True
                return self.inner.__enter__()

            def __exit__(self, *exc: Any) -> None:
                open_now.busy = False
                self.inner.__exit__(*exc)

        return Guarded

    monkeypatch.setattr(chengyun.bootstrap, "unit_of_work_factory", guarded)
    order = center.orders.create(DESK, tile(description=PLAIN)).order
    clock.advance(minutes=16)
    url = center.settings.database_url
    for first in ("notifications", "deadlines"):
        worker = chengyun.bootstrap.build(Settings(database_url=url, run_worker=False), clock, migrate=False)
        try:
            if first == "notifications":
                assert worker.notifications.pump() > 0
            fire_due(worker.uow, clock, worker.bus.publish, worker.orders)
            worker.supervision.pump()
            worker.notifications.pump()
        finally:
            worker.stop()
    raised = center.orders.get(DESK, order.id or 0)
    assert raised.colour.value == "orange"
    assert "colour_raised" in [k for k, _ in feed(center, DUTY)]

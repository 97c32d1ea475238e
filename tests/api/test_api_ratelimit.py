"""Rate limits on the public routes: a client (an address) that submits or reads too often without a token
is told to wait (429, Retry-After, a Chinese message; Open311's own error shape on Open311), other clients
are not affected, the wait ends, and staff with a working token are not counted."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from apikit import CHINESE, V1, Api, assert_error
from chengyun.api.app import create_app
from chengyun.api.ratelimit import PublicLimits, client_key, kind_of
from chengyun.bootstrap import Center
from chengyun.domain.errors import Unavailable
from chengyun.services.ports import OrderQuery
from chengyun.services.throttle import SlidingWindow
from chengyun.settings import Settings
from street import ADMIN, STREET

V2 = "/open311/v2"
REPORT = {
    "service_code": "200101",
    "lat": "31.2250",
    "long": "121.4420",
    "description": "人行道地砖翘起",
    "phone": "13812345678",
}


class Seconds:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def seconds(api: Api) -> Seconds:
    """The app's limits as configured by default, on a clock the test moves."""
    seconds = Seconds()
    defaults = Settings(database_url="sqlite://")
    app: FastAPI = api.client.app  # type: ignore[assignment]
    app.state.public_limits = PublicLimits(
        defaults.public_reads_per_minute, defaults.public_writes_per_minute, now=seconds
    )
    return seconds


def orders(center: Center) -> int:
    return center.orders.search(ADMIN, OrderQuery(street=STREET, limit=1)).total


def test_the_21st_open311_submission_in_a_minute_waits_and_other_addresses_do_not(
    api: Api, center: Center, seconds: Seconds
) -> None:
    report = REPORT | {"api_key": api.token("hotline")}
    for _ in range(20):
        assert api.client.post(f"{V2}/requests.json", data=report).status_code == 200
        seconds.now += 2
    stored = orders(center)
    refused = api.client.post(f"{V2}/requests.json", data=report)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "20"
    [error] = refused.json()
    assert error["code"] == 429 and "请求过于频繁" in error["description"]
    assert "20 次" in error["description"] and "20 秒后再试" in error["description"]
    as_xml = api.client.post(f"{V2}/requests.xml", data=report)
    assert as_xml.status_code == 429 and as_xml.headers["Retry-After"] == "20"
    assert ET.fromstring(as_xml.content).findtext("error/code") == "429"
    assert orders(center) == stored  # nothing stored
    # reads are counted apart, and allowed more
    assert api.client.get(f"{V2}/requests.json").status_code == 200
    # another address is not held up
    with TestClient(api.client.app, client=("10.0.0.2", 50000)) as other:
        assert other.post(f"{V2}/requests.json", data=report).status_code == 200
    # once the first submission is a minute old, one more may go
    seconds.now += 20
    assert api.client.post(f"{V2}/requests.json", data=report).status_code == 200
    assert api.client.post(f"{V2}/requests.json", data=report).status_code == 429
    seconds.now += 60
    assert api.client.post(f"{V2}/requests.json", data=report).status_code == 200


def test_residents_and_open311_readers_get_the_uniform_429_past_the_read_limit(
    api: Api, seconds: Seconds
) -> None:
    for n in range(120):
        path = f"{V1}/community/public/markets" if n % 2 else f"{V2}/services.json"
        assert api.client.get(path).status_code < 429
    refused = api.client.get(f"{V1}/community/public/markets")
    error = assert_error(refused, 429, "too_many_requests")
    assert "查询 120 次" in error["message"] and refused.headers["Retry-After"] == "60"
    assert api.client.get(f"{V2}/services.json").json()[0]["code"] == 429
    assert api.client.get(f"{V1}/health").status_code == 429
    # the pages, their scripts and the documentation read no data: not limited
    for path in ("/screen", "/static/common.js", "/openapi.json"):
        assert api.client.get(path).status_code == 200
    # a resident's submission is a write: counted apart, and limited at 20
    booking = {"street": STREET, "stall": "S1", "day": "2026-12-03", "name": "欧阳", "phone": "13700000001"}
    for _ in range(20):
        assert api.client.post(f"{V1}/community/public/bookings", json=booking).status_code < 429
    assert_error(api.client.post(f"{V1}/community/public/bookings", json=booking), 429, "too_many_requests")
    seconds.now += 60
    assert api.client.get(f"{V1}/community/public/markets").status_code < 429


def test_staff_with_a_working_token_are_not_limited_and_a_made_up_token_does_not_help(
    api: Api, seconds: Seconds
) -> None:
    for _ in range(120):
        api.client.get(f"{V2}/requests.json")
    assert api.client.get(f"{V2}/requests.json").status_code == 429
    # the same address with staff members' tokens (not seen before: looked up in the database)
    for _ in range(150):
        assert api.get("/community/public/markets", "desk").status_code < 429
        assert api.client.get(f"{V2}/requests.json", headers=api.headers("duty")).status_code == 200
    made_up = {"Authorization": "Bearer cy_" + "x" * 43}
    assert api.client.get(f"{V2}/requests.json", headers=made_up).status_code == 429
    # what a logged-out page sends is no token either
    assert api.client.get(f"{V2}/requests.json", headers={"Authorization": "Bearer null"}).status_code == 429


def test_a_client_is_its_address_an_ipv6_one_its_64_block_and_behind_a_proxy_the_forwarded_one(
    api: Api, seconds: Seconds
) -> None:
    assert client_key("203.0.113.7") == "203.0.113.7"
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::2") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:203.0.113.7") == "203.0.113.7"
    # uvicorn's proxy headers handling (what `serve` runs with): a proxy on 127.0.0.1 is trusted
    behind = ProxyHeadersMiddleware(api.client.app, trusted_hosts="127.0.0.1")
    with TestClient(behind, client=("127.0.0.1", 50000)) as proxy:  # type: ignore[arg-type]
        first = {"X-Forwarded-For": "198.51.100.1"}
        for _ in range(120):
            proxy.get(f"{V2}/discovery.json", headers=first)
        assert proxy.get(f"{V2}/discovery.json", headers=first).status_code == 429
        second = {"X-Forwarded-For": "198.51.100.2"}
        assert proxy.get(f"{V2}/discovery.json", headers=second).status_code == 200


def test_every_route_reachable_without_a_token_is_limited_and_documents_its_429(api: Api) -> None:
    app: FastAPI = api.client.app  # type: ignore[assignment]
    public = []
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            # a route that takes the caller from its token documents the bearer scheme
            needs_token = bool(operation.get("security"))
            limited = kind_of(method.upper(), path) is not None
            assert limited != needs_token, (method, path)
            if not limited:
                continue
            public.append((method, path))
            refusal = operation["responses"]["429"]
            assert "Retry-After" in refusal["headers"] and CHINESE.search(refusal["description"])
            schema = refusal["content"]["application/json"]["schema"]
            assert ("items" in schema) == path.startswith("/open311/"), (method, path, schema)
    assert len(public) >= 20


def test_the_limits_come_from_the_environment_and_0_lifts_them(center: Center) -> None:
    env = {"CHENGYUN_DATABASE_URL": center.settings.database_url}
    settings = Settings.from_env(
        env | {"CHENGYUN_PUBLIC_READS_PER_MINUTE": "0", "CHENGYUN_PUBLIC_WRITES_PER_MINUTE": "2"}
    )
    assert (settings.public_reads_per_minute, settings.public_writes_per_minute) == (0, 2)
    defaults = Settings.from_env(env)
    assert (defaults.public_reads_per_minute, defaults.public_writes_per_minute) == (120, 20)
    with pytest.raises(SystemExit, match="CHENGYUN_PUBLIC_WRITES_PER_MINUTE 应为每分钟的次数"):
        Settings.from_env(env | {"CHENGYUN_PUBLIC_WRITES_PER_MINUTE": "-1"})
    center.settings = settings
    with TestClient(create_app(center)) as client:
        for _ in range(300):
            assert client.get(f"{V2}/discovery.json").status_code == 200
        for _ in range(2):
            assert client.post(f"{V1}/community/public/bookings", json={}).status_code == 422
        assert_error(client.post(f"{V1}/community/public/bookings", json={}), 429, "too_many_requests")


def test_the_window_forgets_the_least_recent_client_first_when_full() -> None:
    seconds = Seconds()
    window = SlidingWindow(limit=1, now=seconds, max_clients=2)
    assert window.take("a") is None and window.take("a") == 60
    assert window.take("b") is None and window.take("c") is None  # "a" forgotten
    assert window.take("a") is None
    assert window.take("c") == 60


def test_a_token_that_cannot_be_checked_while_the_database_is_down_is_no_server_error(
    api: Api, seconds: Seconds, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(token: str) -> None:
        raise Unavailable("数据库暂时不可用")

    monkeypatch.setattr(api.center.auth, "authenticate", unreachable)
    staff_like = {"Authorization": "Bearer cy_" + "y" * 43}  # not in the cache: must be looked up
    response = api.client.get(f"{V2}/services.json", headers=staff_like)
    assert response.status_code == 200, response.text  # the public list needs no token: it answers

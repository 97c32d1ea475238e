"""The HTTP test kit: a client holding real tokens for each person, and checks of the error shape."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi.testclient import TestClient

from chengyun.bootstrap import Center
from chengyun.domain.access import Role

V1 = "/api/v1"
CHINESE = re.compile(r"[\u4e00-\u9fff]")

# Who can hold a token in the test street: role, staff id and streets.
PEOPLE: dict[str, tuple[Role, str | None, tuple[str, ...]]] = {
    "admin": (Role.ADMIN, None, ("T",)),
    "director": (Role.DIRECTOR, "D1", ("T",)),
    "duty": (Role.DUTY_OFFICER, "O1", ("T",)),
    "desk": (Role.HOTLINE_HANDLER, "H1", ("T",)),
    "M1": (Role.AREA_MANAGER, "M1", ("T",)),
    "M2": (Role.AREA_MANAGER, "M2", ("T",)),
    "M3": (Role.AREA_MANAGER, "M3", ("T",)),
    "responder": (Role.CHIEF_RESPONDER, "R1", ("T",)),
    "patrol": (Role.PATROL_OBSERVER, "P1", ("T",)),
    "hotline": (Role.HOTLINE_SYSTEM, None, ("T",)),
    "sensor": (Role.SENSOR_SYSTEM, None, ("T",)),
    "outsider": (Role.DIRECTOR, None, ("X",)),  # the director of another street
}

TILE: dict[str, Any] = {
    "source": "hotline",
    "category": "200101",
    "description": "商场门口人行道大理石地砖翘起，我晚上路过绊倒了手臂受伤",
    "address": "愚园路608弄6号",
    "complainant": {"name": "唐女士", "phone": "13812345678"},
}


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is the uniform error body with this status and code and a Chinese message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert error["code"] == code, error
    assert CHINESE.search(error["message"]), error
    assert set(error) <= {"code", "message", "details"}
    return dict(error)


def outcome(response: httpx.Response) -> tuple[int, str]:
    """A response as (status, error code): ("" for a success), for tables of many requests at once.
    An error body that is not `{"error": {"code", "message": <Chinese>}}` shows up as its raw text."""
    if response.status_code < 400:
        return response.status_code, ""
    try:
        error = response.json()["error"]
        if CHINESE.search(error["message"]) and set(error) <= {"code", "message", "details"}:
            return response.status_code, str(error["code"])
    except (ValueError, KeyError, TypeError):
        pass
    return response.status_code, f"malformed error body: {response.text[:200]}"


class Api:
    """A TestClient that knows the street's people: `api.get(path, "desk")` sends H1's bearer token."""

    def __init__(self, client: TestClient, center: Center) -> None:
        self.client = client
        self.center = center
        self._tokens: dict[str, tuple[str, str]] = {}

    def token(self, who: str) -> str:
        return self._issued(who)[0]

    def token_id(self, who: str) -> str:
        return self._issued(who)[1]

    def _issued(self, who: str) -> tuple[str, str]:
        if who not in self._tokens:
            role, staff, streets = PEOPLE[who]
            token, record = self.center.auth.issue(role, streets=list(streets), staff_id=staff)
            self._tokens[who] = (token, record.id)
        return self._tokens[who]

    def headers(self, who: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token(who)}"} if who else {}
        return headers | (extra or {})

    def get(self, path: str, who: str | None = "desk", **kwargs: Any) -> httpx.Response:
        return self.client.get(V1 + path, headers=self.headers(who, kwargs.pop("headers", None)), **kwargs)

    def post(self, path: str, who: str | None, json: Any = None, **kwargs: Any) -> httpx.Response:
        headers = self.headers(who, kwargs.pop("headers", None))
        return self.client.post(V1 + path, headers=headers, json=json, **kwargs)

    def put(self, path: str, who: str | None, **kwargs: Any) -> httpx.Response:
        headers = self.headers(who, kwargs.pop("headers", None))
        return self.client.put(V1 + path, headers=headers, **kwargs)

    def delete(self, path: str, who: str | None, **kwargs: Any) -> httpx.Response:
        return self.client.delete(V1 + path, headers=self.headers(who), **kwargs)

    def create(self, who: str = "hotline", **changes: Any) -> dict[str, Any]:
        """Create an order (the tile complaint unless changed; None drops a field) and return it."""
        body = {k: v for k, v in (TILE | changes).items() if v is not None}
        response = self.post("/orders", who, json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def act(self, order_id: int, action: str, who: str, **body: Any) -> httpx.Response:
        return self.post(f"/orders/{order_id}/{action}", who, json=body)

    def ok(self, order_id: int, action: str, who: str, **body: Any) -> dict[str, Any]:
        response = self.act(order_id, action, who, **body)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def order(self, order_id: int, who: str = "desk") -> dict[str, Any]:
        response = self.get(f"/orders/{order_id}", who)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def timeline(self, order_id: int, who: str = "desk") -> list[dict[str, Any]]:
        response = self.get(f"/orders/{order_id}/timeline", who)
        assert response.status_code == 200, response.text
        return list(response.json())

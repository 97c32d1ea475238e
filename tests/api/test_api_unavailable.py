"""A database out of reach: every route answers a retriable 503 with Retry-After and a Chinese message,
in the REST error shape and in Open311's, never a 500."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from apikit import TILE, V1, assert_error
from chengyun.api.app import create_app
from chengyun.bootstrap import build
from chengyun.settings import Settings

TOKEN = "cy_bootstrap_unavailable_test"


@pytest.fixture
def client() -> Iterator[TestClient]:
    """The app on a PostgreSQL URL whose port refuses every connection."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        url = f"postgresql://postgres@127.0.0.1:{holder.getsockname()[1]}/test"
        center = build(Settings(database_url=url, run_worker=False, bootstrap_token=TOKEN), migrate=False)
        with TestClient(create_app(center), raise_server_exceptions=False) as client:
            client.headers["Authorization"] = f"Bearer {TOKEN}"
            yield client


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/orders", TILE | {"street": "T"}),
        ("GET", "/orders?street=T", None),
        ("GET", "/orders/1", None),
        ("GET", "/alarms", None),
        ("GET", "/health", None),
        ("GET", "/events", None),
    ],
)
def test_a_route_answers_503_with_retry_after_while_the_database_is_out_of_reach(
    client: TestClient, method: str, path: str, body: object
) -> None:
    response = client.request(method, V1 + path, json=body, headers={"Idempotency-Key": "k-1"})
    error = assert_error(response, 503, "service_unavailable")
    assert int(response.headers["Retry-After"]) >= 1
    assert error["details"]["retry_after"] == int(response.headers["Retry-After"])


def test_open311_answers_503_in_its_own_error_shape_while_the_database_is_out_of_reach(
    client: TestClient,
) -> None:
    response = client.get("/open311/v2/requests.json", params={"jurisdiction_id": "T"})
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) >= 1
    [error] = response.json()
    assert error["code"] == 503
    assert "数据库" in error["description"]

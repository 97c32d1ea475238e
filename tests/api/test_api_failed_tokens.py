"""A client that keeps sending tokens that do not work is told to wait (429, in Chinese, Retry-After),
without its tokens being looked up; other clients are not affected, and the wait ends."""

from __future__ import annotations

from fastapi.testclient import TestClient

from apikit import V1, Api, assert_error
from chengyun.api.app import create_app
from chengyun.bootstrap import Center
from chengyun.services.auth import FailedAttempts


class Seconds:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_too_many_failed_tokens_from_one_client_get_a_429_until_the_window_moves_on(
    api: Api, center: Center
) -> None:
    seconds = Seconds()
    center.auth.failures = FailedAttempts(limit=3, window_s=60, now=seconds)
    bad = {"Authorization": "Bearer cy_guessed-token"}
    for _ in range(3):
        assert_error(api.client.get(f"{V1}/me", headers=bad), 401, "unauthorized")
        seconds.now += 10
    refused = api.client.get(f"{V1}/orders", headers=bad)
    error = assert_error(refused, 429, "too_many_requests")
    assert "次数过多" in error["message"] and refused.headers["Retry-After"] == "30"
    # not even a good token is looked up for that client meanwhile; no token at all is still a 401
    assert_error(api.get("/me", "duty"), 429, "too_many_requests")
    assert_error(api.client.get(f"{V1}/me"), 401, "unauthorized")
    # another client (another address) is not held up
    with TestClient(create_app(center), client=("10.0.0.2", 50000)) as other:
        assert other.get(f"{V1}/me", headers=api.headers("desk")).status_code == 200
    # once the first failure is a minute old, the client may try again
    seconds.now += 31
    assert api.get("/me", "duty").status_code == 200
    assert_error(api.client.get(f"{V1}/me", headers=bad), 401, "unauthorized")
    assert_error(api.client.get(f"{V1}/me", headers=bad), 429, "too_many_requests")

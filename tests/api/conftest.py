"""Fixtures for the HTTP tests: a TestClient on the test center and the Api kit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from apikit import Api
from chengyun.api.app import create_app
from chengyun.bootstrap import Center


@pytest.fixture
def client(center: Center) -> Iterator[TestClient]:
    with TestClient(create_app(center), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def api(client: TestClient, center: Center) -> Api:
    return Api(client, center)

"""Schemathesis over the community routes with the programs loaded (the whole-API pass in test_fuzz.py
runs them on an empty street, where most answers are 404): no 500, only documented answers."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis import Case
from schemathesis.checks import positive_data_acceptance

from chengyun.adapters.clock import ManualClock
from chengyun.api.app import create_app
from chengyun.bootstrap import build
from chengyun.domain.access import Role
from chengyun.services.auth import FailedAttempts
from chengyun.settings import Settings
from community_data import load_community
from street import STREET, T0, load_street

EXAMPLES = 8


@pytest.fixture
def app_and_token(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[FastAPI, str]]:
    target = tmp_path / "chengyun.db"
    shutil.copyfile(sqlite_template, target)
    center = build(
        Settings(database_url=f"sqlite:///{target}", run_worker=False), clock=ManualClock(T0), migrate=False
    )
    load_street(center)
    load_community(center)
    token, _ = center.auth.issue(Role.COMMUNITY_WORKER, [STREET], name="模糊测试")
    center.auth.failures = FailedAttempts(limit=1_000_000)  # made-up credentials on every operation
    try:
        yield create_app(center), token
    finally:
        center.stop()


def test_generated_requests_to_the_community_routes_never_get_a_500(
    app_and_token: tuple[FastAPI, str],
) -> None:
    app, token = app_and_token
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex=r"^/api/v1/community")
    headers = {"Authorization": f"Bearer {token}"}
    tried = []
    for result in schema.get_all_operations():
        operation = result.ok()
        tried.append(operation.label)

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
        )
        def check(case: Case) -> None:
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        check()
    assert len(tried) >= 30

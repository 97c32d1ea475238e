"""Fixtures of the fault tests: a PostgreSQL cluster of their own (to restart), and a district served by
`chengyun serve --workers 2` on it, shared by the tests that fault it one way or another."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chengyun.adapters.db.engine import make_engine
from district import SPEED, TOKEN, District, street_database
from throwaway import PostgresCluster, missing, server


@pytest.fixture(scope="session")
def own_postgres() -> Iterator[PostgresCluster]:
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        missing("PostgreSQL's server programs (apt install postgresql)")
    cluster = PostgresCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="session")
def district(own_postgres: PostgresCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[District]:
    """The test street served by `chengyun serve --workers 2 --speed 60` (deadline and sensor workers in
    the supervising process) on the fault tests' own PostgreSQL."""
    url = street_database(own_postgres)
    env = {"CHENGYUN_DATABASE_URL": url, "CHENGYUN_BOOTSTRAP_TOKEN": TOKEN}
    engine = make_engine(url)
    try:
        with server(["--workers", "2", "--speed", str(SPEED)], env, tmp_path_factory.mktemp("district")) as s:
            yield District(own_postgres, url, s, engine)
    finally:
        engine.dispose()

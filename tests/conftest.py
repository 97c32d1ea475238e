"""Shared fixtures: a migrated database per test on SQLite and on PostgreSQL, its engine and units of work."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from chengyun.adapters.clock import ManualClock
from chengyun.adapters.db.engine import make_engine
from chengyun.adapters.db.migrate import upgrade
from chengyun.adapters.db.tables import metadata
from chengyun.adapters.db.uow import unit_of_work_factory
from chengyun.bootstrap import Center, build
from chengyun.services.ports import UnitOfWorkFactory
from chengyun.settings import Settings
from street import T0, Recorder, load_street

POSTGRES_ENV = "CHENGYUN_TEST_DATABASE_URL"


def missing_postgres() -> None:
    """Skip on a developer machine without PostgreSQL; fail where the services are required (CI)."""
    message = f"PostgreSQL tests need {POSTGRES_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/test)"
    if os.environ.get("CHENGYUN_REQUIRE_SERVICES"):
        pytest.fail(message)
    pytest.skip(message)


def postgres_base_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


def with_search_path(url: str, schema: str) -> str:
    """`url` with every session confined to `schema` (psycopg's libpq `options`)."""
    parsed = make_url(url)
    options = f"{parsed.query.get('options', '')} -csearch_path={schema}".strip()
    return parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)


class PostgresSchema:
    """A throwaway schema: tests of one session never see another session's tables."""

    def __init__(self, base_url: str) -> None:
        self.name = f"cy_{secrets.token_hex(6)}"
        self.url = with_search_path(base_url, self.name)
        self._admin = make_engine(base_url)
        with self._admin.begin() as connection:
            connection.exec_driver_sql(f"CREATE SCHEMA {self.name}")
        self.engine = make_engine(self.url)

    def truncate(self) -> None:
        # DELETE on a few small tables is far cheaper than TRUNCATE, which rewrites every table's files.
        with self.engine.begin() as connection:
            # The audit log's triggers (migration 0012) refuse deleting recent entries: not in a test.
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
            for table in reversed(metadata.sorted_tables):
                connection.exec_driver_sql(f"DELETE FROM {table.name}")
                if "id" in table.c and table.c.id.autoincrement is True:
                    connection.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), 1, false)"
                    )

    def drop(self) -> None:
        self.engine.dispose()
        with self._admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {self.name} CASCADE")
        self._admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file; copying it is much faster than migrating for every test."""
    path = tmp_path_factory.mktemp("template") / "chengyun.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        upgrade(engine)
    finally:
        engine.dispose()  # the last connection to close folds the WAL into the file
    return path


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[PostgresSchema | None]:
    base = postgres_base_url()
    if base is None:
        yield None
        return
    schema = PostgresSchema(base)
    try:
        upgrade(schema.engine)
        yield schema
    finally:
        schema.drop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, migrated database: a fresh SQLite file, or the session's PostgreSQL schema
    truncated."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "chengyun.db"
        shutil.copyfile(template, target)
        return f"sqlite:///{target}"
    schema: PostgresSchema | None = request.getfixturevalue("postgres_schema")
    if schema is None:
        missing_postgres()
    schema.truncate()
    return schema.url


@pytest.fixture
def postgres_url(postgres_schema: PostgresSchema | None) -> str:
    """Like database_url, PostgreSQL only: for what only PostgreSQL does (SKIP LOCKED between workers)."""
    if postgres_schema is None:
        missing_postgres()
    postgres_schema.truncate()
    return postgres_schema.url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def uow_factory(engine: Engine) -> UnitOfWorkFactory:
    """A zero-argument callable returning a new unit of work on the test's database."""
    return unit_of_work_factory(engine)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a database with no tables at all (for migration tests)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()
        return
    base = postgres_base_url()
    if base is None:
        missing_postgres()
    schema = PostgresSchema(base)
    try:
        yield schema.engine
    finally:
        schema.drop()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def center(database_url: str, clock: ManualClock) -> Iterator[Center]:
    center = build(Settings(database_url=database_url, run_worker=False), clock=clock, migrate=False)
    load_street(center)
    yield center
    center.stop()


@pytest.fixture
def recorder(center: Center) -> Recorder:
    recorder = Recorder()
    center.bus.subscribe(recorder)
    return recorder

"""Engines: SQLite is tuned for many writers on one file; PostgreSQL URLs use psycopg 3."""

from __future__ import annotations

import math
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import JSON, Column, Engine, Integer, MetaData, Table, select

from builders import POLICY, an_order
from chengyun.adapters.db import engine as engine_module
from chengyun.adapters.db.engine import make_engine
from chengyun.adapters.db.migrate import upgrade
from chengyun.adapters.db.uow import SqlUnitOfWork
from chengyun.domain.errors import Conflict, Unavailable


@pytest.fixture
def sqlite_engine(sqlite_template: Path, tmp_path: Path) -> Engine:
    target = tmp_path / "engine.db"
    target.write_bytes(sqlite_template.read_bytes())
    return make_engine(f"sqlite:///{target}")


def test_sqlite_connections_use_wal_normal_sync_a_busy_timeout_foreign_keys_and_memory_for_temp_data(
    sqlite_engine: Engine,
) -> None:
    with sqlite_engine.connect() as connection:

        def pragma(name: str) -> object:
            return connection.exec_driver_sql(f"PRAGMA {name}").scalar()

        assert pragma("journal_mode") == "wal"
        assert pragma("synchronous") == 1  # NORMAL
        assert pragma("busy_timeout") == 10_000
        assert pragma("foreign_keys") == 1
        # MEMORY: the statement journals of the group commit's savepoints are not spilled to temp files
        assert pragma("temp_store") == 2


def test_a_scratch_sqlite_file_is_unsynced_with_a_large_cache_and_sorts_in_memory(
    sqlite_template: Path, tmp_path: Path
) -> None:
    target = tmp_path / "scratch.db"
    target.write_bytes(sqlite_template.read_bytes())
    scratch = make_engine(f"sqlite:///{target}", sqlite_scratch=True)
    usual = make_engine(f"sqlite:///{target}")
    try:
        with scratch.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 0  # OFF
            assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == -256 * 1024  # KiB
            assert connection.exec_driver_sql("PRAGMA temp_store").scalar() == 2  # MEMORY
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        # an engine on a file that is not scratch keeps the usual settings
        with usual.connect() as other:
            assert other.exec_driver_sql("PRAGMA synchronous").scalar() == 1
            assert other.exec_driver_sql("PRAGMA cache_size").scalar() == -2000  # SQLite's default
    finally:
        scratch.dispose()
        usual.dispose()


def test_a_sqlite_unit_of_work_holds_the_write_lock_from_its_start(sqlite_engine: Engine) -> None:
    database = sqlite_engine.url.database
    assert database is not None
    with SqlUnitOfWork(sqlite_engine):
        other = sqlite3.connect(database, timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()


def test_a_second_sqlite_writer_that_times_out_waiting_gets_a_retriable_conflict(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    upgrade(url)
    patient, impatient = make_engine(url), make_engine(url, sqlite_busy_timeout_ms=1)
    try:
        with SqlUnitOfWork(patient) as first:
            first.orders.add(an_order(), POLICY)
            with pytest.raises(Conflict) as caught, SqlUnitOfWork(impatient):
                pass
        assert caught.value.details["retriable"] is True
    finally:
        patient.dispose()
        impatient.dispose()


def test_plain_postgresql_urls_are_driven_by_psycopg_3() -> None:
    engine = make_engine("postgresql://someone@db.invalid:5432/chengyun")
    try:
        assert engine.dialect.name == "postgresql"
        assert engine.dialect.driver == "psycopg"
    finally:
        engine.dispose()


def test_sqlite_engines_create_the_directory_of_their_file(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'deep' / 'er' / 'chengyun.db'}")
    try:
        with engine.connect():
            pass
        assert (tmp_path / "deep" / "er" / "chengyun.db").is_file()
    finally:
        engine.dispose()


def test_other_databases_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        make_engine("mysql://root@localhost/chengyun")


@pytest.fixture
def refused_postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose port refuses connections (bound by the test, never listening)."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield f"postgresql://postgres@127.0.0.1:{holder.getsockname()[1]}/test"


def test_a_unit_of_work_on_a_postgresql_that_refuses_connections_raises_unavailable_with_a_retry_hint(
    refused_postgres_url: str,
) -> None:
    engine = make_engine(refused_postgres_url)
    try:
        with pytest.raises(Unavailable) as caught, SqlUnitOfWork(engine):
            pass
    finally:
        engine.dispose()
    assert caught.value.details["retry_after"] > 0
    assert "数据库" in caught.value.message


def end_session(admin: Engine, backend: int) -> None:
    """End one PostgreSQL session from another connection, as a server restart would end it."""
    with admin.begin() as other:
        other.exec_driver_sql(f"SELECT pg_terminate_backend({int(backend)})")


def store_an_order(engine: Engine) -> None:
    with SqlUnitOfWork(engine) as uow:
        uow.orders.add(an_order(), POLICY)
        uow.commit()


def stored_orders(admin: Engine) -> int:
    with admin.connect() as other:
        count: int = other.exec_driver_sql("SELECT count(*) FROM orders").scalar_one()
        return count


@pytest.mark.postgres
def test_a_connection_dropped_mid_transaction_raises_unavailable_and_the_next_unit_of_work_reconnects(
    postgres_url: str,
) -> None:
    engine = make_engine(postgres_url)
    admin = make_engine(postgres_url)
    try:
        with pytest.raises(Unavailable), SqlUnitOfWork(engine) as uow:
            end_session(admin, uow.connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
            uow.orders.add(an_order(), POLICY)
            uow.commit()
        store_an_order(engine)  # the pool dropped the dead connection: this one is new
        assert stored_orders(admin) == 1
    finally:
        engine.dispose()
        admin.dispose()


@pytest.mark.postgres
def test_a_pooled_connection_the_server_ended_while_it_sat_idle_is_replaced_without_an_error(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(postgres_url)
    admin = make_engine(postgres_url)
    try:
        with SqlUnitOfWork(engine) as uow:
            backend = uow.connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        end_session(admin, backend)  # the pooled connection's session
        monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", 0.0)  # "a while" has passed
        with SqlUnitOfWork(engine) as uow:
            assert uow.connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() != backend
            uow.orders.add(an_order(), POLICY)
            uow.commit()
    finally:
        engine.dispose()
        admin.dispose()


@pytest.mark.postgres
def test_a_pooled_connection_lost_just_after_its_last_use_fails_once_as_unavailable_then_is_replaced(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Within PING_AFTER_IDLE_S of its last use a connection is handed out unpinged: if the server ended
    it meanwhile, that unit of work gets a retriable Unavailable, and the next one a new connection."""
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", 3600.0)  # never "a while" in this test
    engine = make_engine(postgres_url)
    admin = make_engine(postgres_url)
    try:
        with SqlUnitOfWork(engine) as uow:
            backend = uow.connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        end_session(admin, backend)
        with pytest.raises(Unavailable) as caught:
            store_an_order(engine)
        assert caught.value.details["retry_after"] > 0
        with SqlUnitOfWork(engine) as uow:
            assert uow.connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() != backend
        store_an_order(engine)
        assert stored_orders(admin) == 1
    finally:
        engine.dispose()
        admin.dispose()


def test_json_columns_are_written_compact_in_utf8_and_read_back_including_older_nan_text(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'json.db'}")
    table = Table("docs", MetaData(), Column("id", Integer, primary_key=True), Column("body", JSON))
    try:
        table.metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(table.insert(), {"id": 1, "body": {"地址": "南京西路1号", "at": [1.5, None]}})
            # what json.dumps wrote before msgspec did: NaN is not JSON, but reads back as it did
            connection.exec_driver_sql("INSERT INTO docs (id, body) VALUES (2, '{\"v\": NaN}')")
        with engine.connect() as connection:
            raw = connection.exec_driver_sql("SELECT body FROM docs WHERE id = 1").scalar()
            assert raw == '{"地址":"南京西路1号","at":[1.5,null]}'
            bodies = {row.id: row.body for row in connection.execute(select(table.c.id, table.c.body))}
        assert bodies[1] == {"地址": "南京西路1号", "at": [1.5, None]}
        assert math.isnan(bodies[2]["v"])
    finally:
        engine.dispose()

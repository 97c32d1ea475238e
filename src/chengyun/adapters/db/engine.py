"""Engines for the two supported databases: an embedded SQLite file and PostgreSQL (psycopg 3)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError

SQLITE_BUSY_TIMEOUT_MS = 10_000
CONNECT_TIMEOUT_S = 5
PING_AFTER_IDLE_S = 1.0  # a PostgreSQL connection idle longer than this is pinged before reuse
_USED_AT = "cy_used_at"
# A scratch file (the simulator's) is thrown away after the run, so a crash may lose it: no syncing at
# all, and a page cache big enough for a day of sensor readings' working set (each upload round writes
# the last page of every sensor's series, the hourly roll-up reads the hour back): 256 MiB instead of
# SQLite's 2 MiB default, which at a day's 1 GiB of readings made nearly every insert a page read.
SCRATCH_CACHE_KIB = 256 * 1024

_encode_json = msgspec.json.Encoder().encode


def _dumps(value: Any) -> str:
    """JSON columns' text, by msgspec: ~0.6 µs where `json.dumps` took ~5.7, and a new order writes about
    ten JSON values (its clocks, contacts, timeline data). Compact and in UTF-8 rather than `json.dumps`'s
    spaced ASCII; either reads back the same."""
    return _encode_json(value).decode()


_decode_json = msgspec.json.Decoder().decode


def _loads(text: str) -> Any:
    try:
        return _decode_json(text)
    except msgspec.DecodeError:  # NaN or Infinity, which `json.dumps` wrote before
        return json.loads(text)


# Both engines read and write their JSON columns with these.
_JSON = {"json_serializer": _dumps, "json_deserializer": _loads}


def make_engine(
    url: str | URL, *, sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS, sqlite_scratch: bool = False
) -> Engine:
    """An engine for `url`; SQLite and PostgreSQL are supported. `sqlite_scratch`: the SQLite file is a
    throwaway one (the simulator's), traded for speed: no fsync (`synchronous=OFF`), a large page cache,
    temporary tables and sorts in memory."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed, sqlite_busy_timeout_ms, sqlite_scratch)
    if backend in ("postgresql", "postgres"):
        return _postgres_engine(parsed)
    raise ValueError(f"unsupported database URL: {parsed.render_as_string(hide_password=True)}")


def _postgres_engine(url: URL) -> Engine:
    # psycopg 3 is the driver we install; a bare postgresql:// would pick psycopg2.
    url = url.set(drivername="postgresql+psycopg")
    engine = create_engine(
        url,
        # A server that does not answer at all (a network partition, not a refusal) fails the request
        # after a few seconds, as a 503, instead of holding it for the operating system's TCP timeout.
        connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
        pool_size=10,
        max_overflow=20,
        pool_recycle=1800,
        **_JSON,
    )
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """A pooled connection that has sat idle for a while is pinged before it is handed out, and replaced
    if the server has gone away meanwhile (a restart, an idle timeout). SQLAlchemy's `pool_pre_ping`
    pings at every checkout: a round trip per transaction, a tenth of a group-commit batch's time under
    an intake rush, for connections that were in use a few milliseconds earlier. One lost in that short
    gap fails its statement as any connection lost mid-transaction does (a retriable 503), and the pool
    then replaces every connection it held."""
    dialect = engine.dialect

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _used(_dbapi_connection: Any, record: Any) -> None:
        record.info[_USED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_USED_AT, 0.0) < PING_AFTER_IDLE_S:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            # The pool drops this connection and checks out another (a new one if need be).
            raise DisconnectionError(str(exc)) from exc


def _sqlite_engine(url: URL, busy_timeout_ms: int, scratch: bool = False) -> Engine:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # LIFO: the connection used last goes out next, its page cache still valid. FIFO handed out the
    # one idle longest, whose cache the other connections' commits had made stale (read again).
    engine = create_engine(url, connect_args={"check_same_thread": False}, pool_use_lifo=True, **_JSON)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own BEGIN is deferred and skips SELECTs; we emit BEGIN IMMEDIATE ourselves below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={'OFF' if scratch else 'NORMAL'}")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            # Statement journals in memory: a write inside a savepoint (the group commit gives each order
            # of a batch its own) first copies every page it touches to the statement journal, and past
            # 64 KiB SQLite spilled that journal to a temporary file of its own, created and unlinked per
            # transaction: ~40 page writes a new order, 10-15 % of intake's CPU. Temporary tables and
            # sorts are kept in memory too, as they are bounded by what one query reads.
            cursor.execute("PRAGMA temp_store=MEMORY")
            if scratch:
                cursor.execute(f"PRAGMA cache_size=-{SCRATCH_CACHE_KIB}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Taking the write lock up front makes a second writer wait (busy_timeout) at BEGIN, instead of
        # failing with "database is locked" when a read transaction tries to upgrade to a write.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine

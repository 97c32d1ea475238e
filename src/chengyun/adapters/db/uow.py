"""The unit of work: the repositories on one connection and one transaction."""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine

from chengyun.adapters.db.audit import SqlAuditRepository
from chengyun.adapters.db.community import SqlCommunityRepository
from chengyun.adapters.db.examples import SqlExampleRepository
from chengyun.adapters.db.grading import SqlGradeRepository, SqlSettingsRepository
from chengyun.adapters.db.notifications import SqlNotificationRepository
from chengyun.adapters.db.repositories import (
    SqlConfigRepository,
    SqlOrderRepository,
    SqlPeopleRepository,
    SqlPlaceRepository,
    SqlTokenRepository,
    driver_errors,
    translate_errors,
)
from chengyun.adapters.db.sensors import SqlSensorRepository
from chengyun.adapters.db.supervision import SqlNoticeRepository
from chengyun.domain.errors import Unavailable
from chengyun.services.audit import AuditRepository
from chengyun.services.community.ports import CommunityRepository
from chengyun.services.ports import (
    ConfigRepository,
    ExampleRepository,
    GradeRepository,
    NoticeRepository,
    NotificationRepository,
    OrderRepository,
    PeopleRepository,
    PlaceRepository,
    SensorRepository,
    SettingsRepository,
    TokenRepository,
    UnitOfWork,
    UnitOfWorkFactory,
)


class SqlUnitOfWork:
    """One transaction: `with` begins it, commit() keeps it, leaving the block discards the rest.

    After commit() the unit may be used again; the next statement starts a new transaction.
    """

    orders: OrderRepository
    places: PlaceRepository
    people: PeopleRepository
    config: ConfigRepository
    tokens: TokenRepository
    examples: ExampleRepository
    sensors: SensorRepository
    community: CommunityRepository
    settings: SettingsRepository
    grades: GradeRepository
    notices: NoticeRepository
    notifications: NotificationRepository
    audit: AuditRepository

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # PostgreSQL (psycopg) takes several statements in one round trip; SQLite runs in-process anyway.
        self._postgres = engine.dialect.name == "postgresql"
        self._unreleased = 0
        self._connection: Connection | None = None
        self._lock: threading.RLock | None = None

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("the unit of work is not open: use it in a `with` block")
        return self._connection

    def __enter__(self) -> Self:
        if self._connection is not None:
            raise RuntimeError("the unit of work is already open")
        self._lock = _writer_lock(self._engine)
        if self._lock is not None:
            self._lock.acquire()
        try:
            with translate_errors():
                connection = self._engine.connect()
            try:
                with translate_errors():
                    connection.begin()
            except BaseException:
                connection.close()
                raise
        except BaseException:
            self._release()
            raise
        self._connection = connection
        self._unreleased = 0  # savepoints that succeeded, released with the next statements
        self.orders = self._orders = SqlOrderRepository(connection)
        self.places = SqlPlaceRepository(connection)
        self.people = SqlPeopleRepository(connection)
        self.config = SqlConfigRepository(connection)
        self.tokens = SqlTokenRepository(connection)
        self.examples = SqlExampleRepository(connection)
        self.sensors = SqlSensorRepository(connection)
        self.community = SqlCommunityRepository(connection)
        self.settings = SqlSettingsRepository(connection)
        self.grades = SqlGradeRepository(connection)
        self.notices = SqlNoticeRepository(connection)
        self.notifications = SqlNotificationRepository(connection)
        self.audit = SqlAuditRepository(connection)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            if connection.in_transaction():
                # A broken connection's transaction has been rolled back by the server itself.
                with contextlib.suppress(Unavailable), translate_errors(connection):
                    connection.rollback()
        finally:
            connection.close()
            self._release()

    def _release(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()

    def commit(self) -> None:
        connection = self.connection
        with translate_errors(connection):
            self._orders.flush_timeline(ending=True)  # on PostgreSQL with the COMMIT itself
            connection.commit()
        self._unreleased = 0  # the commit released them

    def rollback(self) -> None:
        self._unreleased = 0
        self._orders.discard_timeline()
        with translate_errors(self._connection):
            self.connection.rollback()

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        """SAVEPOINT … RELEASE; an exception rolls back to the savepoint and is raised on. Timeline
        entries collected in the block are dropped with it, and entries of earlier work that the block
        wrote out (and so rolled back) are collected again, to be written at commit.

        Plain SQL on the driver's connection: SQLAlchemy's begin_nested() compiled its SAVEPOINT and
        RELEASE clauses on every use, a tenth of the server's time under an intake rush, and its
        execution context around a statement with nothing to bind or read cost more than the statement
        (a batch of intake runs two an order). On PostgreSQL, where each statement is a round trip, a
        savepoint that succeeded is released with the next statement of this kind (one round trip for
        RELEASE and the next SAVEPOINT) or by the commit, which releases every savepoint anyway."""
        orders = self._orders
        pending = orders.pending_timeline()
        run = self._plain_sql()
        run(*self._releases(), _SAVEPOINT)
        try:
            yield
        except BaseException:
            orders.restore_timeline(pending)
            # Back to each savepoint still open inside this one, innermost first, then to this one
            # (a failed statement leaves the transaction usable only after a ROLLBACK TO).
            owed = len(self._releases())
            run(*[_ROLLBACK_TO, _RELEASE] * (owed + 1))
            raise
        if self._postgres:
            self._unreleased += 1
        else:
            run(_RELEASE)

    def _releases(self) -> list[str]:
        """The releases still owed (savepoints that succeeded and are still open, nested ones
        innermost first); from now on none is."""
        owed, self._unreleased = self._unreleased, 0
        return [_RELEASE] * owed

    def _plain_sql(self) -> Callable[..., None]:
        """A function running statements without parameters or rows in this transaction, on the
        driver's connection (sqlite3 and psycopg both have `execute`): SQLAlchemy's execution around
        a SAVEPOINT cost more than the statement. psycopg sends them in one query (the simple
        protocol takes several statements), sqlite3 one at a time."""
        connection = self.connection
        driver = connection.connection.driver_connection
        assert driver is not None
        together = self._postgres

        def on_driver(*statements: str) -> None:
            for sql in [" ".join(statements)] if together else statements:
                with driver_errors(connection, sql):
                    driver.execute(sql)

        return on_driver


# Savepoints of the same name nest: RELEASE and ROLLBACK TO act on the innermost one.
_SAVEPOINT = "SAVEPOINT cy_work;"
_ROLLBACK_TO = "ROLLBACK TO SAVEPOINT cy_work;"
_RELEASE = "RELEASE SAVEPOINT cy_work;"


_SQLITE_LOCKS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def _writer_lock(engine: Engine) -> threading.RLock | None:
    """SQLite has one writer at a time, and its busy wait polls with sleeps, so waiting writers can starve
    (seconds at p99 under load). Taking turns on an in-process lock first is fair and cheap; other
    processes still meet SQLite's own lock. PostgreSQL needs none."""
    if engine.dialect.name != "sqlite":
        return None
    with _LOCKS_GUARD:
        lock = _SQLITE_LOCKS.get(engine)
        if lock is None:
            lock = _SQLITE_LOCKS[engine] = threading.RLock()
        return lock


def unit_of_work_factory(engine: Engine) -> UnitOfWorkFactory:
    """What the services take: a new unit of work on `engine` per call."""

    def make() -> UnitOfWork:
        return SqlUnitOfWork(engine)

    return make

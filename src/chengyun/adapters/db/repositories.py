"""The repositories of the ports over SQLAlchemy Core, with explicit row ↔ domain conversion."""

from __future__ import annotations

import builtins
import math
import operator
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    CursorResult,
    Executable,
    Row,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, OperationalError, PendingRollbackError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.sql import operators
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement, UnaryExpression

from chengyun.adapters.db import marks
from chengyun.adapters.db import tables as t
from chengyun.domain.categories import Category
from chengyun.domain.duplicates import Candidate
from chengyun.domain.errors import Conflict, NotFound, Unavailable
from chengyun.domain.events import OrderEvent
from chengyun.domain.geo import Point
from chengyun.domain.orders import (
    LIVE_STATES,
    Contact,
    Extension,
    Location,
    OrderState,
    Satisfaction,
    Source,
    StageClock,
    Supervision,
    TimelineEntry,
    WorkOrder,
)
from chengyun.domain.overview import OrderFacts, StageFact
from chengyun.domain.places import Place, PlaceKind
from chengyun.domain.severity import Colour
from chengyun.domain.sla import DeadlinePolicy, PolicySet, Stage
from chengyun.domain.staff import ABPair, Absence, Department, DepartmentKind, Post, Shift, Staff
from chengyun.services.ports import IdempotentRecord, OrderQuery, Page, TokenRecord

# Held by a PostgreSQL transaction from its timeline insert to its end (see flush_timeline).
TIMELINE_LOCK_KEY = 0x63790001

# serialization_failure, deadlock_detected, lock_not_available: the transaction lost a race, a retry may win.
_RETRIABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")
# admin_shutdown, crash_shutdown, cannot_connect_now (starting up), too_many_connections; with class 08
# (connection exception): the server is out of reach for now, a retry in a moment will likely succeed.
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
RETRY_AFTER_S = 2  # what a client is told to wait (Retry-After) while the database is out of reach


def is_retriable(exc: DBAPIError) -> bool:
    if getattr(exc.orig, "sqlstate", None) in _RETRIABLE_SQLSTATES:
        return True
    if isinstance(exc, OperationalError):
        message = str(exc.orig).lower()
        return any(text in message for text in _SQLITE_BUSY)
    return False


def is_unavailable(exc: BaseException) -> bool:
    """The database is out of reach: the connection was refused or dropped, the server is shutting down
    or starting up, it has no connection left, or the pool waited in vain for one."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not hasattr(exc.orig, "sqlstate"):  # not psycopg: SQLite is a file, never "unreachable"
        return False
    sqlstate: str | None = getattr(exc.orig, "sqlstate", None)
    if sqlstate is None:  # psycopg reports a refused or broken connection without a SQLSTATE
        return isinstance(exc, OperationalError)
    return sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES


def unavailable(exc: BaseException) -> Unavailable:
    """The refusal a caller gets while the database is out of reach (the API answers it with a 503)."""
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return Unavailable(
        "数据库暂时无法连接，请稍后重试", retry_after=RETRY_AFTER_S, sqlstate=sqlstate or "connection"
    )


@contextmanager
def translate_errors(connection: Connection | None = None) -> Iterator[None]:
    """Turn lost races (a locked SQLite file, a PostgreSQL deadlock or serialization failure) into
    Conflict, which callers know to retry, and a database out of reach into Unavailable; other driver
    errors are bugs and pass unchanged. With the `connection` the work runs on: a transaction whose
    connection was lost earlier in it (SQLAlchemy's PendingRollbackError on the next statement or the
    commit) is the database out of reach too."""
    try:
        yield
    except PendingRollbackError as exc:
        if connection is not None and connection.invalidated:
            raise unavailable(exc) from exc
        raise
    except (DBAPIError, PoolTimeout) as exc:
        if is_unavailable(exc):
            raise unavailable(exc) from exc
        if not isinstance(exc, DBAPIError) or not is_retriable(exc):
            raise
        sqlstate = getattr(exc.orig, "sqlstate", None)
        raise Conflict("数据库繁忙或并发冲突，请稍后重试", retriable=True, sqlstate=sqlstate) from exc


@contextmanager
def driver_errors(connection: Connection, sql: str) -> Iterator[None]:
    """For a statement run on the driver's own cursor (the hot paths): its errors raised as
    SQLAlchemy would have raised them, then translated as `translate_errors` does."""
    dialect = connection.dialect
    error = dialect.loaded_dbapi.Error
    with translate_errors(connection):
        try:
            yield
        except error as exc:
            raise DBAPIError.instance(sql, None, exc, error, dialect=dialect) from exc


class _Repository:
    def __init__(self, connection: Connection) -> None:
        self._conn = connection

    @property
    def _dialect(self) -> str:
        return self._conn.dialect.name

    def _run(
        self, statement: Executable, params: Sequence[Mapping[str, Any]] | Mapping[str, Any] | None = None
    ) -> CursorResult[Any]:
        with translate_errors(self._conn):
            return self._conn.execute(statement, params)

    def _run_prepared(
        self, statement: ClauseElement, rows: Sequence[Mapping[str, Any]], *, many: bool = False
    ) -> Any:
        """Run `statement` with `rows` on the driver's own cursor (sqlite3 or psycopg) and return the
        cursor. Every row has the same keys. An INSERT's new id: `_inserted_id`."""
        dialect = self._conn.dialect
        prepared = _prepared(statement, tuple(rows[0]), dialect, many)
        cursor = self._conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with driver_errors(self._conn, prepared.sql):
            if many:
                cursor.executemany(prepared.sql, [prepared.params(row) for row in rows])
            else:
                cursor.execute(prepared.sql, prepared.params(rows[0]))
        return cursor

    def _inserted_id(self, cursor: Any) -> int:
        """The id of the row a single-row INSERT run by `_run_prepared` added: SQLite's rowid, or what
        PostgreSQL's RETURNING (which SQLAlchemy's compiler adds for the primary key) gave back."""
        if self._dialect == "sqlite":
            return int(cursor.lastrowid)
        row = cursor.fetchone()
        assert row is not None
        return int(row[0])

    def _upsert(self, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert or update each row by primary key, as one executemany."""
        if not rows:
            return
        keys = [c.name for c in table.primary_key.columns]
        if self._dialect == "postgresql":
            pg = postgresql.insert(table)
            pg_set = {c.name: pg.excluded[c.name] for c in table.columns if c.name not in keys}
            self._run(pg.on_conflict_do_update(index_elements=keys, set_=pg_set), rows)
        elif self._dialect == "sqlite":
            lite = sqlite.insert(table)
            lite_set = {c.name: lite.excluded[c.name] for c in table.columns if c.name not in keys}
            self._run(lite.on_conflict_do_update(index_elements=keys, set_=lite_set), rows)
        else:
            raise NotImplementedError(f"upsert is not implemented for {self._dialect}")


# --- orders --------------------------------------------------------------------------------------


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def _iso_or_none(at: datetime | None) -> str | None:
    return None if at is None else _iso(at)


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _parse_or_none(text: str | None) -> datetime | None:
    return None if text is None else _parse(text)


def _clocks_json(clocks: Mapping[Stage, StageClock]) -> list[dict[str, Any]]:
    # A list rather than an object: JSONB does not keep key order, and the clocks' order is meaningful.
    return [
        {
            "stage": c.stage.value,
            "started_at": _iso(c.started_at),
            "due_at": _iso(c.due_at),
            "done_at": _iso_or_none(c.done_at),
            "alerts_fired": c.alerts_fired,
        }
        for c in clocks.values()
    ]


def _clocks_from(items: Sequence[Mapping[str, Any]]) -> dict[Stage, StageClock]:
    clocks: dict[Stage, StageClock] = {}
    for item in items:
        stage = Stage(item["stage"])
        clocks[stage] = StageClock(
            stage,
            _parse(item["started_at"]),
            _parse(item["due_at"]),
            _parse_or_none(item["done_at"]),
            int(item["alerts_fired"]),
        )
    return clocks


def _extension_json(e: Extension) -> dict[str, Any]:
    return {
        "no": e.no,
        "stage": e.stage.value,
        "requested_by": e.requested_by,
        "requested_at": _iso(e.requested_at),
        "until": _iso(e.until),
        "reason": e.reason,
        "decision": e.decision,
        "decided_by": e.decided_by,
        "decided_at": _iso_or_none(e.decided_at),
    }


def _extension_from(item: Mapping[str, Any]) -> Extension:
    return Extension(
        no=int(item["no"]),
        stage=Stage(item["stage"]),
        requested_by=item["requested_by"],
        requested_at=_parse(item["requested_at"]),
        until=_parse(item["until"]),
        reason=item["reason"],
        decision=item["decision"],
        decided_by=item["decided_by"],
        decided_at=_parse_or_none(item["decided_at"]),
    )


def _supervision_json(s: Supervision) -> dict[str, Any]:
    return {
        "no": s.no,
        "issued_by": s.issued_by,
        "issued_at": _iso(s.issued_at),
        "note": s.note,
        "reply_due_at": _iso(s.reply_due_at),
        "replied_at": _iso_or_none(s.replied_at),
        "reply": s.reply,
        "overdue_fired": s.overdue_fired,
    }


def _supervision_from(item: Mapping[str, Any]) -> Supervision:
    return Supervision(
        no=int(item["no"]),
        issued_by=item["issued_by"],
        issued_at=_parse(item["issued_at"]),
        note=item["note"],
        reply_due_at=_parse(item["reply_due_at"]),
        replied_at=_parse_or_none(item["replied_at"]),
        reply=item["reply"],
        overdue_fired=bool(item["overdue_fired"]),
    )


def _order_values(order: WorkOrder, policy: DeadlinePolicy) -> dict[str, Any]:
    location = order.location
    return {
        "street": order.street,
        "source": order.source.value,
        "category": order.category,
        "description": order.description,
        "lon": location.point.lon if location.point else None,
        "lat": location.point.lat if location.point else None,
        "address": location.address,
        "area": location.area,
        "grid": location.grid,
        "building": location.building,
        "colour": order.colour.value,
        "state": order.state.value,
        "assignee": order.assignee,
        "external_id": order.external_id,
        "policy_code": order.policy_code,
        "round": order.round,
        "plan": order.plan,
        "planned_for": order.planned_for,
        "satisfaction": order.satisfaction.value if order.satisfaction else None,
        "escalation_level": order.escalation_level,
        "suspended_from": order.suspended_from.value if order.suspended_from else None,
        "suspended_at": order.suspended_at,
        "merged_into": order.merged_into,
        "received_at": order.received_at,
        "updated_at": order.updated_at,
        "last_seq": order.last_seq,
        "complainants": [{"name": c.name, "phone": c.phone} for c in order.complainants],
        "attachments": list(order.attachments),
        "clocks": _clocks_json(order.clocks),
        "extensions": [_extension_json(e) for e in order.extensions],
        "supervisions": [_supervision_json(s) for s in order.supervisions],
        "next_due_at": order.next_due_at(),
        "next_alert_at": order.next_alert_at(policy),
    }


def _order_from(row: Row[Any]) -> WorkOrder:
    point = Point(row.lon, row.lat) if row.lon is not None and row.lat is not None else None
    return WorkOrder(
        id=row.id,
        street=row.street,
        source=Source(row.source),
        category=row.category,
        description=row.description,
        location=Location(point, row.address, row.area, row.grid, row.building),
        colour=Colour(row.colour),
        policy_code=row.policy_code,
        received_at=row.received_at,
        state=OrderState(row.state),
        complainants=[Contact(c["name"], c["phone"]) for c in row.complainants],
        attachments=list(row.attachments),
        external_id=row.external_id,
        assignee=row.assignee,
        clocks=_clocks_from(row.clocks),
        extensions=[_extension_from(e) for e in row.extensions],
        supervisions=[_supervision_from(s) for s in row.supervisions],
        suspended_from=OrderState(row.suspended_from) if row.suspended_from else None,
        suspended_at=row.suspended_at,
        merged_into=row.merged_into,
        round=row.round,
        plan=row.plan,
        planned_for=row.planned_for,
        satisfaction=Satisfaction(row.satisfaction) if row.satisfaction else None,
        escalation_level=row.escalation_level,
        updated_at=row.updated_at,
        version=row.version,
        last_seq=row.last_seq,
    )


def _entry_row(order_id: int, street: str, entry: TimelineEntry) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "street": street,
        "seq": entry.seq,
        "at": entry.at,
        "kind": entry.kind,
        "actor": entry.actor,
        "actor_name": entry.actor_name,
        "state": entry.state.value,
        "note": entry.note,
        "lon": entry.position.lon if entry.position else None,
        "lat": entry.position.lat if entry.position else None,
        "data": dict(entry.data),
    }


def _entry_from(row: Row[Any]) -> TimelineEntry:
    position = Point(row.lon, row.lat) if row.lon is not None and row.lat is not None else None
    return TimelineEntry(
        row.seq,
        row.at,
        row.kind,
        row.actor,
        row.actor_name,
        OrderState(row.state),
        row.note,
        position,
        row.data,
    )


_INSERT_ORDER = insert(t.orders)
_INSERT_ENTRIES = insert(t.timeline)
_LOCK_TIMELINE = f"SELECT pg_advisory_xact_lock({TIMELINE_LOCK_KEY})"


class _Prepared:
    """A statement compiled once for one dialect and run on the driver's cursor: SQLAlchemy's work
    around each execution (cache key, parameter and result set-up, events) cost more than the
    database's own, and intake runs several. The bind processors are the column types' own, so the
    stored values are the same as through `Connection.execute`. SQLite takes the values in statement
    order; psycopg by name (`%(name)s`)."""

    def __init__(self, statement: ClauseElement, keys: Sequence[str], dialect: Dialect, many: bool) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys), for_executemany=many)
        assert isinstance(compiled, SQLCompiler)
        positional = compiled.positiontup
        names = list(compiled.binds) if positional is None else positional
        if not set(names) <= set(keys):
            raise ValueError(f"cannot prepare {statement} for {dialect.name}")
        self.sql = str(compiled)
        self._names = None if positional is not None else names
        binds = compiled.binds
        processors = [binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
        # The values in statement order by one C call; only the columns whose type converts are touched.
        get = operator.itemgetter(*names)  # one name: the value itself, not a tuple of one
        self._get: Callable[[Mapping[str, Any]], Sequence[Any]] = (
            get if len(names) > 1 else lambda row: (get(row),)
        )
        self._convert = [(i, process) for i, process in enumerate(processors) if process is not None]

    def params(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        row = self._get(values)
        if self._convert:
            row = list(row)
            for i, process in self._convert:
                row[i] = process(row[i])
        return row if self._names is None else dict(zip(self._names, row, strict=True))


_PREPARED: weakref.WeakKeyDictionary[Dialect, dict[tuple[int, tuple[str, ...], bool], _Prepared]] = (
    weakref.WeakKeyDictionary()
)


def _prepared(statement: ClauseElement, keys: tuple[str, ...], dialect: Dialect, many: bool) -> _Prepared:
    # Only module-level statements come here, so id() is stable for the life of the process.
    cache = _PREPARED.get(dialect)
    if cache is None:
        cache = _PREPARED.setdefault(dialect, {})
    key = (id(statement), keys, many)
    prepared = cache.get(key)
    if prepared is None:
        prepared = cache[key] = _Prepared(statement, keys, dialect, many)
    return prepared


_IN_HAND = [OrderState.DISPATCHED.value, OrderState.RESPONDED.value, OrderState.ON_SITE.value]
# Built once: constructing a select per call costs more than running it on this hot path.
_FIND_KEY = select(t.idempotency_keys.c.order_id, t.idempotency_keys.c.request_hash).where(
    t.idempotency_keys.c.client == bindparam("client"), t.idempotency_keys.c.key == bindparam("key")
)


def _insert_ignoring_duplicates(dialect: str, table: Table) -> postgresql.Insert | sqlite.Insert:
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise NotImplementedError(f"insert-or-ignore is not implemented for {dialect}")


_REMEMBER_KEY = {
    dialect: _insert_ignoring_duplicates(dialect, t.idempotency_keys).returning(t.idempotency_keys.c.key)
    for dialect in ("postgresql", "sqlite")
}
_SIMILAR: dict[tuple[str, bool, bool, bool, int], Select[Any]] = {}


def _no_index(dialect: str, column: ColumnElement[Any]) -> ColumnElement[Any]:
    """`+column` on SQLite: the same value, but the planner will not pick an index for it."""
    if dialect != "sqlite":
        return column
    return UnaryExpression(column, operator=operators.custom_op("+"), type_=column.type)


_LIVE_LIST: ColumnElement[Any] = literal_column(
    "(" + ", ".join(sorted(f"'{s.value}'" for s in LIVE_STATES)) + ")"
)


_CANDIDATE_COLUMNS = [
    t.orders.c[name]
    for name in (
        "id",
        "street",
        "category",
        "state",
        "received_at",
        "lon",
        "lat",
        "address",
        "area",
        "grid",
        "building",
        "description",
    )
]


def _candidate_from(row: tuple[Any, ...]) -> Candidate:
    """A row of `_CANDIDATE_COLUMNS`, its values already converted by the column types."""
    order_id, street, category, state, received_at, lon, lat, address, area, grid, building, text = row
    point = Point(lon, lat) if lon is not None and lat is not None else None
    location = Location(point, address, area, grid, building)
    return Candidate(order_id, street, category, OrderState(state), received_at, location, text)


_RESULT_PROCESSORS: weakref.WeakKeyDictionary[Dialect, dict[int, list[Any]]] = weakref.WeakKeyDictionary()


def _result_processors(statement: Select[Any], dialect: Dialect, cursor: Any) -> list[Any]:
    """The selected columns' own result processors (None where a value needs none), as
    `Connection.execute` would apply them; for rows read on the driver's cursor, whose description
    gives each column's type code (psycopg's numeric processors need it)."""
    cache = _RESULT_PROCESSORS.get(dialect)
    if cache is None:
        cache = _RESULT_PROCESSORS.setdefault(dialect, {})
    processors = cache.get(id(statement))
    if processors is None:
        processors = cache[id(statement)] = [
            column.type.dialect_impl(dialect).result_processor(dialect, described[1])
            for column, described in zip(statement.selected_columns, cursor.description, strict=True)
        ]
    return processors


def _similar_statement(dialect: str, point: bool, building: bool, address: bool, limit: int) -> Select[Any]:
    """The duplicate candidates' query for one combination of clues, built once: every new order runs
    one, and building the select cost more than running it. It reads `_CANDIDATE_COLUMNS` only."""
    key = (dialect, point, building, address, limit)
    statement = _SIMILAR.get(key)
    if statement is None:
        o = t.orders.c
        # ix_orders_place answers this: one category's share of the window, newest first, on both
        # engines, place and state checked in the index (only matching rows are read). Without
        # statistics SQLite would rather walk (street, state): every live order of the street (4.4 ms at
        # 4,500 orders), so `state` is hidden from its planner as a search key.
        received_at = o.received_at
        near: list[ColumnElement[bool]] = []
        if point:
            near.append(
                and_(
                    o.lat.between(bindparam("lat_lo"), bindparam("lat_hi")),
                    o.lon.between(bindparam("lon_lo"), bindparam("lon_hi")),
                )
            )
        if building:
            near.append(o.building == bindparam("building"))
        if address:
            near.append(o.address == bindparam("address"))
        statement = _SIMILAR[key] = (
            select(*_CANDIDATE_COLUMNS)
            .where(
                o.street == bindparam("street"),
                o.category == bindparam("category"),
                received_at >= bindparam("since"),
                # Literal values, not an expanding IN: that one rewrites the SQL on every execution.
                _no_index(dialect, o.state).op("IN", is_comparison=True)(_LIVE_LIST),
                or_(*near),
            )
            .order_by(received_at.desc())
            # Written into the SQL, not bound: with a bound LIMIT PostgreSQL's plan cache never took
            # the generic plan (its estimate for an unknown LIMIT is worse than any custom plan's),
            # so the query was planned anew at every execution (0.24 ms of PostgreSQL's CPU each).
            # The OFFSET too: SQLite's compiler would add one of its own as a bound parameter.
            .limit(literal_column(str(int(limit))))
            .offset(literal_column("0"))
        )
    return statement


def _events_select() -> Select[Any]:
    tl, o = t.timeline.c, t.orders.c
    return (
        select(t.timeline, o.category, o.colour, o.area, o.assignee)
        .join_from(t.timeline, t.orders, tl.order_id == o.id)
        .order_by(tl.id)
    )


# Built once: the notifier and the supervision pump read the timeline several times a second.
_EVENTS_SINCE = _events_select().where(t.timeline.c.id > bindparam("after")).limit(bindparam("limit"))
_EVENTS_BETWEEN = _events_select().where(
    t.timeline.c.id > bindparam("after"), t.timeline.c.id <= bindparam("last")
)
_NEXT_IDS = (
    select(t.timeline.c.id)
    .where(t.timeline.c.id > bindparam("after"))
    .order_by(t.timeline.c.id)
    .limit(bindparam("limit"))
    .subquery()
)
_LAST_OF_NEXT = select(func.max(_NEXT_IDS.c.id).label("last"), func.count(_NEXT_IDS.c.id).label("read"))
_EVENTS_OF_KINDS: dict[frozenset[str], Select[Any]] = {}


def _event_from(row: Row[Any]) -> tuple[int, OrderEvent]:
    # The order's category, colour, area and assignee are today's, not those at the entry's time.
    return (
        row.id,
        OrderEvent(
            row.order_id,
            row.street,
            row.category,
            row.colour,
            row.state,
            row.area,
            row.assignee,
            _entry_from(row),
        ),
    )


class SqlOrderRepository(_Repository):
    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        # last_seq as stored, per order id: which of an order's entries are already in the timeline.
        self._stored_seq: dict[int, int] = {}
        self._pending: list[dict[str, Any]] = []

    def add(self, order: WorkOrder, policy: DeadlinePolicy) -> None:
        if order.id is not None:
            raise ValueError(f"order {order.id} is already stored; use save()")
        values = _order_values(order, policy) | {"version": 1}
        # A bare insert() with parameters compiles once; insert().values(...) would compile per call.
        cursor = self._run_prepared(_INSERT_ORDER, [values])
        order.id = self._inserted_id(cursor)
        cursor.close()
        order.version = 1
        self._append(order, order.new_entries)
        self._stored_seq[order.id] = order.last_seq

    def get(self, order_id: int, *, for_update: bool = False) -> WorkOrder:
        statement = select(t.orders).where(t.orders.c.id == order_id)
        if for_update:
            # PostgreSQL locks the row; SQLite renders nothing, as BEGIN IMMEDIATE already holds the file.
            statement = statement.with_for_update()
        row = self._run(statement).first()
        if row is None:
            raise NotFound(f"工单 {order_id} 不存在", order_id=order_id)
        return self._loaded(row)

    def save(self, order: WorkOrder, policy: DeadlinePolicy) -> None:
        if order.id is None:
            raise ValueError("a new order is stored with add(), not save()")
        stored_seq = self._stored_seq.get(order.id)
        if stored_seq is None:
            stored_seq = self._run(
                select(t.orders.c.last_seq).where(
                    t.orders.c.id == order.id, t.orders.c.version == order.version
                )
            ).scalar()
            if stored_seq is None:
                raise self._conflict(order)
        values = _order_values(order, policy) | {"version": order.version + 1}
        result = self._run(
            update(t.orders)
            .where(t.orders.c.id == order.id, t.orders.c.version == order.version)
            .values(values)
        )
        if result.rowcount != 1:
            raise self._conflict(order)
        order.version += 1
        self._append(order, [e for e in order.new_entries if e.seq > stored_seq])
        self._stored_seq[order.id] = order.last_seq

    def search(self, query: OrderQuery) -> Page:
        o = t.orders.c
        conditions: list[ColumnElement[bool]] = []
        if query.street is not None:
            conditions.append(o.street == query.street)
        if query.streets is not None:
            conditions.append(o.street.in_(sorted(query.streets)))
        if query.states:
            conditions.append(o.state.in_([s.value for s in query.states]))
        if query.area is not None:
            conditions.append(o.area == query.area)
        if query.category is not None:
            conditions.append(o.category == query.category)
        if query.categories:
            conditions.append(o.category.in_(list(query.categories)))
        if query.colour is not None:
            conditions.append(o.colour == query.colour.value)
        if query.assignee is not None:
            conditions.append(o.assignee == query.assignee)
        if query.overdue_at is not None:
            conditions.append(o.next_due_at < query.overdue_at)
        if query.since is not None:
            conditions.append(o.received_at >= query.since)
        if query.until is not None:
            conditions.append(o.received_at < query.until)
        if query.text:
            conditions.append(
                or_(
                    o.description.icontains(query.text, autoescape=True),
                    o.address.icontains(query.text, autoescape=True),
                )
            )
        if query.ids:
            conditions.append(o.id.in_(list(query.ids)))
        total = self._run(select(func.count()).select_from(t.orders).where(*conditions)).scalar_one()
        rows = self._run(
            select(t.orders)
            .where(*conditions)
            .order_by(o.received_at.desc(), o.id.desc())
            .limit(max(0, query.limit))
            .offset(max(0, query.offset))
        )
        return Page([self._loaded(row) for row in rows], int(total))

    def open_similar(
        self,
        street: str,
        category: str,
        since: datetime,
        point: Point | None,
        radius_m: float,
        building: str | None,
        address: str | None,
        limit: int = 50,
    ) -> builtins.list[Candidate]:
        """Live orders of one category received since `since`, near `point` or at the same building
        or address: the candidates a new order may repeat (what the check reads of them)."""
        if point is None and not building and not address:
            return []
        params: dict[str, Any] = {"street": street, "category": category, "since": since}
        if point is not None:
            dlat = radius_m / 111_320.0
            dlon = dlat / max(0.1, math.cos(math.radians(point.lat)))
            params |= {
                "lat_lo": point.lat - dlat,
                "lat_hi": point.lat + dlat,
                "lon_lo": point.lon - dlon,
                "lon_hi": point.lon + dlon,
            }
        if building:
            params["building"] = building
        if address:
            params["address"] = address
        clues = (point is not None, bool(building), bool(address))
        statement = _similar_statement(self._dialect, *clues, limit)
        # Straight on the driver's cursor: SQLAlchemy's work per execution cost more than the
        # query, and every new order runs one.
        cursor = self._run_prepared(statement, [params])
        process = _result_processors(statement, self._conn.dialect, cursor)
        rows = cursor.fetchall()
        cursor.close()
        return [
            _candidate_from(tuple(v if p is None else p(v) for p, v in zip(process, row, strict=True)))
            for row in rows
        ]

    def open_counts(self, street: str) -> dict[str, int]:
        """How many orders each person must still go to or is working on site (not planned ones)."""
        o = t.orders.c
        held = func.count().label("held")
        rows = self._run(
            select(o.assignee, held)
            .where(o.street == street, o.assignee.is_not(None), o.state.in_(_IN_HAND))
            .group_by(o.assignee)
        )
        return {str(row.assignee): int(row.held) for row in rows}

    def overview_facts(self, street: str, since: datetime) -> builtins.list[OrderFacts]:
        o = t.orders.c
        rows = self._run(
            select(
                o.id,
                o.source,
                o.category,
                o.colour,
                o.state,
                o.area,
                o.lon,
                o.lat,
                o.address,
                o.assignee,
                o.received_at,
                o.next_due_at,
                o.clocks,
            ).where(
                o.street == street,
                or_(o.received_at >= since, o.state.in_(sorted(s.value for s in LIVE_STATES))),
            )
        )
        return [
            OrderFacts(
                row.id,
                Source(row.source),
                row.category,
                Colour(row.colour),
                OrderState(row.state),
                row.area,
                Point(row.lon, row.lat) if row.lon is not None and row.lat is not None else None,
                row.address,
                row.assignee,
                row.received_at,
                row.next_due_at,
                tuple(
                    StageFact(Stage(c["stage"]), _parse(c["due_at"]), _parse_or_none(c["done_at"]))
                    for c in row.clocks
                ),
            )
            for row in rows
        ]

    def received_times(self, street: str, since: datetime, until: datetime) -> builtins.list[datetime]:
        o = t.orders.c
        statement = select(o.received_at).where(
            o.street == street, o.received_at >= since, o.received_at < until
        )
        return [at for (at,) in self._run(statement)]

    def timeline(self, order_id: int) -> builtins.list[TimelineEntry]:
        self.flush_timeline()
        rows = self._run(
            select(t.timeline).where(t.timeline.c.order_id == order_id).order_by(t.timeline.c.seq)
        )
        return [_entry_from(row) for row in rows]

    def last_entries(self, wanted: Mapping[int, str]) -> dict[int, TimelineEntry]:
        """For each order id, its latest timeline entry of the given kind: one query for a page."""
        self.flush_timeline()
        tl = t.timeline.c
        found: dict[int, TimelineEntry] = {}
        ids = sorted(wanted)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = self._run(
                select(t.timeline)
                .where(tl.order_id.in_(chunk), tl.kind.in_(sorted({wanted[i] for i in chunk})))
                .order_by(tl.order_id, tl.seq)
            )
            for row in rows:
                if row.kind == wanted[row.order_id]:
                    found[row.order_id] = _entry_from(row)
        return found

    def claim_due(self, now: datetime, limit: int) -> builtins.list[WorkOrder]:
        o = t.orders.c
        rows = self._run(
            select(t.orders)
            .where(o.next_alert_at.is_not(None), o.next_alert_at <= now)
            .order_by(o.next_alert_at, o.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [self._loaded(row) for row in rows]

    def next_alert_time(self) -> datetime | None:
        # The WHERE lets both engines answer from the partial index instead of scanning every order.
        next_alert = t.orders.c.next_alert_at
        value: datetime | None = self._run(
            select(func.min(next_alert)).where(next_alert.is_not(None))
        ).scalar()
        return value

    def events_since(
        self, after_id: int, streets: frozenset[str] | None, limit: int
    ) -> builtins.list[tuple[int, OrderEvent]]:
        self.flush_timeline()
        params = {"after": after_id, "limit": limit}
        if streets is None:
            rows = self._run(_EVENTS_SINCE, params)
        else:
            statement = _EVENTS_SINCE.where(t.timeline.c.street.in_(sorted(streets)))
            rows = self._run(statement, params)
        return [_event_from(row) for row in rows]

    def events_of_kinds(
        self, after_id: int, kinds: frozenset[str], limit: int
    ) -> tuple[int, int, builtins.list[tuple[int, OrderEvent]]]:
        self.flush_timeline()
        row = self._run(_LAST_OF_NEXT, {"after": after_id, "limit": limit}).one()
        last, read = row.last, row.read
        if not read:
            return after_id, 0, []
        if not kinds:  # none asked for: the place moves past them all
            return int(last), int(read), []
        # Every entry up to `last` is visible already: ids become visible in id order (flush_timeline).
        statement = _EVENTS_OF_KINDS.get(kinds)
        if statement is None:
            # Literal values, not an expanding IN: that one rewrites the SQL on every execution.
            if not all(k.isidentifier() for k in kinds):
                raise ValueError(f"not an entry kind: {sorted(kinds)}")
            listed: ColumnElement[Any] = literal_column(
                "(" + ", ".join(f"'{k}'" for k in sorted(kinds)) + ")"
            )
            statement = _EVENTS_BETWEEN.where(t.timeline.c.kind.op("IN", is_comparison=True)(listed))
            _EVENTS_OF_KINDS[kinds] = statement
        rows = self._run(statement, {"after": after_id, "last": last})
        return int(last), int(read), [_event_from(row) for row in rows]

    def last_event_id(self) -> int:
        self.flush_timeline()
        return int(self._run(select(func.coalesce(func.max(t.timeline.c.id), 0))).scalar_one())

    def find_idempotent(self, client: str, key: str) -> IdempotentRecord | None:
        row = self._run(_FIND_KEY, {"client": client, "key": key}).first()
        return None if row is None else IdempotentRecord(row.order_id, row.request_hash)

    def remember_idempotent(
        self, client: str, key: str, request_hash: str, order_id: int, at: datetime
    ) -> None:
        values = {
            "client": client,
            "key": key,
            "request_hash": request_hash,
            "order_id": order_id,
            "created_at": at,
        }
        # ON CONFLICT DO NOTHING keeps the transaction usable on both engines without a savepoint.
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT that did nothing.
        statement = _REMEMBER_KEY[self._dialect]
        cursor = self._run_prepared(statement, [values])
        stored = bool(cursor.fetchall())
        cursor.close()
        if not stored:
            raise Conflict("该 Idempotency-Key 已被使用", key=key)

    # --- helpers ---

    def _loaded(self, row: Row[Any]) -> WorkOrder:
        order = _order_from(row)
        assert order.id is not None
        self._stored_seq[order.id] = order.last_seq
        return order

    def _append(self, order: WorkOrder, entries: Sequence[TimelineEntry]) -> None:
        assert order.id is not None
        self._pending.extend(_entry_row(order.id, order.street, e) for e in entries)

    def discard_timeline(self) -> None:
        self._pending = []

    def pending_timeline(self) -> builtins.list[dict[str, Any]]:
        """The entries not yet written (a copy), for restore_timeline() after a savepoint's rollback."""
        return builtins.list(self._pending)

    def restore_timeline(self, pending: builtins.list[dict[str, Any]]) -> None:
        self._pending = pending

    def flush_timeline(self, ending: bool = False) -> None:
        """Write the entries collected so far: reads of the timeline call this first, and the unit of
        work just before it commits (`ending`): on PostgreSQL the driver's COMMIT then goes to the
        server in the same round trip as the entries, and SQLAlchemy's commit after it finds nothing
        left to do on the driver."""
        rows, self._pending = self._pending, []
        postgres = self._dialect == "postgresql"
        if not rows and not (ending and postgres):
            return
        new_marks: builtins.list[dict[str, Any]] = []
        if rows:
            # The assessed marks' projection, in this transaction (before the lock).
            with translate_errors(self._conn):
                new_marks = marks.project(self._conn, rows)
        if not postgres:  # SQLite: BEGIN IMMEDIATE already serialises writers
            self._write_entries(rows, new_marks)
            return
        # Live feeds read "ids above the last one seen", so ids must become visible in id order. A
        # sequence hands out ids at insert time, not at commit: without this lock, held to the end of
        # the transaction, a later id could commit first and a reader would skip the earlier one for
        # good. The lock, the rows and the commit go to the server together (psycopg's pipeline mode):
        # one round trip, and the lock is held for the server's own work, not for the client's turns.
        driver = self._conn.connection.driver_connection
        assert driver is not None
        with driver_errors(self._conn, _LOCK_TIMELINE), driver.pipeline():
            if rows:
                driver.execute(_LOCK_TIMELINE)
                self._write_entries(rows, new_marks)
            if ending:
                driver.commit()

    def _write_entries(
        self, rows: builtins.list[dict[str, Any]], new_marks: builtins.list[dict[str, Any]]
    ) -> None:
        if new_marks:
            self._run_prepared(marks.INSERT, new_marks, many=True).close()
        self._run_prepared(_INSERT_ENTRIES, rows, many=True).close()

    @staticmethod
    def _conflict(order: WorkOrder) -> Conflict:
        return Conflict(
            f"工单 {order.id} 已被他人修改，请刷新后重试", order_id=order.id, version=order.version
        )


# --- places --------------------------------------------------------------------------------------


def _place_from(row: Row[Any]) -> Place:
    return Place(row.code, PlaceKind(row.kind), row.name, row.street, row.parent, row.geometry, row.props)


class SqlPlaceRepository(_Repository):
    def upsert(self, places: Iterable[Place]) -> int:
        rows = [
            {
                "street": p.street,
                "code": p.code,
                "kind": p.kind.value,
                "name": p.name,
                "parent": p.parent,
                "props": dict(p.props),
                "geometry": dict(p.geometry),
            }
            for p in places
        ]
        self._upsert(t.places, rows)
        return len(rows)

    def get(self, street: str, code: str) -> Place:
        c = t.places.c
        row = self._run(select(t.places).where(c.street == street, c.code == code)).first()
        if row is None:
            raise NotFound(f"地点 {code} 不存在", street=street, place=code)  # "code" is the error code
        return _place_from(row)

    def list(self, street: str, kind: PlaceKind | None = None, parent: str | None = None) -> list[Place]:
        c = t.places.c
        statement = select(t.places).where(c.street == street)
        if kind is not None:
            statement = statement.where(c.kind == kind.value)
        if parent is not None:
            statement = statement.where(c.parent == parent)
        return [_place_from(row) for row in self._run(statement.order_by(c.code))]

    def kinds(self, street: str) -> dict[str, PlaceKind]:
        c = t.places.c
        rows = self._run(select(c.code, c.kind).where(c.street == street))
        return {row.code: PlaceKind(row.kind) for row in rows}


# --- people --------------------------------------------------------------------------------------


def _staff_from(row: Row[Any]) -> Staff:
    return Staff(
        row.id,
        row.name,
        row.phone,
        row.department,
        frozenset(Post(p) for p in row.posts),
        row.street,
        row.active,
    )


def _shift_from(row: Row[Any]) -> Shift:
    return Shift(row.staff, Post(row.post), row.start_at, row.end_at, row.street, row.area)


def _pair_from(row: Row[Any]) -> ABPair:
    return ABPair(row.area, row.a_staff, row.b_staff, row.swap_every_days, row.anchor_date, row.street)


class SqlPeopleRepository(_Repository):
    def upsert_departments(self, departments: Iterable[Department]) -> int:
        rows = [
            {"street": d.street, "code": d.code, "name": d.name, "kind": d.kind.value} for d in departments
        ]
        self._upsert(t.departments, rows)
        return len(rows)

    def departments(self, street: str) -> list[Department]:
        c = t.departments.c
        rows = self._run(select(t.departments).where(c.street == street).order_by(c.code))
        return [Department(r.code, r.name, DepartmentKind(r.kind), r.street) for r in rows]

    def upsert_staff(self, staff: Iterable[Staff]) -> int:
        rows = [
            {
                "id": s.id,
                "street": s.street,
                "name": s.name,
                "phone": s.phone,
                "department": s.department,
                "posts": sorted(p.value for p in s.posts),
                "active": s.active,
            }
            for s in staff
        ]
        self._upsert(t.staff, rows)
        return len(rows)

    def staff(self, street: str) -> list[Staff]:
        c = t.staff.c
        return [_staff_from(r) for r in self._run(select(t.staff).where(c.street == street).order_by(c.id))]

    def get_staff(self, staff_id: str) -> Staff:
        row = self._run(select(t.staff).where(t.staff.c.id == staff_id)).first()
        if row is None:
            raise NotFound(f"人员 {staff_id} 不存在", staff_id=staff_id)
        return _staff_from(row)

    def replace_pairs(self, street: str, pairs: Iterable[ABPair]) -> int:
        pairs = list(pairs)
        rows = [
            {
                "street": street,
                "area": p.area,
                "a_staff": p.a_staff,
                "b_staff": p.b_staff,
                "swap_every_days": p.swap_every_days,
                "anchor_date": p.anchor_date,
            }
            for p in pairs
        ]
        strays = {p.street for p in pairs} - {street}
        if strays:
            raise ValueError(f"AB pairs of {sorted(strays)} given to replace the pairs of {street}")
        self._run(delete(t.ab_pairs).where(t.ab_pairs.c.street == street))
        if rows:
            self._run(insert(t.ab_pairs), rows)
        return len(rows)

    def pairs(self, street: str) -> list[ABPair]:
        c = t.ab_pairs.c
        return [
            _pair_from(r) for r in self._run(select(t.ab_pairs).where(c.street == street).order_by(c.area))
        ]

    def pair_for_area(self, street: str, area: str) -> ABPair | None:
        c = t.ab_pairs.c
        row = self._run(select(t.ab_pairs).where(c.street == street, c.area == area)).first()
        return None if row is None else _pair_from(row)

    def add_shifts(self, shifts: Iterable[Shift]) -> int:
        rows = [
            {
                "street": s.street,
                "staff": s.staff,
                "post": s.post.value,
                "start_at": s.start,
                "end_at": s.end,
                "area": s.area,
            }
            for s in shifts
        ]
        if rows:
            self._run(insert(t.shifts), rows)
        return len(rows)

    def shifts(self, street: str, start: datetime, end: datetime) -> list[Shift]:
        """Shifts that overlap [start, end)."""
        c = t.shifts.c
        rows = self._run(
            select(t.shifts)
            .where(c.street == street, c.end_at > start, c.start_at < end)
            .order_by(c.start_at, c.id)
        )
        return [_shift_from(r) for r in rows]

    def set_position(self, street: str, staff_id: str, point: Point, at: datetime) -> None:
        """Keep a person's newest check-in (an older one arriving late changes nothing)."""
        c = t.staff_positions.c
        values = {"staff": staff_id, "street": street, "lon": point.lon, "lat": point.lat, "at": at}
        changed = self._run(
            update(t.staff_positions)
            .where(c.staff == staff_id, c.at <= at)
            .values(street=street, lon=point.lon, lat=point.lat, at=at)
        )
        if changed.rowcount == 0:
            self._run(_insert_ignoring_duplicates(self._dialect, t.staff_positions), values)

    def positions(self, street: str, since: datetime) -> dict[str, tuple[Point, datetime]]:
        c = t.staff_positions.c
        rows = self._run(select(t.staff_positions).where(c.street == street, c.at >= since))
        return {r.staff: (Point(r.lon, r.lat), r.at) for r in rows}

    def add_absence(self, absence: Absence) -> int:
        result = self._run(
            insert(t.absences).values(
                street=absence.street,
                staff=absence.staff,
                start_at=absence.start,
                end_at=absence.end,
                reason=absence.reason,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def absences(self, street: str, start: datetime, end: datetime) -> list[Absence]:
        """Leave overlapping [start, end)."""
        c = t.absences.c
        rows = self._run(
            select(t.absences)
            .where(c.street == street, c.end_at > start, c.start_at < end)
            .order_by(c.start_at, c.id)
        )
        return [Absence(r.staff, r.start_at, r.end_at, r.street, r.reason, r.id) for r in rows]

    def remove_absence(self, street: str, absence_id: int) -> bool:
        c = t.absences.c
        return self._run(delete(t.absences).where(c.street == street, c.id == absence_id)).rowcount == 1

    def on_duty(self, street: str, at: datetime) -> list[Shift]:
        c = t.shifts.c
        rows = self._run(
            select(t.shifts)
            .where(c.street == street, c.end_at > at, c.start_at <= at)
            .order_by(c.start_at, c.id)
        )
        return [_shift_from(r) for r in rows]


# --- configuration -------------------------------------------------------------------------------


class SqlConfigRepository(_Repository):
    def streets(self) -> list[tuple[str, str]]:
        c = t.streets.c
        return [(r.code, r.name) for r in self._run(select(c.code, c.name).order_by(c.code))]

    def ensure_street(self, code: str, name: str, district: str) -> None:
        self._upsert(t.streets, [{"code": code, "name": name, "district": district}])

    def policies(self, street: str) -> PolicySet | None:
        c = t.deadline_policies.c
        bodies = [r.body for r in self._run(select(c.body).where(c.street == street).order_by(c.position))]
        return PolicySet.from_list(bodies) if bodies else None

    def set_policies(self, street: str, policies: PolicySet) -> None:
        rows = [{"street": street, "position": i, "body": body} for i, body in enumerate(policies.to_list())]
        self._run(delete(t.deadline_policies).where(t.deadline_policies.c.street == street))
        self._run(insert(t.deadline_policies), rows)

    def categories(self, street: str) -> list[Category]:
        c = t.categories.c
        rows = self._run(select(t.categories).where(c.street == street).order_by(c.position))
        return [
            Category.from_dict(
                {
                    "code": r.code,
                    "name": r.name,
                    "kind": r.kind,
                    "major": r.major,
                    "department": r.department,
                    "colour": r.colour,
                    "keywords": r.keywords,
                    "policy": r.policy,
                    "description": r.description,
                    "attributes": r.attributes,
                }
            )
            for r in rows
        ]

    def set_categories(self, street: str, categories: Iterable[Category]) -> None:
        rows = [{"street": street, "position": i} | c.to_dict() for i, c in enumerate(categories)]
        self._run(delete(t.categories).where(t.categories.c.street == street))
        if rows:
            self._run(insert(t.categories), rows)


# --- tokens --------------------------------------------------------------------------------------


def _token_from(row: Row[Any]) -> TokenRecord:
    return TokenRecord(
        id=row.id,
        role=row.role,
        streets=frozenset(row.streets),
        staff_id=row.staff_id,
        name=row.name,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


class SqlTokenRepository(_Repository):
    def add(self, record: TokenRecord, token_hash: str) -> None:
        self._run(
            insert(t.tokens).values(
                id=record.id,
                token_hash=token_hash,
                role=record.role,
                streets=sorted(record.streets),
                staff_id=record.staff_id,
                name=record.name,
                created_at=record.created_at,
                expires_at=record.expires_at,
                revoked_at=record.revoked_at,
            )
        )

    def by_hash(self, token_hash: str) -> TokenRecord | None:
        row = self._run(select(t.tokens).where(t.tokens.c.token_hash == token_hash)).first()
        return None if row is None else _token_from(row)

    def revoke(self, token_id: str, at: datetime) -> bool:
        c = t.tokens.c
        # The first revocation is the one that counts; revoking again keeps its time.
        result = self._run(
            update(t.tokens)
            .where(c.id == token_id)
            .values(revoked_at=func.coalesce(c.revoked_at, literal(at, t.UtcDateTime())))
        )
        return result.rowcount > 0

    def list(self) -> builtins.list[TokenRecord]:
        c = t.tokens.c
        return [_token_from(r) for r in self._run(select(t.tokens).order_by(c.created_at, c.id))]

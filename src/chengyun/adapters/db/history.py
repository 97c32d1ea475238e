"""Order history for assessment and analysis: a period's orders with the few timeline entries that count.

A year of a street is about 100,000 orders and a million timeline entries, and it must be assessed in
seconds. So the timeline is not read: each order's assessed entries are kept beside it, as one JSON text,
in the order_marks projection (marks.py). One query returns each order as a JSON array of its columns,
its stage clocks and its marks, and msgspec decodes them in C, times included, straight into typed rows.
Python touches each order once, not each entry.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import ClassVar, NamedTuple

import msgspec
from sqlalchemy import Engine

from chengyun.adapters.db import marks
from chengyun.domain.assessment import OrderRecord
from chengyun.domain.geo import Point
from chengyun.domain.orders import OrderState
from chengyun.domain.sla import Stage


class _Clock(msgspec.Struct, frozen=True):
    """The part of a stored stage clock assessment reads (the JSON holds more); a ClockLike."""

    stage: Stage
    due_at: datetime
    done_at: datetime | None


Fetched = tuple[str, str, str | None]  # an order's JSON array, its clocks, its marks (order_marks)


class _Row(NamedTuple):
    id: int
    received_at: datetime
    category: str
    area: str | None
    grid: str | None
    building: str | None
    lon: float | None
    lat: float | None
    address: str | None
    state: OrderState
    assignee: str | None
    suspended_at: datetime | None


CHUNK = 5_000  # rows per fetch

_decode = msgspec.json.Decoder(_Row).decode
_clocks = msgspec.json.Decoder(list[_Clock]).decode
_marks = marks.decode

# SQLite keeps UtcDateTime as naive UTC text 'YYYY-MM-DD HH:MM:SS.ffffff': made RFC 3339 in SQL.
_SQLITE_TIME = "replace({0}, ' ', 'T') || 'Z'"
_SQLITE = f"""
SELECT json_array(
  o.id, {_SQLITE_TIME.format("o.received_at")}, o.category, o.area, o.grid, o.building, o.lon, o.lat,
  o.address, o.state, o.assignee,
  CASE WHEN o.suspended_at IS NULL THEN NULL ELSE {_SQLITE_TIME.format("o.suspended_at")} END
), o.clocks, m.marks
FROM orders o LEFT JOIN order_marks m ON m.order_id = o.id
WHERE o.street = :street AND o.received_at >= :since AND o.received_at < :until
"""
_POSTGRES = """
SELECT json_build_array(
  o.id, o.received_at, o.category, o.area, o.grid, o.building, o.lon, o.lat, o.address, o.state, o.assignee,
  o.suspended_at
)::text, o.clocks::text, m.marks
FROM orders o LEFT JOIN order_marks m ON m.order_id = o.id
WHERE o.street = %(street)s AND o.received_at >= %(since)s AND o.received_at < %(until)s
"""


class SqlOrderHistory:
    queries: ClassVar[Mapping[str, str]] = {"sqlite": _SQLITE, "postgresql": _POSTGRES}  # Fetched rows

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        self._query = self.queries[engine.dialect.name]

    def records(self, street: str, since: datetime, until: datetime) -> list[OrderRecord]:
        """Orders of `street` received in [since, until), oldest first."""
        params: dict[str, object] = {"street": street, "since": since, "until": until}
        if self._sqlite:  # UtcDateTime's text on SQLite (SQLAlchemy's format): compare like with like
            params |= {"since": _sqlite_text(since), "until": _sqlite_text(until)}
        points: dict[tuple[float, float], Point] = {}  # orders at one building share one point
        records = []
        for row_json, clocks_json, marks_json in self._rows(params):
            row = _decode(row_json)
            point = None
            if row.lon is not None and row.lat is not None:
                point = points.get((row.lon, row.lat))
                if point is None:
                    point = points[row.lon, row.lat] = Point(row.lon, row.lat)
            records.append(
                OrderRecord(
                    row.id,
                    row.received_at,
                    row.category,
                    row.area,
                    row.grid,
                    row.building,
                    point,
                    row.address,
                    row.state,
                    row.assignee,
                    row.suspended_at,
                    _clocks(clocks_json),
                    _marks(marks_json) if marks_json is not None else [],
                )
            )
        records.sort(key=_by_receipt)
        return records

    def _rows(self, params: dict[str, object]) -> Iterator[Fetched]:
        """The query's rows in chunks, fetched by a thread of their own: the driver works without the
        GIL (SQLite's engine, libpq), so the database gathers the next chunk while this thread decodes."""
        chunks: queue.Queue[Sequence[Fetched] | BaseException | None] = queue.Queue(maxsize=4)

        def fetch() -> None:
            try:
                # The driver's own cursor: SQLAlchemy's result machinery would cost more than the decoding.
                with self._engine.connect() as connection:
                    cursor = connection.connection.cursor()
                    try:
                        if not self._sqlite:  # compiling the plan would cost more than it saves here
                            cursor.execute("SET LOCAL jit = off")
                        cursor.execute(self._query, params)
                        while chunk := cursor.fetchmany(CHUNK):
                            chunks.put(chunk)
                    finally:
                        cursor.close()
                chunks.put(None)
            except BaseException as exc:  # handed to the reader, who raises it
                chunks.put(exc)

        fetcher = threading.Thread(target=fetch, name="history-fetch", daemon=True)
        fetcher.start()
        try:
            while (chunk := chunks.get()) is not None:
                if isinstance(chunk, BaseException):
                    raise chunk
                yield from chunk
        finally:
            while fetcher.is_alive():  # a reader that stopped early: let the fetcher finish and close
                with contextlib.suppress(queue.Empty):
                    chunks.get(timeout=0.1)
            fetcher.join()


def _sqlite_text(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _by_receipt(record: OrderRecord) -> tuple[datetime, int]:
    return record.received_at, record.id

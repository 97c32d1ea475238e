"""The sensor repository over SQLAlchemy Core: registry, live state, readings and roll-ups, dead letters,
alarms.

The hot paths (add_readings, live, save_live) talk to the driver directly: SQLite's executemany on the
unit of work's connection, and on PostgreSQL psycopg's COPY into a session temporary table followed by
one INSERT ... SELECT. Times of readings and live state are epoch milliseconds in the database.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from itertools import chain, islice
from typing import Any

import msgspec
from sqlalchemy import (
    Connection,
    CursorResult,
    Executable,
    Row,
    Select,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from chengyun.adapters.db import tables as t
from chengyun.adapters.db.repositories import translate_errors
from chengyun.domain.alarms import Alarm, AlarmState
from chengyun.domain.errors import NotFound
from chengyun.domain.geo import Point
from chengyun.domain.overview import SensorPoint
from chengyun.domain.rules import RuleKind, RuleSpec, rule_to_dict, rules_from_dicts
from chengyun.domain.sensors import Sensor, SensorKind, WatchKind
from chengyun.domain.severity import Colour
from chengyun.services.ports import (
    AlarmFeedItem,
    AlarmQuery,
    AlarmRecord,
    DeadLetter,
    PointRow,
    ReadingRow,
    SensorLive,
    SeriesPoint,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MINUTE_MS = 60_000
HOUR_MS = 3_600_000
# Bound parameters per statement on SQLite (its limit is 32,766) and ids per IN list.
_CHUNK = 5_000
# Held by a PostgreSQL transaction from its alarm-event insert to its end (see save_alarms).
ALARM_EVENTS_LOCK_KEY = 0x63790002

_json_encode = msgspec.json.Encoder().encode
_json_decode = msgspec.json.Decoder().decode


def to_ms(at: datetime) -> int:
    """Epoch milliseconds of an aware datetime."""
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at!r}: store timezone-aware datetimes only")
    return round(at.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def _floor(ms: int, step: int) -> int:
    return ms - ms % step


def _ceil(ms: int, step: int) -> int:
    return -(-ms // step) * step


def _plain(result: Iterable[Any]) -> builtins.list[Any]:
    """The rows as plain tuples to unpack."""
    return [tuple(row) for row in result]


def _cut(text: str | None, size: int) -> str | None:
    return None if text is None else _shown(text)[:size]


def _shown(text: str) -> str:
    """Untrusted text as it can be stored: PostgreSQL refuses NUL in text (a refused payload holding one
    would fail its whole batch, redelivered for ever), so it is kept as a visible `\\u0000`."""
    return text.replace("\x00", "\\u0000")


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- raw SQL of the hot paths ----------------------------------------------------------------------

_SQLITE_ADD_READINGS = (
    "INSERT OR IGNORE INTO readings (sensor_id, quantity, ts, value, street) VALUES (?, ?, ?, ?, ?)"
)
# Points a statement on SQLite (500 parameters, within every SQLite's limit of 999). `executemany` runs
# the one-row statement once a row: each row pays a statement's start and halt and the driver's release
# and retake of the interpreter's lock around it (together about a third of the insert's CPU; 6.5 → 4.4
# µs a row for 45,000 rows of 7,000 sensors; bench/README.md, "Sensor gateway on SQLite").
_SQLITE_POINTS_PER_INSERT = 100
_SQLITE_ADD_MANY_READINGS = (
    "INSERT OR IGNORE INTO readings (sensor_id, quantity, ts, value, street) VALUES "
    + ", ".join(["(?, ?, ?, ?, ?)"] * _SQLITE_POINTS_PER_INSERT)
)
_PG_READINGS_IN = (
    "CREATE TEMP TABLE IF NOT EXISTS readings_in "
    "(sensor_id text, quantity text, ts bigint, value float8, street text) ON COMMIT DELETE ROWS"
)
_PG_COPY_READINGS = "COPY readings_in (sensor_id, quantity, ts, value, street) FROM STDIN (FORMAT BINARY)"
_PG_READING_TYPES = ("text", "text", "int8", "float8", "text")
_PG_ADD_NEW_READINGS = (
    "INSERT INTO readings (sensor_id, quantity, ts, value, street) "
    "SELECT sensor_id, quantity, ts, value, street FROM readings_in"
)
_PG_ADD_READINGS = _PG_ADD_NEW_READINGS + " ON CONFLICT DO NOTHING"
_UNIQUE_VIOLATION = "23505"

# Roll-ups and retention. On SQLite the raw points of a time range are read series by series: the
# (sensor, quantity) pairs with points in the range come from the time index alone (it holds the key, no
# table lookup), then each pair's points in the table's own key order, instead of one table lookup per
# point in time order (about a third less CPU for an hour of the street's points). PostgreSQL reads the
# range by its time index.
_PG_RAW_RANGE = "readings AS s WHERE s.ts >= :lo AND s.ts < :hi"
_SQLITE_RAW_RANGE = (
    "(SELECT DISTINCT sensor_id, quantity FROM readings WHERE ts >= :lo AND ts < :hi) AS k "
    "CROSS JOIN readings AS s WHERE s.sensor_id = k.sensor_id AND s.quantity = k.quantity "
    "AND s.ts >= :lo AND s.ts < :hi"
)
# (Statements that start with INSERT, not WITH: the SQLite driver reports no rowcount for those.)
_BUCKET_UPDATE = (
    "ON CONFLICT (sensor_id, quantity, bucket) DO UPDATE SET street = excluded.street, "
    "n = excluded.n, minimum = excluded.minimum, maximum = excluded.maximum, total = excluded.total"
)
# Before any point's time: retention's minute buckets start from the oldest point there is.
_OLDEST_MS = -(2**62)

_LIVE_COLUMNS = "sensor_id, street, last_ts, last_values, state, check_at, version"
_LIVE_UPDATE = (
    "ON CONFLICT (sensor_id) DO UPDATE SET street = excluded.street, last_ts = excluded.last_ts, "
    "last_values = excluded.last_values, state = excluded.state, check_at = excluded.check_at, "
    "version = excluded.version"
)
_SQLITE_SAVE_LIVE = f"INSERT INTO sensor_live ({_LIVE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) {_LIVE_UPDATE}"
_PG_LIVE_IN = (
    "CREATE TEMP TABLE IF NOT EXISTS sensor_live_in (sensor_id text, street text, last_ts bigint, "
    "last_values text, state text, check_at bigint, version integer) ON COMMIT DELETE ROWS"
)
_PG_COPY_LIVE = f"COPY sensor_live_in ({_LIVE_COLUMNS}) FROM STDIN (FORMAT BINARY)"
_PG_LIVE_TYPES = ("text", "text", "int8", "text", "text", "int8", "int4")
_PG_SAVE_LIVE = (
    f"INSERT INTO sensor_live ({_LIVE_COLUMNS}) SELECT {_LIVE_COLUMNS} FROM sensor_live_in {_LIVE_UPDATE}"
)
_SQLITE_LIVE = "SELECT {cols} FROM sensor_live WHERE sensor_id IN ({marks})"
_SQLITE_VERSIONS = "SELECT sensor_id, version FROM sensor_live WHERE sensor_id IN ({marks})"
_PG_VERSIONS = "SELECT sensor_id, version FROM sensor_live WHERE sensor_id = ANY(%s) ORDER BY sensor_id"
# The sensors of a JSON object {id: version seen} whose stored version is another (-1: no row). One
# parameter and usually no row back, instead of every sensor's id bound and its version returned (a
# batch's 7,000 sensors: 21 → 6 ms here).
_SQLITE_MOVED = (
    "SELECT j.key, coalesce(l.version, -1) FROM json_each(?) AS j "
    "LEFT JOIN sensor_live AS l ON l.sensor_id = j.key WHERE coalesce(l.version, -1) != j.value"
)
_PG_LIVE = f"SELECT {_LIVE_COLUMNS} FROM sensor_live WHERE sensor_id = ANY(%s) ORDER BY sensor_id"


def _live_from(row: Sequence[Any]) -> SensorLive:
    sensor_id, street, last_ts, values, state, check_at, version = row
    return SensorLive(
        sensor_id,
        street,
        None if last_ts is None else from_ms(last_ts),
        _json_decode(values),
        _json_decode(state),
        None if check_at is None else from_ms(check_at),
        version,
    )


def _live_row(live: SensorLive) -> tuple[Any, ...]:
    return (
        live.sensor_id,
        live.street,
        None if live.last_ts is None else to_ms(live.last_ts),
        _json_encode(live.values).decode(),
        _json_encode(live.state).decode(),
        None if live.check_at is None else to_ms(live.check_at),
        live.version,
    )


# --- conversions ---------------------------------------------------------------------------------


def _sensor_values(sensor: Sensor) -> dict[str, Any]:
    return {
        "id": sensor.id,
        "street": sensor.street,
        "kind": sensor.kind.value,
        "lon": sensor.location.lon,
        "lat": sensor.location.lat,
        "watches": sensor.watches,
        "watch_kind": sensor.watch_kind.value,
        "units": [[name, unit] for name, unit in sensor.units.items()],
        "interval_s": sensor.period.total_seconds(),
        "rules": [rule_to_dict(r) for r in sensor.rule_set],
    }


def _sensor_from(row: Row[Any]) -> Sensor:
    return Sensor(
        id=row.id,
        street=row.street,
        kind=SensorKind(row.kind),
        location=Point(row.lon, row.lat),
        watches=row.watches,
        watch_kind=WatchKind(row.watch_kind),
        units={name: unit for name, unit in row.units},
        interval=timedelta(seconds=row.interval_s),
        rules=_rules(_json_encode(row.rules)),
    )


@functools.lru_cache(maxsize=4096)
def _rules(encoded: bytes) -> tuple[RuleSpec, ...]:
    """Rule sets by their JSON: most sensors of a kind share one, so a registry of 14,000 sensors parses
    a few dozen, not 14,000 (rule specs are frozen, safe to share)."""
    return rules_from_dicts(_json_decode(encoded))


def _alarm_values(alarm: Alarm) -> dict[str, Any]:
    return {
        "sensor_id": alarm.sensor_id,
        "rule_id": alarm.rule_id,
        "rule_kind": alarm.rule_kind.value,
        "street": alarm.street,
        "colour": alarm.colour.value,
        "state": alarm.state.value,
        "raised_at": alarm.raised_at,
        "reason": alarm.reason,
        "value": alarm.value,
        "sensor_label": alarm.sensor_label,
        "watches": alarm.watches,
        "last_raised_at": alarm.last_raised_at,
        "clear_pending_since": alarm.clear_pending_since,
        "clear_reason": alarm.clear_reason,
        "cleared_at": alarm.cleared_at,
        "acknowledged_at": alarm.acknowledged_at,
        "acknowledged_by": alarm.acknowledged_by,
        "flaps": alarm.flaps,
        "order_id": alarm.order_id,
    }


def _alarm_from(row: Row[Any]) -> Alarm:
    return Alarm(
        sensor_id=row.sensor_id,
        rule_id=row.rule_id,
        rule_kind=RuleKind(row.rule_kind),
        street=row.street,
        colour=Colour(row.colour),
        state=AlarmState(row.state),
        raised_at=row.raised_at,
        reason=row.reason,
        value=row.value,
        sensor_label=row.sensor_label,
        watches=row.watches,
        id=row.id,
        last_raised_at=row.last_raised_at,
        clear_pending_since=row.clear_pending_since,
        clear_reason=row.clear_reason,
        cleared_at=row.cleared_at,
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
        flaps=row.flaps,
        order_id=row.order_id,
    )


def _letter_from(row: Row[Any]) -> DeadLetter:
    return DeadLetter(
        code=row.code,
        reason=row.reason,
        received_at=row.received_at,
        source=row.source,
        street=row.street,
        sensor_id=row.sensor_id,
        excerpt=row.excerpt,
        topic=row.topic,
        id=row.id,
    )


_ACTIVE = [AlarmState.RAISED.value, AlarmState.ACKNOWLEDGED.value]
_STAMP = "registry"


class SqlSensorRepository:
    def __init__(self, connection: Connection) -> None:
        self._conn = connection
        self._pg = connection.dialect.name == "postgresql"
        # The raw points `s` of [:lo, :hi) as roll-ups and retention read them.
        self._raw_range = _PG_RAW_RANGE if self._pg else _SQLITE_RAW_RANGE

    # --- plumbing ---

    def _run(
        self, statement: Executable, params: Sequence[Mapping[str, Any]] | Mapping[str, Any] | None = None
    ) -> CursorResult[Any]:
        with translate_errors(self._conn):
            return self._conn.execute(statement, params)

    @contextmanager
    def _driver(self) -> Iterator[Any]:
        """A cursor of the driver's own connection (the unit of work's transaction); driver errors come
        out as SQLAlchemy's, translated like every other statement's."""
        dialect = self._conn.dialect
        dbapi = dialect.loaded_dbapi
        cursor = self._conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            with translate_errors(self._conn):
                try:
                    yield cursor
                except dbapi.Error as exc:
                    raise DBAPIError.instance(None, None, exc, dbapi.Error, dialect=dialect) from exc
        finally:
            cursor.close()

    def _upsert_rows(self, table: Any, rows: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> None:
        if self._pg:
            pg = postgresql.insert(table)
            pg_set = {c.name: pg.excluded[c.name] for c in table.columns if c.name not in keys}
            self._run(pg.on_conflict_do_update(index_elements=keys, set_=pg_set), rows)
        else:
            lite = sqlite.insert(table)
            lite_set = {c.name: lite.excluded[c.name] for c in table.columns if c.name not in keys}
            self._run(lite.on_conflict_do_update(index_elements=keys, set_=lite_set), rows)

    def _bump_stamp(self) -> None:
        reg = t.sensor_registry
        statement = (postgresql.insert(reg) if self._pg else sqlite.insert(reg)).values(name=_STAMP, stamp=1)
        self._run(statement.on_conflict_do_update(index_elements=["name"], set_={"stamp": reg.c.stamp + 1}))

    # --- registry ---

    def upsert(self, sensors: Iterable[Sensor]) -> int:
        given = {s.id: s for s in sensors}
        if not given:
            return 0
        # Only new or changed entries are written, and the stamp moves only if there are any: every
        # process reloads the whole registry when it moves, so an import that changes nothing (a gateway
        # or worker registering its sensors again at start, a nightly re-import) must not make them.
        stored: dict[str, Sensor] = {}
        for chunk in _chunks(sorted(given)):
            found = self._run(select(t.sensors).where(t.sensors.c.id.in_(chunk)))
            stored.update((row.id, _sensor_from(row)) for row in found)
        rows = [_sensor_values(s) for sensor_id, s in given.items() if stored.get(sensor_id) != s]
        for part in _chunks(rows, 1000):
            self._upsert_rows(t.sensors, part, ["id"])
        if rows:
            self._bump_stamp()
        return len(given)

    def get(self, sensor_id: str) -> Sensor:
        row = self._run(select(t.sensors).where(t.sensors.c.id == sensor_id)).first()
        if row is None:
            raise NotFound(f"传感器 {sensor_id} 不存在", sensor_id=sensor_id)
        return _sensor_from(row)

    def _filtered(
        self, statement: Select[Any], street: str | None, kind: SensorKind | None, watches: str | None
    ) -> Select[Any]:
        c = t.sensors.c
        if street is not None:
            statement = statement.where(c.street == street)
        if kind is not None:
            statement = statement.where(c.kind == kind.value)
        if watches is not None:
            statement = statement.where(c.watches == watches)
        return statement

    def list(
        self,
        street: str | None,
        kind: SensorKind | None = None,
        watches: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> builtins.list[Sensor]:
        statement = self._filtered(select(t.sensors), street, kind, watches).order_by(t.sensors.c.id)
        if limit is not None:
            statement = statement.limit(limit)
        if offset:
            statement = statement.offset(offset)
        return [_sensor_from(row) for row in self._run(statement)]

    def owners(self, sensor_ids: Iterable[str]) -> dict[str, str]:
        ids = sorted(set(sensor_ids))
        found: dict[str, str] = {}
        for chunk in _chunks(ids):
            s = t.sensors.c
            found.update(
                (row.id, row.street) for row in self._run(select(s.id, s.street).where(s.id.in_(chunk)))
            )
        return found

    def count(self, street: str | None, kind: SensorKind | None = None, watches: str | None = None) -> int:
        statement = self._filtered(select(func.count()).select_from(t.sensors), street, kind, watches)
        return int(self._run(statement).scalar_one())

    def remove(self, street: str, sensor_ids: Iterable[str]) -> int:
        ids = sorted(set(sensor_ids))
        removed = 0
        for chunk in _chunks(ids):
            result = self._run(
                delete(t.sensors).where(t.sensors.c.street == street, t.sensors.c.id.in_(chunk))
            )
            removed += result.rowcount
            self._run(
                delete(t.sensor_live).where(
                    t.sensor_live.c.street == street, t.sensor_live.c.sensor_id.in_(chunk)
                )
            )
        if removed:
            self._bump_stamp()
        return removed

    def registry_stamp(self) -> int:
        value = self._run(
            select(t.sensor_registry.c.stamp).where(t.sensor_registry.c.name == _STAMP)
        ).scalar()
        return int(value or 0)

    # --- live state ---

    def live(self, sensor_ids: Collection[str], *, lock: bool = True) -> dict[str, SensorLive]:
        ids = sorted(set(sensor_ids))
        out: dict[str, SensorLive] = {}
        if not ids:
            return out
        with self._driver() as cursor:
            if self._pg:
                # Sorted and locked in sensor order: two workers locking overlapping sets cannot deadlock.
                cursor.execute(_PG_LIVE + (" FOR UPDATE" if lock else ""), (ids,))
                for row in cursor.fetchall():
                    out[row[0]] = _live_from(row)
                return out
            # SQLite: the unit of work already holds the database's write lock.
            for chunk in _chunks(ids):
                sql = _SQLITE_LIVE.format(cols=_LIVE_COLUMNS, marks=", ".join("?" * len(chunk)))
                cursor.execute(sql, chunk)
                for row in cursor.fetchall():
                    out[row[0]] = _live_from(row)
        return out

    def versions(self, sensor_ids: Collection[str], *, lock: bool = True) -> dict[str, int]:
        ids = sorted(set(sensor_ids))
        out: dict[str, int] = {}
        if not ids:
            return out
        with self._driver() as cursor:
            if self._pg:
                cursor.execute(_PG_VERSIONS + (" FOR UPDATE" if lock else ""), (ids,))
                out.update(cursor.fetchall())
                return out
            for chunk in _chunks(ids):
                cursor.execute(_SQLITE_VERSIONS.format(marks=", ".join("?" * len(chunk))), chunk)
                out.update(cursor.fetchall())
        return out

    def moved(self, seen: Mapping[str, int], others: Collection[str] = ()) -> dict[str, int]:
        if self._pg:  # the row locks are needed anyway: every version comes back and is compared here
            stored = self.versions([*seen, *others])
            return {s: v for s, old in seen.items() if (v := stored.get(s, -1)) != old}
        if not seen:
            return {}
        with self._driver() as cursor:
            cursor.execute(_SQLITE_MOVED, (_json_encode(seen).decode(),))
            return dict(cursor.fetchall())

    def save_live(self, states: Iterable[SensorLive]) -> None:
        # One row per sensor (the last given wins): an upsert may not touch a row twice.
        rows = list({s.sensor_id: _live_row(s) for s in states}.values())
        if not rows:
            return
        with self._driver() as cursor:
            if not self._pg:
                cursor.executemany(_SQLITE_SAVE_LIVE, rows)
                return
            cursor.execute(_PG_LIVE_IN)
            with cursor.copy(_PG_COPY_LIVE) as copy:
                copy.set_types(_PG_LIVE_TYPES)
                for row in rows:
                    copy.write_row(row)
            cursor.execute(_PG_SAVE_LIVE)
            cursor.execute("DELETE FROM sensor_live_in")

    def claim_checks(self, now: datetime, limit: int) -> builtins.list[SensorLive]:
        c = t.sensor_live.c
        statement = (
            select(c.sensor_id, c.street, c.last_ts, c.last_values, c.state, c.check_at, c.version)
            .where(c.check_at.is_not(None), c.check_at <= to_ms(now))
            .order_by(c.check_at, c.sensor_id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_live_from(row) for row in self._run(statement)]

    # --- readings ---

    def add_readings(self, rows: Sequence[ReadingRow]) -> int:
        if not rows:
            return 0
        # Several quantities of one reading share its datetime: convert each distinct one once.
        cache: dict[int, int] = {}
        values: builtins.list[PointRow] = []
        append = values.append
        for row in rows:
            ts = row.ts
            key = id(ts)
            ms = cache.get(key)
            if ms is None:
                if ts.tzinfo is None:
                    raise ValueError(f"naive datetime {ts!r}: store timezone-aware datetimes only")
                ms = cache[key] = round(ts.timestamp() * 1000)
            append((row.sensor_id, row.quantity, ms, row.value, row.street))
        return self.add_points(values)

    def add_points(self, rows: Sequence[PointRow]) -> int:
        if not rows:
            return 0
        values = rows
        with self._driver() as cursor:
            if not self._pg:
                # Ingestion gives the rows sensor by sensor in id order, the table's clustering order
                # (services/ingest.py `_by_sensor`): far fewer pages touched than in arrival order.
                # Whole statements of `_SQLITE_POINTS_PER_INSERT` rows, the rest one by one; a point
                # already stored, or twice in the rows, is skipped as before (the first one stays).
                whole = len(values) - len(values) % _SQLITE_POINTS_PER_INSERT
                added = 0
                if whole:
                    flat = list(chain.from_iterable(islice(values, whole)))
                    step = 5 * _SQLITE_POINTS_PER_INSERT
                    for start in range(0, len(flat), step):
                        cursor.execute(_SQLITE_ADD_MANY_READINGS, flat[start : start + step])
                        added += cursor.rowcount
                if whole < len(values):
                    cursor.executemany(_SQLITE_ADD_READINGS, values[whole:])
                    added += cursor.rowcount
                return added
            cursor.execute(_PG_READINGS_IN)
            with cursor.copy(_PG_COPY_READINGS) as copy:
                copy.set_types(_PG_READING_TYPES)
                for value in values:
                    copy.write_row(value)
            # A plain INSERT is about twice as fast as ON CONFLICT's speculative insertion, and a
            # redelivered point is rare: try it first, and only when a point is already there do it
            # again skipping those.
            cursor.execute("SAVEPOINT add_readings")
            try:
                cursor.execute(_PG_ADD_NEW_READINGS)
            except self._conn.dialect.loaded_dbapi.IntegrityError as exc:
                if getattr(exc, "sqlstate", None) != _UNIQUE_VIOLATION:
                    raise
                cursor.execute("ROLLBACK TO SAVEPOINT add_readings")
                cursor.execute(_PG_ADD_READINGS)
            added = int(cursor.rowcount)
            # Emptied for a next batch in this transaction; the commit empties it anyway. DELETE rather
            # than TRUNCATE: a temporary table's DELETE is cheap (no WAL), TRUNCATE makes a new file.
            cursor.execute("RELEASE SAVEPOINT add_readings; DELETE FROM readings_in")
            return added

    def series(
        self, sensor_id: str, quantity: str, since: datetime, until: datetime, resolution: str
    ) -> builtins.list[SeriesPoint]:
        lo, hi = to_ms(since), to_ms(until)
        if resolution == "raw":
            r = t.readings.c
            rows = self._run(
                select(r.ts, r.value)
                .where(r.sensor_id == sensor_id, r.quantity == quantity, r.ts >= lo, r.ts < hi)
                .order_by(r.ts)
            )
            return [SeriesPoint(from_ms(ts), 1, value, value, value) for ts, value in _plain(rows)]
        if resolution == "1m":
            buckets = self._minutes(sensor_id, quantity, lo, hi)
        elif resolution == "1h":
            buckets = self._stored(t.readings_1h, sensor_id, quantity, _floor(lo, HOUR_MS), hi)
        else:
            raise ValueError(f"unknown resolution {resolution!r}: raw, 1m or 1h")
        return [
            SeriesPoint(from_ms(bucket), n, minimum, maximum, total / n)
            for bucket, n, minimum, maximum, total in buckets
        ]

    def _stored(
        self, table: Any, sensor_id: str, quantity: str, first: int, hi: int
    ) -> builtins.list[tuple[int, int, float, float, float]]:
        """The stored buckets of one series starting in [first, hi), oldest first."""
        b = table.c
        return _plain(
            self._run(
                select(b.bucket, b.n, b.minimum, b.maximum, b.total)
                .where(b.sensor_id == sensor_id, b.quantity == quantity, b.bucket >= first, b.bucket < hi)
                .order_by(b.bucket)
            )
        )

    def _minutes(
        self, sensor_id: str, quantity: str, lo: int, hi: int
    ) -> builtins.list[tuple[int, int, float, float, float]]:
        """The minute buckets of one series starting in [lo, hi), and the one `lo` falls in: computed
        from the raw points where there are any (whole minutes: the last bucket's points may lie past
        `hi`), the stored bucket where retention took them (`purge`). A minute with raw points is
        theirs alone, as a roll-up over them would have made it."""
        first, last = _floor(lo, MINUTE_MS), _ceil(hi, MINUTE_MS)
        r = t.readings.c
        minute = (r.ts - r.ts % MINUTE_MS).label("bucket")
        computed = self._run(
            select(minute, func.count(), func.min(r.value), func.max(r.value), func.sum(r.value))
            .where(r.sensor_id == sensor_id, r.quantity == quantity, r.ts >= first, r.ts < last)
            .group_by(minute)
        )
        buckets = {row[0]: row for row in self._stored(t.readings_1m, sensor_id, quantity, first, hi)}
        buckets.update((row[0], row) for row in _plain(computed))
        return [buckets[bucket] for bucket in sorted(buckets)]

    def _minute_upsert(self, lo: int, hi: int) -> int:
        """Store the minute buckets of the raw points in [lo, hi) (whole minutes when both are minute
        starts), replacing any stored one: retention's step before it deletes the points."""
        sql = (
            "INSERT INTO readings_1m (sensor_id, quantity, bucket, street, n, minimum, maximum, total) "
            f"SELECT s.sensor_id, s.quantity, s.ts - s.ts % {MINUTE_MS}, min(s.street), count(*), "
            f"min(s.value), max(s.value), sum(s.value) FROM {self._raw_range} GROUP BY 1, 2, 3 "
            + _BUCKET_UPDATE
        )
        result = self._run(text(sql).execution_options(preserve_rowcount=True), {"lo": lo, "hi": hi})
        return int(result.rowcount)

    def roll_up(self, since: datetime, until: datetime) -> int:
        lo, hi = _floor(to_ms(since), HOUR_MS), _ceil(to_ms(until), HOUR_MS)
        if hi <= lo:
            return 0
        # Each hour from its raw points, plus the stored minute buckets of the hour that hold no raw
        # point any more (purged). An upsert, not delete-and-insert: an hour with neither (all purged)
        # keeps its bucket.
        sql = (
            "INSERT INTO readings_1h (sensor_id, quantity, bucket, street, n, minimum, maximum, total) "
            "SELECT sensor_id, quantity, bucket, min(street), sum(n), min(minimum), max(maximum), sum(total) "
            f"FROM (SELECT s.sensor_id, s.quantity, s.ts - s.ts % {HOUR_MS} AS bucket, "
            "min(s.street) AS street, count(*) AS n, min(s.value) AS minimum, max(s.value) AS maximum, "
            f"sum(s.value) AS total FROM {self._raw_range} GROUP BY 1, 2, 3 "
            f"UNION ALL SELECT m.sensor_id, m.quantity, m.bucket - m.bucket % {HOUR_MS}, m.street, m.n, "
            "m.minimum, m.maximum, m.total FROM readings_1m AS m "
            "WHERE m.bucket >= :lo AND m.bucket < :hi AND NOT EXISTS (SELECT 1 FROM readings AS r "
            "WHERE r.sensor_id = m.sensor_id AND r.quantity = m.quantity "
            f"AND r.ts >= m.bucket AND r.ts < m.bucket + {MINUTE_MS})) AS u "
            # (WHERE true: SQLite would read the upsert's ON as a join's without a WHERE clause.)
            f"WHERE true GROUP BY sensor_id, quantity, bucket {_BUCKET_UPDATE}"
        )
        result = self._run(text(sql).execution_options(preserve_rowcount=True), {"lo": lo, "hi": hi})
        return int(result.rowcount)

    def purge(self, raw_before: datetime, minutes_before: datetime, hours_before: datetime) -> int:
        # Whole minutes only: a minute's stored bucket stands for all its points (see `_minutes`).
        raw_cut = _floor(to_ms(raw_before), MINUTE_MS)
        self._minute_upsert(_OLDEST_MS, raw_cut)
        deleted = self._run(delete(t.readings).where(t.readings.c.ts < raw_cut)).rowcount
        deleted += self._run(
            delete(t.readings_1m).where(t.readings_1m.c.bucket < to_ms(minutes_before))
        ).rowcount
        deleted += self._run(
            delete(t.readings_1h).where(t.readings_1h.c.bucket < to_ms(hours_before))
        ).rowcount
        return int(deleted)

    def reading_count(self, street: str | None = None) -> int:
        statement = select(func.count()).select_from(t.readings)
        if street is not None:
            statement = statement.where(t.readings.c.street == street)
        return int(self._run(statement).scalar_one())

    # --- dead letters ---

    def add_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        rows = [
            {
                "received_at": d.received_at,
                "source": d.source,
                # What a refused payload claims is untrusted: cut to the columns' sizes, never refused.
                "street": _cut(d.street, 64),
                "sensor_id": _cut(d.sensor_id, 200),
                "code": d.code[:64],
                "reason": _shown(d.reason),
                "excerpt": _shown(d.excerpt),
                "topic": _cut(d.topic, 500),
            }
            for d in letters
        ]
        if rows:
            self._run(insert(t.dead_letters), rows)

    def _letters_where(
        self, statement: Select[Any], street: str | None, code: str | None, since: datetime | None
    ) -> Select[Any]:
        d = t.dead_letters.c
        if street is not None:
            statement = statement.where(d.street == street)
        if code is not None:
            statement = statement.where(d.code == code)
        if since is not None:
            statement = statement.where(d.received_at >= since)
        return statement

    def dead_letters(
        self, street: str | None, code: str | None, since: datetime | None, limit: int, offset: int = 0
    ) -> tuple[builtins.list[DeadLetter], int]:
        d = t.dead_letters.c
        rows = self._run(
            self._letters_where(select(t.dead_letters), street, code, since)
            .order_by(d.id.desc())
            .limit(limit)
            .offset(offset)
        )
        letters = [_letter_from(row) for row in rows]
        total = self._run(
            self._letters_where(select(func.count()).select_from(t.dead_letters), street, code, since)
        ).scalar_one()
        return letters, int(total)

    def dead_letter_counts(self, street: str | None, since: datetime | None) -> dict[str, int]:
        d = t.dead_letters.c
        statement = self._letters_where(select(d.code, func.count()), street, None, since).group_by(d.code)
        return {code: int(n) for code, n in _plain(self._run(statement))}

    # --- alarms ---

    def alarms_for(self, keys: Collection[tuple[str, str]]) -> builtins.list[Alarm]:
        wanted = set(keys)
        if not wanted:
            return []
        a = t.alarms.c
        ids: builtins.list[int] = []
        for chunk in _chunks(sorted({sensor for sensor, _ in wanted})):
            rows = self._run(
                select(a.sensor_id, a.rule_id, func.max(a.id))
                .where(a.sensor_id.in_(chunk))
                .group_by(a.sensor_id, a.rule_id)
            )
            ids.extend(latest for sensor, rule, latest in _plain(rows) if (sensor, rule) in wanted)
        ids.sort()
        out: builtins.list[Alarm] = []
        for chunk in _chunks(ids):
            rows = self._run(select(t.alarms).where(a.id.in_(chunk)).order_by(a.id).with_for_update())
            out.extend(_alarm_from(row) for row in rows)
        return out

    def save_alarms(self, alarms: Iterable[Alarm]) -> None:
        alarms = builtins.list(alarms)
        # Bulk statements: an alarm storm (a block going offline) is hundreds of alarms in one batch.
        new = [a for a in alarms if a.id is None]
        old = [a for a in alarms if a.id is not None]
        if new:
            returning = insert(t.alarms).returning(t.alarms.c.id, sort_by_parameter_order=True)
            ids = self._run(returning, [_alarm_values(a) for a in new]).scalars().all()
            for alarm, alarm_id in zip(new, ids, strict=True):
                alarm.id = int(alarm_id)
        if old:
            wanted = {a.id for a in old}
            found = {row[0] for row in self._run(select(t.alarms.c.id).where(t.alarms.c.id.in_(wanted)))}
            if wanted - found:
                missing = min(i for i in wanted - found if i is not None)
                raise NotFound(f"告警 {missing} 不存在", alarm_id=missing)
            statement = update(t.alarms).where(t.alarms.c.id == bindparam("b_id"))
            self._run(statement, [{"b_id": a.id, **_alarm_values(a)} for a in old])
        history = [
            {
                "alarm_id": alarm.id,
                "street": alarm.street,
                "kind": e.kind.value,
                "at": e.at,
                "state": e.state.value,
                "colour": e.colour.value,
                "message": e.message,
            }
            for alarm in alarms
            for e in alarm.events
        ]
        for alarm in alarms:
            alarm.events.clear()
        if history:
            if self._conn.dialect.name == "postgresql":
                # A feed reads "events above the last id seen", so ids must become visible in id order:
                # held to the end of the transaction, this lock keeps another writer from taking (and
                # committing) a later id meanwhile, as the timeline's does (repositories.py).
                self._run(select(func.pg_advisory_xact_lock(ALARM_EVENTS_LOCK_KEY)))
            self._run(insert(t.alarm_events), history)

    def get_alarm(self, alarm_id: int, *, for_update: bool = False) -> Alarm:
        statement = select(t.alarms).where(t.alarms.c.id == alarm_id)
        if for_update:
            statement = statement.with_for_update()
        row = self._run(statement).first()
        if row is None:
            raise NotFound(f"告警 {alarm_id} 不存在", alarm_id=alarm_id)
        return _alarm_from(row)

    def pending_clears(self, limit: int) -> builtins.list[Alarm]:
        a = t.alarms.c
        rows = self._run(
            select(t.alarms)
            .where(a.clear_pending_since.is_not(None), a.state.in_(_ACTIVE))
            .order_by(a.clear_pending_since, a.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_alarm_from(row) for row in rows]

    def orderless_alarms(
        self, colours: Collection[Colour], since: datetime, until: datetime, limit: int
    ) -> builtins.list[Alarm]:
        a = t.alarms.c
        rows = self._run(
            select(t.alarms)
            .where(
                a.raised_at >= since,  # the raised_at index bounds the scan
                a.raised_at <= until,
                a.order_id.is_(None),
                a.state.in_(_ACTIVE),
                a.colour.in_(sorted(c.value for c in colours)),
            )
            .order_by(a.raised_at, a.id)
            .limit(limit)
        )
        return [_alarm_from(row) for row in rows]

    def _alarms_where(self, statement: Select[Any], query: AlarmQuery) -> Select[Any]:
        a = t.alarms.c
        if query.street is not None:
            statement = statement.where(a.street == query.street)
        if query.streets is not None:
            statement = statement.where(a.street.in_(sorted(query.streets)))
        if query.states:
            statement = statement.where(a.state.in_(sorted({s.value for s in query.states})))
        if query.sensor_id is not None:
            statement = statement.where(a.sensor_id == query.sensor_id)
        if query.colour is not None:
            statement = statement.where(a.colour == query.colour.value)
        if query.since is not None:
            statement = statement.where(a.raised_at >= query.since)
        return statement

    def search_alarms(self, query: AlarmQuery) -> tuple[builtins.list[Alarm], int]:
        a = t.alarms.c
        rows = self._run(
            self._alarms_where(select(t.alarms), query)
            .order_by(a.raised_at.desc(), a.id.desc())
            .limit(query.limit)
            .offset(query.offset)
        )
        found = [_alarm_from(row) for row in rows]
        total = self._run(self._alarms_where(select(func.count()).select_from(t.alarms), query)).scalar_one()
        return found, int(total)

    def alarm_history(self, alarm_id: int) -> builtins.list[AlarmRecord]:
        e = t.alarm_events.c
        rows = self._run(select(t.alarm_events).where(e.alarm_id == alarm_id).order_by(e.id))
        return [
            AlarmRecord(
                row.alarm_id, row.kind, row.at, AlarmState(row.state), Colour(row.colour), row.message
            )
            for row in rows
        ]

    def alarm_counts(self, street: str | None) -> dict[str, int]:
        a = t.alarms.c
        statement = select(a.state, func.count()).group_by(a.state)
        if street is not None:
            statement = statement.where(a.street == street)
        return {state: int(n) for state, n in _plain(self._run(statement))}

    def alarm_feed(
        self, after_id: int, streets: frozenset[str] | None, limit: int
    ) -> builtins.list[AlarmFeedItem]:
        e, a, s = t.alarm_events.c, t.alarms.c, t.sensors.c
        statement = (
            select(
                e.id,
                e.alarm_id,
                e.kind,
                e.at,
                e.street,
                e.state,
                e.colour,
                e.message,
                a.sensor_id,
                a.sensor_label,
                a.watches,
                a.order_id,
                s.lon,
                s.lat,
            )
            .join_from(t.alarm_events, t.alarms, e.alarm_id == a.id)
            .join(t.sensors, s.id == a.sensor_id, isouter=True)
            .where(e.id > after_id)
            .order_by(e.id)
            .limit(limit)
        )
        if streets is not None:
            statement = statement.where(e.street.in_(sorted(streets)))
        return [
            AlarmFeedItem(
                row.id,
                row.alarm_id,
                row.kind,
                row.at,
                row.street,
                AlarmState(row.state),
                Colour(row.colour),
                row.message,
                row.sensor_id,
                row.sensor_label,
                row.watches,
                row.order_id,
                Point(row.lon, row.lat) if row.lon is not None else None,
            )
            for row in self._run(statement)
        ]

    def last_alarm_event_id(self) -> int:
        return int(self._run(select(func.coalesce(func.max(t.alarm_events.c.id), 0))).scalar_one())

    def points(self, street: str) -> builtins.list[SensorPoint]:
        s, live = t.sensors.c, t.sensor_live.c
        statement = (
            select(s.id, s.kind, s.lon, s.lat, s.interval_s, live.last_ts)
            .join_from(t.sensors, t.sensor_live, live.sensor_id == s.id, isouter=True)
            .where(s.street == street)
            .order_by(s.id)
        )
        return [
            SensorPoint(
                sensor_id,
                SensorKind(kind),
                lon,
                lat,
                interval_s,
                None if last_ts is None else from_ms(last_ts),
            )
            for sensor_id, kind, lon, lat, interval_s, last_ts in _plain(self._run(statement))
        ]

    def last_seen(self, street: str) -> builtins.list[int | None]:
        s, live = t.sensors.c, t.sensor_live.c
        joined = t.sensors.outerjoin(t.sensor_live, live.sensor_id == s.id)
        if self._pg:  # one row holding an array: 14,000 rows of one value cost far more to fetch
            agg = func.array_agg(postgresql.aggregate_order_by(live.last_ts, s.id))
            value = self._run(select(agg).select_from(joined).where(s.street == street)).scalar()
            return list(value or [])
        statement = select(live.last_ts).select_from(joined).where(s.street == street).order_by(s.id)
        return [row[0] for row in self._run(statement)]

"""Storage of the five colours: a street's rule sets by key, what grading remembers of each order, and
the count of earlier reports of the same problem at the same place."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, bindparam, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from chengyun.adapters.db import tables as t
from chengyun.adapters.db.repositories import _Repository
from chengyun.domain.dispatch import walk_metres
from chengyun.domain.geo import Point
from chengyun.domain.severity import Colour
from chengyun.services.ports import GradeRecord


class SqlSettingsRepository(_Repository):
    def get(self, street: str, key: str) -> Any | None:
        c = t.street_settings.c
        row = self._run(select(c.body).where(c.street == street, c.key == key)).first()
        return None if row is None else row.body

    def every(self, key: str) -> dict[str, Any]:
        c = t.street_settings.c
        return {row.street: row.body for row in self._run(select(c.street, c.body).where(c.key == key))}

    def put(self, street: str, key: str, body: Any, at: datetime, by: str) -> None:
        row = {"street": street, "key": key, "body": body, "updated_at": at, "updated_by": by}
        self._upsert(t.street_settings, [row])


def _record_from(row: Row[Any]) -> GradeRecord:
    return GradeRecord(
        order_id=row.order_id,
        street=row.street,
        reported=Colour(row.reported) if row.reported else None,
        repeats=row.repeats,
        sticky=frozenset(row.sticky),
        manual=Colour(row.manual) if row.manual else None,
        absorbed=frozenset(row.absorbed),
        graded_at=row.graded_at,
    )


class SqlGradeRepository(_Repository):
    def get(self, order_id: int) -> GradeRecord | None:
        row = self._run(_GET_RECORD, {"order_id": order_id}).first()
        return None if row is None else _record_from(row)

    def records(self, order_ids: Collection[int]) -> dict[int, GradeRecord]:
        ids = sorted(order_ids)
        found: dict[int, GradeRecord] = {}
        for start in range(0, len(ids), 500):
            rows = self._run(
                select(t.order_grades).where(t.order_grades.c.order_id.in_(ids[start : start + 500]))
            )
            found.update((row.order_id, _record_from(row)) for row in rows)
        return found

    def save(self, record: GradeRecord) -> None:
        row = {
            "order_id": record.order_id,
            "street": record.street,
            "reported": record.reported.value if record.reported else None,
            "repeats": record.repeats,
            "sticky": sorted(record.sticky),
            "manual": record.manual.value if record.manual else None,
            "absorbed": sorted(record.absorbed),
            "graded_at": record.graded_at,
        }
        statement = _save_record(self._dialect)
        self._run_prepared(statement, [row]).close()  # the driver's cursor: intake's hot path

    def earlier_reports(
        self,
        street: str,
        category: str,
        since: datetime,
        before: datetime,
        point: Point | None,
        radius_m: float,
        building: str | None,
        address: str | None,
    ) -> int:
        if point is None and not building and not address:
            return 0
        params: dict[str, Any] = {"street": street, "category": category, "since": since, "before": before}
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
        # By address only when there is nothing better: then the index alone answers (ix_orders_place).
        by_address = bool(address) and point is None and not building
        if by_address:
            params["address"] = address
        statement = _reports_statement(point is not None, bool(building), by_address)
        # Straight on the driver's cursor: SQLAlchemy's work per execution cost more than the
        # query (intake runs it for every order).
        cursor = self._run_prepared(statement, [params])
        rows: Sequence[Any] = cursor.fetchall()
        cursor.close()
        return sum(1 for row in rows if _same_place(row, point, radius_m, building, address))


_GET_RECORD = select(t.order_grades).where(t.order_grades.c.order_id == bindparam("order_id"))
_SAVE_RECORD: dict[str, Any] = {}


def _save_record(dialect: str) -> Any:
    """The upsert of a grade record, built once per dialect."""
    statement = _SAVE_RECORD.get(dialect)
    if statement is None:
        insert = (
            postgresql.insert(t.order_grades) if dialect == "postgresql" else sqlite.insert(t.order_grades)
        )
        changed = {c.name: insert.excluded[c.name] for c in t.order_grades.columns if c.name != "order_id"}
        statement = _SAVE_RECORD[dialect] = insert.on_conflict_do_update(
            index_elements=["order_id"], set_=changed
        )
    return statement


_REPORTS: dict[tuple[bool, bool, bool], Select[Any]] = {}


def _reports_statement(point: bool, building: bool, address: bool) -> Select[Any]:
    """The earlier reports' query for one combination of clues, built once (building a select costs
    more than SQLite takes to run it). (street, category, received_at) answers it: one category's
    reports of the window."""
    key = (point, building, address)
    found = _REPORTS.get(key)
    if found is None:
        o = t.orders.c
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
        columns = [o.lon, o.lat, o.building] + ([o.address] if address else [])
        statement: Select[Any] = select(*columns).where(
            o.street == bindparam("street"),
            o.category == bindparam("category"),
            o.received_at >= bindparam("since"),
            o.received_at < bindparam("before"),
            or_(*near),
        )
        found = _REPORTS[key] = statement
    return found


def _same_place(
    row: Sequence[Any], point: Point | None, radius_m: float, building: str | None, address: str | None
) -> bool:
    """`row` is (lon, lat, building[, address])."""
    lon, lat, row_building = row[0], row[1], row[2]
    if building and row_building == building:
        return True
    if address and point is None and not building and row[3] == address:
        return True
    if point is None or lon is None or lat is None:
        return False
    # The box above is a square; the street grid's walking distance (as duplicates use) decides.
    return walk_metres(point, Point(lon, lat)) <= radius_m

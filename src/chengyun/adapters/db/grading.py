"""Storage of the five colours: a street's rule sets by key, what grading remembers of each order, and
the count of earlier reports of the same problem at the same place."""

from __future__ import annotations

import math
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, or_, select

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
        return self.records([order_id]).get(order_id)

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
        self._upsert(t.order_grades, [row])

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
        o = t.orders.c
        near = []
        if point is not None:
            dlat = radius_m / 111_320.0
            dlon = dlat / max(0.1, math.cos(math.radians(point.lat)))
            near.append(
                and_(
                    o.lat.between(point.lat - dlat, point.lat + dlat),
                    o.lon.between(point.lon - dlon, point.lon + dlon),
                )
            )
        if building:
            near.append(o.building == building)
        if address:
            near.append(o.address == address)
        if not near:
            return 0
        # (street, category, received_at) answers this: one category's reports of the window.
        rows = self._run(
            select(o.lon, o.lat, o.building, o.address).where(
                o.street == street,
                o.category == category,
                o.received_at >= since,
                o.received_at < before,
                or_(*near),
            )
        )
        return sum(1 for row in rows if _same_place(row, point, radius_m, building, address))


def _same_place(
    row: Row[Any], point: Point | None, radius_m: float, building: str | None, address: str | None
) -> bool:
    if (building and row.building == building) or (address and row.address == address):
        return True
    if point is None or row.lon is None or row.lat is None:
        return False
    # The box above is a square; the street grid's walking distance (as duplicates use) decides.
    return walk_metres(point, Point(row.lon, row.lat)) <= radius_m

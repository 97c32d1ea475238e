"""Order history for assessment and analysis: a period's orders with the few timeline entries that count,
read in two set queries instead of loading every order and its whole timeline."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from chengyun.adapters.db import tables as t
from chengyun.domain.assessment import ASSESSED_KINDS, ClockMark, Mark, OrderRecord
from chengyun.domain.geo import Point
from chengyun.domain.orders import OrderState
from chengyun.domain.sla import Stage

_O = t.orders.c
_T = t.timeline.c


class SqlOrderHistory:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def records(self, street: str, since: datetime, until: datetime) -> list[OrderRecord]:
        """Orders of `street` received in [since, until), oldest first."""
        in_period = (_O.street == street) & (_O.received_at >= since) & (_O.received_at < until)
        orders = select(
            _O.id,
            _O.received_at,
            _O.category,
            _O.area,
            _O.grid,
            _O.building,
            _O.lon,
            _O.lat,
            _O.address,
            _O.state,
            _O.assignee,
            _O.suspended_at,
            _O.clocks,
        ).where(in_period)
        entries = (
            select(_T.order_id, _T.at, _T.kind, _T.data)
            .where(
                _T.street == street,
                _T.kind.in_(ASSESSED_KINDS),
                _T.order_id.in_(select(_O.id).where(in_period)),
            )
            .order_by(_T.order_id, _T.seq)
        )
        marks: dict[int, list[Mark]] = defaultdict(list)
        with self._engine.connect() as connection:
            for order_id, at, kind, data in connection.execute(entries):
                marks[order_id].append(Mark(at, kind, data))
            rows = connection.execute(orders).all()
        records = [_record(row, marks.get(row.id, ())) for row in rows]
        records.sort(key=lambda r: (r.received_at, r.id))
        return records


_STATES = {s.value: s for s in OrderState}
_STAGES = {s.value: s for s in Stage}


def _record(row: Any, marks: Any) -> OrderRecord:
    return OrderRecord(
        id=row.id,
        received_at=row.received_at,
        category=row.category,
        area=row.area,
        grid=row.grid,
        building=row.building,
        point=Point(row.lon, row.lat) if row.lon is not None and row.lat is not None else None,
        address=row.address,
        state=_STATES[row.state],
        assignee=row.assignee,
        suspended_at=row.suspended_at,
        clocks=tuple(
            ClockMark(
                _STAGES[c["stage"]],
                datetime.fromisoformat(c["due_at"]),
                datetime.fromisoformat(c["done_at"]) if c["done_at"] else None,
            )
            for c in row.clocks
        ),
        marks=tuple(marks),
    )

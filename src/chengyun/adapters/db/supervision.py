"""Storage of urge (催办) and circulated (通报) notices, and the lateness that leads to them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, insert, select

from chengyun.adapters.db import tables as t
from chengyun.adapters.db.repositories import _insert_ignoring_duplicates, _Repository
from chengyun.domain.supervision import Notice, NoticeKind


class SqlNoticeRepository(_Repository):
    def add(self, notice: Notice) -> Notice | None:
        values = {
            "street": notice.street,
            "kind": notice.kind.value,
            "staff": notice.staff,
            "note": notice.note,
            "automatic": notice.automatic,
            "issued_by": notice.issued_by,
            "issued_by_name": notice.issued_by_name,
            "issued_at": notice.issued_at,
            "key": notice.key,
            "data": dict(notice.data),
        }
        # ON CONFLICT DO NOTHING on the (street, key) pair: a second worker's copy is simply not stored.
        statement = _insert_ignoring_duplicates(self._dialect, t.notices).returning(t.notices.c.id)
        row = self._run(statement, values).first()
        if row is None:
            return None
        notice_id = int(row.id)
        if notice.order_ids:
            self._run(
                insert(t.notice_orders),
                [
                    {"notice_id": notice_id, "order_id": order_id}
                    for order_id in dict.fromkeys(notice.order_ids)
                ],
            )
        return Notice(**{**notice.__dict__, "id": notice_id})

    def count(self, order_id: int, kind: NoticeKind) -> int:
        n, link = t.notices.c, t.notice_orders.c
        return int(
            self._run(
                select(func.count())
                .select_from(t.notice_orders.join(t.notices, link.notice_id == n.id))
                .where(link.order_id == order_id, n.kind == kind.value)
            ).scalar_one()
        )

    def last_about(self, street: str, staff: str) -> Notice | None:
        n = t.notices.c
        row = self._run(
            select(t.notices)
            .where(n.staff == staff, n.kind == NoticeKind.CIRCULATE.value, n.street == street)
            .order_by(n.issued_at.desc(), n.id.desc())
            .limit(1)
        ).first()
        return None if row is None else _notice_from(row, [])

    def mark_late(self, street: str, staff: str, order_id: int, event_id: int, at: datetime) -> None:
        values = {"event_id": event_id, "street": street, "staff": staff, "order_id": order_id, "at": at}
        self._run(_insert_ignoring_duplicates(self._dialect, t.lateness), values)

    def late_orders(self, street: str, staff: str, since: datetime, after: int, up_to: int) -> list[int]:
        late = t.lateness.c
        rows = self._run(
            select(late.order_id)
            .where(
                late.street == street,
                late.staff == staff,
                late.event_id > after,
                late.event_id <= up_to,
                late.at >= since,
            )
            .order_by(late.event_id)
        )
        return [int(row.order_id) for row in rows]

    def search(
        self, street: str, kind: NoticeKind | None, since: datetime | None, limit: int, offset: int
    ) -> tuple[list[Notice], int]:
        n = t.notices.c
        conditions = [n.street == street]
        if kind is not None:
            conditions.append(n.kind == kind.value)
        if since is not None:
            conditions.append(n.issued_at >= since)
        total = self._run(select(func.count()).select_from(t.notices).where(*conditions)).scalar_one()
        rows = list(
            self._run(
                select(t.notices)
                .where(*conditions)
                .order_by(n.issued_at.desc(), n.id.desc())
                .limit(limit)
                .offset(offset)
            )
        )
        orders: dict[int, list[int]] = {row.id: [] for row in rows}
        if orders:
            link = t.notice_orders.c
            for pair in self._run(
                select(link.notice_id, link.order_id)
                .where(link.notice_id.in_(sorted(orders)))
                .order_by(link.order_id)
            ):
                orders[pair.notice_id].append(pair.order_id)
        return [_notice_from(row, orders[row.id]) for row in rows], int(total)


def _notice_from(row: Row[Any], order_ids: list[int]) -> Notice:
    return Notice(
        street=row.street,
        kind=NoticeKind(row.kind),
        note=row.note,
        order_ids=tuple(order_ids),
        issued_by=row.issued_by,
        issued_by_name=row.issued_by_name,
        issued_at=row.issued_at,
        automatic=row.automatic,
        staff=row.staff,
        key=row.key,
        id=row.id,
        data=row.data,
    )

"""Storage of notifications: the in-app feed, outgoing deliveries with their tries, and how far the
notifier has read the timeline."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Table, bindparam, func, or_, select, update

from chengyun.adapters.db import tables as t
from chengyun.adapters.db.repositories import _insert_ignoring_duplicates, _Repository
from chengyun.domain.notify import Delivery, DeliveryStatus, Notification

# Built once: the notifier runs these several times a second while orders come in.
_CURSOR = (
    select(t.notify_cursor.c.last_event_id)
    .where(t.notify_cursor.c.name == bindparam("name"))
    .with_for_update()
)
_SET_CURSOR = (
    update(t.notify_cursor)
    .where(t.notify_cursor.c.name == bindparam("reader"))
    .values(last_event_id=bindparam("event_id"))
)
_CLAIM = (
    select(t.deliveries)
    .where(
        t.deliveries.c.status == DeliveryStatus.PENDING.value,
        or_(t.deliveries.c.next_try_at.is_(None), t.deliveries.c.next_try_at <= bindparam("now")),
    )
    .order_by(t.deliveries.c.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_FINISH = (
    update(t.deliveries)
    .where(t.deliveries.c.id == bindparam("delivery_id"))
    .values(
        status=bindparam("new_status"),
        attempts=bindparam("new_attempts"),
        next_try_at=bindparam("new_next_try_at"),
        last_error=bindparam("new_last_error"),
        sent_at=bindparam("new_sent_at"),
    )
)
_IGNORING: dict[tuple[str, str], Any] = {}


def _ignoring_duplicates(dialect: str, table: Table) -> Any:
    key = (dialect, table.name)
    statement = _IGNORING.get(key)
    if statement is None:
        statement = _IGNORING[key] = _insert_ignoring_duplicates(dialect, table)
    return statement


class SqlNotificationRepository(_Repository):
    def cursor(self, name: str) -> int:
        value = self._run(_CURSOR, {"name": name}).scalar()
        if value is None:
            # A reader's first round on a database it was not migrated with: start from the beginning.
            self._run(
                _insert_ignoring_duplicates(self._dialect, t.notify_cursor),
                {"name": name, "last_event_id": 0},
            )
            value = self._run(_CURSOR, {"name": name}).scalar_one()
        return int(value)

    def set_cursor(self, name: str, event_id: int) -> None:
        self._run(_SET_CURSOR, {"reader": name, "event_id": event_id})

    def add(self, notifications: Sequence[Notification]) -> int:
        if not notifications:
            return 0
        rows = [
            {
                "street": n.street,
                "recipient": n.recipient,
                "event_id": n.event_id,
                "order_id": n.order_id,
                "kind": n.kind,
                "colour": n.colour,
                "title": n.title,
                "body": n.body,
                "created_at": n.created_at,
                "read_at": n.read_at,
            }
            for n in notifications
        ]
        statement = _ignoring_duplicates(self._dialect, t.notifications)
        self._run_prepared(statement, rows, many=True).close()  # the driver's cursor: intake's hot path
        return len(rows)

    def add_deliveries(self, deliveries: Sequence[Delivery]) -> int:
        if not deliveries:
            return 0
        rows = [
            {
                "street": d.street,
                "channel": d.channel,
                "target": d.target,
                "event_id": d.event_id,
                "order_id": d.order_id,
                "kind": d.kind,
                "payload": d.payload,
                "status": d.status.value,
                "attempts": d.attempts,
                "next_try_at": d.next_try_at,
                "last_error": d.last_error,
                "created_at": d.created_at,
                "sent_at": d.sent_at,
            }
            for d in deliveries
        ]
        self._run(_ignoring_duplicates(self._dialect, t.deliveries), rows)
        return len(rows)

    def feed(
        self, recipient: str, unread_only: bool, limit: int, offset: int
    ) -> tuple[list[Notification], int, int]:
        n = t.notifications.c
        mine = [n.recipient == recipient]
        listed = [*mine, n.read_at.is_(None)] if unread_only else mine
        total = self._run(select(func.count()).select_from(t.notifications).where(*listed)).scalar_one()
        unread = self._run(
            select(func.count()).select_from(t.notifications).where(*mine, n.read_at.is_(None))
        ).scalar_one()
        rows = self._run(
            select(t.notifications).where(*listed).order_by(n.id.desc()).limit(limit).offset(offset)
        )
        return [_notification_from(row) for row in rows], int(total), int(unread)

    def mark_read(self, recipient: str, ids: Collection[int] | None, at: datetime) -> int:
        n = t.notifications.c
        conditions = [n.recipient == recipient, n.read_at.is_(None)]
        if ids is not None:
            conditions.append(n.id.in_(sorted(ids)))
        result = self._run(update(t.notifications).where(*conditions).values(read_at=at))
        return int(result.rowcount)

    def claim_deliveries(self, now: datetime, limit: int, lease_until: datetime) -> list[Delivery]:
        rows = list(self._run(_CLAIM, {"now": now, "limit": limit}))
        if rows:
            d = t.deliveries.c
            self._run(
                update(t.deliveries).where(d.id.in_([r.id for r in rows])).values(next_try_at=lease_until)
            )
        return [_delivery_from(row) for row in rows]

    def finish(self, delivery: Delivery) -> None:
        self._run(
            _FINISH,
            {
                "delivery_id": delivery.id,
                "new_status": delivery.status.value,
                "new_attempts": delivery.attempts,
                "new_next_try_at": delivery.next_try_at,
                "new_last_error": delivery.last_error,
                "new_sent_at": delivery.sent_at,
            },
        )

    def deliveries(
        self, street: str, status: str | None, limit: int, offset: int
    ) -> tuple[list[Delivery], int]:
        d = t.deliveries.c
        conditions = [d.street == street]
        if status is not None:
            conditions.append(d.status == status)
        total = self._run(select(func.count()).select_from(t.deliveries).where(*conditions)).scalar_one()
        rows = self._run(
            select(t.deliveries).where(*conditions).order_by(d.id.desc()).limit(limit).offset(offset)
        )
        return [_delivery_from(row) for row in rows], int(total)


def _notification_from(row: Row[Any]) -> Notification:
    return Notification(
        street=row.street,
        recipient=row.recipient,
        event_id=row.event_id,
        kind=row.kind,
        title=row.title,
        body=row.body,
        created_at=row.created_at,
        order_id=row.order_id,
        colour=row.colour,
        read_at=row.read_at,
        id=row.id,
    )


def _delivery_from(row: Row[Any]) -> Delivery:
    return Delivery(
        street=row.street,
        channel=row.channel,
        target=row.target,
        event_id=row.event_id,
        kind=row.kind,
        payload=dict(row.payload),
        created_at=row.created_at,
        order_id=row.order_id,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        next_try_at=row.next_try_at,
        last_error=row.last_error,
        sent_at=row.sent_at,
        id=row.id,
    )

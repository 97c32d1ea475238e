"""Storage of notifications: the in-app feed, outgoing deliveries with their tries, and how far the
notifier has read the timeline."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, or_, select, update

from chengyun.adapters.db import tables as t
from chengyun.adapters.db.repositories import _insert_ignoring_duplicates, _Repository
from chengyun.domain.notify import Delivery, DeliveryStatus, Notification


class SqlNotificationRepository(_Repository):
    def cursor(self, name: str) -> int:
        c = t.notify_cursor.c
        value = self._run(select(c.last_event_id).where(c.name == name).with_for_update()).scalar()
        if value is None:
            # A reader's first round on a database it was not migrated with: start from the beginning.
            self._run(
                _insert_ignoring_duplicates(self._dialect, t.notify_cursor),
                {"name": name, "last_event_id": 0},
            )
            value = self._run(select(c.last_event_id).where(c.name == name).with_for_update()).scalar_one()
        return int(value)

    def set_cursor(self, name: str, event_id: int) -> None:
        c = t.notify_cursor.c
        self._run(update(t.notify_cursor).where(c.name == name).values(last_event_id=event_id))

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
        self._run(_insert_ignoring_duplicates(self._dialect, t.notifications), rows)
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
        self._run(_insert_ignoring_duplicates(self._dialect, t.deliveries), rows)
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
        d = t.deliveries.c
        rows = list(
            self._run(
                select(t.deliveries)
                .where(
                    d.status == DeliveryStatus.PENDING.value,
                    or_(d.next_try_at.is_(None), d.next_try_at <= now),
                )
                .order_by(d.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if rows:
            self._run(
                update(t.deliveries).where(d.id.in_([r.id for r in rows])).values(next_try_at=lease_until)
            )
        return [_delivery_from(row) for row in rows]

    def finish(self, delivery: Delivery) -> None:
        d = t.deliveries.c
        self._run(
            update(t.deliveries)
            .where(d.id == delivery.id)
            .values(
                status=delivery.status.value,
                attempts=delivery.attempts,
                next_try_at=delivery.next_try_at,
                last_error=delivery.last_error,
                sent_at=delivery.sent_at,
            )
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

"""Storage of the audit log: inserts and reads, never an update; deletes only of what a prune archived
(the database's triggers, migration 0012, refuse the rest)."""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, insert, select
from sqlalchemy.exc import IntegrityError

from chengyun.adapters.db import tables as t
from chengyun.adapters.db.repositories import _Repository
from chengyun.domain.errors import InvalidInput
from chengyun.services.audit import KEEP_DAYS, AuditAction, AuditEntry


class SqlAuditRepository(_Repository):
    def add(self, entries: Sequence[AuditEntry]) -> None:
        self._run(
            insert(t.audit_log),
            [
                {
                    "at": e.at,
                    "actor_id": e.actor_id,
                    "actor_name": e.actor_name,
                    "role": e.role,
                    "action": e.action.value,
                    "subject": e.subject,
                    "streets": sorted(e.streets),
                    "details": e.details,
                }
                for e in entries
            ],
        )

    def list(
        self, streets: frozenset[str] | None, since: datetime | None, action: str | None, limit: int
    ) -> builtins.list[AuditEntry]:
        c = t.audit_log.c
        query = select(t.audit_log).order_by(c.id.desc())
        if since is not None:
            query = query.where(c.at >= since)
        if action is not None:
            query = query.where(c.action == action)
        if streets is None:
            return [_entry(r) for r in self._run(query.limit(limit))]
        # The street filter on the JSON list is done here, the same on SQLite and PostgreSQL, reading
        # newest first until `limit` match. Entries of no street (district tokens) are the district's only.
        found: builtins.list[AuditEntry] = []
        for row in self._run(query.execution_options(yield_per=500)):
            e = _entry(row)
            if e.streets and e.streets <= streets:
                found.append(e)
                if len(found) == limit:
                    break
        return found

    def older_than(self, before: datetime) -> Iterator[AuditEntry]:
        c = t.audit_log.c
        query = select(t.audit_log).where(c.at < before).order_by(c.id)
        for row in self._run(query.execution_options(yield_per=1000)):
            yield _entry(row)

    def delete_older_than(self, before: datetime, up_to_id: int) -> int:
        c = t.audit_log.c
        try:
            return self._run(delete(t.audit_log).where(c.at < before, c.id <= up_to_id)).rowcount
        except IntegrityError as exc:  # the database's guard (migration 0012) refused: too recent
            raise InvalidInput(
                f"数据库拒绝删除：审计日志只能删除 {KEEP_DAYS} 天以前的记录（按数据库服务器的时间）"
            ) from exc


def _entry(row: Row[Any]) -> AuditEntry:
    return AuditEntry(
        at=row.at,
        actor_id=row.actor_id,
        actor_name=row.actor_name,
        role=row.role,
        action=AuditAction(row.action),
        subject=row.subject,
        streets=frozenset(row.streets),
        details=dict(row.details),
        id=row.id,
    )

"""The audit log (审计日志): who read a complainant's contact, who issued or revoked a token, who replaced
a street's people and their posts. Entries are appended in the transaction of what they record (tokens) or
right after the answer is decided (reads); nothing updates them. Admins read their streets'.

Retention: entries are kept at least KEEP_DAYS (网络安全法 第二十一条: network logs for no less than six
months; the database's triggers refuse earlier deletes, migration 0012). Older ones may be pruned, and only
by handing each to an archive first, in the transaction that deletes them; the prune is itself an entry."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from chengyun.domain.access import Actor, Role, require_role, sees_contact
from chengyun.domain.errors import InvalidInput
from chengyun.domain.orders import WorkOrder
from chengyun.services.ports import Clock, UnitOfWorkFactory


class AuditAction(StrEnum):
    CONTACT_VIEWED = "contact_viewed"
    TOKEN_ISSUED = "token_issued"
    TOKEN_REVOKED = "token_revoked"
    STAFF_REPLACED = "staff_replaced"
    RESIDENTS_VIEWED = "residents_viewed"
    AUDIT_PRUNED = "audit_pruned"

    @property
    def label(self) -> str:
        return AUDIT_LABELS[self]


AUDIT_LABELS = {
    AuditAction.CONTACT_VIEWED: "查看诉求人联系方式",
    AuditAction.TOKEN_ISSUED: "签发令牌",
    AuditAction.TOKEN_REVOKED: "吊销令牌",
    AuditAction.STAFF_REPLACED: "导入人员与岗位",
    AuditAction.RESIDENTS_VIEWED: "查看居民姓名与电话",
    AuditAction.AUDIT_PRUNED: "归档并清理审计日志",
}
KEEP_DAYS = 180  # the least an entry is kept
MAX_IDS = 500  # the records named in one residents_viewed entry
COMMAND_LINE = ("cli", "命令行", "admin")  # who acts when nobody signed in: the `chengyun` command


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor_id: str
    actor_name: str
    role: str
    action: AuditAction
    subject: str  # "order:12", "token:ab12…", "staff:JAS"
    streets: frozenset[str]  # where it belongs; empty: the district
    details: dict[str, Any] = field(default_factory=dict)
    id: int | None = None


class AuditRepository(Protocol):
    def add(self, entries: Sequence[AuditEntry]) -> None: ...

    def list(
        self, streets: frozenset[str] | None, since: datetime | None, action: str | None, limit: int
    ) -> list[AuditEntry]:
        """Newest first; `streets` None: all, else the entries of any of these streets."""
        ...

    def older_than(self, before: datetime) -> Iterator[AuditEntry]:
        """The entries from before `before`, oldest first."""
        ...

    def delete_older_than(self, before: datetime, up_to_id: int) -> int:
        """Deletes the entries from before `before` with ids up to `up_to_id`; how many."""
        ...


class AuditArchive(Protocol):
    """Where pruned entries go before they are deleted (a file, `adapters/audit_archive.py`)."""

    def write(self, entry: AuditEntry) -> None: ...

    def seal(self) -> None:
        """Makes everything written durable; called before the deletes are committed."""
        ...


def entry(
    by: Actor | None,
    at: datetime,
    action: AuditAction,
    subject: str,
    streets: Iterable[str],
    **details: Any,
) -> AuditEntry:
    who = COMMAND_LINE if by is None else (by.who.id, by.who.name, by.role.value)
    return AuditEntry(at, who[0], who[1], who[2], action, subject, frozenset(streets), details)


class Audit:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def contacts_viewed(self, actor: Actor, orders: Iterable[WorkOrder]) -> None:
        """Record that `actor` was shown the complainants of those of `orders` it sees in full."""
        now = self._clock.now()
        entries = [
            entry(actor, now, AuditAction.CONTACT_VIEWED, f"order:{o.id}", [o.street])
            for o in orders
            if o.complainants and sees_contact(actor, o)
        ]
        if entries:
            self._append(entries)

    def residents_viewed(self, actor: Actor, street: str, what: str, ids: Sequence[object]) -> None:
        """Record that `actor` was shown, in full, the names and phones of residents in `what` (bookings,
        signups, households…) of `street`: one entry per answer, with the records' ids (the first
        MAX_IDS of them) and how many. Callers pass only what they showed unmasked."""
        if not ids:
            return
        shown = [str(i) for i in ids[:MAX_IDS]]
        subject = f"{what}:{street}"
        now = self._clock.now()
        self._append(
            [entry(actor, now, AuditAction.RESIDENTS_VIEWED, subject, [street], count=len(ids), ids=shown)]
        )

    def staff_replaced(self, actor: Actor, street: str, count: int) -> None:
        now = self._clock.now()
        self._append(
            [entry(actor, now, AuditAction.STAFF_REPLACED, f"staff:{street}", [street], count=count)]
        )

    def _append(self, entries: Sequence[AuditEntry]) -> None:
        with self._uow() as uow:
            uow.audit.add(entries)
            uow.commit()

    def entries(
        self,
        actor: Actor | None,
        since: datetime | None = None,
        action: AuditAction | None = None,
        limit: int = 200,
    ) -> list[AuditEntry]:
        """The log, newest first: a district admin (or the command line: None) reads all of it, a street
        admin its streets' entries."""
        if actor is not None:
            require_role(actor, {Role.ADMIN}, "查看审计日志")
        streets = None if actor is None or actor.is_district else actor.streets
        with self._uow() as uow:
            return uow.audit.list(streets, since, action.value if action else None, limit)

    def prune(self, before: datetime, archive: AuditArchive, **details: Any) -> int:
        """Writes every entry from before `before` to `archive`, oldest first, seals it, then deletes them
        and records the prune (with `details`, such as where the archive went), in one transaction: if the
        archive fails, nothing is deleted. Refuses a `before` less than KEEP_DAYS ago. How many it pruned."""
        now = self._clock.now()
        if before > now - timedelta(days=KEEP_DAYS):
            raise InvalidInput(
                f"审计日志至少保留 {KEEP_DAYS} 天（网络安全法：网络日志留存不少于六个月），"
                f"只能清理 {(now - timedelta(days=KEEP_DAYS)).date()} 以前的记录"
            )
        with self._uow() as uow:
            count, last = 0, 0
            for found in uow.audit.older_than(before):
                archive.write(found)
                count, last = count + 1, found.id or last
            archive.seal()
            if count:
                uow.audit.delete_older_than(before, last)
            pruned = entry(
                None,
                now,
                AuditAction.AUDIT_PRUNED,
                "audit",
                [],
                before=before.isoformat(),
                count=count,
                **details,
            )
            uow.audit.add([pruned])
            uow.commit()
        return count

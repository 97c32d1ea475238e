"""What the community services share: who may do what, the stall holder's organisation, lookup codes."""

from __future__ import annotations

import secrets
from datetime import datetime

from chengyun.domain.access import (
    COMMUNITY_READERS,
    COMMUNITY_STAFF,
    Actor,
    Role,
    require_role,
    require_street,
)
from chengyun.domain.errors import InvalidInput, NotFound, PermissionDenied
from chengyun.domain.orders import mask_name, mask_phone
from chengyun.services.ports import UnitOfWork


def new_code(prefix: str) -> str:
    """A resident's key to a booking, sign-up or application: unguessable, short enough to copy."""
    return f"{prefix}-{secrets.token_urlsafe(9)}"


def may_run(actor: Actor, street: str, what: str) -> None:
    require_role(actor, COMMUNITY_STAFF, what)
    require_street(actor, street)


def may_read(actor: Actor, street: str, what: str, stall_holders: bool = False) -> None:
    """Readers of the street's programs; stall holders too where `stall_holders` (they then see only
    what is theirs)."""
    require_role(actor, COMMUNITY_READERS | ({Role.STALL_HOLDER} if stall_holders else set()), what)
    require_street(actor, street)


def sees_residents(actor: Actor) -> bool:
    """Whether residents' names and phones are shown in full (else masked: 王**, 138****5678)."""
    return actor.role in COMMUNITY_STAFF


def masked(actor: Actor, name: str, phone: str) -> tuple[str, str]:
    return (name, phone) if sees_residents(actor) else (mask_name(name), mask_phone(phone))


def org_of(uow: UnitOfWork, actor: Actor, street: str) -> str | None:
    """The organisation a stall holder speaks for (None for staff); PermissionDenied for anyone else."""
    if actor.role is not Role.STALL_HOLDER:
        return None
    bound = uow.community.account(actor.token_id or "")
    if bound is None or bound[0] != street:
        raise PermissionDenied("该摊主令牌未绑定本街道的服务单位", street=street)
    return bound[1]


def known_street(uow: UnitOfWork, street: str | None) -> str:
    """The street of a public (token-less) request: the one named, or the deployment's only street."""
    streets = [code for code, _ in uow.config.streets()]
    if street:
        if street not in streets:
            raise NotFound(f"街道 {street} 不存在", street=street)
        return street
    if len(streets) == 1:
        return streets[0]
    raise InvalidInput("请用 street 参数指明街道", code="street_required")


def aware(at: datetime, field: str) -> datetime:
    if at.tzinfo is None:
        raise InvalidInput(f"{field} 必须带时区", field=field)
    return at

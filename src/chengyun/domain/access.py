"""Who may do what: roles, the acting principal, and the rules for each order action.

Area managers act only on orders of the area they serve as A, or on orders routed to them (as B or
by the dispatcher). Complainant contacts are shown only to roles that need them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from chengyun.domain.errors import PermissionDenied
from chengyun.domain.orders import Action, Who, WorkOrder


class Role(StrEnum):
    ADMIN = "admin"
    DIRECTOR = "director"
    DUTY_OFFICER = "duty_officer"
    HOTLINE_HANDLER = "hotline_handler"
    AREA_MANAGER = "area_manager"
    PATROL_OBSERVER = "patrol_observer"
    CHIEF_RESPONDER = "chief_responder"
    HOTLINE_SYSTEM = "hotline_system"  # the city 12345 platform pushing orders
    SENSOR_SYSTEM = "sensor_system"  # gateways and the alarm engine
    COMMUNITY_WORKER = "community_worker"  # runs the community programs (party-mass service center)
    STALL_HOLDER = "stall_holder"  # an organisation's stall at the market, or an employer at a job fair

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.ADMIN: "管理员",
    Role.DIRECTOR: "城运中心主任",
    Role.DUTY_OFFICER: "值班长",
    Role.HOTLINE_HANDLER: "工单受理员",
    Role.AREA_MANAGER: "专管员",
    Role.PATROL_OBSERVER: "首席观察员",
    Role.CHIEF_RESPONDER: "首席回应师",
    Role.HOTLINE_SYSTEM: "12345 对接系统",
    Role.SENSOR_SYSTEM: "感知设备系统",
    Role.COMMUNITY_WORKER: "社区工作者",
    Role.STALL_HOLDER: "摊主（服务单位）",
}

SUPERVISORS = frozenset({Role.ADMIN, Role.DIRECTOR, Role.DUTY_OFFICER})
DISPATCHERS = SUPERVISORS | {Role.HOTLINE_HANDLER}
CREATORS = DISPATCHERS | {
    Role.AREA_MANAGER,
    Role.PATROL_OBSERVER,
    Role.CHIEF_RESPONDER,
    Role.HOTLINE_SYSTEM,
    Role.SENSOR_SYSTEM,
}
READERS = frozenset(Role) - {Role.SENSOR_SYSTEM, Role.COMMUNITY_WORKER, Role.STALL_HOLDER}
# Roles that see complainants' names and phones on every order; area managers see them on the orders
# they handle. Everyone else sees them masked.
CONTACT_READERS = SUPERVISORS | {Role.HOTLINE_HANDLER, Role.CHIEF_RESPONDER, Role.HOTLINE_SYSTEM}

# Actions by the people handling the order (the assignee), and who else may do them.
FIELD_ACTIONS = frozenset(
    {
        Action.RESPOND,
        Action.ARRIVE,
        Action.HANDLE,
        Action.PLAN,
        Action.RETURN,
        Action.REQUEST_EXTENSION,
        Action.REPLY_SUPERVISION,
    }
)
ALSO_ALLOWED: dict[Action, frozenset[Role]] = {
    Action.DISPATCH: DISPATCHERS,
    Action.REASSIGN: DISPATCHERS,
    Action.RESPOND: frozenset({Role.HOTLINE_HANDLER, Role.CHIEF_RESPONDER}),  # 先联 by the hotline desk
    Action.CLOSE_LOOP: SUPERVISORS | {Role.CHIEF_RESPONDER, Role.HOTLINE_HANDLER},
    Action.CLOSE: SUPERVISORS | {Role.CHIEF_RESPONDER, Role.HOTLINE_HANDLER},
    Action.DECIDE_EXTENSION: SUPERVISORS,
    Action.SUSPEND: SUPERVISORS,
    Action.RESUME: SUPERVISORS,
    Action.REOPEN: SUPERVISORS | {Role.CHIEF_RESPONDER, Role.HOTLINE_HANDLER},
    Action.MERGE: DISPATCHERS,
    Action.SUPERVISE: SUPERVISORS,
    Action.REGRADE: DISPATCHERS,
    Action.URGE: SUPERVISORS,
    Action.CIRCULATE: SUPERVISORS,
    Action.RECLASSIFY: DISPATCHERS,
    Action.NOTE: DISPATCHERS | {Role.CHIEF_RESPONDER, Role.PATROL_OBSERVER},
}


# Community programs (domain/community): community workers and supervisors run them and see residents'
# names and phones; every reader of the street sees their figures and the party grid. A stall holder sees
# the bookings of its own stalls and the applications to its own posts, with residents masked. Residents
# need no token: they book, sign up and apply on the public routes, and keep the code they are given.
COMMUNITY_STAFF = SUPERVISORS | {Role.COMMUNITY_WORKER}
COMMUNITY_READERS = READERS | {Role.COMMUNITY_WORKER}


@dataclass(frozen=True)
class Actor:
    """The authenticated principal behind a request: a staff member (or a system) in one role."""

    role: Role
    streets: frozenset[str]
    staff_id: str | None = None
    name: str = ""
    token_id: str | None = None

    @property
    def who(self) -> Who:
        return Who(self.staff_id or f"token:{self.token_id}", self.name or self.role.label)

    @property
    def is_district(self) -> bool:
        return self.role is Role.ADMIN and not self.streets

    def sees_street(self, street: str) -> bool:
        return self.is_district or street in self.streets


def sees_token(actor: Actor, streets: frozenset[str]) -> bool:
    """Whether `actor` may list or revoke a token of `streets`: a district admin every token, a street
    admin those of its own streets only (not a district token, which has none)."""
    return actor.is_district or (bool(streets) and streets <= actor.streets)


def require_role(actor: Actor, allowed: Collection[Role], what: str) -> None:
    if actor.role not in allowed:
        raise PermissionDenied(f"{actor.role.label}无权{what}", role=actor.role.value)


def require_street(actor: Actor, street: str) -> None:
    if not actor.sees_street(street):
        raise PermissionDenied("无权访问其他街道的数据", street=street)


def check_order_action(actor: Actor, action: Action, order: WorkOrder, a_of_area: str | None) -> None:
    """Refuse `action` on `order` unless `actor` may do it. `a_of_area` is who serves the order's area
    as A today (the area manager)."""
    require_street(actor, order.street)
    if actor.role in ALSO_ALLOWED.get(action, frozenset()):
        return
    if action in FIELD_ACTIONS or action in (Action.CLOSE_LOOP, Action.NOTE):
        if actor.staff_id is not None and _handles(actor, order, a_of_area):
            return
        raise PermissionDenied(f"只有本工单的承办人可以{action.label}", action=action.value)
    raise PermissionDenied(
        f"{actor.role.label}无权{action.label}", action=action.value, role=actor.role.value
    )


def _handles(actor: Actor, order: WorkOrder, a_of_area: str | None) -> bool:
    if order.assignee is not None:
        return actor.staff_id == order.assignee
    return actor.role is Role.AREA_MANAGER and actor.staff_id == a_of_area


def sees_contact(actor: Actor, order: WorkOrder) -> bool:
    return sees_contact_on(actor, order.street, order.assignee)


def sees_contact_on(actor: Actor, street: str, assignee: str | None) -> bool:
    """Whether the actor may see the complainant's contact on an order of that street and assignee:
    their name and phone, and phone numbers written into the order's description and notes."""
    if not actor.sees_street(street):
        return False
    return actor.role in CONTACT_READERS or (actor.staff_id is not None and actor.staff_id == assignee)

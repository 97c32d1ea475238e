"""Who may do what to an order, and who sees the complainant."""

from __future__ import annotations

import pytest

from builders import MANAGER, PARTNER, STREET, an_order, dispatched
from chengyun.domain.access import Actor, Role, check_order_action, sees_contact
from chengyun.domain.errors import PermissionDenied
from chengyun.domain.orders import Action


def actor(role: Role, staff: str | None = None, street: str = STREET) -> Actor:
    return Actor(role, frozenset({street}), staff, "某人")


def test_only_the_assignee_does_the_field_work() -> None:
    order = dispatched(an_order(), to=MANAGER)
    check_order_action(actor(Role.AREA_MANAGER, MANAGER.id), Action.ARRIVE, order, MANAGER.id)
    with pytest.raises(PermissionDenied, match="承办人"):
        check_order_action(actor(Role.AREA_MANAGER, PARTNER.id), Action.ARRIVE, order, MANAGER.id)


def test_the_b_partner_acts_on_orders_routed_to_them() -> None:
    order = dispatched(an_order(), to=PARTNER)
    check_order_action(actor(Role.AREA_MANAGER, PARTNER.id), Action.RESPOND, order, MANAGER.id)
    with pytest.raises(PermissionDenied):
        check_order_action(actor(Role.AREA_MANAGER, MANAGER.id), Action.RESPOND, order, MANAGER.id)


def test_the_area_manager_of_the_area_may_take_up_an_unassigned_order() -> None:
    order = an_order()
    check_order_action(actor(Role.AREA_MANAGER, MANAGER.id), Action.NOTE, order, MANAGER.id)
    with pytest.raises(PermissionDenied):
        check_order_action(actor(Role.AREA_MANAGER, "m9"), Action.NOTE, order, MANAGER.id)


@pytest.mark.parametrize(
    "action", [Action.SUSPEND, Action.DECIDE_EXTENSION, Action.SUPERVISE, Action.DISPATCH]
)
def test_area_managers_cannot_supervise_or_dispatch(action: Action) -> None:
    order = dispatched(an_order(), to=MANAGER)
    with pytest.raises(PermissionDenied):
        check_order_action(actor(Role.AREA_MANAGER, MANAGER.id), action, order, MANAGER.id)
    check_order_action(actor(Role.DUTY_OFFICER, "o1"), action, order, MANAGER.id)


def test_the_hotline_desk_may_do_the_first_contact() -> None:
    order = dispatched(an_order(), to=MANAGER)
    check_order_action(actor(Role.HOTLINE_HANDLER, "h1"), Action.RESPOND, order, None)
    with pytest.raises(PermissionDenied):
        check_order_action(actor(Role.HOTLINE_HANDLER, "h1"), Action.ARRIVE, order, None)


def test_nobody_acts_on_another_streets_orders() -> None:
    order = dispatched(an_order(), to=MANAGER)
    with pytest.raises(PermissionDenied, match="其他街道"):
        check_order_action(actor(Role.DIRECTOR, "d1", street="elsewhere"), Action.SUSPEND, order, None)


def test_systems_never_act_on_orders() -> None:
    order = dispatched(an_order(), to=MANAGER)
    for role in (Role.SENSOR_SYSTEM, Role.HOTLINE_SYSTEM):
        with pytest.raises(PermissionDenied):
            check_order_action(actor(role), Action.CLOSE, order, None)


def test_complainant_contacts_are_for_those_who_call_back_and_the_assignee() -> None:
    order = dispatched(an_order(), to=MANAGER)
    assert sees_contact(actor(Role.HOTLINE_HANDLER, "h1"), order)
    assert sees_contact(actor(Role.AREA_MANAGER, MANAGER.id), order)
    assert not sees_contact(actor(Role.AREA_MANAGER, PARTNER.id), order)
    assert not sees_contact(actor(Role.PATROL_OBSERVER, "p1"), order)
    assert not sees_contact(actor(Role.DIRECTOR, "d1", street="elsewhere"), order)

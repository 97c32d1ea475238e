"""Searching orders: each filter of OrderQuery picks the right orders, on both engines."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from builders import MANAGER, OTHER_STREET, PARTNER, POLICY, an_order, at, dispatched
from chengyun.domain.orders import OrderState, WorkOrder
from chengyun.domain.severity import Colour
from chengyun.services.ports import OrderQuery, UnitOfWorkFactory


@dataclass
class Orders:
    """A small street's day; each name says what makes the order stand out."""

    pothole: WorkOrder
    red_in_a2: WorkOrder
    responded: WorkOrder
    other_street: WorkOrder
    latin_text: WorkOrder

    def ids(self, *names: str) -> set[int]:
        return {getattr(self, name).id for name in names}


@pytest.fixture
def orders(uow_factory: UnitOfWorkFactory) -> Orders:
    pothole = dispatched(an_order(now=at(0), description="路面坑洞，车辆颠簸", address="南京西路 100 号"))
    red_in_a2 = an_order(now=at(10), area="a2", colour=Colour.RED, category="200101", address="石门一路 5 号")
    responded = dispatched(an_order(now=at(20), address="江宁路 8 号"), at(21), PARTNER)
    responded.respond(at(22), PARTNER, POLICY)
    other_street = an_order(now=at(30), street=OTHER_STREET, address="愚园路 3 号")
    latin_text = an_order(now=at(40), description="Broken STREET lamp 100% dark", address="Wulumuqi Rd 12")
    built = Orders(pothole, red_in_a2, responded, other_street, latin_text)
    with uow_factory() as uow:
        for order in (pothole, red_in_a2, responded, other_street, latin_text):
            uow.orders.add(order, POLICY)
        uow.commit()
    return built


QUERIES: dict[str, tuple[OrderQuery, tuple[str, ...]]] = {
    "everything": (OrderQuery(), ("pothole", "red_in_a2", "responded", "other_street", "latin_text")),
    "street": (OrderQuery(street=OTHER_STREET), ("other_street",)),
    "streets allowed": (OrderQuery(streets=frozenset({OTHER_STREET, "x"})), ("other_street",)),
    "no streets allowed": (OrderQuery(streets=frozenset()), ()),
    "states": (
        OrderQuery(states=(OrderState.DISPATCHED, OrderState.RESPONDED)),
        ("pothole", "responded"),
    ),
    "area": (OrderQuery(area="a2"), ("red_in_a2",)),
    "category": (OrderQuery(category="200101"), ("red_in_a2",)),
    "colour": (OrderQuery(colour=Colour.RED), ("red_in_a2",)),
    "assignee": (OrderQuery(assignee=MANAGER.id), ("pothole",)),
    # Respond is due 5 minutes after receipt; `responded` now waits on arrive, due 15 after receipt.
    "overdue at 26": (OrderQuery(overdue_at=at(26)), ("pothole", "red_in_a2")),
    "overdue at 36": (OrderQuery(overdue_at=at(36)), ("pothole", "red_in_a2", "responded", "other_street")),
    "since": (OrderQuery(since=at(20)), ("responded", "other_street", "latin_text")),
    "until": (OrderQuery(until=at(20)), ("pothole", "red_in_a2")),
    "since and until": (OrderQuery(since=at(10), until=at(30)), ("red_in_a2", "responded")),
    "text in description": (OrderQuery(text="坑洞"), ("pothole",)),
    "text in address": (OrderQuery(text="江宁路"), ("responded",)),
    "text in any case": (OrderQuery(text="street LAMP"), ("latin_text",)),
    "text with a wildcard character": (OrderQuery(text="100%"), ("latin_text",)),
    "text matching nothing": (OrderQuery(text="_"), ()),
    "filters together": (
        OrderQuery(street="nanjingxi", text="路", states=(OrderState.RECEIVED,)),
        ("red_in_a2",),
    ),
}


@pytest.mark.parametrize("name", list(QUERIES))
def test_each_filter_returns_exactly_the_matching_orders(
    name: str, orders: Orders, uow_factory: UnitOfWorkFactory
) -> None:
    query, expected = QUERIES[name]

    with uow_factory() as uow:
        page = uow.orders.search(query)

    assert {o.id for o in page.items} == orders.ids(*expected)
    assert page.total == len(expected)


def test_the_ids_filter_returns_only_those_orders(orders: Orders, uow_factory: UnitOfWorkFactory) -> None:
    wanted = orders.ids("pothole", "latin_text")

    with uow_factory() as uow:
        page = uow.orders.search(OrderQuery(ids=sorted(wanted)))

    assert {o.id for o in page.items} == wanted


def test_results_come_newest_first_and_total_ignores_the_page(
    orders: Orders, uow_factory: UnitOfWorkFactory
) -> None:
    with uow_factory() as uow:
        first = uow.orders.search(OrderQuery(street="nanjingxi", limit=2))
        rest = uow.orders.search(OrderQuery(street="nanjingxi", limit=10, offset=2))

    assert [o.id for o in first.items] == [orders.latin_text.id, orders.responded.id]
    assert [o.id for o in rest.items] == [orders.red_in_a2.id, orders.pothole.id]
    assert first.total == rest.total == 4

"""Domain events: a new timeline entry of an order, with enough of the order to show it anywhere."""

from __future__ import annotations

from dataclasses import dataclass

from chengyun.domain.orders import TimelineEntry, WorkOrder


@dataclass(frozen=True)
class OrderEvent:
    """Published after the change is committed; the screen, notifiers and assessment subscribe."""

    order_id: int
    street: str
    category: str
    colour: str
    state: str
    area: str | None
    assignee: str | None
    entry: TimelineEntry

    @property
    def kind(self) -> str:
        return self.entry.kind


def events_of(order: WorkOrder) -> list[OrderEvent]:
    """The events of an order's entries not yet published; clears them."""
    assert order.id is not None, "events are taken after the order is stored"
    events = [
        OrderEvent(
            order.id,
            order.street,
            order.category,
            order.colour.value,
            entry.state.value,
            order.location.area,
            order.assignee,
            entry,
        )
        for entry in order.new_entries
    ]
    order.new_entries.clear()
    return events

"""The deadline worker's use case: fire every warning, overdue notice and escalation that has come due.

Deadlines live in the orders table (next_alert_at); any number of workers may run this at once:
claim_due locks the rows it returns (SKIP LOCKED on PostgreSQL), so no alert fires twice.
"""

from __future__ import annotations

from datetime import datetime

from chengyun.domain.events import OrderEvent, events_of
from chengyun.domain.orders import Who, WorkOrder
from chengyun.domain.sla import Rung
from chengyun.domain.staff import Post
from chengyun.services.orders import OrderService
from chengyun.services.ports import Clock, Publish, UnitOfWork, UnitOfWorkFactory


def fire_due(
    uow_factory: UnitOfWorkFactory, clock: Clock, publish: Publish, orders: OrderService, batch: int = 500
) -> int:
    """Fire what is due now in one transaction; returns how many orders were handled."""
    events: list[OrderEvent] = []
    with uow_factory() as uow:
        now = clock.now()
        due = uow.orders.claim_due(now, batch)
        for order in due:
            policies, _ = orders.rules(uow, order.street)
            policy = policies.get(order.policy_code)
            targets = _Targets(uow, order, now)
            entries = order.fire_alerts(now, policy, targets)
            orders.react(uow, order, entries, now)  # grading and supervision act on the alerts
            uow.orders.save(order, policies.get(order.policy_code))
            events += events_of(order)
        uow.commit()
    publish(events)
    return len(due)


class _Targets:
    """Resolves each rung of the escalation ladder to a person on duty, asked lazily."""

    def __init__(self, uow: UnitOfWork, order: WorkOrder, now: datetime) -> None:
        self._uow, self._order, self._now = uow, order, now

    def __call__(self, rung: Rung) -> Who | None:
        people = self._uow.people
        street = self._order.street
        if rung is Rung.PARTNER:
            if self._order.location.area is None or self._order.assignee is None:
                return None
            pair = people.pair_for_area(street, self._order.location.area)
            partner = pair.partner_of(self._order.assignee) if pair else None
            return self._who(partner)
        post = Post.DUTY_OFFICER if rung is Rung.DUTY_OFFICER else Post.DIRECTOR
        on_duty = [s.staff for s in people.on_duty(street, self._now) if s.post is post]
        if on_duty:
            return self._who(on_duty[0])
        if post is Post.DIRECTOR:
            # The director answers for the center even off shift.
            directors = [s for s in people.staff(street) if post in s.posts and s.active]
            return Who(directors[0].id, directors[0].name) if directors else None
        return None

    def _who(self, staff_id: str | None) -> Who | None:
        if staff_id is None:
            return None
        person = self._uow.people.get_staff(staff_id)
        return Who(person.id, person.name)

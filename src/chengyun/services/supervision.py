"""Supervision at work: urge notices (催办) and circulated notices (通报), by hand and automatically after
repeated lateness (the street's thresholds, as data), and their list."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from chengyun.domain.access import (
    READERS,
    SUPERVISORS,
    Actor,
    check_order_action,
    require_role,
    require_street,
)
from chengyun.domain.errors import InvalidInput, NotFound
from chengyun.domain.events import OrderEvent, events_of
from chengyun.domain.orders import ALLOWED_FROM, Action, TimelineEntry, Who, WorkOrder
from chengyun.domain.sla import DeadlinePolicy
from chengyun.domain.supervision import (
    LATENESS_KINDS,
    Notice,
    NoticeKind,
    SupervisionRules,
    lateness,
    next_step,
    urge_text,
)
from chengyun.services.orders import OrderService
from chengyun.services.ports import Clock, Publish, UnitOfWork, UnitOfWorkFactory
from chengyun.services.street_settings import StreetSetting

SETTINGS_KEY = "supervision"
CURSOR = "supervision"  # this reader's place in the timeline
SUPERVISOR = Who("system", "系统督办")
MAX_NOTICE_ORDERS = 200


class SupervisionService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, orders: OrderService, publish: Publish) -> None:
        self._uow = uow
        self._clock = clock
        self._orders = orders
        self._publish = publish
        self._rules = StreetSetting(uow, SETTINGS_KEY, SupervisionRules.from_dict, SupervisionRules())

    # --- thresholds ------------------------------------------------------------------------------

    def rules(self, street: str, uow: UnitOfWork | None = None) -> SupervisionRules:
        return self._rules.get(street, uow)

    def get_rules(self, actor: Actor, street: str) -> SupervisionRules:
        require_role(actor, READERS, "查看督办规则")
        require_street(actor, street)
        return self.rules(street)

    def set_rules(self, actor: Actor, street: str, data: Any) -> SupervisionRules:
        require_role(actor, SUPERVISORS, "修改督办规则")
        require_street(actor, street)
        rules = SupervisionRules.from_dict(data)
        self._rules.put(street, rules.to_dict(), self._clock.now(), actor.who.id)
        return rules

    # --- automatic -------------------------------------------------------------------------------

    def react(
        self, uow: UnitOfWork, order: WorkOrder, entries: Sequence[TimelineEntry], now: datetime
    ) -> None:
        """After an order ran late again: urge, or circulate it, and circulate its assignee when their
        orders keep running late. Runs in the deadline worker's transaction."""
        late_entries = [e for e in entries if e.kind in LATENESS_KINDS]
        if not late_entries or order.id is None:
            return
        rules = self.rules(order.street, uow)
        late = lateness(order, now)
        urges = uow.notices.count(order.id, NoticeKind.URGE)
        circulated = uow.notices.count(order.id, NoticeKind.CIRCULATE) > 0
        step = next_step(rules, late, urges, circulated)
        last = late_entries[-1]
        stage = last.data.get("stage") if last.kind == "deadline_overdue" else None
        stage_label = next((c.stage.label for c in order.clocks.values() if c.stage.value == stage), None)
        if step is NoticeKind.URGE:
            text = urge_text(stage_label, late)
            notice = self._add(uow, order, NoticeKind.URGE, text, key=f"urge:{order.id}:{order.round}:{late}")
            if notice is not None:
                order.urge(now, SUPERVISOR, text, urges + 1, automatic=True)
        elif step is NoticeKind.CIRCULATE:
            text = f"本单已催办 {urges} 次仍再次超期（本轮第 {late} 次超期），予以通报"
            notice = self._add(uow, order, NoticeKind.CIRCULATE, text, key=f"circulate:{order.id}")
            if notice is not None and notice.id is not None:
                order.circulate(now, SUPERVISOR, text, notice.id, automatic=True)

    def pump(self, batch: int = 500) -> int:
        """Circulate the people whose orders keep running late, reading the stored timeline from where
        the last round stopped (one process at a time: the reader's place is locked), so concurrent
        deadline workers never race for the same notice. Returns how many events were read."""
        with self._uow() as uow:
            after = uow.notifications.cursor(CURSOR)
            # Only lateness matters here: the rest (most of the timeline) is passed over unread.
            last, read, events = uow.orders.events_of_kinds(after, LATENESS_KINDS, batch)
            if not read:
                return 0
            changed: list[OrderEvent] = []
            for event_id, event in events:
                if event.assignee is not None:
                    uow.notices.mark_late(
                        event.street, event.assignee, event.order_id, event_id, event.entry.at
                    )
                    changed += self._person(uow, event.street, event.order_id, event.assignee, event_id)
            uow.notifications.set_cursor(CURSOR, last)
            uow.commit()
        self._publish(changed)
        return read

    def _person(
        self, uow: UnitOfWork, street: str, order_id: int, staff: str, event_id: int
    ) -> list[OrderEvent]:
        """Circulate `staff` once their orders were late often enough (counting up to this event)."""
        rules = self.rules(street, uow)
        now = self._clock.now()
        # Counting starts afresh after the lateness that got the person circulated last time.
        previous = uow.notices.last_about(street, staff)
        after = int(previous.data.get("up_to", 0)) if previous is not None else 0
        since = now - timedelta(days=rules.circulate_window_days)
        late_orders = uow.notices.late_orders(street, staff, since, after, event_id)
        if len(late_orders) < rules.circulate_person_late:
            return []
        name = uow.people.get_staff(staff).name
        ids = tuple(dict.fromkeys(late_orders))
        text = (
            f"{name} 近 {rules.circulate_window_days} 天内所办工单超期 {len(late_orders)} 次"
            f"（涉及工单 {'、'.join(f'#{i}' for i in ids[:10])}{' 等' if len(ids) > 10 else ''}），予以通报"
        )
        order = uow.orders.get(order_id, for_update=True)
        key = f"person:{staff}:{after}"
        notice = self._add(
            uow, order, NoticeKind.CIRCULATE, text, key=key, staff=staff, ids=ids, data={"up_to": event_id}
        )
        if notice is None or notice.id is None or order.state not in ALLOWED_FROM[Action.CIRCULATE]:
            return []
        order.circulate(now, SUPERVISOR, text, notice.id, automatic=True)
        policies, _ = self._orders.rules(uow, street)
        uow.orders.save(order, policies.get(order.policy_code))
        return events_of(order)

    def _add(
        self,
        uow: UnitOfWork,
        order: WorkOrder,
        kind: NoticeKind,
        text: str,
        key: str | None = None,
        by: Who = SUPERVISOR,
        staff: str | None = None,
        ids: tuple[int, ...] = (),
        data: dict[str, Any] | None = None,
    ) -> Notice | None:
        assert order.id is not None
        notice = Notice(
            street=order.street,
            kind=kind,
            note=text,
            order_ids=ids or (order.id,),
            issued_by=by.id,
            issued_by_name=by.name,
            issued_at=self._clock.now(),
            automatic=key is not None,
            staff=staff if staff is not None else order.assignee,
            key=key,
            data=data or {},
        )
        return uow.notices.add(notice)

    # --- by hand ---------------------------------------------------------------------------------

    def urge(self, actor: Actor, order_id: int, note: str) -> WorkOrder:
        """催办 by a duty officer or the director."""

        def change(order: WorkOrder, now: datetime, _: DeadlinePolicy, uow: UnitOfWork) -> None:
            assert order.id is not None
            if not note or not note.strip():
                raise InvalidInput("催办内容不能为空")
            urges = uow.notices.count(order.id, NoticeKind.URGE)
            order.urge(now, actor.who, note, urges + 1)
            self._add(uow, order, NoticeKind.URGE, note.strip(), by=actor.who)

        return self._orders.act(actor, order_id, Action.URGE, change)

    def circulate(
        self, actor: Actor, street: str, order_ids: Sequence[int], note: str, staff: str | None = None
    ) -> Notice:
        """通报 by hand: one notice naming one or more orders (and, optionally, the person it is about)."""
        require_role(actor, SUPERVISORS, "通报")
        require_street(actor, street)
        ids = sorted(set(order_ids))  # locked in id order: no deadlock with another notice
        if not ids or len(ids) > MAX_NOTICE_ORDERS:
            raise InvalidInput(f"通报须列出 1 到 {MAX_NOTICE_ORDERS} 件工单")
        if not note or not note.strip() or len(note) > 2000:
            raise InvalidInput("通报内容不能为空，且不超过 2000 字")
        events: list[OrderEvent] = []
        with self._uow() as uow:
            if staff is not None:
                try:
                    person = uow.people.get_staff(staff)
                except NotFound:
                    raise InvalidInput(f"人员 {staff} 不存在", staff=staff) from None
                if person.street != street:
                    raise InvalidInput(f"人员 {staff} 不属于本街道", staff=staff)
            orders = []
            for order_id in ids:
                try:
                    order = uow.orders.get(order_id, for_update=True)
                except NotFound:
                    order = None
                if order is None or order.street != street:  # another street's order does not exist here
                    raise InvalidInput(f"工单 {order_id} 不存在", order_id=order_id)
                check_order_action(actor, Action.CIRCULATE, order, None)
                orders.append(order)
            now = self._clock.now()
            notice = uow.notices.add(
                Notice(
                    street,
                    NoticeKind.CIRCULATE,
                    note.strip(),
                    tuple(ids),
                    actor.who.id,
                    actor.who.name,
                    now,
                    staff=staff,
                )
            )
            assert notice is not None and notice.id is not None
            policies, _ = self._orders.rules(uow, street)
            for order in orders:
                order.circulate(now, actor.who, note, notice.id)
                uow.orders.save(order, policies.get(order.policy_code))
                events += events_of(order)
            uow.commit()
        self._publish(events)
        return notice

    def notices(
        self,
        actor: Actor,
        street: str,
        kind: NoticeKind | None = None,
        since: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Notice], int]:
        require_role(actor, READERS, "查看督办通报")
        require_street(actor, street)
        with self._uow() as uow:
            return uow.notices.search(street, kind, since, limit, offset)

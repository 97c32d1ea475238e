"""Notifications at work: the notifier reads the timeline (every order's domain events, from any
process) from where it stopped, tells the people the street's rules name (the in-app feed) and queues
messages for the senders (webhook, SMS); the senders run outside any transaction, with retries, so a
slow or broken endpoint never holds up a command."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from chengyun.domain.access import READERS, SUPERVISORS, Actor, require_role, require_street
from chengyun.domain.categories import Catalogue
from chengyun.domain.errors import InvalidInput, NotFound
from chengyun.domain.events import OrderEvent
from chengyun.domain.notify import (
    DEFAULT_NOTIFICATIONS,
    EVENT_LABELS,
    Channel,
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationRules,
    Recipient,
    title,
)
from chengyun.domain.sla import PolicySet
from chengyun.domain.staff import Post
from chengyun.services.ports import Clock, UnitOfWork, UnitOfWorkFactory
from chengyun.services.street_settings import StreetSetting

log = logging.getLogger(__name__)

SETTINGS_KEY = "notifications"
CURSOR = "notifier"  # this reader's place in the timeline
LEASE = timedelta(minutes=2)  # a claimed delivery not finished by then is tried again
SMS_CHARS = 300


class SendFailed(Exception):
    """A sender could not deliver; the message says why (kept with the delivery)."""


class Sender(Protocol):
    """An outbound channel (webhook, SMS …). `send` raises SendFailed; it may take seconds."""

    channel: str

    def send(self, delivery: Delivery) -> None: ...


@dataclass(frozen=True)
class Feed:
    items: list[Notification]
    total: int
    unread: int


class NotificationService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        rules_of: Callable[[UnitOfWork, str], tuple[PolicySet, Catalogue]],
        senders: Mapping[str, Sender],
        batch: int = 500,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._rules_of = rules_of  # the street's catalogue, read inside the notifier's transaction
        self._senders = dict(senders)
        self._batch = batch
        self._rules = StreetSetting(uow, SETTINGS_KEY, NotificationRules.from_dict, DEFAULT_NOTIFICATIONS)

    # --- who is told what ------------------------------------------------------------------------

    def rules(self, street: str, uow: UnitOfWork | None = None) -> NotificationRules:
        return self._rules.get(street, uow)

    def get_rules(self, actor: Actor, street: str) -> NotificationRules:
        require_role(actor, SUPERVISORS, "查看通知规则")
        require_street(actor, street)
        return self.rules(street)

    def set_rules(self, actor: Actor, street: str, data: Any) -> NotificationRules:
        """Replace the street's rules; a webhook secret sent back masked keeps the stored one."""
        require_role(actor, SUPERVISORS, "修改通知规则")
        require_street(actor, street)
        rules = NotificationRules.from_dict(data, self._rules.get(street))
        self._rules.put(street, rules.to_dict(mask=False), self._clock.now(), actor.who.id)
        return rules

    # --- the notifier ----------------------------------------------------------------------------

    def pump(self) -> int:
        """Turn the next batch of timeline events into notifications and deliveries, in one transaction
        with the notifier's place in the timeline (so nothing is told twice or skipped, whichever
        process does it). Returns how many events were read."""
        with self._uow() as uow:
            after = uow.notifications.cursor(CURSOR)
            # Only the kinds some street's rules tell anyone of are decoded: most of the timeline (an
            # order's receipt, its intake remarks, responses, arrivals …) is passed over unread.
            kinds = frozenset().union(*(rules.kinds() for rules in self._rules.every(uow)))
            last, read, events = uow.orders.events_of_kinds(after, kinds, self._batch)
            if not read:
                return 0
            now = self._clock.now()
            people = _People(uow, now)
            feed: list[Notification] = []
            outbox: list[Delivery] = []
            streets: dict[str, tuple[NotificationRules, Catalogue]] = {}
            for event_id, event in events:
                street = streets.get(event.street)
                if street is None:  # once per street and round, not per event
                    street = (self.rules(event.street, uow), self._rules_of(uow, event.street)[1])
                    streets[event.street] = street
                told, sent = self._plan(people, *street, event_id, event, now)
                feed += told
                outbox += sent
            uow.notifications.add(feed)
            uow.notifications.add_deliveries(outbox)
            uow.notifications.set_cursor(CURSOR, last)
            uow.commit()
        return read

    def _plan(
        self,
        people: _People,
        rules: NotificationRules,
        catalogue: Catalogue,
        event_id: int,
        event: OrderEvent,
        now: datetime,
    ) -> tuple[list[Notification], list[Delivery]]:
        recipients = rules.recipients(event.kind, event.colour)
        hooks = rules.webhooks_for(event.kind, event.colour)
        feed: list[Notification] = []
        outbox: list[Delivery] = []
        if not recipients and not hooks:
            return feed, outbox  # most entries tell nobody: nothing to build
        entry = event.entry
        name = catalogue.name_of(event.category)
        headline = title(event.kind, event.order_id, name, event.colour)
        told: set[str] = set()
        for who, channels in recipients.items():
            for staff in people.resolve(who, event):
                if staff == entry.actor or staff in told:
                    continue  # nobody is told about what they did themselves, or twice
                told.add(staff)
                if Channel.FEED in channels:
                    feed.append(
                        Notification(
                            event.street,
                            staff,
                            event_id,
                            event.kind,
                            headline,
                            entry.note,
                            now,
                            event.order_id,
                            event.colour,
                        )
                    )
                phone = people.phone(staff) if Channel.SMS in channels else None
                if phone:
                    text = f"{headline}：{entry.note}"[:SMS_CHARS]
                    outbox.append(
                        Delivery(
                            event.street,
                            "sms",
                            staff,
                            event_id,
                            event.kind,
                            {"phone": phone, "text": text},
                            now,
                            event.order_id,
                        )
                    )
        payload = _payload(event_id, event, name) if hooks else {}
        for hook in hooks:
            outbox.append(
                Delivery(
                    event.street, "webhook", hook.code, event_id, event.kind, payload, now, event.order_id
                )
            )
        return feed, outbox

    def deliver(self, limit: int = 50) -> int:
        """Send the deliveries that are due, outside any transaction; record each outcome. Returns how
        many were tried."""
        now = self._clock.now()
        with self._uow() as uow:
            claimed = uow.notifications.claim_deliveries(now, limit, now + LEASE)
            uow.commit()
        for delivery in claimed:
            self._send(delivery)
        if claimed:
            with self._uow() as uow:
                for delivery in claimed:
                    uow.notifications.finish(delivery)
                uow.commit()
        return len(claimed)

    def _send(self, delivery: Delivery) -> None:
        now = self._clock.now()
        sender = self._senders.get(delivery.channel)
        try:
            if sender is None:
                raise SendFailed(f"没有 {delivery.channel} 渠道的发送器")
            if delivery.channel == "webhook":
                hook = self.rules(delivery.street).webhook(delivery.target)
                if hook is None:
                    raise SendFailed(f"webhook {delivery.target} 已从通知规则中删除")
                delivery.extra = {"url": hook.url, "secret": hook.secret}
            sender.send(delivery)
        except SendFailed as exc:
            delivery.failed(now, str(exc))
            gave_up = delivery.status is DeliveryStatus.FAILED
            log.warning(
                "delivery %s (%s → %s) failed on try %d%s: %s",
                delivery.id,
                delivery.channel,
                delivery.target,
                delivery.attempts,
                ", giving up" if gave_up else "",
                exc,
            )
        except Exception as exc:  # a broken sender must not stop the others
            delivery.failed(now, f"发送器异常：{exc!r}")
            log.exception("sender %s crashed on delivery %s", delivery.channel, delivery.id)
        else:
            delivery.succeeded(now)
        finally:
            delivery.extra = {}

    # --- reads -----------------------------------------------------------------------------------

    def feed(self, actor: Actor, unread_only: bool = False, limit: int = 50, offset: int = 0) -> Feed:
        require_role(actor, READERS, "查看通知")
        if actor.staff_id is None:
            raise InvalidInput("该令牌未绑定人员，没有个人通知", code="no_staff")
        with self._uow() as uow:
            items, total, unread = uow.notifications.feed(actor.staff_id, unread_only, limit, offset)
        return Feed(items, total, unread)

    def mark_read(self, actor: Actor, ids: Collection[int] | None) -> int:
        require_role(actor, READERS, "查看通知")
        if actor.staff_id is None:
            raise InvalidInput("该令牌未绑定人员，没有个人通知", code="no_staff")
        with self._uow() as uow:
            changed = uow.notifications.mark_read(actor.staff_id, ids, self._clock.now())
            uow.commit()
        return changed

    def deliveries(
        self, actor: Actor, street: str, status: DeliveryStatus | None, limit: int = 50, offset: int = 0
    ) -> tuple[list[Delivery], int]:
        require_role(actor, SUPERVISORS, "查看通知发送记录")
        require_street(actor, street)
        with self._uow() as uow:
            return uow.notifications.deliveries(street, status.value if status else None, limit, offset)


def _payload(event_id: int, event: OrderEvent, category_name: str | None) -> dict[str, Any]:
    """The JSON a webhook receives for one event."""
    entry = event.entry
    return {
        "id": event_id,
        "event": event.kind,
        "event_label": EVENT_LABELS.get(event.kind, event.kind),
        "at": entry.at.isoformat(),
        "street": event.street,
        "order": {
            "id": event.order_id,
            "category": event.category,
            "category_name": category_name,
            "colour": event.colour,
            "state": event.state,
            "area": event.area,
            "assignee": event.assignee,
        },
        "note": entry.note,
        "actor": entry.actor_name,
        "data": dict(entry.data),
    }


class _People:
    """Resolves "assignee", "duty officer on shift" … to staff ids, asking the database once per street."""

    def __init__(self, uow: UnitOfWork, now: datetime) -> None:
        self._uow, self._now = uow, now
        self._on_duty: dict[str, dict[Post, list[str]]] = {}
        self._phones: dict[str, str | None] = {}

    def resolve(self, who: str, event: OrderEvent) -> list[str]:
        if who.startswith("staff:"):
            return [who.removeprefix("staff:")]
        recipient = Recipient(who)
        if recipient is Recipient.ASSIGNEE:
            return [event.assignee] if event.assignee else []
        if recipient is Recipient.NOTIFIED:
            named = event.entry.data.get("notify")
            return [str(named)] if named else []
        if recipient is Recipient.PARTNER:
            if event.assignee is None or event.area is None:
                return []
            pair = self._uow.people.pair_for_area(event.street, event.area)
            partner = pair.partner_of(event.assignee) if pair else None
            return [partner] if partner else []
        post = {
            Recipient.DUTY_OFFICER: Post.DUTY_OFFICER,
            Recipient.DIRECTOR: Post.DIRECTOR,
            Recipient.HOTLINE: Post.HOTLINE_HANDLER,
        }[recipient]
        found = self._duty(event.street).get(post, [])
        if not found and post is Post.DIRECTOR:
            # The director answers for the center even off shift.
            found = [s.id for s in self._uow.people.staff(event.street) if post in s.posts and s.active][:1]
        return found

    def _duty(self, street: str) -> dict[Post, list[str]]:
        if street not in self._on_duty:
            by_post: dict[Post, list[str]] = {}
            for shift in self._uow.people.on_duty(street, self._now):
                people = by_post.setdefault(shift.post, [])
                if shift.staff not in people:
                    people.append(shift.staff)
            self._on_duty[street] = by_post
        return self._on_duty[street]

    def phone(self, staff: str) -> str | None:
        if staff not in self._phones:
            try:
                self._phones[staff] = self._uow.people.get_staff(staff).phone or None
            except NotFound:  # a person since removed: nothing to text
                self._phones[staff] = None
        return self._phones[staff]

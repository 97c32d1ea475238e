"""Who is told what (通知): a street's notification rules, as data, and the words of a notification.

Every change of an order is a timeline entry (a domain event). A rule names the entry kinds it is for,
the people to tell (by their relation to the order: its assignee, the duty officer on shift, …) and the
channels (the in-app feed, SMS); webhooks receive the events they subscribe to as signed JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from chengyun.domain.errors import ImportRejected
from chengyun.domain.severity import Colour

# The timeline entry kinds one can be told about, with their names for people.
EVENT_LABELS: Mapping[str, str] = {
    "received": "新工单",
    "dispatched": "派遣",
    "reassigned": "改派",
    "responded": "响应",
    "arrived": "到场",
    "planned": "明确方案",
    "handled": "处置完成",
    "loop_closed": "反馈闭环",
    "closed": "结案",
    "returned": "退单",
    "extension_requested": "申请延期",
    "extension_approved": "同意延期",
    "extension_refused": "不同意延期",
    "suspended": "挂账",
    "resumed": "恢复办理",
    "reopened": "重新办理",
    "merged": "并案",
    "supervised": "督办",
    "supervision_replied": "督办回复",
    "supervision_overdue": "督办逾期未回复",
    "urged": "催办",
    "circulated": "通报",
    "regraded": "人工调整颜色",
    "colour_raised": "颜色升级预警",
    "colour_lowered": "颜色下调",
    "reclassified": "更正类别",
    "deadline_warning": "即将超期预警",
    "deadline_overdue": "超期",
    "escalated": "超期升级",
    "noted": "备注",
}


class Recipient(StrEnum):
    """Who, by their relation to the order; `staff:<id>` names one person instead."""

    ASSIGNEE = "assignee"  # 承办人
    PARTNER = "partner"  # the assignee's A/B partner
    DUTY_OFFICER = "duty_officer"  # 值班长 on shift
    DIRECTOR = "director"  # 城运中心主任 (on shift, or any)
    HOTLINE = "hotline_handler"  # 受理员 on shift
    NOTIFIED = "notified"  # the person the entry itself names (an escalation's or supervision's target)


class Channel(StrEnum):
    FEED = "feed"  # 站内通知
    SMS = "sms"  # 短信


MAX_ITEMS = 100
MIN_SECRET = 16
MASK = "******"


@dataclass(frozen=True)
class NotifyRule:
    events: tuple[str, ...]
    to: tuple[str, ...]  # Recipient values or "staff:<id>"
    channels: tuple[Channel, ...] = (Channel.FEED,)
    colours: tuple[Colour, ...] = ()  # only for orders of these colours (empty: any)

    def applies(self, kind: str, colour: str) -> bool:
        return kind in self.events and (not self.colours or colour in self.colours)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "events": list(self.events),
            "to": list(self.to),
            "channels": [c.value for c in self.channels],
        }
        if self.colours:
            out["colours"] = [c.value for c in self.colours]
        return out

    @classmethod
    def from_dict(cls, item: Any) -> NotifyRule:
        if not isinstance(item, Mapping):
            raise TypeError("每条通知规则应为对象")
        _known_keys(item, {"events", "to", "channels", "colours"})
        events = _events(item.get("events"))
        to = _list(item.get("to"), "to")
        for who in to:
            if who.startswith("staff:") and len(who) > len("staff:"):
                continue
            if who not in set(Recipient):
                raise ValueError(f"未知的通知对象 {who!r}（{'、'.join(Recipient)} 或 staff:人员编号）")
        channels = _list(item.get("channels", ["feed"]), "channels")
        try:
            parsed_channels = tuple(Channel(c) for c in channels)
            colours = tuple(Colour(c) for c in _list(item.get("colours", []), "colours", allow_empty=True))
        except ValueError as exc:
            raise ValueError(f"渠道或颜色有误：{exc}") from None
        return cls(events, tuple(to), parsed_channels, colours)


@dataclass(frozen=True)
class Webhook:
    """An HTTP endpoint told about events as signed JSON (HMAC-SHA256 with `secret`)."""

    code: str
    url: str
    secret: str
    events: tuple[str, ...] = ()  # empty: every kind of EVENT_LABELS
    colours: tuple[Colour, ...] = ()

    def applies(self, kind: str, colour: str) -> bool:
        events_ok = kind in self.events if self.events else kind in EVENT_LABELS
        return events_ok and (not self.colours or colour in self.colours)

    def to_dict(self, mask: bool = True) -> dict[str, Any]:
        return {
            "code": self.code,
            "url": self.url,
            "secret": MASK if mask else self.secret,
            "events": list(self.events),
            "colours": [c.value for c in self.colours],
        }

    @classmethod
    def from_dict(cls, item: Any, previous: Mapping[str, Webhook]) -> Webhook:
        if not isinstance(item, Mapping):
            raise TypeError("每个 webhook 应为对象")
        _known_keys(item, {"code", "url", "secret", "events", "colours"})
        code = item.get("code")
        if not isinstance(code, str) or not code.strip() or len(code) > 64:
            raise ValueError("webhook 缺少编码 code（不超过 64 个字符）")
        url = item.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")) or len(url) > 500:
            raise ValueError("url 应为 http:// 或 https:// 开头、不超过 500 个字符的地址")
        secret = item.get("secret")
        if secret == MASK and code in previous:
            secret = previous[code].secret  # unchanged: the answer to GET masks it
        if not isinstance(secret, str) or not MIN_SECRET <= len(secret) <= 200:
            raise ValueError(f"secret 应为 {MIN_SECRET} 到 200 个字符的签名密钥")
        events = _events(item.get("events", []), allow_empty=True)
        try:
            colours = tuple(Colour(c) for c in _list(item.get("colours", []), "colours", allow_empty=True))
        except ValueError as exc:
            raise ValueError(f"颜色有误：{exc}") from None
        return cls(code.strip(), url, secret, events, colours)


@dataclass(frozen=True)
class NotificationRules:
    rules: tuple[NotifyRule, ...]
    webhooks: tuple[Webhook, ...] = ()

    def recipients(self, kind: str, colour: str) -> dict[str, set[Channel]]:
        """Whom to tell about an entry of this kind on an order of this colour, and how."""
        found: dict[str, set[Channel]] = {}
        for rule in self.rules:
            if rule.applies(kind, colour):
                for who in rule.to:
                    found.setdefault(who, set()).update(rule.channels)
        return found

    def webhooks_for(self, kind: str, colour: str) -> list[Webhook]:
        return [w for w in self.webhooks if w.applies(kind, colour)]

    def webhook(self, code: str) -> Webhook | None:
        return next((w for w in self.webhooks if w.code == code), None)

    def kinds(self) -> frozenset[str]:
        """The entry kinds these rules tell anyone of (for some colour): the notifier reads no other."""
        told = {kind for rule in self.rules for kind in rule.events}
        for hook in self.webhooks:
            told.update(hook.events or EVENT_LABELS)
        return frozenset(told)

    def to_dict(self, mask: bool = True) -> dict[str, Any]:
        return {
            "rules": [r.to_dict() for r in self.rules],
            "webhooks": [w.to_dict(mask) for w in self.webhooks],
        }

    @classmethod
    def from_dict(cls, data: Any, previous: NotificationRules | None = None) -> NotificationRules:
        """Validate a whole configuration (errors by section and index; nothing is taken on an error).
        A webhook secret given as "******" keeps the stored one."""
        if not isinstance(data, Mapping):
            raise ImportRejected("通知规则应为 JSON 对象", errors=[])
        errors: list[dict[str, Any]] = []
        unknown = sorted(set(data) - {"rules", "webhooks"})
        if unknown:
            errors.append(
                {"section": None, "row": None, "reason": f"未知的字段：{'、'.join(map(str, unknown))}"}
            )
        known = {w.code: w for w in (previous.webhooks if previous else ())}
        rules: list[NotifyRule] = []
        hooks: list[Webhook] = []
        for section in ("rules", "webhooks"):
            items = data.get(section, [])
            if not isinstance(items, list) or len(items) > MAX_ITEMS:
                errors.append(
                    {"section": section, "row": None, "reason": f"{section} 应为不超过 {MAX_ITEMS} 项的列表"}
                )
                continue
            for index, item in enumerate(items):
                try:
                    if section == "rules":
                        rules.append(NotifyRule.from_dict(item))
                    else:
                        hooks.append(Webhook.from_dict(item, known))
                except (TypeError, ValueError) as exc:
                    errors.append({"section": section, "row": index, "reason": str(exc)})
        codes = [w.code for w in hooks]
        if len(codes) != len(set(codes)):
            errors.append({"section": "webhooks", "row": None, "reason": "webhook 编码重复"})
        if errors:
            raise ImportRejected(f"通知规则有 {len(errors)} 处错误，未保存", errors=errors)
        return cls(tuple(rules), tuple(hooks))


@dataclass(frozen=True)
class Notification:
    """One person told about one event: an item of their in-app feed."""

    street: str
    recipient: str  # staff id
    event_id: int  # the timeline entry's global id
    kind: str
    title: str
    body: str
    created_at: datetime
    order_id: int | None = None
    colour: str | None = None
    read_at: datetime | None = None
    id: int | None = None


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its (next) try
    SENT = "sent"
    FAILED = "failed"  # gave up after the last try


# Waits between tries of a delivery that failed: 8 tries over about 4¾ hours, then it is given up.
BACKOFF = (
    timedelta(seconds=10),
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=3),
)
MAX_ERROR = 1000


@dataclass
class Delivery:
    """A message that leaves the system through a sender (webhook, SMS), with its tries."""

    street: str
    channel: str  # "webhook" or "sms"
    target: str  # the webhook's code, or the staff id an SMS is for
    event_id: int
    kind: str
    payload: dict[str, Any]
    created_at: datetime
    order_id: int | None = None
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    next_try_at: datetime | None = None
    last_error: str | None = None
    sent_at: datetime | None = None
    id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)  # not stored (a webhook's secret)

    def succeeded(self, now: datetime) -> None:
        self.attempts += 1
        self.status, self.sent_at, self.next_try_at, self.last_error = DeliveryStatus.SENT, now, None, None

    def failed(self, now: datetime, error: str) -> None:
        """Count a failed try: the next one after the back-off, or give up after the last."""
        self.attempts += 1
        self.last_error = error[:MAX_ERROR]
        if self.attempts > len(BACKOFF):
            self.status, self.next_try_at = DeliveryStatus.FAILED, None
        else:
            self.next_try_at = now + BACKOFF[self.attempts - 1]


def _known_keys(item: Mapping[str, Any], keys: set[str]) -> None:
    unknown = sorted(set(item) - keys)
    if unknown:
        raise ValueError(f"未知的字段：{'、'.join(map(str, unknown))}")


def _list(value: Any, what: str, allow_empty: bool = False) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what} 应为字符串列表")
    if not value and not allow_empty:
        raise ValueError(f"{what} 不能为空")
    if len(value) > MAX_ITEMS:
        raise ValueError(f"{what} 不能超过 {MAX_ITEMS} 项")
    return list(value)


def _events(value: Any, allow_empty: bool = False) -> tuple[str, ...]:
    events = _list(value if value is not None else [], "events", allow_empty)
    unknown = [e for e in events if e not in EVENT_LABELS]
    if unknown:
        raise ValueError(f"未知的事件类型：{'、'.join(unknown)}")
    return tuple(events)


def title(kind: str, order_id: int, category_name: str | None, colour: str) -> str:
    """A notification's headline: 【红色】工单 #12 路面塌陷 · 颜色升级预警."""
    try:
        tag = Colour(colour).label[:2]
    except ValueError:
        tag = colour
    what = f" {category_name}" if category_name else ""
    return f"【{tag}】工单 #{order_id}{what} · {EVENT_LABELS.get(kind, kind)}"


def _rules(items: Sequence[dict[str, Any]]) -> NotificationRules:
    return NotificationRules.from_dict({"rules": list(items)})


DEFAULT_NOTIFICATIONS = _rules(
    [
        {"events": ["dispatched", "reassigned"], "to": ["assignee"], "channels": ["feed"]},
        {"events": ["deadline_warning", "deadline_overdue"], "to": ["assignee"], "channels": ["feed"]},
        {"events": ["escalated", "supervision_overdue"], "to": ["notified"], "channels": ["feed", "sms"]},
        {"events": ["colour_raised"], "to": ["assignee", "duty_officer"], "channels": ["feed", "sms"]},
        {"events": ["received"], "to": ["duty_officer"], "channels": ["feed", "sms"], "colours": ["red"]},
        {"events": ["supervised", "urged"], "to": ["assignee"], "channels": ["feed", "sms"]},
        {"events": ["circulated"], "to": ["assignee", "duty_officer", "director"], "channels": ["feed"]},
        {
            "events": ["returned", "extension_requested", "supervision_replied"],
            "to": ["duty_officer"],
            "channels": ["feed"],
        },
        {"events": ["extension_approved", "extension_refused"], "to": ["assignee"], "channels": ["feed"]},
    ]
)

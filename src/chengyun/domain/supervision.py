"""Supervision after repeated lateness, following 12345 practice: a late order is first only warned
and marked overdue; late again, its assignee gets an urge notice (催办); urged enough times and late
again, the order is named in a circulated notice (通报). A person whose orders keep running late is
circulated too. The thresholds are data, per street.

督办 itself (a duty officer's demand with a reply deadline) lives on the order (domain/orders.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from chengyun.domain.errors import ImportRejected
from chengyun.domain.orders import WorkOrder

# Timeline entries that are one more lateness of an order.
LATENESS_KINDS = frozenset({"deadline_overdue", "supervision_overdue"})


class NoticeKind(StrEnum):
    URGE = "urge"  # 催办
    CIRCULATE = "circulate"  # 通报

    @property
    def label(self) -> str:
        return "催办" if self is NoticeKind.URGE else "通报"


@dataclass(frozen=True)
class SupervisionRules:
    """When the system urges and circulates by itself.

    - `urge_after_late`: an order's n-th lateness (a stage or a supervision reply past its deadline, this
      round) urges its assignee, and so does every lateness after it;
    - `circulate_after_urges`: an order urged this many times (by the system or by hand) is circulated
      at its next lateness instead of urged again (once per order);
    - `circulate_person_late`: a person whose orders were late this many times within
      `circulate_window_days` is circulated; counting starts afresh after each such notice.
    """

    urge_after_late: int = 2
    circulate_after_urges: int = 2
    circulate_person_late: int = 5
    circulate_window_days: int = 7

    def to_dict(self) -> dict[str, int]:
        return {
            "urge_after_late": self.urge_after_late,
            "circulate_after_urges": self.circulate_after_urges,
            "circulate_person_late": self.circulate_person_late,
            "circulate_window_days": self.circulate_window_days,
        }

    @classmethod
    def from_dict(cls, data: Any) -> SupervisionRules:
        if not isinstance(data, Mapping):
            raise ImportRejected("督办规则应为 JSON 对象", errors=[])
        errors: list[dict[str, Any]] = []
        unknown = sorted(set(data) - set(_LIMITS))
        if unknown:
            errors.append({"field": None, "reason": f"未知的字段：{'、'.join(map(str, unknown))}"})
        values: dict[str, int] = {}
        for key, (low, high) in _LIMITS.items():
            if key not in data:
                continue
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                errors.append({"field": key, "reason": f"{key} 应为 {low} 到 {high} 的整数"})
            else:
                values[key] = value
        if errors:
            raise ImportRejected(f"督办规则有 {len(errors)} 处错误，未保存", errors=errors)
        return cls(**values)


_LIMITS = {
    "urge_after_late": (1, 20),
    "circulate_after_urges": (1, 20),
    "circulate_person_late": (1, 1000),
    "circulate_window_days": (1, 90),
}


def lateness(order: WorkOrder, now: datetime) -> int:
    """How many times the order has been late this round: stages past their deadline (done late or
    still pending) and supervisions not answered in time."""
    stages = sum(1 for c in order.clocks.values() if (c.done_at or now) > c.due_at)
    replies = sum(1 for s in order.supervisions if (s.replied_at or now) > s.reply_due_at)
    return stages + replies


def next_step(rules: SupervisionRules, late: int, urges: int, circulated: bool) -> NoticeKind | None:
    """What one more lateness of an order brings: nothing yet, an urge, or (once) a circulation."""
    if late < rules.urge_after_late:
        return None
    if urges >= rules.circulate_after_urges and not circulated:
        return NoticeKind.CIRCULATE
    return NoticeKind.URGE


@dataclass(frozen=True)
class Notice:
    """An urge or a circulated notice, as issued."""

    street: str
    kind: NoticeKind
    note: str  # Chinese
    order_ids: tuple[int, ...]
    issued_by: str
    issued_by_name: str
    issued_at: datetime
    automatic: bool = False
    staff: str | None = None  # the person a circulation is about
    key: str | None = None  # makes an automatic notice happen once, however many workers run
    id: int | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


def urge_text(stage_label: str | None, late: int) -> str:
    """The words of an automatic urge after a stage (or, with None, a supervision reply) ran late, the
    order's `late`-th lateness this round."""
    what = f"{stage_label}环节" if stage_label else "督办回复"
    return f"{what}已超期（本轮第 {late} 次超期），请立即办理并反馈进展"

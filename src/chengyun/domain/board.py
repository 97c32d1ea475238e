"""The duty officer's board (值班长工作台): what needs attention now, ordered by colour, then by the time
left on its most pressing deadline (the most overdue first)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from chengyun.domain.orders import Extension, OrderState, Supervision, WorkOrder
from chengyun.domain.severity import Colour
from chengyun.domain.sla import DeadlinePolicy

SEVERE = frozenset({Colour.RED, Colour.ORANGE})


class Attention(StrEnum):
    OVERDUE = "overdue"
    NEAR_DEADLINE = "near_deadline"
    SEVERE = "severe"
    SUPERVISION = "supervision"
    RETURNED = "returned"
    EXTENSION = "extension"
    ADDRESS = "address_unresolved"
    UNDISPATCHED = "undispatched"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Attention.OVERDUE: "已超期",
    Attention.NEAR_DEADLINE: "临近时限",
    Attention.SEVERE: "红橙色事件",
    Attention.SUPERVISION: "督办待回复",
    Attention.RETURNED: "退单待派遣",
    Attention.EXTENSION: "延期待审批",
    Attention.ADDRESS: "地址待核实",
    Attention.UNDISPATCHED: "待派遣",
}


@dataclass(frozen=True)
class BoardItem:
    order: WorkOrder
    reasons: tuple[Attention, ...]
    due_at: datetime | None  # the most pressing deadline: a stage's or a supervision reply's
    due_what: str | None  # what that deadline is for, in Chinese (到场, 督办回复 …)
    time_left_s: float | None  # negative once past
    supervision: Supervision | None = None  # the oldest unanswered one
    extension: Extension | None = None  # the request awaiting a decision


def board(
    orders: Iterable[WorkOrder], now: datetime, policy_of: Callable[[WorkOrder], DeadlinePolicy]
) -> list[BoardItem]:
    items = [item for order in orders if (item := attention(order, now, policy_of(order))) is not None]
    items.sort(key=lambda i: (i.order.colour.rank, _left(i), i.order.id or 0))
    return items


def _left(item: BoardItem) -> float:
    return item.time_left_s if item.time_left_s is not None else float("inf")


def attention(order: WorkOrder, now: datetime, policy: DeadlinePolicy) -> BoardItem | None:
    """Why this order needs the duty officer now; None when it does not."""
    reasons: list[Attention] = []
    deadlines: list[tuple[datetime, str]] = []
    if order.alerts_live:
        for clock in order.clocks.values():
            if not clock.pending:
                continue
            deadlines.append((clock.due_at, clock.stage.label))
            if now > clock.due_at:
                _add(reasons, Attention.OVERDUE)
            elif now >= clock.started_at + (clock.due_at - clock.started_at) * policy.warn_share:
                _add(reasons, Attention.NEAR_DEADLINE)
    open_supervisions = [s for s in order.supervisions if s.replied_at is None]
    if open_supervisions and order.state is not OrderState.MERGED:
        reasons.append(Attention.SUPERVISION)
        deadlines += [(s.reply_due_at, "督办回复") for s in open_supervisions]
    pending = next((e for e in order.extensions if e.decision is None), None)
    if pending is not None and order.alerts_live:
        reasons.append(Attention.EXTENSION)
    if order.state is OrderState.RETURNED:
        reasons.append(Attention.RETURNED)
    elif order.state is OrderState.RECEIVED:
        reasons.append(Attention.ADDRESS if order.location.area is None else Attention.UNDISPATCHED)
    if order.colour in SEVERE and (order.alerts_live or order.state is OrderState.SUSPENDED):
        reasons.append(Attention.SEVERE)
    if not reasons:
        return None
    due = min(deadlines, default=None)
    return BoardItem(
        order,
        tuple(reasons),
        due[0] if due else None,
        due[1] if due else None,
        (due[0] - now).total_seconds() if due else None,
        open_supervisions[0] if open_supervisions else None,
        pending,
    )


def _add(reasons: list[Attention], reason: Attention) -> None:
    if reason not in reasons:
        reasons.append(reason)

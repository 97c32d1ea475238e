"""Work orders (工单): the lifecycle state machine, its stage clocks (51530) and its timeline.

Every change appends an immutable TimelineEntry; new entries are the domain events the bus publishes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from chengyun.domain.errors import IllegalTransition, InvalidInput
from chengyun.domain.geo import Point
from chengyun.domain.severity import Colour
from chengyun.domain.sla import STAGES, AlertKind, Anchor, DeadlinePolicy, Rung, Stage

MAX_TEXT = 5000
MAX_NOTE = 2000


class Source(StrEnum):
    HOTLINE = "hotline"  # 12345 热线
    PATROL = "patrol"  # 巡查发现
    SENSOR = "sensor"  # 传感器告警
    DRONE = "drone"  # 无人机巡查
    CITIZEN_APP = "citizen_app"  # 市民 App / Open311
    ASSIGNED = "assigned"  # 上级交办

    @property
    def label(self) -> str:
        return SOURCE_LABELS[self]


SOURCE_LABELS = {
    Source.HOTLINE: "12345热线",
    Source.PATROL: "巡查发现",
    Source.SENSOR: "传感器告警",
    Source.DRONE: "无人机巡查",
    Source.CITIZEN_APP: "市民App",
    Source.ASSIGNED: "上级交办",
}


class Group(StrEnum):
    OPEN = "open"
    HANDLED = "handled"
    CLOSED = "closed"
    SUSPENDED = "suspended"


class OrderState(StrEnum):
    RECEIVED = "received"  # 受理
    DISPATCHED = "dispatched"  # 派遣
    RETURNED = "returned"  # 退单，待重新派遣
    RESPONDED = "responded"  # 响应（先联完成）
    ON_SITE = "on_site"  # 到场
    PLANNED = "planned"  # 明确解决方案
    HANDLED = "handled"  # 处置完成
    LOOP_CLOSED = "loop_closed"  # 闭环（结果反馈并核实）
    CLOSED = "closed"  # 结案
    SUSPENDED = "suspended"  # 挂账
    MERGED = "merged"  # 作为重复件并入他单

    @property
    def label(self) -> str:
        return STATE_LABELS[self]

    @property
    def group(self) -> Group:
        return STATE_GROUPS[self]


STATE_LABELS = {
    OrderState.RECEIVED: "已受理",
    OrderState.DISPATCHED: "已派遣",
    OrderState.RETURNED: "已退单",
    OrderState.RESPONDED: "已响应",
    OrderState.ON_SITE: "已到场",
    OrderState.PLANNED: "已明确方案",
    OrderState.HANDLED: "已处置",
    OrderState.LOOP_CLOSED: "已闭环",
    OrderState.CLOSED: "已结案",
    OrderState.SUSPENDED: "已挂账",
    OrderState.MERGED: "已并案",
}

STATE_GROUPS = {
    OrderState.RECEIVED: Group.OPEN,
    OrderState.DISPATCHED: Group.OPEN,
    OrderState.RETURNED: Group.OPEN,
    OrderState.RESPONDED: Group.OPEN,
    OrderState.ON_SITE: Group.OPEN,
    OrderState.PLANNED: Group.OPEN,
    OrderState.HANDLED: Group.HANDLED,
    OrderState.LOOP_CLOSED: Group.HANDLED,
    OrderState.CLOSED: Group.CLOSED,
    OrderState.MERGED: Group.CLOSED,
    OrderState.SUSPENDED: Group.SUSPENDED,
}


class Action(StrEnum):
    DISPATCH = "dispatch"
    REASSIGN = "reassign"
    RESPOND = "respond"
    ARRIVE = "arrive"
    HANDLE = "handle"
    PLAN = "plan"
    CLOSE_LOOP = "close_loop"
    CLOSE = "close"
    RETURN = "return"
    REQUEST_EXTENSION = "request_extension"
    DECIDE_EXTENSION = "decide_extension"
    SUSPEND = "suspend"
    RESUME = "resume"
    REOPEN = "reopen"
    MERGE = "merge"
    SUPERVISE = "supervise"
    REPLY_SUPERVISION = "reply_supervision"
    REGRADE = "regrade"
    URGE = "urge"
    CIRCULATE = "circulate"
    RECLASSIFY = "reclassify"
    NOTE = "note"

    @property
    def label(self) -> str:
        return ACTION_LABELS[self]


ACTION_LABELS = {
    Action.DISPATCH: "派遣",
    Action.REASSIGN: "改派",
    Action.RESPOND: "响应",
    Action.ARRIVE: "到场签到",
    Action.HANDLE: "处置完成",
    Action.PLAN: "明确解决方案",
    Action.CLOSE_LOOP: "反馈闭环",
    Action.CLOSE: "结案",
    Action.RETURN: "退单",
    Action.REQUEST_EXTENSION: "申请延期",
    Action.DECIDE_EXTENSION: "审批延期",
    Action.SUSPEND: "挂账",
    Action.RESUME: "恢复办理",
    Action.REOPEN: "重新办理",
    Action.MERGE: "并案",
    Action.SUPERVISE: "督办",
    Action.REPLY_SUPERVISION: "回复督办",
    Action.REGRADE: "调整颜色等级",
    Action.URGE: "催办",
    Action.CIRCULATE: "通报",
    Action.RECLASSIFY: "更正类别",
    Action.NOTE: "备注",
}

_OPEN = frozenset(s for s, g in STATE_GROUPS.items() if g is Group.OPEN)
_LIVE = _OPEN | {OrderState.HANDLED}
LIVE_STATES = _LIVE  # states in which someone still owes work on the order

# From-states of each action. Actions that keep the state (extension, supervision, notes) list where
# they are allowed; the target state of each move is decided by its method.
ALLOWED_FROM: Mapping[Action, frozenset[OrderState]] = {
    Action.DISPATCH: frozenset({OrderState.RECEIVED, OrderState.RETURNED, OrderState.DISPATCHED}),
    # 改派 of an order someone holds but has not reached yet: the first contact already made stands.
    Action.REASSIGN: frozenset({OrderState.DISPATCHED, OrderState.RESPONDED}),
    Action.RESPOND: frozenset({OrderState.DISPATCHED}),
    Action.ARRIVE: frozenset({OrderState.RESPONDED}),
    Action.HANDLE: frozenset({OrderState.ON_SITE, OrderState.PLANNED}),
    Action.PLAN: frozenset({OrderState.ON_SITE}),
    Action.CLOSE_LOOP: frozenset({OrderState.HANDLED}),
    Action.CLOSE: frozenset({OrderState.LOOP_CLOSED}),
    Action.RETURN: frozenset({OrderState.DISPATCHED, OrderState.RESPONDED, OrderState.ON_SITE}),
    Action.REQUEST_EXTENSION: _LIVE,
    Action.DECIDE_EXTENSION: _LIVE,
    Action.SUSPEND: _LIVE,
    Action.RESUME: frozenset({OrderState.SUSPENDED}),
    Action.REOPEN: frozenset({OrderState.LOOP_CLOSED, OrderState.CLOSED}),
    Action.MERGE: frozenset(_OPEN),
    Action.SUPERVISE: _LIVE,
    Action.REPLY_SUPERVISION: _LIVE | {OrderState.SUSPENDED},
    Action.REGRADE: _LIVE | {OrderState.SUSPENDED},
    Action.URGE: _LIVE,
    Action.CIRCULATE: frozenset(OrderState) - {OrderState.MERGED},
    Action.RECLASSIFY: _LIVE | {OrderState.SUSPENDED},
    Action.NOTE: frozenset(OrderState),
}

# What intake notices about a new order and writes on its timeline for the hotline handler.
REMARKS = frozenset(
    {
        "location_unresolved",  # 地址未能定位
        "duplicate_suspected",  # 疑似重复件
        "category_suggested",  # 类别由分类模型给出
        "first_contact_task",  # 先联任务
    }
)


class ReturnReason(StrEnum):
    WRONG_AREA = "wrong_area"  # 属地不符
    WRONG_DEPARTMENT = "wrong_department"  # 职能不符 / 职能交叉
    UNCLEAR_OWNERSHIP = "unclear_ownership"  # 权属不清
    OTHER = "other"

    @property
    def label(self) -> str:
        return {
            ReturnReason.WRONG_AREA: "属地不符",
            ReturnReason.WRONG_DEPARTMENT: "职能不符",
            ReturnReason.UNCLEAR_OWNERSHIP: "权属不清",
            ReturnReason.OTHER: "其他",
        }[self]


class Satisfaction(StrEnum):
    SATISFIED = "satisfied"
    BASICALLY = "basically_satisfied"
    UNSATISFIED = "unsatisfied"


@dataclass(frozen=True)
class Who:
    """Who did something, as the timeline remembers them."""

    id: str
    name: str


SYSTEM = Who("system", "系统")


@dataclass(frozen=True)
class Contact:
    name: str
    phone: str

    def masked(self) -> Contact:
        return Contact(mask_name(self.name), mask_phone(self.phone))


def mask_phone(phone: str) -> str:
    digits = phone.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    if len(digits) < 11:  # a landline: half of it hidden at least
        return digits[:2] + "*" * (len(digits) - 4) + digits[-2:]
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


# Phone numbers people type into free text (a description, a note): mobiles (optionally +86), landlines
# with their area code (021-62481234), and a bare 7–8 digit local number right after a word that says it
# is one (电话 62481234). Other numbers (order numbers, amounts, house numbers) are left alone.
PHONE_IN_TEXT = re.compile(
    r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)"
    r"|(?<!\d)0\d{2,3}[- ]?\d{7,8}(?!\d)"
    r"|(?<=电话|手机|座机|联系|号码|致电|回电)[:：\s]*\d{7,8}(?!\d)"
    r"|(?i:(?<=tel))[:：.\s]*\d{7,8}(?!\d)"
)


def mask_phones_in(text: str) -> str:
    """The text with every phone number in it masked as `mask_phone` masks a contact's."""
    return PHONE_IN_TEXT.sub(lambda found: _mask_found(found.group(0)), text)


def _mask_found(found: str) -> str:
    number = found.lstrip(":：. \t\n")
    if len(number) > 11 and number[-11] == "1":  # +86 13812345678: the country code stays as it is
        return found[: len(found) - 11] + mask_phone(number[-11:])
    return found[: len(found) - len(number)] + mask_phone(number)


def mask_name(name: str) -> str:
    name = name.strip()
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


@dataclass(frozen=True)
class Location:
    point: Point | None = None
    address: str | None = None
    area: str | None = None
    grid: str | None = None
    building: str | None = None


@dataclass
class StageClock:
    stage: Stage
    started_at: datetime
    due_at: datetime
    done_at: datetime | None = None
    alerts_fired: int = 0

    @property
    def pending(self) -> bool:
        return self.done_at is None

    @property
    def on_time(self) -> bool | None:
        """None while pending; True when done by the deadline."""
        return None if self.done_at is None else self.done_at <= self.due_at

    def overdue(self, now: datetime) -> bool:
        return self.done_at is None and now > self.due_at


@dataclass
class Extension:
    no: int
    stage: Stage
    requested_by: str
    requested_at: datetime
    until: datetime
    reason: str
    decision: str | None = None  # "approved" | "refused"
    decided_by: str | None = None
    decided_at: datetime | None = None


@dataclass
class Supervision:
    """督办: a duty officer's or director's demand on an order, with its own reply deadline."""

    no: int
    issued_by: str
    issued_at: datetime
    note: str
    reply_due_at: datetime
    replied_at: datetime | None = None
    reply: str | None = None
    overdue_fired: bool = False


@dataclass(frozen=True)
class TimelineEntry:
    seq: int
    at: datetime
    kind: str
    actor: str
    actor_name: str
    state: OrderState
    note: str = ""
    position: Point | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


Targets = Callable[[Rung], Who | None]
Grading = tuple[str, Sequence[Mapping[str, Any]]]  # why an order has its colour: explanation, causes


@dataclass
class WorkOrder:
    street: str
    source: Source
    category: str
    description: str
    location: Location
    colour: Colour
    policy_code: str
    received_at: datetime
    state: OrderState = OrderState.RECEIVED
    id: int | None = None
    complainants: list[Contact] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)
    external_id: str | None = None
    assignee: str | None = None
    clocks: dict[Stage, StageClock] = field(default_factory=dict)
    extensions: list[Extension] = field(default_factory=list)
    supervisions: list[Supervision] = field(default_factory=list)
    suspended_from: OrderState | None = None
    suspended_at: datetime | None = None
    merged_into: int | None = None
    round: int = 1
    plan: str | None = None
    planned_for: datetime | None = None
    satisfaction: Satisfaction | None = None
    escalation_level: int = 0
    updated_at: datetime | None = None
    version: int = 0
    last_seq: int = 0
    new_entries: list[TimelineEntry] = field(default_factory=list)

    # --- creation ---------------------------------------------------------------------------------

    @classmethod
    def receive(
        cls,
        *,
        street: str,
        source: Source,
        category: str,
        description: str,
        location: Location,
        colour: Colour,
        policy: DeadlinePolicy,
        now: datetime,
        by: Who,
        complainant: Contact | None = None,
        attachments: Sequence[str] = (),
        external_id: str | None = None,
        grading: Grading | None = None,
    ) -> WorkOrder:
        """A new order. `grading`: why it has its colour (the grader's explanation and causes), when
        more than its category's default decided it."""
        text = description.strip()
        if not text:
            raise InvalidInput("问题描述不能为空")
        if len(text) > MAX_TEXT:
            raise InvalidInput(f"问题描述不能超过 {MAX_TEXT} 字", length=len(text))
        if location.point is None and not (location.address or "").strip() and location.area is None:
            raise InvalidInput("工单需要位置：坐标、地址或所属居民区至少填一项")
        order = cls(
            street=street,
            source=source,
            category=category,
            description=text,
            location=location,
            colour=colour,
            policy_code=policy.code,
            received_at=now,
            complainants=[complainant] if complainant else [],
            attachments=list(attachments),
            external_id=external_id,
        )
        order._start_round(now, policy)
        note, data = order._received(grading)
        order._record(now, by, "received", note, data=data)
        return order

    def _received(self, grading: Grading | None) -> tuple[str, dict[str, Any]]:
        note = f"受理工单（{self.source.label}）"
        data: dict[str, Any] = {"colour": self.colour.value}
        if grading is not None:
            note += f"，定级为{self.colour.label}：{grading[0]}"
            data["causes"] = list(grading[1])
        return note, data

    def grade_received(self, colour: Colour, grading: Grading | None) -> None:
        """Grade a new order again before it is stored (intake counts earlier reports of the problem in
        its transaction): the colour and the reasons its `received` entry gives. The deadline policy is
        the caller's to keep: a colour that needs another one needs a new order."""
        first = self.new_entries[0] if self.new_entries else None
        if self.id is not None or first is None or first.kind != "received":
            raise IllegalTransition("只有尚未保存的新工单可以重新定级")
        self.colour = colour
        note, data = self._received(grading)
        self.new_entries[0] = replace(first, note=note, data=data)

    def _start_round(self, now: datetime, policy: DeadlinePolicy) -> None:
        self.clocks = {}
        for rule in policy.stages:
            if rule.counted_from is Anchor.RECEIPT:
                self.clocks[rule.stage] = StageClock(rule.stage, now, now + timedelta(minutes=rule.minutes))

    # --- lifecycle --------------------------------------------------------------------------------

    def dispatch(
        self, now: datetime, by: Who, assignee: Who, note: str = "", area: str | None = None
    ) -> None:
        """Assign the order; `area` (re)places an order the intake could not locate (or located wrongly)."""
        self._require(Action.DISPATCH)
        if area is not None and area != self.location.area:
            self.location = Location(self.location.point, self.location.address, area)
        if self.location.area is None:
            raise InvalidInput("工单尚未确定所属居民区，不能派遣")
        previous = self.assignee
        self.assignee = assignee.id
        self.state = OrderState.DISPATCHED
        kind = "reassigned" if previous and previous != assignee.id else "dispatched"
        self._record(
            now,
            by,
            kind,
            note or f"派遣给 {assignee.name}",
            data={
                "assignee": assignee.id,
                "assignee_name": assignee.name,
                "previous": previous,
                "area": self.location.area,
            },
        )

    def reassign(self, now: datetime, by: Who, assignee: Who, reason: str, note: str = "") -> None:
        """改派: hand an order its holder has not reached yet to someone else, with the reason (the holder
        cannot arrive in time, is off shift, ...); `note`: how the new holder was chosen. Unlike a
        dispatch it keeps the state: a first contact already made (`responded`) stands, and every stage
        clock runs on as it was."""
        self._require(Action.REASSIGN)
        _need_text(reason, "改派原因")
        if assignee.id == self.assignee:
            raise InvalidInput(f"工单已由 {assignee.name} 承办，无需改派", assignee=assignee.id)
        previous, self.assignee = self.assignee, assignee.id
        self._record(
            now,
            by,
            "reassigned",
            f"改派给 {assignee.name}：{reason.strip()}" + (f"；{note.strip()}" if note.strip() else ""),
            data={
                "assignee": assignee.id,
                "assignee_name": assignee.name,
                "previous": previous,
                "area": self.location.area,
                "reason": reason.strip(),
            },
        )

    def respond(
        self, now: datetime, by: Who, policy: DeadlinePolicy, note: str = "", position: Point | None = None
    ) -> None:
        self._require(Action.RESPOND)
        self.state = OrderState.RESPONDED
        self._complete(Stage.RESPOND, now, policy)
        self._record(now, by, "responded", note or "已响应（先联）", position)

    def arrive(self, now: datetime, by: Who, policy: DeadlinePolicy, position: Point, note: str = "") -> None:
        self._require(Action.ARRIVE)
        self.state = OrderState.ON_SITE
        self._complete(Stage.ARRIVE, now, policy)
        self._record(now, by, "arrived", note or "到场签到", position)

    def handle(
        self, now: datetime, by: Who, note: str, policy: DeadlinePolicy, attachments: Sequence[str] = ()
    ) -> None:
        self._require(Action.HANDLE)
        _need_text(note, "处置情况")
        was_planned = self.state is OrderState.PLANNED
        self.state = OrderState.HANDLED
        if not was_planned:
            self._complete(Stage.HANDLE, now, policy)
        self.attachments.extend(attachments)
        self._record(now, by, "handled", note, data={"attachments": list(attachments)} if attachments else {})

    def make_plan(self, now: datetime, by: Who, plan: str, planned_for: datetime) -> None:
        self._require(Action.PLAN)
        _need_text(plan, "解决方案")
        if planned_for <= now:
            raise InvalidInput("计划完成时间必须晚于现在")
        self.state = OrderState.PLANNED
        self.plan, self.planned_for = plan.strip(), planned_for
        self._complete(Stage.HANDLE, now, None)
        self.clocks[Stage.CLOSE] = StageClock(Stage.CLOSE, now, planned_for)
        self._record(now, by, "planned", plan, data={"planned_for": planned_for.isoformat()})

    def close_loop(self, now: datetime, by: Who, note: str, satisfaction: Satisfaction | None = None) -> None:
        self._require(Action.CLOSE_LOOP)
        _need_text(note, "反馈内容")
        self.state = OrderState.LOOP_CLOSED
        self.satisfaction = satisfaction
        self._complete(Stage.CLOSE, now, None)
        data = {"satisfaction": satisfaction.value} if satisfaction else {}
        self._record(now, by, "loop_closed", note, data=data)

    def close(self, now: datetime, by: Who, note: str = "") -> None:
        self._require(Action.CLOSE)
        self.state = OrderState.CLOSED
        self._record(now, by, "closed", note or "结案")

    def return_to_dispatcher(self, now: datetime, by: Who, reason: ReturnReason, note: str) -> None:
        self._require(Action.RETURN)
        _need_text(note, "退单说明")
        previous = self.assignee
        self.state = OrderState.RETURNED
        self.assignee = None
        self._record(
            now,
            by,
            "returned",
            f"退单（{reason.label}）：{note.strip()}",
            data={"reason": reason.value, "previous": previous},
        )

    def request_extension(
        self, now: datetime, by: Who, until: datetime, reason: str, stage: Stage | None = None
    ) -> Extension:
        self._require(Action.REQUEST_EXTENSION)
        _need_text(reason, "延期理由")
        clock = self._clock_for_extension(stage)
        if now > clock.due_at:
            raise IllegalTransition(
                f"{clock.stage.label}环节已超期，不能再申请延期，请说明原因后办理", stage=clock.stage.value
            )
        if until <= clock.due_at:
            raise InvalidInput("延期后的时限必须晚于当前时限", due_at=clock.due_at.isoformat())
        if any(e.decision is None for e in self.extensions):
            raise IllegalTransition("已有一项延期申请待审批")
        extension = Extension(len(self.extensions) + 1, clock.stage, by.id, now, until, reason.strip())
        self.extensions.append(extension)
        self._record(
            now,
            by,
            "extension_requested",
            f"申请{clock.stage.label}延期：{reason.strip()}",
            data={"extension": extension.no, "stage": clock.stage.value, "until": until.isoformat()},
        )
        return extension

    def decide_extension(
        self, now: datetime, by: Who, approve: bool, note: str, policy: DeadlinePolicy
    ) -> None:
        self._require(Action.DECIDE_EXTENSION)
        pending = next((e for e in self.extensions if e.decision is None), None)
        if pending is None:
            raise IllegalTransition("没有待审批的延期申请")
        pending.decision = "approved" if approve else "refused"
        pending.decided_by, pending.decided_at = by.id, now
        clock = self.clocks.get(pending.stage)
        if approve and clock is not None and clock.pending:
            clock.due_at = pending.until
            clock.alerts_fired = sum(1 for a in policy.alerts(clock.started_at, clock.due_at) if a.at <= now)
        kind = "extension_approved" if approve else "extension_refused"
        text = "同意延期" if approve else "不同意延期"
        self._record(
            now,
            by,
            kind,
            f"{text}{'：' + note.strip() if note.strip() else ''}",
            data={"extension": pending.no, "until": pending.until.isoformat()},
        )

    def suspend(self, now: datetime, by: Who, reason: str) -> None:
        self._require(Action.SUSPEND)
        _need_text(reason, "挂账理由")
        self.suspended_from, self.suspended_at = self.state, now
        self.state = OrderState.SUSPENDED
        self._record(
            now, by, "suspended", f"挂账：{reason.strip()}", data={"from": self.suspended_from.value}
        )

    def resume(self, now: datetime, by: Who, note: str = "") -> None:
        self._require(Action.RESUME)
        if self.suspended_at is not None:
            # Time on the problem list does not count against a stage: its clock was frozen.
            frozen = now - self.suspended_at
            for clock in self.clocks.values():
                if clock.pending:
                    clock.started_at += frozen
                    clock.due_at += frozen
        self.state = self.suspended_from or OrderState.RECEIVED
        self.suspended_from = self.suspended_at = None
        self._record(now, by, "resumed", note or "恢复办理")

    def reopen(self, now: datetime, by: Who, reason: str, policy: DeadlinePolicy) -> None:
        self._require(Action.REOPEN)
        _need_text(reason, "重新办理原因")
        previous = {s.value: _clock_summary(c) for s, c in self.clocks.items()}
        self.round += 1
        self.state = OrderState.DISPATCHED if self.assignee else OrderState.RECEIVED
        self.plan = self.planned_for = None
        self.satisfaction = None
        self.escalation_level = 0
        self._start_round(now, policy)
        self._record(
            now,
            by,
            "reopened",
            f"重新办理：{reason.strip()}",
            data={"round": self.round, "previous_clocks": previous},
        )

    def merge_into(self, now: datetime, by: Who, target: WorkOrder, note: str = "") -> None:
        self._require(Action.MERGE)
        if target.id is None or target.id == self.id:
            raise InvalidInput("不能并入自身")
        if target.state.group is not Group.OPEN and target.state is not OrderState.HANDLED:
            raise IllegalTransition(f"目标工单{target.state.label}，不能再并入重复件", target=target.id)
        self.state = OrderState.MERGED
        self.merged_into = target.id
        self._record(now, by, "merged", note or f"作为重复件并入工单 {target.id}", data={"into": target.id})
        added = [c for c in self.complainants if c not in target.complainants]
        target.complainants.extend(added)
        target._record(
            now,
            by,
            "duplicate_merged",
            f"并入重复件 {self.id}（诉求人 {len(added)} 位）",
            data={"from": self.id},
        )

    def supervise(self, now: datetime, by: Who, note: str, reply_minutes: float) -> Supervision:
        self._require(Action.SUPERVISE)
        _need_text(note, "督办要求")
        if not 0 < reply_minutes <= 60 * 24 * 30:
            raise InvalidInput("督办回复时限应在 0 分钟到 30 天之间")
        supervision = Supervision(
            len(self.supervisions) + 1, by.id, now, note.strip(), now + timedelta(minutes=reply_minutes)
        )
        self.supervisions.append(supervision)
        self._record(
            now,
            by,
            "supervised",
            f"督办：{note.strip()}",
            data={"supervision": supervision.no, "reply_due_at": supervision.reply_due_at.isoformat()},
        )
        return supervision

    def reply_supervision(self, now: datetime, by: Who, no: int, reply: str) -> None:
        self._require(Action.REPLY_SUPERVISION)
        _need_text(reply, "督办回复")
        supervision = next((s for s in self.supervisions if s.no == no), None)
        if supervision is None:
            raise InvalidInput(f"督办 {no} 不存在")
        if supervision.replied_at is not None:
            raise IllegalTransition(f"督办 {no} 已回复")
        supervision.replied_at, supervision.reply = now, reply.strip()
        late = now > supervision.reply_due_at
        self._record(now, by, "supervision_replied", reply.strip(), data={"supervision": no, "late": late})

    def regrade(
        self, now: datetime, by: Who, colour: Colour, reason: str, policy: DeadlinePolicy | None = None
    ) -> None:
        """A person's grade, with a reason. `policy`: the deadline policy of the new colour (see
        `change_colour` for what that changes)."""
        self._require(Action.REGRADE)
        _need_text(reason, "调整理由")
        if colour is self.colour:
            raise InvalidInput(f"工单已是{colour.label}")
        previous, self.colour = self.colour, colour
        data: dict[str, Any] = {"from": previous.value, "to": colour.value}
        note = f"{previous.label} → {colour.label}：{reason.strip()}"
        note += self._follow(policy, data)
        self._record(now, by, "regraded", note, data=data)

    def change_colour(
        self,
        now: datetime,
        colour: Colour,
        explanation: str,
        causes: Sequence[Mapping[str, Any]],
        policy: DeadlinePolicy | None = None,
    ) -> None:
        """Automatic grading's new colour, with its causes: `colour_raised` (a warning) or
        `colour_lowered`.

        A new colour may bring another deadline policy (a red order's tighter one). Clocks already
        running keep their deadlines: the assignee was promised them and the assessment counts against
        them. Stages that start later, warnings and escalations, and new supervisions follow the new
        policy."""
        if colour is self.colour:
            return
        previous, self.colour = self.colour, colour
        data: dict[str, Any] = {"from": previous.value, "to": colour.value, "causes": list(causes)}
        if colour.rank < previous.rank:
            kind, note = "colour_raised", f"颜色升级 {previous.label} → {colour.label}：{explanation}"
        else:
            kind, note = "colour_lowered", f"颜色调整 {previous.label} → {colour.label}：{explanation}"
        note += self._follow(policy, data)
        self._record(now, SYSTEM, kind, note, data=data)

    def _follow(self, policy: DeadlinePolicy | None, data: dict[str, Any]) -> str:
        """Switch to `policy` for what starts from now on; the words that say so on the timeline."""
        if policy is None or policy.code == self.policy_code or self.state.group is Group.CLOSED:
            return ""
        data.update(policy_from=self.policy_code, policy=policy.code)
        self.policy_code = policy.code
        return f"（此后开始的环节按「{policy.name}」计时，进行中的时限不变）"

    def urge(self, now: datetime, by: Who, note: str, no: int, automatic: bool = False) -> None:
        """催办: a notice to hurry, to the assignee; `no` counts this order's urges."""
        self._require(Action.URGE)
        _need_text(note, "催办内容")
        self._record(
            now,
            by,
            "urged",
            f"催办（第 {no} 次{'，系统自动' if automatic else ''}）：{note.strip()}",
            data={"no": no, "automatic": automatic, "assignee": self.assignee},
        )

    def circulate(self, now: datetime, by: Who, note: str, notice: int, automatic: bool = False) -> None:
        """通报: the order is named in a circulated notice (`notice` is its number)."""
        self._require(Action.CIRCULATE)
        _need_text(note, "通报内容")
        self._record(
            now,
            by,
            "circulated",
            f"通报{'（系统自动）' if automatic else ''}：{note.strip()}",
            data={"notice": notice, "automatic": automatic, "assignee": self.assignee},
        )

    def reclassify(self, now: datetime, by: Who, category: str, reason: str = "") -> str:
        """Correct the category (the deadlines already promised stay); returns the previous one."""
        self._require(Action.RECLASSIFY)
        if category == self.category:
            raise InvalidInput(f"工单已是类别 {category}")
        previous, self.category = self.category, category
        why = f"：{reason.strip()}" if reason and reason.strip() else ""
        self._record(
            now,
            by,
            "reclassified",
            f"类别 {previous} → {category}{why}",
            data={"from": previous, "to": category},
        )
        return previous

    def remark(
        self, now: datetime, by: Who, kind: str, note: str, data: Mapping[str, Any] | None = None
    ) -> None:
        """Something intake noticed (an unresolved address, a likely duplicate, ...), for the handler."""
        if kind not in REMARKS:
            raise InvalidInput(f"未知的提示类型 {kind!r}")
        self._record(now, by, kind, note, data=data)

    def add_note(self, now: datetime, by: Who, note: str, position: Point | None = None) -> None:
        self._require(Action.NOTE)
        _need_text(note, "备注")
        self._record(now, by, "noted", note.strip(), position)

    # --- deadlines --------------------------------------------------------------------------------

    @property
    def alerts_live(self) -> bool:
        return self.state in _LIVE

    def next_alert_at(self, policy: DeadlinePolicy) -> datetime | None:
        """When this order next needs the deadline worker; None when nothing is pending."""
        if not self.alerts_live and self.state is not OrderState.SUSPENDED:
            return None
        times: list[datetime] = []
        if self.alerts_live:
            for clock in self.clocks.values():
                if clock.pending:
                    alerts = policy.alerts(clock.started_at, clock.due_at)
                    if clock.alerts_fired < len(alerts):
                        times.append(alerts[clock.alerts_fired].at)
        times += [s.reply_due_at for s in self.supervisions if s.replied_at is None and not s.overdue_fired]
        return min(times) if times else None

    def next_due_at(self) -> datetime | None:
        """The earliest deadline of a pending stage: the order is overdue once this has passed."""
        if not self.alerts_live:
            return None
        dues = [c.due_at for c in self.clocks.values() if c.pending]
        return min(dues) if dues else None

    def is_overdue(self, now: datetime) -> bool:
        due = self.next_due_at()
        return due is not None and now > due

    def fire_alerts(self, now: datetime, policy: DeadlinePolicy, targets: Targets) -> list[TimelineEntry]:
        """Record every warning, overdue notice and escalation whose time has come. Idempotent:
        each alert is counted on its clock, so firing twice records nothing new."""
        before = len(self.new_entries)
        if self.alerts_live:
            for stage in STAGES:
                clock = self.clocks.get(stage)
                if clock is None or not clock.pending:
                    continue
                alerts = policy.alerts(clock.started_at, clock.due_at)
                while clock.alerts_fired < len(alerts) and alerts[clock.alerts_fired].at <= now:
                    self._fire(alerts[clock.alerts_fired], clock, now, targets)
                    clock.alerts_fired += 1
        for supervision in self.supervisions:
            if (
                supervision.replied_at is None
                and not supervision.overdue_fired
                and supervision.reply_due_at <= now
            ):
                supervision.overdue_fired = True
                director = targets(Rung.DIRECTOR)
                self._record(
                    now,
                    SYSTEM,
                    "supervision_overdue",
                    f"督办 {supervision.no} 逾期未回复",
                    data={
                        "supervision": supervision.no,
                        "notify": director.id if director else None,
                        "notify_name": director.name if director else None,
                    },
                )
        return self.new_entries[before:]

    def _fire(self, alert: Any, clock: StageClock, now: datetime, targets: Targets) -> None:
        label = clock.stage.label
        data: dict[str, Any] = {"stage": clock.stage.value, "due_at": clock.due_at.isoformat()}
        if alert.kind is AlertKind.WARNING and now >= clock.due_at:
            return  # a worker that comes late skips the warning: the overdue notice says it all
        if alert.kind is AlertKind.WARNING:
            left = max(0, int((clock.due_at - now).total_seconds() // 60))
            self._record(now, SYSTEM, alert.kind.value, f"{label}即将超期（剩余约 {left} 分钟）", data=data)
        elif alert.kind is AlertKind.OVERDUE:
            self._record(now, SYSTEM, alert.kind.value, f"{label}已超期", data=data)
        else:
            target = targets(alert.rung)
            self.escalation_level = max(self.escalation_level, _RUNGS.index(alert.rung) + 1)
            data.update(
                rung=alert.rung.value,
                notify=target.id if target else None,
                notify_name=target.name if target else None,
            )
            who = f"{alert.rung.label} {target.name}" if target else f"{alert.rung.label}（无人在班）"
            self._record(now, SYSTEM, alert.kind.value, f"{label}超期未办，升级至{who}", data=data)

    # --- helpers ----------------------------------------------------------------------------------

    def current_clock(self) -> StageClock | None:
        pending = [self.clocks[s] for s in STAGES if s in self.clocks and self.clocks[s].pending]
        return pending[0] if pending else None

    def _clock_for_extension(self, stage: Stage | None) -> StageClock:
        clock = self.clocks.get(stage) if stage else self.current_clock()
        if clock is None or not clock.pending:
            what = stage.label if stage else "当前"
            raise IllegalTransition(f"{what}环节没有进行中的时限，不能申请延期")
        return clock

    def _complete(self, stage: Stage, now: datetime, policy: DeadlinePolicy | None) -> None:
        """Stop a stage's clock and start the next one if it is counted from this stage."""
        clock = self.clocks.get(stage)
        if clock is not None and clock.pending:
            clock.done_at = now
        index = STAGES.index(stage) + 1
        if policy is None or index == len(STAGES) or STAGES[index] in self.clocks:
            return
        rule = policy.rule(STAGES[index])
        if rule.counted_from is Anchor.PREVIOUS:
            self.clocks[rule.stage] = StageClock(rule.stage, now, now + timedelta(minutes=rule.minutes))

    def _require(self, action: Action) -> None:
        if self.state not in ALLOWED_FROM[action]:
            raise IllegalTransition(
                f"工单当前状态为「{self.state.label}」，不能执行「{action.label}」",
                state=self.state.value,
                action=action.value,
            )

    def _record(
        self,
        now: datetime,
        by: Who,
        kind: str,
        note: str,
        position: Point | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        self.last_seq += 1
        self.updated_at = now
        self.new_entries.append(
            TimelineEntry(
                self.last_seq, now, kind, by.id, by.name, self.state, note, position, dict(data or {})
            )
        )


_RUNGS = list(Rung)


def _need_text(text: str, what: str) -> None:
    if not text or not text.strip():
        raise InvalidInput(f"{what}不能为空")
    if len(text) > MAX_NOTE:
        raise InvalidInput(f"{what}不能超过 {MAX_NOTE} 字")


def _clock_summary(clock: StageClock) -> dict[str, Any]:
    return {
        "started_at": clock.started_at.isoformat(),
        "due_at": clock.due_at.isoformat(),
        "done_at": clock.done_at.isoformat() if clock.done_at else None,
    }

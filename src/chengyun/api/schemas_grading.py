"""API shapes of the five colours, supervision notices, notifications and the duty officer's board."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from chengyun.api.schemas import MAX_ID, AwareMoment, RequiredNote, Strict
from chengyun.domain.board import BoardItem
from chengyun.domain.grading import Facts, Grade
from chengyun.domain.notify import Delivery, Notification
from chengyun.domain.orders import WorkOrder
from chengyun.domain.severity import Colour
from chengyun.domain.supervision import Notice
from chengyun.services.grading import DryRun
from chengyun.services.ports import GradeRecord


class CauseOut(BaseModel):
    code: str
    name: str
    factor: str
    effect: str


class GradeOut(BaseModel):
    """Why an order has its colour."""

    order_id: int
    colour: Colour
    colour_label: str
    graded: Colour = Field(description="自动定级此刻给出的颜色（工单颜色以 colour 为准）")
    base: Colour = Field(description="起点：类别默认颜色与上报等级中较严重者")
    manual: Colour | None = Field(None, description="人工定级（有则自动定级只会因新的重复或超期提高它）")
    causes: list[CauseOut]
    explanation: str
    repeats: int = Field(description="此前同一地点同类问题的反映次数（含并入的重复件）")
    deadline: str | None = Field(None, description="时限状态：near / overdue / escalated")
    nearby: dict[str, float] = Field(description="周边兴趣点类型 → 最近距离（米）")
    historic: bool

    @classmethod
    def of(cls, order: WorkOrder, grade: Grade, facts: Facts, record: GradeRecord) -> GradeOut:
        assert order.id is not None
        return cls(
            order_id=order.id,
            colour=order.colour,
            colour_label=order.colour.label,
            graded=grade.colour,
            base=grade.base,
            manual=record.manual,
            causes=[CauseOut(**c.to_dict()) for c in grade.causes],
            explanation=grade.explain(facts),
            repeats=facts.repeats,
            deadline=facts.deadline.value if facts.deadline else None,
            nearby=dict(facts.nearby),
            historic=facts.historic,
        )


class DryRunIn(Strict):
    since: AwareMoment = Field(description="起（含），带时区")
    until: AwareMoment = Field(description="止（不含），带时区")
    rules: dict[str, Any] | None = Field(None, description="拟用的分级规则；不填则用本街道现行规则")


class MoveOut(BaseModel):
    from_colour: Colour = Field(alias="from")
    to: Colour
    count: int

    model_config = {"populate_by_name": True}


class ChangeOut(BaseModel):
    order_id: int
    category: str
    received_at: datetime
    actual: Colour
    proposed: Colour
    explanation: str


class DryRunOut(BaseModel):
    street: str
    since: datetime
    until: datetime
    orders: int
    changed: int
    manual_kept: int = Field(description="人工定级的工单：规则不改变它们")
    actual: dict[str, int] = Field(description="各颜色的工单数（现有颜色）")
    proposed: dict[str, int] = Field(description="各颜色的工单数（按拟用规则）")
    moves: list[MoveOut]
    causes: dict[str, int] = Field(description="各条规则作用到的工单数")
    examples: list[ChangeOut]
    seconds: float

    @classmethod
    def of(cls, run: DryRun) -> DryRunOut:
        return cls(
            street=run.street,
            since=run.since,
            until=run.until,
            orders=run.orders,
            changed=run.changed,
            manual_kept=run.manual_kept,
            actual=run.actual,
            proposed=run.proposed,
            moves=[
                MoveOut.model_validate({"from": a, "to": b, "count": n})
                for (a, b), n in sorted(run.moves.items(), key=lambda kv: -kv[1])
            ],
            causes=run.causes,
            examples=[ChangeOut(**c.__dict__) for c in run.examples],
            seconds=round(run.seconds, 3),
        )


class UrgeIn(Strict):
    note: RequiredNote


class CirculateIn(Strict):
    order_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        min_length=1, max_length=200, description="通报涉及的工单"
    )
    note: RequiredNote
    staff: str | None = Field(None, min_length=1, max_length=64, description="被通报的人员编号（可不填）")


class NoticeOut(BaseModel):
    id: int
    kind: str
    kind_label: str
    note: str
    order_ids: list[int]
    staff: str | None
    automatic: bool
    issued_by_name: str
    issued_at: datetime

    @classmethod
    def of(cls, notice: Notice) -> NoticeOut:
        assert notice.id is not None
        return cls(
            id=notice.id,
            kind=notice.kind.value,
            kind_label=notice.kind.label,
            note=notice.note,
            order_ids=list(notice.order_ids),
            staff=notice.staff,
            automatic=notice.automatic,
            issued_by_name=notice.issued_by_name,
            issued_at=notice.issued_at,
        )


class NoticePage(BaseModel):
    items: list[NoticeOut]
    total: int


class NotificationOut(BaseModel):
    id: int
    kind: str
    title: str
    body: str
    order_id: int | None
    colour: str | None
    created_at: datetime
    read: bool

    @classmethod
    def of(cls, n: Notification) -> NotificationOut:
        assert n.id is not None
        return cls(
            id=n.id,
            kind=n.kind,
            title=n.title,
            body=n.body,
            order_id=n.order_id,
            colour=n.colour,
            created_at=n.created_at,
            read=n.read_at is not None,
        )


class FeedOut(BaseModel):
    items: list[NotificationOut]
    total: int
    unread: int


class ReadIn(Strict):
    ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(
        None, max_length=1000, description="要标为已读的通知；不填则全部标为已读"
    )


class ReadOut(BaseModel):
    marked: int
    unread: int


class DeliveryOut(BaseModel):
    id: int
    channel: str
    target: str
    kind: str
    order_id: int | None
    status: str
    attempts: int
    next_try_at: datetime | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, d: Delivery) -> DeliveryOut:
        assert d.id is not None
        return cls(
            id=d.id,
            channel=d.channel,
            target=d.target,
            kind=d.kind,
            order_id=d.order_id,
            status=d.status.value,
            attempts=d.attempts,
            next_try_at=d.next_try_at,
            last_error=d.last_error,
            created_at=d.created_at,
            sent_at=d.sent_at,
        )


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    total: int


class ReasonOut(BaseModel):
    code: str
    label: str


class BoardOrderOut(BaseModel):
    id: int
    category: str
    category_name: str | None
    colour: Colour
    colour_label: str
    state: str
    state_label: str
    area: str | None
    address: str | None
    assignee: str | None
    assignee_name: str | None
    description: str
    received_at: datetime


class BoardSupervisionOut(BaseModel):
    no: int
    note: str
    reply_due_at: datetime


class BoardExtensionOut(BaseModel):
    no: int
    stage: str
    until: datetime
    reason: str


class BoardItemOut(BaseModel):
    order: BoardOrderOut
    reasons: list[ReasonOut]
    due_at: datetime | None
    due_what: str | None
    time_left_s: float | None = Field(description="距最紧迫时限的秒数，已超期为负")
    supervision: BoardSupervisionOut | None
    extension: BoardExtensionOut | None

    @classmethod
    def of(cls, item: BoardItem, category_name: str | None, assignee_name: str | None) -> BoardItemOut:
        order = item.order
        assert order.id is not None
        s, e = item.supervision, item.extension
        return cls(
            order=BoardOrderOut(
                id=order.id,
                category=order.category,
                category_name=category_name,
                colour=order.colour,
                colour_label=order.colour.label,
                state=order.state.value,
                state_label=order.state.label,
                area=order.location.area,
                address=order.location.address,
                assignee=order.assignee,
                assignee_name=assignee_name,
                description=order.description[:200],
                received_at=order.received_at,
            ),
            reasons=[ReasonOut(code=r.value, label=r.label) for r in item.reasons],
            due_at=item.due_at,
            due_what=item.due_what,
            time_left_s=round(item.time_left_s, 1) if item.time_left_s is not None else None,
            supervision=BoardSupervisionOut(no=s.no, note=s.note, reply_due_at=s.reply_due_at) if s else None,
            extension=(
                BoardExtensionOut(no=e.no, stage=e.stage.value, until=e.until, reason=e.reason) if e else None
            ),
        )


class BoardOut(BaseModel):
    street: str
    now: datetime
    live: int = Field(description="本街道在办工单数")
    counts: dict[str, int] = Field(description="各类待关注事项的件数")
    items: list[BoardItemOut]
    notices: list[NoticeOut] = Field(description="近 24 小时的催办与通报")

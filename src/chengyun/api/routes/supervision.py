"""/api/v1 supervision and the duty officer's board: urge (催办) and circulated (通报) notices, the
automatic thresholds, and what needs attention now."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, status

from chengyun.api.deps import ActorDep, CenterDep, street_of, street_or_only
from chengyun.api.routes.orders import OrderId, shape
from chengyun.api.schemas import ERROR_RESPONSES, Moment, OrderOut, has_nul
from chengyun.api.schemas_grading import BoardItemOut, BoardOut, CirculateIn, NoticeOut, NoticePage, UrgeIn
from chengyun.domain.errors import InvalidInput
from chengyun.domain.supervision import NoticeKind

router = APIRouter(prefix="/api/v1", tags=["督办"], responses=ERROR_RESPONSES)


@router.post("/orders/{order_id}/urge", response_model=OrderOut, summary="催办", tags=["工单"])
def urge(order_id: OrderId, body: UrgeIn, center: CenterDep, actor: ActorDep) -> OrderOut:
    return shape(center, actor, center.supervision.urge(actor, order_id, body.note))


@router.post(
    "/notices",
    status_code=status.HTTP_201_CREATED,
    response_model=NoticeOut,
    summary="通报",
    description="值班长、主任发出通报，列出涉及的工单（可指明被通报的人员）；每件工单的时间线记下通报。",
)
def circulate(body: CirculateIn, center: CenterDep, actor: ActorDep, street: str | None = None) -> NoticeOut:
    notice = center.supervision.circulate(
        actor, street_of(actor, street), body.order_ids, body.note, body.staff
    )
    return NoticeOut.of(notice)


@router.get("/notices", response_model=NoticePage, summary="催办与通报")
def notices(
    center: CenterDep,
    actor: ActorDep,
    street: str | None = None,
    kind: NoticeKind | None = None,
    since: Moment | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> NoticePage:
    if since is not None and since.tzinfo is None:
        raise InvalidInput("since 必须带时区，如 2026-11-25T08:00:00+08:00")
    found, total = center.supervision.notices(actor, street_of(actor, street), kind, since, limit, offset)
    return NoticePage(items=[NoticeOut.of(n) for n in found], total=total)


@router.get(
    "/supervision-rules",
    summary="自动催办、通报的门槛",
    description="urge_after_late：工单本轮第几次超期起自动催办；circulate_after_urges：催办几次后再超期即通报；"
    "circulate_person_late / circulate_window_days：某人所办工单在若干天内超期多少次即通报此人。",
)
def get_supervision_rules(center: CenterDep, actor: ActorDep, street: str | None = None) -> dict[str, int]:
    return center.supervision.get_rules(actor, street_of(actor, street)).to_dict()


@router.put("/supervision-rules", summary="修改自动催办、通报的门槛")
def put_supervision_rules(
    center: CenterDep, actor: ActorDep, body: Annotated[dict[str, Any], Body()], street: str | None = None
) -> dict[str, int]:
    if has_nul(body):
        raise InvalidInput("督办规则中不能含有 NUL 字符", code="invalid_request")
    return center.supervision.set_rules(actor, street_of(actor, street), body).to_dict()


@router.get(
    "/board",
    response_model=BoardOut,
    summary="值班长工作台",
    description="此刻需要关注的工单：已超期、临近时限、红橙色、督办待回复、退单待派遣、延期待审批、"
    "地址待核实、待派遣；按颜色、再按最紧迫时限的剩余时间排序（超期最久的在前）。",
)
def board(
    center: CenterDep,
    actor: ActorDep,
    street: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> BoardOut:
    found = center.board.board(actor, street_or_only(center, actor, street), limit)
    catalogue = center.orders.catalogue(found.street)
    names = center.directory.staff_names(found.street)
    return BoardOut(
        street=found.street,
        now=found.now,
        live=found.live,
        counts={reason.value: n for reason, n in found.counts.items()},
        items=[
            BoardItemOut.of(i, catalogue.name_of(i.order.category), names.get(i.order.assignee or ""))
            for i in found.items
        ],
        notices=[NoticeOut.of(n) for n in found.notices],
    )

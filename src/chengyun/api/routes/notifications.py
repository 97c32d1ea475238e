"""/api/v1 notifications: one's own in-app feed (read, mark read), who is told what (the street's
rules, webhooks), and the outgoing deliveries with their tries."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from chengyun.api.deps import ActorDep, CenterDep, street_of
from chengyun.api.schemas import ERROR_RESPONSES, has_nul
from chengyun.api.schemas_grading import DeliveryOut, DeliveryPage, FeedOut, NotificationOut, ReadIn, ReadOut
from chengyun.domain.errors import InvalidInput
from chengyun.domain.notify import DeliveryStatus

router = APIRouter(prefix="/api/v1", tags=["通知"], responses=ERROR_RESPONSES)


@router.get("/notifications", response_model=FeedOut, summary="我的通知", description="最新的在前。")
def feed(
    center: CenterDep,
    actor: ActorDep,
    unread: Annotated[bool, Query(description="true：只看未读")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> FeedOut:
    found = center.notifications.feed(actor, unread, limit, offset)
    return FeedOut(items=[NotificationOut.of(n) for n in found.items], total=found.total, unread=found.unread)


@router.post("/notifications/read", response_model=ReadOut, summary="标为已读")
def mark_read(body: ReadIn, center: CenterDep, actor: ActorDep) -> ReadOut:
    marked = center.notifications.mark_read(actor, body.ids)
    return ReadOut(marked=marked, unread=center.notifications.feed(actor, True, 1).unread)


@router.get(
    "/notification-rules",
    summary="通知规则",
    description="rules：哪些事件告诉谁（assignee、partner、duty_officer、director、hotline_handler、notified、"
    "staff:人员编号）、经哪些渠道（feed 站内、sms 短信）；webhooks：以 HMAC-SHA256 签名的 JSON 推送的地址"
    "（密钥显示为 ******，原样提交即保留）。",
)
def get_rules(center: CenterDep, actor: ActorDep, street: str | None = None) -> dict[str, Any]:
    return center.notifications.get_rules(actor, street_of(actor, street)).to_dict()


@router.put("/notification-rules", summary="替换通知规则", description="整体替换；有一处错误则全部不保存。")
def put_rules(
    center: CenterDep, actor: ActorDep, body: Annotated[dict[str, Any], Body()], street: str | None = None
) -> dict[str, Any]:
    if has_nul(body):
        raise InvalidInput("通知规则中不能含有 NUL 字符", code="invalid_request")
    return center.notifications.set_rules(actor, street_of(actor, street), body).to_dict()


@router.get(
    "/notifications/deliveries",
    response_model=DeliveryPage,
    summary="对外发送记录",
    description="webhook 与短信的发送情况：pending 待发送（含等待重试）、sent 已发送、"
    "failed 多次失败后放弃。",
)
def deliveries(
    center: CenterDep,
    actor: ActorDep,
    street: str | None = None,
    status: DeliveryStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> DeliveryPage:
    found, total = center.notifications.deliveries(actor, street_of(actor, street), status, limit, offset)
    return DeliveryPage(items=[DeliveryOut.of(d) for d in found], total=total)

"""/api/v1/orders: create (idempotent), search, read, the timeline, and one endpoint per action."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response, status

from chengyun.api.deps import ActorDep, CenterDep
from chengyun.api.schemas import (
    ERROR_RESPONSES,
    MAX_ID,
    ArriveIn,
    CloseLoopIn,
    DecisionIn,
    DispatchIn,
    DuplicateOut,
    ExtensionIn,
    HandleIn,
    MergeIn,
    Moment,
    NoteIn,
    OrderCreate,
    OrderOut,
    OrderPage,
    PlanIn,
    ReasonIn,
    ReassignIn,
    ReclassifyIn,
    RegradeIn,
    ReplyIn,
    RequiredNoteIn,
    RespondIn,
    ReturnIn,
    SuperviseIn,
    TimelineOut,
)
from chengyun.bootstrap import Center
from chengyun.domain.access import Actor
from chengyun.domain.errors import InvalidInput
from chengyun.domain.orders import OrderState, WorkOrder
from chengyun.domain.severity import Colour
from chengyun.services.orders import Created
from chengyun.services.ports import OrderQuery

router = APIRouter(prefix="/api/v1/orders", tags=["工单"], responses=ERROR_RESPONSES)

OrderId = Annotated[int, Path(ge=1, le=MAX_ID, description="工单编号")]


def _names(center: Center, order: WorkOrder) -> tuple[str | None, str | None]:
    """The order's category name and assignee name, as the answers show them."""
    catalogue = center.orders.catalogue(order.street)
    name = catalogue.get(order.category).name if order.category in catalogue else None
    return name, center.directory.staff_names(order.street).get(order.assignee or "")


def shape(center: Center, actor: Actor, order: WorkOrder) -> OrderOut:
    return OrderOut.of(order, actor, center.clock.now(), *_names(center, order))


def shape_json(center: Center, actor: Actor, order: WorkOrder) -> bytes:
    """`shape(...)` serialised, without building and validating the model (the intake hot path)."""
    return OrderOut.json_of(order, actor, center.clock.now(), *_names(center, order))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=OrderOut, summary="受理工单")
async def create_order(
    body: OrderCreate,
    center: CenterDep,
    actor: ActorDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    """Register an order. Send an `Idempotency-Key` header when you may retry: the same key with the same
    body returns the first order (200, `Idempotent-Replayed: true`) instead of creating a second."""
    # Async, and no thread waits for it: the order is worked out, stored (group commit) and its answer
    # built in a writer thread, which settles this future. A sync route cost a thread-pool hand-off and a
    # wake-up per request; the writer answers a whole batch.
    loop = asyncio.get_running_loop()
    answered: asyncio.Future[Response] = loop.create_future()
    command = body.command()

    def answer(created: Created | None, error: BaseException | None) -> None:
        response = None
        if created is not None:
            try:
                response = _created_response(center, actor, created)
            except Exception as exc:
                error = exc
        with contextlib.suppress(RuntimeError):  # the loop is gone: the server stopped meanwhile
            loop.call_soon_threadsafe(_settle, answered, response, error)

    center.orders.create_later(actor, command, idempotency_key, answer)
    return await answered


def _settle(future: asyncio.Future[Response], response: Response | None, error: BaseException | None) -> None:
    if future.done():  # the request was cancelled (client gone); the order is stored all the same
        return
    if error is not None:
        future.set_exception(error)
    else:
        assert response is not None
        future.set_result(response)


def _created_response(center: Center, actor: Actor, created: Created) -> Response:
    assert created.order.id is not None
    headers = {"Location": f"/api/v1/orders/{created.order.id}"}
    if created.replayed:
        headers["Idempotent-Replayed"] = "true"
    # Serialised here from plain values: building the model, and returning it for FastAPI to validate
    # again, cost more than the rest of the route. The response_model above still documents the shape.
    return Response(
        shape_json(center, actor, created.order),
        status.HTTP_200_OK if created.replayed else status.HTTP_201_CREATED,
        headers,
        media_type="application/json",
    )


@router.get("", response_model=OrderPage, summary="查询工单")
def search_orders(
    center: CenterDep,
    actor: ActorDep,
    street: Annotated[str | None, Query(max_length=40)] = None,
    state: Annotated[list[OrderState] | None, Query(description="可多选")] = None,
    group: Annotated[str | None, Query(pattern="^(open|handled|closed|suspended)$")] = None,
    area: Annotated[str | None, Query(max_length=40)] = None,
    category: Annotated[str | None, Query(max_length=20)] = None,
    colour: Colour | None = None,
    assignee: Annotated[str | None, Query(max_length=40)] = None,
    overdue: Annotated[bool, Query(description="true：只看当前已超期的工单")] = False,
    since: Moment | None = None,
    until: Moment | None = None,
    q: Annotated[str | None, Query(max_length=100, description="描述或地址中的文字")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> OrderPage:
    for bound in (since, until):
        if bound is not None and bound.tzinfo is None:
            raise InvalidInput("since / until 必须带时区，如 2026-11-25T08:00:00+08:00")
    states = list(state or [])
    if group:
        states += [s for s in OrderState if s.group.value == group and s not in states]
    now = center.clock.now()
    query = OrderQuery(
        street=street,
        states=states,
        area=area,
        category=category,
        colour=colour,
        assignee=assignee,
        overdue_at=now if overdue else None,
        since=since,
        until=until,
        text=q,
        limit=limit,
        offset=offset,
    )
    page = center.orders.search(actor, query)
    items = [shape(center, actor, o) for o in page.items]
    center.audit.contacts_viewed(actor, page.items)
    return OrderPage(items=items, total=page.total, limit=limit, offset=offset)


@router.get("/{order_id}", response_model=OrderOut, summary="工单详情")
def get_order(order_id: OrderId, center: CenterDep, actor: ActorDep) -> OrderOut:
    order = center.orders.get(actor, order_id)
    center.audit.contacts_viewed(actor, [order])
    return shape(center, actor, order)


@router.get("/{order_id}/timeline", response_model=list[TimelineOut], summary="工单时间线")
def get_timeline(order_id: OrderId, center: CenterDep, actor: ActorDep) -> list[TimelineOut]:
    return [TimelineOut.of(e) for e in center.orders.timeline(actor, order_id)]


@router.post("/{order_id}/dispatch", response_model=OrderOut, summary="派遣 / 改派")
def dispatch(order_id: OrderId, body: DispatchIn, center: CenterDep, actor: ActorDep) -> OrderOut:
    order = center.orders.dispatch(actor, order_id, body.assignee, body.note, body.area)
    return shape(center, actor, order)


@router.post("/{order_id}/reassign", response_model=OrderOut, summary="改派（到场前，含已响应）")
def reassign(order_id: OrderId, body: ReassignIn, center: CenterDep, actor: ActorDep) -> OrderOut:
    return shape(center, actor, center.orders.reassign(actor, order_id, body.assignee, body.reason))


@router.post("/{order_id}/respond", response_model=OrderOut, summary="响应（先联）")
def respond(order_id: OrderId, body: RespondIn, center: CenterDep, actor: ActorDep) -> OrderOut:
    position = body.position.to_point() if body.position else None
    return shape(center, actor, center.orders.respond(actor, order_id, body.note, position))


@router.post("/{order_id}/arrive", response_model=OrderOut, summary="到场签到")
def arrive(order_id: OrderId, body: ArriveIn, center: CenterDep, actor: ActorDep) -> OrderOut:
    return shape(center, actor, center.orders.arrive(actor, order_id, body.position.to_point(), body.note))


@router.post("/{order_id}/handle", response_model=OrderOut, summary="处置完成")
def handle(order_id: OrderId, body: HandleIn, center: CenterDep, actor: ActorDep) -> OrderOut:
    urls = [str(u) for u in body.attachments]
    return shape(center, actor, center.orders.handle(actor, order_id, body.note, urls))


@router.post("/{order_id}/plan", response_model=OrderOut, summary="明确解决方案")
def plan(order_id: OrderId, body: PlanIn, center: CenterDep, actor: ActorDep) -> OrderOut:
    return shape(center, actor, center.orders.plan(actor, order_id, body.plan, body.planned_for))


@router.post("/{order_id}/close-loop", response_model=OrderOut, summary="反馈闭环")
def close_loop(order_id: OrderId, body: CloseLoopIn, center: CenterDep, actor: ActorDep) -> OrderOut:
    return shape(center, actor, center.orders.close_loop(actor, order_id, body.note, body.satisfaction))


@router.post("/{order_id}/close", response_model=OrderOut, summary="结案")
def close(order_id: OrderId, body: NoteIn, center: CenterDep, actor: ActorDep) -> OrderOut:
    return shape(center, actor, center.orders.close(actor, order_id, body.note))


@router.post("/{order_id}/return", response_model=OrderOut, summary="退单")
def return_order(order_id: OrderId, body: ReturnIn, center: CenterDep, actor: ActorDep) -> OrderOut:
    return shape(center, actor, center.orders.return_order(actor, order_id, body.reason, body.note))


@router.post("/{order_id}/extension", response_model=OrderOut, summary="申请延期")
def request_extension(order_id: OrderId, body: ExtensionIn, center: CenterDep, actor: ActorDep) -> OrderOut:
    order = center.orders.request_extension(actor, order_id, body.until, body.reason, body.stage)
    return shape(center, actor, order)


@router.post("/{order_id}/extension/decision", response_model=OrderOut, summary="审批延期")
def decide_extension(order_id: OrderId, body: DecisionIn, center: CenterDep, actor: ActorDep) -> OrderOut:
    return shape(center, actor, center.orders.decide_extension(actor, order_id, body.approve, body.note))


@router.post("/{order_id}/suspend", response_model=OrderOut, summary="挂账")
def suspend(order_id: OrderId, body: ReasonIn, center: CenterDep, actor: ActorDep) -> OrderOut:
    return shape(center, actor, center.orders.suspend(actor, order_id, body.reason))


@router.post("/{order_id}/resume", response_model=OrderOut, summary="恢复办理")
def resume(order_id: OrderId, body: NoteIn, center: CenterDep, actor: ActorDep) -> OrderOut:
    return shape(center, actor, center.orders.resume(actor, order_id, body.note))


@router.post("/{order_id}/reopen", response_model=OrderOut, summary="回访不满意，重新办理")
def reopen(order_id: OrderId, body: ReasonIn, center: CenterDep, actor: ActorDep) -> OrderOut:
    return shape(center, actor, center.orders.reopen(actor, order_id, body.reason))


@router.post("/{order_id}/merge", response_model=OrderOut, summary="作为重复件并入另一工单")
def merge(order_id: OrderId, body: MergeIn, center: CenterDep, actor: ActorDep) -> OrderOut:
    return shape(center, actor, center.orders.merge(actor, order_id, body.into, body.note))


@router.post("/{order_id}/supervise", response_model=OrderOut, summary="督办")
def supervise(order_id: OrderId, body: SuperviseIn, center: CenterDep, actor: ActorDep) -> OrderOut:
    return shape(center, actor, center.orders.supervise(actor, order_id, body.note, body.reply_minutes))


@router.post("/{order_id}/supervisions/{no}/reply", response_model=OrderOut, summary="回复督办")
def reply_supervision(
    order_id: OrderId, no: int, body: ReplyIn, center: CenterDep, actor: ActorDep
) -> OrderOut:
    return shape(center, actor, center.orders.reply_supervision(actor, order_id, no, body.reply))


@router.post("/{order_id}/regrade", response_model=OrderOut, summary="调整颜色等级")
def regrade(order_id: OrderId, body: RegradeIn, center: CenterDep, actor: ActorDep) -> OrderOut:
    return shape(center, actor, center.orders.regrade(actor, order_id, body.colour, body.reason))


@router.post("/{order_id}/notes", response_model=OrderOut, summary="添加备注")
def add_note(order_id: OrderId, body: RequiredNoteIn, center: CenterDep, actor: ActorDep) -> OrderOut:
    position = body.position.to_point() if body.position else None
    return shape(center, actor, center.orders.note(actor, order_id, body.note, position))


@router.post(
    "/{order_id}/reclassify",
    response_model=OrderOut,
    summary="更正类别",
    description="受理员、值班长更正工单类别；更正同时成为分类模型的训练样本（重新训练后生效）。",
)
def reclassify(order_id: OrderId, body: ReclassifyIn, center: CenterDep, actor: ActorDep) -> OrderOut:
    return shape(center, actor, center.orders.reclassify(actor, order_id, body.category, body.reason))


@router.get(
    "/{order_id}/duplicates",
    response_model=list[DuplicateOut],
    summary="疑似重复件",
    description="同类、相距数十米、三天内、描述相似的在办工单；确认后用 /merge 并案。",
)
def duplicates(order_id: OrderId, center: CenterDep, actor: ActorDep) -> list[DuplicateOut]:
    return [DuplicateOut.model_validate(p.to_dict()) for p in center.orders.duplicates(actor, order_id)]

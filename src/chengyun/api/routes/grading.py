"""/api/v1 five colours: the street's grading rules (GET/PUT), a dry run over past orders, and why an
order has its colour."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from chengyun.api.deps import ActorDep, CenterDep, street_of
from chengyun.api.routes.orders import OrderId
from chengyun.api.schemas import ERROR_RESPONSES, has_nul
from chengyun.api.schemas_grading import DryRunIn, DryRunOut, GradeOut
from chengyun.domain.errors import InvalidInput
from chengyun.domain.grading import GradingRules

router = APIRouter(prefix="/api/v1", tags=["五色管理"], responses=ERROR_RESPONSES)


@router.get(
    "/grading-rules",
    summary="五色分级规则",
    description="本街道的分级规则（未设置时为内置规则）：类别默认颜色、上报等级，再按影响对象、时段、"
    "重复反映、时限状态提高颜色或规定最低颜色。",
)
def get_rules(center: CenterDep, actor: ActorDep, street: str | None = None) -> dict[str, Any]:
    return center.grading.get_rules(actor, street_of(actor, street)).to_dict()


@router.put(
    "/grading-rules",
    summary="替换五色分级规则",
    description="整体替换：有一处错误则全部不保存，错误按规则序号（从 0 起）列出。",
)
def put_rules(
    center: CenterDep,
    actor: ActorDep,
    body: Annotated[dict[str, Any], Body()],
    street: str | None = None,
) -> dict[str, Any]:
    if has_nul(body):
        raise InvalidInput("分级规则中不能含有 NUL 字符", code="invalid_request")
    return center.grading.set_rules(actor, street_of(actor, street), body).to_dict()


@router.post(
    "/grading-rules/dry-run",
    response_model=DryRunOut,
    summary="分级规则试算",
    description="用拟用的规则（不填则用现行规则）给一段时间内受理的工单重新定级，报告哪些颜色会变："
    "“这套规则上个月会怎样定级？”。人工定级的工单保持不变。",
)
def dry_run(body: DryRunIn, center: CenterDep, actor: ActorDep, street: str | None = None) -> DryRunOut:
    if body.rules is not None and has_nul(body.rules):
        raise InvalidInput("分级规则中不能含有 NUL 字符", code="invalid_request")
    proposed = GradingRules.from_dict(body.rules) if body.rules is not None else None
    run = center.grading.dry_run(actor, street_of(actor, street), body.since, body.until, proposed)
    return DryRunOut.of(run)


@router.get("/orders/{order_id}/grade", response_model=GradeOut, summary="工单颜色的依据", tags=["工单"])
def grade(order_id: OrderId, center: CenterDep, actor: ActorDep) -> GradeOut:
    order = center.orders.get(actor, order_id)
    graded, facts, record = center.grading.explain(actor, order)
    return GradeOut.of(order, graded, facts, record)

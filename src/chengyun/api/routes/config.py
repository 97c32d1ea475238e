"""/api/v1 streets, the category catalogue and the deadline policies (51530 as data)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from chengyun.api.deps import ActorDep, CenterDep, street_of
from chengyun.api.schemas import ERROR_RESPONSES, has_nul
from chengyun.domain.access import READERS, require_role
from chengyun.domain.errors import InvalidInput

router = APIRouter(prefix="/api/v1", tags=["配置"], responses=ERROR_RESPONSES)


@router.get("/streets", summary="街道")
def streets(center: CenterDep, actor: ActorDep) -> list[dict[str, str]]:
    require_role(actor, READERS, "查看街道")
    with center.uow() as uow:
        found = uow.config.streets()
    return [{"code": code, "name": name} for code, name in found if actor.sees_street(code)]


@router.get("/categories", summary="类别目录")
def categories(center: CenterDep, actor: ActorDep, street: str | None = None) -> list[dict[str, Any]]:
    require_role(actor, READERS, "查看类别目录")
    catalogue = center.orders.catalogue(street_of(actor, street))
    return [c.to_dict() | {"colour_label": c.colour.label} for c in catalogue]


@router.put(
    "/categories",
    summary="替换类别目录",
    description="整体替换本街道的类别目录：有一行出错则全部不导入，错误按行号（从 0 起）列出。",
)
def put_categories(
    center: CenterDep,
    actor: ActorDep,
    items: Annotated[list[dict[str, Any]], Body(max_length=2000)],
    street: str | None = None,
) -> list[dict[str, Any]]:
    if has_nul(items):
        raise InvalidInput("类别目录中不能含有 NUL 字符", code="invalid_request")
    return [c.to_dict() for c in center.orders.set_categories(actor, street_of(actor, street), items)]


@router.get("/deadline-policies", summary="时限规则（51530）")
def get_policies(center: CenterDep, actor: ActorDep, street: str | None = None) -> list[dict[str, Any]]:
    require_role(actor, READERS, "查看时限规则")
    return center.orders.policies(street_of(actor, street)).to_list()


@router.put(
    "/deadline-policies",
    summary="替换时限规则",
    description="按顺序匹配，第一条匹配的规则生效；最后一条必须是默认规则。",
)
def put_policies(
    center: CenterDep,
    actor: ActorDep,
    items: Annotated[list[dict[str, Any]], Body(max_length=100)],
    street: str | None = None,
) -> list[dict[str, Any]]:
    if has_nul(items):
        raise InvalidInput("时限规则中不能含有 NUL 字符", code="invalid_request")
    return center.orders.set_policies(actor, street_of(actor, street), items).to_list()

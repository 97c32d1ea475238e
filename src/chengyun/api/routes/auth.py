"""/api/v1 tokens and who am I."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from chengyun.api.deps import ActorDep, CenterDep
from chengyun.api.schemas import ERROR_RESPONSES, MeOut, Moment, TokenCreate, TokenIssued, TokenOut
from chengyun.domain.access import Role, require_role
from chengyun.domain.calendar import local
from chengyun.domain.errors import InvalidInput
from chengyun.services.audit import AuditAction, AuditEntry
from chengyun.services.ports import TokenRecord

router = APIRouter(prefix="/api/v1", tags=["认证"], responses=ERROR_RESPONSES)


def token_out(record: TokenRecord) -> TokenOut:
    return TokenOut(
        id=record.id,
        role=record.role,
        streets=sorted(record.streets),
        staff_id=record.staff_id,
        name=record.name,
        created_at=record.created_at,
        expires_at=record.expires_at,
        revoked_at=record.revoked_at,
    )


@router.get("/me", response_model=MeOut, summary="当前登录身份")
def me(actor: ActorDep) -> MeOut:
    return MeOut(
        role=actor.role,
        role_label=actor.role.label,
        staff_id=actor.staff_id,
        name=actor.name,
        streets=sorted(actor.streets),
    )


@router.post("/tokens", response_model=TokenIssued, status_code=status.HTTP_201_CREATED, summary="签发令牌")
def issue_token(body: TokenCreate, center: CenterDep, actor: ActorDep) -> TokenIssued:
    require_role(actor, {Role.ADMIN}, "签发令牌")
    streets = body.streets or ([] if actor.is_district else sorted(actor.streets))
    token, record = center.auth.issue(body.role, streets, body.staff_id, body.name, body.ttl_days, by=actor)
    return TokenIssued(token=token, **token_out(record).model_dump())


@router.get("/tokens", response_model=list[TokenOut], summary="令牌列表")
def list_tokens(center: CenterDep, actor: ActorDep) -> list[TokenOut]:
    require_role(actor, {Role.ADMIN}, "查看令牌")
    return [token_out(r) for r in center.auth.tokens(by=actor)]


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, summary="吊销令牌")
def revoke_token(token_id: str, center: CenterDep, actor: ActorDep) -> None:
    require_role(actor, {Role.ADMIN}, "吊销令牌")
    center.auth.revoke(token_id, by=actor)


def audit_out(e: AuditEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": local(e.at).isoformat(),
        "actor_id": e.actor_id,
        "actor_name": e.actor_name,
        "role": e.role,
        "action": e.action.value,
        "action_label": e.action.label,
        "subject": e.subject,
        "streets": sorted(e.streets),
        "details": e.details,
    }


@router.get(
    "/audit",
    summary="审计日志",
    description="谁查看了诉求人联系方式、谁签发或吊销了令牌、谁导入了人员与岗位；新的在前，只增不改。"
    "街道管理员只看本街道的记录。",
)
def audit_log(
    center: CenterDep,
    actor: ActorDep,
    since: Moment | None = None,
    action: AuditAction | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    if since is not None and since.tzinfo is None:
        raise InvalidInput("since 必须带时区，如 2026-11-25T08:00:00+08:00")
    return [audit_out(e) for e in center.audit.entries(actor, since, action, limit)]

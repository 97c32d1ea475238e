"""/api/v1 tokens and who am I."""

from __future__ import annotations

from fastapi import APIRouter, status

from chengyun.api.deps import ActorDep, CenterDep
from chengyun.api.schemas import MeOut, TokenCreate, TokenIssued, TokenOut
from chengyun.domain.access import Role, require_role
from chengyun.services.ports import TokenRecord

router = APIRouter(prefix="/api/v1", tags=["认证"])


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

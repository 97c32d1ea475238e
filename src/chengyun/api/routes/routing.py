"""/api/v1/routing/preview: who intake would send a new order to right now, before it is saved (the
hotline handler's intake form shows it). Runs the same routing decision as intake; stores nothing."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from chengyun.adapters.coords import to_wgs84
from chengyun.api.deps import ActorDep, CenterDep
from chengyun.api.schemas import ERROR_RESPONSES, Position, Strict
from chengyun.domain.severity import Colour

router = APIRouter(prefix="/api/v1/routing", tags=["受理辅助"], responses=ERROR_RESPONSES)


class PreviewIn(Strict):
    area: str = Field(min_length=1, max_length=40, description="居民区编码（如 /api/v1/geocode 所答）")
    position: Position | None = Field(None, description="问题位置：有人员签到位置时按步行时间选人")
    crs: Literal["wgs84", "gcj02", "bd09"] = "wgs84"
    category: str | None = Field(None, min_length=1, max_length=20, description="类别编码")
    colour: Colour | None = None
    street: str | None = Field(None, max_length=40)


class PreviewOut(BaseModel):
    assignee: str | None = Field(description="将承办的人员编号；该居民区没有 AB 角时为 null")
    assignee_name: str | None
    rule: str | None = Field(description="a、b、nearest、fastest、least_busy、overloaded、fallback_a")
    walk_minutes: float | None
    note: str = Field(description="派遣说明，与保存后时间线上的派遣记录一致")


@router.post("/preview", response_model=PreviewOut, summary="预览派遣（不保存）")
def preview(body: PreviewIn, center: CenterDep, actor: ActorDep) -> PreviewOut:
    point = to_wgs84(body.position.lat, body.position.lon, body.crs) if body.position else None
    decision, note = center.orders.preview_dispatch(
        actor, body.street, body.area, point, body.category, body.colour
    )
    if decision is None:
        return PreviewOut(assignee=None, assignee_name=None, rule=None, walk_minutes=None, note=note)
    return PreviewOut(
        assignee=decision.staff_id,
        assignee_name=decision.name,
        rule=decision.rule,
        walk_minutes=decision.walk_minutes,
        note=note,
    )

"""/api/v1 places, departments, staff, A/B pairs and the roster: read, import, export."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import PlainTextResponse

from chengyun.adapters.coords import to_wgs84
from chengyun.api.deps import ActorDep, CenterDep, street_of
from chengyun.api.schemas import (
    ERROR_RESPONSES,
    ERROR_RESPONSES_AS_JSON,
    MAX_ID,
    AbsenceIn,
    AbsenceOut,
    CheckinIn,
    ImportResult,
    Moment,
    StaffOut,
    has_nul,
)
from chengyun.domain.access import READERS, require_role
from chengyun.domain.calendar import local
from chengyun.domain.errors import InvalidInput
from chengyun.domain.places import PlaceKind


class CsvResponse(PlainTextResponse):
    media_type = "text/csv"


router = APIRouter(prefix="/api/v1", tags=["地点与人员"], responses=ERROR_RESPONSES)

MAX_UPLOAD = 20 * 1024 * 1024
CSV = {"content": {"text/csv": {"schema": {"type": "string"}}}}


async def csv_text(request: Request) -> str:
    raw = await request.body()
    if len(raw) > MAX_UPLOAD:
        raise InvalidInput("文件过大（上限 20 MB）")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("CSV 必须是 UTF-8 编码") from None
    if "\x00" in text:
        raise InvalidInput("CSV 中不能含有 NUL 字符")
    return text


@router.get("/places", summary="地点（GeoJSON）")
def list_places(
    center: CenterDep,
    actor: ActorDep,
    street: Annotated[str | None, Query(max_length=40)] = None,
    kind: PlaceKind | None = None,
) -> dict[str, Any]:
    require_role(actor, READERS, "查看地点")
    street = street_of(actor, street)
    return center.directory.export_places(street, kind)


@router.get("/places/{code}", summary="单个地点（GeoJSON Feature）")
def get_place(code: str, center: CenterDep, actor: ActorDep, street: str | None = None) -> dict[str, Any]:
    require_role(actor, READERS, "查看地点")
    street = street_of(actor, street)
    with center.uow() as uow:
        return uow.places.get(street, code).as_feature()


@router.put("/places", response_model=ImportResult, summary="导入地点（GeoJSON FeatureCollection）")
def import_places(
    center: CenterDep,
    actor: ActorDep,
    collection: Annotated[dict[str, Any], Body(description="GeoJSON FeatureCollection")],
    street: Annotated[str | None, Query(max_length=40)] = None,
) -> ImportResult:
    street = street_of(actor, street)
    if has_nul(collection):
        raise InvalidInput("GeoJSON 中不能含有 NUL 字符", code="invalid_request")
    return ImportResult(imported=center.directory.import_places(actor, street, collection))


@router.get(
    "/departments", response_class=CsvResponse, summary="部门（CSV）", responses=ERROR_RESPONSES_AS_JSON
)
def export_departments(center: CenterDep, actor: ActorDep, street: str | None = None) -> str:
    require_role(actor, READERS, "查看部门")
    return center.directory.export_departments(street_of(actor, street))


@router.put(
    "/departments", response_model=ImportResult, summary="导入部门（CSV）", openapi_extra={"requestBody": CSV}
)
async def import_departments(
    request: Request, center: CenterDep, actor: ActorDep, street: str | None = None
) -> ImportResult:
    return ImportResult(
        imported=center.directory.import_departments(actor, street_of(actor, street), await csv_text(request))
    )


@router.get("/staff", response_model=list[StaffOut], summary="人员")
def list_staff(center: CenterDep, actor: ActorDep, street: str | None = None) -> list[StaffOut]:
    require_role(actor, READERS, "查看人员")
    with center.uow() as uow:
        people = uow.people.staff(street_of(actor, street))
    return [
        StaffOut(
            id=s.id,
            name=s.name,
            phone=s.phone,
            department=s.department,
            posts=sorted(p.value for p in s.posts),
            street=s.street,
            active=s.active,
        )
        for s in people
    ]


@router.get(
    "/staff.csv", response_class=CsvResponse, summary="导出人员（CSV）", responses=ERROR_RESPONSES_AS_JSON
)
def export_staff(center: CenterDep, actor: ActorDep, street: str | None = None) -> str:
    require_role(actor, READERS, "查看人员")
    return center.directory.export_staff(street_of(actor, street))


@router.put(
    "/staff", response_model=ImportResult, summary="导入人员（CSV）", openapi_extra={"requestBody": CSV}
)
async def import_staff(
    request: Request, center: CenterDep, actor: ActorDep, street: str | None = None
) -> ImportResult:
    code = street_of(actor, street)
    imported = center.directory.import_staff(actor, code, await csv_text(request))
    center.audit.staff_replaced(actor, code, imported)
    return ImportResult(imported=imported)


@router.get("/ab-pairs", response_class=CsvResponse, summary="AB角（CSV）", responses=ERROR_RESPONSES_AS_JSON)
def export_pairs(center: CenterDep, actor: ActorDep, street: str | None = None) -> str:
    require_role(actor, READERS, "查看AB角")
    return center.directory.export_pairs(street_of(actor, street))


@router.put(
    "/ab-pairs",
    response_model=ImportResult,
    summary="导入AB角（CSV，整体替换）",
    openapi_extra={"requestBody": CSV},
)
async def import_pairs(
    request: Request, center: CenterDep, actor: ActorDep, street: str | None = None
) -> ImportResult:
    return ImportResult(
        imported=center.directory.import_pairs(actor, street_of(actor, street), await csv_text(request))
    )


@router.get("/roster", response_class=CsvResponse, summary="排班（CSV）", responses=ERROR_RESPONSES_AS_JSON)
def export_roster(
    center: CenterDep,
    actor: ActorDep,
    start: Moment | None = None,
    end: Moment | None = None,
    street: str | None = None,
) -> str:
    require_role(actor, READERS, "查看排班")
    start = start or center.clock.now()
    end = end or start + timedelta(days=7)
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("start / end 必须带时区")
    return center.directory.export_roster(street_of(actor, street), start, end)


@router.post(
    "/roster", response_model=ImportResult, summary="追加排班（CSV）", openapi_extra={"requestBody": CSV}
)
async def import_roster(
    request: Request, center: CenterDep, actor: ActorDep, street: str | None = None
) -> ImportResult:
    return ImportResult(
        imported=center.directory.import_roster(actor, street_of(actor, street), await csv_text(request))
    )


@router.get("/on-duty", summary="当前在班人员")
def on_duty(
    center: CenterDep, actor: ActorDep, at: Moment | None = None, street: str | None = None
) -> list[dict[str, Any]]:
    require_role(actor, READERS, "查看在班人员")
    street = street_of(actor, street)
    when = at or center.clock.now()
    if when.tzinfo is None:
        raise InvalidInput("at 必须带时区")
    with center.uow() as uow:
        shifts = uow.people.on_duty(street, when)
        names = {s.id: s.name for s in uow.people.staff(street)}
    return [
        {
            "staff": s.staff,
            "name": names.get(s.staff, s.staff),
            "post": s.post.value,
            "post_label": s.post.label,
            "area": s.area,
            "start": local(s.start),
            "end": local(s.end),
        }
        for s in shifts
    ]


@router.post(
    "/checkins",
    status_code=204,
    summary="签到定位",
    description="工作人员上报当前位置，就近派单据此计算步行时间。",
)
def check_in(body: CheckinIn, center: CenterDep, actor: ActorDep) -> None:
    point = to_wgs84(body.position.lat, body.position.lon, body.crs)
    center.directory.check_in(actor, point, center.clock.now())


@router.get("/absences", response_model=list[AbsenceOut], summary="请假记录")
def list_absences(
    center: CenterDep,
    actor: ActorDep,
    start: Moment | None = None,
    end: Moment | None = None,
    street: str | None = None,
) -> list[AbsenceOut]:
    require_role(actor, READERS, "查看请假记录")
    now = center.clock.now()
    start, end = start or now, end or now + timedelta(days=30)
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("start / end 必须带时区")
    found = center.directory.absences(street_of(actor, street), start, end)
    return [
        AbsenceOut(id=a.id or 0, staff=a.staff, start=local(a.start), end=local(a.end), reason=a.reason)
        for a in found
    ]


@router.post("/absences", status_code=201, response_model=AbsenceOut, summary="登记请假")
def add_absence(body: AbsenceIn, center: CenterDep, actor: ActorDep, street: str | None = None) -> AbsenceOut:
    a = center.directory.add_absence(
        actor, street_of(actor, street), body.staff, body.start, body.end, body.reason
    )
    return AbsenceOut(id=a.id or 0, staff=a.staff, start=local(a.start), end=local(a.end), reason=a.reason)


@router.delete("/absences/{absence_id}", status_code=204, summary="撤销请假")
def remove_absence(
    absence_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    center: CenterDep,
    actor: ActorDep,
    street: str | None = None,
) -> None:
    center.directory.remove_absence(actor, street_of(actor, street), absence_id)

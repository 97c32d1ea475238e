"""/api/v1 sensors: the registry, readings from gateways, series, alarms and the dead-letter log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, computed_field
from starlette.concurrency import run_in_threadpool

from chengyun.api.deps import ActorDep, CenterDep, street_of
from chengyun.api.routes.directory import CSV, CsvResponse, csv_text
from chengyun.api.schemas import ERROR_RESPONSES, MAX_ID, AwareMoment, ImportResult, has_nul
from chengyun.domain.access import SUPERVISORS, Role, require_role
from chengyun.domain.alarms import AlarmState
from chengyun.domain.errors import InvalidInput
from chengyun.domain.rules import SensorEvaluator
from chengyun.domain.sensors import Sensor, SensorKind
from chengyun.domain.severity import Colour
from chengyun.services.ports import AlarmQuery, SensorLive

router = APIRouter(prefix="/api/v1", tags=["感知设备与告警"], responses=ERROR_RESPONSES)

MAX_BODY = 4 * 1024 * 1024
FEEDERS = SUPERVISORS | {Role.SENSOR_SYSTEM}
SHOWN_REJECTIONS = 100


# --- shapes ---------------------------------------------------------------------------------------


class Location(BaseModel):
    lon: float
    lat: float


class SensorOut(BaseModel):
    id: str
    kind: SensorKind
    label: str
    street: str
    location: Location
    watches: str
    watch_kind: str
    interval_s: float
    quantities: dict[str, dict[str, Any]] = Field(description="每个测量量的单位、名称、量程和告警阈值")
    rules: list[dict[str, Any]]

    @classmethod
    def of(cls, s: Sensor) -> SensorOut:
        feature = s.as_feature()["properties"]
        return cls(
            id=s.id,
            kind=s.kind,
            label=s.kind.label,
            street=s.street,
            location=Location(lon=s.location.lon, lat=s.location.lat),
            watches=s.watches,
            watch_kind=s.watch_kind.value,
            interval_s=s.period.total_seconds(),
            quantities=feature["quantities"],
            rules=feature["rules"],
        )


class SensorPageOut(BaseModel):
    items: list[SensorOut]
    total: int
    limit: int
    offset: int


class LiveOut(BaseModel):
    last_ts: datetime | None
    values: dict[str, float]
    active_rules: list[str]


class SensorDetail(SensorOut):
    live: LiveOut | None


class RejectionOut(BaseModel):
    index: int | None
    sensor_id: str | None
    code: str
    reason: str


class ReadingsResult(BaseModel):
    accepted: int = Field(description="收下的读数条数")
    stored: int = Field(description="新存入的数据点数（重复投递的不重复存）")
    rejected: int
    rejections: list[RejectionOut] = Field(description=f"被拒收的读数（最多列出 {SHOWN_REJECTIONS} 条）")
    alarms: int = Field(description="本批触发或变化的告警数")


class SeriesPointOut(BaseModel):
    ts: datetime
    count: int
    min: float
    max: float
    mean: float


class AlarmOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # read straight off the domain's Alarm

    id: int
    sensor_id: str
    rule_id: str
    rule_kind: str
    street: str
    state: AlarmState
    colour: Colour
    message: str
    reason: str
    value: float | None
    watches: str | None
    raised_at: datetime
    last_raised_at: datetime | None
    cleared_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    flaps: int
    order_id: int | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def state_label(self) -> str:
        return self.state.label


class AlarmPageOut(BaseModel):
    items: list[AlarmOut]
    total: int
    limit: int
    offset: int


class AlarmHistoryOut(BaseModel):
    kind: str
    at: datetime
    state: AlarmState
    colour: Colour
    message: str


class AlarmDetail(AlarmOut):
    history: list[AlarmHistoryOut]


class DeadLetterOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # read straight off the port's DeadLetter

    id: int | None
    received_at: datetime
    source: str
    street: str | None
    sensor_id: str | None
    code: str
    reason: str
    excerpt: str


class DeadLetterPageOut(BaseModel):
    items: list[DeadLetterOut]
    total: int
    counts: dict[str, int] = Field(description="按拒收原因代码计数")


Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]
StreetQ = Annotated[str | None, Query(max_length=40)]


# --- readings -------------------------------------------------------------------------------------


@router.post(
    "/readings",
    response_model=ReadingsResult,
    summary="网关批量上报读数（JSON 列表或 SenML）",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "array",
                        "items": {"type": "object"},
                        "description": '[{"sensor_id", "ts", "values": {...}}] 或 SenML (RFC 8428)',
                    }
                },
                "application/senml+json": {"schema": {"type": "array", "items": {"type": "object"}}},
            },
        }
    },
)
async def post_readings(request: Request, center: CenterDep, actor: ActorDep) -> ReadingsResult:
    require_role(actor, FEEDERS, "上报读数")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise InvalidInput(f"报文过大（上限 {MAX_BODY // 1024 // 1024} MB）", code="payload_too_large")
    streets = None if actor.is_district else actor.streets
    report = await run_in_threadpool(center.ingest.ingest_body, body, streets)
    shown = [
        RejectionOut(index=r.index, sensor_id=r.sensor_id, code=r.code, reason=r.reason)
        for r in report.rejected[:SHOWN_REJECTIONS]
    ]
    if report.readings == 0 and report.rejected:
        raise InvalidInput(
            f"全部读数被拒收（{len(report.rejected)} 条）：{report.rejected[0].reason}",
            code="readings_rejected",
            rejections=[r.model_dump() for r in shown],
        )
    return ReadingsResult(
        accepted=report.readings,
        stored=report.points,
        rejected=len(report.rejected),
        rejections=shown,
        alarms=len(report.events),
    )


# --- registry -------------------------------------------------------------------------------------


@router.get("/sensors", response_model=SensorPageOut, summary="传感器（可按类型、监测对象筛选）")
def list_sensors(
    center: CenterDep,
    actor: ActorDep,
    street: StreetQ = None,
    kind: SensorKind | None = None,
    watches: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> SensorPageOut:
    page = center.sensors.find(actor, street_of(actor, street), kind, watches, limit, offset)
    return SensorPageOut(
        items=[SensorOut.of(s) for s in page.items], total=page.total, limit=limit, offset=offset
    )


@router.get("/sensors/export", summary="导出传感器登记（CSV 或 GeoJSON）", responses={200: CSV})
def export_sensors(
    center: CenterDep, actor: ActorDep, street: StreetQ = None, format: Literal["csv", "geojson"] = "csv"
) -> Any:
    street = street_of(actor, street)
    if format == "geojson":
        return center.sensors.export_geojson(actor, street)
    return CsvResponse(center.sensors.export_csv(actor, street))


@router.put("/sensors", response_model=ImportResult, summary="导入传感器登记（GeoJSON FeatureCollection）")
def import_sensors(
    center: CenterDep,
    actor: ActorDep,
    collection: Annotated[dict[str, Any], Body(description="GeoJSON FeatureCollection，属性同导出")],
    street: StreetQ = None,
) -> ImportResult:
    street = street_of(actor, street)
    if has_nul(collection):
        raise InvalidInput("GeoJSON 中不能含有 NUL 字符", code="invalid_request")
    return ImportResult(imported=center.sensors.import_geojson(actor, street, collection))


@router.put(
    "/sensors/csv",
    response_model=ImportResult,
    summary="导入传感器登记（CSV）",
    openapi_extra={"requestBody": {"required": True, "content": CSV["content"]}},
)
async def import_sensors_csv(
    request: Request, center: CenterDep, actor: ActorDep, street: StreetQ = None
) -> ImportResult:
    street = street_of(actor, street)
    text = await csv_text(request)
    return ImportResult(imported=await run_in_threadpool(center.sensors.import_csv, actor, street, text))


@router.get("/sensors/{sensor_id}", response_model=SensorDetail, summary="单个传感器及其最新状态")
def get_sensor(sensor_id: str, center: CenterDep, actor: ActorDep) -> SensorDetail:
    sensor, live = center.sensors.get(actor, sensor_id)
    return SensorDetail(**SensorOut.of(sensor).model_dump(), live=_live(live))


def _live(live: SensorLive | None) -> LiveOut | None:
    if live is None:
        return None
    return LiveOut(
        last_ts=live.last_ts, values=live.values, active_rules=SensorEvaluator.active_in(live.state)
    )


@router.get(
    "/sensors/{sensor_id}/series", response_model=list[SeriesPointOut], summary="读数曲线（原始、分钟或小时）"
)
def sensor_series(
    sensor_id: str,
    center: CenterDep,
    actor: ActorDep,
    quantity: Annotated[str, Query(max_length=40)],
    since: AwareMoment | None = None,
    until: AwareMoment | None = None,
    resolution: Literal["raw", "1m", "1h"] = "1m",
) -> list[SeriesPointOut]:
    points = center.sensors.series(actor, sensor_id, quantity, since, until, resolution)
    return [SeriesPointOut(ts=p.ts, count=p.count, min=p.minimum, max=p.maximum, mean=p.mean) for p in points]


# --- alarms ---------------------------------------------------------------------------------------


@router.get("/alarms", response_model=AlarmPageOut, summary="告警（新触发的在前）")
def list_alarms(
    center: CenterDep,
    actor: ActorDep,
    street: StreetQ = None,
    state: Annotated[list[AlarmState] | None, Query()] = None,
    active: bool = False,
    colour: Colour | None = None,
    sensor_id: Annotated[str | None, Query(max_length=64)] = None,
    since: AwareMoment | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> AlarmPageOut:
    states = list(state or ())
    if active:
        states = [s for s in (states or list(AlarmState)) if s.active]
    query = AlarmQuery(
        street=street,
        states=states,
        sensor_id=sensor_id,
        colour=colour,
        since=since,
        limit=limit,
        offset=offset,
    )
    items, total = center.sensors.alarms(actor, query)
    return AlarmPageOut(
        items=[AlarmOut.model_validate(a) for a in items], total=total, limit=limit, offset=offset
    )


@router.get("/alarms/{alarm_id}", response_model=AlarmDetail, summary="单个告警及其经过")
def get_alarm(
    alarm_id: Annotated[int, Path(ge=1, le=MAX_ID)], center: CenterDep, actor: ActorDep
) -> AlarmDetail:
    alarm, history = center.sensors.alarm(actor, alarm_id)
    return AlarmDetail(
        **AlarmOut.model_validate(alarm).model_dump(exclude={"state_label"}),
        history=[
            AlarmHistoryOut(kind=h.kind, at=h.at, state=h.state, colour=h.colour, message=h.message)
            for h in history
        ],
    )


@router.post("/alarms/{alarm_id}/acknowledge", response_model=AlarmOut, summary="确认告警")
def acknowledge_alarm(
    alarm_id: Annotated[int, Path(ge=1, le=MAX_ID)], center: CenterDep, actor: ActorDep
) -> AlarmOut:
    return AlarmOut.model_validate(center.sensors.acknowledge(actor, alarm_id))


@router.get("/dead-letters", response_model=DeadLetterPageOut, summary="拒收记录（无法入库的报文与读数）")
def dead_letters(
    center: CenterDep,
    actor: ActorDep,
    street: StreetQ = None,
    code: Annotated[str | None, Query(max_length=40)] = None,
    since: AwareMoment | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> DeadLetterPageOut:
    if street is None and not actor.is_district:
        street = street_of(actor, None)
    page = center.sensors.dead_letters(actor, street, code, since, limit, offset)
    return DeadLetterPageOut(
        items=[DeadLetterOut.model_validate(d) for d in page.items], total=page.total, counts=page.counts
    )

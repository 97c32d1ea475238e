"""/api/v1/screen: what the wall screen (/screen) draws: the street's figures, its live orders as map
markers and its sensors as a compact point layer. The counting is services/overview.py's."""

from __future__ import annotations

import hashlib
import weakref
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from pydantic import BaseModel, Field
from pydantic_core import to_json

from chengyun.api.deps import ActorDep, CenterDep, street_or_only
from chengyun.api.schemas import ERROR_RESPONSES
from chengyun.domain.alarms import AlarmState
from chengyun.domain.orders import OrderState, Source
from chengyun.domain.overview import Compliance
from chengyun.domain.sensors import SensorKind
from chengyun.domain.severity import Colour
from chengyun.domain.sla import Stage
from chengyun.services.overview import SensorLayer

router = APIRouter(prefix="/api/v1/screen", tags=["大屏"], responses=ERROR_RESPONSES)

Street = Annotated[str | None, Query(max_length=40, description="街道编码；令牌或系统只有一个街道时可省略")]


# --- shapes ---------------------------------------------------------------------------------------


class SourceCount(BaseModel):
    source: Source
    label: str
    count: int


class ColourCount(BaseModel):
    colour: Colour
    label: str
    count: int


class CountersOut(BaseModel):
    received: int = Field(description="今日受理")
    by_source: list[SourceCount] = Field(description="今日受理，按来源")
    by_colour: list[ColourCount] = Field(description="今日受理，按五色等级")
    live: int = Field(description="当前在办（含已处置待闭环），不论哪天受理")
    live_by_colour: list[ColourCount]
    overdue: int = Field(description="在办中已超期")
    suspended: int = Field(description="挂账")
    closed: int = Field(description="今日闭环")


class Share(BaseModel):
    on_time: int
    decided: int = Field(description="已完成或已过时限的环节数")
    share: float | None = Field(description="按时率 0–1；尚无可计的环节时为 null")

    @classmethod
    def of(cls, c: Compliance) -> Share:
        return cls(on_time=c.on_time, decided=c.decided, share=c.share)


class StageCompliance(BaseModel):
    stage: Stage
    label: str
    today: Share
    week: Share


class HourlyOut(BaseModel):
    today: list[int] = Field(description="今日每小时受理数（0 点到当前小时）")
    usual: list[float] | None = Field(description="往日同一小时的平均受理数（24 项）；无历史时为 null")
    usual_days: int = Field(description="平均所用的往日天数")


class AreaOut(BaseModel):
    code: str
    name: str
    received: int = Field(description="今日受理")
    live: int
    overdue: int
    closed: int = Field(description="今日闭环")
    on_time_share: float | None = Field(description="本周受理工单各环节的按时率")
    live_by_colour: dict[Colour, int]
    a_staff: str | None = Field(description="今日 A 角")
    b_staff: str | None = Field(description="今日 B 角")


class OverviewOut(BaseModel):
    at: datetime = Field(description="统计时刻（服务器时钟）")
    event_id: int = Field(description="统计已包含的最新事件编号（实时事件流的 id）")
    counters: CountersOut
    compliance: list[StageCompliance] = Field(description="51530 各环节今日、本周按时率")
    hourly: HourlyOut
    areas: list[AreaOut] = Field(description="居民区，今日工单最多的在前")


class MarkerOut(BaseModel):
    id: int
    colour: Colour
    state: OrderState
    state_label: str
    category: str
    category_name: str | None
    lon: float | None
    lat: float | None
    area: str | None
    address: str | None
    assignee: str | None
    assignee_name: str | None
    received_at: datetime
    next_due_at: datetime | None
    overdue: bool


class MarkersOut(BaseModel):
    at: datetime
    items: list[MarkerOut] = Field(description="在办工单，最紧迫的在前")


class KindOut(BaseModel):
    kind: SensorKind
    label: str
    total: int
    online: int
    alarms: int


class AlarmMarkerOut(BaseModel):
    id: int
    sensor_id: str
    sensor_label: str
    colour: Colour
    state: AlarmState
    state_label: str
    raised_at: datetime
    reason: str
    lon: float | None
    lat: float | None
    order_id: int | None


class SensorsOut(BaseModel):
    at: datetime
    total: int
    online: int
    online_share: float | None
    silent: int = Field(description="从未上报")
    alarms_by_colour: list[ColourCount] = Field(description="当前告警，按五色等级")
    by_kind: list[KindOut]
    kinds: list[SensorKind] = Field(description="points 中种类序号所指的种类")
    points: list[list[float]] = Field(
        description="每个传感器一项 [经度, 纬度, 种类序号, 状态]；状态 0 正常、1 离线、2 告警"
    )
    alarms: list[AlarmMarkerOut] = Field(description="当前告警，最新的在前")


# --- routes ---------------------------------------------------------------------------------------


def _colours(counts: dict[Colour, int]) -> list[dict[str, Any]]:
    return [{"colour": c, "label": c.label, "count": counts.get(c, 0)} for c in Colour]


@router.get("/overview", response_model=OverviewOut, summary="大屏统计")
def overview(center: CenterDep, actor: ActorDep, street: Street = None) -> OverviewOut:
    """Today's counters, 51530 compliance per stage (today and this week), orders per hour against the
    usual day, and the residential areas' figures."""
    data = center.overview.overview(actor, street_or_only(center, actor, street))
    c = data.counters
    week = {w.stage: w for w in data.week}
    return OverviewOut.model_validate(
        {
            "at": data.at,
            "event_id": data.event_id,
            "counters": {
                "received": c.received,
                "by_source": [{"source": s, "label": s.label, "count": n} for s, n in c.by_source.items()],
                "by_colour": _colours(c.by_colour),
                "live": c.live,
                "live_by_colour": _colours(c.live_by_colour),
                "overdue": c.overdue,
                "suspended": c.suspended,
                "closed": c.closed,
            },
            "compliance": [
                {
                    "stage": t.stage,
                    "label": t.stage.label,
                    "today": Share.of(t),
                    "week": Share.of(week[t.stage]),
                }
                for t in data.today
            ],
            "hourly": {
                "today": data.hourly.today,
                "usual": data.hourly.usual,
                "usual_days": data.hourly.usual_days,
            },
            "areas": [
                {
                    "code": a.figures.code,
                    "name": a.name,
                    "received": a.figures.received,
                    "live": a.figures.live,
                    "overdue": a.figures.overdue,
                    "closed": a.figures.closed,
                    "on_time_share": a.figures.on_time_share,
                    "live_by_colour": a.figures.live_by_colour,
                    "a_staff": a.a_staff,
                    "b_staff": a.b_staff,
                }
                for a in data.areas
            ],
        }
    )


@router.get("/orders", response_model=MarkersOut, summary="在办工单（地图标注）")
def live_orders(center: CenterDep, actor: ActorDep, street: Street = None) -> MarkersOut:
    code = street_or_only(center, actor, street)
    at, orders = center.overview.live_orders(actor, code)
    catalogue = center.orders.catalogue(code)
    names = center.directory.staff_names(code)
    items = [
        MarkerOut(
            id=o.id,
            colour=o.colour,
            state=o.state,
            state_label=o.state.label,
            category=o.category,
            category_name=catalogue.get(o.category).name if o.category in catalogue else None,
            lon=o.point.lon if o.point else None,
            lat=o.point.lat if o.point else None,
            area=o.area,
            address=o.address,
            assignee=o.assignee,
            assignee_name=names.get(o.assignee or ""),
            received_at=o.received_at,
            next_due_at=o.next_due_at,
            overdue=o.overdue(at),
        )
        for o in orders
    ]
    return MarkersOut(at=at, items=items)


# The sensor layer as sent: encoded once per layer the overview service reads (a layer lives until an
# alarm changes or SENSORS_TTL_S passes), whichever screens of its street ask meanwhile; an encoding
# goes when the service lets its layer go.
_layer_bodies: weakref.WeakKeyDictionary[SensorLayer, tuple[bytes, str]] = weakref.WeakKeyDictionary()


def _layer_body(layer: SensorLayer) -> tuple[bytes, str]:
    """The layer's JSON and its weak ETag: a digest of everything but `at` (when it was read), so a
    screen that already has the same points, statuses and alarms is answered 304."""
    known = _layer_bodies.get(layer)
    if known is not None:
        return known
    health = layer.health
    kinds = list(SensorKind)
    index = {k: i for i, k in enumerate(kinds)}
    where = {p.id: p for p in layer.points}
    rest = {
        "total": health.total,
        "online": health.online,
        "online_share": health.online_share,
        "silent": health.silent,
        "alarms_by_colour": _colours(health.alarms_by_colour),
        "by_kind": [
            {"kind": k.kind, "label": k.kind.label, "total": k.total, "online": k.online, "alarms": k.alarms}
            for k in health.by_kind
        ],
        "kinds": kinds,
        "points": [
            [round(p.lon, 6), round(p.lat, 6), index[p.kind], status]
            for p, status in zip(layer.points, health.statuses, strict=True)
        ],
        "alarms": [
            {
                "id": a.id,
                "sensor_id": a.sensor_id,
                "sensor_label": a.sensor_label,
                "colour": a.colour,
                "state": a.state,
                "state_label": a.state.label,
                "raised_at": a.raised_at,
                "reason": a.reason,
                "lon": where[a.sensor_id].lon if a.sensor_id in where else None,
                "lat": where[a.sensor_id].lat if a.sensor_id in where else None,
                "order_id": a.order_id,
            }
            for a in layer.alarms
        ],
    }
    # 14,000 points: serialised straight from plain values; the response_model documents the shape.
    encoded = to_json(rest)
    etag = f'W/"{hashlib.blake2b(encoded, digest_size=12).hexdigest()}"'
    body = b'{"at":' + to_json(layer.at) + b"," + encoded[1:]
    _layer_bodies[layer] = (body, etag)
    return body, etag


def _matches(if_none_match: str | None, etag: str) -> bool:
    """If-None-Match against a weak ETag (RFC 9110: the weak comparison)."""
    if if_none_match is None:
        return False
    if if_none_match.strip() == "*":
        return True
    return any(t.strip().removeprefix("W/") == etag.removeprefix("W/") for t in if_none_match.split(","))


@router.get(
    "/sensors",
    response_model=SensorsOut,
    summary="感知设备健康度与点位",
    responses={304: {"description": "与 If-None-Match 所指的图层相同（除读取时刻外）"}},
)
def sensors(
    center: CenterDep,
    actor: ActorDep,
    street: Street = None,
    if_none_match: Annotated[str | None, Header(max_length=1000)] = None,
) -> Response:
    """Every sensor as a compact point (14,000+ fit in a few hundred kB), the online share, active
    alarms by colour and by kind, and the active alarms with where their sensors are. Sent with a weak
    ETag (`Cache-Control: private, no-cache`): a browser revalidates with If-None-Match and gets 304
    while the points, statuses and alarms are unchanged."""
    code = street_or_only(center, actor, street)
    body, etag = _layer_body(center.overview.sensors(actor, code))
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if _matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)

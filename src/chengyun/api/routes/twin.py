"""/api/v1/twin: the digital twin's base. What is happening around a place, who is nearest and free, the
state of an area now, and the street as a timestamped GeoJSON snapshot."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from chengyun.api.deps import ActorDep, CenterDep, street_of
from chengyun.api.schemas import ERROR_RESPONSES
from chengyun.domain.geo import Point
from chengyun.domain.orders import WorkOrder
from chengyun.domain.twin import Counts, Nearby, PersonNow, centre
from chengyun.services.twin import DEFAULT_LAYERS, LAYERS, MAX_RADIUS_M, SensorNow

router = APIRouter(prefix="/api/v1/twin", tags=["数字孪生底座"], responses=ERROR_RESPONSES)

Code = Annotated[str, Path(min_length=1, max_length=64, description="地点编码，如 JAS-A01-G1-B001")]
Street = Annotated[str | None, Query(max_length=64, description="街道编码（令牌只含一个街道时可省略）")]


class PointOut(BaseModel):
    lon: float
    lat: float


class PersonOut(BaseModel):
    id: str
    name: str
    posts: list[str]
    area: str | None
    position: PointOut | None = Field(description="最近一次签到位置（30 分钟内）")
    seen_at: datetime | None
    open_orders: int = Field(description="待到场或在场处置的工单数")
    free: bool = Field(description="可外出且手头没有工单")

    @classmethod
    def of(cls, p: PersonNow) -> PersonOut:
        return cls(
            id=p.id,
            name=p.name,
            posts=list(p.posts),
            area=p.area,
            position=_point(p.position),
            seen_at=p.seen_at,
            open_orders=p.open_orders,
            free=p.free,
        )


class NearbyOut(BaseModel):
    person: PersonOut
    metres: float = Field(description="沿街道网格的步行距离（米）")
    walk_minutes: float

    @classmethod
    def of(cls, n: Nearby) -> NearbyOut:
        return cls(person=PersonOut.of(n.person), metres=n.metres, walk_minutes=n.walk_minutes)


class SensorStateOut(BaseModel):
    id: str
    kind: str
    label: str
    watches: str
    location: PointOut
    last_ts: datetime | None
    values: dict[str, float]
    silent: bool = Field(description="超过三个上报周期没有读数")
    metres: float | None = None

    @classmethod
    def of(cls, s: SensorNow, metres: float | None = None) -> SensorStateOut:
        return cls(
            id=s.sensor.id,
            kind=s.sensor.kind.value,
            label=s.sensor.kind.label,
            watches=s.sensor.watches,
            location=PointOut(lon=s.sensor.location.lon, lat=s.sensor.location.lat),
            last_ts=s.live.last_ts if s.live else None,
            values=dict(s.live.values) if s.live else {},
            silent=s.silent,
            metres=None if metres is None else round(metres, 1),
        )


class OrderBrief(BaseModel):
    id: int
    category: str
    colour: str
    state: str
    area: str | None
    assignee: str | None
    received_at: datetime
    overdue: bool
    position: PointOut | None
    metres: float | None = None


class AlarmBrief(BaseModel):
    id: int
    sensor_id: str
    rule_id: str
    colour: str
    state: str
    raised_at: datetime
    reason: str
    order_id: int | None
    metres: float | None = None


class CountsOut(BaseModel):
    orders_by_state: dict[str, int]
    orders_by_colour: dict[str, int]
    overdue: int
    alarms_by_colour: dict[str, int]
    sensors_by_kind: dict[str, int]
    sensors_silent: int


class PlaceBrief(BaseModel):
    code: str
    kind: str
    name: str
    centre: PointOut


class AroundOut(BaseModel):
    at: datetime = Field(description="回答所描述的时刻")
    place: PlaceBrief
    area: str | None
    radius_m: float
    counts: CountsOut
    sensors: list[SensorStateOut]
    orders: list[OrderBrief]
    alarms: list[AlarmBrief]
    people: list[NearbyOut] = Field(description="在班人员，由近及远")


class NearestOut(BaseModel):
    at: datetime
    point: PointOut
    people: list[NearbyOut]


class AreaOut(BaseModel):
    at: datetime
    place: PlaceBrief
    a_manager: str | None
    b_manager: str | None
    counts: CountsOut
    people: list[PersonOut]
    orders: list[OrderBrief]
    alarms: list[AlarmBrief]


def _point(p: Point | None) -> PointOut | None:
    return None if p is None else PointOut(lon=p.lon, lat=p.lat)


def _order(o: WorkOrder, at: datetime, metres: float | None = None) -> OrderBrief:
    assert o.id is not None
    return OrderBrief(
        id=o.id,
        category=o.category,
        colour=o.colour.value,
        state=o.state.value,
        area=o.location.area,
        assignee=o.assignee,
        received_at=o.received_at,
        overdue=o.is_overdue(at),
        position=_point(o.location.point),
        metres=None if metres is None else round(metres, 1),
    )


def _alarm(a: Any, metres: float | None = None) -> AlarmBrief:
    return AlarmBrief(
        id=a.id,
        sensor_id=a.sensor_id,
        rule_id=a.rule_id,
        colour=a.colour.value,
        state=a.state.value,
        raised_at=a.raised_at,
        reason=a.reason,
        order_id=a.order_id,
        metres=None if metres is None else round(metres, 1),
    )


def _counts(c: Counts) -> CountsOut:
    return CountsOut(**c.as_dict())


def _place(place: Any) -> PlaceBrief:
    c = centre(place.geometry)
    return PlaceBrief(
        code=place.code, kind=place.kind.value, name=place.name, centre=PointOut(lon=c.lon, lat=c.lat)
    )


@router.get("/places/{code}", response_model=AroundOut, summary="某地点内外正在发生什么")
async def around(
    code: Code,
    center: CenterDep,
    actor: ActorDep,
    street: Street = None,
    radius: Annotated[float, Query(gt=0, le=MAX_RADIUS_M, description="半径（米）")] = 150.0,
) -> AroundOut:
    s = street_of(actor, street)
    found = await run_in_threadpool(center.twin.around, actor, s, code, radius)
    return AroundOut(
        at=found.at,
        place=_place(found.place),
        area=found.area,
        radius_m=found.radius_m,
        counts=_counts(found.counts),
        sensors=[SensorStateOut.of(x, d) for x, d in found.sensors],
        orders=[_order(o, found.at, d) for o, d in found.orders],
        alarms=[_alarm(a, d) for a, d in found.alarms],
        people=[NearbyOut.of(n) for n in found.people],
    )


@router.get("/nearest", response_model=NearestOut, summary="离某点最近的空闲人员")
async def nearest(
    center: CenterDep,
    actor: ActorDep,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    street: Street = None,
    free: Annotated[bool, Query(description="只列手头没有工单的人")] = True,
    limit: Annotated[int, Query(ge=1, le=100)] = 5,
) -> NearestOut:
    s = street_of(actor, street)
    point = Point(lon, lat)
    at, people = await run_in_threadpool(center.twin.nearest, actor, s, point, free, limit)
    return NearestOut(at=at, point=PointOut(lon=lon, lat=lat), people=[NearbyOut.of(n) for n in people])


@router.get("/areas/{code}", response_model=AreaOut, summary="某居民区此刻的状态")
async def area(code: Code, center: CenterDep, actor: ActorDep, street: Street = None) -> AreaOut:
    s = street_of(actor, street)
    now = await run_in_threadpool(center.twin.area, actor, s, code)
    return AreaOut(
        at=now.at,
        place=_place(now.place),
        a_manager=now.managers[0],
        b_manager=now.managers[1],
        counts=_counts(now.counts),
        people=[PersonOut.of(p) for p in now.people],
        orders=[_order(o, now.at) for o in now.orders],
        alarms=[_alarm(a) for a in now.alarms],
    )


@router.get(
    "/snapshot",
    summary="全街道快照（GeoJSON，带时间戳）",
    response_description="GeoJSON FeatureCollection：要素的 properties.layer 为图层，timestamp 为快照时刻",
)
async def snapshot(
    center: CenterDep,
    actor: ActorDep,
    street: Street = None,
    layers: Annotated[
        str, Query(max_length=200, description=f"逗号分隔的图层：{', '.join(LAYERS)}")
    ] = ",".join(DEFAULT_LAYERS),
) -> dict[str, Any]:
    s = street_of(actor, street)
    wanted = [x.strip() for x in layers.split(",") if x.strip()]
    result: dict[str, Any] = await run_in_threadpool(center.twin.snapshot, actor, s, wanted)
    return result

"""/api/v1/geocode: an address, or a point in WGS-84 / GCJ-02 / BD-09, to its place, area and grid."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import AfterValidator, BaseModel, Field, model_validator
from starlette.concurrency import run_in_threadpool

from chengyun.adapters.coords import to_wgs84
from chengyun.adapters.gazetteer import Candidate, ShapelyGazetteer
from chengyun.api.deps import ActorDep, CenterDep, street_of
from chengyun.api.schemas import ERROR_RESPONSES, Strict
from chengyun.domain.access import CREATORS, READERS, require_role
from chengyun.domain.errors import InvalidInput
from chengyun.services.ports import Located

router = APIRouter(prefix="/api/v1", tags=["受理辅助"], responses=ERROR_RESPONSES)

MAX_ADDRESS = 200
Crs = Literal["wgs84", "gcj02", "bd09"]


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("地址不能为空白")
    return text


class GeocodeIn(Strict):
    """Either `address`, or `lat` and `lon` (with `crs`, default WGS-84)."""

    address: (
        Annotated[str, Field(min_length=1, max_length=MAX_ADDRESS), AfterValidator(_not_blank)] | None
    ) = Field(None, description="中文地址，如“愚园路608弄6号”“南京西路1618号门口”“静安寺”")
    lat: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False)
    lon: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False)
    crs: Crs = Field("wgs84", description="坐标系：wgs84、gcj02（高德、腾讯等）或 bd09（百度）")
    street: str | None = Field(None, max_length=40)

    @model_validator(mode="after")
    def _one_of(self) -> GeocodeIn:
        has_point = self.lat is not None or self.lon is not None
        if self.address is None and not has_point:
            raise ValueError("请提供 address，或 lat 与 lon")
        if self.address is not None and has_point:
            raise ValueError("address 与 lat/lon 只能提供其一")
        if has_point and (self.lat is None or self.lon is None):
            raise ValueError("lat 与 lon 须同时提供")
        return self


class PlaceRef(BaseModel):
    code: str
    name: str
    kind: str | None = None


class PointOut(BaseModel):
    lat: float
    lon: float


class CandidateOut(BaseModel):
    code: str
    name: str
    kind: str
    area: str | None
    score: float


class GeocodeOut(BaseModel):
    matched: str = Field(
        description="building、lane、road_number、crossing、opposite、poi、area、grid 或 point"
    )
    confidence: float = Field(ge=0, le=1)
    place: PlaceRef | None
    area: PlaceRef
    grid: PlaceRef | None
    building: PlaceRef | None
    point: PointOut = Field(description="WGS-84")
    candidates: list[CandidateOut] = Field(default_factory=list)


def _ref(gazetteer: ShapelyGazetteer, code: str | None, with_kind: bool = False) -> PlaceRef | None:
    place = gazetteer.place(code)
    if place is None:
        return None
    return PlaceRef(code=place.code, name=place.name, kind=place.kind.value if with_kind else None)


def _candidates(items: tuple[Candidate, ...]) -> list[CandidateOut]:
    return [
        CandidateOut(code=c.code, name=c.name, kind=c.kind, area=c.area, score=round(c.score, 2))
        for c in items
    ]


def _answer(gazetteer: ShapelyGazetteer, found: Located, candidates: tuple[Candidate, ...]) -> GeocodeOut:
    loc = found.location
    area = _ref(gazetteer, loc.area)
    assert area is not None and loc.point is not None
    return GeocodeOut(
        matched=found.matched,
        confidence=round(found.confidence, 2),
        place=_ref(gazetteer, found.place, with_kind=True),
        area=area,
        grid=_ref(gazetteer, loc.grid),
        building=_ref(gazetteer, loc.building),
        point=PointOut(lat=loc.point.lat, lon=loc.point.lon),
        candidates=_candidates(candidates),
    )


@router.post(
    "/geocode",
    response_model=GeocodeOut,
    summary="地址定位",
    description=(
        "把中文地址（门牌、弄号、路口、地标名称，可带“门口”“附近”“对面”）或坐标解析为楼栋、单元网格和居民区。"
        "无法可靠定位时返回 422 `address_unresolved` 与候选地点 `details.candidates`，由受理员选择；"
        "坐标不在本街道时返回 422 `outside_street`。"
    ),
)
async def geocode(body: GeocodeIn, center: CenterDep, actor: ActorDep) -> GeocodeOut:
    require_role(actor, READERS | CREATORS, "地址定位")
    street = street_of(actor, body.street)
    gazetteer = center.gazetteers(street)
    if not gazetteer.knows_street():
        raise InvalidInput(f"街道 {street} 不存在", code="unknown_street", street=street)
    if body.address is not None:
        answer = await run_in_threadpool(gazetteer.geocode, body.address)
        if answer.found is None:
            raise InvalidInput(
                f"无法定位地址「{body.address.strip()}」：{answer.reason}，请人工选择",
                code="address_unresolved",
                candidates=[c.model_dump() for c in _candidates(answer.candidates)],
            )
        return _answer(gazetteer, answer.found, answer.candidates)
    assert body.lat is not None and body.lon is not None
    point = to_wgs84(body.lat, body.lon, body.crs)
    found = gazetteer.locate_point(point)
    if found is None:
        raise InvalidInput(
            "坐标不在本街道范围内（属地不符）", code="outside_street", lat=point.lat, lon=point.lon
        )
    return _answer(gazetteer, found, ())

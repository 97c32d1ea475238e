"""API shapes (pydantic, at the edge only): what comes in and what goes out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, HttpUrl, field_validator

from chengyun.adapters.coords import to_wgs84
from chengyun.domain.access import Actor, Role, sees_contact
from chengyun.domain.geo import Point
from chengyun.domain.orders import (
    MAX_NOTE,
    MAX_TEXT,
    Contact,
    ReturnReason,
    Satisfaction,
    Source,
    TimelineEntry,
    WorkOrder,
    mask_phones_in,
)
from chengyun.domain.severity import Colour
from chengyun.domain.sla import Stage
from chengyun.services.orders import NewOrder

Note = Annotated[str, Field(max_length=MAX_NOTE)]
RequiredNote = Annotated[str, Field(min_length=1, max_length=MAX_NOTE)]


def _no_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("不能为空白")
    return text


MAX_ID = 2**31 - 1  # ids are 32-bit integers in the database
EARLIEST_YEAR, LATEST_YEAR = 1970, 2200


def _sane_time(at: datetime) -> datetime:
    """Refuse times the storage and the deadline arithmetic cannot handle (year 9999 would overflow)."""
    try:
        year = at.astimezone(UTC).year if at.tzinfo is not None else at.year
    except OverflowError:
        year = 0
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise ValueError(f"时间应在 {EARLIEST_YEAR} 年到 {LATEST_YEAR} 年之间")
    return at


Moment = Annotated[datetime, AfterValidator(_sane_time)]
AwareMoment = Annotated[AwareDatetime, AfterValidator(_sane_time)]


def has_nul(value: object) -> bool:
    """Whether a parsed JSON body holds a NUL character in any key or string: PostgreSQL cannot store one."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(v) for v in value)
    return False


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL cannot store NUL characters in text: refused here, naming the field, at any depth.
        if has_nul(value):
            raise ValueError("不能含有 NUL 字符")
        return value


class Position(Strict):
    """A WGS-84 position."""

    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)

    def to_point(self) -> Point:
        return Point(self.lon, self.lat)

    @classmethod
    def of(cls, point: Point | None) -> Position | None:
        return cls(lon=point.lon, lat=point.lat) if point else None


class ContactIn(Strict):
    name: str = Field("", max_length=50)
    phone: str = Field(pattern=r"^\+?[0-9][0-9\- ]{4,19}$")


class OrderCreate(Strict):
    source: Source
    category: str | None = Field(
        None,
        min_length=1,
        max_length=20,
        description="类别编码，见 /api/v1/categories；不填则由系统按描述识别（置信度低时提示受理员确认）",
    )
    description: Annotated[str, Field(min_length=1, max_length=MAX_TEXT), AfterValidator(_no_blank)]
    street: str | None = Field(None, max_length=40)
    position: Position | None = None
    crs: Literal["wgs84", "gcj02", "bd09"] = Field(
        "wgs84", description="position 的坐标系：wgs84、gcj02（高德、腾讯等）或 bd09（百度）"
    )
    address: str | None = Field(None, max_length=200)
    area: str | None = Field(None, max_length=40)
    colour: Colour | None = None
    complainant: ContactIn | None = None
    attachments: list[HttpUrl] = Field(default_factory=list, max_length=20)
    external_id: str | None = Field(None, max_length=64, description="上游系统（如 12345）的工单号")
    auto_dispatch: bool = True

    def command(self) -> NewOrder:
        """The intake command, with the position converted to WGS-84."""
        position = self.position
        return NewOrder(
            source=self.source.value,
            category=self.category,
            description=self.description,
            street=self.street,
            point=to_wgs84(position.lat, position.lon, self.crs) if position else None,
            address=self.address,
            area=self.area,
            colour=self.colour,
            complainant=contact_of(self.complainant),
            attachments=tuple(str(u) for u in self.attachments),
            external_id=self.external_id,
            auto_dispatch=self.auto_dispatch,
        )


class ClockOut(BaseModel):
    stage: Stage
    label: str
    started_at: datetime
    due_at: datetime
    done_at: datetime | None
    on_time: bool | None
    overdue: bool


class ExtensionOut(BaseModel):
    no: int
    stage: Stage
    requested_by: str
    requested_at: datetime
    until: datetime
    reason: str
    decision: str | None
    decided_by: str | None
    decided_at: datetime | None


class SupervisionOut(BaseModel):
    no: int
    issued_by: str
    issued_at: datetime
    note: str
    reply_due_at: datetime
    replied_at: datetime | None
    reply: str | None


class ContactOut(BaseModel):
    name: str
    phone: str
    masked: bool


class OrderOut(BaseModel):
    id: int
    street: str
    source: Source
    source_label: str
    category: str
    category_name: str | None
    description: str
    address: str | None
    position: Position | None
    area: str | None
    grid: str | None
    building: str | None
    colour: Colour
    colour_label: str
    state: str
    state_label: str
    group: str
    assignee: str | None
    assignee_name: str | None
    complainants: list[ContactOut]
    attachments: list[str]
    external_id: str | None
    received_at: datetime
    updated_at: datetime | None
    policy: str
    clocks: list[ClockOut]
    overdue: bool
    next_due_at: datetime | None
    escalation_level: int
    round: int
    plan: str | None
    planned_for: datetime | None
    satisfaction: Satisfaction | None
    merged_into: int | None
    extensions: list[ExtensionOut]
    supervisions: list[SupervisionOut]
    version: int

    @classmethod
    def of(
        cls,
        order: WorkOrder,
        actor: Actor,
        now: datetime,
        category_name: str | None = None,
        assignee_name: str | None = None,
    ) -> OrderOut:
        return cls.model_validate(cls.fields(order, actor, now, category_name, assignee_name))

    @classmethod
    def json_of(
        cls,
        order: WorkOrder,
        actor: Actor,
        now: datetime,
        category_name: str | None = None,
        assignee_name: str | None = None,
    ) -> bytes:
        """The JSON of `of(...)` without building the model: the fields are plain values the model would
        keep as they are (the hot path: order intake). msgspec writes them byte for byte as pydantic does
        (datetimes, enums by value, escapes, coordinates; tests/api/test_order_shape.py compares) in
        5 µs, where pydantic_core's `to_json` took 33 µs for an order's dict of enums and datetimes."""
        return msgspec.json.encode(cls.fields(order, actor, now, category_name, assignee_name))

    @staticmethod
    def fields(
        order: WorkOrder,
        actor: Actor,
        now: datetime,
        category_name: str | None = None,
        assignee_name: str | None = None,
    ) -> dict[str, Any]:
        """The fields of the model as plain values (enums, datetimes, dicts for nested models)."""
        assert order.id is not None
        visible = sees_contact(actor, order)
        contacts = [c if visible else c.masked() for c in order.complainants]
        location = order.location
        point = location.point
        state = order.state
        return {
            "id": order.id,
            "street": order.street,
            "source": order.source,
            "source_label": order.source.label,
            "category": order.category,
            "category_name": category_name,
            "description": order.description if visible else mask_phones_in(order.description),
            "address": location.address,
            "position": {"lon": point.lon, "lat": point.lat} if point else None,
            "area": location.area,
            "grid": location.grid,
            "building": location.building,
            "colour": order.colour,
            "colour_label": order.colour.label,
            "state": state.value,
            "state_label": state.label,
            "group": state.group.value,
            "assignee": order.assignee,
            "assignee_name": assignee_name,
            "complainants": [{"name": c.name, "phone": c.phone, "masked": not visible} for c in contacts],
            "attachments": list(order.attachments),
            "external_id": order.external_id,
            "received_at": order.received_at,
            "updated_at": order.updated_at,
            "policy": order.policy_code,
            "clocks": [
                {
                    "stage": c.stage,
                    "label": c.stage.label,
                    "started_at": c.started_at,
                    "due_at": c.due_at,
                    "done_at": c.done_at,
                    "on_time": c.on_time,
                    "overdue": c.overdue(now),
                }
                for c in order.clocks.values()
            ],
            "overdue": order.is_overdue(now),
            "next_due_at": order.next_due_at(),
            "escalation_level": order.escalation_level,
            "round": order.round,
            "plan": order.plan,
            "planned_for": order.planned_for,
            "satisfaction": order.satisfaction,
            "merged_into": order.merged_into,
            "extensions": [
                {
                    "no": e.no,
                    "stage": e.stage,
                    "requested_by": e.requested_by,
                    "requested_at": e.requested_at,
                    "until": e.until,
                    "reason": e.reason,
                    "decision": e.decision,
                    "decided_by": e.decided_by,
                    "decided_at": e.decided_at,
                }
                for e in order.extensions
            ],
            "supervisions": [
                {
                    "no": s.no,
                    "issued_by": s.issued_by,
                    "issued_at": s.issued_at,
                    "note": s.note,
                    "reply_due_at": s.reply_due_at,
                    "replied_at": s.replied_at,
                    "reply": s.reply,
                }
                for s in order.supervisions
            ],
            "version": order.version,
        }


class OrderPage(BaseModel):
    items: list[OrderOut]
    total: int
    limit: int
    offset: int


class TimelineOut(BaseModel):
    seq: int
    at: datetime
    kind: str
    actor: str
    actor_name: str
    state: str
    state_label: str
    note: str
    position: Position | None
    data: dict[str, Any]

    @classmethod
    def of(cls, entry: TimelineEntry) -> TimelineOut:
        return cls(
            seq=entry.seq,
            at=entry.at,
            kind=entry.kind,
            actor=entry.actor,
            actor_name=entry.actor_name,
            state=entry.state.value,
            state_label=entry.state.label,
            note=entry.note,
            position=Position.of(entry.position),
            data=dict(entry.data),
        )


# --- action bodies --------------------------------------------------------------------------------


class DispatchIn(Strict):
    assignee: str | None = Field(None, max_length=40, description="承办人编号；不填则按 AB 角自动选择")
    area: str | None = Field(None, max_length=40, description="所属居民区；受理时未能定位的工单派遣前须指定")
    note: Note = ""


class ReassignIn(Strict):
    assignee: str | None = Field(
        None, max_length=40, description="新承办人编号；不填则按剩余到场时限自动选择他人"
    )
    reason: Note = Field(description="改派原因（如原承办人无法按时到场）")


class RespondIn(Strict):
    note: Note = ""
    position: Position | None = None


class ArriveIn(Strict):
    position: Position = Field(description="到场签到位置")
    note: Note = ""


class HandleIn(Strict):
    note: RequiredNote
    attachments: list[HttpUrl] = Field(default_factory=list, max_length=20)


class PlanIn(Strict):
    plan: RequiredNote
    planned_for: AwareMoment


class CloseLoopIn(Strict):
    note: RequiredNote
    satisfaction: Satisfaction | None = None


class NoteIn(Strict):
    note: Note = ""


class RequiredNoteIn(Strict):
    note: RequiredNote
    position: Position | None = None


class ReturnIn(Strict):
    reason: ReturnReason
    note: RequiredNote


class ExtensionIn(Strict):
    until: AwareMoment
    reason: RequiredNote
    stage: Stage | None = None


class DecisionIn(Strict):
    approve: bool
    note: Note = ""


class ReasonIn(Strict):
    reason: RequiredNote


class MergeIn(Strict):
    into: int = Field(ge=1, le=MAX_ID)
    note: Note = ""


class SuperviseIn(Strict):
    note: RequiredNote
    reply_minutes: float | None = Field(None, gt=0, le=60 * 24 * 30)


class ReplyIn(Strict):
    reply: RequiredNote


class RegradeIn(Strict):
    colour: Colour
    reason: RequiredNote


class ReclassifyIn(Strict):
    category: str = Field(min_length=1, max_length=20, description="更正后的类别编码")
    reason: str = Field("", max_length=500)


class DuplicateOut(BaseModel):
    order_id: int
    distance_m: float | None = Field(description="两单相距（米）；按同一楼栋或地址匹配时为空")
    similarity: float = Field(description="描述文字相似度 0..1")
    reason: str


class CheckinIn(Strict):
    position: Position
    crs: Literal["wgs84", "gcj02", "bd09"] = "wgs84"


class AbsenceIn(Strict):
    staff: str = Field(min_length=1, max_length=64)
    start: AwareDatetime
    end: AwareDatetime
    reason: str = Field("请假", min_length=1, max_length=200)


class AbsenceOut(BaseModel):
    id: int
    staff: str
    start: datetime
    end: datetime
    reason: str


# --- people, tokens -------------------------------------------------------------------------------


class StaffOut(BaseModel):
    id: str
    name: str
    phone: str
    department: str
    posts: list[str]
    street: str
    active: bool


class TokenCreate(Strict):
    role: Role
    staff_id: str | None = Field(None, max_length=40)
    streets: list[str] = Field(default_factory=list, max_length=50)
    name: str = Field("", max_length=50)
    ttl_days: float | None = Field(None, gt=0, le=3650)


class TokenOut(BaseModel):
    id: str
    role: str
    streets: list[str]
    staff_id: str | None
    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenIssued(TokenOut):
    token: str = Field(description="只显示这一次，请妥善保存")


class MeOut(BaseModel):
    role: Role
    role_label: str
    staff_id: str | None
    name: str
    streets: list[str]


class ImportResult(BaseModel):
    imported: int


class Health(BaseModel):
    status: Literal["ok"]
    time: datetime
    clock_speed: float = Field(description="模拟时钟倍速；1 为真实时间")
    database: str


def contact_of(data: ContactIn | None) -> Contact | None:
    return Contact(data.name.strip(), data.phone.strip()) if data else None


class ErrorDetail(BaseModel):
    code: str = Field(description="供程序判断的错误码，如 invalid_input、not_found")
    message: str = Field(description="中文说明")
    details: dict[str, Any] | None = Field(None, description="出错的字段、行号等")


class ErrorOut(BaseModel):
    error: ErrorDetail


class Open311ErrorOut(BaseModel):
    code: int
    description: str


def _errors(model: object, described: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": model, "description": text} for status, text in described.items()}


# Every refusal the REST API can give, documented once for all its routes (the body is always ErrorOut).
ERROR_RESPONSES = _errors(
    ErrorOut,
    {
        400: "请求格式错误",
        401: "未登录或令牌无效",
        403: "无权执行该操作",
        404: "对象不存在",
        409: "与当前状态冲突（如状态不允许该操作、重复提交）",
        413: "请求体过大",
        422: "输入校验未通过",
        429: "令牌验证失败次数过多，请按 Retry-After 秒数后重试",
        503: "数据库暂时无法连接，可按 Retry-After 秒数后重试",
    },
)
# The same, spelled out for routes whose success is not JSON (CSV exports): FastAPI would otherwise
# document their errors under the route's own media type.
ERROR_RESPONSES_AS_JSON: dict[int | str, dict[str, Any]] = {
    status: {
        "description": response["description"],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
    }
    for status, response in ERROR_RESPONSES.items()
}
# Open311 GeoReport v2 answers its errors as a list of {code, description}; a query the framework
# cannot parse at all gets the app-wide body.
OPEN311_ERROR_RESPONSES = _errors(
    list[Open311ErrorOut],
    {400: "请求有误", 403: "api_key 无效或无权限", 404: "对象或格式不存在", 503: "暂时无法服务，请稍后重试"},
) | _errors(ErrorOut, {422: "请求参数无法解析"})

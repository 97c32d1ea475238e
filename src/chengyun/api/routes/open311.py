"""Open311 GeoReport v2 at /open311/v2: the citizen-facing standard interface, JSON and XML.

Reads are public (no api_key), so they show only what a citizen may see: never a complainant's contact,
never an assignee or an internal note; phone numbers typed into free text are masked. Creating a request
needs an `api_key`: an API token of this system (or CHENGYUN_BOOTSTRAP_TOKEN). `jurisdiction_id` names the
street; it may be left out when the key holds one street (writes) or the deployment has one (reads).

Every error is the spec's `[{"code", "description"}]` (or `<errors>` in XML) with 400, 403 or 404;
parameters are read by hand so FastAPI's 422 never answers here. A client past its reads or submissions
a minute gets a 429 in the same shape before any of this runs (api/ratelimit.py).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from chengyun.api.errors import headers_of
from chengyun.api.open311_format import FORMATS, error_response, render
from chengyun.api.ratelimit import OPEN311_RESPONSES
from chengyun.api.schemas import EARLIEST_YEAR, LATEST_YEAR, MAX_ID
from chengyun.bootstrap import Center
from chengyun.domain.access import Actor, Role
from chengyun.domain.calendar import SHANGHAI
from chengyun.domain.categories import Attribute, Category, Datatype
from chengyun.domain.errors import DomainError, NotFound, PermissionDenied, Unauthenticated, Unavailable
from chengyun.domain.geo import Point
from chengyun.domain.orders import MAX_TEXT, Contact, OrderState, WorkOrder, mask_phones_in
from chengyun.domain.places import PlaceKind
from chengyun.domain.sla import STAGES, DeadlinePolicy
from chengyun.services.orders import NewOrder
from chengyun.services.ports import OrderQuery

PREFIX = "/open311/v2"
SPEC = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-25T00:00:00+08:00"  # when this interface last changed (discovery's changeset)
TOKEN_PREFIX = "cy311-"
DEFAULT_DAYS = 90
MAX_SPAN = timedelta(days=90)
MAX_PAGE_SIZE = 1000
MAX_IDS = 1000

# Open311 knows two statuses. A request is closed for the citizen once the result has been fed back
# (loop closed), the case is closed, or it was merged into another request as a duplicate; handled but
# not yet confirmed, returned or on the long-term list (挂账) is still open.
CLOSED_STATES = frozenset({OrderState.LOOP_CLOSED, OrderState.CLOSED, OrderState.MERGED})
OPEN_STATES = frozenset(OrderState) - CLOSED_STATES

DATATYPE_HINTS = {
    Datatype.STRING: "单行文字",
    Datatype.NUMBER: "数字，如 3 或 2.5",
    Datatype.DATETIME: "时间（ISO 8601），如 2026-11-25T08:00:00+08:00",
    Datatype.TEXT: "多行文字",
    Datatype.SINGLE: "单选：填写一个选项的 key",
    Datatype.MULTI: "多选：每个选项的 key 各传一次 attribute[code][]",
}
MAX_ATTRIBUTE_TEXT = 500
PHONE = re.compile(r"^\+?[0-9][0-9\- ]{4,19}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{1,20}$")
ATTRIBUTE_KEY = re.compile(r"^attribute\[([^\]]+)\](\[\])?$")

STATE_NOTES = {
    OrderState.RECEIVED: "已受理，正在派遣",
    OrderState.DISPATCHED: "已派遣给属地专管员，等待响应",
    OrderState.RETURNED: "已退回重新派遣",
    OrderState.RESPONDED: "专管员已响应，正在赶往现场",
    OrderState.ON_SITE: "工作人员已到达现场处置",
    OrderState.PLANNED: "已明确解决方案",
    OrderState.HANDLED: "已处置，等待反馈核实",
    OrderState.LOOP_CLOSED: "已处置并反馈核实",
    OrderState.CLOSED: "已办结",
    OrderState.SUSPENDED: "暂时无法解决，已列入长期问题清单跟踪办理",
    OrderState.MERGED: "与另一诉求为同一事项，已并案办理",
}
# Timeline kinds whose note is written for the record of the outcome (shown, with phones masked).
OUTCOME_KINDS = {
    OrderState.HANDLED: "handled",
    OrderState.LOOP_CLOSED: "loop_closed",
    OrderState.CLOSED: "closed",
}

router = APIRouter(prefix=PREFIX, tags=["Open311"], responses=OPEN311_RESPONSES)


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _domain_status(exc: DomainError) -> int:
    if isinstance(exc, Unauthenticated | PermissionDenied):
        return 403
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Unavailable):
        return 503
    return 400


def _refusal(fmt: str, exc: DomainError) -> Response:
    response = error_response(fmt, _domain_status(exc), exc.message)
    response.headers.update(headers_of(exc) or {})
    return response


def _guard(fmt: str, work: Callable[[str], Response]) -> Response:
    """Run `work` in the asked format and turn every refusal into the spec's error shape."""
    try:
        if fmt not in FORMATS:
            raise Open311Error(404, f"不支持的格式「.{fmt[:20]}」：请使用 .json 或 .xml")
        return work(fmt)
    except Open311Error as exc:
        return error_response(fmt, exc.status, exc.description)
    except DomainError as exc:
        return _refusal(fmt, exc)


def _center(request: Request) -> Center:
    center: Center = request.app.state.center
    return center


# --- parameters -----------------------------------------------------------------------------------


def _clean(value: str, name: str) -> str:
    if "\x00" in value:
        raise Open311Error(400, f"参数 {name} 不能含有 NUL 字符")
    return value.strip()


def _one(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = params.get(name) or []
    if not values:
        return None
    return _clean(values[-1], name) or None


def _query(request: Request) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        out.setdefault(key, []).append(value)
    return out


def _local(at: datetime | None) -> str | None:
    return at.astimezone(SHANGHAI).isoformat(timespec="seconds") if at is not None else None


def _parse_time(value: str, name: str) -> datetime:
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise Open311Error(
            400, f"{name} 不是合法的 ISO 8601 时间：{value[:40]}（例：2026-11-25T08:00:00+08:00 或 …Z）"
        ) from None
    if at.tzinfo is None:
        if "T" in value:
            raise Open311Error(400, f"{name} 须带时区（Z 或 +08:00）：{value[:40]}")
        at = at.replace(tzinfo=SHANGHAI)  # a bare date: that day in Shanghai
    if not EARLIEST_YEAR <= at.year <= LATEST_YEAR:
        raise Open311Error(400, f"{name} 应在 {EARLIEST_YEAR} 年到 {LATEST_YEAR} 年之间")
    return at


def _positive_int(value: str | None, name: str, default: int, maximum: int) -> int:
    if value is None:
        return default
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= maximum:
        raise Open311Error(400, f"{name} 应为 1 到 {maximum} 之间的整数，收到：{value[:20]}")
    return int(value)


def _order_id(value: str) -> int | None:
    if value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_ID:
        return int(value)
    return None


# --- the street -----------------------------------------------------------------------------------


def _known_streets(center: Center) -> list[str]:
    with center.uow() as uow:
        return [code for code, _ in uow.config.streets()]


def _street(center: Center, params: Mapping[str, Sequence[str]], actor: Actor | None = None) -> str:
    """The street a request is about: `jurisdiction_id`, else the key's one street, else the only one."""
    given = _one(params, "jurisdiction_id")
    known = _known_streets(center)
    if given is not None:
        if given not in known:
            raise Open311Error(404, f"jurisdiction_id「{given[:40]}」不存在：请填写街道编码")
        if actor is not None and not actor.sees_street(given):
            raise Open311Error(403, f"该 api_key 无权向街道 {given} 提交诉求")
        return given
    if actor is not None and len(actor.streets) == 1:
        (only,) = actor.streets
        return only
    if len(known) == 1 and (actor is None or actor.sees_street(known[0])):
        return known[0]
    raise Open311Error(400, "请用 jurisdiction_id 指明街道编码")


def _public(street: str) -> Actor:
    """The reader behind a public request: one street, no contact details (see sees_contact)."""
    return Actor(Role.PATROL_OBSERVER, frozenset({street}), None, "Open311 公开查询", "open311")


# --- services -------------------------------------------------------------------------------------


def _service(category: Category) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": category.description or category.name,
        "metadata": bool(category.attributes),
        "type": "realtime",
        "keywords": ",".join(category.keywords),
        "group": category.major,
    }


def _attribute(attribute: Attribute, order: int) -> dict[str, Any]:
    return {
        "variable": True,
        "code": attribute.code,
        "datatype": attribute.datatype.value,
        "required": attribute.required,
        "datatype_description": DATATYPE_HINTS[attribute.datatype],
        "order": order,
        "description": attribute.description,
        "values": [{"key": key, "name": name} for key, name in attribute.values],
    }


def _category(center: Center, street: str, code: str, status: int) -> Category:
    catalogue = center.orders.catalogue(street)
    if code not in catalogue:
        raise Open311Error(status, f"service_code「{code[:40]}」不存在：可用的服务见 services.json")
    return catalogue.get(code)


@router.get("/discovery.{fmt}", summary="服务发现（discovery）")
def discovery(request: Request, fmt: str) -> Response:
    def work(fmt: str) -> Response:
        base = str(request.base_url).rstrip("/") + PREFIX
        body = {
            "changeset": CHANGESET,
            "contact": "街道城运中心（城运 chengyun 平台）",
            "key_service": (
                "api_key 由街道城运中心签发（chengyun token create --role hotline_system --street 街道编码）"
            ),
            "endpoints": [
                {
                    "specification": SPEC,
                    "url": base,
                    "changeset": CHANGESET,
                    "type": "production",
                    "formats": ["text/xml", "application/json"],
                }
            ],
        }
        return render(fmt, "discovery", body)

    return _guard(fmt, work)


@router.get("/services.{fmt}", summary="服务类型列表")
def services(request: Request, fmt: str) -> Response:
    def work(fmt: str) -> Response:
        street = _street(_center(request), _query(request))
        catalogue = _center(request).orders.catalogue(street)
        return render(fmt, "services", [_service(c) for c in catalogue])

    return _guard(fmt, work)


def _definition(request: Request, code: str, fmt: str) -> Response:
    def work(fmt: str) -> Response:
        center = _center(request)
        category = _category(center, _street(center, _query(request)), code, 404)
        attributes = [_attribute(a, i) for i, a in enumerate(category.attributes, start=1)]
        return render(fmt, "service_definition", {"service_code": category.code, "attributes": attributes})

    return _guard(fmt, work)


@router.get("/services/{code}.{fmt}", summary="服务定义（附加问题）")
def service_definition(request: Request, code: str, fmt: str) -> Response:
    return _definition(request, code, fmt)


@router.get("/service/{code}.{fmt}", include_in_schema=False)
def service_definition_singular(request: Request, code: str, fmt: str) -> Response:
    """Some older clients call the singular path."""
    return _definition(request, code, fmt)


# --- reading requests -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    """What shaping a street's requests needs, read once per response."""

    center: Center
    street: str
    departments: dict[str, str]
    outcomes: dict[int, str]


def _minutes(value: float) -> str:
    return f"{value:g}"


def _notice(policy: DeadlinePolicy) -> str:
    r = {rule.stage.value: _minutes(rule.minutes) for rule in policy.stages}
    return (
        f"按「{policy.name}」办理：{r['respond']} 分钟内响应，{r['arrive']} 分钟内到场，"
        f"到场后 {r['handle']} 分钟内处置或明确方案，{r['close']} 分钟内反馈结果"
    )


def expected_at(order: WorkOrder, policy: DeadlinePolicy) -> datetime | None:
    """When the request should be resolved: the latest stage with a clock (its deadline, or the time it
    was done) plus the minutes of the stages still to come. None once closed or while on the
    long-term list (its clocks are frozen)."""
    if order.state in CLOSED_STATES or order.state is OrderState.SUSPENDED:
        return None
    last = next((s for s in reversed(STAGES) if s in order.clocks), None)
    if last is None:
        return None
    clock = order.clocks[last]
    at = clock.done_at if clock.done_at is not None else clock.due_at
    for stage in STAGES[STAGES.index(last) + 1 :]:
        at += timedelta(minutes=policy.rule(stage).minutes)
    return at


def _status_notes(order: WorkOrder, outcome: str | None) -> str:
    note = STATE_NOTES[order.state]
    if order.state is OrderState.PLANNED and order.plan:
        when = order.planned_for.astimezone(SHANGHAI).strftime("%m月%d日%H:%M") if order.planned_for else ""
        note = f"{note}：{order.plan}" + (f"（计划 {when} 前完成）" if when else "")
    elif order.state is OrderState.MERGED and order.merged_into is not None:
        note = f"{note}（并入诉求 {order.merged_into}）"
    elif outcome:
        note = f"{note}：{outcome}"
    return mask_phones_in(note)


def _request(ctx: _Context, order: WorkOrder) -> dict[str, Any]:
    assert order.id is not None
    catalogue = ctx.center.orders.catalogue(order.street)
    category = catalogue.get(order.category) if order.category in catalogue else None
    policy = ctx.center.orders.policies(order.street).get(order.policy_code)
    point = order.location.point
    return {
        "service_request_id": str(order.id),
        "status": "closed" if order.state in CLOSED_STATES else "open",
        "status_notes": _status_notes(order, ctx.outcomes.get(order.id)),
        "service_name": category.name if category else order.category,
        "service_code": order.category,
        "description": mask_phones_in(order.description),
        "agency_responsible": ctx.departments.get(category.department, category.department)
        if category
        else None,
        "service_notice": _notice(policy),
        "requested_datetime": _local(order.received_at),
        "updated_datetime": _local(order.updated_at or order.received_at),
        "expected_datetime": _local(expected_at(order, policy)),
        "address": order.location.address,
        "address_id": order.location.building,
        "zipcode": None,
        "lat": point.lat if point else None,
        "long": point.lon if point else None,
        "media_url": order.attachments[0] if order.attachments else None,
    }


def _context(center: Center, street: str, orders: Sequence[WorkOrder]) -> _Context:
    wanted = {o.id: OUTCOME_KINDS[o.state] for o in orders if o.id is not None and o.state in OUTCOME_KINDS}
    with center.uow() as uow:
        departments = {d.code: d.name for d in uow.people.departments(street)}
        entries = uow.orders.last_entries(wanted) if wanted else {}
    outcomes = {i: e.note.strip()[:500] for i, e in entries.items() if e.note.strip()}
    return _Context(center, street, departments, outcomes)


def _requests(center: Center, street: str, orders: Sequence[WorkOrder]) -> list[dict[str, Any]]:
    ctx = _context(center, street, orders)
    return [_request(ctx, o) for o in orders]


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _window(params: Mapping[str, Sequence[str]], now: datetime) -> tuple[datetime, datetime]:
    start_text, end_text = _one(params, "start_date"), _one(params, "end_date")
    start = _parse_time(start_text, "start_date") if start_text else None
    end = _parse_time(end_text, "end_date") if end_text else None
    if start is None and end is None:
        return now - timedelta(days=DEFAULT_DAYS), now
    if start is None:
        assert end is not None
        return end - MAX_SPAN, end
    if end is None:
        return start, start + MAX_SPAN
    if end < start:
        raise Open311Error(400, "end_date 不能早于 start_date")
    if end - start > MAX_SPAN:
        raise Open311Error(400, f"start_date 与 end_date 之间不能超过 {DEFAULT_DAYS} 天")
    return start, end


def _search(center: Center, street: str, params: Mapping[str, Sequence[str]]) -> tuple[list[WorkOrder], int]:
    actor = _public(street)
    page = _positive_int(_one(params, "page"), "page", 1, 1_000_000)
    size = _positive_int(_one(params, "page_size"), "page_size", MAX_PAGE_SIZE, MAX_PAGE_SIZE)
    id_texts = _split(_one(params, "service_request_id"))
    if id_texts:  # ids override every other filter (the spec)
        if len(id_texts) > MAX_IDS:
            raise Open311Error(400, f"service_request_id 一次最多 {MAX_IDS} 个")
        ids = [_order_id(t) for t in id_texts]
        bad = [t for t, i in zip(id_texts, ids, strict=True) if i is None]
        if bad:
            raise Open311Error(400, f"service_request_id 应为数字编号：{bad[0][:20]}")
        query = OrderQuery(
            street=street, ids=[i for i in ids if i is not None], limit=size, offset=(page - 1) * size
        )
        found = center.orders.search(actor, query)
        return found.items, found.total

    statuses = _split(_one(params, "status"))
    unknown = [s for s in statuses if s not in ("open", "closed")]
    if unknown:
        raise Open311Error(400, f"status 只能是 open 或 closed（可用逗号分隔），收到：{unknown[0][:20]}")
    states: list[OrderState] = []
    if statuses and set(statuses) != {"open", "closed"}:
        chosen = CLOSED_STATES if statuses[0] == "closed" else OPEN_STATES
        states = sorted(chosen)
    codes = list(dict.fromkeys(_split(_one(params, "service_code"))))
    for code in codes:
        _category(center, street, code, 400)
    start, end = _window(params, center.clock.now())
    until = end + timedelta(microseconds=1)  # end_date is inclusive; the repository's `until` is not

    query = OrderQuery(
        street=street,
        states=states,
        categories=codes,
        since=start,
        until=until,
        limit=size,
        offset=(page - 1) * size,
    )
    found = center.orders.search(actor, query)
    return found.items, found.total


@router.get("/requests.{fmt}", summary="查询诉求")
def list_requests(request: Request, fmt: str) -> Response:
    def work(fmt: str) -> Response:
        center = _center(request)
        params = _query(request)
        street = _street(center, params)
        orders, total = _search(center, street, params)
        headers = {"X-Total-Count": str(total)}
        return render(fmt, "service_requests", _requests(center, street, orders), headers=headers)

    return _guard(fmt, work)


def _one_request(center: Center, street: str, order_id: int | None, what: str) -> WorkOrder:
    if order_id is None:
        raise Open311Error(404, f"诉求 {what[:40]} 不存在")
    try:
        return center.orders.get(_public(street), order_id)
    except NotFound:
        raise Open311Error(404, f"诉求 {what[:40]} 不存在") from None


@router.get("/requests/{request_id}.{fmt}", summary="单个诉求")
def get_request(request: Request, request_id: str, fmt: str) -> Response:
    def work(fmt: str) -> Response:
        center = _center(request)
        street = _street(center, _query(request))
        order = _one_request(center, street, _order_id(request_id), request_id)
        return render(fmt, "service_requests", _requests(center, street, [order]))

    return _guard(fmt, work)


def token_of(order_id: int) -> str:
    """Requests are created at once, so a token is just the request's id, recognisably wrapped."""
    return f"{TOKEN_PREFIX}{order_id}"


@router.get("/tokens/{token}.{fmt}", summary="由 token 查询诉求编号")
def get_token(request: Request, token: str, fmt: str) -> Response:
    def work(fmt: str) -> Response:
        center = _center(request)
        street = _street(center, _query(request))
        order_id = _order_id(token[len(TOKEN_PREFIX) :]) if token.startswith(TOKEN_PREFIX) else None
        order = _one_request(center, street, order_id, token)
        assert order.id is not None
        return render(fmt, "service_requests", [{"service_request_id": str(order.id), "token": token}])

    return _guard(fmt, work)


# --- creating a request ---------------------------------------------------------------------------


async def _body(request: Request) -> dict[str, list[str]]:
    """Form fields (urlencoded or multipart) or a JSON object, as name → values."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    out: dict[str, list[str]] = {}
    if kind == "application/json":
        try:
            data = json.loads(await request.body() or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise Open311Error(400, "请求体不是合法的 JSON") from None
        if not isinstance(data, dict):
            raise Open311Error(400, "JSON 请求体应为对象")
        for key, value in data.items():
            if key == "attribute" and isinstance(value, dict):
                for code, answer in value.items():
                    out[f"attribute[{code}]"] = _json_values(answer, f"attribute[{code}]")
            else:
                out[str(key)] = _json_values(value, str(key))
        return out
    if kind in ("application/x-www-form-urlencoded", "multipart/form-data", ""):
        try:
            form = await request.form()
        except Exception:  # a malformed multipart body
            raise Open311Error(400, "请求体格式错误：请用表单（application/x-www-form-urlencoded）") from None
        for key, value in form.multi_items():
            if isinstance(value, str):
                out.setdefault(key, []).append(value)
        return out
    raise Open311Error(400, f"不支持的内容类型 {kind[:60]}：请用表单或 JSON")


def _json_values(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [v for item in value for v in _json_values(item, name)]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, str | int | float):
        return [str(value)]
    raise Open311Error(400, f"参数 {name} 应为文字、数字或它们的列表")


def _answers(category: Category, params: Mapping[str, Sequence[str]]) -> list[str]:
    """Check the answers to the category's extra questions; each as "question：answer" text."""
    given: dict[str, list[str]] = {}
    for key, values in params.items():
        match = ATTRIBUTE_KEY.match(key)
        if match is not None:
            code = match.group(1)
            given.setdefault(code, []).extend(_clean(v, key) for v in values if v.strip())
    known = {a.code: a for a in category.attributes}
    extra = [code for code in given if code not in known]
    if extra:
        raise Open311Error(400, f"服务「{category.name}」没有附加问题 attribute[{extra[0][:40]}]")
    lines: list[str] = []
    for attribute in category.attributes:
        values = given.get(attribute.code, [])
        name = f"attribute[{attribute.code}]"
        if not values:
            if attribute.required:
                raise Open311Error(400, f"缺少必填的附加信息「{attribute.description}」（{name}）")
            continue
        lines.append(f"{attribute.description}：{_answer(attribute, values, name)}")
    return lines


def _answer(attribute: Attribute, values: list[str], name: str) -> str:
    if attribute.datatype in (Datatype.SINGLE, Datatype.MULTI):
        options = dict(attribute.values)
        if attribute.datatype is Datatype.SINGLE and len(values) > 1:
            raise Open311Error(400, f"附加信息「{attribute.description}」（{name}）只能选一项")
        wrong = [v for v in values if v not in options]
        if wrong:
            allowed = "、".join(f"{k}（{n}）" for k, n in attribute.values)
            raise Open311Error(
                400,
                f"附加信息「{attribute.description}」（{name}）的取值「{wrong[0][:40]}」无效，可选：{allowed}",
            )
        return "、".join(options[v] for v in dict.fromkeys(values))
    if len(values) > 1:
        raise Open311Error(400, f"附加信息「{attribute.description}」（{name}）只能填一个值")
    value = values[0]
    if attribute.datatype is Datatype.NUMBER:
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise Open311Error(
                400, f"附加信息「{attribute.description}」（{name}）应为数字，收到：{value[:40]}"
            )
    elif attribute.datatype is Datatype.DATETIME:
        value = _local(_parse_time(value, name)) or value
    if len(value) > MAX_ATTRIBUTE_TEXT:
        raise Open311Error(400, f"附加信息「{attribute.description}」不能超过 {MAX_ATTRIBUTE_TEXT} 字")
    return value


def _coordinate(value: str, name: str, limit: float) -> float:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or abs(number) > limit:
        raise Open311Error(
            400, f"{name} 应为 WGS-84 坐标（-{limit:g} 到 {limit:g} 的数字），收到：{value[:40]}"
        )
    return number


@dataclass(frozen=True)
class _Where:
    point: Point | None
    address: str | None


def _where(center: Center, street: str, params: Mapping[str, Sequence[str]]) -> _Where:
    lat, lon = _one(params, "lat"), _one(params, "long")
    address = _one(params, "address_string")
    address_id = _one(params, "address_id")
    if address is not None and len(address) > 200:
        raise Open311Error(400, "address_string 不能超过 200 字")
    if (lat is None) != (lon is None):
        raise Open311Error(400, "lat 与 long 须同时提供")
    if lat is not None and lon is not None:
        return _Where(Point(_coordinate(lon, "long", 180), _coordinate(lat, "lat", 90)), address)
    if address_id is not None:
        return _place(center, street, address_id, address)
    if address is not None:
        return _Where(None, address)
    raise Open311Error(400, "缺少位置：请提供 lat 和 long（WGS-84）、address_string 或 address_id")


def _place(center: Center, street: str, code: str, address: str | None) -> _Where:
    """Where a building or point of interest of the street is (Open311's address_id)."""
    with center.uow() as uow:
        try:
            place = uow.places.get(street, code)
        except NotFound:
            raise Open311Error(400, f"address_id「{code[:40]}」不是本街道的楼栋或地点编码") from None
    if place.kind not in (PlaceKind.BUILDING, PlaceKind.POI):
        raise Open311Error(400, f"address_id「{code[:40]}」不是本街道的楼栋或地点编码")
    coordinates = place.geometry.get("coordinates")
    point = None
    if place.geometry.get("type") == "Point" and isinstance(coordinates, list | tuple):
        point = Point(float(coordinates[0]), float(coordinates[1]))
    return _Where(point, address or str(place.props.get("address") or place.name))


def _complainant(params: Mapping[str, Sequence[str]]) -> Contact | None:
    name = "".join(filter(None, (_one(params, "last_name"), _one(params, "first_name"))))
    phone, email = _one(params, "phone"), _one(params, "email")
    if len(name) > 50:
        raise Open311Error(400, "姓名不能超过 50 字")
    if phone is not None and not PHONE.match(phone):
        raise Open311Error(400, f"phone 不是有效的电话号码：{phone[:30]}")
    if email is not None and not EMAIL.match(email):
        raise Open311Error(400, f"email 不是有效的电子邮箱：{email[:60]}")
    if phone is None and email is None:
        return None  # nobody to call back: the name alone is not kept
    # The order keeps one contact channel: the phone, else the e-mail address.
    return Contact(name, phone or email or "")


def _media(params: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    url = _one(params, "media_url")
    if url is None:
        return ()
    if not re.match(r"^https?://[^\s/]+\S*$", url) or len(url) > 2000:
        raise Open311Error(400, "media_url 应为 http(s) 地址")
    return (url,)


async def _authenticate(center: Center, params: Mapping[str, Sequence[str]]) -> Actor:
    api_key = _one(params, "api_key")
    if api_key is None:
        raise Open311Error(403, "缺少 api_key：提交诉求需要城运中心签发的 api_key")
    try:
        actor = center.auth.authenticate_cached(api_key)
        if actor is None:
            actor = await run_in_threadpool(center.auth.authenticate, api_key)
    except Unauthenticated as exc:
        raise Open311Error(403, f"api_key 无效：{exc.message}") from None
    return actor


def _create(center: Center, actor: Actor, params: Mapping[str, Sequence[str]]) -> list[dict[str, Any]]:
    street = _street(center, params, actor)
    code = _one(params, "service_code")
    if code is None:
        raise Open311Error(400, "缺少 service_code：可用的服务见 services.json")
    category = _category(center, street, code, 400)
    where = _where(center, street, params)
    lines = _answers(category, params)
    text = _one(params, "description") or f"市民报告：{category.name}"
    if lines:
        text = f"{text}\n【附加信息】" + "；".join(lines)
    if len(text) > MAX_TEXT:
        raise Open311Error(400, f"description（含附加信息）不能超过 {MAX_TEXT} 字")
    command = NewOrder(
        source="citizen_app",
        category=category.code,
        description=text,
        street=street,
        point=where.point,
        address=where.address,
        complainant=_complainant(params),
        attachments=_media(params),
    )
    order = center.orders.create(actor, command).order
    assert order.id is not None
    policy = center.orders.policies(street).get(order.policy_code)
    return [
        {
            "service_request_id": str(order.id),
            "token": token_of(order.id),
            "service_notice": f"已受理，诉求编号 {order.id}。{_notice(policy)}",
            "account_id": _one(params, "account_id"),
        }
    ]


@router.post("/requests.{fmt}", summary="提交诉求（需 api_key）")
async def create_request(request: Request, fmt: str) -> Response:
    if fmt not in FORMATS:
        return error_response(fmt, 404, f"不支持的格式「.{fmt[:20]}」：请使用 .json 或 .xml")
    try:
        center = _center(request)
        params = _query(request) | await _body(request)
        actor = await _authenticate(center, params)
        created = await run_in_threadpool(_create, center, actor, params)
    except Open311Error as exc:
        return error_response(fmt, exc.status, exc.description)
    except DomainError as exc:
        return _refusal(fmt, exc)
    return render(fmt, "service_requests", created)


# --- anything else under the prefix ---------------------------------------------------------------

KNOWN = re.compile(r"^(discovery|services|requests|services?/[^/]+|requests/[^/]+|tokens/[^/]+)\.\w+$")


@router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
def elsewhere(request: Request, rest: str) -> Response:
    fmt = "xml" if rest.endswith(".xml") else "json"
    if KNOWN.match(rest):
        return error_response(fmt, 405, f"{PREFIX}/{rest[:80]} 不支持 {request.method} 请求")
    return error_response(fmt, 404, f"没有这个 Open311 接口：{PREFIX}/{rest[:80]}（见 discovery.json）")


__all__ = ["expected_at", "router", "token_of"]

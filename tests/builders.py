"""Quick builders of domain objects for tests: sensible defaults, override what the test is about."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from chengyun.domain.geo import Point
from chengyun.domain.orders import Contact, Location, Source, Who, WorkOrder
from chengyun.domain.places import Place, PlaceKind
from chengyun.domain.severity import Colour
from chengyun.domain.sla import DEFAULT_POLICIES, DeadlinePolicy
from chengyun.domain.staff import ABPair, Department, DepartmentKind, Post, Shift, Staff
from chengyun.services.ports import TokenRecord

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=SHANGHAI)  # a Wednesday morning; 01:00 UTC
STREET = "nanjingxi"
OTHER_STREET = "jingansi"
POLICY: DeadlinePolicy = DEFAULT_POLICIES.get("51530")
RED_POLICY: DeadlinePolicy = DEFAULT_POLICIES.get("51530-red")

CLERK = Who("h1", "王受理")
MANAGER = Who("m1", "李专管")
PARTNER = Who("m2", "赵搭档")
DIRECTOR = Who("d1", "陈主任")


def at(minutes: float) -> datetime:
    """T0 plus some minutes."""
    return T0 + timedelta(minutes=minutes)


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def an_order(
    *,
    street: str = STREET,
    now: datetime = T0,
    category: str = "100101",
    description: str = "人行道上井盖缺失，有行人绊倒风险",
    colour: Colour = Colour.YELLOW,
    area: str | None = "a1",
    point: Point | None = None,
    address: str | None = "南京西路 1 号",
    source: Source = Source.HOTLINE,
    complainant: Contact | None = None,
    attachments: tuple[str, ...] = (),
    external_id: str | None = None,
    policy: DeadlinePolicy = POLICY,
) -> WorkOrder:
    return WorkOrder.receive(
        street=street,
        source=source,
        category=category,
        description=description,
        location=Location(point or Point(121.4737, 31.2304), address, area, "g1" if area else None, None),
        colour=colour,
        policy=policy,
        now=now,
        by=CLERK,
        complainant=complainant if complainant is not None else Contact("张三", "13800001234"),
        attachments=attachments,
        external_id=external_id,
    )


def dispatched(order: WorkOrder, now: datetime | None = None, to: Who = MANAGER) -> WorkOrder:
    order.dispatch(now or order.received_at + timedelta(minutes=1), CLERK, to)
    return order


def a_place(
    code: str = "a1",
    kind: PlaceKind = PlaceKind.AREA,
    name: str = "静安居民区",
    parent: str | None = STREET,
    street: str = STREET,
    props: dict[str, object] | None = None,
) -> Place:
    ring = [[121.47, 31.23], [121.48, 31.23], [121.48, 31.24], [121.47, 31.24], [121.47, 31.23]]
    return Place(code, kind, name, street, parent, {"type": "Polygon", "coordinates": [ring]}, props or {})


def a_department(code: str = "chengyun", name: str = "城运中心", street: str = STREET) -> Department:
    return Department(code, name, DepartmentKind.INTERNAL, street)


def a_staff(
    staff_id: str = "m1",
    name: str = "李专管",
    posts: frozenset[Post] = frozenset({Post.AREA_MANAGER}),
    street: str = STREET,
    active: bool = True,
    phone: str = "13900001111",
) -> Staff:
    return Staff(staff_id, name, phone, "chengyun", posts, street, active)


def a_pair(area: str = "a1", a: str = "m1", b: str = "m2", street: str = STREET) -> ABPair:
    return ABPair(area, a, b, 7, date(2026, 1, 5), street)


def a_shift(
    staff: str = "m1",
    start: datetime = T0,
    hours: float = 8,
    post: Post = Post.AREA_MANAGER,
    street: str = STREET,
    area: str | None = "a1",
) -> Shift:
    return Shift(staff, post, start, start + timedelta(hours=hours), street, area)


def a_token(
    token_id: str = "t1",
    role: str = "area_manager",
    streets: frozenset[str] = frozenset({STREET}),
    staff_id: str | None = "m1",
    created_at: datetime = T0,
    expires_at: datetime | None = None,
) -> TokenRecord:
    return TokenRecord(token_id, role, streets, staff_id, "李专管", created_at, expires_at)


# A category a street adds to its catalogue, and the texts it teaches the classifier with.
DOG = {"code": "990001", "name": "犬只伤人", "kind": "matter", "major": "12345诉求", "department": "police"}
DOG_TEXTS = [
    "小区里一条大狼狗把人咬伤了，小腿流血",
    "被邻居家的狗咬了一口，要打狂犬疫苗",
    "有条没拴绳的大狗扑上来咬了我家孩子",
    "遛狗不牵绳，狗把路过的老人咬伤",
    "流浪狗咬人，已经咬伤两个小孩",
]

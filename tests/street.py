"""A small test street (two areas, their people and a day's roster) and a center to run it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from chengyun.bootstrap import Center
from chengyun.domain.access import Actor, Role
from chengyun.domain.events import OrderEvent
from chengyun.domain.orders import Contact
from chengyun.services.orders import NewOrder

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=CST)  # a Wednesday morning
STREET = "T"
ADMIN = Actor(Role.ADMIN, frozenset({STREET}), None, "测试管理员", "t-admin")


def _square(lon: float, lat: float, size: float) -> list[list[list[float]]]:
    return [[[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]]


def _feature(
    kind: str, code: str, parent: str | None, coordinates: object, gtype: str = "Polygon", **props: object
) -> dict[str, object]:
    return {
        "type": "Feature",
        "geometry": {"type": gtype, "coordinates": coordinates},
        "properties": {
            "kind": kind,
            "code": code,
            "name": props.pop("name", code),
            "parent": parent,
            **props,
        },
    }


# A street of two areas side by side (west A1, east A2), each one grid with two buildings.
PLACES = {
    "type": "FeatureCollection",
    "features": [
        _feature("street", STREET, None, _square(121.440, 31.220, 0.010), name="测试街道", district="静安区"),
        _feature(
            "area",
            "A1",
            STREET,
            [[[121.440, 31.220], [121.445, 31.220], [121.445, 31.230], [121.440, 31.230], [121.440, 31.220]]],
            name="嘉园居民区",
            committee="嘉园居委会",
        ),
        _feature(
            "area",
            "A2",
            STREET,
            [[[121.445, 31.220], [121.450, 31.220], [121.450, 31.230], [121.445, 31.230], [121.445, 31.220]]],
            name="华山居民区",
        ),
        _feature(
            "grid",
            "A1-G1",
            "A1",
            [[[121.440, 31.220], [121.445, 31.220], [121.445, 31.230], [121.440, 31.230], [121.440, 31.220]]],
        ),
        _feature(
            "grid",
            "A2-G1",
            "A2",
            [[[121.445, 31.220], [121.450, 31.220], [121.450, 31.230], [121.445, 31.230], [121.445, 31.220]]],
        ),
        _feature(
            "building",
            "B1",
            "A1-G1",
            [121.4420, 31.2250],
            "Point",
            name="608弄6号",
            address="愚园路608弄6号",
            area="A1",
        ),
        _feature(
            "building",
            "B2",
            "A2-G1",
            [121.4470, 31.2250],
            "Point",
            name="南京西路1618号",
            address="南京西路1618号",
            area="A2",
        ),
    ],
}
DEPARTMENTS = "code,name,kind\nchengyun,城运中心,internal\nfangban,房办,internal\nshirong,市容所,internal\n"
STAFF = """id,name,phone,department,posts
M1,李思远,13900000001,chengyun,area_manager|hotline_handler
M2,陆佳颖,13900000002,chengyun,area_manager|hotline_handler
M3,王建国,13900000003,fangban,area_manager|hotline_handler
M4,赵敏,13900000004,shirong,area_manager|hotline_handler
H1,孙丽,13900000005,chengyun,hotline_handler
O1,周强,13900000006,chengyun,duty_officer
O2,吴刚,13900000007,chengyun,duty_officer
D1,张燕芬,13900000008,chengyun,director
R1,钱进,13900000009,chengyun,chief_responder
P1,冯巡,13900000010,shirong,patrol_observer
"""
# A/B: anchored on the test week so M1 and M3 are A on T0's day.
PAIRS = "area,a_staff,b_staff,swap_every_days,anchor_date\nA1,M1,M2,14,2026-11-23\nA2,M3,M4,14,2026-11-23\n"


def roster_csv(day: datetime) -> str:
    """One day around T0: M1 on shift until 12:00 only, M2 after; both A2 people all day."""
    d = day.date().isoformat()
    rows = [
        ("M1", "area_manager", "07:00", "12:00", "A1"),
        ("M2", "hotline_handler", "07:00", "12:00", ""),
        ("M2", "area_manager", "12:00", "22:00", "A1"),
        ("M3", "area_manager", "07:00", "22:00", "A2"),
        ("M4", "hotline_handler", "07:00", "22:00", ""),
        ("H1", "hotline_handler", "07:00", "22:00", ""),
        ("O1", "duty_officer", "08:00", "16:00", ""),
        ("O2", "duty_officer", "16:00", "23:59", ""),
        ("D1", "director", "09:00", "18:00", ""),
    ]
    lines = ["staff,post,start,end,area"]
    lines += [f"{s},{p},{d}T{a}:00+08:00,{d}T{b}:00+08:00,{area}" for s, p, a, b, area in rows]
    return "\n".join(lines) + "\n"


def load_street(center: Center) -> None:
    directory = center.directory
    directory.import_places(ADMIN, STREET, PLACES)
    directory.import_departments(ADMIN, STREET, DEPARTMENTS)
    directory.import_staff(ADMIN, STREET, STAFF)
    directory.import_pairs(ADMIN, STREET, PAIRS)
    directory.import_roster(ADMIN, STREET, roster_csv(T0))


class Recorder:
    """Collects published events, as the screen would see them."""

    def __init__(self) -> None:
        self.events: list[OrderEvent] = []

    def __call__(self, events: object) -> None:
        assert isinstance(events, list | tuple)
        self.events.extend(events)

    def kinds(self, order_id: int | None = None) -> list[str]:
        return [e.kind for e in self.events if order_id is None or e.order_id == order_id]


def person(role: Role, staff: str | None = None, name: str = "") -> Actor:
    return Actor(role, frozenset({STREET}), staff, name or staff or role.label, f"t-{staff or role.value}")


def tile(**changes: object) -> NewOrder:
    """The issue's example 12345 call (loose paving at B1, 愚园路608弄6号); override what a test is about."""
    values: dict[str, object] = {
        "source": "hotline",
        "category": "200101",
        "description": "商场门口人行道大理石地砖翘起，我晚上路过绊倒了手臂受伤",
        "address": "愚园路608弄6号",
        "complainant": Contact("唐女士", "13812345678"),
    }
    values.update(changes)
    return NewOrder(**values)  # type: ignore[arg-type]

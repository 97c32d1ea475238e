"""The digital twin's base (数字孪生底座): one query service over places, people on duty and their last
positions, sensors with their live state, open orders and active alarms.

Three questions and a snapshot: what is happening in and around a place (`around`), who is nearest to a
point and free (`nearest`), what is the state of an area now (`area`), and everything at once as GeoJSON
stamped with the time it describes (`snapshot`). Every answer is read fresh from the store: it shows the
street as it is at the clock's `now`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chengyun.domain.access import READERS, Actor, require_role, require_street
from chengyun.domain.alarms import Alarm, AlarmState
from chengyun.domain.calendar import local_date
from chengyun.domain.errors import InvalidInput, NotFound
from chengyun.domain.geo import Point
from chengyun.domain.orders import LIVE_STATES, WorkOrder
from chengyun.domain.places import Place, PlaceKind
from chengyun.domain.sensors import Sensor
from chengyun.domain.twin import Counts, Nearby, PersonNow, Region, centre, feature, metres, nearest
from chengyun.services.ports import AlarmQuery, Clock, OrderQuery, SensorLive, UnitOfWork, UnitOfWorkFactory
from chengyun.services.routing import FIELD_POSTS, POSITION_FRESH

LAYERS = ("places", "staff", "sensors", "orders", "alarms")
DEFAULT_LAYERS = ("staff", "sensors", "orders", "alarms")
SILENT_AFTER = 3  # reporting intervals without a reading
PAGE = 1000
MAX_RADIUS_M = 2000.0


@dataclass(frozen=True)
class SensorNow:
    sensor: Sensor
    live: SensorLive | None
    silent: bool


@dataclass(frozen=True)
class Around:
    """What is happening in and around a place."""

    at: datetime
    place: Place
    area: str | None
    radius_m: float
    sensors: list[tuple[SensorNow, float]]  # with their distance
    orders: list[tuple[WorkOrder, float]]
    alarms: list[tuple[Alarm, float]]
    people: list[Nearby]
    counts: Counts


@dataclass(frozen=True)
class AreaNow:
    at: datetime
    place: Place
    managers: tuple[str | None, str | None]  # today's A and B
    people: list[PersonNow]
    counts: Counts
    orders: list[WorkOrder]
    alarms: list[Alarm]


class TwinService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, walk_m_per_min: float = 70.0) -> None:
        self._uow = uow
        self._clock = clock
        self._walk = walk_m_per_min

    # --- the questions -------------------------------------------------------------------------------

    def around(self, actor: Actor, street: str, code: str, radius_m: float = 150.0) -> Around:
        """Sensors, open orders, active alarms and free staff within `radius_m` of a place (a building,
        a landmark, a grid or an area: its centre), nearest first."""
        self._may_read(actor, street)
        if not 0 < radius_m <= MAX_RADIUS_M:
            raise InvalidInput(f"半径应在 0 到 {MAX_RADIUS_M:g} 米之间", radius=radius_m)
        now = self._clock.now()
        with self._uow() as uow:
            place = self._place(uow, street, code)
            here = centre(place.geometry)
            sensors = [
                (s, d) for s in uow.sensors.list(street) if (d := metres(s.location, here)) <= radius_m
            ]
            states = self._sensor_states(uow, [s for s, _ in sensors], now)
            orders = [(o, d) for o in self._open_orders(uow, street) if (d := _distance(o, here)) <= radius_m]
            alarms = [
                (a, d)
                for a in self._active_alarms(uow, street)
                if (d := _alarm_distance(a, sensors)) <= radius_m
            ]
            people = self._people(uow, street, now)
            area = self._area_of(uow, place)
        counts = _count((o for o, _ in orders), (a for a, _ in alarms), states, now)
        return Around(
            now,
            place,
            area,
            radius_m,
            sorted(((states[s.id], d) for s, d in sensors), key=lambda x: (x[1], x[0].sensor.id)),
            sorted(orders, key=lambda x: (x[1], x[0].id or 0)),
            sorted(alarms, key=lambda x: (x[1], x[0].id or 0)),
            nearest(people, here, False, self._walk, 10),
            counts,
        )

    def nearest(
        self, actor: Actor, street: str, point: Point, free_only: bool = True, limit: int = 5
    ) -> tuple[datetime, list[Nearby]]:
        """Field workers on shift with a fresh position, nearest to `point` by walking distance."""
        self._may_read(actor, street)
        if not 1 <= limit <= 100:
            raise InvalidInput("limit 应在 1 到 100 之间", limit=limit)
        now = self._clock.now()
        with self._uow() as uow:
            people = self._people(uow, street, now)
        return now, nearest(people, point, free_only, self._walk, limit)

    def area(self, actor: Actor, street: str, code: str) -> AreaNow:
        """An area's open orders, active alarms, sensors, and who is on shift there now."""
        self._may_read(actor, street)
        now = self._clock.now()
        with self._uow() as uow:
            place = self._place(uow, street, code)
            if place.kind is not PlaceKind.AREA:
                raise InvalidInput(f"{code} 是{place.kind.label}，不是居民区", code="not_an_area", place=code)
            region = Region(place.geometry)
            sensors = [s for s in uow.sensors.list(street) if region.contains(s.location)]
            states = self._sensor_states(uow, sensors, now)
            orders = [o for o in self._open_orders(uow, street) if o.location.area == code]
            ids = {s.id for s in sensors}
            alarms = [a for a in self._active_alarms(uow, street) if a.sensor_id in ids]
            people = [
                p
                for p in self._people(uow, street, now)
                if p.area == code or (p.position and region.contains(p.position))
            ]
            pair = uow.people.pair_for_area(street, code)
        managers = pair.roles_on(local_date(now)) if pair else (None, None)
        return AreaNow(now, place, managers, people, _count(orders, alarms, states, now), orders, alarms)

    def snapshot(self, actor: Actor, street: str, layers: Sequence[str] = DEFAULT_LAYERS) -> dict[str, Any]:
        """The street now as one GeoJSON FeatureCollection, each feature's layer in its properties, with
        the time it describes (`timestamp`)."""
        self._may_read(actor, street)
        unknown = [layer for layer in layers if layer not in LAYERS]
        if unknown or not layers:
            raise InvalidInput(
                f"图层应为 {', '.join(LAYERS)} 中的一个或多个", code="unknown_layer", layers=unknown
            )
        now = self._clock.now()
        features: list[dict[str, Any]] = []
        with self._uow() as uow:
            if not uow.places.list(street, PlaceKind.STREET):
                raise NotFound(f"街道 {street} 不存在", street=street)
            if "places" in layers:
                for p in uow.places.list(street):
                    place = p.as_feature()
                    place["properties"] = {"layer": "places", **place["properties"]}
                    features.append(place)
            if "staff" in layers:
                features += [
                    feature(p.position, "staff", _person(p))
                    for p in self._people(uow, street, now)
                    if p.position
                ]
            sensors = uow.sensors.list(street) if "sensors" in layers or "alarms" in layers else []
            if "sensors" in layers:
                states = self._sensor_states(uow, sensors, now)
                features += [feature(s.location, "sensors", _sensor(states[s.id])) for s in sensors]
            if "orders" in layers:
                features += [
                    feature(o.location.point, "orders", _order(o, now))
                    for o in self._open_orders(uow, street)
                    if o.location.point
                ]
            if "alarms" in layers:
                where = {s.id: s.location for s in sensors}
                features += [
                    feature(where[a.sensor_id], "alarms", _alarm(a))
                    for a in self._active_alarms(uow, street)
                    if a.sensor_id in where
                ]
        return {
            "type": "FeatureCollection",
            "timestamp": now.isoformat(),
            "street": street,
            "layers": list(layers),
            "features": features,
        }

    # --- reading the store ---------------------------------------------------------------------------

    def _may_read(self, actor: Actor, street: str) -> None:
        require_role(actor, READERS, "查看数字孪生底座")
        require_street(actor, street)

    def _place(self, uow: UnitOfWork, street: str, code: str) -> Place:
        try:
            return uow.places.get(street, code)
        except NotFound:
            raise NotFound(f"地点 {code} 不存在", place=code) from None

    def _area_of(self, uow: UnitOfWork, place: Place) -> str | None:
        seen = 0
        while place.kind is not PlaceKind.AREA and place.parent is not None and seen < 5:
            try:
                place = uow.places.get(place.street, place.parent)
            except NotFound:
                return None
            seen += 1
        return place.code if place.kind is PlaceKind.AREA else None

    def _open_orders(self, uow: UnitOfWork, street: str) -> list[WorkOrder]:
        out: list[WorkOrder] = []
        offset = 0
        while True:
            page = uow.orders.search(
                OrderQuery(street=street, states=sorted(LIVE_STATES), limit=PAGE, offset=offset)
            )
            out += page.items
            offset += PAGE
            if offset >= page.total:
                return out

    def _active_alarms(self, uow: UnitOfWork, street: str) -> list[Alarm]:
        out: list[Alarm] = []
        offset = 0
        states = [s for s in AlarmState if s.active]
        while True:
            alarms, total = uow.sensors.search_alarms(
                AlarmQuery(street=street, states=states, limit=PAGE, offset=offset)
            )
            out += alarms
            offset += PAGE
            if offset >= total:
                return out

    def _sensor_states(
        self, uow: UnitOfWork, sensors: Sequence[Sensor], now: datetime
    ) -> dict[str, SensorNow]:
        live = uow.sensors.live([s.id for s in sensors], lock=False) if sensors else {}
        out = {}
        for s in sensors:
            state = live.get(s.id)
            last = state.last_ts if state else None
            silent = last is None or now - last > s.period * SILENT_AFTER
            out[s.id] = SensorNow(s, state, silent)
        return out

    def _people(self, uow: UnitOfWork, street: str, now: datetime) -> list[PersonNow]:
        staff = {s.id: s for s in uow.people.staff(street) if s.active}
        shifts = uow.people.on_duty(street, now)
        positions = uow.people.positions(street, now - POSITION_FRESH)
        counts = uow.orders.open_counts(street)
        on: dict[str, list[str]] = {}
        areas: dict[str, str | None] = {}
        for shift in shifts:
            on.setdefault(shift.staff, []).append(shift.post.value)
            if shift.area:
                areas[shift.staff] = shift.area
        out = []
        for staff_id, posts in sorted(on.items()):
            person = staff.get(staff_id)
            if person is None:
                continue
            where = positions.get(staff_id)
            out.append(
                PersonNow(
                    staff_id,
                    person.name,
                    tuple(posts),
                    areas.get(staff_id),
                    where[0] if where else None,
                    where[1] if where else None,
                    counts.get(staff_id, 0),
                    bool(person.posts & FIELD_POSTS),  # as routing counts them
                )
            )
        return out


def _distance(order: WorkOrder, here: Point) -> float:
    return metres(order.location.point, here) if order.location.point else float("inf")


def _alarm_distance(alarm: Alarm, sensors: Iterable[tuple[Sensor, float]]) -> float:
    for sensor, d in sensors:
        if sensor.id == alarm.sensor_id:
            return d
    return float("inf")


def _count(
    orders: Iterable[WorkOrder], alarms: Iterable[Alarm], sensors: dict[str, SensorNow], now: datetime
) -> Counts:
    counts = Counts()
    states: Counter[str] = Counter()
    colours: Counter[str] = Counter()
    for o in orders:
        states[o.state.value] += 1
        colours[o.colour.value] += 1
        counts.overdue += o.is_overdue(now)
    counts.orders_by_state, counts.orders_by_colour = dict(states), dict(colours)
    counts.alarms_by_colour = dict(Counter(a.colour.value for a in alarms))
    counts.sensors_by_kind = dict(Counter(s.sensor.kind.value for s in sensors.values()))
    counts.sensors_silent = sum(1 for s in sensors.values() if s.silent)
    return counts


def _person(p: PersonNow) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "posts": list(p.posts),
        "area": p.area,
        "seen_at": p.seen_at.isoformat() if p.seen_at else None,
        "open_orders": p.open_orders,
        "free": p.free,
    }


def _sensor(s: SensorNow) -> dict[str, Any]:
    return {
        "id": s.sensor.id,
        "kind": s.sensor.kind.value,
        "label": s.sensor.kind.label,
        "watches": s.sensor.watches,
        "last_ts": s.live.last_ts.isoformat() if s.live and s.live.last_ts else None,
        "values": dict(s.live.values) if s.live else {},
        "silent": s.silent,
    }


def _order(o: WorkOrder, now: datetime) -> dict[str, Any]:
    return {
        "id": o.id,
        "category": o.category,
        "colour": o.colour.value,
        "state": o.state.value,
        "area": o.location.area,
        "assignee": o.assignee,
        "received_at": o.received_at.isoformat(),
        "overdue": o.is_overdue(now),
    }


def _alarm(a: Alarm) -> dict[str, Any]:
    return {
        "id": a.id,
        "sensor_id": a.sensor_id,
        "rule_id": a.rule_id,
        "colour": a.colour.value,
        "state": a.state.value,
        "raised_at": a.raised_at.isoformat(),
        "reason": a.reason,
        "order_id": a.order_id,
    }

"""The wall screen's reads: the street's figures, its live orders and its sensors, each computed by the
domain (domain/overview.py) from one read of the store and kept a moment, since every screen on the
wall asks after every event."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from chengyun.domain.access import READERS, Actor, require_role, require_street
from chengyun.domain.alarms import Alarm, AlarmState
from chengyun.domain.calendar import SHANGHAI
from chengyun.domain.overview import (
    USUAL_DAYS,
    AreaFigures,
    Compliance,
    Counters,
    Hourly,
    OrderFacts,
    SensorHealth,
    SensorPoint,
    area_figures,
    compliance,
    counters,
    day_start,
    hourly,
    sensor_health,
    week_start,
)
from chengyun.domain.places import Place, PlaceKind
from chengyun.services.ports import AlarmQuery, Clock, UnitOfWorkFactory

MAX_ACTIVE_ALARMS = 5000


@dataclass(frozen=True)
class AreaRow:
    """An area's figures with what the screen shows beside them."""

    figures: AreaFigures
    name: str
    a_staff: str | None  # who serves the area as A today, and B
    b_staff: str | None


@dataclass(frozen=True)
class Overview:
    at: datetime
    event_id: int  # the newest timeline entry the figures count
    counters: Counters
    today: list[Compliance]
    week: list[Compliance]
    hourly: Hourly
    areas: list[AreaRow]


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one read of the layer
class SensorLayer:
    at: datetime
    stamp: int  # the newest alarm event when it was read
    points: list[SensorPoint]  # places; their `last_ts` may be older than `health`, which is current
    health: SensorHealth
    alarms: list[Alarm]  # active, newest first


@dataclass(frozen=True)
class _Snapshot:
    at: datetime
    stamp: int  # the newest timeline entry when it was read
    orders: list[OrderFacts]
    history: list[datetime]
    areas: list[Place]
    roles: dict[str, tuple[str, str]]  # area → (A, B) today


class OverviewService:
    """Reads are kept while nothing has happened since: no new timeline entry (or alarm event), at
    most TTL_S real seconds and CLOCK_TTL of the center's clock (deadlines pass as time goes by).
    Screens refresh after every event; many screens and bursts of events then share one read."""

    TTL_S = 2.0
    SENSORS_TTL_S = 5.0
    CLOCK_TTL = timedelta(seconds=30)

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock
        self._snapshots: dict[str, tuple[float, _Snapshot]] = {}
        self._layers: dict[str, tuple[float, SensorLayer]] = {}
        self._places: dict[str, tuple[int, list[SensorPoint]]] = {}  # street → (registry stamp, points)
        self._lock = threading.Lock()

    def overview(self, actor: Actor, street: str) -> Overview:
        snap = self._snapshot(actor, street)
        now = snap.at
        areas = area_figures(snap.orders, [p.code for p in snap.areas], now)
        names = {p.code: p.name for p in snap.areas}
        rows = []
        for f in areas:
            a, b = snap.roles.get(f.code, (None, None))
            rows.append(AreaRow(f, names[f.code], a, b))
        today_start = day_start(now)
        return Overview(
            at=now,
            event_id=snap.stamp,
            counters=counters(snap.orders, now),
            today=compliance(snap.orders, today_start, now),
            week=compliance(snap.orders, week_start(now), now),
            hourly=hourly(
                (o.received_at for o in snap.orders if o.received_at >= today_start), snap.history, now
            ),
            areas=rows,
        )

    def live_orders(self, actor: Actor, street: str) -> tuple[datetime, list[OrderFacts]]:
        """The orders someone still owes work on, most urgent first (the map's markers)."""
        snap = self._snapshot(actor, street)
        live = [o for o in snap.orders if o.live]
        far = snap.at + timedelta(days=3650)
        live.sort(key=lambda o: (o.next_due_at or far, o.id))
        return snap.at, live

    def sensors(self, actor: Actor, street: str) -> SensorLayer:
        _may_read(actor, street)
        now = self._clock.now()
        with self._uow() as uow:
            stamp = uow.sensors.last_alarm_event_id()
            with self._lock:
                hit = self._layers.get(street)
            if hit is not None and self._fresh(
                hit[0], hit[1].at, hit[1].stamp, stamp, now, self.SENSORS_TTL_S
            ):
                return hit[1]
            # The sensors' places change with the registry only: kept per street between its changes;
            # each read takes the newest reading times alone (one array on PostgreSQL).
            registry = uow.sensors.registry_stamp()
            with self._lock:
                places = self._places.get(street)
            seen: list[int | None] | None = None
            if places is not None and places[0] == registry:
                points = places[1]
                seen = uow.sensors.last_seen(street)
                if len(seen) != len(points):  # the registry changed between the two reads
                    seen = None
                    points = uow.sensors.points(street)
            else:
                points = uow.sensors.points(street)
                with self._lock:
                    self._places[street] = (registry, points)
            alarms, _ = uow.sensors.search_alarms(
                AlarmQuery(
                    street=street,
                    states=(AlarmState.RAISED, AlarmState.ACKNOWLEDGED),
                    limit=MAX_ACTIVE_ALARMS,
                )
            )
        layer = SensorLayer(now, stamp, points, sensor_health(points, alarms, now, seen), alarms)
        with self._lock:
            self._layers[street] = (time.monotonic(), layer)
        return layer

    def _snapshot(self, actor: Actor, street: str) -> _Snapshot:
        _may_read(actor, street)
        now = self._clock.now()
        today = day_start(now)
        since = min(week_start(now), today)
        with self._uow() as uow:
            stamp = uow.orders.last_event_id()
            with self._lock:
                hit = self._snapshots.get(street)
            if hit is not None and self._fresh(hit[0], hit[1].at, hit[1].stamp, stamp, now, self.TTL_S):
                return hit[1]
            orders = uow.orders.overview_facts(street, since)
            history = uow.orders.received_times(street, today - timedelta(days=USUAL_DAYS), today)
            areas = uow.places.list(street, PlaceKind.AREA)
            pairs = uow.people.pairs(street)
            names = {s.id: s.name for s in uow.people.staff(street)}
        day = now.astimezone(SHANGHAI).date()
        roles: dict[str, tuple[str, str]] = {}
        for pair in pairs:
            a, b = pair.roles_on(day)
            roles[pair.area] = (names.get(a, a), names.get(b, b))
        snap = _Snapshot(now, stamp, orders, history, sorted(areas, key=lambda p: p.code), roles)
        with self._lock:
            self._snapshots[street] = (time.monotonic(), snap)
        return snap

    def _fresh(self, read: float, at: datetime, stamp: int, latest: int, now: datetime, ttl: float) -> bool:
        return stamp == latest and time.monotonic() - read < ttl and abs(now - at) < self.CLOCK_TTL


def _may_read(actor: Actor, street: str) -> None:
    require_role(actor, READERS, "查看大屏数据")
    require_street(actor, street)

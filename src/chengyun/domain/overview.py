"""The wall screen's figures (一屏观全域): today's counters, 51530 compliance per stage, orders per hour
against the usual day, the areas' ranking and the sensors' health, as pure functions of a few facts.

"Today" and "this week" are local (Asia/Shanghai) days: the week starts on Monday. A stage counts
towards compliance once it is *decided*: done (on time if by its deadline) or past its deadline
while still pending (late). Stages not yet due are not counted, so a quiet morning is not 100 %.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from chengyun.domain.alarms import Alarm
from chengyun.domain.calendar import SHANGHAI
from chengyun.domain.geo import Point
from chengyun.domain.orders import LIVE_STATES, Group, OrderState, Source
from chengyun.domain.sensors import SensorKind
from chengyun.domain.severity import Colour
from chengyun.domain.sla import STAGES, Stage

USUAL_DAYS = 28  # the usual day is the mean of at most this many previous days
OFFLINE_FACTOR = 3.0  # a sensor silent for this many reporting intervals counts as offline


@dataclass(frozen=True, slots=True)
class StageFact:
    stage: Stage
    due_at: datetime
    done_at: datetime | None

    def decided(self, now: datetime) -> bool:
        return self.done_at is not None or now > self.due_at

    def on_time(self) -> bool:
        return self.done_at is not None and self.done_at <= self.due_at


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What the screen needs of one order (read without building the whole WorkOrder)."""

    id: int
    source: Source
    category: str
    colour: Colour
    state: OrderState
    area: str | None
    point: Point | None
    address: str | None
    assignee: str | None
    received_at: datetime
    next_due_at: datetime | None
    stages: tuple[StageFact, ...] = ()

    @property
    def live(self) -> bool:
        return self.state in LIVE_STATES

    def overdue(self, now: datetime) -> bool:
        return self.live and self.next_due_at is not None and now > self.next_due_at

    def loop_closed_at(self) -> datetime | None:
        for stage in self.stages:
            if stage.stage is Stage.CLOSE:
                return stage.done_at
        return None


def day_start(now: datetime) -> datetime:
    """Local midnight of `now`'s day, as an aware datetime."""
    return datetime.combine(now.astimezone(SHANGHAI).date(), time(), SHANGHAI)


def week_start(now: datetime) -> datetime:
    """Local midnight of the Monday of `now`'s week."""
    today = now.astimezone(SHANGHAI).date()
    return datetime.combine(today - timedelta(days=today.weekday()), time(), SHANGHAI)


# --- counters -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counters:
    received: int  # today
    by_source: dict[Source, int]  # today, every source (zero included)
    by_colour: dict[Colour, int]  # today, every colour
    live: int  # open now, whatever day they came in (open and handled groups)
    overdue: int  # of those, past a deadline now
    suspended: int  # on the long-term problem list (挂账)
    closed: int  # loop closed today
    live_by_colour: dict[Colour, int]


def counters(orders: Iterable[OrderFacts], now: datetime) -> Counters:
    start = day_start(now)
    by_source = dict.fromkeys(Source, 0)
    by_colour = dict.fromkeys(Colour, 0)
    live_by_colour = dict.fromkeys(Colour, 0)
    received = live = overdue = suspended = closed = 0
    for order in orders:
        if order.received_at >= start:
            received += 1
            by_source[order.source] += 1
            by_colour[order.colour] += 1
        if order.live:
            live += 1
            live_by_colour[order.colour] += 1
            overdue += order.overdue(now)
        elif order.state.group is Group.SUSPENDED:
            suspended += 1
        closed_at = order.loop_closed_at()
        if closed_at is not None and start <= closed_at <= now:
            closed += 1
    return Counters(received, by_source, by_colour, live, overdue, suspended, closed, live_by_colour)


# --- 51530 compliance -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Compliance:
    stage: Stage
    on_time: int
    decided: int  # done, or past the deadline while pending

    @property
    def share(self) -> float | None:
        return self.on_time / self.decided if self.decided else None


def compliance(orders: Iterable[OrderFacts], since: datetime, now: datetime) -> list[Compliance]:
    """Each stage's on-time share among the orders received since `since` (the current round)."""
    on_time: Counter[Stage] = Counter()
    decided: Counter[Stage] = Counter()
    for order in orders:
        if order.received_at < since:
            continue
        for stage in order.stages:
            if stage.decided(now):
                decided[stage.stage] += 1
                on_time[stage.stage] += stage.on_time()
    return [Compliance(s, on_time[s], decided[s]) for s in STAGES]


# --- orders per hour ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hourly:
    today: list[int]  # orders received in each local hour of today so far (0 .. the current hour)
    usual: list[float] | None  # the mean per hour over the previous days with data; None: no history
    usual_days: int  # how many previous days the usual day averages


def hourly(today: Iterable[datetime], history: Iterable[datetime], now: datetime) -> Hourly:
    """`today`: receipt times since local midnight; `history`: receipt times of the previous days.
    The usual day averages the days from the first one with an order up to yesterday (at most
    USUAL_DAYS), so a system running for three days is compared with those three."""
    start = day_start(now)
    counts = [0] * (now.astimezone(SHANGHAI).hour + 1)
    for at in today:
        if start <= at <= now:
            counts[at.astimezone(SHANGHAI).hour] += 1
    first: date | None = None
    totals = [0] * 24
    earliest = start.date() - timedelta(days=USUAL_DAYS)
    for at in history:
        local = at.astimezone(SHANGHAI)
        if not earliest <= local.date() < start.date():
            continue
        totals[local.hour] += 1
        first = local.date() if first is None else min(first, local.date())
    if first is None:
        return Hourly(counts, None, 0)
    days = (start.date() - first).days
    return Hourly(counts, [round(t / days, 2) for t in totals], days)


# --- areas ----------------------------------------------------------------------------------------


@dataclass
class AreaFigures:
    code: str
    received: int = 0  # today
    live: int = 0
    overdue: int = 0
    closed: int = 0  # loop closed today
    on_time: int = 0  # stages decided on time, of orders received this week
    decided: int = 0  # stages decided, of orders received this week
    live_by_colour: dict[Colour, int] = field(default_factory=lambda: dict.fromkeys(Colour, 0))

    @property
    def on_time_share(self) -> float | None:
        return self.on_time / self.decided if self.decided else None


def area_figures(orders: Iterable[OrderFacts], areas: Sequence[str], now: datetime) -> list[AreaFigures]:
    """Each area's figures, busiest today first (then most overdue, then by code). Orders of no
    known area are left out: they wait for the hotline desk to place them."""
    today, week = day_start(now), week_start(now)
    figures = {code: AreaFigures(code) for code in areas}
    for order in orders:
        row = figures.get(order.area or "")
        if row is None:
            continue
        if order.received_at >= today:
            row.received += 1
        if order.live:
            row.live += 1
            row.overdue += order.overdue(now)
            row.live_by_colour[order.colour] += 1
        closed_at = order.loop_closed_at()
        if closed_at is not None and today <= closed_at <= now:
            row.closed += 1
        if order.received_at >= week:
            for stage in order.stages:
                if stage.decided(now):
                    row.decided += 1
                    row.on_time += stage.on_time()
    return sorted(figures.values(), key=lambda f: (-f.received, -f.overdue, -f.live, f.code))


# --- sensors --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SensorPoint:
    """A sensor as the map shows it: where, what, and when it last reported."""

    id: str
    kind: SensorKind
    lon: float
    lat: float
    interval_s: float
    last_ts: datetime | None


class PointStatus:
    NORMAL = 0
    OFFLINE = 1  # silent for OFFLINE_FACTOR intervals, or never reported
    ALARM = 2  # has an active alarm


@dataclass(frozen=True)
class KindHealth:
    kind: SensorKind
    total: int
    online: int
    alarms: int  # active alarms of sensors of this kind


@dataclass(frozen=True)
class SensorHealth:
    total: int
    online: int
    silent: int  # never reported
    alarms_by_colour: dict[Colour, int]
    by_kind: list[KindHealth]
    statuses: list[int]  # PointStatus per point, in the order given

    @property
    def online_share(self) -> float | None:
        return self.online / self.total if self.total else None


def sensor_health(
    points: Sequence[SensorPoint],
    active: Iterable[Alarm],
    now: datetime,
    last_seen: Sequence[int | None] | None = None,
) -> SensorHealth:
    """Online: reported within OFFLINE_FACTOR × its interval. An active alarm marks its sensor.
    `last_seen`: each point's newest reading in epoch milliseconds, in the points' order, to use instead
    of the points' own `last_ts` (a screen keeps the sensors' places and reads only these times again)."""
    if last_seen is not None and len(last_seen) != len(points):
        raise ValueError(f"{len(last_seen)} reading times for {len(points)} sensors")
    now_ms = now.timestamp() * 1000
    alarms_by_sensor: Counter[str] = Counter()
    by_colour = dict.fromkeys(Colour, 0)
    for alarm in active:
        if alarm.active:
            alarms_by_sensor[alarm.sensor_id] += 1
            by_colour[alarm.colour] += 1
    total: Counter[SensorKind] = Counter()
    online: Counter[SensorKind] = Counter()
    alarms: Counter[SensorKind] = Counter()
    statuses: list[int] = []
    silent = 0
    for i, point in enumerate(points):
        total[point.kind] += 1
        if last_seen is None:
            never = point.last_ts is None
            alive = point.last_ts is not None and (
                (now - point.last_ts).total_seconds() <= OFFLINE_FACTOR * point.interval_s
            )
        else:
            ms = last_seen[i]
            never = ms is None
            alive = ms is not None and now_ms - ms <= OFFLINE_FACTOR * point.interval_s * 1000
        silent += never
        online[point.kind] += alive
        alarms[point.kind] += alarms_by_sensor.get(point.id, 0)
        if point.id in alarms_by_sensor:
            statuses.append(PointStatus.ALARM)
        else:
            statuses.append(PointStatus.NORMAL if alive else PointStatus.OFFLINE)
    by_kind = [
        KindHealth(kind, total[kind], online[kind], alarms[kind]) for kind in SensorKind if total[kind]
    ]
    return SensorHealth(len(points), sum(online.values()), silent, by_colour, by_kind, statuses)

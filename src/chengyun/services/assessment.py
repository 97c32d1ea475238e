"""Use cases of assessment and analysis: load a period's order history once, compute in the domain, name
the groups for people. Only supervisors (duty officers, the director, admins) read them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Generic, Protocol, TypeVar

from chengyun.domain import analysis
from chengyun.domain.access import SUPERVISORS, Actor, require_role, require_street
from chengyun.domain.analysis import Brief, HotspotMap, Labels, PlaceIndex, Recurrence, Trend
from chengyun.domain.assessment import Assessment, Dimension, OrderRecord, Period, assess, lookback_start
from chengyun.domain.calendar import SHANGHAI, local_date
from chengyun.domain.categories import Catalogue
from chengyun.domain.errors import InvalidInput
from chengyun.domain.places import PlaceKind
from chengyun.services.memory import paused_gc
from chengyun.services.ports import Clock, UnitOfWorkFactory

MAX_DAYS = 366
EARLIEST_YEAR, LATEST_YEAR = 2000, 2200
T = TypeVar("T")


class OrderHistory(Protocol):
    """The port assessment reads from (adapters/db/history.py)."""

    def records(self, street: str, since: datetime, until: datetime) -> list[OrderRecord]:
        """The street's orders received in [since, until), oldest first."""


@dataclass(frozen=True)
class Named(Generic[T]):
    """A result with the names its keys need, and the street it is about."""

    street: str
    street_name: str
    result: T
    labels: Labels
    made_at: datetime


def valid_day(day: date) -> date:
    """Refuse days whose arithmetic (a previous period, a look-back) would leave the calendar."""
    if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        raise InvalidInput(f"日期应在 {EARLIEST_YEAR} 年到 {LATEST_YEAR} 年之间", code="invalid_period")
    return day


def period_of(first: date, last: date) -> Period:
    """Whole local days `first` to `last`, both included."""
    valid_day(first)
    valid_day(last)
    if last < first:
        raise InvalidInput("结束日期不能早于开始日期", code="invalid_period")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidInput(f"统计区间不能超过 {MAX_DAYS} 天", code="invalid_period")
    start = datetime.combine(first, time(0), SHANGHAI)
    return Period(start, datetime.combine(last + timedelta(days=1), time(0), SHANGHAI))


class AssessmentService:
    def __init__(
        self,
        history: OrderHistory,
        uow: UnitOfWorkFactory,
        clock: Clock,
        catalogue: Callable[[str], Catalogue],
        cells: PlaceIndex,
    ) -> None:
        self._history = history
        self._uow = uow
        self._clock = clock
        self._catalogue = catalogue
        self.cells = cells

    def assessment(self, actor: Actor, street: str, period: Period, by: Dimension) -> Named[Assessment]:
        self._allowed(actor, street)
        department_of = self._departments_of(street)
        with paused_gc():
            records = self._history.records(street, lookback_start(period), period.end)
            result = assess(records, period, by, self._clock.now(), department_of)
        return self._named(street, result)

    def hotspots(
        self, actor: Actor, street: str, period: Period, category: str | None, place: str
    ) -> Named[HotspotMap]:
        self._allowed(actor, street)
        with paused_gc():
            records = self._history.records(street, period.start, period.end)
        if place == "grid":
            result = analysis.hotspots(records, lambda r: r.grid, category)
        else:
            cells = self.cells
            result = analysis.hotspots(
                records, lambda r: cells.cell(r.point) if r.point is not None else None, category
            )
        return self._named(street, result)

    def recurrences(
        self, actor: Actor, street: str, period: Period, category: str | None
    ) -> Named[list[Recurrence]]:
        self._allowed(actor, street)
        with paused_gc():
            records = self._history.records(street, period.start, period.end)
        if category is not None:
            records = [r for r in records if r.category == category]
        found = analysis.recurrences(records, self.cells, street_cells=self._street_cells(street))
        return self._named(street, found)

    def trends(self, actor: Actor, street: str, period: Period, by: Dimension) -> Named[list[Trend]]:
        self._allowed(actor, street)
        if by is Dimension.STAFF:
            raise InvalidInput("趋势按类别、居民区或部门统计", code="invalid_dimension")
        with paused_gc():
            records = self._history.records(street, period.previous.start, period.end)
        return self._named(street, analysis.trends(records, period, by, self._departments_of(street)))

    def brief(self, actor: Actor, street: str, day: date | None) -> Named[Brief]:
        self._allowed(actor, street)
        now = self._clock.now()
        day = valid_day(day or local_date(now))
        today = analysis.day_period(day)
        if today.start > now:
            raise InvalidInput("不能生成未来日期的研判", code="invalid_period")
        labels = self.labels(street)
        with paused_gc():
            records = self._history.records(street, today.start - analysis.BRIEF_LOOKBACK, today.end)
            result = analysis.brief(
                records,
                day,
                now,
                self.cells,
                labels,
                self._departments_of(street),
                self._street_cells(street),
            )
        return self._named(street, result, labels)

    # --- names -----------------------------------------------------------------------------------

    def labels(self, street: str) -> Labels:
        with self._uow() as uow:
            places = uow.places.list(street)
            staff = uow.people.staff(street)
            departments = uow.people.departments(street)
        return Labels(
            categories={c.code: c.name for c in self._catalogue(street)},
            areas={p.code: p.name for p in places if p.kind is PlaceKind.AREA},
            staff={s.id: s.name for s in staff},
            departments={d.code: d.name for d in departments},
            grids={p.code: p.name for p in places if p.kind is PlaceKind.GRID},
        )

    def _named(self, street: str, result: T, labels: Labels | None = None) -> Named[T]:
        with self._uow() as uow:
            name = dict(uow.config.streets()).get(street, street)
        return Named(street, name, result, labels or self.labels(street), self._clock.now())

    def _street_cells(self, street: str) -> int | None:
        """The street's area in cells (from its outline), the background recurring problems stand out from."""
        with self._uow() as uow:
            outlines = uow.places.list(street, PlaceKind.STREET)
        count = sum(self.cells.count_in(p.geometry) for p in outlines)
        return count or None

    def _departments_of(self, street: str) -> Callable[[str], str | None]:
        catalogue = self._catalogue(street)
        departments = {c.code: c.department for c in catalogue}
        return departments.get

    @staticmethod
    def _allowed(actor: Actor, street: str) -> None:
        require_role(actor, SUPERVISORS, "查看考核与分析研判")
        require_street(actor, street)

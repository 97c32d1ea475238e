"""Analysis and judgement (分析研判): where and when problems cluster (hot spots by place, hour and weekday),
the stubborn problems that come back to the same place (顽症) with a patrol window to break them, trends
against the previous period, and the daily brief (每日研判) in Chinese.

Times of day and weekdays are Asia/Shanghai. Places are cells of a PlaceIndex port (H3 hexagons in
production, adapters/cells.py) or the orders' unit grids; the domain only groups by their keys.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

from chengyun.domain.assessment import (
    Dimension,
    OrderRecord,
    Period,
    facts_of,
    tally,
)
from chengyun.domain.calendar import SHANGHAI, local
from chengyun.domain.geo import Point
from chengyun.domain.orders import LIVE_STATES, OrderState
from chengyun.domain.sla import Stage

SLOT = timedelta(minutes=30)
LIFT = 3.0  # a stubborn spot has at least 3 times its share of the street's orders of that kind
SLOTS_PER_DAY = 48
WEEKDAY_LABELS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


class PlaceIndex(Protocol):
    """Cells that tile the street (H3 hexagons): a point's cell, a cell's neighbours and centre."""

    def cell(self, point: Point) -> str: ...

    def neighbours(self, cell: str) -> Iterable[str]:
        """The cells touching this one (not the cell itself)."""

    def centre(self, cell: str) -> Point: ...

    def count_in(self, geometry: Mapping[str, Any]) -> int:
        """How many cells cover a GeoJSON polygon (the street's area in cells)."""


# --- hot spots ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hotspot:
    place: str
    count: int
    point: Point | None  # the mean position of its orders
    hours: tuple[int, ...]  # 24 counts by local hour
    weekdays: tuple[int, ...]  # 7 counts, Monday first
    categories: Mapping[str, int]
    landmark: str | None  # the address most of its orders give

    @property
    def peak_hour(self) -> int:
        return max(range(24), key=lambda h: (self.hours[h], -h))

    @property
    def peak_weekday(self) -> int:
        return max(range(7), key=lambda d: (self.weekdays[d], -d))


@dataclass(frozen=True)
class HotspotMap:
    total: int
    matrix: tuple[tuple[int, ...], ...]  # 7 weekdays × 24 hours, Monday first
    places: list[Hotspot]  # busiest first


def hotspots(
    records: Iterable[OrderRecord],
    place_of: Callable[[OrderRecord], str | None],
    category: str | None = None,
    limit: int = 20,
) -> HotspotMap:
    """Orders counted by place × hour of day × weekday (of one category, or all)."""
    matrix = [[0] * 24 for _ in range(7)]
    by_place: dict[str, list[OrderRecord]] = defaultdict(list)
    total = 0
    for record in records:
        if category is not None and record.category != category:
            continue
        when = local(record.received_at)
        matrix[when.weekday()][when.hour] += 1
        total += 1
        place = place_of(record)
        if place is not None:
            by_place[place].append(record)
    places = []
    for place, members in by_place.items():
        hours, weekdays = [0] * 24, [0] * 7
        for record in members:
            when = local(record.received_at)
            hours[when.hour] += 1
            weekdays[when.weekday()] += 1
        places.append(
            Hotspot(
                place,
                len(members),
                _mean_point(r.point for r in members),
                tuple(hours),
                tuple(weekdays),
                dict(Counter(r.category for r in members).most_common()),
                _most_common(r.address for r in members),
            )
        )
    places.sort(key=lambda h: (-h.count, h.place))
    return HotspotMap(total, tuple(tuple(row) for row in matrix), places[:limit])


def _most_common(values: Iterable[str | None]) -> str | None:
    counts = Counter(v for v in values if v)
    return counts.most_common(1)[0][0] if counts else None


def _mean_point(points: Iterable[Point | None]) -> Point | None:
    known = [p for p in points if p is not None]
    if not known:
        return None
    return Point(sum(p.lon for p in known) / len(known), sum(p.lat for p in known) / len(known))


# --- recurring problems (顽症) ------------------------------------------------------------------------


@dataclass(frozen=True)
class Recurrence:
    """The same problem at the same place again and again, and when to patrol for it."""

    category: str
    place: str  # the cell the cluster centres on
    point: Point  # the mean position of its orders
    landmark: str | None  # the address most of its orders give
    orders: tuple[int, ...]
    days: int  # distinct local days with an order
    window: tuple[time, time] | None  # the patrol window (local); None when the times are spread out
    window_share: float  # share of the orders inside the window
    days_of_week: str  # "workdays", "weekends" or "daily"
    first_at: datetime
    last_at: datetime

    @property
    def count(self) -> int:
        return len(self.orders)

    @property
    def window_text(self) -> str:
        if self.window is None:
            return "全天"
        start, end = self.window
        return f"{start:%H:%M}–{'24:00' if end == time(0) and start != time(0) else f'{end:%H:%M}'}"

    @property
    def days_text(self) -> str:
        return {"workdays": "工作日", "weekends": "周末", "daily": "每天"}[self.days_of_week]

    def suggestion(self, category_name: str) -> str:
        where = f"{self.landmark}附近" if self.landmark else "该处"
        if self.window is None:
            spread = "反复发生、时段分散：建议纳入日常巡查点位"
            return f"{where}「{category_name}」{spread}，{self.days_text}多次巡查"
        share = round(self.window_share * 100)
        return (
            f"建议{self.days_text} {self.window_text} 在{where}（约 200 米范围）加强巡查，"
            f"该时段内发生 {share}% 的「{category_name}」诉求"
        )


def recurrences(
    records: Iterable[OrderRecord],
    cells: PlaceIndex,
    min_orders: int = 5,
    min_days: int = 3,
    share: float = 0.9,
    max_window: timedelta = timedelta(hours=6),
    street_cells: int | None = None,
    lift: float = LIFT,
) -> list[Recurrence]:
    """Clusters of one category around one place: the busiest cell with its neighbours (about 200 m
    across), taken greedily, kept when it has at least `min_orders` orders on at least `min_days` days and,
    when the street's size in cells is known, at least `lift` times what the category's orders would put
    there if they were spread evenly over the street (a busy street's background is not a stubborn spot).
    Its patrol window is the shortest span of whole half-hours (at most `max_window`, may pass midnight)
    holding at least `share` of its orders."""
    by_category: dict[str, dict[str, list[OrderRecord]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        if record.point is not None and record.state is not OrderState.MERGED:
            by_category[record.category][cells.cell(record.point)].append(record)
    found: list[Recurrence] = []
    for category, by_cell in by_category.items():
        used: set[str] = set()
        located = sum(len(v) for v in by_cell.values())
        for cell in sorted(by_cell, key=lambda c: (-len(by_cell[c]), c)):
            if cell in used:
                continue
            around = [cell, *(n for n in cells.neighbours(cell) if n not in used)]
            members = [r for c in around for r in by_cell.get(c, ())]
            if len(members) < min_orders:
                continue
            days = {local(r.received_at).date() for r in members}
            expected = located * len(around) / street_cells if street_cells else 0.0
            if len(days) < min_days or len(members) < lift * expected:
                continue
            used.update(around)
            found.append(_recurrence(category, cell, members, len(days), share, max_window))
    found.sort(key=lambda r: (-r.count, r.category, r.place))
    return found


def _recurrence(
    category: str, cell: str, members: list[OrderRecord], days: int, share: float, max_window: timedelta
) -> Recurrence:
    members.sort(key=lambda r: (r.received_at, r.id))
    times = [local(r.received_at) for r in members]
    window, inside = patrol_window([t.time() for t in times], share, max_window)
    workdays = sum(1 for t in times if t.weekday() < 5)
    if workdays >= 0.8 * len(times):
        days_of_week = "workdays"
    elif len(times) - workdays >= 0.8 * len(times):
        days_of_week = "weekends"
    else:
        days_of_week = "daily"
    point = _mean_point(r.point for r in members)
    assert point is not None
    return Recurrence(
        category=category,
        place=cell,
        point=point,
        landmark=_most_common(r.address for r in members),
        orders=tuple(r.id for r in members),
        days=days,
        window=window,
        window_share=inside / len(members),
        days_of_week=days_of_week,
        first_at=members[0].received_at,
        last_at=members[-1].received_at,
    )


def patrol_window(
    moments: Sequence[time], share: float = 0.9, max_window: timedelta = timedelta(hours=6)
) -> tuple[tuple[time, time] | None, int]:
    """The shortest run of half-hour slots (wrapping past midnight) holding at least `share` of the
    moments, and how many it holds; (None, 0) when no run up to `max_window` does."""
    counts = [0] * SLOTS_PER_DAY
    for moment in moments:
        counts[(moment.hour * 60 + moment.minute) // 30] += 1
    need = share * len(moments)
    longest = int(max_window / SLOT)
    for length in range(1, longest + 1):
        best_start, best = 0, -1
        for start in range(SLOTS_PER_DAY):
            held = sum(counts[(start + i) % SLOTS_PER_DAY] for i in range(length))
            if held > best:
                best_start, best = start, held
        if best >= need and best > 0:
            begin = best_start * 30
            finish = (best_start + length) * 30 % (24 * 60)
            return (time(begin // 60, begin % 60), time(finish // 60, finish % 60)), best
    return None, 0


# --- trends -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trend:
    key: str
    count: int
    previous: int
    daily: tuple[int, ...]  # counts per local day of the period

    @property
    def change(self) -> float | None:
        """Relative change from the previous period; None when it had none."""
        return (self.count - self.previous) / self.previous if self.previous else None

    @property
    def direction(self) -> str:
        """ "up" or "down" when the count moved by 30 % and at least 5 orders; else "flat"."""
        if self.count - self.previous >= 5 and self.count >= 1.3 * self.previous:
            return "up"
        if self.previous - self.count >= 5 and self.count <= 0.7 * self.previous:
            return "down"
        return "flat"


def local_days(period: Period) -> list[date]:
    first, last = local(period.start).date(), local(period.end - timedelta(microseconds=1)).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def trends(
    records: Iterable[OrderRecord],
    period: Period,
    by: Dimension,
    department_of: Callable[[str], str | None],
) -> list[Trend]:
    """Orders per group this period against the previous one, with the daily counts; biggest first."""
    if by is Dimension.STAFF:
        raise ValueError("trends are by category, area or department")
    days = local_days(period)
    index = {d: i for i, d in enumerate(days)}
    now: dict[str, list[int]] = defaultdict(lambda: [0] * len(days))
    before: Counter[str] = Counter()
    previous = period.previous
    for record in records:
        if by is Dimension.CATEGORY:
            key = record.category
        elif by is Dimension.AREA:
            key = record.area or ""
        else:
            key = department_of(record.category) or ""
        if period.holds(record.received_at):
            now[key][index[local(record.received_at).date()]] += 1
        elif previous.holds(record.received_at):
            before[key] += 1
    keys = set(now) | set(before)
    found = [Trend(k, sum(now.get(k, ())), before[k], tuple(now.get(k, [0] * len(days)))) for k in keys]
    found.sort(key=lambda t: (-t.count, -t.previous, t.key))
    return found


# --- the daily brief (每日研判) -----------------------------------------------------------------------


@dataclass(frozen=True)
class Labels:
    """Names for people: categories, areas, staff (code -> name); a missing code shows as itself."""

    categories: Mapping[str, str]
    areas: Mapping[str, str]
    staff: Mapping[str, str]
    departments: Mapping[str, str]
    grids: Mapping[str, str]

    def of(self, dimension: Dimension, key: str) -> str:
        """The name of a group key of an assessment dimension."""
        if dimension is Dimension.STAFF:
            return self.person(key)
        if dimension is Dimension.AREA:
            return self.area(key)
        if dimension is Dimension.CATEGORY:
            return self.category(key) if key else "未分类"
        return self.departments.get(key, key) if key else "未指定部门"

    def category(self, code: str) -> str:
        return self.categories.get(code, code)

    def area(self, code: str | None) -> str:
        return self.areas.get(code, code) if code else "未定位"

    def person(self, code: str | None) -> str:
        return self.staff.get(code, code) if code else "未派遣"


@dataclass(frozen=True)
class LateOrder:
    id: int
    category: str
    area: str | None
    handler: str | None
    stage: Stage
    due_at: datetime
    minutes_late: int


@dataclass(frozen=True)
class TopProblem:
    category: str
    count: int
    average: float  # daily mean of the previous 7 days


@dataclass(frozen=True)
class Behind:
    """An area that fell behind: its orders of the day against those of the 7 days before."""

    area: str
    on_time: float | None  # the day's 全环节按时率
    usual: float | None  # the previous 7 days'
    overdue: int  # the day's orders with a late stage


@dataclass(frozen=True)
class Brief:
    day: date
    received: int
    average: float
    closed: int  # loops closed that day (any order)
    top: list[TopProblem]
    late: list[LateOrder]
    late_total: int
    behind: list[Behind]
    recurring: list[Recurrence]
    text: list[str]  # the brief in Chinese, one paragraph per item


BRIEF_LOOKBACK = timedelta(days=30)


def day_period(day: date) -> Period:
    start = datetime.combine(day, time(0), SHANGHAI)
    return Period(start, start + timedelta(days=1))


def brief(
    records: Sequence[OrderRecord],
    day: date,
    now: datetime,
    cells: PlaceIndex,
    labels: Labels,
    department_of: Callable[[str], str | None],
    street_cells: int | None = None,
) -> Brief:
    """The daily brief for `day` (local), as of `now` or the day's end, whichever is earlier.
    `records`: the orders received from BRIEF_LOOKBACK before the day to its end."""
    today = day_period(day)
    as_of = min(now, today.end)
    week = Period(today.start - timedelta(days=7), today.start)
    todays = [r for r in records if today.holds(r.received_at)]
    weeks = [r for r in records if week.holds(r.received_at)]
    counts = Counter(r.category for r in todays)
    usual = Counter(r.category for r in weeks)
    top = [TopProblem(c, n, usual[c] / 7) for c, n in counts.most_common(5)]
    closed = sum(
        1 for r in records for m in r.marks if m.kind == "loop_closed" and today.holds(m.at) and m.at <= as_of
    )
    late = _late_orders([r for r in records if r.received_at <= as_of], as_of)
    behind = _behind(todays, weeks, as_of, department_of)
    recurring = [
        r
        for r in recurrences(
            [x for x in records if x.received_at < today.end], cells, street_cells=street_cells
        )
        if today.holds(r.last_at)
    ]
    result = Brief(
        day=day,
        received=len(todays),
        average=len(weeks) / 7,
        closed=closed,
        top=top,
        late=late[:10],
        late_total=len(late),
        behind=behind,
        recurring=recurring[:5],
        text=[],
    )
    return replace(result, text=brief_text(result, labels))


def _late_orders(records: Iterable[OrderRecord], as_of: datetime) -> list[LateOrder]:
    late = []
    for record in records:
        if record.state not in LIVE_STATES:
            continue
        pending = [c for c in record.clocks if c.done_at is None and c.due_at < as_of]
        if not pending:
            continue
        clock = min(pending, key=lambda c: c.due_at)
        handler = facts_of(record, as_of).handler
        minutes = int((as_of - clock.due_at).total_seconds() // 60)
        late.append(
            LateOrder(record.id, record.category, record.area, handler, clock.stage, clock.due_at, minutes)
        )
    late.sort(key=lambda o: (-o.minutes_late, o.id))
    return late


def _behind(
    todays: Sequence[OrderRecord],
    weeks: Sequence[OrderRecord],
    as_of: datetime,
    department_of: Callable[[str], str | None],
) -> list[Behind]:
    day = tally([facts_of(r, as_of) for r in todays], Dimension.AREA, department_of)
    before = tally([facts_of(r, as_of) for r in weeks], Dimension.AREA, department_of)
    found = []
    for area, figures in day.items():
        rate = figures.all_on_time.value
        usual = before[area].all_on_time.value if area in before else None
        dropped = rate is not None and usual is not None and rate <= usual - 0.1
        if (dropped and figures.all_on_time.denominator >= 3) or figures.overdue >= 3:
            found.append(Behind(area, rate, usual, figures.overdue))
    found.sort(key=lambda b: (-(b.usual or 0) + (b.on_time or 0), -b.overdue, b.area))
    return found


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def brief_text(b: Brief, labels: Labels) -> list[str]:
    """The brief as Chinese paragraphs, for the page, the report and a message."""
    lines = [
        f"{b.day:%Y年%m月%d日}（{WEEKDAY_LABELS[b.day.weekday()]}）受理工单 {b.received} 件，"
        f"前 7 日日均 {b.average:.1f} 件；当日反馈闭环 {b.closed} 件。"
    ]
    if b.top:
        parts = [
            f"「{labels.category(t.category)}」{t.count} 件"
            + (f"（日均 {t.average:.1f}）" if t.average else "（前 7 日无）")
            for t in b.top
        ]
        lines.append("主要问题：" + "，".join(parts) + "。")
    if b.late_total:
        worst = "；".join(
            f"#{o.id} {labels.category(o.category)}（{labels.area(o.area)}，{labels.person(o.handler)}，"
            f"{o.stage.label}超期 {_duration(o.minutes_late)}）"
            for o in b.late[:3]
        )
        lines.append(f"超期未办 {b.late_total} 件，超期最久：{worst}。")
    else:
        lines.append("目前没有超期未办的工单。")
    if b.behind:
        parts = [
            f"{labels.area(x.area)}（全环节按时率 {_pct(x.on_time)}，"
            f"前 7 日 {_pct(x.usual)}，超期 {x.overdue} 件）"
            for x in b.behind[:5]
        ]
        lines.append("落后居民区：" + "；".join(parts) + "。")
    for r in b.recurring[:3]:
        lines.append(
            f"顽症：{r.landmark or '同一地点'}「{labels.category(r.category)}」近 30 日 {r.count} 件"
            f"（{r.days} 天），{r.suggestion(labels.category(r.category))}。"
        )
    return lines


def _duration(minutes: int) -> str:
    if minutes < 60:
        return f"{minutes} 分钟"
    if minutes < 60 * 24:
        return f"{minutes // 60} 小时"
    return f"{minutes // (60 * 24)} 天"

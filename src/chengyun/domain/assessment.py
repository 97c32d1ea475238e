"""Assessment (考核): each period's figures per staff member, area, department and category, computed from
the orders and their timelines alone, with rankings and their change from the previous period.

Which orders count: an order belongs to the period in which it was *received* (受理时间 in [start, end)),
as 12345 monthly assessments count the month's orders. Every figure is taken as of `now` (the moment the
report is made): an order received late in the period may still be open. Merged duplicates (已并案) are
counted as received and as repeat complaints, but not assessed otherwise: the order they joined carries
the work (参评工单 = received minus merged).

The figures (numerator ÷ denominator), after 12345 practice (三率) and GB/T 30428.4 (按期处置率, 超期数,
返工率):

- 受理量 `orders`: orders received in the period; 参评量 `assessed`: those not merged into another.
- 环节按时率 `on_time[stage]` for respond, arrive, handle and close (51530): stage clocks done by their
  deadline ÷ stage clocks *decided*. A clock is decided when it is done, or when its deadline has passed
  while the order was live (a late clock counts once it is late, done or not). Every round counts: a
  reopened order's earlier clocks are read from its `reopened` timeline entry. An approved extension moves
  the deadline; time on the problem list (挂账) does not count (the clock is frozen).
- 全环节按时率 `all_on_time`: assessed orders whose four stages were all done on time, in every round
  ÷ those orders plus the assessed orders with at least one late clock (orders still in time are left out).
- 响应率 `response`: assessed orders whose first response (先联, the first round's respond clock) came by
  its deadline ÷ assessed orders whose first response is decided.
- 解决率 `solve`: assessed orders solved ÷ assessed orders. Solved: the loop is closed (已闭环 or 已结案
  now) and the latest callback (回访) did not answer 不满意.
- 满意率 `satisfaction`: assessed orders whose latest callback answered 满意 or 基本满意 ÷ assessed orders
  with a callback answer (a close-loop with a satisfaction).
- 退单率 `returns`: returns (退单, `returned` entries) ÷ dispatches (`dispatched` and `reassigned` entries).
- 返工率 `rework`: assessed orders reopened from 已闭环 (the callback or check failed before the case was
  closed) ÷ assessed orders whose loop was closed at least once.
- 重开率 `reopen`: assessed orders reopened after 结案 ÷ assessed orders closed at least once.
- 超期数 `overdue`: assessed orders with at least one late clock.
- 重复投诉率 `repeat`: received orders that repeat an earlier complaint ÷ received orders. A repeat was
  merged as a duplicate (重复件), or follows an earlier order of the same category at the same place
  (the same building or address; for an order not placed at a building, within REPEAT_RADIUS_M) received
  within REPEAT_WINDOW before it.
- 综合得分 `score`: 100 × the weighted mean of the rates that have a denominator (SCORE_WEIGHTS: solving and
  satisfaction weigh most, as in 12345 三率 assessments); rankings order by it (1 is best; ties share a rank).

Who an order counts for, by staff member: order figures count for its handler (承办人: the assignee now,
or the last one before it was returned); a stage clock counts for whoever held the order when the clock
was met or fell due (a late response is the fault of the one who had it then, not of whoever got it next);
a dispatch counts for the person dispatched to, and a return for the person who returned it. By area,
department and category, everything counts for the order's own area, category and the category's
department. The previous period is the same length, just before.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple, Protocol

from chengyun.domain.geo import Point
from chengyun.domain.orders import LIVE_STATES, OrderState, Satisfaction, TimelineEntry, WorkOrder
from chengyun.domain.sla import STAGES, Stage

# The timeline entries assessment reads, and the one key of each one's data it reads: loading only these
# keeps a year of orders quick.
MARK_KEYS: Mapping[str, str | None] = {
    "dispatched": "assignee",  # to whom
    "reassigned": "assignee",
    "returned": "previous",  # by whom
    "reopened": "previous_clocks",  # the round it ended
    "loop_closed": "satisfaction",  # the callback's answer
    "closed": None,
}

REPEAT_WINDOW = timedelta(days=30)
REPEAT_RADIUS_M = 50.0
SCORE_WEIGHTS: Mapping[str, float] = {
    "all_on_time": 0.2,
    "response": 0.1,
    "solve": 0.35,
    "satisfaction": 0.35,
}
UNASSIGNED = ""  # the group key of orders (or clocks) no staff member, area or category is known for

_METRES_PER_DEGREE = 111_320.0
_GOOD_ANSWERS = frozenset({Satisfaction.SATISFIED.value, Satisfaction.BASICALLY.value})


class Dimension(StrEnum):
    STAFF = "staff"
    AREA = "area"
    DEPARTMENT = "department"
    CATEGORY = "category"

    @property
    def label(self) -> str:
        return {
            Dimension.STAFF: "人员",
            Dimension.AREA: "居民区",
            Dimension.DEPARTMENT: "部门",
            Dimension.CATEGORY: "类别",
        }[self]


# --- what assessment reads of an order -------------------------------------------------------------


# Records are NamedTuples: a year of orders makes a million of them, and a frozen dataclass costs several
# times as much to build.


class Mark(NamedTuple):
    """One timeline entry of a kind in MARK_KEYS, with the value of its key (or None)."""

    at: datetime
    kind: str
    value: Any


class ClockLike(Protocol):
    """A stage clock as assessment reads it (ClockMark, or a storage adapter's own record)."""

    @property
    def stage(self) -> Stage: ...

    @property
    def due_at(self) -> datetime: ...

    @property
    def done_at(self) -> datetime | None: ...


class ClockMark(NamedTuple):
    """A stage clock of the order's current round."""

    stage: Stage
    due_at: datetime
    done_at: datetime | None


class OrderRecord(NamedTuple):
    """An order as assessment and analysis read it: its current row and the timeline entries that matter,
    in time order."""

    id: int
    received_at: datetime
    category: str
    area: str | None
    grid: str | None
    building: str | None
    point: Point | None
    address: str | None
    state: OrderState
    assignee: str | None
    suspended_at: datetime | None
    clocks: Sequence[ClockLike]
    marks: Sequence[Mark]

    @classmethod
    def of(cls, order: WorkOrder, timeline: Iterable[TimelineEntry]) -> OrderRecord:
        assert order.id is not None, "a stored order"
        location = order.location
        return cls(
            id=order.id,
            received_at=order.received_at,
            category=order.category,
            area=location.area,
            grid=location.grid,
            building=location.building,
            point=location.point,
            address=location.address,
            state=order.state,
            assignee=order.assignee,
            suspended_at=order.suspended_at,
            clocks=tuple(ClockMark(c.stage, c.due_at, c.done_at) for c in order.clocks.values()),
            marks=assessed_marks(timeline),
        )


def mark_of(at: datetime, kind: str, data: Mapping[str, Any]) -> Mark | None:
    """The mark of one timeline entry, None for a kind assessment does not read."""
    if kind not in MARK_KEYS:
        return None
    key = MARK_KEYS[kind]
    return Mark(at, kind, data.get(key) if key else None)


def assessed_marks(timeline: Iterable[TimelineEntry]) -> tuple[Mark, ...]:
    """What assessment reads of an order's timeline (in time order): the marks storage keeps for each
    order beside its timeline (adapters/db/marks.py), so a period loads without reading the timeline."""
    return tuple(m for e in timeline if (m := mark_of(e.at, e.kind, e.data)) is not None)


# --- one order's facts ------------------------------------------------------------------------------


# A decided stage clock: (stage, on time, who had the order when the clock was met or fell due, round).
# A plain tuple: a year of orders decides close to a million of them.
StageDecision = tuple[Stage, bool, str | None, int]


@dataclass(slots=True)
class OrderFacts:
    """What one order contributes to the figures, as of a moment."""

    record: OrderRecord
    handler: str | None
    stages: list[StageDecision]
    first_response: bool | None  # the first round's respond clock met; None while undecided
    all_on_time: bool | None
    solved: bool
    answer: str | None  # the latest callback answer (Satisfaction value)
    dispatched_to: list[str | None]
    returned_by: list[str | None]
    loop_closed_once: bool
    reworked: bool
    closed_once: bool
    reopened_after_close: bool
    overdue: bool  # a clock was late
    merged: bool
    repeat: bool = False


def facts_of(record: OrderRecord, now: datetime) -> OrderFacts:
    """Read one order's timeline into the facts the figures count."""
    holders: list[tuple[datetime, str | None]] = []
    dispatched_to: list[str | None] = []
    returned_by: list[str | None] = []
    past_rounds: list[tuple[datetime, Sequence[ClockLike]]] = []
    answer: str | None = None
    last_end: str | None = None  # "loop_closed" or "closed": where a reopen starts from
    loop_closed_once = closed_once = reworked = reopened_after_close = False
    for mark in record.marks:
        kind = mark.kind
        if kind in {"dispatched", "reassigned"}:
            who = mark.value
            holders.append((mark.at, who))
            dispatched_to.append(who)
        elif kind == "returned":
            holders.append((mark.at, None))
            returned_by.append(mark.value)
        elif kind == "loop_closed":
            loop_closed_once = True
            last_end = kind
            answer = mark.value or answer
        elif kind == "closed":
            closed_once = True
            last_end = kind
        elif kind == "reopened":
            if last_end == "closed":
                reopened_after_close = True
            else:
                reworked = True
            last_end = None
            past_rounds.append((mark.at, _previous_clocks(mark.value)))

    stages: list[StageDecision] = []
    first_response: bool | None = None
    late = False
    rounds: list[tuple[int, Sequence[ClockLike], datetime | None]] = [
        (number, clocks, reopened_at) for number, (reopened_at, clocks) in enumerate(past_rounds, start=1)
    ]
    # The current round: a pending clock is late once its deadline passed while the order was live
    # (a suspended order's clock stopped when it was suspended).
    state = record.state
    if state in LIVE_STATES:
        cut: datetime | None = now
    elif state is OrderState.SUSPENDED:
        cut = record.suspended_at
    else:
        cut = None
    current = len(past_rounds) + 1
    rounds.append((current, record.clocks, cut))
    done = 0
    for number, clocks, until in rounds:
        for clock in clocks:
            finished, due = clock.done_at, clock.due_at
            if finished is not None:
                if number == current:
                    done += 1
                on_time = finished <= due
                moment = finished if on_time else due
            elif until is not None and until > due:
                on_time, moment = False, due
            else:
                continue
            stages.append((clock.stage, on_time, _holder(holders, moment), number))
            if not on_time:
                late = True
            if number == 1 and clock.stage is Stage.RESPOND:
                first_response = on_time
    all_on_time = False if late else (True if done == len(STAGES) else None)
    handler = record.assignee
    if handler is None and returned_by:
        handler = returned_by[-1]
    solved = record.state in (OrderState.LOOP_CLOSED, OrderState.CLOSED) and answer != "unsatisfied"
    return OrderFacts(
        record=record,
        handler=handler,
        stages=stages,
        first_response=first_response,
        all_on_time=all_on_time,
        solved=solved,
        answer=answer,
        dispatched_to=dispatched_to,
        returned_by=returned_by,
        loop_closed_once=loop_closed_once,
        reworked=reworked,
        closed_once=closed_once,
        reopened_after_close=reopened_after_close,
        overdue=late,
        merged=state is OrderState.MERGED,
    )


def _holder(holders: Sequence[tuple[datetime, str | None]], at: datetime) -> str | None:
    """Who had the order at `at`: the last dispatch (or return, None) at or before it."""
    if len(holders) == 1:  # the usual case: dispatched once
        return holders[0][1] if holders[0][0] <= at else None
    who = None
    for when, person in holders:
        if when > at:
            break
        who = person
    return who


def _previous_clocks(value: Any) -> list[ClockMark]:
    """The clocks a `reopened` entry saved (stage -> {started_at, due_at, done_at}), in stage order."""
    if not isinstance(value, Mapping):
        return []
    clocks = []
    for stage in STAGES:
        item = value.get(stage.value)
        if isinstance(item, Mapping) and item.get("due_at"):
            done = item.get("done_at")
            clocks.append(
                ClockMark(
                    stage,
                    datetime.fromisoformat(item["due_at"]),
                    datetime.fromisoformat(done) if done else None,
                )
            )
    return clocks


# --- repeats ----------------------------------------------------------------------------------------


def mark_repeats(
    facts: Sequence[OrderFacts],
    earlier: Iterable[OrderRecord] = (),
    window: timedelta = REPEAT_WINDOW,
    radius_m: float = REPEAT_RADIUS_M,
) -> None:
    """Set `repeat` on each order that was merged as a duplicate, or that follows an order of the same
    category at the same place within `window` (`earlier`: orders before the period, looked back on). The
    same place: the same building or address; an order not placed at a building, within `radius_m`."""
    cell = radius_m / _METRES_PER_DEGREE  # a square of the radius in degrees of latitude
    seen_building: dict[tuple[str, str], datetime] = {}
    seen_address: dict[tuple[str, str], datetime] = {}
    seen_cells: dict[tuple[str, int, int], deque[tuple[datetime, Point]]] = {}
    mine = {f.record.id for f in facts}
    by_id = {f.record.id: f for f in facts}
    records = sorted([*(r for r in earlier if r.id not in mine), *(f.record for f in facts)], key=_key)
    squash = math.cos(math.radians(records[0].point.lat)) if records and records[0].point else 1.0
    # Distances matter only for orders not placed at a building: without any, skip the squares.
    unplaced = any(r.building is None and r.point is not None for r in records)
    for record in records:
        category, received = record.category, record.received_at
        since = received - window
        repeat = False
        if record.building:
            key_b = (category, record.building)
            previous = seen_building.get(key_b)
            repeat = previous is not None and previous >= since
            seen_building[key_b] = received
        address = record.address.replace(" ", "") if record.address else ""
        if address:
            key_a = (category, address)
            previous = seen_address.get(key_a)
            repeat = repeat or (previous is not None and previous >= since)
            seen_address[key_a] = received
        point = record.point
        if point is not None and unplaced:
            x, y = math.floor(point.lon * squash / cell), math.floor(point.lat / cell)
            if not repeat and not record.building:  # placed at a building: that is its place
                repeat = _near(seen_cells, category, x, y, point, since, radius_m)
            bucket = seen_cells.get((category, x, y))
            if bucket is None:
                bucket = seen_cells[category, x, y] = deque()
            bucket.append((received, point))
        fact = by_id.get(record.id)
        if fact is not None:
            fact.repeat = repeat or fact.merged


def _near(
    seen: dict[tuple[str, int, int], deque[tuple[datetime, Point]]],
    category: str,
    x: int,
    y: int,
    point: Point,
    since: datetime,
    radius_m: float,
) -> bool:
    """Whether an order of `category` since `since` lies within `radius_m` (the squares around x, y).
    Orders come in time order, so each square drops what fell out of the window from its left."""
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            bucket = seen.get((category, x + dx, y + dy))
            if not bucket:
                continue
            while bucket and bucket[0][0] < since:
                bucket.popleft()
            for _, other in bucket:
                if _metres(other, point) <= radius_m:
                    return True
    return False


def _key(record: OrderRecord) -> tuple[datetime, int]:
    return record.received_at, record.id


def _metres(a: Point, b: Point) -> float:
    """Straight-line distance on a local plane (good to a few metres within a street)."""
    dx = (a.lon - b.lon) * _METRES_PER_DEGREE * math.cos(math.radians((a.lat + b.lat) / 2))
    dy = (a.lat - b.lat) * _METRES_PER_DEGREE
    return math.hypot(dx, dy)


# --- figures ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rate:
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        """numerator ÷ denominator, None when nothing was counted."""
        return self.numerator / self.denominator if self.denominator else None


@dataclass(frozen=True)
class Figures:
    orders: int
    assessed: int
    on_time: Mapping[Stage, Rate]
    all_on_time: Rate
    response: Rate
    solve: Rate
    satisfaction: Rate
    returns: Rate
    rework: Rate
    reopen: Rate
    overdue: int
    repeat: Rate

    @property
    def score(self) -> float | None:
        rates = self.rates()
        known = [(w, v) for name, w in SCORE_WEIGHTS.items() if (v := rates[name].value) is not None]
        if not known:
            return None
        return round(100 * sum(w * v for w, v in known) / sum(w for w, _ in known), 1)

    def rates(self) -> dict[str, Rate]:
        """Every rate by its API name (stage rates as `on_time_<stage>`)."""
        named = {f"on_time_{s.value}": r for s, r in self.on_time.items()}
        for name in ("all_on_time", "response", "solve", "satisfaction", "returns", "rework", "reopen"):
            named[name] = getattr(self, name)
        named["repeat"] = self.repeat
        return named


@dataclass
class _Tally:
    orders: int = 0
    assessed: int = 0
    stage_met: dict[Stage, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))
    stage_due: dict[Stage, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))
    all_met: int = 0
    all_due: int = 0
    response_met: int = 0
    response_due: int = 0
    solved: int = 0
    happy: int = 0
    answered: int = 0
    returns: int = 0
    dispatches: int = 0
    reworked: int = 0
    loop_closed: int = 0
    reopened: int = 0
    closed: int = 0
    overdue: int = 0
    repeats: int = 0

    def add_order(self, f: OrderFacts) -> None:
        self.orders += 1
        self.repeats += f.repeat
        if f.merged:
            return
        self.assessed += 1
        if f.all_on_time is not None:
            self.all_due += 1
            self.all_met += f.all_on_time
        if f.first_response is not None:
            self.response_due += 1
            self.response_met += f.first_response
        self.solved += f.solved
        if f.answer is not None:
            self.answered += 1
            self.happy += f.answer in _GOOD_ANSWERS
        self.loop_closed += f.loop_closed_once
        self.reworked += f.reworked
        self.closed += f.closed_once
        self.reopened += f.reopened_after_close
        self.overdue += f.overdue

    def absorb(self, other: _Tally) -> None:
        for name, value in vars(other).items():
            if isinstance(value, dict):
                mine = getattr(self, name)
                for stage, count in value.items():
                    mine[stage] += count
            else:
                setattr(self, name, getattr(self, name) + value)

    def figures(self) -> Figures:
        return Figures(
            orders=self.orders,
            assessed=self.assessed,
            on_time={s: Rate(self.stage_met[s], self.stage_due[s]) for s in STAGES},
            all_on_time=Rate(self.all_met, self.all_due),
            response=Rate(self.response_met, self.response_due),
            solve=Rate(self.solved, self.assessed),
            satisfaction=Rate(self.happy, self.answered),
            returns=Rate(self.returns, self.dispatches),
            rework=Rate(self.reworked, self.loop_closed),
            reopen=Rate(self.reopened, self.closed),
            overdue=self.overdue,
            repeat=Rate(self.repeats, self.orders),
        )


def tally(
    facts: Iterable[OrderFacts], by: Dimension | None, department_of: Callable[[str], str | None]
) -> dict[str, Figures]:
    """The figures of each group (`by` None: one group, key "", for the whole street)."""
    groups, _ = _tally(facts, by, department_of)
    return groups


def _tally(
    facts: Iterable[OrderFacts], by: Dimension | None, department_of: Callable[[str], str | None]
) -> tuple[dict[str, Figures], Figures]:
    """The figures of each group and of all together, in one pass (a year is 100,000 orders)."""
    groups: dict[str, _Tally] = {}
    per_person = by is Dimension.STAFF

    def group(key: str | None) -> _Tally:
        found = groups.get(key or UNASSIGNED)
        if found is None:
            found = groups[key or UNASSIGNED] = _Tally()
        return found

    for f in facts:
        r = f.record
        if by is None:
            key: str | None = UNASSIGNED
        elif per_person:
            key = f.handler
        elif by is Dimension.AREA:
            key = r.area
        elif by is Dimension.CATEGORY:
            key = r.category
        else:
            key = department_of(r.category)
        own = group(key)
        own.add_order(f)
        if f.merged:
            continue
        for stage, on_time, holder, _ in f.stages:
            t = group(holder) if per_person else own
            t.stage_due[stage] += 1
            if on_time:
                t.stage_met[stage] += 1
        for person in f.dispatched_to:
            (group(person) if per_person else own).dispatches += 1
        for person in f.returned_by:
            (group(person) if per_person else own).returns += 1
    # Every count goes to exactly one group, whatever the dimension: the whole is the sum of the groups.
    total = _Tally()
    for t in groups.values():
        total.absorb(t)
    return {key: t.figures() for key, t in groups.items()}, total.figures()


# --- the assessment of a period ---------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime  # exclusive

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("a period ends after it starts")

    @property
    def previous(self) -> Period:
        return Period(self.start - (self.end - self.start), self.start)

    def holds(self, at: datetime) -> bool:
        return self.start <= at < self.end


@dataclass(frozen=True)
class Standing:
    """One group's figures, rank and change from the previous period."""

    key: str
    figures: Figures
    rank: int | None
    previous: Figures | None
    previous_rank: int | None

    @property
    def rank_change(self) -> int | None:
        """Places climbed since the previous period (negative: fell)."""
        if self.rank is None or self.previous_rank is None:
            return None
        return self.previous_rank - self.rank

    @property
    def score_change(self) -> float | None:
        now, before = self.figures.score, self.previous.score if self.previous else None
        return None if now is None or before is None else round(now - before, 1)


@dataclass(frozen=True)
class Assessment:
    period: Period
    by: Dimension
    totals: Figures
    previous_totals: Figures
    standings: list[Standing]


def rank(figures: Mapping[str, Figures]) -> dict[str, int]:
    """Competition ranks by score (1 best; equal scores share a rank); groups without a score are unranked."""
    scored = {k: f.score for k, f in figures.items() if f.score is not None}
    return {k: 1 + sum(1 for other in scored.values() if other > s) for k, s in scored.items()}


def assess(
    records: Iterable[OrderRecord],
    period: Period,
    by: Dimension,
    now: datetime,
    department_of: Callable[[str], str | None],
) -> Assessment:
    """The period's figures per group with rankings and their change. `records` are the orders received in
    the period, in the previous period and in the REPEAT_WINDOW before that (the look-back for repeats)."""
    previous = period.previous
    current_facts: list[OrderFacts] = []
    previous_facts: list[OrderFacts] = []
    earlier: list[OrderRecord] = []
    for record in records:
        received = record.received_at
        if period.start <= received < period.end:
            current_facts.append(facts_of(record, now))
        elif previous.start <= received < previous.end:
            previous_facts.append(facts_of(record, now))
        else:
            earlier.append(record)
    mark_repeats(previous_facts, earlier)
    mark_repeats(current_facts, [*earlier, *(f.record for f in previous_facts)])
    groups, totals = _tally(current_facts, by, department_of)
    before, previous_totals = _tally(previous_facts, by, department_of)
    ranks, previous_ranks = rank(groups), rank(before)
    standings = [
        Standing(key, groups[key], ranks.get(key), before.get(key), previous_ranks.get(key)) for key in groups
    ]
    standings.sort(key=lambda s: (s.rank is None, s.rank or 0, -s.figures.assessed, s.key))
    return Assessment(period, by, totals, previous_totals, standings)


def lookback_start(period: Period) -> datetime:
    """The earliest receipt time `assess` needs records from."""
    return period.previous.start - REPEAT_WINDOW


# The figures' names for people, in the order reports show them.
FIGURE_LABELS: Mapping[str, str] = {
    "response": "响应率",
    "solve": "解决率",
    "satisfaction": "满意率",
    "all_on_time": "全环节按时率",
    "on_time_respond": "响应按时率",
    "on_time_arrive": "到场按时率",
    "on_time_handle": "处置按时率",
    "on_time_close": "闭环按时率",
    "returns": "退单率",
    "rework": "返工率",
    "reopen": "重开率",
    "repeat": "重复投诉率",
}
# Rates where lower is better (a rise is bad news).
LOWER_IS_BETTER = frozenset({"returns", "rework", "reopen", "repeat"})

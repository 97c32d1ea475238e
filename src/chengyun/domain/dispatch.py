"""Who gets a new order, and why: A, else B, else the nearest available qualified person.

A candidate is *available* when on shift, not on leave and below the open-order limit. An available
A or B is chosen unless their last known position (a check-in) is too far to walk to the site within
the arrival deadline (the "15" of 51530), counting the time to set off and the orders already in their
hand; then the nearest available qualified person who can make it gets the order. When nobody can make
it, the fastest available person does; when everyone on shift has a full hand, the least loaded of them
(A or B first) does; when nobody is on shift at all, A does. The reason says which. Every step is
written out in Chinese for the timeline.

That is the standard strategy. `Strategy.A_ONLY` is the naive baseline the simulator measures it
against: always the area's A, whoever and wherever A is, no fallback.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from chengyun.domain.geo import Point
from chengyun.domain.staff import ABPair

_METRES_PER_DEGREE = 111_320.0


@dataclass(frozen=True)
class StaffStatus:
    """What routing knows of one person at the moment of the decision."""

    id: str
    name: str
    on_duty: bool
    on_leave: bool = False
    open_orders: int = 0
    position: Point | None = None  # last check-in, if recent enough to trust
    position_at: datetime | None = None  # when it was reported
    field_worker: bool = True  # holds a post that goes out to sites (area manager, chief responder)


class Strategy(StrEnum):
    STANDARD = "standard"  # A, else B, else the nearest who can make it (this module's docstring)
    A_ONLY = "a_only"  # the naive baseline: always the area's A manager, no fallback


@dataclass(frozen=True)
class RoutingRules:
    max_open_orders: int = 8
    walk_metres_per_minute: float = 70.0  # about 4.2 km/h, a brisk walk on pavements
    strategy: Strategy = Strategy.STANDARD
    # What each order already in hand (not yet handled) costs before its holder can go to a new site: a
    # typical visit, a few minutes' walk and a quarter of an hour on site. It counts towards the arrival
    # deadline when their position is known (the simulator showed A, busy on another site, being sent
    # order after order they could not reach in time: README.md, "Simulating a day").
    minutes_per_order_in_hand: float = 15.0
    # Between the phone buzzing and walking off: reading the order, finishing a word with someone,
    # picking up the kit (the simulated people take 0.3–2 minutes to read and 0.5–2 to set off). It counts
    # towards the arrival deadline; the dispatch note's "步行约 N 分钟" stays the walk alone.
    set_off_minutes: float = 2.5


@dataclass(frozen=True)
class Decision:
    staff_id: str
    name: str
    rule: str  # "a", "b", "nearest", "fastest", "least_busy", "overloaded", "fallback_a"
    reason: str  # why, in Chinese, for the timeline
    walk_minutes: float | None = None  # the walk alone, from their last known position


def walk_metres(a: Point, b: Point) -> float:
    """Walking distance on a street grid: the Manhattan distance in local metres."""
    mid_lat = math.radians((a.lat + b.lat) / 2)
    dx = abs(a.lon - b.lon) * _METRES_PER_DEGREE * math.cos(mid_lat)
    dy = abs(a.lat - b.lat) * _METRES_PER_DEGREE
    return dx + dy


def route(
    pair: ABPair,
    day: date,
    staff: Mapping[str, StaffStatus],
    site: Point | None,
    arrive_within_minutes: float,
    rules: RoutingRules | None = None,
    exclude: frozenset[str] = frozenset(),
) -> Decision:
    """Choose the assignee of a new order in `pair`'s area. `day` is the local date deciding who is A.
    `exclude`: people not to choose (the holder an order is taken from)."""
    rules = rules or RoutingRules()
    everyone = staff
    if exclude:
        staff = {k: v for k, v in staff.items() if k not in exclude}
    a, b = pair.roles_on(day)
    if rules.strategy is Strategy.A_ONLY:
        person = staff.get(a) or StaffStatus(a, a, on_duty=False)
        return Decision(person.id, person.name, "a", f"派遣给 A 角 {person.name}（固定派给 A 角）")
    steps: list[str] = []
    late: list[tuple[float, str, StaffStatus]] = []

    def walking(person: StaffStatus) -> float | None:
        if site is None or person.position is None:
            return None
        return walk_metres(person.position, site) / rules.walk_metres_per_minute

    def minutes_to_site(person: StaffStatus) -> float | None:
        """Setting off, the orders already in hand, and the walk: when they would be on site."""
        walk = walking(person)
        if walk is None:
            return None
        return rules.set_off_minutes + person.open_orders * rules.minutes_per_order_in_hand + walk

    def eta(person: StaffStatus, minutes: float) -> str:
        if person.open_orders and rules.minutes_per_order_in_hand:
            return f"手头另有 {person.open_orders} 件工单，预计约 {math.ceil(minutes)} 分钟后到场"
        if rules.set_off_minutes:
            walk = max(1, math.ceil(walking(person) or 0.0))
            return f"步行约 {walk} 分钟，连同出发准备约 {math.ceil(minutes)} 分钟到场"
        return f"步行到场约需 {math.ceil(minutes)} 分钟"

    def done(person: StaffStatus, rule: str, what: str, minutes: float | None) -> Decision:
        walk = walking(person) if minutes is not None else None
        note = ""
        if minutes is not None and person.open_orders and rules.minutes_per_order_in_hand:
            note = f"（手头另有 {person.open_orders} 件，预计约 {math.ceil(minutes)} 分钟到场）"
        elif walk is not None:
            note = f"（步行约 {max(1, math.ceil(walk))} 分钟）"
        return Decision(person.id, person.name, rule, "，".join([*steps, f"{what}{note}"]), walk)

    for role, staff_id in (("A", a), ("B", b)):
        if staff_id in exclude:
            holder = everyone.get(staff_id)
            steps.append(f"{role} 角 {holder.name if holder else staff_id} 即原承办人")
            continue
        person = staff.get(staff_id) or StaffStatus(staff_id, staff_id, on_duty=False)
        why_not = _unavailable(person, rules)
        if why_not:
            steps.append(f"{role} 角 {person.name} {why_not}")
            continue
        minutes = minutes_to_site(person)
        if minutes is not None and minutes > arrive_within_minutes:
            steps.append(
                f"{role} 角 {person.name} {eta(person, minutes)}"
                f"（到场时限 {_fmt(arrive_within_minutes)} 分钟）"
            )
            late.append((minutes, role, person))
            continue
        verb = "转" if steps else "派遣给"
        return done(person, role.lower(), f"{verb} {role} 角 {person.name}", minutes)

    others = [
        person
        for person in staff.values()
        if person.id not in (a, b) and person.field_worker and not _unavailable(person, rules)
    ]
    timed = sorted(
        ((m, p.id, p) for p in others if (m := minutes_to_site(p)) is not None),
        key=lambda item: item[:2],
    )
    if timed and timed[0][0] <= arrive_within_minutes:
        minutes, _, person = timed[0]
        return done(person, "nearest", f"派遣给就近可到场的 {person.name}", minutes)
    fastest = sorted([(m, p.id, p) for m, _, p in late] + timed, key=lambda item: item[:2])
    if fastest:
        minutes, _, person = fastest[0]
        return done(
            person,
            "fastest",
            f"无人能在 {_fmt(arrive_within_minutes)} 分钟内到场，派遣给最快可到的 {person.name}",
            minutes,
        )
    if others:
        person = min(others, key=lambda p: (p.open_orders, p.id))
        return done(person, "least_busy", f"派遣给在班且在办工单最少的 {person.name}", None)
    # Everyone on shift has a full hand: the least loaded of them, A or B first, takes it anyway.
    working = [
        p for p in staff.values() if p.on_duty and not p.on_leave and (p.field_worker or p.id in (a, b))
    ]
    if working:
        person = min(working, key=lambda p: (p.id not in (a, b), p.open_orders, p.id != a, p.id))
        return done(person, "overloaded", f"在班人员均已满负荷，派遣给 {person.name}，请值班长关注", None)
    if a in exclude:
        person = StaffStatus(a, a, on_duty=False)  # nobody else at all: the caller keeps the holder
        return Decision(person.id, person.name, "nobody", "，".join([*steps, "无其他人员可派"]))
    person = staff.get(a) or StaffStatus(a, a, on_duty=False)
    return done(person, "fallback_a", f"无人在班，仍派遣给 A 角 {person.name}，请值班长关注", None)


# Whom the dispatcher reassigns a late holder's order to: the area's own A or B, when they can make it in
# time. Not the nearest of the others: pulling a neighbouring area's manager away to save one order left
# their own area's next orders to the fastest (the simulated busy day of seed 23: 91.7 % of orders meeting
# all four stages without reassigning, 87.9 % reassigning to anyone in time, 90.8 % to A or B only; over
# seeds 7, 11 and 23 A or B only is within an order or three of not reassigning: README, "Simulating a day").
RELIEF_RULES = frozenset({"a", "b"})


@dataclass(frozen=True)
class Held:
    """An order someone holds and has not finished on site, as the late-holder check sees it."""

    order_id: int
    assignee: str
    area: str | None
    site: Point | None
    arrive_due: datetime | None  # the pending arrival deadline; None once on site
    on_site: bool = False


def holder_minutes(
    now: datetime, held: Held, hand: Sequence[Held], holder: StaffStatus, rules: RoutingRules
) -> float | None:
    """When the holder of `held` would reach its site, in minutes from now.

    With orders ahead of it in their hand (one being worked on site, those with an earlier arrival
    deadline: the order a responder goes to first), as routing judges a new order: each of those at
    `minutes_per_order_in_hand`, setting off, and the walk from the last of those sites. With nothing
    ahead they may be on the way already: the most hopeful reading, that they set off at once and have
    walked towards the site ever since their last check-in (no set-off time). None when it cannot be
    judged (no known position or site)."""
    if held.site is None or held.arrive_due is None or holder.position is None:
        return None
    due = held.arrive_due
    ahead = [
        h
        for h in hand
        if h.order_id != held.order_id
        and (h.on_site or (h.arrive_due is not None and (h.arrive_due, h.order_id) < (due, held.order_id)))
    ]
    if not ahead:
        if holder.position_at is None:
            return None
        since = max(0.0, (now - holder.position_at).total_seconds() / 60)
        return max(0.0, walk_metres(holder.position, held.site) / rules.walk_metres_per_minute - since)
    # Where they will be last before this one: the latest deadline ahead, else the site they work on.
    pending = [h for h in ahead if not h.on_site and h.arrive_due is not None]
    last = max(pending, key=lambda h: (h.arrive_due, h.order_id)) if pending else ahead[0]
    start = last.site or holder.position
    walk = walk_metres(start, held.site) / rules.walk_metres_per_minute
    return rules.set_off_minutes + len(ahead) * rules.minutes_per_order_in_hand + walk


def late_holders(
    now: datetime, held: Sequence[Held], staff: Mapping[str, StaffStatus], rules: RoutingRules | None = None
) -> list[tuple[Held, float]]:
    """The orders whose holder is judged (`holder_minutes`) to reach the site after the arrival deadline,
    each with that judgement in minutes from now, earliest deadline first. Empty for the naive strategy."""
    rules = rules or RoutingRules()
    if rules.strategy is Strategy.A_ONLY:
        return []
    hands: dict[str, list[Held]] = {}
    for h in held:
        hands.setdefault(h.assignee, []).append(h)
    late: list[tuple[Held, float]] = []
    for h in held:
        holder = staff.get(h.assignee)
        if h.on_site or h.arrive_due is None or h.arrive_due <= now or holder is None:
            continue
        minutes = holder_minutes(now, h, hands[h.assignee], holder, rules)
        if minutes is not None and minutes > (h.arrive_due - now).total_seconds() / 60:
            late.append((h, minutes))
    return sorted(late, key=lambda item: (item[0].arrive_due or now, item[0].order_id))


def _unavailable(person: StaffStatus, rules: RoutingRules) -> str:
    if person.on_leave:
        return "请假"
    if not person.on_duty:
        return "不在班"
    if person.open_orders >= rules.max_open_orders:
        return f"在办工单已有 {person.open_orders} 件（上限 {rules.max_open_orders} 件）"
    return ""


def _fmt(minutes: float) -> str:
    return f"{minutes:g}"


def statuses(
    people: Iterable[tuple[str, str, bool]],
    on_duty: set[str],
    on_leave: set[str],
    open_orders: Mapping[str, int],
    positions: Mapping[str, Point],
    checked_at: Mapping[str, datetime] | None = None,
) -> dict[str, StaffStatus]:
    """StaffStatus for each (id, name, field_worker) from the roster, leave, workload and check-ins
    (`checked_at`: when each position was reported, where the caller needs it)."""
    return {
        staff_id: StaffStatus(
            staff_id,
            name,
            on_duty=staff_id in on_duty,
            on_leave=staff_id in on_leave,
            open_orders=open_orders.get(staff_id, 0),
            position=positions.get(staff_id),
            position_at=(checked_at or {}).get(staff_id) if staff_id in positions else None,
            field_worker=field_worker,
        )
        for staff_id, name, field_worker in people
    }

"""What routing needs to know about a street's people right now, loaded once and kept a few seconds.

Dispatch runs on every new order; reading pairs, roster, leave, workload and check-ins for each one
would cost more than the rest of intake. A snapshot lives `DUTY_TTL` of the center's clock (and never
past the hour of roster it holds); this process counts its own dispatches into it meanwhile, and other
processes' dispatches show up at the next reload. The clock's time, not the wall's: on a simulated clock
running hours a minute (the simulator), ten wall seconds would keep workloads and check-ins from hours ago.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from chengyun.domain.calendar import SHANGHAI
from chengyun.domain.dispatch import Decision, RoutingRules, StaffStatus, route, statuses
from chengyun.domain.geo import Point
from chengyun.domain.staff import ABPair, Absence, Post, Shift
from chengyun.services.ports import UnitOfWork, UnitOfWorkFactory

DUTY_WINDOW = timedelta(hours=1)
DUTY_TTL = timedelta(seconds=10)
POSITION_FRESH = timedelta(minutes=30)  # an older check-in says little about where someone is now
DEFAULT_RULES = RoutingRules()
# Posts that go out to sites: area managers, chief responders, and the patrol observers (首席观察员), who are
# out on the street anyway and can take an order near where they walk.
FIELD_POSTS = frozenset({Post.AREA_MANAGER, Post.CHIEF_RESPONDER, Post.PATROL_OBSERVER})
# Posts that keep their holder at the center while on shift, whatever other posts they hold.
DESK_POSTS = frozenset({Post.DUTY_OFFICER, Post.DIRECTOR})


# From, until, on shift, on leave, fresh positions, held at a desk post.
Moment = tuple[datetime, datetime, set[str], set[str], dict[str, Point], set[str]]


@dataclass
class DutySnapshot:
    start: datetime  # when it was loaded, by the center's clock
    end: datetime
    pairs: dict[str, ABPair]
    names: dict[str, str]
    field_workers: frozenset[str]
    shifts: list[Shift]
    absences: list[Absence]
    positions: dict[str, tuple[Point, datetime]]
    open_counts: dict[str, int]
    departments: dict[str, str]
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Who is on shift / on leave / where / at a desk, valid for `now` in [lo, hi): nothing
    # changes in between.
    _moment: Moment | None = field(default=None, init=False, repr=False, compare=False)
    # statuses(...) at that moment, kept up to date by took(); guarded by `lock`.
    _built: dict[str, StaffStatus] = field(default_factory=dict, init=False, repr=False, compare=False)
    _built_for: object = field(default=None, init=False, repr=False, compare=False)

    def fresh(self, now: datetime) -> bool:
        return self.start <= now < min(self.end, self.start + DUTY_TTL)

    def on_duty(self, post: Post, now: datetime) -> list[str]:
        """Who holds a shift of `post` at `now`, in roster order."""
        return [s.staff for s in self.shifts if s.post is post and s.covers(now)]

    def _at(self, now: datetime) -> Moment:
        """Who is on shift, on leave, and whose check-in is fresh at `now`; computed once per interval
        in which none of these can change (the next shift or leave boundary, the next check-in going
        stale), since every new order asks."""
        moment = self._moment
        if moment is not None and moment[0] <= now < moment[1]:
            return moment
        on_duty = {s.staff for s in self.shifts if s.covers(now)}
        at_desk = {s.staff for s in self.shifts if s.post in DESK_POSTS and s.covers(now)}
        on_leave = {a.staff for a in self.absences if a.covers(now)}
        positions = {k: p for k, (p, at) in self.positions.items() if now - at <= POSITION_FRESH}
        bounds = [t for s in self.shifts for t in (s.start, s.end) if t > now]
        bounds += [t for a in self.absences for t in (a.start, a.end) if t > now]
        # A check-in is fresh while now <= at + POSITION_FRESH: recompute from that instant on.
        bounds += [at + POSITION_FRESH for _, at in self.positions.values() if at + POSITION_FRESH >= now]
        hi = min(bounds, default=self.end)
        moment = (now, max(hi, now), on_duty, on_leave, positions, at_desk)
        self._moment = moment
        return moment

    def decide(
        self,
        area: str,
        now: datetime,
        site: Point | None,
        arrive_within_minutes: float,
        rules: RoutingRules = DEFAULT_RULES,
        exclude: frozenset[str] = frozenset(),
    ) -> Decision | None:
        """Who should take an order in `area` now; None when the area has no A/B pair. `exclude`: people
        not to choose (an order's holder when it is taken from them)."""
        pair = self.pairs.get(area)
        if pair is None:
            return None
        day = now.astimezone(SHANGHAI).date()
        moment = self._at(now)
        _, _, on_duty, on_leave, positions, at_desk = moment
        with self.lock:
            if self._built_for is not moment:
                people = [
                    (i, name, i in self.field_workers and i not in at_desk) for i, name in self.names.items()
                ]
                self._built = statuses(people, on_duty, on_leave, dict(self.open_counts), positions)
                self._built_for = moment
            staff = dict(self._built)
        return route(pair, day, staff, site, arrive_within_minutes, rules, exclude)

    def statuses_now(self, now: datetime) -> dict[str, StaffStatus]:
        """Everyone's StaffStatus at `now` (as `decide` sees them)."""
        moment = self._at(now)
        _, _, on_duty, on_leave, positions, at_desk = moment
        with self.lock:
            people = [
                (i, name, i in self.field_workers and i not in at_desk) for i, name in self.names.items()
            ]
            checked_at = {k: at for k, (_, at) in self.positions.items()}
            return statuses(people, on_duty, on_leave, dict(self.open_counts), positions, checked_at)

    def took(self, staff_id: str, from_staff: str | None = None) -> None:
        """Count a dispatch made by this process until the next reload (`from_staff`: the holder a
        reassigned order was taken from)."""
        with self.lock:
            for who, change in ((staff_id, 1), (from_staff, -1)):
                if who is None:
                    continue
                held = self.open_counts[who] = max(0, self.open_counts.get(who, 0) + change)
                status = self._built.get(who)
                if status is not None:
                    self._built[who] = replace(status, open_orders=held)


def load_duty(uow: UnitOfWork, street: str, now: datetime) -> DutySnapshot:
    end = now + DUTY_WINDOW
    staff = [s for s in uow.people.staff(street) if s.active]
    return DutySnapshot(
        start=now,
        end=end,
        pairs={p.area: p for p in uow.people.pairs(street)},
        names={s.id: s.name for s in staff},
        field_workers=frozenset(s.id for s in staff if s.posts & FIELD_POSTS),
        shifts=uow.people.shifts(street, now, end),
        absences=uow.people.absences(street, now, end),
        positions=uow.people.positions(street, now - POSITION_FRESH),
        open_counts=uow.orders.open_counts(street),
        departments={d.code: d.name for d in uow.people.departments(street)},
    )


class DutyCache:
    """One snapshot per street; `forget` after the roster, pairs or leave change."""

    def __init__(
        self, uow: UnitOfWorkFactory, load: Callable[[UnitOfWork, str, datetime], DutySnapshot]
    ) -> None:
        self._uow = uow
        self._load = load
        self._snapshots: dict[str, DutySnapshot] = {}
        self._lock = threading.Lock()

    def get(self, street: str, now: datetime, uow: UnitOfWork | None = None) -> DutySnapshot:
        """Read through `uow` when the caller has one open (a second one would wait for its lock)."""
        with self._lock:
            duty = self._snapshots.get(street)
        if duty is not None and duty.fresh(now):
            return duty
        if uow is None:
            with self._uow() as own:
                return self.get(street, now, own)
        duty = self._load(uow, street, now)
        with self._lock:
            self._snapshots[street] = duty
        return duty

    def forget(self) -> None:
        with self._lock:
            self._snapshots.clear()

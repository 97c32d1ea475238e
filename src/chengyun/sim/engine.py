"""The simulator: runs the demo street forward through the center's own services, on a simulated clock.

Everything happens as an event at a simulated time: a report reaches the center (created through intake,
which classifies, locates and routes it), a person reads an order, sets off, arrives, handles, plans or
returns it, the desk calls a complainant, the duty officer decides an extension or reassigns an order,
the sensors' gateways upload, the deadline worker fires what is due. The loop takes the earliest event,
moves the clock there and runs it: a day passes in as long as its work takes, never in a sleep. A live
pacer (`chengyun demo`) waits for the clock instead, and leaves deadlines and sensors to the server's
own workers.

The engine hears what the center does on the order bus (an order dispatched, reassigned, returned,
escalated; an extension asked), so orders that sensors file, and reassignments made by anyone, reach the
simulated people as they would reach their phones.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chengyun.adapters.clock import ManualClock
from chengyun.bootstrap import Center
from chengyun.domain.access import Actor, Role
from chengyun.domain.alarms import AlarmEvent, AlarmEventKind
from chengyun.domain.dispatch import walk_metres
from chengyun.domain.errors import DomainError
from chengyun.domain.events import OrderEvent
from chengyun.domain.geo import Point
from chengyun.domain.orders import Contact, OrderState, ReturnReason, Source, WorkOrder
from chengyun.domain.sla import Stage
from chengyun.domain.staff import Post, Shift
from chengyun.domain.twin import centre
from chengyun.services.deadlines import fire_due
from chengyun.services.orders import NewOrder
from chengyun.services.ports import Clock, OrderQuery
from chengyun.services.routing import FIELD_POSTS
from chengyun.sim import jingansi
from chengyun.sim.demand import Report
from chengyun.sim.staff import Behaviour

log = logging.getLogger(__name__)

LIVE = frozenset({OrderState.DISPATCHED, OrderState.RESPONDED, OrderState.ON_SITE})
CENTER_POINT = Point(121.4445, 31.225)  # the operations center, where the hotline desk sits
_ROLE_ORDER = (Post.AREA_MANAGER, Post.CHIEF_RESPONDER, Post.PATROL_OBSERVER)  # a field worker's role
GATEWAY_MESSAGES_PER_BATCH = (
    900  # an MQTT worker's receive window (adapters/mqtt.py): one batch per upload round
)


@dataclass
class Worker:
    """A field worker as the simulator moves them."""

    id: str
    name: str
    role: Role
    pace: float  # metres a minute
    position: Point
    queue: list[int] = field(default_factory=list)  # order ids to go to
    busy: bool = False  # walking to a site or working on one
    busy_minutes: float = 0.0
    orders: int = 0  # sites visited
    walk: tuple[Point, Point, datetime, datetime] | None = None  # from, to, set off, arrival

    def where(self, now: datetime) -> Point:
        """Their position now: on the way, the point reached so far along the walk."""
        if self.walk is None:
            return self.position
        a, b, t0, t1 = self.walk
        span = (t1 - t0).total_seconds()
        f = 1.0 if span <= 0 else min(1.0, max(0.0, (now - t0).total_seconds() / span))
        return Point(a.lon + f * (b.lon - a.lon), a.lat + f * (b.lat - a.lat))


@dataclass
class Tracked:
    """An order the simulator follows, with the truth it knows about it."""

    id: int
    report: Report | None  # None: filed by a sensor alarm
    site: Point | None
    callback: bool  # a complainant to call back
    category: str
    visits: int = 0  # arrivals on site so far (a returned order is visited again)


@dataclass
class Stats:
    reports: int = 0
    refused: int = 0
    misclassified: int = 0
    unlocated: int = 0
    returns: int = 0
    plans: int = 0
    extensions_asked: int = 0
    extensions_approved: int = 0
    reassigned: int = 0
    relieved: int = 0  # reassigned by the dispatcher: the holder would not arrive in time
    readings: int = 0
    rejected_readings: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # steps the center refused, by step
    alarms: Counter[str] = field(default_factory=Counter)
    alarm_colours: Counter[str] = field(default_factory=Counter)


class Pacer:
    """Moves the simulated clock to an event (jump) or waits for the clock to get there (live)."""

    live = False

    def stopped(self) -> bool:
        return False

    def reach(self, at: datetime) -> bool:
        """Move to `at`: True once the clock is there (a live pacer may return False before, so the
        loop can look again for an earlier event pushed meanwhile; `stopped()` ends the run)."""
        raise NotImplementedError

    def now(self) -> datetime:
        raise NotImplementedError


class JumpPacer(Pacer):
    def __init__(self, clock: ManualClock) -> None:
        self._clock = clock

    def reach(self, at: datetime) -> bool:
        if at > self._clock.now():
            self._clock.set(at)
        return True

    def now(self) -> datetime:
        now: datetime = self._clock.now()
        return now


class LivePacer(Pacer):
    """For a running server: waits (in real time) until the center's clock shows the event's time."""

    live = True

    def __init__(self, clock: Clock, stop: threading.Event, max_wait_s: float = 0.2) -> None:
        self._clock = clock
        self._stop = stop
        self._max_wait_s = max_wait_s

    def stopped(self) -> bool:
        return self._stop.is_set()

    def reach(self, at: datetime) -> bool:
        wait = self._clock.real_seconds_until(at)
        if wait > 0:
            self._stop.wait(min(wait, self._max_wait_s))
        return self._clock.real_seconds_until(at) <= 0

    def now(self) -> datetime:
        now: datetime = self._clock.now()
        return now


class Simulation:
    """One run of the street. `reports` come from `demand.day_script`; `uploads` (optional) gives the
    sensors' gateway uploads in jump mode. Deterministic for equal inputs: every random draw comes from
    a generator seeded by the seed and what the draw is for."""

    def __init__(
        self,
        center: Center,
        street: str,
        seed: int,
        start: datetime,
        end: datetime,
        reports: Sequence[Report],
        pacer: Pacer,
        uploads: Callable[[datetime], Sequence[tuple[str, bytes]]] | None = None,
        behaviour: Behaviour | None = None,
        sensor_step: timedelta = timedelta(minutes=5),
        settle: timedelta = timedelta(hours=2),
        more: Callable[[datetime, datetime], Sequence[Report]] | None = None,
    ) -> None:
        self.center = center
        self.street = street
        self.seed = seed
        self.start = start
        self.end = end
        self.until = end + settle  # staff keep working the day's orders after the last report
        self.pacer = pacer
        self.uploads = uploads  # the gateways' upload round due at a time (sensor_step apart)
        self.behaviour = behaviour or Behaviour()
        self.sensor_step = sensor_step
        self.stats = Stats()
        self.tracked: dict[int, Tracked] = {}
        self.workers: dict[str, Worker] = {}
        self._queue: list[tuple[datetime, int, str, Any]] = []
        self._seq = itertools.count()
        self._lock = threading.RLock()
        self._shifts: list[Shift] = []
        self._names: dict[str, str] = {}
        self._desk_free: dict[str, datetime] = {}  # hotline handler -> when their line is free
        self._desk_waiting: list[tuple[datetime, int, str, int]] = []  # due, seq, "first"/"callback", order
        self._reports = list(reports)
        self._more = more  # the reports of a further hour, asked for one hour at a time (a live run)
        self._unsubscribe: list[Callable[[], None]] = []
        self.wall_seconds = 0.0

    # --- set-up ------------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Read the street's people and roster, place everyone, schedule the day."""
        with self.center.uow() as uow:
            people = [p for p in uow.people.staff(self.street) if p.active]
            self._shifts = uow.people.shifts(self.street, self.start - timedelta(days=1), self.until)
            pairs = uow.people.pairs(self.street)
        home = {p.a_staff: p.area for p in pairs} | {p.b_staff: p.area for p in pairs}
        offices = area_offices()
        self._names = {p.id: p.name for p in people}
        for p in people:
            if p.posts & FIELD_POSTS:
                rng = self._rng("pace", p.id)
                role = next(Role(post.value) for post in _ROLE_ORDER if post in p.posts)
                where = offices.get(home.get(p.id, ""), CENTER_POINT)
                # On a shift already under way at the start: where that shift's post is.
                for shift in self._shifts:
                    if shift.staff == p.id and shift.covers(self.start) and shift.area:
                        where = offices.get(shift.area, where)
                self.workers[p.id] = Worker(p.id, p.name, role, self.behaviour.pace(rng), where)
        self._unsubscribe.append(self.center.bus.subscribe(self._on_order_events))
        self._unsubscribe.append(self.center.alarm_bus.subscribe(self._on_alarm_events))
        for report in self._reports:
            self._push(report.at, "report", report)
        if self._more is not None:
            self._push(self.start, "more_reports", self.start)
        for shift in self._shifts:
            if shift.post is Post.HOTLINE_HANDLER and self.start <= shift.start < self.until:
                self._push(shift.start, "desk_shift", None)
        for worker in self.workers.values():
            for shift in self._shifts:
                if shift.staff == worker.id and self.start <= shift.start < self.until:
                    self._push(shift.start, "shift_start", shift)
        every = timedelta(minutes=self.behaviour.checkin_every)
        t = self.start
        while t < self.until:
            self._push(t, "checkins", None)
            t += every
        if not self.pacer.live:
            t = self.start + timedelta(minutes=1)
            while t <= self.until:
                self._push(t, "deadlines", None)
                t += timedelta(minutes=1)
            if self.uploads is not None:
                t = self.start + self.sensor_step
                while t <= self.end:
                    self._push(t, "sensors", None)
                    t += self.sensor_step
                t = self.start + timedelta(hours=1)
                while t <= self.end:
                    self._push(t, "roll_up", None)
                    t += timedelta(hours=1)

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()

    # --- the loop ----------------------------------------------------------------------------------

    def run(self, progress: Callable[[datetime], None] | None = None) -> None:
        """Run every event up to the end of the settling time (or until a live pacer is stopped)."""
        began = time.perf_counter()
        last_hour: datetime | None = None
        try:
            while True:
                with self._lock:
                    if not self._queue or self._queue[0][0] > self.until:
                        break
                    at = self._queue[0][0]
                if self.pacer.stopped():
                    break
                if not self.pacer.reach(at):
                    continue
                with self._lock:
                    at, _, kind, payload = heapq.heappop(self._queue)
                self._do(kind, payload, at)
                if progress is not None and (last_hour is None or at - last_hour >= timedelta(hours=1)):
                    last_hour = at
                    progress(at)
        finally:
            self.wall_seconds += time.perf_counter() - began

    def _push(self, at: datetime, kind: str, payload: Any) -> None:
        with self._lock:
            heapq.heappush(self._queue, (at, next(self._seq), kind, payload))

    def _rng(self, *parts: object) -> random.Random:
        return random.Random(":".join(str(p) for p in (self.seed, *parts)))

    def _do(self, kind: str, payload: Any, at: datetime) -> None:
        handler = getattr(self, f"_on_{kind}")
        try:
            # Under the lock: in a live run, other threads' order events (API calls, the deadline worker)
            # reach `_on_order_events` meanwhile. They publish after committing, so waiting here holds
            # no database lock against us.
            with self._lock:
                handler(payload, at)
        except DomainError as exc:
            self.stats.skipped[kind] += 1
            log.debug("sim step %s skipped: %s", kind, exc.message)

    # --- reports -----------------------------------------------------------------------------------

    def _on_report(self, report: Report, at: datetime) -> None:
        self.stats.reports += 1
        source = Source(report.source)
        if source in (Source.HOTLINE, Source.CITIZEN_APP):
            actor = Actor(Role.HOTLINE_SYSTEM, frozenset({self.street}), None, source.label, f"sim-{source}")
            caller = Contact(*report.caller) if report.caller else None
            command = NewOrder(
                source=source.value,
                category=None,  # a call is words and an address: intake classifies, locates, routes
                description=report.text,
                street=self.street,
                address=report.address,
                complainant=caller,
            )
        else:
            observer = self._on_duty(Post.PATROL_OBSERVER, at) if source is Source.PATROL else None
            finder = self.workers.get(observer or "")
            if finder is not None and not finder.busy and report.position is not None:
                finder.position = report.position  # the observer stands where they found it
            actor = Actor(
                Role.PATROL_OBSERVER,
                frozenset({self.street}),
                observer,
                self._names.get(observer or "", source.label),
                f"sim-{source}",
            )
            command = NewOrder(
                source=source.value,
                category=report.category,
                description=report.text,
                street=self.street,
                point=report.position,
            )
        try:
            order = self.center.orders.create(actor, command).order
        except DomainError as exc:
            self.stats.refused += 1
            log.info("report %s refused: %s", report.no, exc.message)
            return
        assert order.id is not None
        if order.category != report.category:
            self.stats.misclassified += 1
        with self._lock:
            self.tracked[order.id] = Tracked(
                order.id,
                report,
                order.location.point or report.point,
                bool(order.complainants),
                report.category,
            )
        self._after_create(order, at, report.area)

    def _on_more_reports(self, since: datetime, at: datetime) -> None:
        assert self._more is not None
        until = min(since + timedelta(hours=1), self.end)
        for report in self._more(since, until):
            self._push(report.at, "report", report)
        if until < self.end:
            self._push(until, "more_reports", until)

    def _after_create(self, order: WorkOrder, at: datetime, area: str | None) -> None:
        assert order.id is not None
        rng = self._rng("intake", order.id)
        if order.state is OrderState.RECEIVED:  # intake could not place it: the desk does
            self.stats.unlocated += 1
            self._push(at + _minutes(rng, self.behaviour.place_after), "place", (order.id, area))
        if order.complainants:
            self._push(at + _minutes(rng, self.behaviour.pick_up), "first_call", order.id)

    def _on_place(self, payload: tuple[int, str | None], at: datetime) -> None:
        order_id, area = payload
        handler = self._desk_person(at)
        self.center.orders.dispatch(handler, order_id, None, "受理员核实地址后指定居民区", area=area)

    # --- the hotline desk ----------------------------------------------------------------------------

    def _desk_person(self, at: datetime) -> Actor:
        staff = self._on_duty(Post.HOTLINE_HANDLER, at)
        return Actor(
            Role.HOTLINE_HANDLER, frozenset({self.street}), staff, self._names.get(staff or "", "受理员")
        )

    def _desk_ask(self, kind: str, order_id: int, due: datetime, at: datetime) -> None:
        """Put a call (`first` contact or `callback`) on the desk's list and let any free line take it."""
        self._desk_waiting.append((due, next(self._seq), kind, order_id))
        self._desk_serve(at)

    def _desk_serve(self, at: datetime) -> None:
        """Each free line on shift takes the next call: those still in time before those already late,
        earliest deadline first (a red order's 3-minute first contact goes ahead of the blue ones that
        came in before it); a first contact somebody already made (the assignee on site) is dropped."""
        lines = sorted(
            s.staff
            for s in self._shifts
            if s.post is Post.HOTLINE_HANDLER
            and s.covers(at)
            and self._desk_free.get(s.staff, at) <= at
            and not (s.staff in self.workers and self.workers[s.staff].busy)  # a B gone to a site
        )
        for staff in dict.fromkeys(lines):
            call = self._desk_pick(at)
            if call is None:
                return
            kind, order_id, colour = call
            span = self.behaviour.red_call if kind == "first" and colour == "red" else self.behaviour.call
            rng = self._rng(kind, order_id)
            reached = at + _minutes(rng, self.behaviour.ring)
            ends = reached + _minutes(rng, span)
            self._desk_free[staff] = ends
            handler = Actor(
                Role.HOTLINE_HANDLER, frozenset({self.street}), staff, self._names.get(staff, staff)
            )
            if kind == "first":  # 先联 counts once the caller is reached; the line is busy until the end
                self._push(reached, "first_contact", (order_id, handler))
            self._push(ends, "desk_done", (kind, order_id, handler))

    def _desk_pick(self, at: datetime) -> tuple[str, int, str] | None:
        while self._desk_waiting:
            best = min(self._desk_waiting, key=lambda c: (c[0] < at, c[0], c[1]))
            self._desk_waiting.remove(best)
            _, _, kind, order_id = best
            order = self.center.orders.get(self._desk_person(at), order_id)
            if kind == "first" and order.state not in (OrderState.RECEIVED, OrderState.DISPATCHED):
                continue  # already responded: nobody to call first
            return kind, order_id, order.colour.value
        return None

    def _on_desk_done(self, payload: tuple[str, int, Actor], at: datetime) -> None:
        kind, order_id, handler = payload
        try:
            if kind == "callback":
                self._on_callback_done((order_id, handler), at)
        finally:
            self._desk_serve(at)

    def _on_desk_shift(self, _: None, at: datetime) -> None:
        self._desk_serve(at)

    def _on_first_call(self, order_id: int, at: datetime) -> None:
        order = self.center.orders.get(self._desk_person(at), order_id)
        clock = order.clocks.get(Stage.RESPOND)
        self._desk_ask("first", order_id, clock.due_at if clock else at, at)

    def _on_first_contact(self, payload: tuple[int, Actor], at: datetime) -> None:
        order_id, handler = payload
        order = self.center.orders.get(handler, order_id)
        if order.state is OrderState.RECEIVED:  # not placed yet: call again once it is
            self._push(at + timedelta(minutes=1), "first_contact", payload)
            return
        if order.state is OrderState.DISPATCHED:
            self.center.orders.respond(handler, order_id, "先联：已电话联系诉求人，了解情况并告知处置安排")

    # --- field workers -------------------------------------------------------------------------------

    def _on_order_events(self, events: Sequence[OrderEvent]) -> None:
        """What the center did, as the people's phones hear it (called within the service call)."""
        now = self.pacer.now()
        for e in events:
            if e.street != self.street:
                continue
            if e.kind in ("dispatched", "reassigned"):
                self._assigned(e, now)
            elif e.kind == "returned":
                rng = self._rng("redispatch", e.order_id, e.entry.seq)
                self._push(now + _minutes(rng, self.behaviour.redispatch_after), "redispatch", e.order_id)
            elif e.kind == "escalated" and e.entry.data.get("rung") == "duty_officer":
                rng = self._rng("reassign", e.order_id, e.entry.seq)
                self._push(now + _minutes(rng, self.behaviour.reassign_after), "reassign", e.order_id)
            elif e.kind == "extension_requested":
                rng = self._rng("decide", e.order_id, e.entry.seq)
                self._push(now + _minutes(rng, self.behaviour.decision), "decide", e.order_id)

    def _assigned(self, e: OrderEvent, now: datetime) -> None:
        with self._lock:
            if e.order_id not in self.tracked:  # filed by a sensor alarm (or outside the simulator)
                self.tracked[e.order_id] = Tracked(e.order_id, None, None, False, e.category)
            previous = e.entry.data.get("previous")
            if previous in self.workers and e.order_id in self.workers[previous].queue:
                self.workers[previous].queue.remove(e.order_id)
            worker = self.workers.get(e.assignee or "")
            if worker is None:
                return
            worker.queue.append(e.order_id)
            busy = worker.busy
        rng = self._rng("notice", e.order_id, e.entry.seq)
        self._push(
            now + timedelta(minutes=self.behaviour.notice_delay(rng, busy)), "notice", (worker.id, e.order_id)
        )

    def _actor(self, worker: Worker) -> Actor:
        return Actor(worker.role, frozenset({self.street}), worker.id, worker.name)

    def _on_notice(self, payload: tuple[str, int], at: datetime) -> None:
        staff, order_id = payload
        worker = self.workers[staff]
        if not self._working(staff, at) and not self._finishing(staff, at):
            return  # read when the shift starts (shift_start)
        self._acknowledge(worker, order_id)
        if not worker.busy:
            self._next_job(worker, at)

    def _acknowledge(self, worker: Worker, order_id: int) -> None:
        """An order with no complainant (patrol, drone, sensor) is responded to by its assignee."""
        tracked = self.tracked.get(order_id)
        if tracked is None or tracked.callback:
            return
        order = self.center.orders.get(self._actor(worker), order_id)
        if order.state is OrderState.DISPATCHED and order.assignee == worker.id:
            self.center.orders.respond(
                self._actor(worker), order_id, "已收到，马上前往现场", worker.where(self.pacer.now())
            )

    def _on_shift_start(self, shift: Shift, at: datetime) -> None:
        """A shift begins where its post is: an area manager at the area's committee office, anyone else
        at the center."""
        worker = self.workers[shift.staff]
        if worker.walk is None and not worker.busy:
            worker.position = area_offices().get(shift.area or "", CENTER_POINT)
        # The staff app reports where its holder starts (routing does not wait for the next round).
        self.center.directory.check_in(self._actor(worker), worker.where(at), at)
        for order_id in list(worker.queue):
            self._acknowledge(worker, order_id)
        if not worker.busy:
            self._next_job(worker, at)

    def _working(self, staff: str, at: datetime) -> bool:
        return any(s.staff == staff and s.covers(at) for s in self._shifts)

    def _finishing(self, staff: str, at: datetime) -> bool:
        """Within the overtime after a shift's end: still seeing through the orders already in hand."""
        overtime = timedelta(minutes=self.behaviour.overtime)
        return any(s.staff == staff and s.end <= at < s.end + overtime for s in self._shifts)

    def _next_job(self, worker: Worker, at: datetime) -> None:
        """Set off for the queued order with the earliest arrival deadline that can still be met (else
        the earliest)."""
        if not worker.queue or not (self._working(worker.id, at) or self._finishing(worker.id, at)):
            return
        actor = self._actor(worker)
        candidates: list[tuple[datetime, int, WorkOrder]] = []
        for order_id in list(worker.queue):
            order = self.center.orders.get(actor, order_id)
            if order.assignee != worker.id or order.state not in LIVE:
                worker.queue.remove(order_id)
                continue
            clock = order.clocks.get(Stage.ARRIVE)
            candidates.append((clock.due_at if clock else order.received_at, order_id, order))
        if not candidates:
            return

        def site_of(order: WorkOrder) -> Point:
            tracked = self.tracked.get(order.id or 0)
            return order.location.point or (tracked.site if tracked else None) or worker.position

        def in_time(due: datetime, order: WorkOrder) -> bool:
            walk = walk_metres(worker.position, site_of(order)) / worker.pace
            return at + timedelta(minutes=max(self.behaviour.set_off) + walk) <= due

        # Those still reachable in time first, earliest deadline first (a red order's 10 minutes before a
        # blue order's 15); then the ones already late.
        _, order_id, order = min(candidates, key=lambda c: (not in_time(c[0], c[2]), c[0], c[1]))
        worker.queue.remove(order_id)
        site = site_of(order)
        rng = self._rng("travel", order_id, worker.id)
        minutes = rng.uniform(*self.behaviour.set_off) + walk_metres(worker.position, site) / worker.pace
        arrive = at + timedelta(minutes=minutes)
        worker.busy = True
        worker.walk = (worker.position, site, at, arrive)
        self._push(arrive, "arrive", (worker.id, order_id, site, at))

    def _on_arrive(self, payload: tuple[str, int, Point, datetime], at: datetime) -> None:
        staff, order_id, site, set_off = payload
        worker = self.workers[staff]
        worker.walk, worker.position = None, site
        worker.busy_minutes += (at - set_off).total_seconds() / 60
        actor = self._actor(worker)
        order = self.center.orders.get(actor, order_id)
        if order.assignee != staff or order.state not in LIVE:
            self._free(worker, at)
            return
        if order.state is OrderState.DISPATCHED:  # the desk has not reached the caller yet: call now
            order = self.center.orders.respond(actor, order_id, "已联系诉求人，到场核实", site)
        if order.state is OrderState.RESPONDED:
            order = self.center.orders.arrive(actor, order_id, site, "已到达现场")
        worker.orders += 1
        tracked = self.tracked.get(order_id)
        category = tracked.category if tracked else order.category
        visit = 0
        if tracked is not None:
            tracked.visits += 1
            visit = tracked.visits
        rng = self._rng("handling", order_id, visit)
        outcome, minutes = self.behaviour.handling(rng, category)
        done = at + timedelta(minutes=minutes)
        handle = order.clocks.get(Stage.HANDLE)
        if outcome == "handle" and handle is not None and done > handle.due_at:
            ask = handle.started_at + (handle.due_at - handle.started_at) * 0.7
            if rng.random() < self.behaviour.extension_share and ask < done:
                self._push(max(ask, at), "extension", (staff, order_id, done))
        self._push(done, outcome, (staff, order_id, at))

    def _free(self, worker: Worker, at: datetime) -> None:
        worker.busy = False
        self._next_job(worker, at)
        if not worker.busy and self._desk_waiting:  # back at the desk, if a hotline shift is theirs
            self._desk_serve(at)

    def _on_handle(self, payload: tuple[str, int, datetime], at: datetime) -> None:
        staff, order_id, since = payload
        worker = self.workers[staff]
        worker.busy_minutes += (at - since).total_seconds() / 60
        try:
            self.center.orders.handle(self._actor(worker), order_id, "现场已处置完毕，拍照留档")
            self._after_handled(worker, order_id, at)
        finally:
            self._free(worker, at)

    def _on_plan(self, payload: tuple[str, int, datetime], at: datetime) -> None:
        staff, order_id, since = payload
        worker = self.workers[staff]
        worker.busy_minutes += (at - since).total_seconds() / 60
        try:
            when = at + timedelta(days=self._rng("plan", order_id).choice((1, 2, 3)))
            self.center.orders.plan(
                self._actor(worker), order_id, "需产权单位或专业公司维修，已明确方案和完成时间", when
            )
            self.stats.plans += 1
        finally:
            self._free(worker, at)

    def _on_return(self, payload: tuple[str, int, datetime], at: datetime) -> None:
        staff, order_id, since = payload
        worker = self.workers[staff]
        worker.busy_minutes += (at - since).total_seconds() / 60
        try:
            self.center.orders.return_order(
                self._actor(worker),
                order_id,
                ReturnReason.WRONG_DEPARTMENT,
                "现场核实不属本岗位职责，请重新派遣",
            )
            self.stats.returns += 1
        finally:
            self._free(worker, at)

    def _on_redispatch(self, order_id: int, at: datetime) -> None:
        self.center.orders.dispatch(self._desk_person(at), order_id, None, "退单后重新派遣")

    def _on_extension(self, payload: tuple[str, int, datetime], at: datetime) -> None:
        staff, order_id, done = payload
        until = done + timedelta(minutes=10)
        self.center.orders.request_extension(
            self._actor(self.workers[staff]), order_id, until, "现场情况复杂，需协调相关单位", Stage.HANDLE
        )
        self.stats.extensions_asked += 1

    def _on_decide(self, order_id: int, at: datetime) -> None:
        officer = self._on_duty(Post.DUTY_OFFICER, at)
        actor = Actor(
            Role.DUTY_OFFICER, frozenset({self.street}), officer, self._names.get(officer or "", "值班长")
        )
        approve = self._rng("approve", order_id).random() < self.behaviour.extension_approved
        self.center.orders.decide_extension(actor, order_id, approve, "同意" if approve else "请按时处置")
        self.stats.extensions_approved += approve

    def _on_reassign(self, order_id: int, at: datetime) -> None:
        """The duty officer, told of an order still waiting at twice its time, reassigns it when its
        assignee is not on shift (the dispatcher chooses again)."""
        officer = self._on_duty(Post.DUTY_OFFICER, at)
        actor = Actor(
            Role.DUTY_OFFICER, frozenset({self.street}), officer, self._names.get(officer or "", "值班长")
        )
        order = self.center.orders.get(actor, order_id)
        if order.state not in (OrderState.DISPATCHED, OrderState.RESPONDED) or order.assignee is None:
            return
        if self._working(order.assignee, at):
            return
        # 改派: a first contact already made (responded) stands.
        self.center.orders.reassign(actor, order_id, None, "承办人不在班，值班长改派")
        self.stats.reassigned += 1

    def _after_handled(self, worker: Worker, order_id: int, at: datetime) -> None:
        tracked = self.tracked.get(order_id)
        rng = self._rng("close", order_id)
        if tracked is not None and tracked.callback:
            self._push(at + _minutes(rng, self.behaviour.callback_after), "callback", order_id)
        else:
            self._push(
                at + _minutes(rng, self.behaviour.self_close_after), "self_close", (worker.id, order_id)
            )

    def _on_callback(self, order_id: int, at: datetime) -> None:
        order = self.center.orders.get(self._desk_person(at), order_id)
        clock = order.clocks.get(Stage.CLOSE)
        self._desk_ask("callback", order_id, clock.due_at if clock else at, at)

    def _on_callback_done(self, payload: tuple[int, Actor], at: datetime) -> None:
        order_id, handler = payload
        satisfaction = self.behaviour.satisfied(self._rng("satisfied", order_id))
        self.center.orders.close_loop(handler, order_id, "已回访诉求人，结果已反馈并确认", satisfaction)
        self._push(
            at + _minutes(self._rng("case", order_id), self.behaviour.case_close_after), "close", order_id
        )

    def _on_self_close(self, payload: tuple[str, int], at: datetime) -> None:
        staff, order_id = payload
        self.center.orders.close_loop(
            self._actor(self.workers[staff]), order_id, "已上传处置照片，现场核实闭环"
        )
        self._push(
            at + _minutes(self._rng("case", order_id), self.behaviour.case_close_after), "close", order_id
        )

    def _on_close(self, order_id: int, at: datetime) -> None:
        self.center.orders.close(self._desk_person(at), order_id, "结案")

    # --- background ----------------------------------------------------------------------------------

    def _on_checkins(self, _: None, at: datetime) -> None:
        for worker in self.workers.values():
            if self._working(worker.id, at):
                self.center.directory.check_in(self._actor(worker), worker.where(at), at)

    def _on_deadlines(self, _: None, at: datetime) -> None:
        c = self.center
        while fire_due(c.uow, c.clock, c.bus.publish, c.orders, 200) >= 200:
            pass
        # The dispatcher looks over the orders in hand each minute: one whose holder will not make its
        # arrival deadline goes to someone who can (改派).
        self.stats.relieved += c.orders.relieve_late(self.street)

    def _on_sensors(self, _: None, at: datetime) -> None:
        assert self.uploads is not None
        messages = self.uploads(at)
        for k in range(0, len(messages), GATEWAY_MESSAGES_PER_BATCH):
            report = self.center.ingest.ingest_messages(messages[k : k + GATEWAY_MESSAGES_PER_BATCH])
            self.stats.readings += report.readings
            self.stats.rejected_readings += len(report.rejected)
        while self.center.ingest.sweep() >= 500:
            pass

    def _on_roll_up(self, _: None, at: datetime) -> None:
        self.center.ingest.roll_up()

    def _on_alarm_events(self, events: Sequence[AlarmEvent]) -> None:
        for e in events:
            if e.street == self.street:
                self.stats.alarms[e.kind.value] += 1
                if e.kind is AlarmEventKind.RAISED:
                    self.stats.alarm_colours[e.colour.value] += 1

    # --- helpers -------------------------------------------------------------------------------------

    def _on_duty(self, post: Post, at: datetime) -> str | None:
        return next((s.staff for s in self._shifts if s.post is post and s.covers(at)), None)

    def orders(self) -> list[WorkOrder]:
        """Every order of the run (received from its start), read back from the center."""
        out: list[WorkOrder] = []
        with self.center.uow() as uow:
            offset = 0
            while True:
                page = uow.orders.search(
                    OrderQuery(
                        street=self.street, since=self.start, until=self.until, limit=500, offset=offset
                    )
                )
                out += page.items
                offset += 500
                if offset >= page.total:
                    break
        return sorted(out, key=lambda o: o.id or 0)

    def uncovered_hours(self) -> list[int]:
        """Local hours of the run's first day in which no field worker is on shift at all."""
        local = self.start.astimezone(jingansi.CST).replace(hour=0, minute=0, second=0, microsecond=0)
        out = []
        for hour in range(24):
            at = local + timedelta(hours=hour, minutes=30)
            if not any(s.staff in self.workers and s.covers(at) for s in self._shifts):
                out.append(hour)
        return out

    def utilisation(self) -> dict[str, Any]:
        """Each field worker's busy share of their on-shift time within the run."""
        people = []
        busy_total = shift_total = 0.0
        for w in sorted(self.workers.values(), key=lambda w: w.id):
            on = sum(
                max(0.0, (min(s.end, self.until) - max(s.start, self.start)).total_seconds() / 60)
                for s in self._shifts
                if s.staff == w.id
            )
            if on <= 0 and w.busy_minutes <= 0:
                continue
            busy_total += w.busy_minutes
            shift_total += on
            people.append(
                {
                    "id": w.id,
                    "name": w.name,
                    "sites": w.orders,
                    "busy_minutes": round(w.busy_minutes, 1),
                    "shift_minutes": round(on, 1),
                    "utilisation": round(w.busy_minutes / on, 3) if on else None,
                }
            )
        return {"utilisation": round(busy_total / shift_total, 3) if shift_total else None, "people": people}


def _minutes(rng: random.Random, span: tuple[float, float]) -> timedelta:
    return timedelta(minutes=rng.uniform(*span))


@functools.lru_cache(maxsize=1)
def area_offices() -> dict[str, Point]:
    """Each residential area's committee office: where its manager starts a shift (the area's centre)."""
    return {
        f["properties"]["code"]: centre(f["geometry"])
        for f in jingansi.places()["features"]
        if f["properties"]["kind"] == "area"
    }

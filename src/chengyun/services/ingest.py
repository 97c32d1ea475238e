"""Sensor ingestion: readings in, stored in batches, every rule evaluated, alarms raised and cleared.

One call takes a whole batch (an MQTT worker's buffer, one HTTP body): the registry check, the
validation and the rules run per reading in memory; the store sees one transaction with a handful of
bulk statements. The rules' state lives in the store (`SensorLive`), so any worker may take any batch:
several workers can split one MQTT stream (`$share`) and a restarted worker carries on where the last
one stopped.

Rules see the readings newer than the sensor's latest; an older reading (out of order, or an MQTT
redelivery after a crash) is stored if new but does not drive alarms twice.

Alarms of the colours the policy names become work orders after the batch is stored, located at the
sensor and categorised by its kind; when such an alarm clears, the clearing goes into the order's
timeline.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol, cast

from chengyun.domain.access import Actor, Role
from chengyun.domain.alarms import Alarm, AlarmBook, AlarmEvent, AlarmEventKind, AlarmPolicy, AlarmState
from chengyun.domain.errors import DomainError, Unavailable
from chengyun.domain.orders import Source
from chengyun.domain.rules import Observed, SensorEvaluator, Transition
from chengyun.domain.sensors import DEFAULT_LIMITS, Reading, Sensor, SensorKind, TimeLimits, validate
from chengyun.services.memory import paused_gc
from chengyun.services.orders import NewOrder, OrderService
from chengyun.services.ports import (
    AlarmQuery,
    Clock,
    DeadLetter,
    PointRow,
    SensorLive,
    UnitOfWork,
    UnitOfWorkFactory,
)

log = logging.getLogger(__name__)

# The order category each sensor kind's alarm files under (the built-in catalogue's codes); a street
# whose catalogue lacks the code leaves the choice to the classifier.
ALARM_CATEGORIES: dict[SensorKind, str] = {
    SensorKind.STRUCTURAL_DISPLACEMENT: "040105",  # 建筑结构安全隐患
    SensorKind.TILT: "040105",
    SensorKind.CRACK_WIDTH: "040105",
    SensorKind.MANHOLE_COVER: "100103",  # 雨水井盖
    SensorKind.WATER_LEVEL: "040104",  # 道路积水
    SensorKind.SMOKE: "040107",  # 火情
    SensorKind.GAS: "040103",  # 燃气管道破裂
    SensorKind.NOISE: "900101",  # 噪声扰民
    SensorKind.CROWD_DENSITY: "050105",  # 人群聚集
    SensorKind.EBIKE_PARKING: "050104",  # 非机动车乱停放
    SensorKind.STREET_LIGHT: "100118",  # 路灯
    SensorKind.LITTER_BIN: "010104",  # 垃圾满溢
    SensorKind.AIR_QUALITY: "900199",  # 其他诉求
}

ALWAYS = datetime.min.replace(tzinfo=UTC)  # "listening since forever": every silence counts
ALARM_ACTOR = Actor(Role.SENSOR_SYSTEM, frozenset(), None, "感知告警引擎", "alarm-engine")
NOTE_ACTOR = Actor(Role.ADMIN, frozenset(), None, "感知告警引擎", "alarm-engine")
REGISTRY_TTL_S = 1.0
ORDER_SETTLE = timedelta(minutes=1)  # an alarm this old without its order did not get it the usual way
ORDER_REPAIR_WINDOW = timedelta(days=1)  # how far back `file_missing_orders` looks
ROLL_UP_OVERLAP = timedelta(minutes=15)  # how stale the in-memory registry may be before its stamp is checked


class IncomingReading(Protocol):
    """A decoded reading as the payload decoder gives it (adapters/payloads.py `Decoded`)."""

    sensor_id: str
    ts: datetime
    values: dict[str, float]
    street: str | None
    units: dict[str, str] | None


class IncomingRejection(Protocol):
    """A payload, reading or value the decoder refused (adapters/payloads.py `Rejected`)."""

    code: str
    reason: str
    sensor_id: str | None
    excerpt: str
    index: int | None
    street: str | None


Decoded = tuple[Sequence[IncomingReading], Sequence[IncomingRejection]]
DecodeMessages = Callable[[Iterable[tuple[str, bytes]], datetime], Decoded]
DecodeBody = Callable[[bytes, datetime], Decoded]


class OrderPort(Protocol):
    """What ingestion needs of the order service."""

    def create_for_alarm(self, alarm: AlarmEvent, sensor: Sensor, category: str | None) -> int | None:
        """File a work order for a raised alarm; returns its id (None if it could not be filed)."""

    def note_alarm(self, order_id: int, street: str, message: str) -> None:
        """Write an alarm's later history (cleared, reopened) into its order's timeline."""


@dataclass(frozen=True)
class Rejection:
    """One refused reading or payload, as a sender is told."""

    code: str
    reason: str
    sensor_id: str | None = None
    index: int | None = None


@dataclass
class IngestReport:
    readings: int = 0  # readings accepted
    points: int = 0  # data points newly stored (a redelivered point is not stored twice)
    rejected: list[Rejection] = field(default_factory=list)
    events: list[AlarmEvent] = field(default_factory=list)
    orders: list[int] = field(default_factory=list)


class IngestService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        decode_messages: DecodeMessages,
        decode_body: DecodeBody,
        publish: Callable[[Sequence[AlarmEvent]], None] = lambda _: None,
        orders: OrderPort | None = None,
        policy: AlarmPolicy | None = None,
        limits: TimeLimits = DEFAULT_LIMITS,
        listening: Callable[[], datetime | None] = lambda: ALWAYS,
        state_every: float = 0.0,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._decode_messages = decode_messages
        self._decode_body = decode_body
        self._publish = publish
        self._orders = orders
        self.policy = policy or AlarmPolicy()
        self._limits = limits
        # Since when the sensors have been audible (None: not now); the offline rule counts only silence
        # heard (adapters/listening.py).
        self._listening = listening
        self._registry: dict[str, Sensor] = {}
        self._stamp: int | None = None
        self._checked = 0.0
        # One thread reloads the registry; the others wait for its result instead of each loading every
        # street's sensors at once (after a start or an import, every waiting batch would).
        self._registry_lock = threading.Lock()
        self._cache: dict[str, tuple[SensorLive, SensorEvaluator, Sensor]] = {}
        # Seconds (of the service's clock: simulated ones in the simulator) between two saves of one
        # sensor's live state (0: every batch that touches it). Above 0 the newest state stays in
        # memory (`_unsaved`) in between: fewer writes, and a crash loses the rule state and latest
        # values that readings of the last `state_every` seconds brought (the readings and the alarms
        # are stored with their batch all the same). Only for a sensor that one process ingests:
        # another worker would pick up its older stored state.
        self._state_every = state_every
        self._hold = timedelta(seconds=state_every)
        self._saved_at: dict[str, datetime] = {}  # sensor id -> the clock's time of its last save
        self._unsaved: dict[str, tuple[SensorLive, SensorEvaluator]] = {}
        # With `state_every` above 0 the stored check time of a sensor this service ingests is not
        # the one the sweep must go by: a held state's is older than the one in memory, and a state
        # saved by a batch is stored with its check time moved `state_every` on (`_leased`), so that
        # the store does not hand the sweep every held sensor again once its stored time passes (a
        # once-a-minute sensor's within three minutes). The sweep goes by these sensors' check times
        # in memory (`live.check_at`, kept current); a clean stop stores the true ones.
        self._watched: dict[str, tuple[SensorLive, SensorEvaluator]] = {}
        self._leased: set[str] = set()
        # The oldest reading stored since the last roll-up. At start-up: the last quarter hour, so
        # what an earlier process stored but did not roll up yet is covered.
        self._dirty_since: datetime | None = clock.now() - ROLL_UP_OVERLAP
        self.counters: dict[str, int] = {"readings": 0, "points": 0, "rejected": 0, "batches": 0}

    # --- the registry as ingestion sees it ----------------------------------------------------------

    def sensors(self) -> dict[str, Sensor]:
        """Every registered sensor by id, refreshed when the store's registry stamp moves."""
        if self._registry_fresh():
            return self._registry
        with self._registry_lock:
            if self._registry_fresh():  # another thread refreshed it while this one waited
                return self._registry
            now = time.monotonic()
            with self._uow() as uow:
                stamp = uow.sensors.registry_stamp()
                if stamp != self._stamp:
                    self._registry = {s.id: s for s in uow.sensors.list(None)}
                    self._stamp = stamp
            self._checked = now
            return self._registry

    def _registry_fresh(self) -> bool:
        return self._stamp is not None and time.monotonic() - self._checked < REGISTRY_TTL_S

    def warm(self) -> int:
        """Loads every sensor's live state and evaluator before the stream starts, so the first
        seconds after a (re)start run as fast as the rest. Each entry is still checked against the
        store's version when used. Returns how many were loaded."""
        registry = self.sensors()
        now = self._clock.now()
        with self._uow() as uow:
            stored = uow.sensors.live(list(registry), lock=False)
        for sensor_id, live in stored.items():
            sensor = registry[sensor_id]
            evaluator = SensorEvaluator(sensor_id, sensor.rule_set, sensor.period, live.last_ts or now)
            evaluator.restore(live.state)
            self._cache[sensor_id] = (live, evaluator, sensor)
        return len(stored)

    def forget_registry(self) -> None:
        self._stamp = None

    # --- ingestion -----------------------------------------------------------------------------------

    def ingest_messages(self, messages: Sequence[tuple[str, bytes]], source: str = "mqtt") -> IngestReport:
        """MQTT messages (topic, payload) received together; returns once everything is stored."""
        # A batch is tens of thousands of objects that live until it is stored: no collection walks
        # them meanwhile (bench/sensor_ingest.py: about a quarter of the CPU per point).
        with paused_gc():
            now = self._clock.now()
            decoded, rejected = self._decode_messages(messages, now)
            report = self._ingest(decoded, rejected, source, now, None)
            # Freed before the collector resumes: else its first collection walks the whole batch
            # once more (about 4 % of the CPU per point).
            del decoded, rejected
        return report

    def ingest_body(self, body: bytes, streets: frozenset[str] | None = None) -> IngestReport:
        """An HTTP body (a gateway list or SenML); `streets` limits which streets' sensors it may feed."""
        with paused_gc():
            now = self._clock.now()
            decoded, rejected = self._decode_body(body, now)
            report = self._ingest(decoded, rejected, "http", now, streets)
            del decoded, rejected
        return report

    def _ingest(
        self,
        decoded: Sequence[IncomingReading],
        rejected: Sequence[IncomingRejection],
        source: str,
        now: datetime,
        streets: frozenset[str] | None,
    ) -> IngestReport:
        report = IngestReport()
        letters: list[DeadLetter] = []

        def refuse(
            code: str, reason: str, sensor_id: str | None, street: str | None, excerpt: str, index: int | None
        ) -> None:
            report.rejected.append(Rejection(code, reason, sensor_id, index))
            letters.append(DeadLetter(code, reason, now, source, street, sensor_id, excerpt[:200]))

        # A letter the payload does not place in a street belongs to the sender's, if it has only one.
        home = next(iter(streets)) if streets is not None and len(streets) == 1 else None
        for r in rejected:
            refuse(r.code, r.reason, r.sensor_id, r.street or home, r.excerpt, r.index)
        registry = self.sensors()
        accepted = _Screening(registry, streets, home, now, self._limits, refuse).screen(decoded)
        try:
            with self._uow() as uow:
                if accepted:
                    report.points = self._store(uow, registry, accepted, now, report)
                if letters:
                    uow.sensors.add_dead_letters(letters)
                uow.commit()
        except BaseException:
            self._forget()  # evaluators may have moved past what the store kept
            raise
        report.readings = sum(map(len, accepted.values()))
        self.counters["batches"] += 1
        self.counters["readings"] += report.readings
        self.counters["points"] += report.points
        self.counters["rejected"] += len(report.rejected)
        if letters:
            log.info("ingest: %d rejected (%s)", len(letters), letters[0].code)
        self._after(report)
        return report

    def _store(
        self,
        uow: UnitOfWork,
        registry: dict[str, Sensor],
        accepted: dict[str, list[Observed]],
        now: datetime,
        report: IngestReport,
    ) -> int:
        """The batch sensor by sensor: its points as driver-ready rows, every rule over its new
        readings at once (`observe_many`), its live state; then one bulk statement for each."""
        rows: list[PointRow] = []
        append = rows.append
        # The sensors in id order, sorted once: the order the store locks them in, and the order their
        # points are stored in (`_by_sensor`). The rules still see the sensors in arrival order.
        ids = sorted(accepted)
        lives = self._live(uow, registry, ids, now)
        transitions: list[Transition] = []
        dirty = self._dirty_since
        # Readings of one payload share their datetime objects (the decoder caches them): each distinct
        # one becomes epoch milliseconds once.
        millis: dict[int, int] = {}
        # Where each sensor's rows start in `rows`: they are stored sensor by sensor in id order (below).
        starts: dict[str, int] = {}
        for sensor_id, readings in accepted.items():
            starts[sensor_id] = len(rows)
            live, evaluator = lives[sensor_id]
            street = live.street
            last = live.last_ts
            if len(readings) == 1:
                reading = readings[0]
                first = ts = reading.ts
                ms = millis.get(id(ts))
                if ms is None:
                    ms = millis[id(ts)] = _epoch_ms(ts)
                for quantity, value in reading.values.items():
                    append((sensor_id, quantity, ms, float(value), street))
                if last is None or ts > last:
                    transitions.extend(evaluator.observe(reading))
                    live.last_ts = ts
                    live.values.update(reading.values)
            else:
                # The rows, and whether the readings came in time order (the usual case: no sort) and
                # strictly so (then every one newer than the last seen is new to the rules).
                ordered = strict = True
                prev: datetime | None = None
                for reading in readings:
                    ts = reading.ts
                    if prev is not None and ts <= prev:
                        strict = False
                        if ts < prev:
                            ordered = False
                    prev = ts
                    ms = millis.get(id(ts))
                    if ms is None:
                        ms = millis[id(ts)] = _epoch_ms(ts)
                    for quantity, value in reading.values.items():
                        append((sensor_id, quantity, ms, float(value), street))
                if not ordered:
                    readings.sort(key=_ts)
                first = readings[0].ts
                # Only what is newer than what the rules have seen (older: stored, not evaluated again).
                fresh: list[Observed]
                if strict and (last is None or first > last):
                    fresh = readings
                    update = live.values.update
                    for reading in readings:
                        update(reading.values)
                    last = readings[-1].ts
                else:
                    fresh = []
                    for reading in readings:
                        if last is None or reading.ts > last:
                            fresh.append(reading)
                            last = reading.ts
                            live.values.update(reading.values)
                if fresh:
                    transitions.extend(evaluator.observe_many(fresh))
                    live.last_ts = last
            if dirty is None or first < dirty:
                dirty = first
        self._dirty_since = dirty
        stored = uow.sensors.add_points(_by_sensor(rows, starts, ids))
        if self._state_every > 0:
            # Save only the states last saved `state_every` seconds ago or more; keep the rest for later.
            saved_before = now - self._hold  # a state saved at this time or before is saved again
            saved_at, unsaved, cache, sensors = self._saved_at, self._unsaved, self._cache, self._registry
            watched = self._watched
            due: dict[str, tuple[SensorLive, SensorEvaluator]] = {}
            for sensor_id, pair in lives.items():
                watched[sensor_id] = pair
                at = saved_at.get(sensor_id)
                if at is None or at <= saved_before:
                    due[sensor_id] = pair
                else:
                    live, evaluator = pair
                    live.check_at = evaluator.due()  # what the sweep goes by
                    unsaved[sensor_id] = pair
                    sensor = sensors.get(sensor_id)
                    hit = cache.get(sensor_id)  # kept as it is when it holds these already (the usual case)
                    if sensor is not None and (
                        hit is None or hit[0] is not live or hit[1] is not evaluator or hit[2] is not sensor
                    ):
                        cache[sensor_id] = (live, evaluator, sensor)
            self._save_live(uow, due, evaluated=True, lease=True)
        else:
            self._save_live(uow, lives, evaluated=True)
        if transitions:
            report.events.extend(self._alarms(uow, registry, transitions))
        return stored

    def _live(
        self, uow: UnitOfWork, registry: dict[str, Sensor], sensor_ids: Collection[str], now: datetime
    ) -> dict[str, tuple[SensorLive, SensorEvaluator]]:
        """The live state and rule evaluator of each sensor, locked for this transaction. A worker keeps
        what it saved last; only a sensor whose stored version moved on (another worker took a batch of
        it) or that it has not seen is read and restored from the store."""
        cache = self._cache
        out: dict[str, tuple[SensorLive, SensorEvaluator]] = {}
        hits: list[tuple[str, tuple[SensorLive, SensorEvaluator, Sensor]]] = []
        seen: dict[str, int] = {}
        missing: list[str] = []
        for sensor_id in sensor_ids:
            hit = cache.get(sensor_id)
            if hit is None:
                missing.append(sensor_id)
            else:
                hits.append((sensor_id, hit))
                seen[sensor_id] = hit[0].version
        # The store names only the sensors whose version moved (usually none), and locks them all.
        moved = uow.sensors.moved(seen, missing)
        if moved:
            hits = [(sensor_id, hit) for sensor_id, hit in hits if sensor_id not in moved]
            missing = [sensor_id for sensor_id in sensor_ids if sensor_id not in cache or sensor_id in moved]
        for sensor_id, hit in hits:
            sensor = registry[sensor_id]
            evaluator = hit[1]
            if hit[2] is not sensor:
                # The registry was reloaded (a sensor was registered or changed somewhere): the same
                # state goes on; a sensor whose rules or period changed gets its evaluator rebuilt
                # from it, as a restore from the store would.
                if hit[2].rule_set != sensor.rule_set or hit[2].period != sensor.period:
                    since = hit[0].last_ts or now
                    evaluator = SensorEvaluator(sensor_id, sensor.rule_set, sensor.period, since)
                    evaluator.restore(hit[1].snapshot())
                cache[sensor_id] = (hit[0], evaluator, sensor)
            out[sensor_id] = hit[0], evaluator
        if missing:
            stored = uow.sensors.live(missing, lock=False)  # locked above
            for sensor_id in missing:
                sensor = registry[sensor_id]
                live = stored.get(sensor_id) or SensorLive(sensor_id, sensor.street, version=-1)
                evaluator = SensorEvaluator(sensor_id, sensor.rule_set, sensor.period, live.last_ts or now)
                evaluator.restore(live.state)
                out[sensor_id] = live, evaluator
        return out

    def _save_live(
        self,
        uow: UnitOfWork,
        lives: dict[str, tuple[SensorLive, SensorEvaluator]],
        evaluated: bool = False,
        lease: bool = False,
    ) -> None:
        """Stores the states with their version bumped and keeps them for the next batch. A failed
        transaction leaves evaluators ahead of the store: `_forget` drops them (see `_ingest`).
        `evaluated`: the evaluators have seen readings, their snapshot and next check are taken here.
        `lease`: the states may be held in memory after this save (`state_every`): their check times
        are stored `state_every` later than they are (see `_watched`); in memory they stay true."""
        registry = self._registry
        cache = self._cache
        if self._state_every > 0:
            now = self._clock.now()
            saved_at, unsaved, leased = self._saved_at, self._unsaved, self._leased
            for sensor_id in lives:
                saved_at[sensor_id] = now
                unsaved.pop(sensor_id, None)
                if lease:
                    leased.add(sensor_id)
                else:
                    leased.discard(sensor_id)
        for sensor_id, (live, evaluator) in lives.items():
            if evaluated:
                live.state = evaluator.snapshot()
                live.check_at = evaluator.due()
            live.version += 1
            sensor = registry.get(sensor_id)
            if sensor is not None:
                cache[sensor_id] = (live, evaluator, sensor)
        if lease:
            hold = self._hold
            uow.sensors.save_live(
                live if live.check_at is None else live.checked_later(hold) for live, _ in lives.values()
            )
        else:
            uow.sensors.save_live(live for live, _ in lives.values())

    def save_state(self) -> int:
        """Saves every live state kept in memory (`state_every` > 0) now, and the true check time of
        each stored with the hold added: at a clean stop, so a restart loses nothing, and before
        anything reads the states from the store. A sensor another worker has saved since is left to
        it. Returns how many."""
        held = dict(self._unsaved)
        watched = self._watched
        for sensor_id in self._leased:
            pair = watched.get(sensor_id)
            if pair is not None:
                held.setdefault(sensor_id, pair)
        if not held:
            return 0
        try:
            with self._uow() as uow:
                versions = uow.sensors.versions(held.keys())
                current = {
                    sensor_id: pair
                    for sensor_id, pair in held.items()
                    if pair[0].version == versions.get(sensor_id, -1)
                }
                self._save_live(uow, current, evaluated=True)
                uow.commit()
        except BaseException:
            self._forget()
            raise
        self._leased.clear()
        return len(current)

    def _forget(self) -> None:
        """Drops what memory holds of the sensors after a failed transaction: their evaluators may be
        ahead of the store. What a held state had not saved is lost, as in a crash."""
        self._cache.clear()
        self._unsaved.clear()
        self._watched.clear()
        self._leased.clear()

    def _alarms(
        self, uow: UnitOfWork, registry: dict[str, Sensor], transitions: Sequence[Transition]
    ) -> list[AlarmEvent]:
        """Rule transitions -> alarm changes, stored; returns the events with their alarms' ids."""
        book = AlarmBook(self.policy, uow.sensors.alarms_for({(t.sensor_id, t.rule_id) for t in transitions}))
        events: list[AlarmEvent] = []
        touched: dict[tuple[str, str], Alarm] = {}
        for t in transitions:
            event = book.apply(t, registry[t.sensor_id])
            alarm = book.get(t.sensor_id, t.rule_id)
            if alarm is not None:
                touched[alarm.key] = alarm
            if event is not None:
                events.append(event)
        return self._save_alarms(uow, touched.values(), events)

    def _save_alarms(
        self, uow: UnitOfWork, alarms: Iterable[Alarm], events: list[AlarmEvent]
    ) -> list[AlarmEvent]:
        alarms = list(alarms)
        uow.sensors.save_alarms(alarms)
        ids = {a.key: a for a in alarms}
        return [
            replace(
                e, alarm_id=ids[(e.sensor_id, e.rule_id)].id, order_id=ids[(e.sensor_id, e.rule_id)].order_id
            )
            for e in events
        ]

    # --- the clock: offline sensors, clears that have held, roll-ups ---------------------------------

    def sweep(self, batch: int = 500) -> int:
        """Ticks the sensors whose time-driven rules are due (offline) and finalises held clears.
        Safe to run in several workers at once (each claims its own rows)."""
        now = self._clock.now()
        listening = self._listening()
        report = IngestReport()
        registry = self.sensors()
        try:
            with self._uow() as uow:
                transitions: list[Transition] = []
                # While the sensors cannot be heard, their silence proves nothing: no offline checks.
                checks = uow.sensors.claim_checks(now, batch) if listening is not None else []
                claimed = [c.sensor_id for c in checks if c.sensor_id in registry]
                found = len(claimed)
                stale: list[str] = []
                if self._watched and listening is not None:
                    claimed, stale = self._due_in_memory(claimed, checks, registry, now, batch)
                lives = self._live(uow, registry, claimed, now)
                for live, evaluator in lives.values():
                    transitions.extend(evaluator.tick(now, listening))
                    live.state = evaluator.snapshot()
                    live.check_at = evaluator.due(listening)
                if lives:
                    self._save_live(uow, lives)
                if stale:  # stored check times that passed while memory's did not: stored anew
                    self._save_live(uow, self._live(uow, registry, stale, now), evaluated=True, lease=True)
                if transitions:
                    report.events.extend(self._alarms(uow, registry, transitions))
                pending = uow.sensors.pending_clears(batch)
                cleared = [e for a in pending if (e := a.tick(now, self.policy)) is not None]
                if cleared:
                    report.events.extend(self._save_alarms(uow, pending, cleared))
                uow.commit()
        except BaseException:
            self._forget()
            raise
        self._after(report)
        return max(found, len(claimed), len(pending))

    def _due_in_memory(
        self,
        claimed: list[str],
        checks: Sequence[SensorLive],
        registry: dict[str, Sensor],
        now: datetime,
        batch: int,
    ) -> tuple[list[str], list[str]]:
        """The sensors the sweep ticks now when some check times are held in memory (`_watched`): the
        claimed ones whose stored time is theirs, and the watched ones due by the time in memory, in
        the store's order (soonest first, then by id), at most `batch`; and the claimed watched ones
        not due in memory (their stored time passed first: they are stored again, not ticked)."""
        watched = self._watched
        due: dict[str, datetime] = {}
        stale: list[str] = []
        for check in checks:
            sensor_id = check.sensor_id
            if sensor_id not in registry:
                continue
            if sensor_id in watched:
                stale.append(sensor_id)
            elif check.check_at is not None:
                due[sensor_id] = check.check_at
        for sensor_id, (live, _) in watched.items():
            at = live.check_at
            if at is not None and at <= now and sensor_id in registry:
                due[sensor_id] = at
        ticked = sorted(due, key=lambda sensor_id: (due[sensor_id], sensor_id))[:batch]
        return ticked, [sensor_id for sensor_id in stale if sensor_id not in due]

    def start_watching(self, sensors: Sequence[Sensor], since: datetime | None = None) -> None:
        """Newly registered sensors: their offline clock starts now (a sensor that never reports alarms)."""
        now = since or self._clock.now()
        with self._uow() as uow:
            known = uow.sensors.live([s.id for s in sensors])
            fresh = []
            for s in sensors:
                if s.id not in known:
                    evaluator = SensorEvaluator(s.id, s.rule_set, s.period, now)
                    fresh.append(
                        SensorLive(s.id, s.street, state=evaluator.snapshot(), check_at=evaluator.due())
                    )
            uow.sensors.save_live(fresh)
            uow.commit()
        self.forget_registry()

    def roll_up(self) -> int:
        """Rolls up the hours of what was stored since the last call into 1-hour buckets (the 1-minute
        series is computed from the raw points while they are kept: see `purge`)."""
        since, self._dirty_since = self._dirty_since, None
        if since is None:
            return 0
        try:
            with self._uow() as uow:
                n = uow.sensors.roll_up(since, self._clock.now() + timedelta(minutes=1))
                uow.commit()
        except BaseException:
            self._dirty_since = since if self._dirty_since is None else min(since, self._dirty_since)
            raise
        return n

    def purge(
        self,
        keep_raw: timedelta,
        keep_minutes: timedelta = timedelta(days=90),
        keep_hours: timedelta = timedelta(days=3 * 366),
    ) -> int:
        """Retention: raw points older than `keep_raw` go, their 1-minute buckets stored as they go;
        minute buckets stay `keep_minutes`, hour buckets `keep_hours`."""
        now = self._clock.now()
        with self._uow() as uow:
            n = uow.sensors.purge(now - keep_raw, now - keep_minutes, now - keep_hours)
            uow.commit()
        return n

    def file_missing_orders(self, limit: int = 100) -> int:
        """Files the orders of alarms that want one and have none: the order is filed after the alarm is
        stored, so a database lost in between, or a crash, leaves the alarm without it (and the MQTT
        messages that raised it acknowledged). Alarms raised over `ORDER_SETTLE` ago (the usual path
        has had its turn) and within `ORDER_REPAIR_WINDOW`; each alarm's order has an Idempotency-Key of
        its own, so filing twice files one. Returns how many orders were filed."""
        if self._orders is None:
            return 0
        now = self._clock.now()
        with self._uow() as uow:
            alarms = uow.sensors.orderless_alarms(
                self.policy.order_colours, now - ORDER_REPAIR_WINDOW, now - ORDER_SETTLE, limit
            )
        report = IngestReport()
        for alarm in alarms:
            event = alarm.order_request(self.policy)
            if event is not None:
                self._to_order(event, report)
        if report.orders:
            log.warning("filed %d alarm orders that a failure had left unfiled", len(report.orders))
        return len(report.orders)

    # --- after the batch is stored -------------------------------------------------------------------

    def _after(self, report: IngestReport) -> None:
        if not report.events:
            return
        # The screen hears of the alarm first; the order it files follows on the order bus.
        self._publish(report.events)
        if self._orders is not None:
            report.events = [self._to_order(e, report) for e in report.events]

    def _open_order_of(self, event: AlarmEvent) -> int | None:
        """The order another active alarm of the same sensor has filed, if any."""
        query = AlarmQuery(sensor_id=event.sensor_id, states=[s for s in AlarmState if s.active], limit=50)
        with self._uow() as uow:
            alarms, _ = uow.sensors.search_alarms(query)
        return next((a.order_id for a in alarms if a.order_id is not None and a.id != event.alarm_id), None)

    def _to_order(self, event: AlarmEvent, report: IngestReport) -> AlarmEvent:
        """Files the order a raised alarm wants, or writes a later change into the alarm's order."""
        assert self._orders is not None
        try:
            if event.creates_order and event.alarm_id is not None:
                sensor = self.sensors().get(event.sensor_id)
                if sensor is None:
                    return event
                order_id = self._open_order_of(event)
                if order_id is not None:  # one incident, one order: a second rule of the sensor joins it
                    self._orders.note_alarm(order_id, event.street, event.message)
                else:
                    order_id = self._orders.create_for_alarm(event, sensor, ALARM_CATEGORIES.get(sensor.kind))
                    if order_id is None:
                        return event
                    report.orders.append(order_id)
                with self._uow() as uow:
                    alarm = uow.sensors.get_alarm(event.alarm_id, for_update=True)
                    alarm.order_id = order_id
                    uow.sensors.save_alarms([alarm])
                    uow.commit()
                return replace(event, order_id=order_id)
            if event.order_id is not None and event.kind in (AlarmEventKind.CLEARED, AlarmEventKind.REOPENED):
                self._orders.note_alarm(event.order_id, event.street, event.message)
        except Unavailable:  # the alarm stands; `file_missing_orders` files its order later
            log.warning("alarm %s: database out of reach, its order will be filed later", event.alarm_id)
        except DomainError as e:  # the alarm stands; say so loudly
            log.error("alarm %s: order step failed: %s", event.alarm_id, e)
        return event


class AlarmOrders:
    """The order side of alarms, on the order service: one order per alarm (an Idempotency-Key made of
    the alarm's id, so a retried step files nothing twice), and its later history as order notes."""

    def __init__(self, orders: OrderService) -> None:
        self._orders = orders

    def create_for_alarm(self, alarm: AlarmEvent, sensor: Sensor, category: str | None) -> int | None:
        actor = replace(ALARM_ACTOR, streets=frozenset({sensor.street}))
        if category is not None and category not in self._orders.catalogue(sensor.street):
            category = None
        created = self._orders.create(
            actor,
            NewOrder(
                source=Source.SENSOR.value,
                category=category,
                description=alarm.message,
                street=sensor.street,
                point=sensor.location,
                colour=alarm.colour,
                external_id=f"alarm:{alarm.alarm_id}",
            ),
            idempotency_key=f"alarm-{alarm.alarm_id}",
        )
        return created.order.id

    def note_alarm(self, order_id: int, street: str, message: str) -> None:
        # Gateways (the sensor role) may file orders but never act on them; the engine itself writes
        # the alarm's history into its order as the street's system administrator.
        self._orders.note(replace(NOTE_ACTOR, streets=frozenset({street})), order_id, message)


Refuse = Callable[[str, str, str | None, str | None, str, int | None], None]


@dataclass(frozen=True, slots=True)
class _Screening:
    """What a batch's readings are checked against (the registry, the streets the sender may report
    for, the time window around `now`), and where a refused reading goes (`refuse`, with the sender's
    `home` street for readings that name none)."""

    registry: Mapping[str, Sensor]
    streets: frozenset[str] | None
    home: str | None
    now: datetime
    limits: TimeLimits
    refuse: Refuse

    def screen(self, decoded: Sequence[IncomingReading]) -> dict[str, list[Observed]]:
        """The batch's acceptable readings by sensor (in the order of each sensor's first accepted
        reading, each sensor's readings in arrival order, as decoded: no object per reading is made for
        the common case); every other reading refused through `refuse` in arrival order, with its reason.

        A sensor at a time: the batch is grouped by sensor in one pass (which also checks each distinct
        time object of the batch against the window once: a payload's readings share theirs), then each
        sensor is looked up once and its readings checked against its quantities' ranges. A sensor any of
        whose readings is not plainly acceptable (unknown, another street, units to check, out of range,
        out of the window) has its readings checked one by one by `check_one`, which names every problem
        (`validate`), exactly as a reading-by-reading pass over the batch would."""
        registry, streets, now, limits = self.registry, self.streets, self.now, self.limits
        earliest, latest = now - limits.past, now + limits.future
        groups: dict[str, list[IncomingReading]] = {}
        get = groups.get
        late: set[int] = set()  # the time objects outside the window (by id: the batch holds them all)
        seen: datetime | None = None
        for item in decoded:
            ts = item.ts
            if ts is not seen:
                if ts.tzinfo is None or not earliest <= ts <= latest:
                    late.add(id(ts))
                seen = ts
            group = get(item.sensor_id)
            if group is None:
                groups[item.sensor_id] = [item]
            else:
                group.append(item)
        # (Lists of decoded readings: what the rules read of them is `Observed`.)
        accepted: dict[str, list[Observed]] = {}
        doubtful: list[str] = []
        for sensor_id, items in groups.items():
            sensor = registry.get(sensor_id)
            if (
                sensor is not None
                and (streets is None or sensor.street in streets)
                and _plainly_acceptable(items, sensor, late)
            ):
                accepted[sensor_id] = cast("list[Observed]", items)
            else:
                doubtful.append(sensor_id)
        if not doubtful:
            return accepted
        # Rare: some readings to refuse (or to accept only after the full check). Those sensors' readings
        # one by one in arrival order, then the sensors in the order of their first accepted reading.
        index = {id(item): i for i, item in enumerate(decoded)}
        first = {sensor_id: index[id(items[0])] for sensor_id, items in accepted.items()}
        slow = sorted((index[id(item)], item) for sensor_id in doubtful for item in groups[sensor_id])
        for i, item in slow:
            reading = self.check_one(i, item)
            if reading is not None:
                kept = accepted.get(item.sensor_id)
                if kept is None:
                    accepted[item.sensor_id] = [reading]
                    first[item.sensor_id] = i
                else:
                    kept.append(reading)
        return dict(sorted(accepted.items(), key=lambda pair: first[pair[0]]))

    def check_one(self, index: int, item: IncomingReading) -> Observed | None:
        """One reading checked on its own: what to accept of it (the decoded item itself in the common
        case, else a `Reading`), or None after refusing it with every problem `validate` finds."""
        now, limits, refuse = self.now, self.limits, self.refuse
        sensor_id = item.sensor_id
        sensor = self.registry.get(sensor_id)
        if (
            sensor is None
            or (item.street is not None and item.street != sensor.street)
            or (self.streets is not None and sensor.street not in self.streets)
        ):
            refuse(
                "unknown_sensor",
                f"传感器 {sensor_id} 未登记" + (f"（街道 {item.street}）" if item.street else ""),
                sensor_id,
                item.street or self.home,
                _describe(item),
                index,
            )
            return None
        # The common case (known quantities within range, no units to check, time in the window);
        # anything else gets the full check, which names every problem.
        values = item.values
        ts = item.ts
        window = ts.tzinfo is not None and now - limits.past <= ts <= now + limits.future
        if item.units is None and values and window:
            ranges = sensor.ranges
            for name, value in values.items():
                bounds = ranges.get(name)
                if bounds is None or not bounds[0] <= value <= bounds[1]:
                    break
            else:
                return item
        reading = Reading(sensor_id, item.ts, values, item.units)
        problems = validate(reading, sensor, now, limits)
        if problems:
            refuse(
                problems[0].code.value,
                "；".join(p.reason for p in problems),
                sensor.id,
                sensor.street,
                _describe(item),
                index,
            )
            return None
        return reading


def _plainly_acceptable(items: list[IncomingReading], sensor: Sensor, late: set[int]) -> bool:
    """Whether every one of a known sensor's readings is acceptable as it came: no units to check, no
    other street, a time within the window (`late`: the ids of the time objects outside it), only
    known quantities and each within its range. A sensor of one quantity (most of them) is checked
    without a loop over its values."""
    street = sensor.street
    ranges = sensor.ranges
    if len(ranges) == 1:
        [(name, (low, high))] = ranges.items()
        for item in items:
            values = item.values
            if (
                len(values) != 1
                or item.units is not None
                or (item.street is not None and item.street != street)
                or (late and id(item.ts) in late)
            ):
                return False
            value = values.get(name)
            if value is None or not low <= value <= high:
                return False
        return True
    for item in items:
        values = item.values
        if (
            not values
            or item.units is not None
            or (item.street is not None and item.street != street)
            or (late and id(item.ts) in late)
        ):
            return False
        for name, value in values.items():
            bounds = ranges.get(name)
            if bounds is None or not bounds[0] <= value <= bounds[1]:
                return False
    return True


def _by_sensor(rows: list[PointRow], starts: dict[str, int], ids: Sequence[str]) -> list[PointRow]:
    """The rows sensor by sensor in id order (`ids`: the sensors sorted; each sensor's own rows in the
    order given), from where each sensor's rows start. The readings table is clustered by (sensor,
    quantity, time): a batch in arrival order (sensor after sensor as the gateways sent them) puts each
    point on another page than the one before, in sensor order neighbours share pages and the B-tree
    walk (on SQLite about 3x cheaper per point on a table of a few hours of the street, more as it
    grows; bench/README.md, "simulate.py"). Slices, not a sort of the rows: the sensors' ids sorted
    (once, by the caller) instead of every point compared."""
    if len(starts) < 2:
        return rows
    bounds = sorted(starts.values())
    ends = dict(zip(bounds, [*bounds[1:], len(rows)], strict=True))
    out: list[PointRow] = []
    extend = out.extend
    for sensor_id in ids:
        start = starts[sensor_id]
        extend(rows[start : ends[start]])
    return out


def _ts(reading: Observed) -> datetime:
    return reading.ts


def _epoch_ms(ts: datetime) -> int:
    if ts.tzinfo is None:
        raise ValueError(f"naive datetime {ts!r}: store timezone-aware datetimes only")
    return round(ts.timestamp() * 1000)


def _describe(item: IncomingReading) -> str:
    values = ", ".join(f"{k}={v!r}" for k, v in list(item.values.items())[:5])
    return f"{item.sensor_id} @ {item.ts.isoformat()}: {values}"

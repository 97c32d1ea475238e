"""The ports the services need; adapters implement them, tests may fake them."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self

from chengyun.domain.alarms import Alarm, AlarmState
from chengyun.domain.categories import Category
from chengyun.domain.duplicates import Candidate
from chengyun.domain.events import OrderEvent
from chengyun.domain.geo import Point
from chengyun.domain.notify import Delivery, Notification
from chengyun.domain.orders import Location, OrderState, TimelineEntry, WorkOrder
from chengyun.domain.overview import OrderFacts, SensorPoint
from chengyun.domain.places import Place, PlaceKind
from chengyun.domain.sensors import Sensor, SensorKind
from chengyun.domain.severity import Colour
from chengyun.domain.sla import DeadlinePolicy, PolicySet
from chengyun.domain.staff import ABPair, Absence, Department, Shift, Staff
from chengyun.domain.supervision import Notice, NoticeKind
from chengyun.services.community.ports import CommunityRepository

if TYPE_CHECKING:
    from chengyun.services.audit import AuditRepository  # which needs this module's UnitOfWorkFactory


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""

    def real_seconds_until(self, at: datetime) -> float:
        """How many wall-clock seconds until this clock shows `at` (≤ 0 if already past)."""


Publish = Callable[[Sequence[OrderEvent]], None]


@dataclass(frozen=True)
class OrderQuery:
    street: str | None = None
    streets: frozenset[str] | None = None  # limits a non-district caller
    states: Sequence[OrderState] = ()
    area: str | None = None
    category: str | None = None
    categories: Sequence[str] = ()  # any of these
    colour: Colour | None = None
    assignee: str | None = None
    overdue_at: datetime | None = None  # only orders overdue at this time
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None
    ids: Sequence[int] = ()
    limit: int = 50
    offset: int = 0


@dataclass
class Page:
    items: list[WorkOrder]
    total: int


@dataclass(frozen=True)
class IdempotentRecord:
    order_id: int
    request_hash: str


@dataclass(frozen=True)
class TokenRecord:
    id: str
    role: str
    streets: frozenset[str]
    staff_id: str | None
    name: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


class OrderRepository(Protocol):
    def add(self, order: WorkOrder, policy: DeadlinePolicy) -> None:
        """Store a new order, give it its id, append its new timeline entries."""

    def get(self, order_id: int, *, for_update: bool = False) -> WorkOrder:
        """Raise NotFound when there is no such order."""

    def save(self, order: WorkOrder, policy: DeadlinePolicy) -> None:
        """Store a changed order and its new entries; Conflict if someone else changed it first."""

    def search(self, query: OrderQuery) -> Page: ...

    def timeline(self, order_id: int) -> list[TimelineEntry]: ...

    def last_entries(self, wanted: Mapping[int, str]) -> dict[int, TimelineEntry]:
        """For each order id, its latest timeline entry of the kind given for it."""

    def claim_due(self, now: datetime, limit: int) -> list[WorkOrder]:
        """Orders whose next alert is due, locked for this transaction (others skip them)."""

    def next_alert_time(self) -> datetime | None: ...

    def events_since(
        self, after_id: int, streets: frozenset[str] | None, limit: int
    ) -> list[tuple[int, OrderEvent]]:
        """Timeline entries with a global id above `after_id`, oldest first, as events (the live feed)."""

    def events_of_kinds(
        self, after_id: int, kinds: frozenset[str], limit: int
    ) -> tuple[int, int, list[tuple[int, OrderEvent]]]:
        """Of the next `limit` timeline entries after `after_id`: the id of the last one (`after_id` when
        there are none), how many there are, and those of these kinds as events, oldest first. A reader
        that needs a few kinds moves its place past the rest without loading them."""

    def last_event_id(self) -> int: ...

    def open_similar(
        self,
        street: str,
        category: str,
        since: datetime,
        point: Point | None,
        radius_m: float,
        building: str | None,
        address: str | None,
        limit: int = 50,
    ) -> list[Candidate]:
        """Live orders of `category` since `since`, near `point` or at the same building or address."""

    def open_counts(self, street: str) -> dict[str, int]:
        """How many orders each assignee must still go to or is working on site."""

    def overview_facts(self, street: str, since: datetime) -> list[OrderFacts]:
        """The wall screen's facts of every order received since `since` and of every live order."""

    def received_times(self, street: str, since: datetime, until: datetime) -> list[datetime]:
        """When each order of the street received in [since, until) came in (orders per hour)."""

    def find_idempotent(self, client: str, key: str) -> IdempotentRecord | None: ...

    def remember_idempotent(
        self, client: str, key: str, request_hash: str, order_id: int, at: datetime
    ) -> None:
        """Conflict if the key was taken meanwhile."""


class PlaceRepository(Protocol):
    def upsert(self, places: Iterable[Place]) -> int: ...

    def get(self, street: str, code: str) -> Place: ...

    def list(self, street: str, kind: PlaceKind | None = None, parent: str | None = None) -> list[Place]: ...

    def kinds(self, street: str) -> dict[str, PlaceKind]: ...


class PeopleRepository(Protocol):
    def upsert_departments(self, departments: Iterable[Department]) -> int: ...

    def departments(self, street: str) -> list[Department]: ...

    def upsert_staff(self, staff: Iterable[Staff]) -> int: ...

    def staff(self, street: str) -> list[Staff]: ...

    def get_staff(self, staff_id: str) -> Staff: ...

    def replace_pairs(self, street: str, pairs: Iterable[ABPair]) -> int: ...

    def pairs(self, street: str) -> list[ABPair]: ...

    def pair_for_area(self, street: str, area: str) -> ABPair | None: ...

    def add_shifts(self, shifts: Iterable[Shift]) -> int: ...

    def shifts(self, street: str, start: datetime, end: datetime) -> list[Shift]: ...

    def on_duty(self, street: str, at: datetime) -> list[Shift]: ...

    def set_position(self, street: str, staff_id: str, point: Point, at: datetime) -> None: ...

    def positions(self, street: str, since: datetime) -> dict[str, tuple[Point, datetime]]:
        """Each person's last check-in at or after `since`: (where, when)."""

    def add_absence(self, absence: Absence) -> int: ...

    def absences(self, street: str, start: datetime, end: datetime) -> list[Absence]: ...

    def remove_absence(self, street: str, absence_id: int) -> bool: ...


class ConfigRepository(Protocol):
    def streets(self) -> list[tuple[str, str]]: ...

    def ensure_street(self, code: str, name: str, district: str) -> None: ...

    def policies(self, street: str) -> PolicySet | None: ...

    def set_policies(self, street: str, policies: PolicySet) -> None: ...

    def categories(self, street: str) -> list[Category]: ...

    def set_categories(self, street: str, categories: Iterable[Category]) -> None: ...


class TokenRepository(Protocol):
    def add(self, record: TokenRecord, token_hash: str) -> None: ...

    def by_hash(self, token_hash: str) -> TokenRecord | None: ...

    def revoke(self, token_id: str, at: datetime) -> bool: ...

    def list(self) -> list[TokenRecord]: ...


@dataclass(frozen=True)
class Example:
    """A labelled complaint text: what the classifier learns from."""

    text: str
    code: str
    split: str = "train"  # "test": held out when the built-in corpus is evaluated


class ExampleRepository(Protocol):
    """Dispatchers' corrections, kept as training examples per street."""

    def add(self, street: str, text: str, code: str, by: str, at: datetime) -> int: ...

    def list(self, street: str) -> list[Example]: ...


# --- five colours, supervision, notifications -----------------------------------------------------


class SettingsRepository(Protocol):
    """A street's rule sets other than the deadline policies, as JSON by key (grading, supervision,
    notifications)."""

    def get(self, street: str, key: str) -> Any | None: ...

    def every(self, key: str) -> dict[str, Any]:
        """Every street's stored value of `key` (streets without one are left out)."""
        ...

    def put(self, street: str, key: str, body: Any, at: datetime, by: str) -> None: ...


@dataclass
class GradeRecord:
    """What grading remembers of one order between changes."""

    order_id: int
    street: str
    reported: Colour | None = None  # the level the report came with (a sensor alarm's colour)
    repeats: int = 0  # earlier reports of the same problem at the same place, and duplicates merged in
    sticky: frozenset[str] = frozenset()  # dynamic rules that have raised it (kept)
    manual: Colour | None = None  # a person's grade
    absorbed: frozenset[str] = frozenset()  # dynamic rules the person's grade took in
    graded_at: datetime | None = None


class GradeRepository(Protocol):
    def get(self, order_id: int) -> GradeRecord | None: ...

    def records(self, order_ids: Collection[int]) -> dict[int, GradeRecord]: ...

    def save(self, record: GradeRecord) -> None:
        """Insert or replace."""

    def earlier_reports(
        self,
        street: str,
        category: str,
        since: datetime,
        before: datetime,
        point: Point | None,
        radius_m: float,
        building: str | None,
        address: str | None,
    ) -> int:
        """Orders of `category` received in [since, before) at the same building or within `radius_m` of
        `point` (by the same address only when there is neither)."""


class NoticeRepository(Protocol):
    def add(self, notice: Notice) -> Notice | None:
        """Store a notice (giving it its id) and the orders it names; None when its key is taken."""

    def count(self, order_id: int, kind: NoticeKind) -> int:
        """How many notices of this kind name the order."""

    def last_about(self, street: str, staff: str) -> Notice | None:
        """The latest notice that circulated this person."""

    def mark_late(self, street: str, staff: str, order_id: int, event_id: int, at: datetime) -> None:
        """Remember a lateness of the person's order, by the timeline event that recorded it (once)."""

    def late_orders(self, street: str, staff: str, since: datetime, after: int, up_to: int) -> list[int]:
        """The ids of the person's orders, one per lateness marked at or after `since` with an event id
        in (after, up_to], oldest first."""

    def search(
        self, street: str, kind: NoticeKind | None, since: datetime | None, limit: int, offset: int
    ) -> tuple[list[Notice], int]:
        """Newest first, with the total."""


class NotificationRepository(Protocol):
    def cursor(self, name: str) -> int:
        """The last timeline id the reader `name` has handled, locked for this transaction (the other
        processes' readers of that name wait)."""

    def set_cursor(self, name: str, event_id: int) -> None: ...

    def add(self, notifications: Sequence[Notification]) -> int:
        """Store new feed items (one per event and person: a repeat is skipped); returns how many."""

    def add_deliveries(self, deliveries: Sequence[Delivery]) -> int: ...

    def feed(
        self, recipient: str, unread_only: bool, limit: int, offset: int
    ) -> tuple[list[Notification], int, int]:
        """Newest first, with the total and the unread count."""

    def mark_read(self, recipient: str, ids: Collection[int] | None, at: datetime) -> int:
        """Mark these (None: all) of the person's notifications read; returns how many changed."""

    def claim_deliveries(self, now: datetime, limit: int, lease_until: datetime) -> list[Delivery]:
        """Pending deliveries due now, leased until `lease_until` (another worker skips them meanwhile)."""

    def finish(self, delivery: Delivery) -> None:
        """Store a delivery's outcome (status, attempts, next try, error, sent time)."""

    def deliveries(
        self, street: str, status: str | None, limit: int, offset: int
    ) -> tuple[list[Delivery], int]: ...


# --- sensors --------------------------------------------------------------------------------------


@dataclass
class SensorLive:
    """What the store keeps of one sensor between batches: its latest values and its rules' state.
    Any worker can pick a sensor up from here, so several workers may split one MQTT stream."""

    sensor_id: str
    street: str
    last_ts: datetime | None = None  # the newest reading's time
    values: dict[str, float] = field(default_factory=dict)  # the newest value of each quantity
    state: dict[str, Any] = field(default_factory=dict)  # rule id -> its JSON-able evaluator state
    check_at: datetime | None = None  # when a time-driven rule (offline) must next be looked at
    version: int = 0  # bumped by every save, so a worker knows whether its cached copy is current

    def checked_later(self, by: timedelta) -> SensorLive:
        """A copy whose next check is `by` later (a held state's leased save; `check_at` must be set).
        Built field by field: `dataclasses.replace` is several times slower, and a save touches every
        sensor of the street every few seconds. Every field is named here (a test holds it to that)."""
        assert self.check_at is not None
        s, later = self, self.check_at + by
        return SensorLive(s.sensor_id, s.street, s.last_ts, s.values, s.state, later, s.version)


@dataclass(frozen=True, slots=True)
class ReadingRow:
    """One stored data point: one quantity of one reading."""

    sensor_id: str
    street: str
    ts: datetime
    quantity: str
    value: float


# One data point as the batch path hands it to the store, ready for the driver: (sensor id, quantity,
# time in epoch milliseconds, value, street). Plain tuples, no object per point.
PointRow = tuple[str, str, int, float, str]


@dataclass(frozen=True)
class DeadLetter:
    """A refused payload, reading or value, kept for the operator to read."""

    code: str  # adapters/payloads.py REJECTION_CODES or domain RejectCode, plus unknown_sensor
    reason: str  # Chinese
    received_at: datetime
    source: str  # "mqtt" or "http"
    street: str | None = None
    sensor_id: str | None = None
    excerpt: str = ""
    topic: str | None = None
    id: int | None = None


@dataclass(frozen=True)
class SeriesPoint:
    """A bucket of a sensor's quantity over time (raw readings are buckets of one)."""

    ts: datetime  # bucket start
    count: int
    minimum: float
    maximum: float
    mean: float


@dataclass(frozen=True)
class AlarmQuery:
    street: str | None = None
    streets: frozenset[str] | None = None  # limits a non-district caller
    states: Sequence[AlarmState] = ()
    sensor_id: str | None = None
    colour: Colour | None = None
    since: datetime | None = None  # raised at or after
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class AlarmRecord:
    """One entry of an alarm's history."""

    alarm_id: int
    kind: str  # AlarmEventKind value
    at: datetime
    state: AlarmState
    colour: Colour
    message: str


@dataclass(frozen=True)
class AlarmFeedItem:
    """One entry of an alarm's history as the live feed shows it, with where its sensor is."""

    event_id: int
    alarm_id: int
    kind: str  # AlarmEventKind value
    at: datetime
    street: str
    state: AlarmState
    colour: Colour
    message: str
    sensor_id: str
    sensor_label: str
    watches: str | None
    order_id: int | None
    location: Point | None


class SensorRepository(Protocol):
    # registry
    def upsert(self, sensors: Iterable[Sensor]) -> int:
        """Insert or replace sensors (by id); returns how many were given. The registry stamp moves
        only if one of them was new or differed from its stored entry."""

    def get(self, sensor_id: str) -> Sensor:
        """NotFound when there is no such sensor."""

    def owners(self, sensor_ids: Iterable[str]) -> dict[str, str]:
        """The street of each of these sensors that is registered (the others are left out)."""

    def count(
        self, street: str | None, kind: SensorKind | None = None, watches: str | None = None
    ) -> int: ...

    def remove(self, street: str, sensor_ids: Iterable[str]) -> int: ...

    def registry_stamp(self) -> int:
        """A number that changes whenever any sensor is added, changed or removed (cache check)."""

    # live state
    def live(self, sensor_ids: Collection[str], *, lock: bool = True) -> dict[str, SensorLive]:
        """The live state of these sensors (missing ones are absent), locked for this transaction."""

    def versions(self, sensor_ids: Collection[str], *, lock: bool = True) -> dict[str, int]:
        """Each sensor's live-state version (missing ones are absent), locked like `live`."""

    def moved(self, seen: Mapping[str, int], others: Collection[str] = ()) -> dict[str, int]:
        """Of the sensors in `seen` (id -> the live-state version this process last read or saved),
        those whose stored version is another one, with it (-1: none stored). Every sensor of `seen`
        and `others` is locked for this transaction like `live` (on PostgreSQL: row locks in id order;
        SQLite's transaction holds the write lock already)."""

    def save_live(self, states: Iterable[SensorLive]) -> None:
        """Insert or replace; stores each state's `version` as given (the caller bumps it)."""

    def claim_checks(self, now: datetime, limit: int) -> list[SensorLive]:
        """Live states whose check_at has come, locked for this transaction (others skip them)."""

    # readings
    def add_readings(self, rows: Sequence[ReadingRow]) -> int:
        """Store data points in one batch; a point already stored (same sensor, quantity and time:
        an MQTT redelivery) is skipped. Returns how many were new."""

    def add_points(self, rows: Sequence[PointRow]) -> int:
        """`add_readings` for points already in the driver's shape (times in epoch milliseconds):
        the ingestion batch path. Same skipping of stored points; returns how many were new."""

    def series(
        self, sensor_id: str, quantity: str, since: datetime, until: datetime, resolution: str
    ) -> list[SeriesPoint]:
        """`resolution` is "raw", "1m" or "1h"; oldest first: the points in [since, until), or the buckets
        starting in it and the one `since` falls in. Minute buckets are computed from the raw points
        while they are kept (so they include points not rolled up yet) and read from the buckets
        `purge` stored once they are gone; hour buckets are the ones `roll_up` stored."""

    def roll_up(self, since: datetime, until: datetime) -> int:
        """(Re)compute the 1-hour buckets of the hours touching [since, until) from their raw points and
        the minute buckets `purge` stored for the points already gone. Idempotent; a bucket with
        nothing left to compute it from is kept. Returns the hour buckets written."""

    def purge(self, raw_before: datetime, minutes_before: datetime, hours_before: datetime) -> int:
        """Retention: store the 1-minute buckets of the raw points before `raw_before` (whole minutes:
        the points of its own minute stay), then delete those points, and the minute and hour buckets
        older than the other two; returns the rows deleted."""

    def reading_count(self, street: str | None = None) -> int: ...

    # dead letters
    def add_dead_letters(self, letters: Sequence[DeadLetter]) -> None: ...

    def dead_letters(
        self, street: str | None, code: str | None, since: datetime | None, limit: int, offset: int = 0
    ) -> tuple[list[DeadLetter], int]:
        """Newest first, with the total matching count. street=None: all (including unknown street)."""

    def dead_letter_counts(self, street: str | None, since: datetime | None) -> dict[str, int]: ...

    # alarms
    def alarms_for(self, keys: Collection[tuple[str, str]]) -> list[Alarm]:
        """The latest alarm of each (sensor_id, rule_id) key that has one, locked for this transaction."""

    def save_alarms(self, alarms: Iterable[Alarm]) -> None:
        """Insert new alarms (giving them ids) and update changed ones; append each alarm's
        `events` to its history and empty the list."""

    def get_alarm(self, alarm_id: int, *, for_update: bool = False) -> Alarm:
        """NotFound when there is no such alarm."""

    def pending_clears(self, limit: int) -> list[Alarm]:
        """Active alarms with a clear pending, locked for this transaction (others skip them)."""

    def orderless_alarms(
        self, colours: Collection[Colour], since: datetime, until: datetime, limit: int
    ) -> list[Alarm]:
        """Active alarms of these colours raised between `since` and `until` that have no order yet."""

    def search_alarms(self, query: AlarmQuery) -> tuple[list[Alarm], int]:
        """Newest raised first, with the total matching count."""

    def alarm_history(self, alarm_id: int) -> list[AlarmRecord]: ...

    def alarm_counts(self, street: str | None) -> dict[str, int]:
        """How many alarms are in each state (AlarmState values)."""

    def alarm_feed(self, after_id: int, streets: frozenset[str] | None, limit: int) -> list[AlarmFeedItem]:
        """Alarm history entries with a global id above `after_id`, oldest first (the live feed)."""

    def last_alarm_event_id(self) -> int: ...

    def points(self, street: str) -> list[SensorPoint]:
        """Every sensor of the street with its position and the time of its newest reading (the map)."""

    def last_seen(self, street: str) -> list[int | None]:
        """The time of each of the street's sensors' newest reading (epoch ms, None: never), in the
        order of `points`: what changes of the map between two registry changes."""

    # last: inside the class, the name `list` is this method
    def list(
        self,
        street: str | None,
        kind: SensorKind | None = None,
        watches: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Sensor]:
        """Registered sensors by id (street None: all streets)."""


class UnitOfWork(Protocol):
    orders: OrderRepository
    places: PlaceRepository
    people: PeopleRepository
    config: ConfigRepository
    tokens: TokenRepository
    examples: ExampleRepository
    sensors: SensorRepository
    community: CommunityRepository
    settings: SettingsRepository
    grades: GradeRepository
    notices: NoticeRepository
    notifications: NotificationRepository
    audit: AuditRepository

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Roll back whatever was not committed."""

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def savepoint(self) -> AbstractContextManager[None]:
        """A nested transaction: an exception leaving the block undoes what the block wrote (and is
        raised on); the rest of the transaction stays usable."""
        ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


@dataclass(frozen=True)
class Located:
    """What a gazetteer found for a point or an address."""

    location: Location
    confidence: float = 1.0
    candidates: Sequence[str] = field(default_factory=tuple)
    # What was matched: building, lane, road_number, crossing, poi, area, grid or point.
    matched: str = "point"
    place: str | None = None  # the code of the matched place, if one was


class Gazetteer(Protocol):
    """Finds which area, grid and building a point or an address belongs to."""

    def locate_point(self, point: Point) -> Located | None:
        """None when the point is outside the street."""

    def locate_address(self, address: str) -> Located | None:
        """None when the address is not recognised (never a silent guess)."""

    def area_exists(self, code: str) -> bool: ...

    def knows_street(self) -> bool:
        """False for a street with no places: nothing can be located or dispatched there."""


GazetteerFor = Callable[[str], Gazetteer]


class TextClassifier(Protocol):
    """A trainable text classifier: category codes with confidences 0..1, best first."""

    def fit(self, examples: Sequence[Example]) -> None: ...

    def predict(self, text: str, k: int) -> list[tuple[str, float]]: ...

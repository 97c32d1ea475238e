"""The ports the services need; adapters implement them, tests may fake them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from chengyun.domain.categories import Category
from chengyun.domain.events import OrderEvent
from chengyun.domain.geo import Point
from chengyun.domain.orders import Location, OrderState, TimelineEntry, WorkOrder
from chengyun.domain.places import Place, PlaceKind
from chengyun.domain.severity import Colour
from chengyun.domain.sla import DeadlinePolicy, PolicySet
from chengyun.domain.staff import ABPair, Absence, Department, Shift, Staff


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
    ) -> list[WorkOrder]:
        """Live orders of `category` since `since`, near `point` or at the same building or address."""

    def open_counts(self, street: str) -> dict[str, int]:
        """How many orders each assignee must still go to or is working on site."""

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


class UnitOfWork(Protocol):
    orders: OrderRepository
    places: PlaceRepository
    people: PeopleRepository
    config: ConfigRepository
    tokens: TokenRepository
    examples: ExampleRepository

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Roll back whatever was not committed."""

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


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

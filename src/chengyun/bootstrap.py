"""The composition root: the one place that knows which adapters serve which ports."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources

from sqlalchemy import Engine

from chengyun.adapters.bus import EventBus
from chengyun.adapters.classifier import TfidfSvmClassifier, catalogue_examples, load_builtin_examples
from chengyun.adapters.clock import SimulatedClock, WallClock
from chengyun.adapters.db.engine import make_engine
from chengyun.adapters.db.migrate import upgrade
from chengyun.adapters.db.uow import unit_of_work_factory
from chengyun.adapters.gazetteer import GazetteerCache
from chengyun.adapters.worker import DeadlineWorker
from chengyun.domain.categories import Category, categories_from_dicts
from chengyun.domain.places import Place
from chengyun.services.auth import Auth
from chengyun.services.classify import ClassifierService
from chengyun.services.deadlines import fire_due
from chengyun.services.directory import Directory
from chengyun.services.orders import OrderService
from chengyun.services.ports import Clock, UnitOfWork, UnitOfWorkFactory
from chengyun.settings import Settings

log = logging.getLogger(__name__)

# Orders per deadline-worker transaction. Small, because a batch holds SQLite's write lock (and the
# timeline lock on PostgreSQL) while it runs: orders being created wait behind it.
DEADLINE_BATCH = 20


def builtin_categories() -> list[Category]:
    """The catalogue a street starts with until it imports its own (GB/T 30428.2-style codes)."""
    text = resources.files("chengyun.data").joinpath("categories.json").read_text(encoding="utf-8")
    return categories_from_dicts(json.loads(text))


@dataclass
class Center:
    """Everything one process of the operations center runs."""

    settings: Settings
    engine: Engine
    uow: UnitOfWorkFactory
    clock: Clock
    bus: EventBus
    orders: OrderService
    directory: Directory
    auth: Auth
    gazetteers: GazetteerCache
    worker: DeadlineWorker
    classifier: ClassifierService
    _started: bool = field(default=False, repr=False)

    def start(self) -> None:
        if self.settings.run_worker and not self._started:
            self.worker.start()
            self._started = True

    def stop(self) -> None:
        if self._started:
            self.worker.stop()
            self._started = False
        self.engine.dispose()


def build(settings: Settings, clock: Clock | None = None, migrate: bool = True) -> Center:
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    if clock is None:
        clock = SimulatedClock(speed=settings.speed) if settings.speed != 1 else WallClock()

    uow = unit_of_work_factory(engine)

    def load_places(street: str) -> list[Place]:
        with uow() as u:
            return u.places.list(street)

    bus = EventBus()
    gazetteers = GazetteerCache(load_places)
    orders = OrderService(uow, clock, bus.publish, gazetteers, builtin_categories())
    directory = Directory(uow, on_places_changed=gazetteers.invalidate, on_people_changed=orders.forget_rules)
    auth = Auth(uow, clock, settings.bootstrap_token)
    worker = DeadlineWorker(
        fire=lambda: fire_due(uow, clock, bus.publish, orders, DEADLINE_BATCH),
        next_alert=lambda: _next_alert(uow()),
        clock=clock,
        batch=DEADLINE_BATCH,
    )
    classifier = ClassifierService(
        uow, clock, orders.catalogue, TfidfSvmClassifier, load_builtin_examples, catalogue_examples
    )
    orders.connect_classifier(
        lambda street, text: [(c.code, c.confidence) for c in classifier.classify(street, text)],
        classifier.learn,
        classifier.forget,
    )
    return Center(settings, engine, uow, clock, bus, orders, directory, auth, gazetteers, worker, classifier)


def _next_alert(uow: UnitOfWork) -> datetime | None:
    with uow:
        return uow.orders.next_alert_time()

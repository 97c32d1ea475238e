"""The composition root: the one place that knows which adapters serve which ports."""

from __future__ import annotations

import gc
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from chengyun.adapters.bus import EventBus
from chengyun.adapters.cells import H3Cells
from chengyun.adapters.classifier import TfidfSvmClassifier, catalogue_examples, load_builtin_examples
from chengyun.adapters.clock import SimulatedClock, WallClock
from chengyun.adapters.db.engine import make_engine
from chengyun.adapters.db.history import SqlOrderHistory
from chengyun.adapters.db.migrate import upgrade
from chengyun.adapters.db.uow import unit_of_work_factory
from chengyun.adapters.gazetteer import GazetteerCache
from chengyun.adapters.listening import Listening
from chengyun.adapters.notifier import LogSmsSender, NotifyWorker, WebhookSender
from chengyun.adapters.payloads import decode_batch, decode_messages
from chengyun.adapters.surroundings import PlaceIndexCache
from chengyun.adapters.worker import DeadlineWorker, SensorWorker
from chengyun.domain.access import Role
from chengyun.domain.alarms import AlarmEvent
from chengyun.domain.categories import Category, categories_from_dicts
from chengyun.domain.events import OrderEvent
from chengyun.domain.places import Place
from chengyun.services.assessment import AssessmentService
from chengyun.services.audit import Audit
from chengyun.services.auth import Auth
from chengyun.services.board import BoardService
from chengyun.services.classify import ClassifierService
from chengyun.services.community.service import Community
from chengyun.services.deadlines import fire_due
from chengyun.services.directory import Directory
from chengyun.services.grading import GradingService
from chengyun.services.ingest import AlarmOrders, IngestService
from chengyun.services.memory import GcPauses
from chengyun.services.notify import NotificationService, Sender
from chengyun.services.orders import OrderService
from chengyun.services.overview import OverviewService
from chengyun.services.ports import Clock, UnitOfWork, UnitOfWorkFactory
from chengyun.services.sensors import SensorService
from chengyun.services.supervision import SupervisionService
from chengyun.services.twin import TwinService
from chengyun.settings import Settings

if TYPE_CHECKING:
    from chengyun.adapters.mqtt import MqttIngestor

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
    bus: EventBus[OrderEvent]
    orders: OrderService
    directory: Directory
    auth: Auth
    gazetteers: GazetteerCache
    worker: DeadlineWorker
    classifier: ClassifierService
    alarm_bus: EventBus[AlarmEvent]
    ingest: IngestService
    sensors: SensorService
    sensor_worker: SensorWorker
    mqtt: MqttIngestor | None = None
    community: Community = field(kw_only=True, repr=False)
    _started: bool = field(default=False, repr=False)
    overview: OverviewService = field(kw_only=True, repr=False)  # the wall screen's figures
    twin: TwinService = field(kw_only=True, repr=False)  # the digital twin's base: queries over everything
    assessment: AssessmentService = field(kw_only=True, repr=False)  # 考核 and 分析研判
    # five colours, supervision, notifications and the duty officer's board
    grading: GradingService = field(kw_only=True, repr=False)
    supervision: SupervisionService = field(kw_only=True, repr=False)
    notifications: NotificationService = field(kw_only=True, repr=False)
    notify_worker: NotifyWorker = field(kw_only=True, repr=False)
    board: BoardService = field(kw_only=True, repr=False)
    audit: Audit = field(kw_only=True, repr=False)  # who read contacts, who changed tokens and posts
    # A long collection stalls every thread of a running process (requests, feeds, ingestion, deadlines):
    # logged, and what has grown long-lived frozen when a full collection finds nothing to free.
    gc_pauses: GcPauses = field(
        default_factory=lambda: GcPauses(logging.getLogger("chengyun.gc"), freeze=True), repr=False
    )

    def start(self) -> None:
        if self._started:
            return
        self.gc_pauses.install()
        if self.settings.run_worker:
            self.worker.start()
            self.sensor_worker.start()
            self.notify_worker.start()
        if self.mqtt is not None:
            self.ingest.warm()
            # The registry and the sensors' evaluators are tens of thousands of long-lived objects that
            # every full garbage collection would walk, a pause of tens of milliseconds in the middle
            # of the stream (publish-to-alarm p99 250 → 90 ms in bench/sensor_latency.py): exempt them.
            gc.freeze()
            self.mqtt.start()
        self._started = True

    def stop(self) -> None:
        if self._started:
            if self.mqtt is not None:
                self.mqtt.stop()
            if self.settings.run_worker:
                self.worker.stop()
                self.sensor_worker.stop()
                self.notify_worker.stop()
            self.gc_pauses.uninstall()
            self._started = False
        try:  # live states kept in memory (CHENGYUN_SENSOR_STATE_SAVE_S): saved before the end
            self.ingest.save_state()
        except Exception:
            log.exception("sensor live states could not be saved at stop")
        self.engine.dispose()


def build(settings: Settings, clock: Clock | None = None, migrate: bool = True) -> Center:
    engine = make_engine(settings.database_url, sqlite_scratch=settings.scratch_database)
    if migrate:
        upgrade(engine)
    if clock is None:
        clock = SimulatedClock(speed=settings.speed) if settings.speed != 1 else WallClock()

    uow = unit_of_work_factory(engine)

    def load_places(street: str) -> list[Place]:
        with uow() as u:
            return u.places.list(street)

    bus = EventBus[OrderEvent]()
    alarm_bus = EventBus[AlarmEvent]()
    gazetteers = GazetteerCache(load_places)
    # SQLite has one writer at a time; on PostgreSQL a few batches overlap their round trips.
    writers = 1 if engine.dialect.name == "sqlite" else 4
    orders = OrderService(uow, clock, bus.publish, gazetteers, builtin_categories(), writers=writers)
    place_index = PlaceIndexCache(lambda street, u: u.places.list(street) if u else load_places(street))

    def places_changed(street: str) -> None:
        gazetteers.invalidate(street)
        place_index.invalidate(street)

    directory = Directory(uow, on_places_changed=places_changed, on_people_changed=orders.forget_rules)
    auth = Auth(uow, clock, settings.bootstrap_token)
    worker = DeadlineWorker(
        fire=lambda: fire_due(uow, clock, bus.publish, orders, DEADLINE_BATCH),
        next_alert=lambda: _next_alert(uow()),
        clock=clock,
        batch=DEADLINE_BATCH,
        relieve=lambda: _relieve_late(uow, orders),
    )
    classifier = ClassifierService(
        uow, clock, orders.catalogue, TfidfSvmClassifier, load_builtin_examples, catalogue_examples
    )
    orders.connect_classifier(
        lambda street, text: [(c.code, c.confidence) for c in classifier.classify(street, text)],
        classifier.learn,
        classifier.forget,
    )
    listening = Listening(clock)
    ingest = IngestService(
        uow,
        clock,
        decode_messages=decode_messages,
        decode_body=decode_batch,
        publish=alarm_bus.publish,
        orders=AlarmOrders(orders),
        listening=listening.since,
        state_every=settings.sensor_state_save_s,
    )
    sensors = SensorService(uow, clock, on_registered=ingest.start_watching, publish=alarm_bus.publish)
    retention = timedelta(days=settings.readings_retention_days)
    sensor_worker = SensorWorker(
        sweep=ingest.sweep,
        roll_up=ingest.roll_up,
        purge=lambda: ingest.purge(retention),
        file_orders=ingest.file_missing_orders,
    )
    mqtt = None
    if settings.mqtt_url:
        from chengyun.adapters.mqtt import MqttConfig, MqttIngestor

        mqtt = MqttIngestor(
            MqttConfig(
                url=settings.mqtt_url,
                client_id=settings.mqtt_client_id,
                topic=settings.mqtt_topic,
                share_group=settings.mqtt_group,
            ),
            ingest.ingest_messages,
        )
        listening.follow(mqtt)
    grading = GradingService(uow, clock, orders.rules, place_index)
    orders.connect_grading(grading)
    supervision = SupervisionService(uow, clock, orders, bus.publish)
    orders.add_reaction(supervision.react)
    senders: dict[str, Sender] = {"webhook": WebhookSender(), "sms": LogSmsSender()}
    notifications = NotificationService(uow, clock, orders.rules, senders)
    notify_worker = NotifyWorker([supervision.pump, notifications.pump], notifications.deliver)
    bus.subscribe(notify_worker.wake)
    return Center(
        settings,
        engine,
        uow,
        clock,
        bus,
        orders,
        directory,
        auth,
        gazetteers,
        worker,
        classifier,
        alarm_bus,
        ingest,
        sensors,
        sensor_worker,
        mqtt,
        community=Community(uow, clock, gazetteers, _stall_holder_tokens(auth)),
        overview=OverviewService(uow, clock),
        twin=TwinService(uow, clock, orders.routing.walk_metres_per_minute),
        assessment=AssessmentService(SqlOrderHistory(engine), uow, clock, orders.catalogue, H3Cells()),
        grading=grading,
        supervision=supervision,
        notifications=notifications,
        notify_worker=notify_worker,
        board=BoardService(uow, clock, orders),
        audit=Audit(uow, clock),
    )


def _stall_holder_tokens(auth: Auth) -> Callable[[str, str], tuple[str, str]]:
    def issue(street: str, name: str) -> tuple[str, str]:
        token, record = auth.issue(Role.STALL_HOLDER, [street], name=name)
        return token, record.id

    return issue


def _relieve_late(uow: UnitOfWorkFactory, orders: OrderService) -> int:
    """The dispatcher's look over every street's orders in hand (改派 of those whose holder is late)."""
    with uow() as u:
        streets = [code for code, _ in u.config.streets()]
    return sum(orders.relieve_late(street) for street in streets)


def _next_alert(uow: UnitOfWork) -> datetime | None:
    with uow:
        return uow.orders.next_alert_time()

"""The demo's life: a steady stream of plausible orders, and staff who answer them on the simulated clock.

Most orders are handled in time; some responders are slow, so warnings, overdue notices and escalations
appear on the screen too. Everything goes through the same services the API uses.
"""

from __future__ import annotations

import heapq
import logging
import random
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chengyun.bootstrap import Center
from chengyun.domain.access import Actor, Role
from chengyun.domain.errors import DomainError
from chengyun.domain.geo import Point
from chengyun.domain.orders import Contact, OrderState, Satisfaction, WorkOrder
from chengyun.domain.places import PlaceKind
from chengyun.services.orders import NewOrder

log = logging.getLogger(__name__)

# (category, source, weight, texts); {addr} is filled with a real address of the demo street.
TEMPLATES: list[tuple[str, str, int, list[str]]] = [
    (
        "200101",
        "hotline",
        6,
        ["{addr}门口人行道大理石地砖翘起，晚上路过差点绊倒", "{addr}附近人行道板松动，走上去会晃"],
    ),
    (
        "050104",
        "hotline",
        8,
        ["{addr}门口外卖电瓶车停满人行道，轮椅过不去", "中午{addr}楼下电动车乱停，行人只能走马路"],
    ),
    (
        "900101",
        "hotline",
        6,
        ["{addr}楼上晚上十点以后还在装修，噪音很大", "{addr}附近酒吧音乐太吵，影响休息"],
    ),
    ("010101", "patrol", 5, ["{addr}路边有暴露垃圾，已经堆了一天", "{addr}弄堂口垃圾袋散落"]),
    ("100118", "hotline", 4, ["{addr}门口路灯不亮好几天了", "{addr}附近一排路灯晚上不亮"]),
    ("100101", "patrol", 3, ["{addr}门前上水井盖松动，车开过有响声", "{addr}人行道上井盖缺角"]),
    ("900102", "hotline", 4, ["{addr}顶楼下雨天渗水，墙面发霉", "{addr}楼上卫生间漏水到我家天花板"]),
    ("050102", "patrol", 3, ["{addr}商铺店外经营，货架摆到人行道上"]),
    ("020101", "patrol", 2, ["{addr}电线杆上贴满小广告"]),
    ("040104", "hotline", 2, ["{addr}门口路面积水很深，行人过不去"]),
    ("500101", "sensor", 1, ["{addr}历史建筑位移监测数据异常，需现场核查"]),
    ("400101", "drone", 2, ["{addr}行道树枝条压到电线，存在隐患"]),
    ("900106", "hotline", 2, ["{addr}楼道里有人飞线给电瓶车充电"]),
]
SURNAMES = "王李张刘陈杨黄赵周吴徐孙朱马胡郭林何高罗"


@dataclass(order=True)
class _Step:
    at: datetime
    order_id: int = field(compare=False)
    action: str = field(compare=False)


class DemoFeeder:
    """Runs in a thread; `orders_per_hour` is in simulated time."""

    def __init__(self, center: Center, street: str, orders_per_hour: float = 40.0, seed: int = 7) -> None:
        self._center = center
        self._street = street
        self._rate = orders_per_hour
        self._rng = random.Random(seed)
        self._steps: list[_Step] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._hotline = Actor(Role.HOTLINE_SYSTEM, frozenset({street}), None, "12345热线", "demo-hotline")
        self._patrol = Actor(Role.PATROL_OBSERVER, frozenset({street}), None, "巡查", "demo-patrol")
        self._addresses: list[str] = []
        self._names: dict[str, str] = {}
        self._closer: Actor | None = None
        self.created = 0

    def start(self) -> None:
        self.prepare()
        self._thread = threading.Thread(target=self._run, name="demo-feeder", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def prepare(self) -> None:
        """Read the street's addresses and people (once)."""
        if self._addresses:
            return
        for place in self._center.directory.places(self._street, PlaceKind.BUILDING):
            address = place.props.get("address")
            if isinstance(address, str) and address:
                self._addresses.append(address)
        # Callers also name landmarks: "久光百货门口", "静安寺附近".
        for place in self._center.directory.places(self._street, PlaceKind.POI):
            self._addresses.append(place.name + self._rng.choice(["门口", "附近", "旁边", ""]))
        with self._center.uow() as uow:
            people = uow.people.staff(self._street)
        self._names = {p.id: p.name for p in people}
        responders = [p for p in people if "chief_responder" in p.posts]
        if responders:
            self._closer = Actor(
                Role.CHIEF_RESPONDER, frozenset({self._street}), responders[0].id, responders[0].name
            )

    def _run(self) -> None:
        clock = self._center.clock
        last = clock.now()
        while not self._stop.wait(0.2):
            now = clock.now()
            hours = (now - last).total_seconds() / 3600
            last = now
            expected = hours * self._rate
            count = int(expected) + (1 if self._rng.random() < expected - int(expected) else 0)
            for _ in range(count):
                self.report_one(now)
            while self._steps and self._steps[0].at <= now:
                step = heapq.heappop(self._steps)
                self._do(step, now)

    def report_one(self, now: datetime) -> WorkOrder | None:
        """One citizen's or patrol's report, created through intake; None if intake refused it."""
        if not self._addresses:
            return None
        weights = [t[2] for t in TEMPLATES]
        category, source, _, texts = self._rng.choices(TEMPLATES, weights)[0]
        address = self._rng.choice(self._addresses)
        text = self._rng.choice(texts).format(addr=address)
        phone = "13" + "".join(str(self._rng.randrange(10)) for _ in range(9))
        name = self._rng.choice(SURNAMES) + self._rng.choice(["先生", "女士"])
        actor = self._hotline if source == "hotline" else self._patrol
        command = NewOrder(
            source=source,
            # A 12345 call arrives as words and an address: intake classifies, locates and routes it.
            category=None if source == "hotline" else category,
            description=text,
            street=self._street,
            address=address,
            complainant=Contact(name, phone) if source == "hotline" else None,
        )
        try:
            order = self._center.orders.create(actor, command).order
        except DomainError as exc:
            log.warning("demo order refused: %s", exc.message)
            return None
        self.created += 1
        self._plan(order, now)
        return order

    def _plan(self, order: WorkOrder, now: datetime) -> None:
        assert order.id is not None
        slow = self._rng.random() < 0.12  # some handlers are late: the screen shows warnings and escalations
        t = now + timedelta(minutes=self._rng.uniform(0.5, 4.5) * (2.2 if slow else 1))
        plan = [("respond", t)]
        t += timedelta(minutes=self._rng.uniform(3, 9) * (1.8 if slow else 1))
        plan.append(("arrive", t))
        t += timedelta(minutes=self._rng.uniform(5, 26))
        plan.append(("plan" if self._rng.random() < 0.05 else "handle", t))
        t += timedelta(minutes=self._rng.uniform(3, 25))
        plan.append(("close_loop", t))
        t += timedelta(minutes=self._rng.uniform(1, 10))
        plan.append(("close", t))
        for action, at in plan:
            heapq.heappush(self._steps, _Step(at, order.id, action))

    def _do(self, step: _Step, now: datetime) -> None:
        service = self._center.orders
        try:
            order = service.get(self._hotline, step.order_id)
            if order.state is OrderState.PLANNED and step.action in ("close_loop", "close"):
                return
            handler = self._handler(order)
            if step.action == "respond":
                service.respond(handler, step.order_id, "已电话联系诉求人，了解情况")
            elif step.action == "arrive":
                point = order.location.point or Point(121.4445, 31.225)
                service.arrive(handler, step.order_id, point, "已到达现场")
            elif step.action == "handle":
                service.handle(handler, step.order_id, "现场已处置完毕，拍照留档")
            elif step.action == "plan":
                service.plan(
                    handler, step.order_id, "需联系产权单位维修，已明确方案", now + timedelta(days=2)
                )
            elif step.action == "close_loop":
                satisfaction = Satisfaction.SATISFIED if self._rng.random() < 0.9 else Satisfaction.BASICALLY
                service.close_loop(
                    self._closer or handler, step.order_id, "已回访诉求人，结果确认", satisfaction
                )
            elif step.action == "close":
                service.close(self._closer or handler, step.order_id, "结案")
        except DomainError as exc:
            log.debug("demo step %s on %s skipped: %s", step.action, step.order_id, exc.message)

    def _handler(self, order: WorkOrder) -> Actor:
        staff = order.assignee or ""
        return Actor(Role.AREA_MANAGER, frozenset({self._street}), staff, self._names.get(staff, staff))

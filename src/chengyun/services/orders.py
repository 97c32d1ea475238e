"""Work-order use cases: create (idempotent), every lifecycle action, and the reads."""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from chengyun.domain.access import (
    CREATORS,
    READERS,
    SUPERVISORS,
    Actor,
    Role,
    check_order_action,
    require_role,
    require_street,
    sees_contact,
)
from chengyun.domain.calendar import SHANGHAI
from chengyun.domain.categories import Catalogue, Category, categories_from_dicts
from chengyun.domain.dispatch import RELIEF_RULES, Decision, Held, RoutingRules, late_holders
from chengyun.domain.duplicates import RADIUS_M, DuplicateProposal, propose
from chengyun.domain.duplicates import WINDOW as DUPLICATE_WINDOW
from chengyun.domain.errors import Conflict, InvalidInput, NotFound
from chengyun.domain.events import OrderEvent, events_of
from chengyun.domain.geo import Point
from chengyun.domain.orders import (
    ALLOWED_FROM,
    Action,
    Contact,
    Location,
    OrderState,
    ReturnReason,
    Satisfaction,
    Source,
    TimelineEntry,
    Who,
    WorkOrder,
    mask_phones_in,
)
from chengyun.domain.severity import Colour
from chengyun.domain.sla import DEFAULT_POLICIES, DeadlinePolicy, PolicySet, Stage
from chengyun.domain.staff import Post, Staff
from chengyun.services.grading import GradingService, IntakeGrade
from chengyun.services.group_commit import GroupCommit
from chengyun.services.ports import (
    Clock,
    GazetteerFor,
    OrderQuery,
    Page,
    Publish,
    UnitOfWork,
    UnitOfWorkFactory,
)
from chengyun.services.routing import DutyCache, DutySnapshot, load_duty

KEY_REUSED = "idempotency_key_reused"


@dataclass(frozen=True)
class NewOrder:
    """The command to register an order (受理)."""

    source: str
    category: str | None  # None: the classifier decides from the description
    description: str
    street: str | None = None
    point: Point | None = None
    address: str | None = None
    area: str | None = None
    colour: Colour | None = None
    complainant: Contact | None = None
    attachments: Sequence[str] = field(default_factory=tuple)
    external_id: str | None = None
    auto_dispatch: bool = True

    def fingerprint(self) -> str:
        """Identifies the request behind an Idempotency-Key: the same key with another body is refused."""
        # asdict(self) gives the same JSON, but deep-copies every field on the way (a tenth of intake).
        values = {
            f.name: asdict(v) if is_dataclass(v) and not isinstance(v, type) else v
            for f in fields(self)
            for v in (getattr(self, f.name),)
        }
        payload = json.dumps(values, sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(payload.encode()).hexdigest()


class _KeyTaken(Exception):
    """The order's Idempotency-Key is already stored (by an earlier request, or earlier in the batch)."""


_Stored = tuple[WorkOrder, DutySnapshot, list[OrderEvent]]


@dataclass(frozen=True)
class _Plan:
    """A new order worked out before its transaction: `store` stores it (or raises `_KeyTaken`),
    `replay` answers with the first order when its Idempotency-Key was taken."""

    store: Callable[[UnitOfWork], _Stored]
    replay: Callable[[], Created]


@dataclass(frozen=True)
class Created:
    order: WorkOrder
    replayed: bool  # True when an Idempotency-Key matched an earlier request


# A suggestion this confident is taken without asking the handler to check it.
CONFIDENT = 0.5
AUTO_DISPATCH = Who("system", "自动派单")
HELD = (OrderState.DISPATCHED, OrderState.RESPONDED, OrderState.ON_SITE)  # orders someone is to reach or work
INTAKE = Who("system", "智能受理")

Suggest = Callable[[str, str], Sequence[tuple[str, float]]]  # (street, text) → (code, confidence) best first
Learn = Callable[[str, str, str, str], None]  # (street, text, code, by)


Change = Callable[[WorkOrder, datetime, DeadlinePolicy, UnitOfWork], object]
Reaction = Callable[[UnitOfWork, WorkOrder, Sequence[TimelineEntry], datetime], None]


class OrderService:
    POLICY_TTL_S = 10.0

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        publish: Publish,
        gazetteer_for: GazetteerFor,
        default_categories: Sequence[Category] = (),
        writers: int = 1,
    ) -> None:
        self._uow = uow
        self._default_categories = list(default_categories)
        self._clock = clock
        self._publish = publish
        self._gazetteer_for = gazetteer_for
        self._cache: dict[str, tuple[float, PolicySet, Catalogue]] = {}
        self._duties = DutyCache(uow, load_duty)
        # Every new order is stored through it; `writers` batches at once (see GroupCommit).
        self.writer = GroupCommit(uow, writers=writers)
        self.routing = RoutingRules()
        self._suggest: Suggest | None = None
        self._learn: Learn | None = None
        self._catalogue_changed: Callable[[str], None] = lambda _: None
        self._grading: GradingService | None = None
        self._reactions: list[Reaction] = []

    def connect_classifier(self, suggest: Suggest, learn: Learn, forget: Callable[[str], None]) -> None:
        """Let intake classify orders that come without a category, learn from corrections, and drop a
        street's model when its catalogue is replaced."""
        self._suggest, self._learn, self._catalogue_changed = suggest, learn, forget

    def connect_grading(self, grading: GradingService) -> None:
        """Grade new orders by the street's rule set (five colours) and again whenever a factor changes."""
        self._grading = grading
        self.add_reaction(grading.react)

    def add_reaction(self, reaction: Reaction) -> None:
        """Run `reaction` on the new timeline entries of every change (and of the deadline worker's
        alerts), inside the change's transaction: what it adds to the order is stored with it."""
        self._reactions.append(reaction)

    def react(
        self, uow: UnitOfWork, order: WorkOrder, entries: Sequence[TimelineEntry], now: datetime
    ) -> None:
        if entries:
            for reaction in self._reactions:
                reaction(uow, order, entries, now)

    # --- configuration --------------------------------------------------------------------------

    def rules(self, uow: UnitOfWork, street: str) -> tuple[PolicySet, Catalogue]:
        """The street's deadline policies and category catalogue, cached for a few seconds."""
        return self._rules_cached(street) or self._load_rules(uow, street)

    def catalogue(self, street: str) -> Catalogue:
        return self._cached_rules(street)[1]

    def policies(self, street: str) -> PolicySet:
        return self._cached_rules(street)[0]

    def _cached_rules(self, street: str) -> tuple[PolicySet, Catalogue]:
        hit = self._rules_cached(street)
        if hit is not None:
            return hit
        with self._uow() as uow:
            return self._load_rules(uow, street)

    def _rules_cached(self, street: str) -> tuple[PolicySet, Catalogue] | None:
        hit = self._cache.get(street)
        if hit and time.monotonic() - hit[0] < self.POLICY_TTL_S:
            return hit[1], hit[2]
        return None

    def _load_rules(self, uow: UnitOfWork, street: str) -> tuple[PolicySet, Catalogue]:
        policies = uow.config.policies(street) or DEFAULT_POLICIES
        catalogue = Catalogue(uow.config.categories(street) or self._default_categories)
        self._cache[street] = (time.monotonic(), policies, catalogue)
        return policies, catalogue

    def set_policies(self, actor: Actor, street: str, items: Sequence[Mapping[str, Any]]) -> PolicySet:
        require_role(actor, SUPERVISORS, "修改时限规则")
        require_street(actor, street)
        policies = PolicySet.from_list(items)
        with self._uow() as uow:
            uow.config.set_policies(street, policies)
            uow.commit()
        self.forget_rules()
        return policies

    def set_categories(self, actor: Actor, street: str, items: Sequence[Mapping[str, Any]]) -> list[Category]:
        """Replace the street's catalogue as a whole: all rows valid (errors by row) or nothing stored."""
        require_role(actor, SUPERVISORS, "修改类别目录")
        require_street(actor, street)
        with self._uow() as uow:
            policies = uow.config.policies(street) or DEFAULT_POLICIES
            categories = categories_from_dicts(items, policies=[p.code for p in policies.policies])
            uow.config.set_categories(street, categories)
            uow.commit()
        self.forget_rules()
        self._catalogue_changed(street)
        return categories

    def forget_rules(self) -> None:
        """Drop cached configuration and duty data (after an import; other processes wait out the TTL)."""
        self._cache.clear()
        self._duties.forget()

    # --- create -----------------------------------------------------------------------------------

    def create(self, actor: Actor, cmd: NewOrder, idempotency_key: str | None = None) -> Created:
        plan = self._plan(actor, cmd, idempotency_key)
        # Stored together with the other orders arriving meanwhile: one transaction, one commit.
        try:
            stored = self.writer.run(plan.store)
        except _KeyTaken:
            return plan.replay()
        return self._stored(stored)

    def create_later(
        self,
        actor: Actor,
        cmd: NewOrder,
        idempotency_key: str | None,
        answer: Callable[[Created | None, BaseException | None], None],
    ) -> None:
        """`create` for a caller that must not block (the API's async route): the order is worked out
        and stored in a writer thread, and `answer(created, None)` or `answer(None, error)` is called
        there once it is stored (or refused). Same checks, same order, same errors as `create`."""
        plans: list[_Plan] = []

        def prepare() -> Callable[[UnitOfWork], _Stored]:
            plans.append(self._plan(actor, cmd, idempotency_key))
            return plans[0].store

        def done(stored: _Stored | None, error: BaseException | None) -> None:
            try:
                if isinstance(error, _KeyTaken):
                    created = plans[0].replay()
                elif error is not None:
                    raise error
                else:
                    assert stored is not None
                    created = self._stored(stored)
            except Exception as exc:
                answer(None, exc)
                return
            answer(created, None)

        self.writer.submit(prepare, done)

    def _stored(self, stored: _Stored) -> Created:
        """After the commit: the assignee's count in the duty snapshot, and the events published."""
        order, duty, events = stored
        if order.assignee is not None:
            duty.took(order.assignee)
        self._publish(events)
        return Created(order, replayed=False)

    def _plan(self, actor: Actor, cmd: NewOrder, idempotency_key: str | None) -> _Plan:
        """Check the command and work out the new order; what is left needs the transaction (`store`)."""
        require_role(actor, CREATORS, "创建工单")
        street = self._street_for(actor, cmd.street)
        client = actor.token_id or actor.staff_id or actor.role.value
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= 200:
            raise InvalidInput("Idempotency-Key 长度应为 1 到 200 个字符")
        try:
            source = Source(cmd.source)
        except ValueError:
            raise InvalidInput(f"未知的工单来源 {cmd.source!r}", source=cmd.source) from None
        location = self._locate(street, cmd)
        store = self._prepare(actor, street, cmd, source, location, client, idempotency_key)

        def replay() -> Created:
            assert idempotency_key is not None
            return self._replay(client, idempotency_key, cmd)

        return _Plan(store, replay)

    def _prepare(
        self,
        actor: Actor,
        street: str,
        cmd: NewOrder,
        source: Source,
        location: Location,
        client: str,
        key: str | None,
    ) -> Callable[[UnitOfWork], _Stored]:
        """The new order worked out, and the function that stores it in a transaction (it raises
        `_KeyTaken`, storing nothing, when the order's Idempotency-Key turns out to be taken).

        Everything that needs no database is done before the transaction: on SQLite the transaction
        holds the one write lock, and every order waits for it."""
        policies, catalogue = self._cached_rules(street)
        now = self._clock.now()
        remarks: list[tuple[str, str, dict[str, Any]]] = []
        code = cmd.category
        if code is None:
            code, remark = self._classify(street, cmd.description, catalogue)
            remarks.append(remark)
        elif code not in catalogue:
            raise InvalidInput(f"类别 {code} 不在本街道的类别目录中", code="unknown_category", category=code)
        category = catalogue.get(code)
        grading = self._grading
        intake = None
        if grading is not None:
            intake = grading.intake(
                street, code, category.colour, cmd.colour, source, cmd.description, location, now
            )

        def build(
            graded: IntakeGrade | None, uow: UnitOfWork | None = None
        ) -> tuple[WorkOrder, DeadlinePolicy, DutySnapshot]:
            return self._build(
                actor, street, cmd, source, location, category, policies, remarks, graded, now, uow
            )

        first = build(intake)
        fingerprint = cmd.fingerprint() if key is not None else ""

        def store(uow: UnitOfWork) -> _Stored:
            nonlocal intake
            order, policy, duty = first
            if grading is not None and intake is not None:
                counted = grading.with_repeats(uow, intake, order)
                if counted.grade != intake.grade:  # reported before at this place: graded anew
                    intake = counted
                    if policies.for_order(category.code, counted.colour, category.policy) is policy:
                        order.grade_received(counted.colour, _grading_of(counted, category))
                    else:  # another policy: other deadlines, 先联 time and routing
                        # Through this transaction: on SQLite a second one would wait for this one.
                        order, policy, duty = build(intake, uow)
            self._flag_duplicates(uow, order, now)
            uow.orders.add(order, policy)
            if grading is not None and intake is not None:
                grading.remember(uow, order, intake)
            if key is not None:
                assert order.id is not None
                try:
                    # Retries are rare: try the insert first rather than look the key up every time.
                    uow.orders.remember_idempotent(client, key, fingerprint, order.id, now)
                except Conflict:
                    raise _KeyTaken from None  # undoes this order: the first one is replayed
            return order, duty, events_of(order)

        return store

    def _build(
        self,
        actor: Actor,
        street: str,
        cmd: NewOrder,
        source: Source,
        location: Location,
        category: Category,
        policies: PolicySet,
        remarks: Sequence[tuple[str, str, dict[str, Any]]],
        intake: IntakeGrade | None,
        now: datetime,
        uow: UnitOfWork | None = None,
    ) -> tuple[WorkOrder, DeadlinePolicy, DutySnapshot]:
        """The new order, graded, with intake's remarks and (when it can be) dispatched: no database."""
        colour = intake.colour if intake is not None else cmd.colour or category.colour
        policy = policies.for_order(category.code, colour, category.policy)
        order = WorkOrder.receive(
            street=street,
            source=source,
            category=category.code,
            description=cmd.description,
            location=location,
            colour=colour,
            policy=policy,
            now=now,
            by=actor.who,
            complainant=cmd.complainant,
            attachments=cmd.attachments,
            external_id=cmd.external_id,
            grading=_grading_of(intake, category) if intake is not None else None,
        )
        notes = list(remarks)
        if location.area is None and location.address:
            notes.append(
                (
                    "location_unresolved",
                    f"地址「{location.address}」未能自动定位，请受理员核实后指定居民区再派遣",
                    {"address": location.address},
                )
            )
        duty = self._duties.get(street, now, uow)
        notes += self._first_contact(order, duty, policy, now)
        for kind, note, data in notes:
            order.remark(now, INTAKE, kind, note, data)
        if cmd.auto_dispatch and location.area is not None:
            self._auto_dispatch(order, duty, category, policy.rule(Stage.ARRIVE).minutes, now)
        return order, policy, duty

    def _classify(
        self, street: str, text: str, catalogue: Catalogue
    ) -> tuple[str, tuple[str, str, dict[str, Any]]]:
        """The category of an order that came without one, and the remark that says how sure it is."""
        if self._suggest is None:
            raise InvalidInput("请填写类别", code="category_required")
        candidates = [(c, p) for c, p in self._suggest(street, text) if c in catalogue]
        if not candidates:
            raise InvalidInput("无法识别类别，请填写类别", code="category_required")
        code, confidence = candidates[0]
        name = catalogue.get(code).name
        sure = confidence >= CONFIDENT
        note = f"类别由系统识别为「{name}」（置信度 {confidence:.0%}）"
        if not sure:
            others = "、".join(catalogue.get(c).name for c, _ in candidates[1:3])
            note += (
                f"，把握不大，请受理员确认（其他可能：{others}）" if others else "，把握不大，请受理员确认"
            )
        data = {
            "candidates": [
                {"code": c, "name": catalogue.get(c).name, "confidence": round(p, 3)}
                for c, p in candidates[:3]
            ],
            "confident": sure,
        }
        return code, ("category_suggested", note, data)

    def _first_contact(
        self, order: WorkOrder, duty: DutySnapshot, policy: DeadlinePolicy, now: datetime
    ) -> list[tuple[str, str, dict[str, Any]]]:
        """先联: the hotline desk calls the complainant back within the respond deadline."""
        if not order.complainants or order.source not in (Source.HOTLINE, Source.CITIZEN_APP):
            return []
        minutes = policy.rule(Stage.RESPOND).minutes
        due = now + timedelta(minutes=minutes)
        handlers = duty.on_duty(Post.HOTLINE_HANDLER, now)
        when = f"{due.astimezone(SHANGHAI):%H:%M} 前（{minutes:g} 分钟内）"
        if not handlers:
            note = f"先联：当前无受理员在班，请值班长安排 {when}联系诉求人"
            return [("first_contact_task", note, {"handler": None, "due_at": due.isoformat()})]
        handler = handlers[0]
        name = duty.names.get(handler, handler)
        note = f"先联：请受理员 {name} 于 {when}联系诉求人"
        return [("first_contact_task", note, {"handler": handler, "due_at": due.isoformat()})]

    def _flag_duplicates(self, uow: UnitOfWork, order: WorkOrder, now: datetime) -> None:
        proposals = self._duplicates_of(uow, order, now)
        if proposals:
            order.remark(
                now,
                INTAKE,
                "duplicate_suspected",
                "；".join(p.reason for p in proposals) + "。请受理员确认是否并案",
                {"candidates": [p.to_dict() for p in proposals]},
            )

    def _duplicates_of(self, uow: UnitOfWork, order: WorkOrder, now: datetime) -> list[DuplicateProposal]:
        loc = order.location
        if loc.point is None and loc.building is None and not loc.address:
            return []
        candidates = uow.orders.open_similar(
            order.street,
            order.category,
            now - DUPLICATE_WINDOW,
            loc.point,
            RADIUS_M,
            loc.building,
            loc.address,
        )
        return propose(order, candidates)

    def _replay(self, client: str, key: str, cmd: NewOrder) -> Created:
        with self._uow() as uow:
            record = uow.orders.find_idempotent(client, key)
            if record is None:  # the key's first use was rolled back meanwhile: a fresh attempt is due
                raise Conflict("请重试：同一 Idempotency-Key 的请求正在处理", key=key)
            if record.request_hash != cmd.fingerprint():
                raise Conflict(
                    "该 Idempotency-Key 已用于另一份不同的工单",
                    code=KEY_REUSED,
                    key=key,
                    order_id=record.order_id,
                )
            return Created(uow.orders.get(record.order_id), replayed=True)

    def _locate(self, street: str, cmd: NewOrder) -> Location:
        gazetteer = self._gazetteer_for(street)
        address = (cmd.address or "").strip() or None
        if cmd.area is not None and not gazetteer.area_exists(cmd.area):
            raise InvalidInput(f"居民区 {cmd.area} 不存在", area=cmd.area)
        if cmd.point is not None:
            found = gazetteer.locate_point(cmd.point)
            if found is None:
                raise InvalidInput("坐标不在本街道范围内（属地不符）", code="outside_street")
            loc = found.location
            area = cmd.area or loc.area
            return Location(
                cmd.point,
                address,
                area,
                loc.grid if area == loc.area else None,
                loc.building if area == loc.area else None,
            )
        if address is not None:
            found = gazetteer.locate_address(address)
            if found is not None:
                loc = found.location
                if cmd.area is None or cmd.area == loc.area:
                    return Location(loc.point, address, loc.area, loc.grid, loc.building)
        return Location(None, address, cmd.area)

    def _auto_dispatch(
        self, order: WorkOrder, duty: DutySnapshot, category: Category, arrive_within: float, now: datetime
    ) -> None:
        assert order.location.area is not None
        decision = duty.decide(order.location.area, now, order.location.point, arrive_within, self.routing)
        if decision is not None:
            note = _dispatch_note(decision, duty, category)
            order.dispatch(now, AUTO_DISPATCH, Who(decision.staff_id, decision.name), note)

    def preview_dispatch(
        self,
        actor: Actor,
        street: str | None,
        area: str,
        point: Point | None = None,
        category: str | None = None,
        colour: Colour | None = None,
    ) -> tuple[Decision | None, str]:
        """Who intake would route a new order to right now, and the note it would write; stores nothing.
        (None, why) when the area has no A/B pair."""
        require_role(actor, CREATORS, "预览派遣")
        street = self._street_for(actor, street)
        if not self._gazetteer_for(street).area_exists(area):
            raise InvalidInput(f"居民区 {area} 不存在", area=area)
        policies, catalogue = self._cached_rules(street)
        if category is not None and category not in catalogue:
            raise InvalidInput(
                f"类别 {category} 不在本街道的类别目录中", code="unknown_category", category=category
            )
        found = catalogue.get(category) if category is not None else None
        colour = colour or (found.colour if found else Colour.GREEN)
        policy = policies.for_order(category or "", colour, found.policy if found else None)
        now = self._clock.now()
        duty = self._duties.get(street, now)
        decision = duty.decide(area, now, point, policy.rule(Stage.ARRIVE).minutes, self.routing)
        if decision is None:
            return None, "该居民区没有配置 AB 角，保存后请受理员指定承办人"
        return decision, _dispatch_note(decision, duty, found) if found else decision.reason

    def _street_for(self, actor: Actor, street: str | None) -> str:
        if street is None:
            if len(actor.streets) != 1:
                raise InvalidInput("请指明街道（street / jurisdiction_id）")
            (street,) = actor.streets
        require_street(actor, street)
        if not self._gazetteer_for(street).knows_street():
            raise InvalidInput(f"街道 {street} 不存在", code="unknown_street", street=street)
        return street

    # --- reads ------------------------------------------------------------------------------------

    def get(self, actor: Actor, order_id: int) -> WorkOrder:
        require_role(actor, READERS, "查看工单")
        with self._uow() as uow:
            order = uow.orders.get(order_id)
        if not actor.sees_street(order.street):
            raise NotFound(f"工单 {order_id} 不存在", order_id=order_id)
        return order

    def timeline(self, actor: Actor, order_id: int) -> list[TimelineEntry]:
        """The order's timeline; phone numbers in its notes masked for those who may not see the
        complainant's contact."""
        order = self.get(actor, order_id)
        with self._uow() as uow:
            entries = uow.orders.timeline(order_id)
        if sees_contact(actor, order):
            return entries
        return [replace(e, note=mask_phones_in(e.note)) for e in entries]

    def search(self, actor: Actor, query: OrderQuery) -> Page:
        require_role(actor, READERS, "查询工单")
        if query.street is not None:
            require_street(actor, query.street)
        if not actor.is_district:
            query = OrderQuery(**{**query.__dict__, "streets": actor.streets})
        with self._uow() as uow:
            return uow.orders.search(query)

    # --- lifecycle --------------------------------------------------------------------------------

    def dispatch(
        self, actor: Actor, order_id: int, assignee: str | None, note: str = "", area: str | None = None
    ) -> WorkOrder:
        def change(order: WorkOrder, now: datetime, _: DeadlinePolicy, uow: UnitOfWork) -> None:
            if area is not None and not self._gazetteer_for(order.street).area_exists(area):
                raise InvalidInput(f"居民区 {area} 不存在", area=area)
            if assignee is not None:
                person = self._assignable(uow, order, assignee)
                order.dispatch(now, actor.who, Who(person.id, person.name), note, area)
                return
            target_area = area or order.location.area
            if target_area is None:
                raise InvalidInput("工单尚未确定所属居民区，请指定居民区或承办人")
            duty = self._duties.get(order.street, now, uow)
            arrive = order.clocks.get(Stage.ARRIVE)
            remaining = (arrive.due_at - now).total_seconds() / 60 if arrive else 15.0
            decision = duty.decide(target_area, now, order.location.point, max(0.0, remaining), self.routing)
            if decision is None:
                raise InvalidInput("该居民区没有配置 AB 角，请指定承办人")
            who = Who(decision.staff_id, decision.name)
            order.dispatch(now, actor.who, who, note or decision.reason, area)
            duty.took(decision.staff_id)

        return self._act(actor, order_id, Action.DISPATCH, change)

    def reassign(self, actor: Actor, order_id: int, assignee: str | None, reason: str) -> WorkOrder:
        """改派 an order its holder has not reached yet (dispatched or responded), with the reason: to
        `assignee`, or (None) to whom routing chooses among the others for the time left to the arrival
        deadline."""

        def change(order: WorkOrder, now: datetime, _: DeadlinePolicy, uow: UnitOfWork) -> None:
            previous = order.assignee
            duty = self._duties.get(order.street, now, uow)
            if assignee is not None:
                person = self._assignable(uow, order, assignee)
                order.reassign(now, actor.who, Who(person.id, person.name), reason)
                duty.took(person.id, previous)
                return
            if order.location.area is None:
                raise InvalidInput("工单尚未确定所属居民区，请指定承办人")
            arrive = order.clocks.get(Stage.ARRIVE)
            remaining = (arrive.due_at - now).total_seconds() / 60 if arrive and arrive.pending else 15.0
            exclude = frozenset({previous}) if previous else frozenset()
            decision = duty.decide(
                order.location.area, now, order.location.point, max(0.0, remaining), self.routing, exclude
            )
            if decision is None:
                raise InvalidInput("该居民区没有配置 AB 角，请指定承办人")
            if decision.rule == "nobody":
                raise InvalidInput("没有其他可以改派的人员，请指定承办人")
            order.reassign(now, actor.who, Who(decision.staff_id, decision.name), reason, decision.reason)
            duty.took(decision.staff_id, previous)

        return self._act(actor, order_id, Action.REASSIGN, change)

    def _assignable(self, uow: UnitOfWork, order: WorkOrder, staff_id: str) -> Staff:
        try:
            person = uow.people.get_staff(staff_id)
        except NotFound:  # the order exists: an unknown person is bad input, not a 404
            raise InvalidInput(f"人员 {staff_id} 不存在", assignee=staff_id) from None
        if person.street != order.street or not person.active:
            raise InvalidInput(f"人员 {staff_id} 不能承办本街道工单", assignee=staff_id)
        return person

    def relieve_late(self, street: str) -> int:
        """The dispatcher's look over the orders in hand: each one whose holder is judged to reach the
        site after its arrival deadline (`domain.dispatch.late_holders`) is reassigned (改派) to the area's
        A or B when routing expects them there in time from a known position; the first contact already
        made stands. Returns how many were reassigned."""
        now = self._clock.now()
        with self._uow() as uow:
            held_orders = uow.orders.search(OrderQuery(street=street, states=HELD, limit=10_000)).items
            duty = self._duties.get(street, now, uow)
        held = [_held(o) for o in held_orders if o.assignee is not None and o.id is not None]
        late = late_holders(now, held, duty.statuses_now(now), self.routing)
        moved = 0
        for h, minutes in late:
            if h.area is None or h.arrive_due is None:
                continue
            remaining = (h.arrive_due - now).total_seconds() / 60
            decision = duty.decide(h.area, now, h.site, remaining, self.routing, frozenset({h.assignee}))
            # Only to someone judged there in time from where they are known to be.
            # Only to the area's own A or B, judged there in time from where they are known to be.
            if decision is None or decision.rule not in RELIEF_RULES or decision.walk_minutes is None:
                continue
            holder = duty.names.get(h.assignee, h.assignee)
            reason = (
                f"{holder} 预计约 {math.ceil(minutes)} 分钟后才能到场"
                f"（到场时限还剩 {max(0, math.floor(remaining))} 分钟），自动改派"
            )
            if self._reassign_held(h, Who(decision.staff_id, decision.name), reason, decision.reason, now):
                duty.took(decision.staff_id, h.assignee)
                moved += 1
        return moved

    def _reassign_held(self, h: Held, to: Who, reason: str, note: str, now: datetime) -> bool:
        with self._uow() as uow:
            order = uow.orders.get(h.order_id, for_update=True)
            if order.assignee != h.assignee or order.state not in ALLOWED_FROM[Action.REASSIGN]:
                return False  # moved on meanwhile
            policies, _ = self.rules(uow, order.street)
            before = len(order.new_entries)
            order.reassign(now, AUTO_DISPATCH, to, reason, note)
            self.react(uow, order, order.new_entries[before:], now)
            uow.orders.save(order, policies.get(order.policy_code))
            events = events_of(order)
            uow.commit()
        self._publish(events)
        return True

    def respond(
        self, actor: Actor, order_id: int, note: str = "", position: Point | None = None
    ) -> WorkOrder:
        def change(order: WorkOrder, now: datetime, policy: DeadlinePolicy, uow: UnitOfWork) -> None:
            order.respond(now, actor.who, policy, note, position)
            _checked_in(uow, actor, order.street, position, now)

        return self._act(actor, order_id, Action.RESPOND, change)

    def arrive(self, actor: Actor, order_id: int, position: Point, note: str = "") -> WorkOrder:
        def change(order: WorkOrder, now: datetime, policy: DeadlinePolicy, uow: UnitOfWork) -> None:
            order.arrive(now, actor.who, policy, position, note)
            _checked_in(uow, actor, order.street, position, now)

        return self._act(actor, order_id, Action.ARRIVE, change)

    def handle(self, actor: Actor, order_id: int, note: str, attachments: Sequence[str] = ()) -> WorkOrder:
        return self._act(
            actor,
            order_id,
            Action.HANDLE,
            lambda o, now, p, _: o.handle(now, actor.who, note, p, attachments),
        )

    def plan(self, actor: Actor, order_id: int, plan: str, planned_for: datetime) -> WorkOrder:
        return self._act(
            actor,
            order_id,
            Action.PLAN,
            lambda o, now, _p, _u: o.make_plan(now, actor.who, plan, planned_for),
        )

    def close_loop(
        self, actor: Actor, order_id: int, note: str, satisfaction: Satisfaction | None = None
    ) -> WorkOrder:
        return self._act(
            actor,
            order_id,
            Action.CLOSE_LOOP,
            lambda o, now, _p, _u: o.close_loop(now, actor.who, note, satisfaction),
        )

    def close(self, actor: Actor, order_id: int, note: str = "") -> WorkOrder:
        return self._act(actor, order_id, Action.CLOSE, lambda o, now, _p, _u: o.close(now, actor.who, note))

    def return_order(self, actor: Actor, order_id: int, reason: ReturnReason, note: str) -> WorkOrder:
        return self._act(
            actor,
            order_id,
            Action.RETURN,
            lambda o, now, _p, _u: o.return_to_dispatcher(now, actor.who, reason, note),
        )

    def request_extension(
        self, actor: Actor, order_id: int, until: datetime, reason: str, stage: Stage | None = None
    ) -> WorkOrder:
        return self._act(
            actor,
            order_id,
            Action.REQUEST_EXTENSION,
            lambda o, now, _p, _u: o.request_extension(now, actor.who, until, reason, stage),
        )

    def decide_extension(self, actor: Actor, order_id: int, approve: bool, note: str = "") -> WorkOrder:
        return self._act(
            actor,
            order_id,
            Action.DECIDE_EXTENSION,
            lambda o, now, p, _: o.decide_extension(now, actor.who, approve, note, p),
        )

    def suspend(self, actor: Actor, order_id: int, reason: str) -> WorkOrder:
        return self._act(
            actor, order_id, Action.SUSPEND, lambda o, now, _p, _u: o.suspend(now, actor.who, reason)
        )

    def resume(self, actor: Actor, order_id: int, note: str = "") -> WorkOrder:
        return self._act(
            actor, order_id, Action.RESUME, lambda o, now, _p, _u: o.resume(now, actor.who, note)
        )

    def reopen(self, actor: Actor, order_id: int, reason: str) -> WorkOrder:
        return self._act(
            actor, order_id, Action.REOPEN, lambda o, now, p, _: o.reopen(now, actor.who, reason, p)
        )

    def supervise(
        self, actor: Actor, order_id: int, note: str, reply_minutes: float | None = None
    ) -> WorkOrder:
        return self._act(
            actor,
            order_id,
            Action.SUPERVISE,
            lambda o, now, p, _: o.supervise(
                now, actor.who, note, reply_minutes or p.supervision_reply_minutes
            ),
        )

    def reply_supervision(self, actor: Actor, order_id: int, no: int, reply: str) -> WorkOrder:
        return self._act(
            actor,
            order_id,
            Action.REPLY_SUPERVISION,
            lambda o, now, _p, _u: o.reply_supervision(now, actor.who, no, reply),
        )

    def regrade(self, actor: Actor, order_id: int, colour: Colour, reason: str) -> WorkOrder:
        """A person's grade, with a reason; automatic grading will not lower it afterwards."""

        def change(order: WorkOrder, now: datetime, _: DeadlinePolicy, uow: UnitOfWork) -> None:
            policies, catalogue = self.rules(uow, order.street)
            named = catalogue.get(order.category).policy if order.category in catalogue else None
            order.regrade(now, actor.who, colour, reason, policies.for_order(order.category, colour, named))

        return self._act(actor, order_id, Action.REGRADE, change)

    def note(self, actor: Actor, order_id: int, note: str, position: Point | None = None) -> WorkOrder:
        def change(order: WorkOrder, now: datetime, _: DeadlinePolicy, uow: UnitOfWork) -> None:
            order.add_note(now, actor.who, note, position)
            _checked_in(uow, actor, order.street, position, now)

        return self._act(actor, order_id, Action.NOTE, change)

    def reclassify(self, actor: Actor, order_id: int, category: str, reason: str = "") -> WorkOrder:
        """Correct an order's category; the correction also teaches the street's classifier."""

        def change(order: WorkOrder, now: datetime, _: DeadlinePolicy, uow: UnitOfWork) -> None:
            catalogue = self.rules(uow, order.street)[1]
            if category not in catalogue:
                raise InvalidInput(
                    f"类别 {category} 不在本街道的类别目录中", code="unknown_category", category=category
                )
            order.reclassify(now, actor.who, category, reason)

        order = self._act(actor, order_id, Action.RECLASSIFY, change)
        if self._learn is not None:
            self._learn(order.street, order.description, category, actor.who.id)
        return order

    def duplicates(self, actor: Actor, order_id: int) -> list[DuplicateProposal]:
        """Open orders this one probably repeats, best first (the handler decides whether to merge)."""
        order = self.get(actor, order_id)
        with self._uow() as uow:
            return self._duplicates_of(uow, order, order.received_at)

    def merge(self, actor: Actor, order_id: int, into: int, note: str = "") -> WorkOrder:
        events: list[OrderEvent] = []
        with self._uow() as uow:
            first, second = sorted((order_id, into))  # lock in id order: no deadlock between two merges
            locked = {i: uow.orders.get(i, for_update=True) for i in (first, second)}
            duplicate, target = locked[order_id], locked[into]
            if target.street != duplicate.street or not actor.sees_street(target.street):
                raise NotFound(f"工单 {into} 不存在", order_id=into)
            check_order_action(actor, Action.MERGE, duplicate, None)
            policies, _ = self.rules(uow, duplicate.street)
            now = self._clock.now()
            duplicate.merge_into(now, actor.who, target, note)
            for order in (duplicate, target):
                self.react(uow, order, order.new_entries, now)
                uow.orders.save(order, policies.get(order.policy_code))
                events += events_of(order)
            uow.commit()
        self._publish(events)
        return duplicate

    def _act(self, actor: Actor, order_id: int, action: Action, change: Change) -> WorkOrder:
        with self._uow() as uow:
            order = uow.orders.get(order_id, for_update=True)
            if not actor.sees_street(order.street):
                raise NotFound(f"工单 {order_id} 不存在", order_id=order_id)
            a_of_area = self._a_of_area(uow, order) if actor.role is Role.AREA_MANAGER else None
            check_order_action(actor, action, order, a_of_area)
            policies, _ = self.rules(uow, order.street)
            policy = policies.get(order.policy_code)
            now = self._clock.now()
            before = len(order.new_entries)
            change(order, now, policy, uow)
            self.react(uow, order, order.new_entries[before:], now)
            uow.orders.save(order, policies.get(order.policy_code))  # a new colour may bring a new policy
            events = events_of(order)
            uow.commit()
        self._publish(events)
        return order

    def act(self, actor: Actor, order_id: int, action: Action, change: Change) -> WorkOrder:
        """Apply `change` to one order as `action` (access checked as for the built-in actions), in one
        transaction with the reactions."""
        return self._act(actor, order_id, action, change)

    def _a_of_area(self, uow: UnitOfWork, order: WorkOrder) -> str | None:
        if order.location.area is None:
            return None
        pair = uow.people.pair_for_area(order.street, order.location.area)
        if pair is None:
            return None
        return pair.roles_on(self._clock.now().astimezone(SHANGHAI).date())[0]


def _held(order: WorkOrder) -> Held:
    arrive = order.clocks.get(Stage.ARRIVE)
    assert order.id is not None and order.assignee is not None
    return Held(
        order.id,
        order.assignee,
        order.location.area,
        order.location.point,
        arrive.due_at if arrive is not None and arrive.pending else None,
        order.state is OrderState.ON_SITE,
    )


def _dispatch_note(decision: Decision, duty: DutySnapshot, category: Category) -> str:
    department = duty.departments.get(category.department, category.department)
    return f"{decision.reason}（{category.name}，责任部门：{department}）"


def _grading_of(intake: IntakeGrade, category: Category) -> tuple[str, list[dict[str, Any]]] | None:
    """Why a new order has its colour, for its `received` entry: only when more than its category's
    default decided it."""
    if intake.colour is category.colour:
        return None
    return intake.grade.explain(intake.facts), [c.to_dict() for c in intake.grade.causes]


def _checked_in(uow: UnitOfWork, actor: Actor, street: str, position: Point | None, now: datetime) -> None:
    """An action taken on site tells routing where its person is."""
    if position is not None and actor.staff_id is not None:
        uow.people.set_position(street, actor.staff_id, position, now)

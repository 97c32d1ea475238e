"""Five-colour grading at work: the street's rule set (as data), grading at intake and whenever a factor
changes (a manual grade, a corrected category, a duplicate merged in, the deadline state), the
explanation of an order's colour, and a dry run of a proposed rule set over past orders."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from chengyun.domain.access import READERS, SUPERVISORS, Actor, require_role, require_street
from chengyun.domain.categories import Catalogue
from chengyun.domain.dispatch import walk_metres
from chengyun.domain.errors import InvalidInput
from chengyun.domain.geo import Point
from chengyun.domain.grading import (
    DEFAULT_GRADING,
    Cause,
    Factor,
    Facts,
    Grade,
    GradingRules,
    ManualGrade,
    deadline_state,
)
from chengyun.domain.orders import Location, Source, TimelineEntry, WorkOrder
from chengyun.domain.severity import Colour
from chengyun.domain.sla import DeadlinePolicy, PolicySet
from chengyun.services.ports import Clock, GradeRecord, OrderQuery, UnitOfWork, UnitOfWorkFactory
from chengyun.services.street_settings import StreetSetting

SETTINGS_KEY = "grading"
# Timeline entries after which an order's colour may change.
DEADLINE_KINDS = frozenset({"deadline_warning", "deadline_overdue", "escalated", "supervision_overdue"})
REGRADE_KINDS = frozenset({"regraded", "reclassified", "duplicate_merged"}) | DEADLINE_KINDS
MAX_DRY_RUN = 100_000  # orders of one dry run
MAX_EXAMPLES = 200


@dataclass(frozen=True)
class PlaceFacts:
    """What the place data says is around an order."""

    nearby: Mapping[str, float] = field(default_factory=dict)  # point-of-interest kind → metres
    roads: Mapping[str, float] = field(default_factory=dict)  # road name → metres
    historic: bool = False  # the order's building is historic


class PlaceIndex(Protocol):
    def around(self, point: Point | None, building: str | None, radius_m: float) -> PlaceFacts: ...


PlacesFor = Callable[[str, UnitOfWork | None], PlaceIndex]  # inside a transaction: pass its unit
RulesOf = Callable[[UnitOfWork, str], tuple[PolicySet, Catalogue]]


@dataclass(frozen=True)
class IntakeGrade:
    """A new order's grade, before it is stored."""

    rules: GradingRules
    facts: Facts
    grade: Grade

    @property
    def colour(self) -> Colour:
        return self.grade.colour


@dataclass(frozen=True)
class Change:
    order_id: int
    category: str
    received_at: datetime
    actual: Colour
    proposed: Colour
    explanation: str


@dataclass
class DryRun:
    """What a rule set would have graded: the colours the orders have against the proposed ones."""

    street: str
    since: datetime
    until: datetime
    orders: int = 0
    changed: int = 0
    manual_kept: int = 0  # graded by a person: the rules would not change them
    actual: dict[str, int] = field(default_factory=dict)
    proposed: dict[str, int] = field(default_factory=dict)
    moves: dict[tuple[str, str], int] = field(default_factory=dict)
    causes: dict[str, int] = field(default_factory=dict)  # rule code → orders it applied to
    examples: list[Change] = field(default_factory=list)
    seconds: float = 0.0


class GradingService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, rules_of: RulesOf, places: PlacesFor) -> None:
        self._uow = uow
        self._clock = clock
        self._rules_of = rules_of
        self._places = places
        self._rules = StreetSetting(uow, SETTINGS_KEY, GradingRules.from_dict, DEFAULT_GRADING)

    # --- the rule set ---------------------------------------------------------------------------

    def rules(self, street: str, uow: UnitOfWork | None = None) -> GradingRules:
        return self._rules.get(street, uow)

    def get_rules(self, actor: Actor, street: str) -> GradingRules:
        require_role(actor, READERS, "查看分级规则")
        require_street(actor, street)
        return self.rules(street)

    def set_rules(self, actor: Actor, street: str, data: Any) -> GradingRules:
        """Replace the street's rule set as a whole (every problem named, nothing kept on an error)."""
        require_role(actor, SUPERVISORS, "修改分级规则")
        require_street(actor, street)
        rules = GradingRules.from_dict(data)
        self._rules.put(street, rules.to_dict(), self._clock.now(), actor.who.id)
        return rules

    # --- grading ---------------------------------------------------------------------------------

    def intake(
        self,
        street: str,
        category: str,
        default: Colour,
        reported: Colour | None,
        source: Source,
        text: str,
        location: Location,
        now: datetime,
    ) -> IntakeGrade:
        """A new order's grade from its words, the place data and the time. Call it before the intake's
        transaction: it may read the rule set and build the street's place index."""
        rules = self.rules(street)
        place = self._places(street, None).around(location.point, location.building, rules.lookup_m)
        facts = Facts(
            category=category,
            default=default,
            reported=reported,
            source=source.value,
            text=text,
            address=location.address or "",
            received_at=now,
            nearby=place.nearby,
            roads=place.roads,
            historic=place.historic,
        )
        return IntakeGrade(rules, facts, rules.grade(facts))

    def with_repeats(self, uow: UnitOfWork, intake: IntakeGrade, order: WorkOrder) -> IntakeGrade:
        """The grade once the earlier reports of the same problem at the same place are counted."""
        rules = intake.rules
        if not rules.counts_repeats:
            return intake
        loc = order.location
        repeats = uow.grades.earlier_reports(
            order.street,
            order.category,
            order.received_at - timedelta(days=rules.repeat_days),
            order.received_at,
            loc.point,
            rules.repeat_radius_m,
            loc.building,
            loc.address,
        )
        if repeats == 0:
            return intake
        facts = replace(intake.facts, repeats=repeats)
        return IntakeGrade(rules, facts, rules.grade(facts))

    def remember(self, uow: UnitOfWork, order: WorkOrder, intake: IntakeGrade) -> None:
        """Keep what a later grading cannot find again: the reported level, the repeats, kept rises."""
        facts, grade = intake.facts, intake.grade
        if facts.reported is None and facts.repeats == 0 and not grade.dynamic:
            return  # nothing a later grading could not work out from the order itself
        assert order.id is not None
        record = GradeRecord(
            order.id, order.street, facts.reported, facts.repeats, grade.dynamic, graded_at=order.received_at
        )
        uow.grades.save(record)

    def react(
        self, uow: UnitOfWork, order: WorkOrder, entries: Sequence[TimelineEntry], now: datetime
    ) -> None:
        """Grade again after a change that may move the colour; runs in the change's transaction."""
        kinds = {e.kind for e in entries}
        if not kinds & REGRADE_KINDS:
            return
        assert order.id is not None
        rules = self.rules(order.street, uow)
        policies, catalogue = self._rules_of(uow, order.street)
        policy = policies.get(order.policy_code)
        if kinds <= DEADLINE_KINDS and not _deadline_rule_matches(rules, order, policy, now):
            return  # the usual warning: no rule of the set looks at it
        record = uow.grades.get(order.id) or GradeRecord(order.id, order.street)
        record.repeats += sum(1 for e in entries if e.kind == "duplicate_merged")
        facts = self._facts(order, record, rules, catalogue, policy, now, self._places(order.street, uow))
        if "regraded" in kinds:
            # A person graded: their colour stands against everything known now.
            known = rules.grade(facts, record.sticky)
            record.manual, record.absorbed = order.colour, known.dynamic | record.sticky
            record.sticky |= known.dynamic
        else:
            manual = ManualGrade(record.manual, record.absorbed) if record.manual else None
            grade = rules.grade(facts, record.sticky, manual)
            record.sticky |= grade.dynamic
            if grade.colour is not order.colour:
                named = catalogue.get(order.category).policy if order.category in catalogue else None
                order.change_colour(
                    now,
                    grade.colour,
                    grade.explain(facts),
                    [c.to_dict() for c in grade.causes],
                    policies.for_order(order.category, grade.colour, named),
                )
        record.graded_at = now
        uow.grades.save(record)

    def _facts(
        self,
        order: WorkOrder,
        record: GradeRecord,
        rules: GradingRules,
        catalogue: Catalogue,
        policy: DeadlinePolicy,
        now: datetime,
        place: PlaceIndex | None = None,
    ) -> Facts:
        default = catalogue.get(order.category).colour if order.category in catalogue else Colour.BLUE
        around = (place or self._places(order.street, None)).around(
            order.location.point, order.location.building, rules.lookup_m
        )
        return Facts(
            category=order.category,
            default=default,
            reported=record.reported,
            source=order.source.value,
            text=order.description,
            address=order.location.address or "",
            received_at=order.received_at,
            nearby=around.nearby,
            roads=around.roads,
            historic=around.historic,
            repeats=record.repeats,
            deadline=deadline_state(order, policy, now),
        )

    # --- reads -----------------------------------------------------------------------------------

    def explain(self, actor: Actor, order: WorkOrder) -> tuple[Grade, Facts, GradeRecord]:
        """Why the order has its colour (for an order the caller may see)."""
        require_role(actor, READERS, "查看工单")
        assert order.id is not None
        with self._uow() as uow:
            rules = self.rules(order.street, uow)
            policies, catalogue = self._rules_of(uow, order.street)
            record = uow.grades.get(order.id) or GradeRecord(order.id, order.street)
        facts = self._facts(
            order, record, rules, catalogue, policies.get(order.policy_code), self._clock.now()
        )
        manual = ManualGrade(record.manual, record.absorbed) if record.manual else None
        return rules.grade(facts, record.sticky, manual), facts, record

    def dry_run(
        self,
        actor: Actor,
        street: str,
        since: datetime,
        until: datetime,
        proposed: GradingRules | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> DryRun:
        """Grade the orders received in [since, until) with `proposed` (default: the street's rule set)
        as if it had been live, and compare with the colours they have. Lateness counts as it stood at
        the period's end (or now, if earlier). Orders a person graded keep their grade, as they would
        have."""
        require_role(actor, SUPERVISORS, "试算分级规则")
        require_street(actor, street)
        if since.tzinfo is None or until.tzinfo is None or since >= until:
            raise InvalidInput("试算区间须带时区，且开始早于结束")
        started = time.perf_counter()
        rules = proposed or self.rules(street)
        lookback = since - timedelta(days=rules.repeat_days)
        with self._uow() as uow:
            page = uow.orders.search(
                OrderQuery(street=street, since=lookback, until=until, limit=MAX_DRY_RUN + 1)
            )
            if page.total > MAX_DRY_RUN:
                raise InvalidInput(f"试算区间内工单超过 {MAX_DRY_RUN} 件，请缩短区间", total=page.total)
            period = [o for o in page.items if o.received_at >= since]
            records = uow.grades.records([o.id for o in period if o.id is not None])
            policies, catalogue = self._rules_of(uow, street)
        repeats = _earlier_reports(page.items, rules)
        report = DryRun(street, since, until, orders=len(period))
        place = self._places(street, None)
        now = min(self._clock.now(), until)  # lateness as it stood at the end of the period
        period.sort(key=lambda o: (o.received_at, o.id or 0))
        for done, order in enumerate(period, start=1):
            assert order.id is not None
            record = records.get(order.id) or GradeRecord(order.id, street)
            causes: tuple[Cause, ...] = ()
            if record.manual is not None:
                colour, explanation = order.colour, "人工定级"
                report.manual_kept += 1
            else:
                record = replace(record, repeats=repeats.get(order.id, 0))
                facts = self._facts(
                    order, record, rules, catalogue, policies.get(order.policy_code), now, place
                )
                grade = rules.grade(facts)
                colour, causes, explanation = grade.colour, grade.causes, grade.explain(facts)
            _count(report.actual, order.colour.value)
            _count(report.proposed, colour.value)
            for cause in causes:
                _count(report.causes, cause.code)
            if colour is not order.colour:
                report.changed += 1
                move = (order.colour.value, colour.value)
                report.moves[move] = report.moves.get(move, 0) + 1
                if len(report.examples) < MAX_EXAMPLES:
                    report.examples.append(
                        Change(order.id, order.category, order.received_at, order.colour, colour, explanation)
                    )
            if progress is not None and (done % 1000 == 0 or done == len(period)):
                progress(done, len(period))
        report.seconds = time.perf_counter() - started
        return report


def _deadline_rule_matches(
    rules: GradingRules, order: WorkOrder, policy: DeadlinePolicy, now: datetime
) -> bool:
    state = deadline_state(order, policy, now)
    if state is None:
        return False
    facts = Facts(
        order.category, Colour.BLUE, source=order.source.value, received_at=order.received_at, deadline=state
    )
    return any(r.factor is Factor.DEADLINE and r.matches(facts, rules.main_roads) for r in rules.rules)


def _count(counts: dict[str, int], key: str) -> None:
    counts[key] = counts.get(key, 0) + 1


_CELL = 0.0005  # degrees: about 50 m; a report's neighbours are in its cell or the 8 around it


def _earlier_reports(orders: Iterable[WorkOrder], rules: GradingRules) -> dict[int, int]:
    """For each order, how many orders of its category were received before it within `repeat_days`
    at the same building or within `repeat_radius_m` (by the same address when it has neither): what
    intake would have counted."""
    window = timedelta(days=rules.repeat_days)
    by_key: dict[tuple[str, ...], list[WorkOrder]] = {}
    counts: dict[int, int] = {}
    for order in sorted(orders, key=lambda o: (o.received_at, o.id or 0)):
        assert order.id is not None
        loc = order.location
        keys: list[tuple[str, ...]] = []
        if loc.building:
            keys.append((order.category, "b", loc.building))
        if loc.address and loc.point is None and not loc.building:
            keys.append((order.category, "a", loc.address))
        cell = None
        if loc.point is not None:
            cell = (int(loc.point.lon // _CELL), int(loc.point.lat // _CELL))
        earlier: dict[int, WorkOrder] = {}
        for key in keys:
            earlier.update((o.id or 0, o) for o in by_key.get(key, ()))
        if cell is not None and loc.point is not None:
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    for other in by_key.get((order.category, "c", str(cell[0] + dx), str(cell[1] + dy)), ()):
                        if other.location.point is not None and (
                            walk_metres(loc.point, other.location.point) <= rules.repeat_radius_m
                        ):
                            earlier[other.id or 0] = other
        counts[order.id] = sum(1 for o in earlier.values() if order.received_at - o.received_at <= window)
        for key in keys:
            by_key.setdefault(key, []).append(order)
        if cell is not None:
            by_key.setdefault((order.category, "c", str(cell[0]), str(cell[1])), []).append(order)
    return counts

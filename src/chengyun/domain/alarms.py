"""Alarms: what a rule transition becomes for people, de-duplicated and with flap suppression.

Lifecycle: raised → acknowledged → cleared; an alarm whose condition clears before anyone acknowledged it
is `cleared_unacknowledged` until someone does (then `cleared`). There is at most one alarm per
(sensor, rule) at a time: a rule that keeps raising raises one alarm. Flap suppression:

- a clear must hold for `AlarmPolicy.clear_hold` before the alarm really clears; a raise in the meantime
  cancels the clear and counts a flap (nobody hears of it);
- a raise within `AlarmPolicy.reopen_window` after the alarm really cleared reopens the same alarm
  (counting a flap) instead of raising a new one.

Alarms of `AlarmPolicy.order_colours` create a work order (the services do that, located at the watched
object); their clearing is written to the order's timeline.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from chengyun.domain.errors import IllegalTransition, InvalidInput
from chengyun.domain.rules import RuleKind, Transition, TransitionKind
from chengyun.domain.sensors import Sensor
from chengyun.domain.severity import Colour


class AlarmState(StrEnum):
    RAISED = "raised"  # 已告警，待确认
    ACKNOWLEDGED = "acknowledged"  # 已确认，处置中
    CLEARED = "cleared"  # 已确认并解除
    CLEARED_UNACKNOWLEDGED = "cleared_unacknowledged"  # 未确认即已解除

    @property
    def label(self) -> str:
        return _STATE_LABELS[self]

    @property
    def active(self) -> bool:
        return self in (AlarmState.RAISED, AlarmState.ACKNOWLEDGED)


_STATE_LABELS = {
    AlarmState.RAISED: "告警中（待确认）",
    AlarmState.ACKNOWLEDGED: "已确认",
    AlarmState.CLEARED: "已解除",
    AlarmState.CLEARED_UNACKNOWLEDGED: "已解除（未确认）",
}

DEFAULT_ORDER_COLOURS = frozenset({Colour.RED, Colour.ORANGE})


@dataclass(frozen=True)
class AlarmPolicy:
    clear_hold: timedelta = timedelta(minutes=5)
    reopen_window: timedelta = timedelta(minutes=30)
    order_colours: frozenset[Colour] = DEFAULT_ORDER_COLOURS

    def __post_init__(self) -> None:
        if self.clear_hold < timedelta(0) or self.reopen_window < timedelta(0):
            raise InvalidInput("告警解除保持时间和重开窗口不能为负")


class AlarmEventKind(StrEnum):
    RAISED = "raised"  # a new alarm
    REOPENED = "reopened"  # a cleared alarm raised again within the reopen window
    ACKNOWLEDGED = "acknowledged"
    CLEARED = "cleared"  # the clear held long enough


@dataclass(frozen=True)
class AlarmEvent:
    """Published after the change is stored (the screen, notifier and order services subscribe)."""

    kind: AlarmEventKind
    at: datetime
    alarm_id: int | None
    sensor_id: str
    rule_id: str
    street: str
    colour: Colour
    state: AlarmState
    message: str  # Chinese
    creates_order: bool  # a new order is wanted (a RAISED or REOPENED alarm of an order colour without one)
    order_id: int | None


@dataclass
class Alarm:
    sensor_id: str
    rule_id: str
    rule_kind: RuleKind
    street: str
    colour: Colour
    state: AlarmState
    raised_at: datetime
    reason: str
    value: float | None = None
    sensor_label: str = ""  # the sensor kind's label, e.g. 建筑倾斜
    watches: str | None = None  # code of the watched place or component
    id: int | None = None
    last_raised_at: datetime | None = None
    clear_pending_since: datetime | None = None
    clear_reason: str | None = None
    cleared_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    flaps: int = 0
    order_id: int | None = None
    events: list[AlarmEvent] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def open(cls, transition: Transition, sensor: Sensor) -> Alarm:
        if transition.kind is not TransitionKind.RAISE:
            raise InvalidInput("只有告警触发才能新建告警")
        if transition.sensor_id != sensor.id:
            raise InvalidInput("告警与传感器不一致", sensor=sensor.id)
        return cls(
            sensor_id=sensor.id,
            rule_id=transition.rule_id,
            rule_kind=transition.rule_kind,
            street=sensor.street,
            colour=transition.colour,
            state=AlarmState.RAISED,
            raised_at=transition.at,
            reason=transition.reason,
            value=transition.value,
            sensor_label=sensor.kind.label,
            watches=sensor.watches,
            last_raised_at=transition.at,
        )

    @property
    def key(self) -> tuple[str, str]:
        return self.sensor_id, self.rule_id

    @property
    def active(self) -> bool:
        return self.state.active

    @property
    def message(self) -> str:
        """What the alarm is about, for people."""
        watched = f"（监测 {self.watches}）" if self.watches else ""
        return f"{self.sensor_label}传感器 {self.sensor_id}{watched}{self.rule_kind.label}：{self.reason}"

    def wants_order(self, policy: AlarmPolicy) -> bool:
        return self.active and self.order_id is None and self.colour in policy.order_colours

    def can_reopen(self, at: datetime, policy: AlarmPolicy) -> bool:
        return (
            not self.active and self.cleared_at is not None and at - self.cleared_at <= policy.reopen_window
        )

    def _event(self, kind: AlarmEventKind, at: datetime, message: str, policy: AlarmPolicy) -> AlarmEvent:
        event = self._describe(kind, at, message, policy)
        self.events.append(event)
        return event

    def _describe(self, kind: AlarmEventKind, at: datetime, message: str, policy: AlarmPolicy) -> AlarmEvent:
        wants = kind in (AlarmEventKind.RAISED, AlarmEventKind.REOPENED) and self.wants_order(policy)
        return AlarmEvent(
            kind,
            at,
            self.id,
            self.sensor_id,
            self.rule_id,
            self.street,
            self.colour,
            self.state,
            message,
            wants,
            self.order_id,
        )

    def raised(self, policy: AlarmPolicy) -> AlarmEvent:
        """The event of a freshly opened alarm."""
        return self._event(AlarmEventKind.RAISED, self.raised_at, f"告警：{self.message}", policy)

    def order_request(self, policy: AlarmPolicy) -> AlarmEvent | None:
        """The event to file this alarm's order from while it still wants one (its filing failed after
        the alarm was stored); not recorded in its history again."""
        if not self.wants_order(policy):
            return None
        return self._describe(AlarmEventKind.RAISED, self.raised_at, f"告警：{self.message}", policy)

    def on_raise(self, transition: Transition, policy: AlarmPolicy) -> AlarmEvent | None:
        """The rule raised again for this alarm. While a clear is pending the clear is cancelled (a
        flap, silent); a recently cleared alarm reopens. Returns the event people should see, if any."""
        self._check(transition)
        self.value = transition.value
        self.last_raised_at = transition.at
        if transition.colour.rank < self.colour.rank:
            self.colour = transition.colour
        if self.active:
            if self.clear_pending_since is not None:
                self.clear_pending_since = None
                self.clear_reason = None
                self.flaps += 1
            return None
        if not self.can_reopen(transition.at, policy):
            raise IllegalTransition("告警已解除过久，应新建告警", alarm=self.id)
        self.flaps += 1
        self.state = AlarmState.RAISED
        self.reason = transition.reason
        self.cleared_at = None
        self.acknowledged_at = None
        self.acknowledged_by = None
        return self._event(
            AlarmEventKind.REOPENED,
            transition.at,
            f"告警再次触发（第 {self.flaps} 次反复）：{self.message}",
            policy,
        )

    def on_clear(self, transition: Transition, policy: AlarmPolicy) -> AlarmEvent | None:
        """The rule's condition stopped holding: the clear is pending until it has held for
        `policy.clear_hold` (then `tick` clears the alarm)."""
        self._check(transition)
        if not self.active:
            return None
        if self.clear_pending_since is None:
            self.clear_pending_since = transition.at
            self.clear_reason = transition.reason
        return self.tick(transition.at, policy)

    def tick(self, now: datetime, policy: AlarmPolicy) -> AlarmEvent | None:
        """Clears the alarm once a pending clear has held long enough."""
        since = self.clear_pending_since
        if since is None or not self.active or now - since < policy.clear_hold:
            return None
        self.state = (
            AlarmState.CLEARED if self.state is AlarmState.ACKNOWLEDGED else AlarmState.CLEARED_UNACKNOWLEDGED
        )
        self.cleared_at = since
        self.clear_pending_since = None
        reason = self.clear_reason or "恢复正常"
        self.clear_reason = None
        return self._event(AlarmEventKind.CLEARED, now, f"告警解除：{self.message}；{reason}", policy)

    def acknowledge(self, by: str, at: datetime, policy: AlarmPolicy) -> AlarmEvent:
        """An operator has seen it: raised → acknowledged, cleared_unacknowledged → cleared."""
        if self.state is AlarmState.RAISED:
            self.state = AlarmState.ACKNOWLEDGED
        elif self.state is AlarmState.CLEARED_UNACKNOWLEDGED:
            self.state = AlarmState.CLEARED
        else:
            raise IllegalTransition(
                f"告警{self.state.label}，不能再确认", alarm=self.id, state=self.state.value
            )
        self.acknowledged_at, self.acknowledged_by = at, by
        return self._event(AlarmEventKind.ACKNOWLEDGED, at, f"{by} 确认告警：{self.message}", policy)

    def _check(self, transition: Transition) -> None:
        if (transition.sensor_id, transition.rule_id) != self.key:
            raise InvalidInput("告警与规则不一致", alarm=self.id, rule=transition.rule_id)


class AlarmBook:
    """The live alarms of a worker, one per (sensor, rule): turns rule transitions into alarm events.
    Storage loads the latest alarm of each (sensor, rule) into it and saves the alarms it changes."""

    def __init__(self, policy: AlarmPolicy, alarms: Iterable[Alarm] = ()) -> None:
        self.policy = policy
        self.alarms: dict[tuple[str, str], Alarm] = {}
        self._pending: set[tuple[str, str]] = set()
        for alarm in alarms:
            self.alarms[alarm.key] = alarm
            if alarm.clear_pending_since is not None:
                self._pending.add(alarm.key)

    def get(self, sensor_id: str, rule_id: str) -> Alarm | None:
        return self.alarms.get((sensor_id, rule_id))

    def apply(self, transition: Transition, sensor: Sensor) -> AlarmEvent | None:
        """One rule transition of `sensor`; returns the event people should see, if any."""
        key = (transition.sensor_id, transition.rule_id)
        alarm = self.alarms.get(key)
        if alarm is not None:
            alarm.tick(transition.at, self.policy)  # a clear that has held by now is final
        if transition.kind is TransitionKind.CLEAR:
            if alarm is None or not alarm.active:
                return None
            event = alarm.on_clear(transition, self.policy)
            if alarm.clear_pending_since is not None:
                self._pending.add(key)
            else:
                self._pending.discard(key)
            return event
        if alarm is not None and (alarm.active or alarm.can_reopen(transition.at, self.policy)):
            self._pending.discard(key)
            return alarm.on_raise(transition, self.policy)
        alarm = Alarm.open(transition, sensor)
        self.alarms[key] = alarm
        return alarm.raised(self.policy)

    def tick(self, now: datetime) -> list[AlarmEvent]:
        """Clears the alarms whose pending clear has held long enough."""
        out: list[AlarmEvent] = []
        for key in list(self._pending):
            alarm = self.alarms[key]
            event = alarm.tick(now, self.policy)
            if event is not None:
                out.append(event)
            if alarm.clear_pending_since is None:
                self._pending.discard(key)
        return out

    def active(self) -> list[Alarm]:
        return [a for a in self.alarms.values() if a.active]

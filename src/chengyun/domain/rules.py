"""Sensor rules: specifications as data, and a small per-(sensor, rule) evaluator state.

A rule specification is a frozen dataclass built from a plain dict (`rule_from_dict`) and written back with
`rule_to_dict`, so rule sets can live in a CSV cell, a JSON column or a settings file. Each rule names the
colour of the alarm it raises.

Evaluation is incremental: a `RuleState` sees each reading once and the clock (`tick`, for the offline
rule) and returns a `Transition` when the rule's condition starts (raise) or stops (clear) holding. A
`SensorEvaluator` resolves each rule's quantity (and the rule's bound step) once, when it is built, not per
reading; `observe_many` runs each rule over a sensor's whole batch of readings.
States are plain `__slots__` objects with a handful of numbers, so the live state of 14,000 sensors with
several rules each stays in the tens of megabytes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from chengyun.domain.errors import InvalidInput
from chengyun.domain.severity import Colour

if TYPE_CHECKING:
    from chengyun.domain.sensors import Reading


class Observed(Protocol):
    """What the rules read of a reading: a domain `Reading`, or one decoded at the edge, as it is."""

    @property
    def ts(self) -> datetime: ...

    @property
    def values(self) -> Mapping[str, float]: ...


# One rule's view of a sensor's batch: (index of the reading, its time, the rule's quantity in it).
Column = Sequence[tuple[int, datetime, float]]


class RuleKind(StrEnum):
    THRESHOLD = "threshold"  # 阈值（带回差）
    RATE = "rate"  # 变化率
    SUSTAINED = "sustained"  # 持续超限（M 个样本中 N 个）
    DRIFT = "drift"  # 相对基线的累计漂移
    OFFLINE = "offline"  # 离线（k 倍上报周期内无数据）
    STUCK = "stuck"  # 数值卡死（设备故障）

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]


_KIND_LABELS = {
    RuleKind.THRESHOLD: "阈值告警",
    RuleKind.RATE: "变化率告警",
    RuleKind.SUSTAINED: "持续超限告警",
    RuleKind.DRIFT: "累计漂移告警",
    RuleKind.OFFLINE: "离线告警",
    RuleKind.STUCK: "数值卡死告警",
}


class TransitionKind(StrEnum):
    RAISE = "raise"
    CLEAR = "clear"


@dataclass(frozen=True, slots=True)
class Transition:
    """A rule's condition started (raise) or stopped (clear) holding for one sensor."""

    sensor_id: str
    rule_id: str
    rule_kind: RuleKind
    kind: TransitionKind
    at: datetime
    colour: Colour
    reason: str  # Chinese, for people
    value: float | None = None


# --- specifications ------------------------------------------------------------------------------


def _finite(name: str, value: float | None) -> None:
    if value is not None and not math.isfinite(value):
        raise InvalidInput(f"规则参数 {name} 必须是有限的数字", field=name, value=value)


@dataclass(frozen=True, slots=True)
class ThresholdRule:
    """Raise above `high` (clear again only below `clear_below`), or below `low` (clear only above
    `clear_above`). The gap between the two is the hysteresis that keeps a value hovering at the
    threshold from chattering. Without an explicit clear level, the threshold itself is used."""

    id: str
    quantity: str
    colour: Colour
    high: float | None = None
    clear_below: float | None = None
    low: float | None = None
    clear_above: float | None = None

    kind = RuleKind.THRESHOLD

    def __post_init__(self) -> None:
        _common(self.id, self.quantity)
        for name in ("high", "clear_below", "low", "clear_above"):
            _finite(name, getattr(self, name))
        if self.high is None and self.low is None:
            raise InvalidInput("阈值规则至少需要上限 high 或下限 low", rule=self.id)
        if self.clear_below is not None and self.high is None:
            raise InvalidInput("设置了 clear_below 就必须设置上限 high", rule=self.id)
        if self.clear_above is not None and self.low is None:
            raise InvalidInput("设置了 clear_above 就必须设置下限 low", rule=self.id)
        if self.high is not None and self.clear_below is not None and self.clear_below > self.high:
            raise InvalidInput("解除值 clear_below 不能高于上限 high", rule=self.id)
        if self.low is not None and self.clear_above is not None and self.clear_above < self.low:
            raise InvalidInput("解除值 clear_above 不能低于下限 low", rule=self.id)
        if self.high is not None and self.low is not None and self.low >= self.high:
            raise InvalidInput("下限 low 必须小于上限 high", rule=self.id)

    @property
    def raise_high(self) -> float:
        return self.high if self.high is not None else math.inf

    @property
    def clear_high(self) -> float:
        if self.clear_below is not None:
            return self.clear_below
        return self.raise_high

    @property
    def raise_low(self) -> float:
        return self.low if self.low is not None else -math.inf

    @property
    def clear_low(self) -> float:
        if self.clear_above is not None:
            return self.clear_above
        return self.raise_low


@dataclass(frozen=True, slots=True)
class RateRule:
    """Raise when the value changes faster than `per_minute` (units per minute) between two consecutive
    readings; `direction` is "rise", "fall" or "both". Clears when the rate falls back to
    `clear_per_minute` (default: `per_minute`) or less."""

    id: str
    quantity: str
    colour: Colour
    per_minute: float
    direction: str = "both"
    clear_per_minute: float | None = None

    kind = RuleKind.RATE

    def __post_init__(self) -> None:
        _common(self.id, self.quantity)
        _finite("per_minute", self.per_minute)
        _finite("clear_per_minute", self.clear_per_minute)
        if self.per_minute <= 0:
            raise InvalidInput("变化率上限 per_minute 必须大于 0", rule=self.id)
        if self.direction not in ("rise", "fall", "both"):
            raise InvalidInput("方向 direction 应为 rise、fall 或 both", rule=self.id)
        if self.clear_per_minute is not None and not 0 <= self.clear_per_minute <= self.per_minute:
            raise InvalidInput("解除变化率 clear_per_minute 应在 0 与 per_minute 之间", rule=self.id)

    @property
    def clear_rate(self) -> float:
        return self.per_minute if self.clear_per_minute is None else self.clear_per_minute


@dataclass(frozen=True, slots=True)
class SustainedRule:
    """Raise when at least `n` of the last `m` readings are beyond the limit (above `above` or below
    `below`); clear when at most `clear_at_most` of the last `m` are (default 0: all back in range)."""

    id: str
    quantity: str
    colour: Colour
    n: int
    m: int
    above: float | None = None
    below: float | None = None
    clear_at_most: int = 0

    kind = RuleKind.SUSTAINED

    def __post_init__(self) -> None:
        _common(self.id, self.quantity)
        _finite("above", self.above)
        _finite("below", self.below)
        if self.above is None and self.below is None:
            raise InvalidInput("持续超限规则至少需要 above 或 below", rule=self.id)
        if not 1 <= self.m <= 64:
            raise InvalidInput("样本窗口 m 应在 1 到 64 之间", rule=self.id)
        if not 1 <= self.n <= self.m:
            raise InvalidInput("超限样本数 n 应在 1 到 m 之间", rule=self.id)
        if not 0 <= self.clear_at_most < self.n:
            raise InvalidInput("解除条件 clear_at_most 应在 0 到 n-1 之间", rule=self.id)

    def beyond(self, value: float) -> bool:
        return (self.above is not None and value > self.above) or (
            self.below is not None and value < self.below
        )


@dataclass(frozen=True, slots=True)
class DriftRule:
    """Raise when the smoothed value has moved more than `max_drift` away from the baseline, however
    slowly it got there (a historic building tilting a hundredth of a degree an hour). The baseline is
    `baseline` if given, else the mean of the first `baseline_samples` readings. Smoothing is an
    exponential moving average with weight `smoothing` (1 = none), so one noisy reading does not alarm.
    Clears when the drift is back to `clear_within` (default 80 % of `max_drift`) or less."""

    id: str
    quantity: str
    colour: Colour
    max_drift: float
    baseline: float | None = None
    baseline_samples: int = 6
    smoothing: float = 0.2
    clear_within: float | None = None

    kind = RuleKind.DRIFT

    def __post_init__(self) -> None:
        _common(self.id, self.quantity)
        for name in ("max_drift", "baseline", "smoothing", "clear_within"):
            _finite(name, getattr(self, name))
        if self.max_drift <= 0:
            raise InvalidInput("最大漂移 max_drift 必须大于 0", rule=self.id)
        if self.baseline_samples < 1:
            raise InvalidInput("基线样本数 baseline_samples 至少为 1", rule=self.id)
        if not 0 < self.smoothing <= 1:
            raise InvalidInput("平滑系数 smoothing 应在 (0, 1] 之间", rule=self.id)
        if self.clear_within is not None and not 0 <= self.clear_within <= self.max_drift:
            raise InvalidInput("解除漂移 clear_within 应在 0 与 max_drift 之间", rule=self.id)

    @property
    def clear_drift(self) -> float:
        return 0.8 * self.max_drift if self.clear_within is None else self.clear_within


@dataclass(frozen=True, slots=True)
class OfflineRule:
    """Raise when no reading has arrived within `factor` × the sensor's reporting interval. Evaluated
    on a clock tick; the next reading clears it."""

    id: str
    colour: Colour
    factor: float = 3.0

    kind = RuleKind.OFFLINE
    quantity = None

    def __post_init__(self) -> None:
        _common(self.id, "-")
        _finite("factor", self.factor)
        if self.factor < 1:
            raise InvalidInput("离线倍数 factor 至少为 1", rule=self.id)


@dataclass(frozen=True, slots=True)
class StuckRule:
    """Raise when the value has not changed (within `tolerance`) for `samples` readings or for
    `duration`, whichever is given and reached first: a frozen device. Clears when the value moves."""

    id: str
    quantity: str
    colour: Colour
    samples: int | None = None
    duration: timedelta | None = None
    tolerance: float = 0.0

    kind = RuleKind.STUCK

    def __post_init__(self) -> None:
        _common(self.id, self.quantity)
        _finite("tolerance", self.tolerance)
        if self.samples is None and self.duration is None:
            raise InvalidInput("卡死规则需要样本数 samples 或时长 duration_s", rule=self.id)
        if self.samples is not None and self.samples < 2:
            raise InvalidInput("卡死样本数 samples 至少为 2", rule=self.id)
        if self.duration is not None and self.duration <= timedelta(0):
            raise InvalidInput("卡死时长 duration_s 必须大于 0", rule=self.id)
        if self.tolerance < 0:
            raise InvalidInput("容差 tolerance 不能为负", rule=self.id)


RuleSpec = ThresholdRule | RateRule | SustainedRule | DriftRule | OfflineRule | StuckRule


def _common(rule_id: str, quantity: str) -> None:
    if not isinstance(rule_id, str) or not rule_id.strip() or len(rule_id) > 64:
        raise InvalidInput("规则编号 id 不能为空，且不超过 64 个字符", rule=rule_id)
    if not isinstance(quantity, str) or not quantity.strip():
        raise InvalidInput("规则必须指明测量量 quantity", rule=rule_id)


# --- dicts <-> specifications --------------------------------------------------------------------

_FIELDS: Mapping[RuleKind, tuple[tuple[str, str], ...]] = {
    # (dict key, type): "f" float, "i" int, "s" string, "d" seconds → timedelta; `?` optional
    RuleKind.THRESHOLD: (
        ("quantity", "s"),
        ("high", "f?"),
        ("clear_below", "f?"),
        ("low", "f?"),
        ("clear_above", "f?"),
    ),
    RuleKind.RATE: (("quantity", "s"), ("per_minute", "f"), ("direction", "s?"), ("clear_per_minute", "f?")),
    RuleKind.SUSTAINED: (
        ("quantity", "s"),
        ("n", "i"),
        ("m", "i"),
        ("above", "f?"),
        ("below", "f?"),
        ("clear_at_most", "i?"),
    ),
    RuleKind.DRIFT: (
        ("quantity", "s"),
        ("max_drift", "f"),
        ("baseline", "f?"),
        ("baseline_samples", "i?"),
        ("smoothing", "f?"),
        ("clear_within", "f?"),
    ),
    RuleKind.OFFLINE: (("factor", "f?"),),
    RuleKind.STUCK: (("quantity", "s"), ("samples", "i?"), ("duration_s", "d?"), ("tolerance", "f?")),
}

_CLASSES: Mapping[RuleKind, type[Any]] = {
    RuleKind.THRESHOLD: ThresholdRule,
    RuleKind.RATE: RateRule,
    RuleKind.SUSTAINED: SustainedRule,
    RuleKind.DRIFT: DriftRule,
    RuleKind.OFFLINE: OfflineRule,
    RuleKind.STUCK: StuckRule,
}


def rule_from_dict(data: Mapping[str, Any]) -> RuleSpec:
    """A rule from a plain dict such as `{"id": "tilt-high", "kind": "threshold", "quantity": "tilt",
    "colour": "orange", "high": 0.5, "clear_below": 0.4}`; durations are in seconds (`duration_s`).
    Raises InvalidInput naming the bad field."""
    if not isinstance(data, Mapping):
        raise InvalidInput("规则必须是对象（键值对）")
    rule_id = data.get("id")
    try:
        kind = RuleKind(str(data.get("kind")))
    except ValueError:
        known = "、".join(k.value for k in RuleKind)
        raise InvalidInput(f"未知的规则类型 {data.get('kind')!r}，应为 {known}", rule=rule_id) from None
    try:
        colour = Colour(str(data.get("colour")))
    except ValueError:
        raise InvalidInput(f"未知的颜色 {data.get('colour')!r}", rule=rule_id) from None
    fields = _FIELDS[kind]
    allowed = {"id", "kind", "colour"} | {name for name, _ in fields}
    extra = sorted(set(data) - allowed)
    if extra:
        raise InvalidInput(f"{kind.label}不认识的参数：{'、'.join(map(str, extra))}", rule=rule_id)
    kwargs: dict[str, Any] = {"id": rule_id, "colour": colour}
    for name, spec in fields:
        value = data.get(name)
        if value is None:
            if not spec.endswith("?"):
                raise InvalidInput(f"{kind.label}缺少参数 {name}", rule=rule_id, field=name)
            continue
        kwargs[name.removesuffix("_s") if spec.startswith("d") else name] = _convert(
            rule_id, name, spec, value
        )
    result: RuleSpec = _CLASSES[kind](**kwargs)
    return result


def _convert(rule_id: Any, name: str, spec: str, value: Any) -> Any:
    kind = spec[0]
    if kind == "s":
        if not isinstance(value, str):
            raise InvalidInput(f"参数 {name} 必须是字符串", rule=rule_id, field=name)
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"参数 {name} 必须是数字，不是 {value!r}", rule=rule_id, field=name)
    if kind == "i":
        if isinstance(value, float) and not value.is_integer():
            raise InvalidInput(f"参数 {name} 必须是整数，不是 {value!r}", rule=rule_id, field=name)
        return int(value)
    if not math.isfinite(value):
        raise InvalidInput(f"参数 {name} 必须是有限的数字", rule=rule_id, field=name)
    if kind == "d":
        return timedelta(seconds=float(value))
    return float(value)


def rule_to_dict(rule: RuleSpec) -> dict[str, Any]:
    """The plain-dict form `rule_from_dict` reads; optional parameters left unset are omitted."""
    out: dict[str, Any] = {"id": rule.id, "kind": rule.kind.value, "colour": rule.colour.value}
    for name, spec in _FIELDS[rule.kind]:
        attr = name.removesuffix("_s") if spec.startswith("d") else name
        value = getattr(rule, attr)
        if value is None:
            continue
        out[name] = value.total_seconds() if isinstance(value, timedelta) else value
    return out


def rules_from_dicts(items: Iterable[Mapping[str, Any]]) -> tuple[RuleSpec, ...]:
    """A rule set; rule ids must be unique within it."""
    rules = tuple(rule_from_dict(item) for item in items)
    ids = [r.id for r in rules]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise InvalidInput(f"规则编号重复：{'、'.join(duplicates)}", rules=duplicates)
    return rules


# --- evaluation ----------------------------------------------------------------------------------


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _epoch(ts: datetime | None) -> float | None:
    return None if ts is None else ts.timestamp()


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _from_epoch(value: Any) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(float(value), UTC)


class RuleState:
    """The live state of one rule on one sensor. `observe` and `tick` return a transition or None.

    `snapshot()` is the state as a JSON-able list and `restore()` takes it back, so the state can be
    stored between batches and picked up by another worker. `_fields` names what a subclass keeps;
    `_times` which of those are datetimes (stored as epoch seconds)."""

    __slots__ = ("active", "spec")
    _fields: tuple[str, ...] = ()
    _times: frozenset[str] = frozenset()
    # Whether the rule sees every reading (offline) rather than only those carrying its quantity.
    every_reading = False

    def __init__(self, spec: RuleSpec) -> None:
        self.spec = spec
        self.active = False

    def snapshot(self) -> list[Any]:
        out: list[Any] = [self.active]
        for name in self._fields:
            value = getattr(self, name)
            if name in self._times:
                value = _epoch(value)
            elif isinstance(value, float) and not math.isfinite(value):
                value = None
            out.append(value)
        return out

    def restore(self, data: Sequence[Any]) -> None:
        """Take back a snapshot; a malformed one (another version's) leaves the fresh state."""
        if not data or len(data) != 1 + len(self._fields):
            return
        self.active = bool(data[0])
        for name, stored in zip(self._fields, data[1:], strict=True):
            value = stored
            if name in self._times:
                value = _from_epoch(stored)
            elif stored is None and isinstance(getattr(self, name), float):
                value = math.nan
            setattr(self, name, value)

    def observe(self, reading: Reading) -> Transition | None:
        """One reading, this rule alone (a `SensorEvaluator` calls `step` with the value resolved)."""
        if self.every_reading:
            return self.step(reading.ts, 0.0, reading.sensor_id)
        quantity = self.spec.quantity
        value = reading.values.get(quantity) if quantity is not None else None
        if value is None:
            return None
        return self.step(reading.ts, float(value), reading.sensor_id)

    def step(self, ts: datetime, value: float, sensor_id: str) -> Transition | None:
        """The rule's condition at one reading of its quantity (`value`) at `ts`."""
        raise NotImplementedError

    def run(
        self, column: Column, sensor_id: str, order: int, found: list[tuple[int, int, Transition]]
    ) -> None:
        """`step` over a column of (reading index, time, value); each transition goes into `found` as
        (reading index, `order`, transition)."""
        step = self.step
        for i, ts, value in column:
            t = step(ts, value, sensor_id)
            if t is not None:
                found.append((i, order, t))

    def run_all(
        self,
        readings: Sequence[Observed],
        sensor_id: str,
        order: int,
        found: list[tuple[int, int, Transition]],
    ) -> None:
        """`run` for a rule that sees every reading (`every_reading`), over the readings themselves."""
        self.run([(i, r.ts, 0.0) for i, r in enumerate(readings)], sensor_id, order, found)

    def _flip(
        self, sensor_id: str, active: bool, at: datetime, reason: str, value: float | None
    ) -> Transition | None:
        if active == self.active:
            return None
        self.active = active
        spec = self.spec
        return Transition(
            sensor_id,
            spec.id,
            spec.kind,
            TransitionKind.RAISE if active else TransitionKind.CLEAR,
            at,
            spec.colour,
            reason,
            value,
        )


class ThresholdState(RuleState):
    # The four levels, resolved from the spec once (its properties are not free, and this rule is
    # the commonest); not part of the snapshot.
    __slots__ = ("clear_high", "clear_low", "raise_high", "raise_low")
    spec: ThresholdRule

    def __init__(self, spec: ThresholdRule) -> None:
        super().__init__(spec)
        self.raise_high, self.clear_high = spec.raise_high, spec.clear_high
        self.raise_low, self.clear_low = spec.raise_low, spec.clear_low

    def snapshot(self) -> list[Any]:
        return [self.active]  # the commonest rule: no field loop

    def run(
        self, column: Column, sensor_id: str, order: int, found: list[tuple[int, int, Transition]]
    ) -> None:
        if not self.active:
            # Quiet until a value crosses a level: nothing to step through before the first that does.
            hi, lo = self.raise_high, self.raise_low
            for k, (_, _, value) in enumerate(column):
                if value > hi or value < lo:
                    column = column[k:]
                    break
            else:
                return
        RuleState.run(self, column, sensor_id, order, found)

    def step(self, ts: datetime, value: float, sensor_id: str) -> Transition | None:
        if not self.active:
            if value > self.raise_high:
                s = self.spec
                return self._flip(
                    sensor_id,
                    True,
                    ts,
                    f"{s.quantity} 为 {_fmt(value)}，高于上限 {_fmt(self.raise_high)}",
                    value,
                )
            if value < self.raise_low:
                s = self.spec
                reason = f"{s.quantity} 为 {_fmt(value)}，低于下限 {_fmt(self.raise_low)}"
                return self._flip(sensor_id, True, ts, reason, value)
            return None
        if self.clear_low <= value <= self.clear_high:
            return self._flip(sensor_id, False, ts, f"{self.spec.quantity} 恢复为 {_fmt(value)}", value)
        return None


class RateState(RuleState):
    # `per`, `clear`, `sign`: the spec's limits and direction, resolved once (not part of the snapshot).
    __slots__ = ("clear", "last_ts", "last_value", "per", "sign")
    _fields = ("last_ts", "last_value")
    _times = frozenset({"last_ts"})
    spec: RateRule

    def snapshot(self) -> list[Any]:
        last = self.last_ts
        return [self.active, None if last is None else last.timestamp(), _finite_or_none(self.last_value)]

    def __init__(self, spec: RateRule) -> None:
        super().__init__(spec)
        self.last_ts: datetime | None = None
        self.last_value = 0.0
        self.per, self.clear = spec.per_minute, spec.clear_rate
        self.sign = 1.0 if spec.direction == "rise" else -1.0 if spec.direction == "fall" else 0.0

    def step(self, ts: datetime, value: float, sensor_id: str) -> Transition | None:
        last_ts, last_value = self.last_ts, self.last_value
        if last_ts is not None and ts <= last_ts:
            return None  # late or repeated reading: no rate to speak of
        self.last_ts, self.last_value = ts, value
        if last_ts is None:
            return None
        s = self.spec
        rate = (value - last_value) / ((ts - last_ts).total_seconds() / 60.0)
        signed = rate if s.direction == "rise" else -rate if s.direction == "fall" else abs(rate)
        if not self.active and signed > s.per_minute:
            return self._flip(sensor_id, True, ts, self._raised(rate), value)
        if self.active and signed <= s.clear_rate:
            return self._flip(sensor_id, False, ts, self._cleared(rate), value)
        return None

    def _raised(self, rate: float) -> str:
        s = self.spec
        return f"{s.quantity} 每分钟变化 {_fmt(rate)}，超过 {_fmt(s.per_minute)}"

    def _cleared(self, rate: float) -> str:
        return f"{self.spec.quantity} 变化率恢复为每分钟 {_fmt(rate)}"

    def run(
        self, column: Column, sensor_id: str, order: int, found: list[tuple[int, int, Transition]]
    ) -> None:
        # `step` over the column with the state in locals; the same arithmetic, in the same order.
        per, clear, sign = self.per, self.clear, self.sign
        last_ts, last_value = self.last_ts, self.last_value
        for i, ts, value in column:
            if last_ts is not None:
                if ts <= last_ts:
                    continue
                rate = (value - last_value) / ((ts - last_ts).total_seconds() / 60.0)
                signed = rate if sign > 0 else -rate if sign < 0 else abs(rate)
                last_ts, last_value = ts, value
                if self.active:
                    if signed <= clear:
                        self.last_ts, self.last_value = last_ts, last_value
                        t = self._flip(sensor_id, False, ts, self._cleared(rate), value)
                        if t is not None:
                            found.append((i, order, t))
                elif signed > per:
                    self.last_ts, self.last_value = last_ts, last_value
                    t = self._flip(sensor_id, True, ts, self._raised(rate), value)
                    if t is not None:
                        found.append((i, order, t))
            else:
                last_ts, last_value = ts, value
        self.last_ts, self.last_value = last_ts, last_value


class SustainedState(RuleState):
    # `limits`: (m, n, clear_at_most, above, below, mask) resolved once, an absent limit an infinite one
    # (not part of the snapshot).
    __slots__ = ("bits", "limits", "seen")
    _fields = ("bits", "seen")
    spec: SustainedRule

    def snapshot(self) -> list[Any]:
        return [self.active, self.bits, self.seen]

    def __init__(self, spec: SustainedRule) -> None:
        super().__init__(spec)
        self.bits = 0  # bit i: the reading i steps ago was beyond the limit
        self.seen = 0
        above = math.inf if spec.above is None else spec.above
        below = -math.inf if spec.below is None else spec.below
        self.limits = (spec.m, spec.n, spec.clear_at_most, above, below, (1 << spec.m) - 1)

    def step(self, ts: datetime, value: float, sensor_id: str) -> Transition | None:
        s = self.spec
        self.bits = ((self.bits << 1) | s.beyond(value)) & ((1 << s.m) - 1)
        self.seen = min(self.seen + 1, s.m)
        count = self.bits.bit_count()
        if not self.active and count >= s.n:
            return self._flip(sensor_id, True, ts, self._raised(count, value), value)
        if self.active and count <= s.clear_at_most:
            return self._flip(sensor_id, False, ts, self._cleared(count), value)
        return None

    def _raised(self, count: int, value: float) -> str:
        return f"{self.spec.quantity} 最近 {self.seen} 个读数中有 {count} 个超限（当前 {_fmt(value)}）"

    def _cleared(self, count: int) -> str:
        return f"{self.spec.quantity} 最近 {self.seen} 个读数中超限的只有 {count} 个"

    def run(
        self, column: Column, sensor_id: str, order: int, found: list[tuple[int, int, Transition]]
    ) -> None:
        # `step` over the column with the window in locals (values are finite: an absent limit is an
        # infinite one).
        m, n, clear, above, below, mask = self.limits
        bits, seen = self.bits, self.seen
        for i, ts, value in column:
            bits = ((bits << 1) | (value > above or value < below)) & mask
            seen = seen + 1 if seen < m else m
            if self.active:
                count = bits.bit_count()
                if count <= clear:
                    self.bits, self.seen = bits, seen
                    t = self._flip(sensor_id, False, ts, self._cleared(count), value)
                    if t is not None:
                        found.append((i, order, t))
            elif bits:
                count = bits.bit_count()
                if count >= n:
                    self.bits, self.seen = bits, seen
                    t = self._flip(sensor_id, True, ts, self._raised(count, value), value)
                    if t is not None:
                        found.append((i, order, t))
        self.bits, self.seen = bits, seen


class DriftState(RuleState):
    __slots__ = ("baseline", "count", "smoothed")
    _fields = ("baseline", "count", "smoothed")  # the learnt baseline survives restarts with the rest
    spec: DriftRule

    def snapshot(self) -> list[Any]:
        return [self.active, self.baseline, self.count, _finite_or_none(self.smoothed)]

    def __init__(self, spec: DriftRule) -> None:
        super().__init__(spec)
        self.baseline = spec.baseline
        self.count = 0
        self.smoothed = 0.0

    def step(self, ts: datetime, value: float, sensor_id: str) -> Transition | None:
        s = self.spec
        self.count += 1
        if self.baseline is None:  # learning the baseline: running mean of the first readings
            self.smoothed += (value - self.smoothed) / self.count
            if self.count >= s.baseline_samples:
                self.baseline = self.smoothed
            return None
        if self.count == 1:
            self.smoothed = value
        else:
            self.smoothed += s.smoothing * (value - self.smoothed)
        drift = self.smoothed - self.baseline
        if not self.active and abs(drift) > s.max_drift:
            reason = (
                f"{s.quantity} 相对基线 {_fmt(self.baseline)} 累计漂移 {_fmt(drift)}，"
                f"超过 {_fmt(s.max_drift)}"
            )
            return self._flip(sensor_id, True, ts, reason, value)
        if self.active and abs(drift) <= s.clear_drift:
            return self._flip(sensor_id, False, ts, f"{s.quantity} 漂移回落到 {_fmt(drift)}", value)
        return None


class OfflineState(RuleState):
    __slots__ = ("last_seen", "limit")
    _fields = ("last_seen",)
    _times = frozenset({"last_seen"})
    spec: OfflineRule

    def snapshot(self) -> list[Any]:
        last = self.last_seen
        return [self.active, None if last is None else last.timestamp()]

    def __init__(self, spec: OfflineRule, interval: timedelta, since: datetime | None = None) -> None:
        super().__init__(spec)
        self.limit = interval * spec.factor
        self.last_seen = since

    every_reading = True

    def run(
        self, column: Column, sensor_id: str, order: int, found: list[tuple[int, int, Transition]]
    ) -> None:
        if self.active:
            RuleState.run(self, column, sensor_id, order, found)
            return
        last = self.last_seen  # not offline: the batch only moves the last time heard
        for _, ts, _ in column:
            if last is None or ts > last:
                last = ts
        self.last_seen = last

    def run_all(
        self,
        readings: Sequence[Observed],
        sensor_id: str,
        order: int,
        found: list[tuple[int, int, Transition]],
    ) -> None:
        if self.active:
            RuleState.run_all(self, readings, sensor_id, order, found)
            return
        last = self.last_seen  # the usual case: the latest time heard, no column built
        for reading in readings:
            ts = reading.ts
            if last is None or ts > last:
                last = ts
        self.last_seen = last

    def step(self, ts: datetime, value: float, sensor_id: str) -> Transition | None:
        """Any reading at all (`value` is not looked at) proves the sensor alive."""
        if self.last_seen is None or ts > self.last_seen:
            self.last_seen = ts
        if self.active:
            return self._flip(sensor_id, False, ts, "恢复上报", None)
        return None

    def tick(
        self, now: datetime, sensor_id: str, listening_since: datetime | None = None
    ) -> Transition | None:
        """`listening_since`: since when the center has been able to hear the sensor without a break
        (its ingestion reconnected to the broker, the process started). Silence before that was not
        heard, so it does not count: after an outage of the center's own, each sensor has its full
        allowance again to be heard from."""
        if self.last_seen is None:
            self.last_seen = now  # never heard of: start counting from the first tick
            return None
        if not self.active and now - self._counted_from(listening_since) > self.limit:
            minutes = (now - self.last_seen).total_seconds() / 60.0
            reason = f"已 {minutes:.0f} 分钟无数据（允许 {self.limit.total_seconds() / 60.0:.0f} 分钟）"
            return self._flip(sensor_id, True, now, reason, None)
        return None

    def due(self, listening_since: datetime | None = None) -> datetime | None:
        if self.active or self.last_seen is None:
            return None
        return self._counted_from(listening_since) + self.limit

    def _counted_from(self, listening_since: datetime | None) -> datetime:
        assert self.last_seen is not None
        if listening_since is None or listening_since <= self.last_seen:
            return self.last_seen
        return listening_since


class StuckState(RuleState):
    __slots__ = ("run_count", "run_start", "run_value")
    _fields = ("run_count", "run_start", "run_value")
    _times = frozenset({"run_start"})
    spec: StuckRule

    def snapshot(self) -> list[Any]:
        start = self.run_start
        return [
            self.active,
            self.run_count,
            None if start is None else start.timestamp(),
            _finite_or_none(self.run_value),
        ]

    def __init__(self, spec: StuckRule) -> None:
        super().__init__(spec)
        self.run_value = math.nan
        self.run_start: datetime | None = None
        self.run_count = 0

    def step(self, ts: datetime, value: float, sensor_id: str) -> Transition | None:
        s = self.spec
        if self.run_start is not None and ts < self.run_start:
            return None
        if self.run_start is not None and abs(value - self.run_value) <= s.tolerance:
            self.run_count += 1
        else:
            self.run_value, self.run_start, self.run_count = value, ts, 1
            if self.active:
                return self._flip(sensor_id, False, ts, f"{s.quantity} 数值恢复变化（{_fmt(value)}）", value)
            return None
        assert self.run_start is not None
        held = ts - self.run_start
        if not self.active and (
            (s.samples is not None and self.run_count >= s.samples)
            or (s.duration is not None and held >= s.duration)
        ):
            reason = (
                f"{s.quantity} 连续 {self.run_count} 个读数（{held.total_seconds() / 60.0:.0f} 分钟）"
                f"停在 {_fmt(value)}，疑似设备故障"
            )
            return self._flip(sensor_id, True, ts, reason, value)
        return None


def _position(item: tuple[int, int, Transition]) -> tuple[int, int]:
    return item[0], item[1]


def new_state(spec: RuleSpec, interval: timedelta, since: datetime | None = None) -> RuleState:
    """A fresh evaluator state for one rule on one sensor reporting every `interval`."""
    if isinstance(spec, ThresholdRule):
        return ThresholdState(spec)
    if isinstance(spec, RateRule):
        return RateState(spec)
    if isinstance(spec, SustainedRule):
        return SustainedState(spec)
    if isinstance(spec, DriftRule):
        return DriftState(spec)
    if isinstance(spec, OfflineRule):
        return OfflineState(spec, interval, since)
    return StuckState(spec)


class SensorEvaluator:
    """All rule states of one sensor. Each rule's quantity and step are resolved here, once, into
    `steps` (in rule order; quantity None: the rule sees every reading), so a reading costs one dict
    lookup and one call per rule."""

    __slots__ = ("clocked", "every", "ids", "plan", "sensor_id", "states", "steps")

    def __init__(
        self, sensor_id: str, rules: Sequence[RuleSpec], interval: timedelta, since: datetime | None = None
    ) -> None:
        self.sensor_id = sensor_id
        self.states = tuple(new_state(rule, interval, since) for rule in rules)
        self.clocked = tuple(s for s in self.states if isinstance(s, OfflineState))
        self.steps = tuple((None if s.every_reading else s.spec.quantity, s.step) for s in self.states)
        # What `observe_many` walks: the rules on a quantity as (rule order, the rule's batch run, its
        # quantity), and those that see every reading (offline) as (rule order, their run over the
        # readings themselves).
        self.plan = tuple(
            (order, s.run, q)
            for order, (s, (q, _)) in enumerate(zip(self.states, self.steps, strict=True))
            if q is not None
        )
        self.every = tuple((order, s.run_all) for order, s in enumerate(self.states) if s.every_reading)
        self.ids = tuple(s.spec.id for s in self.states)

    def observe(self, reading: Observed) -> list[Transition]:
        out: list[Transition] = []
        values, ts, sensor_id = reading.values, reading.ts, self.sensor_id
        for quantity, step in self.steps:
            if quantity is None:
                t = step(ts, 0.0, sensor_id)
            else:
                value = values.get(quantity)
                if value is None:
                    continue
                t = step(ts, float(value), sensor_id)
            if t is not None:
                out.append(t)
        return out

    def observe_many(self, readings: Sequence[Observed]) -> list[Transition]:
        """The readings in the order given, as `observe` on each would see them, but rule by rule: each
        rule runs over the whole batch. The transitions come out in `observe`'s order (by reading, then
        by rule)."""
        if len(readings) == 1:
            return self.observe(readings[0])
        found: list[tuple[int, int, Transition]] = []
        sensor_id = self.sensor_id
        # Each quantity's column (reading index, time, value) is picked out of the readings once, for all
        # the rules on it.
        columns: dict[str, Column] = {}
        for order, run, quantity in self.plan:
            column = columns.get(quantity)
            if column is None:
                column = columns[quantity] = [
                    (i, r.ts, float(v))
                    for i, r in enumerate(readings)
                    if (v := r.values.get(quantity)) is not None
                ]
            if column:
                run(column, sensor_id, order, found)
        for order, run_all in self.every:
            run_all(readings, sensor_id, order, found)
        if len(found) > 1:
            found.sort(key=_position)
        return [t for _, _, t in found]

    def tick(self, now: datetime, listening_since: datetime | None = None) -> list[Transition]:
        """The time-driven rules (offline) at `now`; see `OfflineState.tick` for `listening_since`."""
        out: list[Transition] = []
        for state in self.clocked:
            t = state.tick(now, self.sensor_id, listening_since)
            if t is not None:
                out.append(t)
        return out

    def active_rules(self) -> list[str]:
        return [s.spec.id for s in self.states if s.active]

    @staticmethod
    def active_in(snapshot: Mapping[str, Sequence[Any]]) -> list[str]:
        """The rules whose condition holds, read from a stored snapshot without rebuilding the states."""
        return [rule_id for rule_id, state in snapshot.items() if state and state[0]]

    def snapshot(self) -> dict[str, list[Any]]:
        """Every rule's state by rule id, JSON-able."""
        return dict(zip(self.ids, [s.snapshot() for s in self.states], strict=True))

    def restore(self, snapshot: Mapping[str, Sequence[Any]]) -> None:
        """Take back a snapshot. Rules added since start fresh; rules removed since are ignored."""
        for state in self.states:
            data = snapshot.get(state.spec.id)
            if data is not None:
                state.restore(data)

    def due(self, listening_since: datetime | None = None) -> datetime | None:
        """The earliest time a clock tick could raise something (the offline rule)."""
        clocked = self.clocked
        if len(clocked) == 1:  # the usual case: one offline rule
            return clocked[0].due(listening_since)
        times = [t for t in (s.due(listening_since) for s in clocked) if t is not None]
        return min(times) if times else None

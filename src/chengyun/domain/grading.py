"""Five-colour grading (五色定级) as data: a street's rule set turns what is known about an order into
one colour and the reasons for it.

Where grading starts (the *base*): the more severe of the category's default colour and the level the
report came with (a sensor alarm's colour). Each rule of the set that matches then raises the colour by
some levels (all raises together at most `max_raise`) and/or sets a floor (`at_least`). Rules look at:

- who and what is affected (`affected`): words of the complaint (受伤, 学校, 围观 …, not when negated
  just before: 没有人受伤), and the place data around the order: its building is historic, a point of
  interest of some kind (school, metro, hospital …) within some metres, a main road;
- the time of the report (`time`): night, the meal peaks (local time, Asia/Shanghai);
- repetition (`repetition`): how often the same problem was reported at the same place before;
- the deadline state (`deadline`): near a deadline, past one, escalated to the duty officer.

Repetition and the deadline state change while an order is open ("dynamic" factors); a rise they caused
is kept once given, even after the late stage is done. A manual grade (with a reason) replaces the base
and everything the grader knew when it was given: automatic grading afterwards never lowers it, and
raises it only for dynamic facts that were not there yet when the person graded.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from chengyun.domain.calendar import SHANGHAI
from chengyun.domain.errors import ImportRejected
from chengyun.domain.orders import Source, WorkOrder
from chengyun.domain.severity import Colour, most_severe
from chengyun.domain.sla import DeadlinePolicy, Rung


class Factor(StrEnum):
    AFFECTED = "affected"  # 影响对象
    TIME = "time"  # 发生时段
    REPETITION = "repetition"  # 重复反映
    DEADLINE = "deadline"  # 时限状态

    @property
    def label(self) -> str:
        return _FACTOR_LABELS[self]

    @property
    def dynamic(self) -> bool:
        """Whether the factor may change while the order is open."""
        return self in (Factor.REPETITION, Factor.DEADLINE)


_FACTOR_LABELS = {
    Factor.AFFECTED: "影响对象",
    Factor.TIME: "发生时段",
    Factor.REPETITION: "重复反映",
    Factor.DEADLINE: "时限状态",
}


class DeadlineState(StrEnum):
    """How late an order is, mildest first: a rule for one state also matches the later ones."""

    NEAR = "near"  # a running stage is past its warning point (warn_share)
    OVERDUE = "overdue"  # a stage of this round is or was past its deadline, or a supervision reply
    ESCALATED = "escalated"  # escalated to the duty officer or higher

    @property
    def level(self) -> int:
        return list(DeadlineState).index(self)

    @property
    def label(self) -> str:
        return {
            DeadlineState.NEAR: "临近时限",
            DeadlineState.OVERDUE: "已超期",
            DeadlineState.ESCALATED: "超期升级",
        }[self]


# Words that negate what follows them in the same clause ("没有人受伤", "未造成人员受伤"). 不 is not one:
# "不小心摔伤" is an injury.
NEGATIONS = ("没有", "没", "无", "未", "不曾", "并非")
NEGATION_WINDOW = 5  # characters before the word
_CLAUSE_ENDS = "，。；！？,.;!?、 \n"
MAX_WITHIN_M = 2000.0
MAX_WORDS = 300


def mentions(text: str, word: str) -> bool:
    """Whether `text` says `word`, other than negated just before it in the same clause."""
    start = text.find(word)
    while start >= 0:
        before = text[max(0, start - NEGATION_WINDOW) : start]
        cut = max(before.rfind(ch) for ch in _CLAUSE_ENDS)
        if not any(n in before[cut + 1 :] for n in NEGATIONS):
            return True
        start = text.find(word, start + 1)
    return False


def _window(text: str) -> tuple[int, int]:
    """ "22:00-06:00" → minutes of the day (1320, 360); a window may run past midnight."""
    try:
        first, second = (part.strip() for part in text.split("-"))
        bounds = []
        for part in (first, second):
            hours, minutes = part.split(":")
            h, m = int(hours), int(minutes)
            if not (0 <= h <= 24 and 0 <= m < 60 and h * 60 + m <= 1440):
                raise ValueError
            bounds.append(h * 60 + m)
    except ValueError:
        raise ValueError(f"时段 {text!r} 格式应为 HH:MM-HH:MM") from None
    if bounds[0] == bounds[1]:
        raise ValueError(f"时段 {text!r} 的起止时间相同")
    return bounds[0], bounds[1]


def _in_window(minute: int, window: tuple[int, int]) -> bool:
    start, end = window
    return start <= minute < end if start < end else minute >= start or minute < end


@dataclass(frozen=True)
class Facts:
    """What grading knows about an order at one moment."""

    category: str
    default: Colour  # the category's default colour
    reported: Colour | None = None  # the level the report came with (a sensor alarm's colour)
    source: str = ""
    text: str = ""  # the complaint's words
    address: str = ""
    received_at: datetime | None = None
    nearby: Mapping[str, float] = field(default_factory=dict)  # point-of-interest kind → metres to nearest
    historic: bool = False  # the order's building is a historic building
    roads: Mapping[str, float] = field(default_factory=dict)  # road name → metres from the order's point
    repeats: int = 0  # earlier reports of the same problem at the same place (within repeat_days)
    deadline: DeadlineState | None = None


@dataclass(frozen=True)
class GradingRule:
    code: str
    name: str  # Chinese: shown as the cause on the timeline
    factor: Factor
    raise_by: int = 0  # levels towards red
    at_least: Colour | None = None
    # qualifiers: all given ones must hold
    categories: tuple[str, ...] = ()  # category code prefixes
    sources: tuple[str, ...] = ()
    hours: tuple[str, ...] = ()  # local time windows of the report, "HH:MM-HH:MM"
    weekdays: tuple[int, ...] = ()  # 1 Monday … 7 Sunday
    # what the factor looks at; for `affected`, any one of them that is given may match
    words: tuple[str, ...] = ()
    near: tuple[str, ...] = ()  # point-of-interest kinds
    within_m: float = 100.0  # for `near` and `main_road`
    historic: bool = False
    main_road: bool = False
    repeats: int = 0
    deadline: DeadlineState | None = None
    _windows: tuple[tuple[int, int], ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_windows", tuple(_window(h) for h in self.hours))

    def matches(self, facts: Facts, main_roads: Sequence[str]) -> bool:
        if self.categories and not facts.category.startswith(self.categories):
            return False
        if self.sources and facts.source not in self.sources:
            return False
        if (self._windows or self.weekdays) and not self._at_time(facts.received_at):
            return False
        if self.factor is Factor.AFFECTED:
            return self._affects(facts, main_roads)
        if self.factor is Factor.REPETITION:
            return facts.repeats >= self.repeats
        if self.factor is Factor.DEADLINE:
            assert self.deadline is not None
            return facts.deadline is not None and facts.deadline.level >= self.deadline.level
        return True  # time: the qualifiers above are the whole rule

    def _at_time(self, at: datetime | None) -> bool:
        if at is None:
            return False
        local = at.astimezone(SHANGHAI)
        if self.weekdays and local.isoweekday() not in self.weekdays:
            return False
        minute = local.hour * 60 + local.minute
        return not self._windows or any(_in_window(minute, w) for w in self._windows)

    def _affects(self, facts: Facts, main_roads: Sequence[str]) -> bool:
        if self.historic and facts.historic:
            return True
        if any(facts.nearby.get(kind, math.inf) <= self.within_m for kind in self.near):
            return True
        if self.main_road and _on_main_road(facts, main_roads, self.within_m):
            return True
        return any(mentions(facts.text, word) for word in self.words)

    @property
    def cause(self) -> Cause:
        return Cause(self.code, self.name, self.factor, self.raise_by, self.at_least)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "name": self.name, "factor": self.factor.value}
        if self.raise_by:
            out["raise"] = self.raise_by
        if self.at_least is not None:
            out["at_least"] = self.at_least.value
        for key in ("categories", "sources", "hours", "weekdays", "words", "near"):
            if getattr(self, key):
                out[key] = list(getattr(self, key))
        if self.near or self.main_road:
            out["within_m"] = self.within_m
        if self.historic:
            out["historic"] = True
        if self.main_road:
            out["main_road"] = True
        if self.repeats:
            out["repeats"] = self.repeats
        if self.deadline is not None:
            out["deadline"] = self.deadline.value
        return out

    @classmethod
    def from_dict(cls, item: Mapping[str, Any]) -> GradingRule:
        """Raises ValueError or TypeError with a Chinese reason."""
        if not isinstance(item, Mapping):
            raise TypeError("每条规则应为对象")
        unknown = sorted(set(item) - _RULE_KEYS)
        if unknown:
            raise ValueError(f"未知的字段：{'、'.join(map(str, unknown))}")
        code, name = _text(item.get("code"), "编码 code", 64), _text(item.get("name"), "名称 name", 100)
        try:
            factor = Factor(str(item.get("factor")))
        except ValueError:
            raise ValueError(f"factor 应为 {'、'.join(f.value for f in Factor)} 之一") from None
        raise_by = item.get("raise", 0)
        if isinstance(raise_by, bool) or not isinstance(raise_by, int) or not 0 <= raise_by <= 4:
            raise ValueError("raise 应为 0 到 4 的整数")
        at_least = _colour(item.get("at_least")) if item.get("at_least") is not None else None
        if raise_by == 0 and at_least is None:
            raise ValueError("规则须提高颜色（raise）或规定最低颜色（at_least）")
        deadline = None
        if item.get("deadline") is not None:
            try:
                deadline = DeadlineState(item["deadline"])
            except ValueError:
                raise ValueError("deadline 应为 near、overdue 或 escalated") from None
        sources = _texts(item.get("sources"), "sources", 20)
        bad_sources = [s for s in sources if s not in set(Source)]
        if bad_sources:
            raise ValueError(f"未知的工单来源：{'、'.join(bad_sources)}")
        weekdays = item.get("weekdays") or []
        if not isinstance(weekdays, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 7 for d in weekdays
        ):
            raise ValueError("weekdays 应为 1（周一）到 7（周日）的整数列表")
        within = item.get("within_m", 100.0)
        if isinstance(within, bool) or not isinstance(within, int | float) or not 0 < within <= MAX_WITHIN_M:
            raise ValueError(f"within_m 应在 0 到 {MAX_WITHIN_M:g} 米之间")
        repeats = item.get("repeats", 0)
        if isinstance(repeats, bool) or not isinstance(repeats, int) or not 0 <= repeats <= 1000:
            raise ValueError("repeats 应为 0 到 1000 的整数")
        for flag in ("historic", "main_road"):
            if not isinstance(item.get(flag, False), bool):
                raise ValueError(f"{flag} 应为 true 或 false")
        rule = cls(
            code=code,
            name=name,
            factor=factor,
            raise_by=raise_by,
            at_least=at_least,
            categories=_texts(item.get("categories"), "categories", 64),
            sources=sources,
            hours=_texts(item.get("hours"), "hours", 20),
            weekdays=tuple(weekdays),
            words=_texts(item.get("words"), "words", 20),
            near=_texts(item.get("near"), "near", 32),
            within_m=float(within),
            historic=bool(item.get("historic", False)),
            main_road=bool(item.get("main_road", False)),
            repeats=repeats,
            deadline=deadline,
        )
        rule.check_factor()
        return rule

    def check_factor(self) -> None:
        """A rule must say what its factor looks at."""
        if self.factor is Factor.AFFECTED and not (
            self.words or self.near or self.historic or self.main_road
        ):
            raise ValueError("影响对象规则须给出 words、near、historic 或 main_road 之一")
        if self.factor is Factor.TIME and not (self.hours or self.weekdays):
            raise ValueError("时段规则须给出 hours 或 weekdays")
        if self.factor is Factor.REPETITION and self.repeats < 1:
            raise ValueError("重复反映规则须给出 repeats（至少 1 次）")
        if self.factor is Factor.DEADLINE and self.deadline is None:
            raise ValueError("时限规则须给出 deadline")


_RULE_KEYS = frozenset(
    {
        "code",
        "name",
        "factor",
        "raise",
        "at_least",
        "categories",
        "sources",
        "hours",
        "weekdays",
        "words",
        "near",
        "within_m",
        "historic",
        "main_road",
        "repeats",
        "deadline",
    }
)
_SET_KEYS = frozenset({"rules", "main_roads", "max_raise", "repeat_days", "repeat_radius_m"})


def _text(value: Any, what: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"缺少{what}")
    if len(value.strip()) > limit:
        raise ValueError(f"{what}不能超过 {limit} 个字符")
    return value.strip()


def _texts(value: Any, what: str, limit: int) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_WORDS:
        raise ValueError(f"{what} 应为不超过 {MAX_WORDS} 项的字符串列表")
    return tuple(_text(v, f" {what} 中的一项", limit) for v in value)


def _colour(value: Any) -> Colour:
    try:
        return Colour(value)
    except ValueError:
        raise ValueError(f"未知的颜色 {value!r}（red、orange、yellow、blue、green）") from None


def _on_main_road(facts: Facts, main_roads: Sequence[str], within_m: float) -> bool:
    # An address on the road itself ("南京西路1618号", "南京西路华山路口"), not in a lane off it (…弄).
    if facts.address and "弄" not in facts.address and any(road in facts.address for road in main_roads):
        return True
    return any(facts.roads.get(road, math.inf) <= within_m for road in main_roads)


@dataclass(frozen=True)
class Cause:
    """A rule that moved an order's colour, as the timeline shows it."""

    code: str
    name: str
    factor: Factor
    raise_by: int = 0
    at_least: Colour | None = None

    @property
    def effect(self) -> str:
        parts = [f"提高 {self.raise_by} 级"] if self.raise_by else []
        if self.at_least is not None:
            parts.append(f"至少{self.at_least.label}")
        return "，".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "factor": self.factor.value,
            "effect": self.effect,
        }


@dataclass(frozen=True)
class ManualGrade:
    """A person's grade, and the dynamic rules already matched when it was given (it took them in)."""

    colour: Colour
    absorbed: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Grade:
    colour: Colour
    base: Colour  # the more severe of the category's default and the reported level
    start: Colour  # the base, or the manual grade
    causes: tuple[Cause, ...]  # the rules applied on top of `start`
    dynamic: frozenset[str]  # the dynamic rules that match (a rise they give is kept)
    manual: bool = False

    def explain(self, facts: Facts) -> str:
        """One Chinese sentence: where the grade starts and what moved it."""
        if self.manual:
            parts = [f"人工定级{self.start.label}"]
        else:
            parts = [f"类别默认{facts.default.label}"]
            if facts.reported is not None and facts.reported.rank < facts.default.rank:
                parts.append(f"上报等级{facts.reported.label}")
        parts += [f"{c.name}：{c.effect}" for c in self.causes]
        return "；".join(parts)


@dataclass(frozen=True)
class GradingRules:
    """A street's rule set. `main_roads` names the roads the `main_road` rules mean; repetition counts
    earlier reports of the same category within `repeat_days` and `repeat_radius_m` (or at the same
    building or address)."""

    rules: tuple[GradingRule, ...]
    main_roads: tuple[str, ...] = ()
    max_raise: int = 2
    repeat_days: int = 30
    repeat_radius_m: float = 50.0

    @property
    def lookup_m(self) -> float:
        """How far around an order the place data must be looked at (0: not at all)."""
        return max(
            (r.within_m for r in self.rules if r.near or r.main_road),
            default=0.0,
        )

    @property
    def counts_repeats(self) -> bool:
        return any(r.factor is Factor.REPETITION for r in self.rules)

    def grade(
        self, facts: Facts, sticky: frozenset[str] = frozenset(), manual: ManualGrade | None = None
    ) -> Grade:
        """The colour these facts deserve. `sticky`: dynamic rules that matched earlier (their rise is
        kept); `manual`: a person's grade, which automatic grading only ever raises."""
        base = most_severe(facts.default, facts.reported)
        matched = [
            r
            for r in self.rules
            if (r.factor.dynamic and r.code in sticky) or r.matches(facts, self.main_roads)
        ]
        dynamic = frozenset(r.code for r in matched if r.factor.dynamic)
        if manual is not None:
            start = manual.colour
            matched = [r for r in matched if r.factor.dynamic and r.code not in manual.absorbed]
        else:
            start = base
        colour = start.raised(min(self.max_raise, sum(r.raise_by for r in matched)))
        colour = most_severe(colour, *(r.at_least for r in matched))
        return Grade(colour, base, start, tuple(r.cause for r in matched), dynamic, manual is not None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "main_roads": list(self.main_roads),
            "max_raise": self.max_raise,
            "repeat_days": self.repeat_days,
            "repeat_radius_m": self.repeat_radius_m,
            "rules": [r.to_dict() for r in self.rules],
        }

    @classmethod
    def from_dict(cls, data: Any) -> GradingRules:
        """Validate a whole rule set: every bad rule is listed (by its index) and nothing is taken."""
        if not isinstance(data, Mapping):
            raise ImportRejected("分级规则应为 JSON 对象", errors=[])
        errors: list[dict[str, Any]] = []
        unknown = sorted(set(data) - _SET_KEYS)
        if unknown:
            errors.append({"row": None, "reason": f"未知的字段：{'、'.join(map(str, unknown))}"})
        settings: dict[str, Any] = {}
        for key, low, high in (("max_raise", 0, 4), ("repeat_days", 1, 365)):
            if key not in data:
                continue
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                errors.append({"row": None, "reason": f"{key} 应为 {low} 到 {high} 的整数"})
            else:
                settings[key] = value
        if "repeat_radius_m" in data:
            radius = data["repeat_radius_m"]
            if isinstance(radius, bool) or not isinstance(radius, int | float) or not 0 < radius <= 500:
                errors.append({"row": None, "reason": "repeat_radius_m 应在 0 到 500 米之间"})
            else:
                settings["repeat_radius_m"] = float(radius)
        try:
            settings["main_roads"] = _texts(data.get("main_roads"), "main_roads", 40)
        except ValueError as exc:
            errors.append({"row": None, "reason": str(exc)})
        items = data.get("rules")
        rules: list[GradingRule] = []
        if not isinstance(items, list) or len(items) > 500:
            errors.append({"row": None, "reason": "rules 应为不超过 500 条规则的列表"})
            items = []
        seen: set[str] = set()
        for index, item in enumerate(items):
            try:
                rule = GradingRule.from_dict(item)
                if rule.code in seen:
                    raise ValueError(f"编码重复：{rule.code}")
            except (TypeError, ValueError) as exc:
                code = item.get("code") if isinstance(item, Mapping) else None
                errors.append(
                    {"row": index, "code": code if isinstance(code, str) else None, "reason": str(exc)}
                )
                continue
            seen.add(rule.code)
            rules.append(rule)
        if errors:
            raise ImportRejected(f"分级规则有 {len(errors)} 处错误，未保存任何规则", errors=errors)
        return cls(tuple(rules), **settings)


def deadline_state(order: WorkOrder, policy: DeadlinePolicy, now: datetime) -> DeadlineState | None:
    """How late the order is or has been this round, by its clocks, its supervisions and its escalation.
    A stage done after its warning point counts as "near" and one done late as "overdue": a rise they
    gave is kept anyway, and a dry run over past orders sees what grading saw while they ran."""
    if order.escalation_level >= list(Rung).index(Rung.DUTY_OFFICER) + 1:
        return DeadlineState.ESCALATED
    # Time stops for a clock when the order leaves the live states (suspended, merged, closed).
    stopped = now if order.alerts_live else (order.suspended_at or order.updated_at or now)
    state: DeadlineState | None = None
    for clock in order.clocks.values():
        end = clock.done_at or stopped
        if end > clock.due_at:
            return DeadlineState.OVERDUE
        if end >= clock.started_at + (clock.due_at - clock.started_at) * policy.warn_share:
            state = DeadlineState.NEAR
    if any(s.overdue_fired or (s.replied_at or stopped) > s.reply_due_at for s in order.supervisions):
        return DeadlineState.OVERDUE
    return state


# Category code prefixes (GB/T 30428.2-style catalogue): 1001 公用设施, 2001 道路交通, 5001 房屋,
# 0301 施工管理, 0401 突发事件, 0501 街面秩序, 9001 12345 matters. `main_roads` is the street's own:
# the built-in set names none (the demo street imports its own set).
DEFAULT_GRADING_DATA: dict[str, Any] = {
    "main_roads": [],
    "max_raise": 2,
    "repeat_days": 30,
    "repeat_radius_m": 50,
    "rules": [
        {
            "code": "life",
            "name": "危及生命",
            "factor": "affected",
            "words": ["人员被困", "有人被困", "被埋", "昏迷", "不省人事", "呼吸困难", "爆炸", "死亡"],
            "at_least": "red",
        },
        {
            "code": "injury",
            "name": "有人受伤",
            "factor": "affected",
            "words": ["受伤", "摔伤", "砸伤", "撞伤", "烫伤", "咬伤", "划伤", "流血", "骨折", "伤者", "送医"],
            "at_least": "orange",
        },
        {
            "code": "historic",
            "name": "涉及历史建筑",
            "factor": "affected",
            "historic": True,
            "words": ["优秀历史建筑", "历史建筑", "老洋房", "石库门"],
            "categories": ["1001", "5001", "0301", "0401", "900102", "900103", "900111"],
            "raise": 1,
        },
        {
            "code": "school",
            "name": "学校周边",
            "factor": "affected",
            "near": ["school"],
            "within_m": 150,
            "words": ["学校门口", "校门口", "幼儿园", "小学生", "中学生", "放学", "上学"],
            "categories": ["1001", "2001", "0301", "0401", "0501"],
            "raise": 1,
        },
        {
            "code": "crowd",
            "name": "人员密集",
            "factor": "affected",
            "near": ["metro", "mall", "temple", "market"],
            "within_m": 80,
            "words": ["人群", "围观", "拥挤", "踩踏", "排长队"],
            "categories": ["1001", "2001", "0401", "050105"],
            "raise": 1,
        },
        {
            "code": "hospital",
            "name": "医院周边",
            "factor": "affected",
            "near": ["hospital"],
            "within_m": 150,
            "categories": ["2001", "0401", "050103"],
            "raise": 1,
        },
        {
            "code": "main_road",
            "name": "主干道",
            "factor": "affected",
            "main_road": True,
            "within_m": 25,
            "categories": ["1001", "2001", "0301", "0401", "050103", "050106"],
            "raise": 1,
        },
        {
            "code": "night",
            "name": "夜间",
            "factor": "time",
            "hours": ["22:00-06:00"],
            "categories": ["1001", "0301", "0401", "900101"],
            "raise": 1,
        },
        {
            "code": "meal_peak",
            "name": "用餐高峰",
            "factor": "time",
            "hours": ["11:00-13:30", "17:00-19:30"],
            "categories": ["050102", "050104", "200110", "900108", "010104"],
            "raise": 1,
        },
        {"code": "repeat", "name": "重复反映", "factor": "repetition", "repeats": 1, "raise": 1},
        {"code": "repeat_often", "name": "多次重复反映", "factor": "repetition", "repeats": 3, "raise": 1},
        {"code": "overdue", "name": "办理超期", "factor": "deadline", "deadline": "overdue", "raise": 1},
        {
            "code": "escalated",
            "name": "超期升级至值班长",
            "factor": "deadline",
            "deadline": "escalated",
            "at_least": "orange",
        },
    ],
}
DEFAULT_GRADING = GradingRules.from_dict(DEFAULT_GRADING_DATA)

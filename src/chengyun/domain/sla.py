"""The 51530 deadlines as data: stages, what each is counted from, warnings and the escalation ladder.

Our reading of 51530 (written in the README too): respond within 5 minutes of receipt; arrive on site
within 15 minutes of receipt; handle the problem or give a clear plan within 30 minutes of arriving;
close the loop (result fed back and verified) within 30 minutes of handling. A planned repair gets the
plan's date as its loop-closing deadline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from chengyun.domain.errors import InvalidInput
from chengyun.domain.severity import Colour


class Stage(StrEnum):
    RESPOND = "respond"  # 响应（先联）
    ARRIVE = "arrive"  # 到场
    HANDLE = "handle"  # 处置或明确解决方案
    CLOSE = "close"  # 反馈闭环

    @property
    def label(self) -> str:
        return STAGE_LABELS[self]


STAGE_LABELS = {Stage.RESPOND: "响应", Stage.ARRIVE: "到场", Stage.HANDLE: "处置", Stage.CLOSE: "闭环"}
STAGES: tuple[Stage, ...] = (Stage.RESPOND, Stage.ARRIVE, Stage.HANDLE, Stage.CLOSE)


class Anchor(StrEnum):
    RECEIPT = "receipt"  # counted from the moment the order is received
    PREVIOUS = "previous"  # counted from the moment the previous stage is done


class Rung(StrEnum):
    """The escalation ladder: who is told next when a stage stays overdue."""

    PARTNER = "partner"  # the assignee's A/B partner
    DUTY_OFFICER = "duty_officer"
    DIRECTOR = "director"

    @property
    def label(self) -> str:
        return {Rung.PARTNER: "AB角搭档", Rung.DUTY_OFFICER: "值班长", Rung.DIRECTOR: "城运中心主任"}[self]


class AlertKind(StrEnum):
    WARNING = "deadline_warning"
    OVERDUE = "deadline_overdue"
    ESCALATION = "escalated"


@dataclass(frozen=True)
class StageRule:
    stage: Stage
    minutes: float
    counted_from: Anchor


@dataclass(frozen=True)
class Alert:
    kind: AlertKind
    at: datetime
    rung: Rung | None = None


MAX_ESCALATION_SHARE = 100  # escalate at most at 100 times the stage's time


@dataclass(frozen=True)
class DeadlinePolicy:
    """One deadline policy. `categories` are code prefixes and `colours` the colours it applies to;
    empty means any. The first matching policy of a PolicySet wins."""

    code: str
    name: str
    stages: tuple[StageRule, ...]
    warn_share: float = 0.8
    escalation: tuple[tuple[float, Rung], ...] = (
        (1.0, Rung.PARTNER),
        (2.0, Rung.DUTY_OFFICER),
        (3.0, Rung.DIRECTOR),
    )
    categories: tuple[str, ...] = ()
    colours: tuple[Colour, ...] = ()
    supervision_reply_minutes: float = 60.0

    def __post_init__(self) -> None:
        if [r.stage for r in self.stages] != list(STAGES):
            raise InvalidInput(
                "时限规则必须依次列出 respond、arrive、handle、close 四个环节", policy=self.code
            )
        if self.stages[0].counted_from is not Anchor.RECEIPT:
            raise InvalidInput("响应环节只能从受理时起算", policy=self.code)
        for rule in self.stages:
            if not 0 < rule.minutes <= 60 * 24 * 90:
                raise InvalidInput("环节时限应在 0 分钟到 90 天之间", policy=self.code, stage=rule.stage)
        if not 0 < self.warn_share < 1:
            raise InvalidInput("预警比例应在 0 和 1 之间", policy=self.code)
        shares = [share for share, _ in self.escalation]
        # The range check also refuses NaN and infinity, which would break every deadline computed later.
        if shares != sorted(shares) or not all(1 <= s <= MAX_ESCALATION_SHARE for s in shares):
            raise InvalidInput(f"升级比例应从 1 起递增，且不超过 {MAX_ESCALATION_SHARE}", policy=self.code)
        if not 0 < self.supervision_reply_minutes <= 60 * 24 * 30:
            raise InvalidInput("督办回复时限应在 0 分钟到 30 天之间", policy=self.code)

    def rule(self, stage: Stage) -> StageRule:
        return self.stages[STAGES.index(stage)]

    def matches(self, category: str, colour: Colour) -> bool:
        category_ok = not self.categories or any(category.startswith(p) for p in self.categories)
        return category_ok and (not self.colours or colour in self.colours)

    def alerts(self, started: datetime, due: datetime) -> list[Alert]:
        """The warnings and escalations of one stage clock, in time order."""
        span = due - started
        alerts = [Alert(AlertKind.WARNING, started + span * self.warn_share), Alert(AlertKind.OVERDUE, due)]
        alerts += [
            Alert(AlertKind.ESCALATION, started + span * share, rung) for share, rung in self.escalation
        ]
        return alerts

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "stages": [
                {"stage": r.stage.value, "minutes": r.minutes, "counted_from": r.counted_from.value}
                for r in self.stages
            ],
            "warn_share": self.warn_share,
            "escalation": [{"share": s, "rung": r.value} for s, r in self.escalation],
            "categories": list(self.categories),
            "colours": [c.value for c in self.colours],
            "supervision_reply_minutes": self.supervision_reply_minutes,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeadlinePolicy:
        try:
            stages = tuple(
                StageRule(Stage(s["stage"]), float(s["minutes"]), Anchor(s.get("counted_from", "previous")))
                for s in data["stages"]
            )
            escalation = tuple(
                (float(e["share"]), Rung(e["rung"])) for e in data.get("escalation", _DEFAULT_ESCALATION)
            )
            return cls(
                code=str(data["code"]),
                name=str(data.get("name", data["code"])),
                stages=stages,
                warn_share=float(data.get("warn_share", 0.8)),
                escalation=escalation,
                categories=tuple(str(c) for c in data.get("categories", ())),
                colours=tuple(Colour(c) for c in data.get("colours", ())),
                supervision_reply_minutes=float(data.get("supervision_reply_minutes", 60)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"时限规则格式错误：{exc}") from exc


_DEFAULT_ESCALATION = [
    {"share": 1.0, "rung": "partner"},
    {"share": 2.0, "rung": "duty_officer"},
    {"share": 3.0, "rung": "director"},
]


@dataclass(frozen=True)
class PolicySet:
    """An ordered list of policies; the last one must match everything (the default)."""

    policies: tuple[DeadlinePolicy, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.policies:
            raise InvalidInput("至少需要一条时限规则")
        last = self.policies[-1]
        if last.categories or last.colours:
            raise InvalidInput("最后一条时限规则必须适用于所有类别和颜色（默认规则）")
        codes = [p.code for p in self.policies]
        if len(codes) != len(set(codes)):
            raise InvalidInput("时限规则编码重复")

    def for_order(self, category: str, colour: Colour, named: str | None = None) -> DeadlinePolicy:
        """The policy an order follows. A policy for the order's colour (a red order's tighter clock)
        wins first; then the policy its category names (`named`), if the set has it; then the first
        policy that matches by category prefix."""
        for policy in self.policies:
            if policy.colours and policy.matches(category, colour):
                return policy
        if named is not None:
            for policy in self.policies:
                if policy.code == named:
                    return policy
        return next(p for p in self.policies if p.matches(category, colour))

    def __contains__(self, code: object) -> bool:
        return any(p.code == code for p in self.policies)

    def get(self, code: str) -> DeadlinePolicy:
        for policy in self.policies:
            if policy.code == code:
                return policy
        return self.policies[-1]

    def to_list(self) -> list[dict[str, Any]]:
        return [p.to_dict() for p in self.policies]

    @classmethod
    def from_list(cls, items: Sequence[Mapping[str, Any]]) -> PolicySet:
        if not isinstance(items, Sequence) or isinstance(items, str | bytes):
            raise InvalidInput("时限规则应为列表")
        return cls(tuple(DeadlinePolicy.from_dict(item) for item in items))


def _stages(respond: float, arrive: float, handle: float, close: float) -> tuple[StageRule, ...]:
    return (
        StageRule(Stage.RESPOND, respond, Anchor.RECEIPT),
        StageRule(Stage.ARRIVE, arrive, Anchor.RECEIPT),
        StageRule(Stage.HANDLE, handle, Anchor.PREVIOUS),
        StageRule(Stage.CLOSE, close, Anchor.PREVIOUS),
    )


DEFAULT_POLICIES = PolicySet(
    (
        DeadlinePolicy(
            code="51530-red",
            name="红色事件（更紧）",
            stages=_stages(3, 10, 30, 30),
            colours=(Colour.RED,),
            supervision_reply_minutes=30,
        ),
        DeadlinePolicy(code="51530", name="51530 标准时限", stages=_stages(5, 15, 30, 30)),
    )
)

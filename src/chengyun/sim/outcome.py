"""A run's outcome from the orders' own stage clocks: the 51530 on-time shares and why orders missed.

Pure. Each stage of each order is `met` (done by its deadline, an approved extension included), `missed`
(done late, or still pending when its deadline had passed at the end of the run) or `open` (still pending,
deadline not yet come: a repair planned for a later day). A stage's on-time share is met / (met + missed);
`all` counts the orders whose four stages are all met, over the orders with all four decided or any missed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chengyun.domain.calendar import SHANGHAI
from chengyun.domain.orders import WorkOrder
from chengyun.domain.sla import STAGES, Stage

MET, MISSED, OPEN = "met", "missed", "open"


def stage_outcome(order: WorkOrder, stage: Stage, end: datetime) -> str:
    clock = order.clocks.get(stage)
    if clock is None:  # not started yet (the previous stage is pending): decided by that one's fate
        return (
            MISSED
            if any(stage_outcome(order, s, end) == MISSED for s in STAGES[: STAGES.index(stage)])
            else OPEN
        )
    if clock.done_at is not None:
        return MET if clock.done_at <= clock.due_at else MISSED
    return MISSED if end > clock.due_at else OPEN


@dataclass(frozen=True)
class Tally:
    met: int = 0
    missed: int = 0
    open: int = 0

    @property
    def share(self) -> float | None:
        decided = self.met + self.missed
        return None if decided == 0 else self.met / decided

    def add(self, outcome: str) -> Tally:
        return Tally(
            self.met + (outcome == MET), self.missed + (outcome == MISSED), self.open + (outcome == OPEN)
        )

    def as_dict(self) -> dict[str, Any]:
        return {"met": self.met, "missed": self.missed, "open": self.open, "share": _round(self.share)}


def overall(outcomes: Sequence[str]) -> str:
    if MISSED in outcomes:
        return MISSED
    return MET if all(o == MET for o in outcomes) else OPEN


def tallies(orders: Iterable[WorkOrder], end: datetime) -> dict[str, Tally]:
    out = {s.value: Tally() for s in STAGES} | {"all": Tally()}
    for order in orders:
        outcomes = [stage_outcome(order, s, end) for s in STAGES]
        for stage, outcome in zip(STAGES, outcomes, strict=True):
            out[stage.value] = out[stage.value].add(outcome)
        out["all"] = out["all"].add(overall(outcomes))
    return out


def on_time(t: Mapping[str, Tally]) -> dict[str, float | None]:
    return {k: _round(v.share) for k, v in t.items()}


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _hour(at: datetime) -> int:
    return at.astimezone(SHANGHAI).hour


def outcome(
    orders: Sequence[WorkOrder],
    end: datetime,
    area_names: Mapping[str, str],
    category_names: Mapping[str, str],
) -> dict[str, Any]:
    """The report's figures for `orders` as they stood at `end`."""
    t = tallies(orders, end)
    by_source = Counter(o.source.value for o in orders)
    by_category = Counter(o.category for o in orders)
    by_colour = Counter(o.colour.value for o in orders)
    missed_stage: Counter[str] = Counter()
    missed_area: Counter[str] = Counter()
    missed_hour: Counter[int] = Counter()
    missed_source: Counter[str] = Counter()
    missed_colour: Counter[str] = Counter()
    per_stage: dict[str, list[WorkOrder]] = defaultdict(list)
    hours: dict[int, list[WorkOrder]] = defaultdict(list)
    overdue = 0
    for order in orders:
        hours[_hour(order.received_at)].append(order)
        outcomes = [stage_outcome(order, s, end) for s in STAGES]
        if MISSED not in outcomes:
            continue
        overdue += 1
        first = STAGES[outcomes.index(MISSED)]
        missed_stage[first.value] += 1
        missed_area[order.location.area or "?"] += 1
        missed_hour[_hour(order.received_at)] += 1
        missed_source[order.source.value] += 1
        missed_colour[order.colour.value] += 1
        per_stage[first.value].append(order)
    per_hour = []
    for hour in range(24):
        ht = tallies(hours.get(hour, []), end)
        per_hour.append({"hour": hour, "orders": len(hours.get(hour, [])), "on_time": on_time(ht)})
    return {
        "orders": {
            "total": len(orders),
            "by_source": dict(sorted(by_source.items())),
            "by_category": {
                code: {"name": category_names.get(code, code), "count": n}
                for code, n in by_category.most_common()
            },
            "by_colour": dict(sorted(by_colour.items())),
        },
        "on_time": on_time(t),
        "stages": {k: v.as_dict() for k, v in t.items()},
        "overdue": overdue,
        "misses": {
            "by_first_stage": dict(missed_stage.most_common()),
            "by_area": {
                code: {"name": area_names.get(code, code), "count": n}
                for code, n in missed_area.most_common()
            },
            "by_hour": [missed_hour.get(h, 0) for h in range(24)],
            "by_source": dict(missed_source.most_common()),
            "by_colour": dict(missed_colour.most_common()),
            "by_stage": {
                stage.value: _breakdown(per_stage[stage.value])
                for stage in STAGES
                if per_stage.get(stage.value)
            },
        },
        "per_hour": per_hour,
    }


def _breakdown(orders: Sequence[WorkOrder]) -> dict[str, Any]:
    """The misses of one first-missed stage: how many, in which areas, hours and colours."""
    hours = Counter(_hour(o.received_at) for o in orders)
    return {
        "count": len(orders),
        "by_area": dict(Counter(o.location.area or "?" for o in orders).most_common()),
        "by_hour": [hours.get(h, 0) for h in range(24)],
        "by_colour": dict(Counter(o.colour.value for o in orders).most_common()),
    }


# What would close each kind of miss (the first stage an order missed), in Chinese.
REMEDIES: Mapping[str, str] = {
    "respond": "受理席在这些时段排队：高峰时段加开 12345 受理席位，红色工单优先、先联从简",
    "arrive": (
        "这些时段、这些居民区附近没有空闲的外勤：在这些时段加排外勤（高峰班，可用 "
        "chengyun simulate --peak-cover N 试算加派几人），或让附近的首席观察员就近接单"
    ),
    "handle": "现场处置超过时限：到时限七成时申请延期，或派专业力量协同处置",
    "close": "回访排队：处置后尽快回访，高峰时段增加回访人手",
}


def why(
    report: Mapping[str, Any],
    target: float,
    uncovered: Sequence[int] = (),
    area_names: Mapping[str, str] | None = None,
) -> list[str]:
    """Where the misses are, in Chinese, worst first: stage, hours nobody covers, areas, hours; then,
    for each stage that orders missed first, where and when, and what would close it."""
    misses = report["misses"]
    total = report["overdue"]
    if total == 0:
        return []
    labels = {s.value: s.label for s in STAGES}
    lines = []
    share = report["on_time"]["all"]
    if share is not None and share < target:
        lines.append(f"四个环节全部按时的工单占 {share:.1%}，低于目标 {target:.0%}；超时工单 {total} 件。")
    if uncovered:
        night = sum(misses["by_hour"][h] for h in uncovered)
        received = sum(report["per_hour"][h]["orders"] for h in uncovered)
        lines.append(
            f"{_spans(uncovered)} 没有在班的外勤人员（专管员、首席回应师、首席观察员），"
            f"这些时段受理的 {received} 件工单中 {night} 件超时"
            f"（占全部超时 {night / total:.0%}）：需排夜间外勤值守。"
        )
    stage, n = next(iter(misses["by_first_stage"].items()))
    lines.append(f"最先超时的环节以「{labels[stage]}」最多：{n} 件（占超时工单 {n / total:.0%}）。")
    areas = list(misses["by_area"].values())[:3]
    if areas:
        lines.append("超时最多的居民区：" + "、".join(f"{a['name']} {a['count']} 件" for a in areas) + "。")
    by_hour = misses["by_hour"]
    worst = sorted(range(24), key=lambda h: (-by_hour[h], h))[:3]
    lines.append(
        "超时最多的受理时段："
        + "、".join(f"{h:02d}:00–{h + 1:02d}:00 {by_hour[h]} 件" for h in worst if by_hour[h])
        + "。"
    )
    names = {code: a["name"] for code, a in misses["by_area"].items()} | dict(area_names or {})
    for stage, detail in misses.get("by_stage", {}).items():
        n = detail["count"]
        night = sum(detail["by_hour"][h] for h in uncovered)
        hours = sorted(range(24), key=lambda h: (-detail["by_hour"][h], h))[:3]
        where = "、".join(names.get(code, code) for code in list(detail["by_area"])[:3])
        red = detail["by_colour"].get("red", 0)
        parts = [f"「{labels[stage]}」最先超时 {n} 件"]
        if red:
            parts.append(f"其中红色 {red} 件")
        parts.append(f"多在 {where}")
        parts.append(
            "受理于 " + "、".join(f"{h:02d}:00–{h + 1:02d}:00" for h in hours if detail["by_hour"][h])
        )
        remedy = REMEDIES[stage]
        if stage == "arrive" and night and night == n:
            remedy = "这些工单都在无外勤在班的夜间：需排夜间外勤值守"
        lines.append("，".join(parts) + f"。对策：{remedy}。")
    return lines


def _spans(hours: Sequence[int]) -> str:
    """[22, 23, 0, 1, …, 6] → "22:00–07:00" (spans wrapping midnight joined)."""
    spans: list[list[int]] = []
    for h in sorted(hours):
        if spans and spans[-1][1] == h:
            spans[-1][1] = h + 1
        else:
            spans.append([h, h + 1])
    if len(spans) > 1 and spans[0][0] == 0 and spans[-1][1] == 24:
        spans[0][0] = spans.pop()[0]
    return "、".join(f"{a:02d}:00–{b % 24:02d}:00" for a, b in spans)

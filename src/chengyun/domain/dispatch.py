"""Who gets a new order: the area's A manager when on duty, else the B partner, else A anyway."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from chengyun.domain.staff import ABPair


@dataclass(frozen=True)
class Assignment:
    staff_id: str
    reason: str  # why, in Chinese, for the timeline


def choose_assignee(
    pair: ABPair, at_local_day: datetime, on_duty: Callable[[str], bool], name: Callable[[str], str]
) -> Assignment:
    """`at_local_day` is the local (Asia/Shanghai) time whose date decides who is A today."""
    a, b = pair.roles_on(at_local_day.date())
    if on_duty(a):
        return Assignment(a, f"派遣给 A 角 {name(a)}")
    if on_duty(b):
        return Assignment(b, f"A 角 {name(a)} 不在班，转 B 角 {name(b)}")
    return Assignment(a, f"A、B 角均不在班，派遣给 A 角 {name(a)}")

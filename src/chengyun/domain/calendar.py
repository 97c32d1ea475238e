"""Local time for people: stored times are UTC; the street lives in Asia/Shanghai."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(at: datetime) -> datetime:
    return at.astimezone(SHANGHAI)


def local_date(at: datetime) -> date:
    return at.astimezone(SHANGHAI).date()

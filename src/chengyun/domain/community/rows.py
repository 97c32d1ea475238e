"""Checking the rows of a community CSV import: every bad cell is named by row and column, and a file with
any bad row is refused as a whole (nothing stored)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any, TypeVar

from chengyun.domain.errors import ImportRejected, InvalidInput

E = TypeVar("E", bound=StrEnum)

MAX_NAME = 200
MAX_TEXT = 2000
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
# Mainland mobile numbers, or a landline with its area code.
PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")


def row_number(index: int) -> int:
    return index + 2  # the header is line 1 of a CSV file


def check_phone(phone: str) -> str:
    phone = phone.strip().replace(" ", "")
    if not PHONE.match(phone):
        raise InvalidInput(
            f"电话号码格式不对：{phone[:20]}（手机号 11 位，或带区号的固定电话）", field="phone"
        )
    return phone


def check_name(name: str, what: str = "姓名", limit: int = 20) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput(f"{what}不能为空", field="name")
    if len(name) > limit:
        raise InvalidInput(f"{what}不能超过 {limit} 个字", field="name")
    return name


class Rows:
    """Collects the errors of one file, so the whole file is judged before anything is stored."""

    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []
        self._seen: dict[str, set[str]] = {}

    def fail(self, row: int, field: str, reason: str) -> None:
        self.errors.append({"row": row, "field": field, "reason": reason})

    def check(self, what: str) -> None:
        if self.errors:
            raise ImportRejected(f"{what}有 {len(self.errors)} 处错误，未导入任何数据", errors=self.errors)

    def unique(self, row: int, field: str, value: str) -> None:
        seen = self._seen.setdefault(field, set())
        if value and value in seen:
            self.fail(row, field, f"{value} 重复")
        seen.add(value)

    def text(
        self, row: int, data: Mapping[str, str], name: str, required: bool = True, limit: int = MAX_NAME
    ) -> str:
        value = (data.get(name) or "").strip()
        if required and not value:
            self.fail(row, name, "不能为空")
        elif len(value) > limit:
            self.fail(row, name, f"不能超过 {limit} 个字")
            value = value[:limit]
        return value

    def code(self, row: int, data: Mapping[str, str], name: str = "code", required: bool = True) -> str:
        value = self.text(row, data, name, required)
        if value and not CODE.match(value):
            self.fail(row, name, f"编码只能由字母、数字和 _ . - 组成（至多 64 位）：{value[:70]}")
        return value

    def known(
        self, row: int, data: Mapping[str, str], name: str, known: Mapping[str, Any] | set[str], what: str
    ) -> str:
        value = self.text(row, data, name)
        if value and value not in known:
            self.fail(row, name, f"{what} {value} 不存在")
        return value

    def phone(self, row: int, data: Mapping[str, str], name: str = "phone", required: bool = True) -> str:
        value = self.text(row, data, name, required, limit=20).replace(" ", "")
        if value and not PHONE.match(value):
            self.fail(row, name, f"电话号码格式不对：{value}")
        return value

    def integer(
        self, row: int, data: Mapping[str, str], name: str, low: int, high: int, default: int | None = None
    ) -> int:
        raw = (data.get(name) or "").strip()
        if not raw and default is not None:
            return default
        try:
            value = int(raw)
        except ValueError:
            self.fail(row, name, f"应为整数，不是 {raw[:20]!r}")
            return low
        if not low <= value <= high:
            self.fail(row, name, f"应在 {low} 到 {high} 之间，不是 {value}")
        return value

    def share(self, row: int, data: Mapping[str, str], name: str, default: float) -> float:
        raw = (data.get(name) or "").strip().removesuffix("%")
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            self.fail(row, name, f"应为 0 到 1 之间的比例（或百分数），不是 {raw[:20]!r}")
            return default
        if "%" in (data.get(name) or "") or value > 1:
            value /= 100
        if not 0 < value <= 1:
            self.fail(row, name, "比例应大于 0、不超过 100%")
        return value

    def day(self, row: int, data: Mapping[str, str], name: str, required: bool = True) -> date | None:
        raw = (data.get(name) or "").strip()
        if not raw:
            if required:
                self.fail(row, name, "不能为空")
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            self.fail(row, name, f"日期应为 YYYY-MM-DD，不是 {raw[:30]!r}")
            return None

    def clock(self, row: int, data: Mapping[str, str], name: str) -> time | None:
        raw = (data.get(name) or "").strip()
        try:
            value = time.fromisoformat(raw)
        except ValueError:
            self.fail(row, name, f"时间应为 HH:MM，不是 {raw[:30]!r}")
            return None
        if value.tzinfo is not None or value.second or value.microsecond:
            self.fail(row, name, f"时间应为 HH:MM（本地时间），不是 {raw[:30]!r}")
            return None
        return value

    def moment(self, row: int, data: Mapping[str, str], name: str, required: bool = True) -> datetime | None:
        raw = (data.get(name) or "").strip()
        if not raw:
            if required:
                self.fail(row, name, "不能为空")
            return None
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            self.fail(
                row, name, f"时间应为带时区的 ISO-8601（如 2026-12-03T09:00:00+08:00），不是 {raw[:40]!r}"
            )
            return None
        if value.tzinfo is None:
            self.fail(row, name, f"时间须带时区（如 +08:00）：{raw[:40]}")
            return None
        if not 1970 <= value.year <= 2200:
            self.fail(row, name, "时间应在 1970 年到 2200 年之间")
            return None
        return value

    def choice(
        self, row: int, data: Mapping[str, str], name: str, kind: type[E], default: E | None = None
    ) -> E:
        raw = (data.get(name) or "").strip()
        if not raw and default is not None:
            return default
        try:
            return kind(raw)
        except ValueError:
            pass
        for member in kind:  # the Chinese label is accepted too (一个「女性专区」 for `women`)
            if getattr(member, "label", None) == raw:
                return member
        allowed = "、".join(member.value for member in kind)
        self.fail(row, name, f"应为 {allowed} 之一，不是 {raw[:30]!r}")
        return next(iter(kind))

    def codes(self, row: int, data: Mapping[str, str], name: str) -> tuple[str, ...]:
        """A `|`-separated list, without blanks or repeats, in the given order."""
        raw = data.get(name) or ""
        out: list[str] = []
        for item in (part.strip() for part in raw.split("|")):
            if item and item not in out:
                if len(item) > 64:
                    self.fail(row, name, f"单项不能超过 64 个字：{item[:70]}")
                    continue
                out.append(item)
        return tuple(out)

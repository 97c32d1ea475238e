"""People: departments, staff and their posts, A/B pairs (AB角) and the duty roster."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from chengyun.domain.errors import ImportRejected, InvalidInput


class Post(StrEnum):
    HOTLINE_HANDLER = "hotline_handler"  # 12345 工单接听/受理员
    AREA_MANAGER = "area_manager"  # 专管员
    DUTY_OFFICER = "duty_officer"  # 值班长
    DIRECTOR = "director"  # 城运中心主任
    PATROL_OBSERVER = "patrol_observer"  # 首席观察员
    CHIEF_RESPONDER = "chief_responder"  # 首席回应师

    @property
    def label(self) -> str:
        return POST_LABELS[self]


POST_LABELS = {
    Post.HOTLINE_HANDLER: "工单受理员",
    Post.AREA_MANAGER: "专管员",
    Post.DUTY_OFFICER: "值班长",
    Post.DIRECTOR: "城运中心主任",
    Post.PATROL_OBSERVER: "首席观察员",
    Post.CHIEF_RESPONDER: "首席回应师",
}


class DepartmentKind(StrEnum):
    INTERNAL = "internal"
    EXTERNAL = "external"


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    kind: DepartmentKind
    street: str


@dataclass(frozen=True)
class Staff:
    id: str
    name: str
    phone: str
    department: str
    posts: frozenset[Post]
    street: str
    active: bool = True

    def holds(self, post: Post) -> bool:
        return post in self.posts


@dataclass(frozen=True)
class ABPair:
    """An area's A/B partners (AB角). At `anchor_date` `a_staff` is the area manager (A) and `b_staff`
    stands in (B); every `swap_every_days` days they swap (0 means never)."""

    area: str
    a_staff: str
    b_staff: str
    swap_every_days: int
    anchor_date: date
    street: str

    def roles_on(self, day: date) -> tuple[str, str]:
        """(A, B) on the given day."""
        if self.swap_every_days <= 0:
            return self.a_staff, self.b_staff
        periods = (day - self.anchor_date).days // self.swap_every_days
        return (self.a_staff, self.b_staff) if periods % 2 == 0 else (self.b_staff, self.a_staff)

    def partner_of(self, staff_id: str) -> str | None:
        if staff_id == self.a_staff:
            return self.b_staff
        if staff_id == self.b_staff:
            return self.a_staff
        return None


@dataclass(frozen=True)
class Shift:
    staff: str
    post: Post
    start: datetime
    end: datetime
    street: str
    area: str | None = None

    def covers(self, at: datetime) -> bool:
        return self.start <= at < self.end


@dataclass(frozen=True)
class Absence:
    """Leave (请假): the person is not dispatched to, whatever the roster says."""

    staff: str
    start: datetime
    end: datetime
    street: str
    reason: str = "请假"
    id: int | None = None

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise InvalidInput("请假起止时间须带时区")
        if self.end <= self.start:
            raise InvalidInput("请假结束时间应晚于开始时间")
        if len(self.reason) > 200:
            raise InvalidInput("请假事由不能超过 200 字")

    def covers(self, at: datetime) -> bool:
        return self.start <= at < self.end


# --- import rows (CSV) -------------------------------------------------------------------------

_PHONE = re.compile(r"^\+?[0-9][0-9\- ]{5,19}$")


class _Rows:
    """Collects row errors so a whole file is judged before anything is stored."""

    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []
        self._seen: set[str] = set()

    def unique(self, row: int, field: str, value: str) -> None:
        if value and value in self._seen:
            self.fail(row, field, f"{value} 重复")
        self._seen.add(value)

    def fail(self, row: int, field: str, reason: str) -> None:
        self.errors.append({"row": row, "field": field, "reason": reason})

    def text(self, row: int, data: Mapping[str, str], name: str, required: bool = True) -> str:
        value = (data.get(name) or "").strip()
        if required and not value:
            self.fail(row, name, "不能为空")
        return value

    def check(self, what: str) -> None:
        if self.errors:
            raise ImportRejected(f"{what}有 {len(self.errors)} 处错误，未导入任何数据", errors=self.errors)


def _row_number(index: int) -> int:
    return index + 2  # the header is line 1 of a CSV file


def departments_from_rows(rows: Sequence[Mapping[str, str]], street: str) -> list[Department]:
    check = _Rows()
    out: list[Department] = []
    for i, data in enumerate(rows):
        row = _row_number(i)
        code, name = check.text(row, data, "code"), check.text(row, data, "name")
        check.unique(row, "code", code)
        kind_text = check.text(row, data, "kind", required=False) or "internal"
        try:
            kind = DepartmentKind(kind_text)
        except ValueError:
            check.fail(row, "kind", f"应为 internal 或 external，不是 {kind_text!r}")
            continue
        out.append(Department(code, name, kind, street))
    check.check("部门表")
    return out


def staff_from_rows(
    rows: Sequence[Mapping[str, str]], street: str, departments: Iterable[str]
) -> list[Staff]:
    check = _Rows()
    known_departments = set(departments)
    out: list[Staff] = []
    for i, data in enumerate(rows):
        row = _row_number(i)
        staff_id, name = check.text(row, data, "id"), check.text(row, data, "name")
        check.unique(row, "id", staff_id)
        phone = check.text(row, data, "phone", required=False)
        if phone and not _PHONE.match(phone):
            check.fail(row, "phone", f"电话号码格式不对：{phone}")
        department = check.text(row, data, "department")
        if department and department not in known_departments:
            check.fail(row, "department", f"部门 {department} 不存在")
        posts: set[Post] = set()
        for text in (check.text(row, data, "posts", required=False)).split("|"):
            if not text.strip():
                continue
            try:
                posts.add(Post(text.strip()))
            except ValueError:
                check.fail(row, "posts", f"未知岗位 {text.strip()!r}")
        row_street = (data.get("street") or street).strip()
        if row_street != street:
            check.fail(row, "street", f"属于街道 {row_street}，不是 {street}")
        active = (data.get("active") or "true").strip().lower() not in ("false", "0", "no", "否")
        out.append(Staff(staff_id, name, phone, department, frozenset(posts), street, active))
    check.check("人员表")
    return out


def ab_pairs_from_rows(
    rows: Sequence[Mapping[str, str]], street: str, areas: Iterable[str], staff: Iterable[str]
) -> list[ABPair]:
    check = _Rows()
    known_areas, known_staff = set(areas), set(staff)
    out: list[ABPair] = []
    for i, data in enumerate(rows):
        row = _row_number(i)
        area = check.text(row, data, "area")
        check.unique(row, "area", area)
        if area and area not in known_areas:
            check.fail(row, "area", f"居民区 {area} 不存在")
        a, b = check.text(row, data, "a_staff"), check.text(row, data, "b_staff")
        for field_name, value in (("a_staff", a), ("b_staff", b)):
            if value and value not in known_staff:
                check.fail(row, field_name, f"人员 {value} 不存在")
        if a and a == b:
            check.fail(row, "b_staff", "A 角和 B 角不能是同一人")
        swap_text = check.text(row, data, "swap_every_days", required=False) or "0"
        try:
            swap = int(swap_text)
            if swap < 0:
                raise ValueError(swap_text)
        except ValueError:
            check.fail(row, "swap_every_days", f"应为非负整数，不是 {swap_text!r}")
            swap = 0
        anchor_text = check.text(row, data, "anchor_date", required=False) or "2026-01-05"
        try:
            anchor = date.fromisoformat(anchor_text)
        except ValueError:
            check.fail(row, "anchor_date", f"日期格式应为 YYYY-MM-DD，不是 {anchor_text!r}")
            anchor = date(2026, 1, 5)
        out.append(ABPair(area, a, b, swap, anchor, street))
    check.check("AB角表")
    return out


def shifts_from_rows(
    rows: Sequence[Mapping[str, str]], street: str, staff: Iterable[str], areas: Iterable[str]
) -> list[Shift]:
    check = _Rows()
    known_staff, known_areas = set(staff), set(areas)
    out: list[Shift] = []
    for i, data in enumerate(rows):
        row = _row_number(i)
        who = check.text(row, data, "staff")
        if who and who not in known_staff:
            check.fail(row, "staff", f"人员 {who} 不存在")
        post_text = check.text(row, data, "post")
        try:
            post = Post(post_text)
        except ValueError:
            check.fail(row, "post", f"未知岗位 {post_text!r}")
            continue
        start = _aware(check, row, "start", check.text(row, data, "start"))
        end = _aware(check, row, "end", check.text(row, data, "end"))
        if start and end and end <= start:
            check.fail(row, "end", "下班时间必须晚于上班时间")
        area = check.text(row, data, "area", required=False) or None
        if area and area not in known_areas:
            check.fail(row, "area", f"居民区 {area} 不存在")
        if start and end:
            out.append(Shift(who, post, start, end, street, area))
    check.check("排班表")
    return out


def _aware(check: _Rows, row: int, field_name: str, text: str) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        check.fail(row, field_name, f"时间格式应为 ISO-8601（如 2026-11-25T08:00:00+08:00），不是 {text!r}")
        return None
    if value.tzinfo is None:
        check.fail(row, field_name, "时间必须带时区（如 +08:00）")
        return None
    return value

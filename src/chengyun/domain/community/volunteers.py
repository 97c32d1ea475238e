"""Volunteer projects (志愿服务项目): projects provided by organisations of the street (驻区单位), their
shifts, residents' sign-ups, check-in and check-out on the day, and the hours each volunteer served.

A volunteer is known by their phone number within the street. Hours count from check-in to check-out,
clipped to the shift: arriving early or leaving late adds nothing, and a volunteer who checked in but
was not checked out is credited until the shift's end once it is over.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from chengyun.domain.community.rows import Rows, check_name, check_phone, row_number
from chengyun.domain.errors import Conflict, IllegalTransition, InvalidInput

PROJECT_COLUMNS = ("code", "name", "org", "market", "description")
SHIFT_COLUMNS = ("code", "project", "starts_at", "ends_at", "capacity", "place")
RECORD_COLUMNS = ("shift", "name", "phone", "checked_in_at", "checked_out_at")
EARLY_CHECK_IN = timedelta(minutes=30)
MAX_SHIFT = timedelta(hours=12)


class SignupStatus(StrEnum):
    SIGNED_UP = "signed_up"
    CHECKED_IN = "checked_in"
    DONE = "done"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return {
            SignupStatus.SIGNED_UP: "已报名",
            SignupStatus.CHECKED_IN: "已签到",
            SignupStatus.DONE: "已签退",
            SignupStatus.CANCELLED: "已取消",
        }[self]


@dataclass(frozen=True)
class VolunteerProject:
    street: str
    code: str
    name: str
    org: str  # the organisation providing it (驻区单位)
    market: str = ""  # the market it serves at, if any
    description: str = ""


@dataclass(frozen=True)
class VolunteerShift:
    street: str
    code: str
    project: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    place: str = ""

    def __post_init__(self) -> None:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise InvalidInput("班次时间须带时区", shift=self.code)
        if not timedelta(0) < self.ends_at - self.starts_at <= MAX_SHIFT:
            raise InvalidInput("班次应晚于开始时间结束，且不超过 12 小时", shift=self.code)
        if not 1 <= self.capacity <= 1000:
            raise InvalidInput("班次人数应在 1 到 1000 之间", shift=self.code)

    def overlaps(self, other: VolunteerShift) -> bool:
        return self.starts_at < other.ends_at and other.starts_at < self.ends_at


@dataclass
class Signup:
    street: str
    code: str  # the volunteer's key to look the sign-up up or cancel it
    shift: str
    name: str
    phone: str
    created_at: datetime
    status: SignupStatus = SignupStatus.SIGNED_UP
    checked_in_at: datetime | None = None
    checked_out_at: datetime | None = None
    id: int | None = None

    @property
    def active(self) -> bool:
        return self.status is not SignupStatus.CANCELLED

    def check_in(self, at: datetime, shift: VolunteerShift) -> None:
        if self.status is not SignupStatus.SIGNED_UP:
            raise IllegalTransition(
                f"报名当前状态为「{self.status.label}」，不能签到", status=self.status.value
            )
        if not shift.starts_at - EARLY_CHECK_IN <= at < shift.ends_at:
            raise IllegalTransition("只能在班次开始前 30 分钟到班次结束之间签到", shift=shift.code)
        self.status, self.checked_in_at = SignupStatus.CHECKED_IN, at

    def check_out(self, at: datetime) -> None:
        if self.status is not SignupStatus.CHECKED_IN or self.checked_in_at is None:
            raise IllegalTransition(
                f"报名当前状态为「{self.status.label}」，不能签退", status=self.status.value
            )
        if at <= self.checked_in_at:
            raise IllegalTransition("签退时间应晚于签到时间")
        self.status, self.checked_out_at = SignupStatus.DONE, at

    def cancel(self, at: datetime, shift: VolunteerShift) -> None:
        if self.status is not SignupStatus.SIGNED_UP:
            raise IllegalTransition(
                f"报名当前状态为「{self.status.label}」，不能取消", status=self.status.value
            )
        if at >= shift.starts_at:
            raise IllegalTransition("班次已开始，不能取消报名", shift=shift.code)
        self.status = SignupStatus.CANCELLED

    def hours(self, shift: VolunteerShift, now: datetime) -> float:
        """Hours served, clipped to the shift; a checked-in volunteer counts until the shift's end once it
        is over (nobody checked them out)."""
        if self.checked_in_at is None:
            return 0.0
        if self.status is SignupStatus.DONE and self.checked_out_at is not None:
            out = self.checked_out_at
        elif self.status is SignupStatus.CHECKED_IN and now >= shift.ends_at:
            out = shift.ends_at
        else:
            return 0.0
        served = min(out, shift.ends_at) - max(self.checked_in_at, shift.starts_at)
        return max(served, timedelta(0)).total_seconds() / 3600


def sign_up(
    *,
    shift: VolunteerShift,
    name: str,
    phone: str,
    now: datetime,
    taken: Sequence[Signup],
    mine: Sequence[tuple[Signup, VolunteerShift]],
    code: str,
) -> Signup:
    """A new sign-up, or the reason it is refused. `taken`: the shift's sign-ups; `mine`: this phone's
    sign-ups with their shifts."""
    name, phone = check_name(name), check_phone(phone)
    if now >= shift.starts_at:
        raise InvalidInput("班次已开始，不能再报名", code="shift_started", shift=shift.code)
    for signup, other in mine:
        if not signup.active:
            continue
        if signup.shift == shift.code:
            raise Conflict("您已报名该班次，请勿重复报名", code="already_signed_up", shift=shift.code)
        if other.overlaps(shift):
            raise Conflict("该班次与您已报名的其他班次时间重叠", code="shift_clash", shift=other.code)
    if sum(1 for s in taken if s.active) >= shift.capacity:
        raise Conflict("该班次已报满", code="shift_full", shift=shift.code)
    return Signup(shift.street, code, shift.code, name, phone, now)


@dataclass(frozen=True)
class VolunteerHours:
    phone: str
    name: str
    hours: float
    shifts: int  # shifts with hours served


def hours_by_volunteer(
    signups: Iterable[Signup], shifts: Mapping[str, VolunteerShift], now: datetime
) -> list[VolunteerHours]:
    """Each volunteer's hours, most first (then by name)."""
    totals: dict[str, tuple[str, float, int]] = {}
    for s in signups:
        shift = shifts.get(s.shift)
        if shift is None:
            continue
        served = s.hours(shift, now)
        if served <= 0:
            continue
        _, hours, count = totals.get(s.phone, (s.name, 0.0, 0))
        totals[s.phone] = (s.name, hours + served, count + 1)
    found = [VolunteerHours(phone, name, hours, n) for phone, (name, hours, n) in totals.items()]
    return sorted(found, key=lambda v: (-v.hours, v.name, v.phone))


# --- import rows ------------------------------------------------------------------------------------


def projects_from_rows(
    rows: Sequence[Mapping[str, str]], street: str, orgs: Iterable[str], markets: Iterable[str]
) -> list[VolunteerProject]:
    check = Rows()
    known_orgs, known_markets = set(orgs), set(markets)
    out: list[VolunteerProject] = []
    for i, data in enumerate(rows):
        row = row_number(i)
        code = check.code(row, data)
        check.unique(row, "code", code)
        name = check.text(row, data, "name")
        org = check.known(row, data, "org", known_orgs, "驻区单位")
        market = check.text(row, data, "market", required=False, limit=64)
        if market and market not in known_markets:
            check.fail(row, "market", f"集市 {market} 不存在")
        description = check.text(row, data, "description", required=False, limit=500)
        out.append(VolunteerProject(street, code, name, org, market, description))
    check.check("志愿项目表")
    return out


def shifts_from_rows(
    rows: Sequence[Mapping[str, str]], street: str, projects: Iterable[str]
) -> list[VolunteerShift]:
    check = Rows()
    known = set(projects)
    out: list[VolunteerShift] = []
    for i, data in enumerate(rows):
        row = row_number(i)
        code = check.code(row, data)
        check.unique(row, "code", code)
        project = check.known(row, data, "project", known, "志愿项目")
        start, end = check.moment(row, data, "starts_at"), check.moment(row, data, "ends_at")
        capacity = check.integer(row, data, "capacity", 1, 1000)
        place = check.text(row, data, "place", required=False)
        if start is None or end is None:
            continue
        try:
            out.append(VolunteerShift(street, code, project, start, end, capacity, place))
        except InvalidInput as exc:
            check.fail(row, "ends_at", exc.message)
    check.check("志愿班次表")
    return out


def records_from_rows(
    rows: Sequence[Mapping[str, str]],
    shifts: Mapping[str, VolunteerShift],
    existing: Sequence[Signup],
    new_code: Callable[[], str],
    now: datetime,
) -> list[Signup]:
    """Service records from an earlier register (服务时长台账): who served which shift, from when to when."""
    check = Rows()
    out: list[Signup] = []
    held = {(s.shift, s.phone) for s in existing if s.active}
    for i, data in enumerate(rows):
        row = row_number(i)
        shift = shifts.get(check.known(row, data, "shift", shifts, "志愿班次"))
        name = check.text(row, data, "name", limit=20)
        phone = check.phone(row, data)
        came = check.moment(row, data, "checked_in_at")
        left = check.moment(row, data, "checked_out_at")
        if shift is None or came is None or left is None or not name or not phone:
            continue
        if left <= came:
            check.fail(row, "checked_out_at", "签退时间应晚于签到时间")
            continue
        if left > now:
            check.fail(row, "checked_out_at", "台账只能记录已经发生的服务")
            continue
        if (shift.code, phone) in held:
            check.fail(row, "phone", "同一志愿者在同一班次只能有一条记录")
            continue
        held.add((shift.code, phone))
        out.append(
            Signup(shift.street, new_code(), shift.code, name, phone, came, SignupStatus.DONE, came, left)
        )
    check.check("志愿服务台账")
    return out

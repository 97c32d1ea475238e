"""Volunteer projects: the shifts residents sign up for, check-in and check-out, hours per volunteer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from chengyun.domain.access import Actor
from chengyun.domain.community.orgs import Organisation
from chengyun.domain.community.rows import check_phone
from chengyun.domain.community.volunteers import (
    Signup,
    VolunteerHours,
    VolunteerProject,
    VolunteerShift,
    hours_by_volunteer,
    sign_up,
)
from chengyun.domain.errors import InvalidInput, NotFound
from chengyun.services.community.common import aware, known_street, may_read, may_run, new_code
from chengyun.services.ports import Clock, UnitOfWork, UnitOfWorkFactory

MAX_RANGE = timedelta(days=400)


@dataclass(frozen=True)
class ShiftView:
    shift: VolunteerShift
    project: VolunteerProject
    org: str  # the providing organisation's name
    signed_up: int  # active sign-ups

    @property
    def left(self) -> int:
        return max(0, self.shift.capacity - self.signed_up)


@dataclass(frozen=True)
class SignupView:
    signup: Signup
    shift: VolunteerShift
    project: VolunteerProject
    hours: float  # this sign-up's hours
    total_hours: float  # all of this volunteer's hours in the street


class VolunteerService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def shifts(
        self, street: str | None, since: datetime | None = None, until: datetime | None = None
    ) -> tuple[str, list[ShiftView]]:
        """Shifts starting in the range (default: from now on, 60 days), with places taken (public)."""
        now = self._clock.now()
        since = aware(since, "since") if since else now
        until = aware(until, "until") if until else since + timedelta(days=60)
        _check_range(since, until)
        with self._uow() as uow:
            street = known_street(uow, street)
            shifts = uow.community.find(VolunteerShift, street, between=("starts_at", since, until))
            views = _views(uow, street, shifts)
        return street, views

    def sign_up(self, street: str | None, shift_code: str, name: str, phone: str) -> SignupView:
        now = self._clock.now()
        phone = check_phone(phone)
        with self._uow() as uow:
            street = known_street(uow, street)
            shift = uow.community.get(VolunteerShift, street, shift_code, lock=True)
            taken = uow.community.find(Signup, street, where={"shift": shift.code})
            mine = uow.community.find(
                Signup, street, where={"phone": phone, "status": ["signed_up", "checked_in"]}
            )
            theirs = {
                s.code: s
                for s in uow.community.find(VolunteerShift, street, where={"code": [m.shift for m in mine]})
            }
            made = sign_up(
                shift=shift,
                name=name,
                phone=phone,
                now=now,
                taken=taken,
                mine=[(m, theirs[m.shift]) for m in mine if m.shift in theirs],
                code=new_code("vo"),
            )
            made = uow.community.add(made)
            view = _signup_view(uow, made, now)
            uow.commit()
        return view

    def signup(self, code: str) -> SignupView:
        with self._uow() as uow:
            return _signup_view(uow, uow.community.get(Signup, None, code), self._clock.now())

    def cancel(self, code: str) -> SignupView:
        now = self._clock.now()
        with self._uow() as uow:
            found = uow.community.get(Signup, None, code, lock=True)
            found.cancel(now, uow.community.get(VolunteerShift, found.street, found.shift))
            uow.community.save([found])
            view = _signup_view(uow, found, now)
            uow.commit()
        return view

    # --- the center ------------------------------------------------------------------------------------

    def signups(self, actor: Actor, street: str, shift: str) -> list[Signup]:
        may_run(actor, street, "查看志愿者报名")
        with self._uow() as uow:
            return uow.community.find(Signup, street, where={"shift": shift})

    def check_in(self, actor: Actor, street: str, signup_id: int) -> Signup:
        may_run(actor, street, "志愿者签到")
        now = self._clock.now()
        with self._uow() as uow:
            found = _one(uow, street, signup_id)
            found.check_in(now, uow.community.get(VolunteerShift, street, found.shift))
            uow.community.save([found])
            uow.commit()
        return found

    def check_out(self, actor: Actor, street: str, signup_id: int) -> Signup:
        may_run(actor, street, "志愿者签退")
        now = self._clock.now()
        with self._uow() as uow:
            found = _one(uow, street, signup_id)
            found.check_out(now)
            uow.community.save([found])
            uow.commit()
        return found

    def hours(
        self, actor: Actor, street: str, since: datetime | None = None, until: datetime | None = None
    ) -> list[VolunteerHours]:
        """Each volunteer's hours in shifts starting in the range (default: the past year), most first."""
        may_read(actor, street, "查看志愿服务时长")
        now = self._clock.now()
        since = aware(since, "since") if since else now - timedelta(days=365)
        until = aware(until, "until") if until else now
        _check_range(since, until)
        with self._uow() as uow:
            return hours_between(uow, street, since, until, now)


def hours_between(
    uow: UnitOfWork, street: str, since: datetime, until: datetime, now: datetime
) -> list[VolunteerHours]:
    shifts = {
        s.code: s for s in uow.community.find(VolunteerShift, street, between=("starts_at", since, until))
    }
    signups = uow.community.find(
        Signup, street, where={"shift": list(shifts), "status": ["checked_in", "done"]}
    )
    return hours_by_volunteer(signups, shifts, now)


def _views(uow: UnitOfWork, street: str, shifts: list[VolunteerShift]) -> list[ShiftView]:
    projects = {p.code: p for p in uow.community.find(VolunteerProject, street)}
    orgs = {o.code: o.name for o in uow.community.find(Organisation, street)}
    active = uow.community.find(
        Signup,
        street,
        where={"shift": [s.code for s in shifts], "status": ["signed_up", "checked_in", "done"]},
    )
    counts: dict[str, int] = {}
    for s in active:
        counts[s.shift] = counts.get(s.shift, 0) + 1
    views = [
        ShiftView(s, projects[s.project], orgs.get(projects[s.project].org, ""), counts.get(s.code, 0))
        for s in shifts
        if s.project in projects
    ]
    return sorted(views, key=lambda v: (v.shift.starts_at, v.shift.code))


def _signup_view(uow: UnitOfWork, signup: Signup, now: datetime) -> SignupView:
    shift = uow.community.get(VolunteerShift, signup.street, signup.shift)
    project = uow.community.get(VolunteerProject, signup.street, shift.project)
    mine = uow.community.find(
        Signup, signup.street, where={"phone": signup.phone, "status": ["checked_in", "done"]}
    )
    shifts = {
        s.code: s
        for s in uow.community.find(VolunteerShift, signup.street, where={"code": [m.shift for m in mine]})
    }
    total = sum(v.hours for v in hours_by_volunteer(mine, shifts, now))
    return SignupView(signup, shift, project, signup.hours(shift, now), total)


def _one(uow: UnitOfWork, street: str, signup_id: int) -> Signup:
    found = uow.community.find(Signup, street, where={"id": signup_id}, lock=True)
    if not found:
        raise NotFound(f"志愿报名 {signup_id} 不存在", signup=signup_id)
    return found[0]


def _check_range(since: datetime, until: datetime) -> None:
    if until < since:
        raise InvalidInput("结束时间不能早于开始时间", code="bad_range")
    if until - since > MAX_RANGE:
        raise InvalidInput("查询范围不能超过 400 天", code="bad_range")

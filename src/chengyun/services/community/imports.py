"""CSV imports and exports of the community programs, one kind of record per file.

An import is all-or-nothing: every row is checked first against the file and what is stored, and a file
with any bad row stores nothing (the answer names each row, column and reason). Reference data (units,
markets, households …) is added or replaced by code; the party grid's units and members are replaced as a
whole; registers (bookings, volunteer hours, applications kept on paper) are added.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time
from enum import Enum, StrEnum
from typing import Any

from chengyun.domain.access import Actor
from chengyun.domain.calendar import local
from chengyun.domain.community import jobs, market, orgs, partygrid, renovation, volunteers
from chengyun.domain.community.jobs import Application, JobFair, JobPost
from chengyun.domain.community.market import Booking, Market, ServiceSeries, Stall, Venue
from chengyun.domain.community.orgs import Organisation
from chengyun.domain.community.partygrid import PartyMember, PartyUnit
from chengyun.domain.community.renovation import Household, MilestoneRecord, Participant, RenovationProject
from chengyun.domain.community.volunteers import Signup, SignupStatus, VolunteerProject, VolunteerShift
from chengyun.domain.places import PlaceKind
from chengyun.services.community.common import may_run, new_code
from chengyun.services.directory import read_csv, write_csv
from chengyun.services.ports import Clock, UnitOfWork, UnitOfWorkFactory


class ImportKind(StrEnum):
    ORGS = "orgs"
    SERIES = "series"
    VENUES = "venues"
    MARKETS = "markets"
    STALLS = "stalls"
    BOOKINGS = "bookings"
    VOLUNTEER_PROJECTS = "volunteer-projects"
    VOLUNTEER_SHIFTS = "volunteer-shifts"
    VOLUNTEER_RECORDS = "volunteer-records"
    JOB_FAIRS = "job-fairs"
    JOB_POSTS = "job-posts"
    JOB_APPLICATIONS = "job-applications"
    RENOVATION_PROJECTS = "renovation-projects"
    RENOVATION_MILESTONES = "renovation-milestones"
    RENOVATION_HOUSEHOLDS = "renovation-households"
    RENOVATION_PEOPLE = "renovation-people"
    PARTY_UNITS = "party-units"
    PARTY_MEMBERS = "party-members"


# The columns of each kind's file (the first ones required) and the record type it holds.
COLUMNS: dict[ImportKind, tuple[str, ...]] = {
    ImportKind.ORGS: orgs.ORG_COLUMNS,
    ImportKind.SERIES: market.SERIES_COLUMNS,
    ImportKind.VENUES: market.VENUE_COLUMNS,
    ImportKind.MARKETS: market.MARKET_COLUMNS,
    ImportKind.STALLS: market.STALL_COLUMNS,
    ImportKind.BOOKINGS: market.REGISTER_COLUMNS,
    ImportKind.VOLUNTEER_PROJECTS: volunteers.PROJECT_COLUMNS,
    ImportKind.VOLUNTEER_SHIFTS: volunteers.SHIFT_COLUMNS,
    ImportKind.VOLUNTEER_RECORDS: volunteers.RECORD_COLUMNS,
    ImportKind.JOB_FAIRS: jobs.FAIR_COLUMNS,
    ImportKind.JOB_POSTS: jobs.POST_COLUMNS,
    ImportKind.JOB_APPLICATIONS: jobs.APPLICATION_COLUMNS,
    ImportKind.RENOVATION_PROJECTS: renovation.PROJECT_COLUMNS,
    ImportKind.RENOVATION_MILESTONES: renovation.MILESTONE_COLUMNS,
    ImportKind.RENOVATION_HOUSEHOLDS: renovation.HOUSEHOLD_COLUMNS,
    ImportKind.RENOVATION_PEOPLE: renovation.PEOPLE_COLUMNS,
    ImportKind.PARTY_UNITS: partygrid.UNIT_COLUMNS,
    ImportKind.PARTY_MEMBERS: partygrid.MEMBER_COLUMNS,
}
REQUIRED: dict[ImportKind, tuple[str, ...]] = {
    ImportKind.ORGS: ("code", "name"),
    ImportKind.SERIES: ("code", "name"),
    ImportKind.VENUES: ("code", "name", "level"),
    ImportKind.MARKETS: ("code", "name", "venue", "first_day", "opens", "closes"),
    ImportKind.STALLS: ("code", "market", "series", "org", "name", "capacity"),
    ImportKind.BOOKINGS: ("stall", "day", "name", "phone"),
    ImportKind.VOLUNTEER_PROJECTS: ("code", "name", "org"),
    ImportKind.VOLUNTEER_SHIFTS: ("code", "project", "starts_at", "ends_at", "capacity"),
    ImportKind.VOLUNTEER_RECORDS: volunteers.RECORD_COLUMNS,
    ImportKind.JOB_FAIRS: ("code", "name", "venue", "starts_at", "ends_at"),
    ImportKind.JOB_POSTS: ("code", "fair", "employer", "title", "openings"),
    ImportKind.JOB_APPLICATIONS: ("post", "name", "phone"),
    ImportKind.RENOVATION_PROJECTS: ("code", "name", "area", "buildings"),
    ImportKind.RENOVATION_MILESTONES: ("project", "milestone"),
    ImportKind.RENOVATION_HOUSEHOLDS: ("project", "code", "building", "room", "head"),
    ImportKind.RENOVATION_PEOPLE: ("project", "code", "name", "circle", "role"),
    ImportKind.PARTY_UNITS: ("code", "name", "level", "places"),
    ImportKind.PARTY_MEMBERS: ("code", "unit", "name", "post"),
}
RECORDS: dict[ImportKind, type[Any]] = {
    ImportKind.ORGS: Organisation,
    ImportKind.SERIES: ServiceSeries,
    ImportKind.VENUES: Venue,
    ImportKind.MARKETS: Market,
    ImportKind.STALLS: Stall,
    ImportKind.BOOKINGS: Booking,
    ImportKind.VOLUNTEER_PROJECTS: VolunteerProject,
    ImportKind.VOLUNTEER_SHIFTS: VolunteerShift,
    ImportKind.VOLUNTEER_RECORDS: Signup,
    ImportKind.JOB_FAIRS: JobFair,
    ImportKind.JOB_POSTS: JobPost,
    ImportKind.JOB_APPLICATIONS: Application,
    ImportKind.RENOVATION_PROJECTS: RenovationProject,
    ImportKind.RENOVATION_MILESTONES: MilestoneRecord,
    ImportKind.RENOVATION_HOUSEHOLDS: Household,
    ImportKind.RENOVATION_PEOPLE: Participant,
    ImportKind.PARTY_UNITS: PartyUnit,
    ImportKind.PARTY_MEMBERS: PartyMember,
}
Rows = Sequence[Mapping[str, str]]


class CommunityImports:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def import_csv(self, actor: Actor, street: str, kind: ImportKind, text: str) -> int:
        may_run(actor, street, "导入社区服务数据")
        rows = read_csv(text, REQUIRED[kind])
        now = self._clock.now()
        with self._uow() as uow:
            count = _IMPORTERS[kind](uow, street, rows, now)
            uow.commit()
        return count

    def export_csv(self, actor: Actor, street: str, kind: ImportKind) -> str:
        may_run(actor, street, "导出社区服务数据")
        with self._uow() as uow:
            records = uow.community.find(RECORDS[kind], street)
        if kind is ImportKind.VOLUNTEER_RECORDS:
            records = [s for s in records if s.status in (SignupStatus.CHECKED_IN, SignupStatus.DONE)]
        getters = _GETTERS.get(kind, {})
        rows = [
            {c: _cell(getters[c](r) if c in getters else getattr(r, c, "")) for c in COLUMNS[kind]}
            for r in records
        ]
        return write_csv(rows, COLUMNS[kind])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, tuple):
        return "|".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return local(value).isoformat()
    if isinstance(value, date | time):
        return value.isoformat(timespec="minutes") if isinstance(value, time) else value.isoformat()
    return str(value)


_GETTERS: dict[ImportKind, dict[str, Callable[[Any], Any]]] = {
    ImportKind.BOOKINGS: {"slot": lambda b: local(b.slot_at).strftime("%H:%M") if b.slot_at else ""},
    ImportKind.JOB_APPLICATIONS: {"applied_at": lambda a: a.created_at},
}


def _codes(uow: UnitOfWork, kind: type[Any], street: str) -> list[str]:
    return [r.code for r in uow.community.find(kind, street)]


def _by_code(uow: UnitOfWork, kind: type[Any], street: str) -> dict[str, Any]:
    return {r.code: r for r in uow.community.find(kind, street)}


def _orgs(uow: UnitOfWork, street: str, rows: Rows, now: datetime) -> int:
    return uow.community.save(orgs.orgs_from_rows(rows, street))


def _series(uow: UnitOfWork, street: str, rows: Rows, now: datetime) -> int:
    return uow.community.save(market.series_from_rows(rows, street))


def _venues(uow: UnitOfWork, street: str, rows: Rows, now: datetime) -> int:
    places = [p.code for p in uow.places.list(street)]
    return uow.community.save(market.venues_from_rows(rows, street, places))


def _markets(uow: UnitOfWork, street: str, rows: Rows, now: datetime) -> int:
    return uow.community.save(market.markets_from_rows(rows, street, _codes(uow, Venue, street)))


def _stalls(uow: UnitOfWork, street: str, rows: Rows, now: datetime) -> int:
    found = market.stalls_from_rows(
        rows,
        street,
        _codes(uow, Market, street),
        _codes(uow, ServiceSeries, street),
        _codes(uow, Organisation, street),
    )
    return uow.community.save(found)


def _bookings(uow: UnitOfWork, street: str, rows: Rows, now: datetime) -> int:
    stalls = _by_code(uow, Stall, street)
    wanted = {(r.get("stall") or "").strip() for r in rows}
    existing = uow.community.find(Booking, street, where={"stall": sorted(wanted & set(stalls))})
    made = market.register_from_rows(
        rows, stalls, _by_code(uow, Market, street), existing, lambda: new_code("mk"), now
    )
    return uow.community.add_all(made)


def _volunteer_projects(uow: UnitOfWork, street: str, rows: Rows, now: datetime) -> int:
    found = volunteers.projects_from_rows(
        rows, street, _codes(uow, Organisation, street), _codes(uow, Market, street)
    )
    return uow.community.save(found)


def _volunteer_shifts(uow: UnitOfWork, street: str, rows: Rows, now: datetime) -> int:
    return uow.community.save(
        volunteers.shifts_from_rows(rows, street, _codes(uow, VolunteerProject, street))
    )


def _volunteer_records(uow: UnitOfWork, street: str, rows: Rows, now: datetime) -> int:
    shifts = _by_code(uow, VolunteerShift, street)
    wanted = {(r.get("shift") or "").strip() for r in rows}
    existing = uow.community.find(Signup, street, where={"shift": sorted(wanted & set(shifts))})
    made = volunteers.records_from_rows(rows, shifts, existing, lambda: new_code("vo"), now)
    return uow.community.add_all(made)


def _job_fairs(uow: UnitOfWork, street: str, rows: Rows, now: datetime) -> int:
    found = jobs.fairs_from_rows(rows, street, _codes(uow, Venue, street), _codes(uow, Market, street))
    return uow.community.save(found)


def _job_posts(uow: UnitOfWork, street: str, rows: Rows, now: datetime) -> int:
    found = jobs.posts_from_rows(
        rows, street, _codes(uow, JobFair, street), _codes(uow, Organisation, street)
    )
    return uow.community.save(found)


def _job_applications(uow: UnitOfWork, street: str, rows: Rows, now: datetime) -> int:
    posts = _by_code(uow, JobPost, street)
    wanted = {(r.get("post") or "").strip() for r in rows}
    existing = uow.community.find(Application, street, where={"post": sorted(wanted & set(posts))})
    made = jobs.applications_from_rows(rows, posts, existing, lambda: new_code("jb"), now)
    return uow.community.add_all(made)


def _renovation_projects(uow: UnitOfWork, street: str, rows: Rows, now: datetime) -> int:
    areas = [p.code for p in uow.places.list(street, PlaceKind.AREA)]
    grids = {p.code: p.parent for p in uow.places.list(street, PlaceKind.GRID)}
    buildings = {}
    for b in uow.places.list(street, PlaceKind.BUILDING):
        parent = b.parent or ""
        buildings[b.code] = grids.get(parent) or parent  # a building stands in a grid, or straight in an area
    return uow.community.save(renovation.projects_from_rows(rows, street, areas, buildings))


def _renovation_milestones(uow: UnitOfWork, street: str, rows: Rows, now: datetime) -> int:
    found = renovation.milestones_from_rows(rows, street, _codes(uow, RenovationProject, street))
    return uow.community.save(found)


def _renovation_households(uow: UnitOfWork, street: str, rows: Rows, now: datetime) -> int:
    found = renovation.households_from_rows(rows, street, _by_code(uow, RenovationProject, street))
    return uow.community.save(found)


def _renovation_people(uow: UnitOfWork, street: str, rows: Rows, now: datetime) -> int:
    return uow.community.save(
        renovation.people_from_rows(rows, street, _codes(uow, RenovationProject, street))
    )


def _party_units(uow: UnitOfWork, street: str, rows: Rows, now: datetime) -> int:
    units = partygrid.units_from_rows(rows, street, uow.places.kinds(street))
    kept = {u.code for u in units}
    members = [m for m in uow.community.find(PartyMember, street) if m.unit in kept]
    count = uow.community.replace(PartyUnit, street, units)
    uow.community.replace(PartyMember, street, members)  # members of units no longer there go with them
    return count


def _party_members(uow: UnitOfWork, street: str, rows: Rows, now: datetime) -> int:
    members = partygrid.members_from_rows(rows, street, _codes(uow, PartyUnit, street))
    return uow.community.replace(PartyMember, street, members)


_IMPORTERS: dict[ImportKind, Callable[[UnitOfWork, str, Rows, datetime], int]] = {
    ImportKind.ORGS: _orgs,
    ImportKind.SERIES: _series,
    ImportKind.VENUES: _venues,
    ImportKind.MARKETS: _markets,
    ImportKind.STALLS: _stalls,
    ImportKind.BOOKINGS: _bookings,
    ImportKind.VOLUNTEER_PROJECTS: _volunteer_projects,
    ImportKind.VOLUNTEER_SHIFTS: _volunteer_shifts,
    ImportKind.VOLUNTEER_RECORDS: _volunteer_records,
    ImportKind.JOB_FAIRS: _job_fairs,
    ImportKind.JOB_POSTS: _job_posts,
    ImportKind.JOB_APPLICATIONS: _job_applications,
    ImportKind.RENOVATION_PROJECTS: _renovation_projects,
    ImportKind.RENOVATION_MILESTONES: _renovation_milestones,
    ImportKind.RENOVATION_HOUSEHOLDS: _renovation_households,
    ImportKind.RENOVATION_PEOPLE: _renovation_people,
    ImportKind.PARTY_UNITS: _party_units,
    ImportKind.PARTY_MEMBERS: _party_members,
}

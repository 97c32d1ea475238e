"""The community programs as one service: the market, volunteers, job fairs, renovation, the party grid,
their CSV files, stall holders' accounts, and the summary the wall screen's panel shows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from chengyun.domain.access import Actor
from chengyun.domain.calendar import SHANGHAI, local_date
from chengyun.domain.community.jobs import Application, FairFigures, JobFair, JobPost, fair_figures
from chengyun.domain.community.market import (
    Booking,
    BookingStatus,
    Market,
    MarketFigures,
    Session,
    Venue,
    market_figures,
)
from chengyun.domain.community.orgs import Organisation
from chengyun.domain.community.volunteers import VolunteerHours, VolunteerProject, VolunteerShift
from chengyun.services.community.common import may_read, may_run, org_of
from chengyun.services.community.imports import CommunityImports
from chengyun.services.community.jobs import JobService
from chengyun.services.community.market import MarketService, menu_of
from chengyun.services.community.party import PartyService
from chengyun.services.community.renovation import ProjectView, RenovationService
from chengyun.services.community.volunteers import VolunteerService, hours_between
from chengyun.services.ports import Clock, GazetteerFor, UnitOfWorkFactory

# Issues a stall holder's token for (street, name): returns the token and its id.
IssueToken = Callable[[str, str], tuple[str, str]]


@dataclass(frozen=True)
class SessionSummary:
    market: Market
    venue: Venue | None
    session: Session
    stalls: int
    booked: int  # bookings not cancelled
    attended: int


@dataclass(frozen=True)
class VolunteerSummary:
    projects: int
    volunteers: int  # who served this year
    hours_year: float
    hours_month: float
    shifts_today: int
    top: list[VolunteerHours]  # this year's five most active


@dataclass(frozen=True)
class CommunitySummary:
    """Everything the wall screen's community panel shows, for one street on one day."""

    street: str
    today: date
    today_sessions: list[SessionSummary]
    next_sessions: list[SessionSummary]
    series: int
    venues: int
    stalls: int
    market: MarketFigures  # the past 365 days
    volunteers: VolunteerSummary
    next_fair: JobFair | None
    jobs: FairFigures  # every fair of the street
    renovation: list[ProjectView]
    next_fair_jobs: FairFigures | None = None  # the next fair's own posts and applications


class Community:
    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, gazetteers: GazetteerFor, issue: IssueToken
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._issue = issue
        self.market = MarketService(uow, clock)
        self.volunteers = VolunteerService(uow, clock)
        self.jobs = JobService(uow, clock)
        self.renovation = RenovationService(uow, clock)
        self.party = PartyService(uow, gazetteers)
        self.files = CommunityImports(uow, clock)

    def issue_account(self, actor: Actor, street: str, org: str) -> tuple[str, Organisation]:
        """A token for an organisation's stall holders: they see their stalls' bookings and their posts'
        applications, residents masked."""
        may_run(actor, street, "为摊主签发令牌")
        with self._uow() as uow:
            found = uow.community.get(Organisation, street, org)
        token, token_id = self._issue(street, found.name)
        with self._uow() as uow:
            uow.community.bind_account(token_id, street, org)
            uow.commit()
        return token, found

    def account(self, actor: Actor, street: str) -> Organisation | None:
        """The organisation a stall holder's token speaks for (None for anyone else)."""
        with self._uow() as uow:
            org = org_of(uow, actor, street)
            return None if org is None else uow.community.get(Organisation, street, org)

    def summary(self, actor: Actor, street: str) -> CommunitySummary:
        may_read(actor, street, "查看社区服务概况")
        now = self._clock.now()
        today = local_date(now)
        year_ago = now - timedelta(days=365)
        with self._uow() as uow:
            menu = menu_of(uow, street)
            upcoming = sorted(  # each market's next session (today's while it lasts) and the one after
                (s for m in menu.markets.values() for s in m.next_sessions(now, 2)),
                key=lambda s: (s.starts_at, s.market),
            )
            days = sorted({s.day for s in upcoming})
            recent = uow.community.find(Booking, street, between=("day", today - timedelta(days=365), today))
            soon = uow.community.find(Booking, street, where={"day": days}) if days else []
            hours_year = hours_between(uow, street, year_ago, now, now)
            month_start = datetime.combine(today.replace(day=1), datetime.min.time(), SHANGHAI)
            hours_month = hours_between(uow, street, month_start, now, now)
            day_start = datetime.combine(today, datetime.min.time(), SHANGHAI)
            shifts_today = uow.community.find(
                VolunteerShift, street, between=("starts_at", day_start, day_start + timedelta(days=1))
            )
            projects = uow.community.find(VolunteerProject, street)
            fairs = uow.community.find(JobFair, street)
            posts = uow.community.find(JobPost, street)
            orgs = {o.code: o for o in uow.community.find(Organisation, street)}
            applications = uow.community.find(Application, street)
        stall_counts: dict[str, int] = {}
        for stall in menu.stalls.values():
            stall_counts[stall.market] = stall_counts.get(stall.market, 0) + 1

        def summarise(session: Session) -> SessionSummary:
            market = menu.markets[session.market]
            mine = [b for b in soon if b.market == market.code and b.day == session.day and b.active]
            return SessionSummary(
                market,
                menu.venues.get(market.venue),
                session,
                stall_counts.get(market.code, 0),
                len(mine),
                sum(1 for b in mine if b.status is BookingStatus.ATTENDED),
            )

        coming = [f for f in fairs if f.ends_at > now]
        next_fair = min(coming, key=lambda f: f.starts_at) if coming else None
        return CommunitySummary(
            street,
            today,
            [summarise(s) for s in upcoming if s.day == today],
            [summarise(s) for s in _first_per_market(upcoming, today)][:5],
            len(menu.series),
            len(menu.venues),
            len(menu.stalls),
            market_figures(recent, menu.stalls, menu.series),
            VolunteerSummary(
                len(projects),
                len(hours_year),
                sum(v.hours for v in hours_year),
                sum(v.hours for v in hours_month),
                len(shifts_today),
                hours_year[:5],
            ),
            next_fair,
            fair_figures(posts, orgs, applications),
            self.renovation.projects(actor, street),
            None
            if next_fair is None
            else fair_figures((p for p in posts if p.fair == next_fair.code), orgs, applications),
        )


def _first_per_market(sessions: list[Session], today: date) -> list[Session]:
    """Each market's next session after today, soonest first (a weekly market would fill the list)."""
    seen: set[str] = set()
    out = []
    for s in sessions:
        if s.day != today and s.market not in seen:
            seen.add(s.market)
            out.append(s)
    return out

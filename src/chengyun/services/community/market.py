"""The convenience market: the menu and the schedule, residents' bookings, stall holders' lists, the
center's attendance figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from chengyun.domain.access import Actor
from chengyun.domain.calendar import SHANGHAI, local_date
from chengyun.domain.community.market import (
    Booking,
    BookingStatus,
    Market,
    MarketFigures,
    ServiceSeries,
    Session,
    Stall,
    Venue,
    book,
    market_figures,
)
from chengyun.domain.community.orgs import Organisation
from chengyun.domain.community.rows import check_phone
from chengyun.domain.errors import InvalidInput, NotFound, PermissionDenied
from chengyun.services.community.common import known_street, may_read, may_run, new_code, org_of
from chengyun.services.ports import Clock, UnitOfWork, UnitOfWorkFactory

MAX_RANGE = timedelta(days=400)


@dataclass(frozen=True)
class Menu:
    """The street's market as reference data: what is offered where."""

    series: dict[str, ServiceSeries]
    venues: dict[str, Venue]
    markets: dict[str, Market]
    stalls: dict[str, Stall]
    orgs: dict[str, Organisation]

    def stalls_of(self, market: str) -> list[Stall]:
        position = {code: s.position for code, s in self.series.items()}
        found = [s for s in self.stalls.values() if s.market == market]
        return sorted(found, key=lambda s: (position.get(s.series, 0), s.code))


@dataclass(frozen=True)
class SlotLeft:
    at: datetime
    left: int


@dataclass(frozen=True)
class StallBoard:
    stall: Stall
    org: str  # the organisation's name
    series: str  # the series' name
    slots: list[SlotLeft]  # slot stalls
    left: int  # places (queue numbers, or all slots together) still free


@dataclass(frozen=True)
class SessionBoard:
    """One session as residents see it: each stall with what is left (no one's personal data)."""

    market: Market
    venue: Venue | None
    session: Session
    bookable: bool
    stalls: list[StallBoard] = field(default_factory=list)


class MarketService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def menu(self, street: str) -> Menu:
        with self._uow() as uow:
            return menu_of(uow, street)

    # --- residents ----------------------------------------------------------------------------------

    def upcoming(
        self, street: str | None, days: int = 62, per_market: int = 2
    ) -> tuple[str, Menu, list[Session]]:
        """The next sessions of every market of the street (public), soonest first."""
        now = self._clock.now()
        with self._uow() as uow:
            street = known_street(uow, street)
            menu = menu_of(uow, street)
        horizon = now + timedelta(days=days)
        found = [
            s
            for m in menu.markets.values()
            for s in m.next_sessions(now, per_market)
            if s.starts_at <= horizon
        ]
        return street, menu, sorted(found, key=lambda s: (s.starts_at, s.market))

    def board(self, street: str | None, market_code: str, day: date) -> SessionBoard:
        now = self._clock.now()
        with self._uow() as uow:
            street = known_street(uow, street)
            menu = menu_of(uow, street)
            market = _market(menu, market_code)
            session = _session(market, day)
            taken = uow.community.find(Booking, street, where={"market": market.code, "day": day})
        boards = []
        for stall in menu.stalls_of(market.code):
            mine = [b for b in taken if b.stall == stall.code and b.active]
            slots = [
                SlotLeft(at, stall.capacity - sum(1 for b in mine if b.slot_at == at))
                for at in stall.slots(session)
            ]
            left = sum(s.left for s in slots) if slots else stall.capacity - len(mine)
            org = menu.orgs.get(stall.org)
            kind = menu.series.get(stall.series)
            boards.append(
                StallBoard(stall, org.name if org else stall.org, kind.name if kind else "", slots, left)
            )
        bookable = now < session.ends_at and market.opens_for_booking(session, now)
        return SessionBoard(market, menu.venues.get(market.venue), session, bookable, boards)

    def book(
        self,
        street: str | None,
        stall_code: str,
        day: date,
        slot: time | None,
        name: str,
        phone: str,
        topic: str,
    ) -> Booking:
        now = self._clock.now()
        phone = check_phone(phone)
        with self._uow() as uow:
            street = known_street(uow, street)
            stall = uow.community.get(
                Stall, street, stall_code, lock=True
            )  # one booking of a stall at a time
            market = uow.community.get(Market, street, stall.market)
            session = _session(market, day)
            taken = uow.community.find(Booking, street, where={"stall": stall.code, "day": day})
            mine = uow.community.find(
                Booking, street, where={"market": market.code, "day": day, "phone": phone}
            )
            made = book(
                stall=stall,
                market=market,
                session=session,
                slot_at=None if slot is None else datetime.combine(day, slot, SHANGHAI),
                name=name,
                phone=phone,
                topic=topic,
                now=now,
                taken=taken,
                mine=mine,
                code=new_code("mk"),
            )
            made = uow.community.add(made)
            uow.commit()
        return made

    def booking(self, code: str) -> Booking:
        with self._uow() as uow:
            return uow.community.get(Booking, None, code)

    def cancel(self, code: str) -> Booking:
        now = self._clock.now()
        with self._uow() as uow:
            found = uow.community.get(Booking, None, code, lock=True)
            market = uow.community.get(Market, found.street, found.market)
            found.cancel(now, _session(market, found.day))
            uow.community.save([found])
            uow.commit()
        return found

    # --- stall holders and the center ----------------------------------------------------------------

    def bookings(
        self,
        actor: Actor,
        street: str,
        *,
        market: str | None = None,
        stall: str | None = None,
        since: date | None = None,
        until: date | None = None,
        status: BookingStatus | None = None,
    ) -> list[Booking]:
        """Bookings by session day (a stall holder: only its own stalls'), by day, slot and number."""
        may_read(actor, street, "查看集市预约", stall_holders=True)
        today = local_date(self._clock.now())
        since, until = _range(since or today, until or since or today)
        where: dict[str, object] = {}
        with self._uow() as uow:
            org = org_of(uow, actor, street)
            stalls = (
                None
                if org is None
                else [s.code for s in uow.community.find(Stall, street, where={"org": org})]
            )
            if stall is not None:
                stalls = [stall] if stalls is None or stall in stalls else []
            if stalls is not None:
                where["stall"] = stalls
            if market is not None:
                where["market"] = market
            if status is not None:
                where["status"] = status
            found = uow.community.find(Booking, street, where=where, between=("day", since, until))
        far = datetime.max.replace(tzinfo=SHANGHAI)
        return sorted(found, key=lambda b: (b.day, b.stall, b.slot_at or far, b.number or 0, b.id or 0))

    def attend(self, actor: Actor, street: str, booking_id: int) -> Booking:
        """A resident came to the stall (签到 / 叫号到场): by the stall's holder or the center."""
        may_read(actor, street, "登记到场", stall_holders=True)
        now = self._clock.now()
        with self._uow() as uow:
            found = _one(uow, street, booking_id)
            org = org_of(uow, actor, street)
            if org is None:
                may_run(actor, street, "登记到场")
            elif uow.community.get(Stall, street, found.stall).org != org:
                raise PermissionDenied("只能登记本单位摊位的到场", booking=booking_id)
            found.attend(now)
            uow.community.save([found])
            uow.commit()
        return found

    def figures(
        self, actor: Actor, street: str, since: date | None, until: date | None, market: str | None = None
    ) -> tuple[date, date, MarketFigures]:
        """Attendance and what was asked for most, over sessions from `since` to `until` (default: the
        past year up to today)."""
        may_read(actor, street, "查看集市统计")
        today = local_date(self._clock.now())
        since, until = _range(since or today - timedelta(days=365), until or today)
        with self._uow() as uow:
            menu = menu_of(uow, street)
            where = {"market": market} if market else {}
            found = uow.community.find(Booking, street, where=where, between=("day", since, until))
        return since, until, market_figures(found, menu.stalls, menu.series)


def menu_of(uow: UnitOfWork, street: str) -> Menu:
    c = uow.community
    return Menu(
        {s.code: s for s in c.find(ServiceSeries, street)},
        {v.code: v for v in c.find(Venue, street)},
        {m.code: m for m in c.find(Market, street)},
        {s.code: s for s in c.find(Stall, street)},
        {o.code: o for o in c.find(Organisation, street)},
    )


def _market(menu: Menu, code: str) -> Market:
    market = menu.markets.get(code)
    if market is None:
        raise NotFound(f"集市 {code} 不存在", market=code)
    return market


def _session(market: Market, day: date) -> Session:
    session = market.session_on(day)
    if session is None:
        raise InvalidInput(
            f"{day.isoformat()} 不是「{market.name}」的集市日期", code="no_session", day=day.isoformat()
        )
    return session


def _one(uow: UnitOfWork, street: str, booking_id: int) -> Booking:
    found = uow.community.find(Booking, street, where={"id": booking_id}, lock=True)
    if not found:
        raise NotFound(f"预约 {booking_id} 不存在", booking=booking_id)
    return found[0]


def _range(since: date, until: date) -> tuple[date, date]:
    if until < since:
        raise InvalidInput("结束日期不能早于开始日期", code="bad_range")
    if until - since > MAX_RANGE:
        raise InvalidInput("查询范围不能超过 400 天", code="bad_range")
    return since, until

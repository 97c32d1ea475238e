"""The 静·邻一家 convenience market (便民集市): a menu of service series offered by stalls at the street's
party-mass service centers and stations on a recurring schedule; residents book a slot or take a queue
number, stall holders mark who came, the center counts attendance and what was asked for most.

A market's schedule is an RFC 5545 recurrence rule (RRULE) over local dates, kept as data. The seed's
"the first week's Thursday of every month" (每月第一周的星期四) is `FREQ=MONTHLY;BYDAY=+1TH`: by the ISO 8601
convention a week belongs to the month holding its Thursday, so a month's first week is the one holding its
first Thursday.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from dateutil.rrule import rrule, rrulestr

from chengyun.domain.calendar import SHANGHAI, local_date
from chengyun.domain.community.rows import Rows, check_name, check_phone, row_number
from chengyun.domain.errors import Conflict, IllegalTransition, InvalidInput

DEFAULT_RULE = "FREQ=MONTHLY;BYDAY=+1TH"  # 每月第一周的星期四
SERIES_COLUMNS = ("code", "name", "zone", "description")
VENUE_COLUMNS = ("code", "name", "level", "address", "place")
MARKET_COLUMNS = ("code", "name", "venue", "rule", "first_day", "opens", "closes", "booking_days")
STALL_COLUMNS = ("code", "market", "series", "org", "name", "mode", "capacity", "slot_minutes", "topics")
REGISTER_COLUMNS = ("stall", "day", "slot", "name", "phone", "topic", "status")
MAX_TOPIC = 30
HORIZON_DAYS = 400  # how far ahead the next sessions are looked for


class VenueLevel(StrEnum):
    STREET_CENTER = "street_center"
    AREA_STATION = "area_station"
    BUILDING_STATION = "building_station"

    @property
    def label(self) -> str:
        return {
            VenueLevel.STREET_CENTER: "街镇党群服务中心",
            VenueLevel.AREA_STATION: "居民区党群服务站",
            VenueLevel.BUILDING_STATION: "楼宇（园区）党群服务站",
        }[self]


class BookingMode(StrEnum):
    SLOT = "slot"  # a time slot booked ahead
    QUEUE = "queue"  # a queue number, ahead or on the day

    @property
    def label(self) -> str:
        return "预约时段" if self is BookingMode.SLOT else "排队取号"


class BookingStatus(StrEnum):
    BOOKED = "booked"
    ATTENDED = "attended"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return {
            BookingStatus.BOOKED: "已预约",
            BookingStatus.ATTENDED: "已到场",
            BookingStatus.CANCELLED: "已取消",
        }[self]


@dataclass(frozen=True)
class ServiceSeries:
    """One series of the service menu (服务菜单), e.g. 名医坐堂 in the zone 健康养生."""

    street: str
    code: str
    name: str
    zone: str = ""
    description: str = ""
    position: int = 0


@dataclass(frozen=True)
class Venue:
    """A party-mass service center or station (党群服务阵地) where markets are held."""

    street: str
    code: str
    name: str
    level: VenueLevel
    address: str = ""
    place: str = ""  # the code of its place (building or point of interest), if known


@dataclass(frozen=True)
class Session:
    """One occurrence of a market: a local date and its opening hours as aware times."""

    market: str
    day: date
    starts_at: datetime
    ends_at: datetime


@functools.lru_cache(maxsize=512)
def recurrence(rule: str, first_day: date) -> rrule:
    """The parsed rule, starting at `first_day`; InvalidInput naming what is wrong."""
    body = rule.strip().removeprefix("RRULE:")
    allowed = {"FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "BYWEEKNO", "BYYEARDAY"}
    allowed |= {"WKST", "UNTIL", "COUNT"}
    keys = [part.split("=", 1)[0].strip().upper() for part in body.split(";") if part.strip()]
    unknown = [k for k in keys if k not in allowed]
    if unknown:
        raise InvalidInput(
            f"重复规则不支持 {'、'.join(unknown)}（日期由首场日期与开放时间给出）", field="rule"
        )
    freq = dict(part.split("=", 1) for part in body.split(";") if "=" in part).get("FREQ", "")
    if freq.strip().upper() not in {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}:
        raise InvalidInput("重复规则的 FREQ 应为 DAILY、WEEKLY、MONTHLY 或 YEARLY", field="rule")
    start = datetime.combine(first_day, time())
    try:
        parsed = rrulestr(body, dtstart=start, ignoretz=True)
        if not isinstance(parsed, rrule):
            raise InvalidInput("重复规则只能是一条 RRULE", field="rule")
        # Expanding two years also finds what only fails on expansion (BYDAY=+9TH).
        found = parsed.between(start, start + timedelta(days=731), inc=True)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise InvalidInput(f"重复规则无法解析：{body[:80]}（{exc}）", field="rule") from None
    if not found:
        raise InvalidInput("重复规则在首场日期后两年内不产生任何日期", field="rule")
    return parsed


@functools.lru_cache(maxsize=4096)
def _days_of(rule: str, first_day: date, year: int) -> tuple[date, ...]:
    """A rule's dates in one year (an expansion runs from the first day on, so it is done once a year)."""
    # The rule runs on naive local dates (its times carry no meaning; the market's hours do).
    start, end = datetime.combine(date(year, 1, 1), time()), datetime.combine(date(year, 12, 31), time())
    found = recurrence(rule, first_day).between(start, end, inc=True)
    return tuple(d.date() for d in found)


@dataclass(frozen=True)
class Market:
    """A recurring market at a venue: its dates come from `rule` (RRULE) from `first_day` on."""

    street: str
    code: str
    name: str
    venue: str
    rule: str
    first_day: date
    opens: time
    closes: time
    booking_days: int = 31  # a session can be booked this many days ahead

    def __post_init__(self) -> None:
        if self.closes <= self.opens:
            raise InvalidInput("结束时间应晚于开始时间", market=self.code, field="closes")
        if not 0 <= self.booking_days <= 366:
            raise InvalidInput("提前预约天数应在 0 到 366 之间", market=self.code, field="booking_days")
        recurrence(self.rule, self.first_day)

    def _session(self, day: date) -> Session:
        return Session(
            self.code,
            day,
            datetime.combine(day, self.opens, SHANGHAI),
            datetime.combine(day, self.closes, SHANGHAI),
        )

    def sessions_between(self, first: date, last: date) -> list[Session]:
        """The sessions on local dates first..last (both included)."""
        years = range(first.year, last.year + 1)
        days = (d for year in years for d in _days_of(self.rule, self.first_day, year))
        return [self._session(d) for d in days if first <= d <= last]

    def session_on(self, day: date) -> Session | None:
        found = self.sessions_between(day, day)
        return found[0] if found else None

    def next_sessions(self, now: datetime, count: int) -> list[Session]:
        """The next `count` sessions not yet over at `now` (today's, while it lasts, first)."""
        today = local_date(now)
        found = [
            s for s in self.sessions_between(today, today + timedelta(days=HORIZON_DAYS)) if s.ends_at > now
        ]
        return found[:count]

    def opens_for_booking(self, session: Session, now: datetime) -> bool:
        return session.day <= local_date(now) + timedelta(days=self.booking_days)


@dataclass(frozen=True)
class Stall:
    """A stall of a market: a series of the menu, run by an organisation, at every session of the market.

    Slot stalls take `capacity` people per slot of `slot_minutes`; queue stalls give out `capacity`
    numbers per session."""

    street: str
    code: str
    market: str
    series: str
    org: str
    name: str
    mode: BookingMode
    capacity: int
    slot_minutes: int = 0
    topics: tuple[str, ...] = ()  # what residents may ask about here (咨询事项), counted by the center

    def __post_init__(self) -> None:
        if not 1 <= self.capacity <= 500:
            raise InvalidInput("名额应在 1 到 500 之间", stall=self.code)
        if self.mode is BookingMode.SLOT and not 5 <= self.slot_minutes <= 240:
            raise InvalidInput("预约时段应为 5 到 240 分钟", stall=self.code)

    def slots(self, session: Session) -> list[datetime]:
        if self.mode is not BookingMode.SLOT:
            return []
        step = timedelta(minutes=self.slot_minutes)
        out: list[datetime] = []
        at = session.starts_at
        while at + step <= session.ends_at:
            out.append(at)
            at += step
        return out


@dataclass
class Booking:
    """A resident's booking at a stall for one session: a slot or a queue number."""

    street: str
    code: str  # the resident's key to look the booking up or cancel it (a random string)
    stall: str
    market: str
    day: date
    name: str
    phone: str
    created_at: datetime
    status: BookingStatus = BookingStatus.BOOKED
    slot_at: datetime | None = None
    number: int | None = None  # the queue number (queue stalls)
    topic: str = ""
    source: str = "resident"  # resident (booked online), register (imported from a paper register)
    attended_at: datetime | None = None
    cancelled_at: datetime | None = None
    id: int | None = None

    @property
    def active(self) -> bool:
        return self.status is not BookingStatus.CANCELLED

    def attend(self, at: datetime) -> None:
        if self.status is not BookingStatus.BOOKED:
            raise IllegalTransition(
                f"预约当前状态为「{self.status.label}」，不能签到", status=self.status.value
            )
        if local_date(at) != self.day:
            raise IllegalTransition("只能在集市当天签到", day=self.day.isoformat())
        self.status, self.attended_at = BookingStatus.ATTENDED, at

    def cancel(self, at: datetime, session: Session) -> None:
        if self.status is not BookingStatus.BOOKED:
            raise IllegalTransition(
                f"预约当前状态为「{self.status.label}」，不能取消", status=self.status.value
            )
        if at >= (self.slot_at or session.ends_at):
            raise IllegalTransition("服务时间已到，不能再取消", day=self.day.isoformat())
        self.status, self.cancelled_at = BookingStatus.CANCELLED, at


@dataclass(frozen=True)
class BookingRules:
    per_session: int = 3  # active bookings one resident (phone) may hold in one session of a market


def book(
    *,
    stall: Stall,
    market: Market,
    session: Session,
    slot_at: datetime | None,
    name: str,
    phone: str,
    topic: str,
    now: datetime,
    taken: Sequence[Booking],
    mine: Sequence[Booking],
    code: str,
    rules: BookingRules = BookingRules(),
) -> Booking:
    """A new booking, or the reason it is refused. `taken`: the stall's bookings for the session (any
    status); `mine`: this phone's bookings at the same session of the market (any status)."""
    name, phone = check_name(name), check_phone(phone)
    topic = _topic(stall, topic)
    if now >= session.ends_at:
        raise InvalidInput("本场集市已结束", code="session_over", day=session.day.isoformat())
    if not market.opens_for_booking(session, now):
        raise InvalidInput(
            f"该场次尚未开放预约（提前 {market.booking_days} 天开放）",
            code="not_open",
            day=session.day.isoformat(),
        )
    held = [b for b in mine if b.active]
    for b in held:
        if b.stall == stall.code:
            raise Conflict(
                f"您已预约本场「{stall.name}」，请勿重复预约", code="already_booked", stall=stall.code
            )
    if len(held) >= rules.per_session:
        raise Conflict(f"每场集市每人最多预约 {rules.per_session} 项", code="too_many_bookings")
    number = None
    if stall.mode is BookingMode.SLOT:
        if slot_at is None:
            raise InvalidInput("请选择预约时段", code="slot_required")
        if slot_at not in stall.slots(session):
            raise InvalidInput("不是本摊位本场的预约时段", code="bad_slot", slot=slot_at.isoformat())
        if slot_at <= now:
            raise InvalidInput("该时段已开始，不能再预约", code="slot_passed")
        if any(b.slot_at == slot_at for b in held):
            raise Conflict("该时段您已预约了其他摊位", code="slot_clash")
        if sum(1 for b in taken if b.active and b.slot_at == slot_at) >= stall.capacity:
            raise Conflict("该时段已约满，请选择其他时段", code="slot_full")
    else:
        if slot_at is not None:
            raise InvalidInput("该摊位现场排队取号，无需选择时段", code="no_slots")
        if sum(1 for b in taken if b.active) >= stall.capacity:
            raise Conflict("本场号源已取完", code="queue_full")
        number = max((b.number or 0 for b in taken), default=0) + 1  # numbers are never given twice
    return Booking(
        stall.street,
        code,
        stall.code,
        market.code,
        session.day,
        name,
        phone,
        now,
        slot_at=slot_at,
        number=number,
        topic=topic,
    )


def _topic(stall: Stall, topic: str) -> str:
    topic = topic.strip()
    if len(topic) > MAX_TOPIC:
        raise InvalidInput(f"咨询事项不能超过 {MAX_TOPIC} 个字", field="topic")
    if topic and stall.topics and topic not in stall.topics:
        raise InvalidInput(f"咨询事项应为{'、'.join(stall.topics)}之一", field="topic")
    return topic


# --- figures ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Demand:
    """How much one series, stall or topic was asked for: bookings (not cancelled) and who came."""

    code: str
    label: str
    booked: int
    attended: int

    @property
    def rate(self) -> float | None:
        return self.attended / self.booked if self.booked else None


@dataclass(frozen=True)
class MarketFigures:
    booked: int  # bookings not cancelled
    attended: int
    cancelled: int
    by_series: tuple[Demand, ...]  # most asked first
    by_stall: tuple[Demand, ...]
    topics: tuple[Demand, ...]

    @property
    def attendance_rate(self) -> float | None:
        return self.attended / self.booked if self.booked else None


def market_figures(
    bookings: Iterable[Booking], stalls: Mapping[str, Stall], series: Mapping[str, ServiceSeries]
) -> MarketFigures:
    booked: Counter[str] = Counter()
    came: Counter[str] = Counter()
    cancelled = 0
    for b in bookings:
        if not b.active:
            cancelled += 1
            continue
        stall = stalls.get(b.stall)
        keys = [f"stall:{b.stall}", f"series:{stall.series if stall else '?'}"]
        if b.topic:
            keys.append(f"topic:{b.topic}")
        for key in keys:
            booked[key] += 1
            if b.status is BookingStatus.ATTENDED:
                came[key] += 1

    def demand(prefix: str, label: Callable[[str], str]) -> tuple[Demand, ...]:
        found = [
            Demand(key.split(":", 1)[1], label(key.split(":", 1)[1]), n, came[key])
            for key, n in booked.items()
            if key.startswith(prefix)
        ]
        return tuple(sorted(found, key=lambda d: (-d.booked, d.code)))

    total = sum(n for key, n in booked.items() if key.startswith("stall:"))
    attended = sum(n for key, n in came.items() if key.startswith("stall:"))
    return MarketFigures(
        total,
        attended,
        cancelled,
        demand("series:", lambda c: series[c].name if c in series else c),
        demand("stall:", lambda c: stalls[c].name if c in stalls else c),
        demand("topic:", lambda c: c),
    )


# --- import rows ------------------------------------------------------------------------------------


def series_from_rows(rows: Sequence[Mapping[str, str]], street: str) -> list[ServiceSeries]:
    check = Rows()
    out: list[ServiceSeries] = []
    for i, data in enumerate(rows):
        row = row_number(i)
        code = check.code(row, data)
        check.unique(row, "code", code)
        out.append(
            ServiceSeries(
                street,
                code,
                check.text(row, data, "name", limit=40),
                check.text(row, data, "zone", required=False, limit=40),
                check.text(row, data, "description", required=False, limit=500),
                i,
            )
        )
    check.check("服务菜单")
    return out


def venues_from_rows(rows: Sequence[Mapping[str, str]], street: str, places: Iterable[str]) -> list[Venue]:
    check = Rows()
    known = set(places)
    out: list[Venue] = []
    for i, data in enumerate(rows):
        row = row_number(i)
        code = check.code(row, data)
        check.unique(row, "code", code)
        place = check.text(row, data, "place", required=False, limit=64)
        if place and place not in known:
            check.fail(row, "place", f"地点 {place} 不存在")
        out.append(
            Venue(
                street,
                code,
                check.text(row, data, "name"),
                check.choice(row, data, "level", VenueLevel),
                check.text(row, data, "address", required=False),
                place,
            )
        )
    check.check("服务阵地表")
    return out


def markets_from_rows(rows: Sequence[Mapping[str, str]], street: str, venues: Iterable[str]) -> list[Market]:
    check = Rows()
    known = set(venues)
    out: list[Market] = []
    for i, data in enumerate(rows):
        row = row_number(i)
        code = check.code(row, data)
        check.unique(row, "code", code)
        name = check.text(row, data, "name")
        venue = check.known(row, data, "venue", known, "服务阵地")
        rule = check.text(row, data, "rule", required=False, limit=200) or DEFAULT_RULE
        first_day = check.day(row, data, "first_day")
        opens, closes = check.clock(row, data, "opens"), check.clock(row, data, "closes")
        booking_days = check.integer(row, data, "booking_days", 0, 366, default=31)
        if first_day is None or opens is None or closes is None:
            try:  # still name a bad rule, checked from an arbitrary first day
                recurrence(rule, first_day or date(2026, 1, 1))
            except InvalidInput as exc:
                check.fail(row, "rule", exc.message)
            continue
        try:
            out.append(Market(street, code, name, venue, rule, first_day, opens, closes, booking_days))
        except InvalidInput as exc:
            check.fail(row, str(exc.details.get("field", "rule")), exc.message)
    check.check("集市表")
    return out


def stalls_from_rows(
    rows: Sequence[Mapping[str, str]],
    street: str,
    markets: Iterable[str],
    series: Iterable[str],
    orgs: Iterable[str],
) -> list[Stall]:
    check = Rows()
    known_markets, known_series, known_orgs = set(markets), set(series), set(orgs)
    out: list[Stall] = []
    for i, data in enumerate(rows):
        row = row_number(i)
        code = check.code(row, data)
        check.unique(row, "code", code)
        market = check.known(row, data, "market", known_markets, "集市")
        kind = check.known(row, data, "series", known_series, "服务系列")
        org = check.known(row, data, "org", known_orgs, "驻区单位")
        name = check.text(row, data, "name")
        mode = check.choice(row, data, "mode", BookingMode, BookingMode.SLOT)
        capacity = check.integer(row, data, "capacity", 1, 500)
        minutes = check.integer(row, data, "slot_minutes", 0, 240, default=0)
        if mode is BookingMode.SLOT and not 5 <= minutes <= 240:
            check.fail(row, "slot_minutes", "预约时段摊位须给出 5 到 240 分钟的时段长度")
            continue
        topics = check.codes(row, data, "topics")
        if any(len(t) > MAX_TOPIC for t in topics):
            check.fail(row, "topics", f"每个咨询事项不能超过 {MAX_TOPIC} 个字")
        if not 1 <= capacity <= 500:
            continue
        out.append(Stall(street, code, market, kind, org, name, mode, capacity, minutes, topics))
    check.check("摊位表")
    return out


def register_from_rows(
    rows: Sequence[Mapping[str, str]],
    stalls: Mapping[str, Stall],
    markets: Mapping[str, Market],
    existing: Sequence[Booking],
    new_code: Callable[[], str],
    now: datetime,
) -> list[Booking]:
    """Bookings from a paper register (现场登记台账) of past or coming sessions: the stall, a session of
    its market, a slot of its grid, within its capacity, one per resident and stall and session."""
    check = Rows()
    out: list[Booking] = []
    held: dict[tuple[str, date], list[Booking]] = {}
    for b in existing:
        held.setdefault((b.stall, b.day), []).append(b)
    for i, data in enumerate(rows):
        row = row_number(i)
        stall = stalls.get(check.known(row, data, "stall", stalls, "摊位"))
        day = check.day(row, data, "day")
        slot_text = (data.get("slot") or "").strip()
        name = check.text(row, data, "name", limit=20)
        phone = check.phone(row, data)
        topic = check.text(row, data, "topic", required=False, limit=MAX_TOPIC)
        status = check.choice(row, data, "status", BookingStatus, BookingStatus.ATTENDED)
        if stall is None or day is None or not name or not phone:
            continue
        session = markets[stall.market].session_on(day)
        if session is None:
            check.fail(row, "day", f"{day.isoformat()} 不是「{markets[stall.market].name}」的集市日期")
            continue
        if topic and stall.topics and topic not in stall.topics:
            check.fail(row, "topic", f"咨询事项应为{'、'.join(stall.topics)}之一")
        slot_at = None
        if stall.mode is BookingMode.SLOT:
            slot = check.clock(row, {"slot": slot_text}, "slot")
            if slot is None:
                continue
            slot_at = datetime.combine(day, slot, SHANGHAI)
            if slot_at not in stall.slots(session):
                check.fail(row, "slot", f"{slot_text} 不是本摊位的预约时段")
                continue
        same = held.setdefault((stall.code, day), [])
        if status is not BookingStatus.CANCELLED:
            if any(b.phone == phone and b.active for b in same):
                check.fail(row, "phone", "同一居民在同一场次同一摊位只能有一条预约")
                continue
            if sum(1 for b in same if b.active and b.slot_at == slot_at) >= stall.capacity:
                check.fail(row, "slot" if slot_at else "stall", "超出该摊位的名额")
                continue
        booking = Booking(
            stall.street,
            new_code(),
            stall.code,
            stall.market,
            day,
            name,
            phone,
            min(now, session.starts_at),
            status,
            slot_at,
            None if slot_at else max((b.number or 0 for b in same), default=0) + 1,
            topic,
            "register",
            session.starts_at if status is BookingStatus.ATTENDED else None,
            session.starts_at if status is BookingStatus.CANCELLED else None,
        )
        same.append(booking)
        out.append(booking)
    check.check("集市登记台账")
    return out

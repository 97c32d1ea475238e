"""API shapes of the community programs (pydantic, at the edge only). Times leave in Shanghai local time;
residents' names and phones leave masked unless the caller runs the programs."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from chengyun.api.schemas import Strict
from chengyun.domain.calendar import local
from chengyun.domain.community.jobs import Application, ApplicationStatus, SpecialArea
from chengyun.domain.community.market import (
    Booking,
    BookingMode,
    BookingStatus,
    Demand,
    Market,
    MarketFigures,
    Session,
    Venue,
)
from chengyun.domain.community.partygrid import PartyLevel
from chengyun.domain.community.renovation import Circle, HouseholdStatus, Milestone, Progress, SigningFigures
from chengyun.domain.community.volunteers import SignupStatus
from chengyun.domain.orders import mask_name, mask_phone
from chengyun.domain.places import PlaceKind

Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")]
Name = Annotated[str, Field(min_length=1, max_length=20)]
Phone = Annotated[str, Field(min_length=5, max_length=20)]
Note = Annotated[str, Field(max_length=500)]
StreetCode = Annotated[str, Field(min_length=1, max_length=40)]
# A day and a local time a person types in: bounded so the calendar arithmetic stays sane.
Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2200, 12, 31))]


# --- residents ---------------------------------------------------------------------------------------


class BookingIn(Strict):
    street: StreetCode | None = Field(None, description="街道编码；本系统只有一个街道时可省略")
    stall: Code
    day: Day = Field(description="集市日期（本地日期）")
    slot: time | None = Field(None, description="预约时段开始时间（本地 HH:MM）；排队取号的摊位不填")
    name: Name
    phone: Phone
    topic: str = Field("", max_length=30, description="想咨询的事项（摊位给出的选项之一）")


class SignupIn(Strict):
    street: StreetCode | None = None
    shift: Code
    name: Name
    phone: Phone


class ApplicationIn(Strict):
    street: StreetCode | None = None
    post: Code
    name: Name
    phone: Phone


class SeriesOut(BaseModel):
    code: str
    name: str
    zone: str


class SessionOut(BaseModel):
    market: str
    market_name: str
    venue: str
    venue_name: str
    venue_level: str
    address: str
    day: date
    starts_at: datetime
    ends_at: datetime
    stalls: int

    @staticmethod
    def fields(market: Market, venue: Venue | None, session: Session, stalls: int) -> dict[str, Any]:
        """The fields of a session (for this model and those extending it)."""
        return {
            "market": market.code,
            "market_name": market.name,
            "venue": market.venue,
            "venue_name": venue.name if venue else market.venue,
            "venue_level": venue.level.label if venue else "",
            "address": venue.address if venue else "",
            "day": session.day,
            "starts_at": local(session.starts_at),
            "ends_at": local(session.ends_at),
            "stalls": stalls,
        }


class MarketsOut(BaseModel):
    street: str
    series: list[SeriesOut]
    sessions: list[SessionOut] = Field(description="各集市接下来的场次，按时间先后")


class SlotOut(BaseModel):
    at: str = Field(description="时段开始（本地 HH:MM）")
    left: int


class StallBoardOut(BaseModel):
    code: str
    name: str
    series: str
    org: str
    mode: BookingMode
    mode_label: str
    capacity: int
    slot_minutes: int
    topics: list[str]
    left: int
    slots: list[SlotOut]


class SessionBoardOut(SessionOut):
    bookable: bool = Field(description="现在能否预约（已开放且未结束）")
    board: list[StallBoardOut]


class BookingOut(BaseModel):
    """A booking as its resident (by its code) or a stall holder sees it: name and phone masked."""

    code: str
    stall: str
    stall_name: str
    market: str
    market_name: str
    address: str
    day: date
    slot: str | None = Field(description="预约时段（本地 HH:MM）")
    number: int | None = Field(description="排队号")
    topic: str
    status: BookingStatus
    status_label: str
    name: str
    phone: str


class StaffBookingOut(BaseModel):
    id: int
    stall: str
    stall_name: str
    market: str
    day: date
    slot: str | None
    number: int | None
    topic: str
    status: BookingStatus
    status_label: str
    name: str
    phone: str
    source: str
    created_at: datetime
    attended_at: datetime | None


class ShiftOut(BaseModel):
    code: str
    project: str
    project_name: str
    org: str
    description: str
    starts_at: datetime
    ends_at: datetime
    place: str
    capacity: int
    left: int


class ShiftsOut(BaseModel):
    street: str
    shifts: list[ShiftOut]


class SignupOut(BaseModel):
    code: str
    shift: str
    project_name: str
    starts_at: datetime
    ends_at: datetime
    place: str
    status: SignupStatus
    status_label: str
    name: str
    phone: str
    hours: float = Field(description="本次服务时长（小时）")
    total_hours: float = Field(description="该志愿者在本街道的累计服务时长（小时）")


class StaffSignupOut(BaseModel):
    id: int
    shift: str
    name: str
    phone: str
    status: SignupStatus
    status_label: str
    checked_in_at: datetime | None
    checked_out_at: datetime | None


class VolunteerHoursOut(BaseModel):
    name: str
    phone: str
    hours: float
    shifts: int


class FairOut(BaseModel):
    code: str
    name: str
    starts_at: datetime
    ends_at: datetime


class PostOut(BaseModel):
    code: str
    fair: str
    title: str
    employer: str
    employer_name: str
    sector: str
    openings: int
    special: SpecialArea
    special_label: str
    salary: str
    requirements: str
    applications: int
    hired: int


class PostsOut(BaseModel):
    street: str
    fairs: list[FairOut]
    posts: list[PostOut]


class ApplicationOut(BaseModel):
    code: str
    post: PostOut
    status: ApplicationStatus
    status_label: str
    name: str
    phone: str
    note: str


class StaffApplicationOut(BaseModel):
    id: int
    post: str
    fair: str
    name: str
    phone: str
    status: ApplicationStatus
    status_label: str
    note: str
    created_at: datetime


class ApplicationMove(Strict):
    status: ApplicationStatus
    note: Note = ""


# --- figures --------------------------------------------------------------------------------------------


class DemandOut(BaseModel):
    code: str
    label: str
    booked: int
    attended: int


class MarketFiguresOut(BaseModel):
    since: date
    until: date
    booked: int
    attended: int
    cancelled: int
    attendance_rate: float | None
    by_series: list[DemandOut] = Field(description="各服务系列的预约与到场，需求最多的在前")
    by_stall: list[DemandOut]
    topics: list[DemandOut] = Field(description="居民最常咨询的事项")

    @classmethod
    def of(cls, since: date, until: date, f: MarketFigures) -> MarketFiguresOut:
        return cls(
            since=since,
            until=until,
            booked=f.booked,
            attended=f.attended,
            cancelled=f.cancelled,
            attendance_rate=f.attendance_rate,
            by_series=[demand(d) for d in f.by_series],
            by_stall=[demand(d) for d in f.by_stall],
            topics=[demand(d) for d in f.topics],
        )


def demand(d: Demand) -> DemandOut:
    return DemandOut(code=d.code, label=d.label, booked=d.booked, attended=d.attended)


class SectorOut(BaseModel):
    sector: str
    employers: int
    posts: int
    openings: int
    applications: int
    hired: int


class SpecialOut(BaseModel):
    special: SpecialArea
    label: str
    posts: int
    openings: int
    applications: int


class FairFiguresOut(BaseModel):
    employers: int
    posts: int
    openings: int
    applications: int
    interviews: int
    offered: int
    hired: int
    by_sector: list[SectorOut]
    by_special: list[SpecialOut]


class SigningOut(BaseModel):
    households: int
    consulted: int
    signed: int
    declined: int
    pending: int
    rate: float = Field(description="签约率：已签约户数 / 总户数")
    consulted_rate: float = Field(description="征询率：已征询（含已签约、暂不同意）户数 / 总户数")

    @classmethod
    def of(cls, s: SigningFigures) -> SigningOut:
        return cls(
            households=s.households,
            consulted=s.consulted,
            signed=s.signed,
            declined=s.declined,
            pending=s.pending,
            rate=s.rate,
            consulted_rate=s.consulted_rate,
        )


class MilestoneOut(BaseModel):
    milestone: Milestone
    label: str
    planned: date | None
    done: date | None


class ProjectOut(BaseModel):
    code: str
    name: str
    area: str
    buildings: list[str]
    threshold: float
    description: str
    signing: SigningOut
    milestones: list[MilestoneOut]
    stage: Milestone | None = Field(description="当前进行中的节点；全部完成时为空")
    stage_label: str
    completion: float = Field(description="完成度：已完成节点 / 5")
    completed: bool

    @staticmethod
    def stage_of(progress: Progress) -> tuple[Milestone | None, str]:
        return progress.next, progress.next.label if progress.next else "已竣工"


class HouseholdOut(BaseModel):
    code: str
    building: str
    room: str
    head: str
    phone: str
    status: HouseholdStatus
    status_label: str
    consulted_on: date | None
    signed_on: date | None
    note: str


class BuildingSigningOut(SigningOut):
    building: str
    name: str


class ParticipantOut(BaseModel):
    name: str
    circle: Circle
    circle_label: str
    role: str
    org: str


class ProjectDetailOut(ProjectOut):
    by_building: list[BuildingSigningOut]
    households: list[HouseholdOut]
    people: list[ParticipantOut]


class HouseholdAction(Strict):
    action: Literal["consult", "sign", "decline"] = Field(
        description="consult 征询 / sign 签约 / decline 暂不同意"
    )
    on: Day | None = Field(None, description="日期（默认今天）")
    note: Note = ""


class MilestoneDone(Strict):
    on: Day | None = Field(None, description="完成日期（默认今天）")


class MemberOut(BaseModel):
    code: str
    name: str
    post: str
    leads: bool
    duties: str
    phone: str


class UnitOut(BaseModel):
    code: str
    name: str
    level: PartyLevel
    level_label: str
    parent: str
    places: list[str]
    members: list[MemberOut]


class PartyGridOut(BaseModel):
    units: list[UnitOut]


class ChainOut(BaseModel):
    unit: str
    unit_name: str
    level: PartyLevel
    level_label: str
    leader: MemberOut | None


class ResponsibleOut(BaseModel):
    building: str
    building_name: str
    address: str
    matched: str
    covered_by: PlaceKind = Field(description="按哪一级地点找到的责任组织：building、grid、area 或 street")
    unit: str
    unit_name: str
    level: PartyLevel
    level_label: str
    leader: MemberOut | None = Field(description="责任人：该组织的负责人")
    chain: list[ChainOut] = Field(description="从该组织向上直到街道党工委")


class AccountIn(Strict):
    org: Code


class AccountOut(BaseModel):
    token: str | None = Field(None, description="摊主令牌（只在签发时返回一次）")
    org: str
    org_name: str


class TodayOut(SessionOut):
    booked: int
    attended: int


class VolunteerSummaryOut(BaseModel):
    projects: int
    volunteers: int
    hours_year: float
    hours_month: float
    shifts_today: int
    top: list[VolunteerHoursOut]


class RenovationSummaryOut(BaseModel):
    code: str
    name: str
    households: int
    signed: int
    signing_rate: float
    threshold: float = Field(description="签约率达到此值方可施工")
    stage: Milestone | None
    stage_label: str
    completion: float
    completed: bool


class SummaryOut(BaseModel):
    """Everything the wall screen's community panel shows."""

    street: str
    today: date
    today_sessions: list[TodayOut]
    next_sessions: list[TodayOut]
    series: int
    venues: int
    stalls: int
    market: MarketFiguresOut
    volunteers: VolunteerSummaryOut
    next_fair: FairOut | None
    jobs: FairFiguresOut = Field(description="本街道所有招聘会合计")
    renovation: list[RenovationSummaryOut]
    next_fair_jobs: FairFiguresOut | None = Field(description="下一场招聘会本场的用人单位、岗位与投递")


def hhmm(at: datetime | None) -> str | None:
    return None if at is None else local(at).strftime("%H:%M")


def staff_booking(b: Booking, stall_name: str, full: bool) -> StaffBookingOut:
    name, phone = (b.name, b.phone) if full else (mask_name(b.name), mask_phone(b.phone))
    return StaffBookingOut(
        id=b.id or 0,
        stall=b.stall,
        stall_name=stall_name,
        market=b.market,
        day=b.day,
        slot=hhmm(b.slot_at),
        number=b.number,
        topic=b.topic,
        status=b.status,
        status_label=b.status.label,
        name=name,
        phone=phone,
        source=b.source,
        created_at=local(b.created_at),
        attended_at=local(b.attended_at) if b.attended_at else None,
    )


def staff_application(a: Application, full: bool) -> StaffApplicationOut:
    name, phone = (a.name, a.phone) if full else (mask_name(a.name), mask_phone(a.phone))
    return StaffApplicationOut(
        id=a.id or 0,
        post=a.post,
        fair=a.fair,
        name=name,
        phone=phone,
        status=a.status,
        status_label=a.status.label,
        note=a.note,
        created_at=local(a.created_at),
    )

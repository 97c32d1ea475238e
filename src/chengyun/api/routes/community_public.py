"""/api/v1/community/public: what residents do without a token. They see the next markets and their
stalls, book a slot or take a queue number, sign up for volunteer shifts and apply for posts; each answer
carries a code that is their key to look the booking up or cancel it. No one's personal data leaves here:
names and phones come back masked. Each client (address) may read and, fewer, write so many times a
minute (api/ratelimit.py)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query

from chengyun.api.deps import CenterDep
from chengyun.api.ratelimit import PUBLIC_RESPONSES
from chengyun.api.schemas import AwareMoment
from chengyun.api.schemas_community import (
    ApplicationIn,
    ApplicationOut,
    BookingIn,
    BookingOut,
    FairOut,
    MarketsOut,
    PostOut,
    PostsOut,
    SeriesOut,
    SessionBoardOut,
    SessionOut,
    ShiftOut,
    ShiftsOut,
    SignupIn,
    SignupOut,
    SlotOut,
    StallBoardOut,
    StreetCode,
    hhmm,
)
from chengyun.bootstrap import Center
from chengyun.domain.calendar import local
from chengyun.domain.community.jobs import Application, JobFair, SpecialArea
from chengyun.domain.community.market import Booking, Market, Session, Stall
from chengyun.domain.orders import mask_name, mask_phone
from chengyun.services.community.jobs import PostView
from chengyun.services.community.market import Menu, SessionBoard
from chengyun.services.community.volunteers import ShiftView, SignupView

router = APIRouter(
    prefix="/api/v1/community/public",
    tags=["社区服务·居民"],
    responses=PUBLIC_RESPONSES,
)

LookupCode = Annotated[str, Path(min_length=1, max_length=64)]
StreetQuery = Annotated[StreetCode | None, Query(description="街道编码；本系统只有一个街道时可省略")]


@router.get("/markets", response_model=MarketsOut, summary="接下来的便民集市")
def markets(center: CenterDep, street: StreetQuery = None) -> MarketsOut:
    street, menu, sessions = center.community.market.upcoming(street)
    counts: dict[str, int] = {}
    for stall in menu.stalls.values():
        counts[stall.market] = counts.get(stall.market, 0) + 1
    position = sorted(menu.series.values(), key=lambda s: s.position)
    return MarketsOut(
        street=street,
        series=[SeriesOut(code=s.code, name=s.name, zone=s.zone) for s in position],
        sessions=[_session(menu, menu.markets[s.market], s, counts.get(s.market, 0)) for s in sessions],
    )


@router.get(
    "/markets/{market}/sessions/{day}", response_model=SessionBoardOut, summary="某场集市的摊位与剩余名额"
)
def session_board(
    market: Annotated[str, Path(min_length=1, max_length=64)],
    day: Annotated[date, Path(ge=date(2000, 1, 1), le=date(2200, 12, 31))],
    center: CenterDep,
    street: StreetQuery = None,
) -> SessionBoardOut:
    board = center.community.market.board(street, market, day)
    return _board(board)


@router.post("/bookings", status_code=201, response_model=BookingOut, summary="预约时段或排队取号")
def book(body: BookingIn, center: CenterDep) -> BookingOut:
    made = center.community.market.book(
        body.street, body.stall, body.day, body.slot, body.name, body.phone, body.topic
    )
    return booking_out(center, made)


@router.get("/bookings/{code}", response_model=BookingOut, summary="凭预约码查看预约")
def get_booking(code: LookupCode, center: CenterDep) -> BookingOut:
    return booking_out(center, center.community.market.booking(code))


@router.post("/bookings/{code}/cancel", response_model=BookingOut, summary="凭预约码取消预约")
def cancel_booking(code: LookupCode, center: CenterDep) -> BookingOut:
    return booking_out(center, center.community.market.cancel(code))


@router.get("/volunteer-shifts", response_model=ShiftsOut, summary="可报名的志愿服务班次")
def shifts(
    center: CenterDep,
    street: StreetQuery = None,
    since: AwareMoment | None = None,
    until: AwareMoment | None = None,
) -> ShiftsOut:
    street, views = center.community.volunteers.shifts(street, since, until)
    return ShiftsOut(street=street, shifts=[shift_out(v) for v in views])


@router.post("/volunteer-signups", status_code=201, response_model=SignupOut, summary="报名志愿服务班次")
def sign_up(body: SignupIn, center: CenterDep) -> SignupOut:
    return _signup(center.community.volunteers.sign_up(body.street, body.shift, body.name, body.phone))


@router.get("/volunteer-signups/{code}", response_model=SignupOut, summary="凭报名码查看报名与服务时长")
def get_signup(code: LookupCode, center: CenterDep) -> SignupOut:
    return _signup(center.community.volunteers.signup(code))


@router.post("/volunteer-signups/{code}/cancel", response_model=SignupOut, summary="凭报名码取消报名")
def cancel_signup(code: LookupCode, center: CenterDep) -> SignupOut:
    return _signup(center.community.volunteers.cancel(code))


@router.get("/job-posts", response_model=PostsOut, summary="招聘会岗位")
def posts(
    center: CenterDep,
    street: StreetQuery = None,
    fair: Annotated[str | None, Query(max_length=64)] = None,
    special: SpecialArea | None = None,
) -> PostsOut:
    street, fairs = center.community.jobs.fairs(street)
    _, views = center.community.jobs.posts(street, fair, special)
    return PostsOut(street=street, fairs=[fair_out(f) for f in fairs], posts=[post_out(v) for v in views])


@router.post("/job-applications", status_code=201, response_model=ApplicationOut, summary="应聘岗位")
def apply(body: ApplicationIn, center: CenterDep) -> ApplicationOut:
    made = center.community.jobs.apply(body.street, body.post, body.name, body.phone)
    return _application(center, made)


@router.get("/job-applications/{code}", response_model=ApplicationOut, summary="凭应聘码查看进展")
def get_application(code: LookupCode, center: CenterDep) -> ApplicationOut:
    found, view = center.community.jobs.application(code)
    return application_out(found, view)


@router.post("/job-applications/{code}/withdraw", response_model=ApplicationOut, summary="凭应聘码撤回应聘")
def withdraw(code: LookupCode, center: CenterDep) -> ApplicationOut:
    found = center.community.jobs.withdraw(code)
    return _application(center, found)


# --- shapes -------------------------------------------------------------------------------------------


def _session(menu: Menu, market: Market, session: Session, stalls: int) -> SessionOut:
    return SessionOut(**SessionOut.fields(market, menu.venues.get(market.venue), session, stalls))


def _board(board: SessionBoard) -> SessionBoardOut:
    return SessionBoardOut(
        **SessionOut.fields(board.market, board.venue, board.session, len(board.stalls)),
        bookable=board.bookable,
        board=[
            StallBoardOut(
                code=s.stall.code,
                name=s.stall.name,
                series=s.series,
                org=s.org,
                mode=s.stall.mode,
                mode_label=s.stall.mode.label,
                capacity=s.stall.capacity,
                slot_minutes=s.stall.slot_minutes,
                topics=list(s.stall.topics),
                left=s.left,
                slots=[SlotOut(at=hhmm(slot.at) or "", left=slot.left) for slot in s.slots],
            )
            for s in board.stalls
        ],
    )


def booking_out(center: Center, b: Booking) -> BookingOut:
    menu = center.community.market.menu(b.street)
    stall: Stall | None = menu.stalls.get(b.stall)
    market = menu.markets.get(b.market)
    venue = menu.venues.get(market.venue) if market else None
    return BookingOut(
        code=b.code,
        stall=b.stall,
        stall_name=stall.name if stall else b.stall,
        market=b.market,
        market_name=market.name if market else b.market,
        address=venue.address if venue else "",
        day=b.day,
        slot=hhmm(b.slot_at),
        number=b.number,
        topic=b.topic,
        status=b.status,
        status_label=b.status.label,
        name=mask_name(b.name),
        phone=mask_phone(b.phone),
    )


def shift_out(v: ShiftView) -> ShiftOut:
    return ShiftOut(
        code=v.shift.code,
        project=v.project.code,
        project_name=v.project.name,
        org=v.org,
        description=v.project.description,
        starts_at=local(v.shift.starts_at),
        ends_at=local(v.shift.ends_at),
        place=v.shift.place,
        capacity=v.shift.capacity,
        left=v.left,
    )


def _signup(v: SignupView) -> SignupOut:
    return SignupOut(
        code=v.signup.code,
        shift=v.shift.code,
        project_name=v.project.name,
        starts_at=local(v.shift.starts_at),
        ends_at=local(v.shift.ends_at),
        place=v.shift.place,
        status=v.signup.status,
        status_label=v.signup.status.label,
        name=mask_name(v.signup.name),
        phone=mask_phone(v.signup.phone),
        hours=round(v.hours, 2),
        total_hours=round(v.total_hours, 2),
    )


def fair_out(f: JobFair) -> FairOut:
    return FairOut(code=f.code, name=f.name, starts_at=local(f.starts_at), ends_at=local(f.ends_at))


def post_out(v: PostView) -> PostOut:
    return PostOut(
        code=v.post.code,
        fair=v.post.fair,
        title=v.post.title,
        employer=v.employer.code,
        employer_name=v.employer.name,
        sector=v.employer.sector,
        openings=v.post.openings,
        special=v.post.special,
        special_label=v.post.special.label,
        salary=v.post.salary,
        requirements=v.post.requirements,
        applications=v.applications,
        hired=v.hired,
    )


def application_out(a: Application, view: PostView) -> ApplicationOut:
    return ApplicationOut(
        code=a.code,
        post=post_out(view),
        status=a.status,
        status_label=a.status.label,
        name=mask_name(a.name),
        phone=mask_phone(a.phone),
        note=a.note,
    )


def _application(center: Center, a: Application) -> ApplicationOut:
    found, view = center.community.jobs.application(a.code)
    return application_out(found, view)

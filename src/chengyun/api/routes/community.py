"""/api/v1/community: the community programs for the street's staff and stall holders: the summary the
wall screen's panel shows, CSV files, stall holders' accounts, bookings and attendance, volunteers'
check-in and hours, job applications, renovation signing and milestones, the party grid."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from chengyun.api.deps import ActorDep, CenterDep, street_of, street_or_only
from chengyun.api.routes.community_public import fair_out
from chengyun.api.routes.directory import CSV, CsvResponse, csv_text
from chengyun.api.schemas import ERROR_RESPONSES, ERROR_RESPONSES_AS_JSON, MAX_ID, AwareMoment, ImportResult
from chengyun.api.schemas_community import (
    AccountIn,
    AccountOut,
    ApplicationMove,
    BuildingSigningOut,
    ChainOut,
    Day,
    FairFiguresOut,
    HouseholdAction,
    HouseholdOut,
    MarketFiguresOut,
    MemberOut,
    MilestoneDone,
    MilestoneOut,
    ParticipantOut,
    PartyGridOut,
    ProjectDetailOut,
    ProjectOut,
    RenovationSummaryOut,
    ResponsibleOut,
    SectorOut,
    SessionOut,
    SigningOut,
    SpecialOut,
    StaffApplicationOut,
    StaffBookingOut,
    StaffSignupOut,
    StreetCode,
    SummaryOut,
    TodayOut,
    UnitOut,
    VolunteerHoursOut,
    VolunteerSummaryOut,
    staff_application,
    staff_booking,
)
from chengyun.bootstrap import Center
from chengyun.domain.access import Actor
from chengyun.domain.calendar import local
from chengyun.domain.community.jobs import ApplicationStatus, FairFigures
from chengyun.domain.community.market import BookingStatus
from chengyun.domain.community.partygrid import PartyMember
from chengyun.domain.community.renovation import Milestone
from chengyun.domain.community.volunteers import Signup, VolunteerHours
from chengyun.domain.orders import mask_name, mask_phone
from chengyun.services.community.common import sees_residents
from chengyun.services.community.imports import ImportKind
from chengyun.services.community.renovation import ProjectView
from chengyun.services.community.service import SessionSummary

router = APIRouter(prefix="/api/v1/community", tags=["社区服务"], responses=ERROR_RESPONSES)

StreetQuery = Annotated[StreetCode | None, Query(description="街道编码；令牌只有一个街道时可省略")]
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
CodePath = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("/summary", response_model=SummaryOut, summary="社区服务概况（大屏面板）")
def summary(center: CenterDep, actor: ActorDep, street: StreetQuery = None) -> SummaryOut:
    s = center.community.summary(actor, street_or_only(center, actor, street))
    return SummaryOut(
        street=s.street,
        today=s.today,
        today_sessions=[_today(x) for x in s.today_sessions],
        next_sessions=[_today(x) for x in s.next_sessions],
        series=s.series,
        venues=s.venues,
        stalls=s.stalls,
        market=MarketFiguresOut.of(s.today.replace(year=s.today.year - 1), s.today, s.market),
        volunteers=VolunteerSummaryOut(
            projects=s.volunteers.projects,
            volunteers=s.volunteers.volunteers,
            hours_year=round(s.volunteers.hours_year, 1),
            hours_month=round(s.volunteers.hours_month, 1),
            shifts_today=s.volunteers.shifts_today,
            top=[_hours(v, full=False) for v in s.volunteers.top],
        ),
        next_fair=fair_out(s.next_fair) if s.next_fair else None,
        jobs=_fair_figures(s.jobs),
        renovation=[
            RenovationSummaryOut(
                code=v.project.code,
                name=v.project.name,
                households=v.signing.households,
                signed=v.signing.signed,
                signing_rate=v.signing.rate,
                threshold=v.project.threshold,
                stage=v.progress.next,
                stage_label=ProjectOut.stage_of(v.progress)[1],
                completion=v.progress.share,
                completed=v.progress.completed,
            )
            for v in s.renovation
        ],
        next_fair_jobs=_fair_figures(s.next_fair_jobs) if s.next_fair_jobs else None,
    )


# --- files and accounts ---------------------------------------------------------------------------------


@router.put(
    "/files/{kind}",
    response_model=ImportResult,
    summary="导入社区服务数据（CSV）",
    description="整个文件逐行校验，有任何错误行则不导入，并逐行说明原因。",
    openapi_extra={"requestBody": CSV},
)
async def import_file(
    kind: ImportKind, request: Request, center: CenterDep, actor: ActorDep, street: StreetQuery = None
) -> ImportResult:
    text = await csv_text(request)
    return ImportResult(
        imported=center.community.files.import_csv(actor, street_of(actor, street), kind, text)
    )


@router.get(
    "/files/{kind}",
    response_class=CsvResponse,
    summary="导出社区服务数据（CSV）",
    responses=ERROR_RESPONSES_AS_JSON,
)
def export_file(
    kind: ImportKind, center: CenterDep, actor: ActorDep, street: StreetQuery = None
) -> CsvResponse:
    return CsvResponse(center.community.files.export_csv(actor, street_of(actor, street), kind))


@router.post("/accounts", status_code=201, response_model=AccountOut, summary="为摊主（服务单位）签发令牌")
def issue_account(
    body: AccountIn, center: CenterDep, actor: ActorDep, street: StreetQuery = None
) -> AccountOut:
    token, org = center.community.issue_account(actor, street_of(actor, street), body.org)
    return AccountOut(token=token, org=org.code, org_name=org.name)


@router.get("/account", response_model=AccountOut, summary="摊主令牌所属的服务单位")
def account(center: CenterDep, actor: ActorDep, street: StreetQuery = None) -> AccountOut:
    org = center.community.account(actor, street_of(actor, street))
    if org is None:
        return AccountOut(org="", org_name="")
    return AccountOut(org=org.code, org_name=org.name)


# --- market ---------------------------------------------------------------------------------------------


@router.get("/bookings", response_model=list[StaffBookingOut], summary="集市预约（摊主只看本单位摊位）")
def bookings(
    center: CenterDep,
    actor: ActorDep,
    street: StreetQuery = None,
    market: Annotated[str | None, Query(max_length=64)] = None,
    stall: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[Day | None, Query(description="起始集市日期（默认今天）")] = None,
    until: Annotated[Day | None, Query(description="截止集市日期（默认同起始日期）")] = None,
    status: BookingStatus | None = None,
) -> list[StaffBookingOut]:
    street = street_of(actor, street)
    found = center.community.market.bookings(
        actor, street, market=market, stall=stall, since=since, until=until, status=status
    )
    stalls = center.community.market.menu(street).stalls
    full = sees_residents(actor)
    _shown(center, actor, street, "bookings", [b.id for b in found])
    return [staff_booking(b, stalls[b.stall].name if b.stall in stalls else b.stall, full) for b in found]


@router.post(
    "/bookings/{booking_id}/attend", response_model=StaffBookingOut, summary="登记到场（签到、叫号）"
)
def attend(booking_id: Id, center: CenterDep, actor: ActorDep, street: StreetQuery = None) -> StaffBookingOut:
    street = street_of(actor, street)
    b = center.community.market.attend(actor, street, booking_id)
    stalls = center.community.market.menu(street).stalls
    _shown(center, actor, street, "bookings", [b.id])
    return staff_booking(b, stalls[b.stall].name if b.stall in stalls else b.stall, sees_residents(actor))


@router.get("/market-figures", response_model=MarketFiguresOut, summary="集市到场率与需求排行")
def market_figures(
    center: CenterDep,
    actor: ActorDep,
    street: StreetQuery = None,
    since: Day | None = None,
    until: Day | None = None,
    market: Annotated[str | None, Query(max_length=64)] = None,
) -> MarketFiguresOut:
    since, until, figures = center.community.market.figures(
        actor, street_of(actor, street), since, until, market
    )
    return MarketFiguresOut.of(since, until, figures)


# --- volunteers -----------------------------------------------------------------------------------------


@router.get("/volunteer-shifts/{shift}/signups", response_model=list[StaffSignupOut], summary="班次报名名单")
def signups(
    shift: CodePath, center: CenterDep, actor: ActorDep, street: StreetQuery = None
) -> list[StaffSignupOut]:
    street = street_of(actor, street)
    found = center.community.volunteers.signups(actor, street, shift)
    _shown(center, actor, street, "signups", [s.id for s in found])
    return [_signup(s) for s in found]


@router.post("/volunteer-signups/{signup_id}/check-in", response_model=StaffSignupOut, summary="志愿者签到")
def check_in(signup_id: Id, center: CenterDep, actor: ActorDep, street: StreetQuery = None) -> StaffSignupOut:
    street = street_of(actor, street)
    done = center.community.volunteers.check_in(actor, street, signup_id)
    _shown(center, actor, street, "signups", [signup_id])
    return _signup(done)


@router.post("/volunteer-signups/{signup_id}/check-out", response_model=StaffSignupOut, summary="志愿者签退")
def check_out(
    signup_id: Id, center: CenterDep, actor: ActorDep, street: StreetQuery = None
) -> StaffSignupOut:
    street = street_of(actor, street)
    done = center.community.volunteers.check_out(actor, street, signup_id)
    _shown(center, actor, street, "signups", [signup_id])
    return _signup(done)


@router.get("/volunteer-hours", response_model=list[VolunteerHoursOut], summary="志愿者服务时长排行")
def volunteer_hours(
    center: CenterDep,
    actor: ActorDep,
    street: StreetQuery = None,
    since: AwareMoment | None = None,
    until: AwareMoment | None = None,
) -> list[VolunteerHoursOut]:
    street = street_of(actor, street)
    found = center.community.volunteers.hours(actor, street, since, until)
    _shown(center, actor, street, "volunteers", [v.phone for v in found])
    return [_hours(v, sees_residents(actor)) for v in found]


# --- job fairs ------------------------------------------------------------------------------------------


@router.get(
    "/job-applications", response_model=list[StaffApplicationOut], summary="应聘记录（用人单位只看本单位）"
)
def applications(
    center: CenterDep,
    actor: ActorDep,
    street: StreetQuery = None,
    fair: Annotated[str | None, Query(max_length=64)] = None,
    post: Annotated[str | None, Query(max_length=64)] = None,
    status: ApplicationStatus | None = None,
) -> list[StaffApplicationOut]:
    street = street_of(actor, street)
    found = center.community.jobs.applications(actor, street, fair, post, status)
    _shown(center, actor, street, "applications", [a.id for a in found])
    return [staff_application(a, sees_residents(actor)) for a in found]


@router.post(
    "/job-applications/{application_id}/status", response_model=StaffApplicationOut, summary="更新应聘状态"
)
def move_application(
    application_id: Id, body: ApplicationMove, center: CenterDep, actor: ActorDep, street: StreetQuery = None
) -> StaffApplicationOut:
    street = street_of(actor, street)
    moved = center.community.jobs.move(actor, street, application_id, body.status, body.note)
    _shown(center, actor, street, "applications", [moved.id])
    return staff_application(moved, sees_residents(actor))


@router.get("/job-figures", response_model=FairFiguresOut, summary="招聘会统计（按行业、专区）")
def job_figures(
    center: CenterDep,
    actor: ActorDep,
    street: StreetQuery = None,
    fair: Annotated[str | None, Query(max_length=64)] = None,
) -> FairFiguresOut:
    return _fair_figures(center.community.jobs.figures(actor, street_of(actor, street), fair))


# --- renovation -----------------------------------------------------------------------------------------


@router.get("/renovation/projects", response_model=list[ProjectOut], summary="旧住房成套改造项目")
def projects(center: CenterDep, actor: ActorDep, street: StreetQuery = None) -> list[ProjectOut]:
    return [_project(v) for v in center.community.renovation.projects(actor, street_of(actor, street))]


@router.get("/renovation/projects/{code}", response_model=ProjectDetailOut, summary="改造项目详情")
def project(
    code: CodePath, center: CenterDep, actor: ActorDep, street: StreetQuery = None
) -> ProjectDetailOut:
    street = street_of(actor, street)
    d = center.community.renovation.project(actor, street, code)
    full = sees_residents(actor)
    _shown(center, actor, street, f"households/{code}", [h.code for h in d.households])
    return ProjectDetailOut(
        **_project(d.view).model_dump(),
        by_building=[
            BuildingSigningOut(building=b, name=d.building_names.get(b, b), **SigningOut.of(f).model_dump())
            for b, f in d.by_building.items()
        ],
        households=[
            HouseholdOut(
                code=h.code,
                building=h.building,
                room=h.room,
                head=h.head if full else mask_name(h.head),
                phone=h.phone if full else mask_phone(h.phone),
                status=h.status,
                status_label=h.status.label,
                consulted_on=h.consulted_on,
                signed_on=h.signed_on,
                note=h.note if full else "",
            )
            for h in d.households
        ],
        people=[
            ParticipantOut(name=p.name, circle=p.circle, circle_label=p.circle.label, role=p.role, org=p.org)
            for p in d.people
        ],
    )


@router.post(
    "/renovation/projects/{code}/households/{household}",
    response_model=HouseholdOut,
    summary="登记居民户征询、签约或暂不同意",
)
def household(
    code: CodePath,
    household: CodePath,
    body: HouseholdAction,
    center: CenterDep,
    actor: ActorDep,
    street: StreetQuery = None,
) -> HouseholdOut:
    street = street_of(actor, street)
    h = center.community.renovation.household(actor, street, code, household, body.action, body.on, body.note)
    _shown(center, actor, street, f"households/{code}", [h.code])
    return HouseholdOut(
        code=h.code,
        building=h.building,
        room=h.room,
        head=h.head,
        phone=h.phone,
        status=h.status,
        status_label=h.status.label,
        consulted_on=h.consulted_on,
        signed_on=h.signed_on,
        note=h.note,
    )


@router.post(
    "/renovation/projects/{code}/milestones/{milestone}",
    response_model=ProjectOut,
    summary="登记改造节点完成",
)
def milestone_done(
    code: CodePath,
    milestone: Milestone,
    body: MilestoneDone,
    center: CenterDep,
    actor: ActorDep,
    street: StreetQuery = None,
) -> ProjectOut:
    view = center.community.renovation.complete_milestone(
        actor, street_of(actor, street), code, milestone, body.on
    )
    return _project(view)


# --- party grid -----------------------------------------------------------------------------------------


@router.get("/party/units", response_model=PartyGridOut, summary="党建网格：四级组织与党员")
def party_units(center: CenterDep, actor: ActorDep, street: StreetQuery = None) -> PartyGridOut:
    street = street_of(actor, street)
    units, members = center.community.party.grid(actor, street)
    _shown(center, actor, street, "party", [m.code for m in members])
    by_unit: dict[str, list[PartyMember]] = {}
    for m in members:
        by_unit.setdefault(m.unit, []).append(m)
    return PartyGridOut(
        units=[
            UnitOut(
                code=u.code,
                name=u.name,
                level=u.level,
                level_label=u.level.label,
                parent=u.parent,
                places=list(u.places),
                members=[_member(m, actor) for m in by_unit.get(u.code, [])],
            )
            for u in units
        ]
    )


@router.get("/party/responsible", response_model=ResponsibleOut, summary="这栋楼由谁负责")
def responsible(
    center: CenterDep,
    actor: ActorDep,
    street: StreetQuery = None,
    building: Annotated[str | None, Query(max_length=64, description="楼栋编码")] = None,
    address: Annotated[str | None, Query(max_length=200, description="或楼栋地址，如 愚园路608弄6号")] = None,
) -> ResponsibleOut:
    street = street_of(actor, street)
    answer = center.community.party.responsible(actor, street, building, address)
    r = answer.responsible
    leaders = [m for m in (r.leader, *(m for _, m in r.chain)) if m is not None]
    _shown(center, actor, street, "party", sorted({m.code for m in leaders}))
    return ResponsibleOut(
        building=answer.building.code,
        building_name=answer.building.name,
        address=str(answer.building.props.get("address") or answer.building.name),
        matched=answer.matched,
        covered_by=r.covered_by,
        unit=r.unit.code,
        unit_name=r.unit.name,
        level=r.unit.level,
        level_label=r.unit.level.label,
        leader=_member(r.leader, actor) if r.leader else None,
        chain=[
            ChainOut(
                unit=u.code,
                unit_name=u.name,
                level=u.level,
                level_label=u.level.label,
                leader=_member(m, actor) if m else None,
            )
            for u, m in r.chain
        ],
    )


# --- shapes -------------------------------------------------------------------------------------------


def _today(s: SessionSummary) -> TodayOut:
    return TodayOut(
        **SessionOut.fields(s.market, s.venue, s.session, s.stalls), booked=s.booked, attended=s.attended
    )


def _hours(v: VolunteerHours, full: bool) -> VolunteerHoursOut:
    name, phone = (v.name, v.phone) if full else (mask_name(v.name), mask_phone(v.phone))
    return VolunteerHoursOut(name=name, phone=phone, hours=round(v.hours, 2), shifts=v.shifts)


def _signup(s: Signup) -> StaffSignupOut:
    return StaffSignupOut(
        id=s.id or 0,
        shift=s.shift,
        name=s.name,
        phone=s.phone,
        status=s.status,
        status_label=s.status.label,
        checked_in_at=local(s.checked_in_at) if s.checked_in_at else None,
        checked_out_at=local(s.checked_out_at) if s.checked_out_at else None,
    )


def _fair_figures(f: FairFigures) -> FairFiguresOut:
    return FairFiguresOut(
        employers=f.employers,
        posts=f.posts,
        openings=f.openings,
        applications=f.applications,
        interviews=f.interviews,
        offered=f.offered,
        hired=f.hired,
        by_sector=[
            SectorOut(
                sector=s.sector,
                employers=s.employers,
                posts=s.posts,
                openings=s.openings,
                applications=s.applications,
                hired=s.hired,
            )
            for s in f.by_sector
        ],
        by_special=[
            SpecialOut(
                special=s.special,
                label=s.special.label,
                posts=s.posts,
                openings=s.openings,
                applications=s.applications,
            )
            for s in f.by_special
        ],
    )


def _project(v: ProjectView) -> ProjectOut:
    stage, label = ProjectOut.stage_of(v.progress)
    return ProjectOut(
        code=v.project.code,
        name=v.project.name,
        area=v.project.area,
        buildings=list(v.project.buildings),
        threshold=v.project.threshold,
        description=v.project.description,
        signing=SigningOut.of(v.signing),
        milestones=[
            MilestoneOut(milestone=r.milestone, label=r.milestone.label, planned=r.planned, done=r.done)
            for r in v.milestones
        ],
        stage=stage,
        stage_label=label,
        completion=v.progress.share,
        completed=v.progress.completed,
    )


def _shown(center: Center, actor: Actor, street: str, what: str, ids: Sequence[object]) -> None:
    """The audit entry for residents' names and phones shown in full (to the programs' staff only)."""
    if sees_residents(actor):
        center.audit.residents_viewed(actor, street, what, ids)


def _member(m: PartyMember, actor: Actor) -> MemberOut:
    phone = m.phone if sees_residents(actor) else mask_phone(m.phone)
    return MemberOut(code=m.code, name=m.name, post=m.post, leads=m.leads, duties=m.duties, phone=phone)

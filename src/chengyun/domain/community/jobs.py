"""Job fairs (现场招聘): local employers, their posts (with special areas for women, graduates and
veterans), residents' applications and their status, and the fair's figures by sector."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from chengyun.domain.community.orgs import Organisation
from chengyun.domain.community.rows import Rows, check_name, check_phone, row_number
from chengyun.domain.errors import Conflict, IllegalTransition, InvalidInput

FAIR_COLUMNS = ("code", "name", "venue", "starts_at", "ends_at", "market")
POST_COLUMNS = ("code", "fair", "employer", "title", "openings", "special", "salary", "requirements")
MAX_NOTE = 500


class SpecialArea(StrEnum):
    GENERAL = "general"
    WOMEN = "women"
    GRADUATES = "graduates"
    VETERANS = "veterans"

    @property
    def label(self) -> str:
        return {
            SpecialArea.GENERAL: "综合招聘",
            SpecialArea.WOMEN: "女性专区",
            SpecialArea.GRADUATES: "高校毕业生专场",
            SpecialArea.VETERANS: "退役军人专场",
        }[self]


class ApplicationStatus(StrEnum):
    SUBMITTED = "submitted"
    INTERVIEW = "interview"
    OFFERED = "offered"
    HIRED = "hired"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return {
            ApplicationStatus.SUBMITTED: "已投递",
            ApplicationStatus.INTERVIEW: "邀请面试",
            ApplicationStatus.OFFERED: "拟录用",
            ApplicationStatus.HIRED: "已入职",
            ApplicationStatus.REJECTED: "未录用",
            ApplicationStatus.WITHDRAWN: "已撤回",
        }[self]


# Who may move an application where: the employer (or the center) decides, the applicant withdraws.
MOVES: dict[ApplicationStatus, frozenset[ApplicationStatus]] = {
    ApplicationStatus.SUBMITTED: frozenset(
        {
            ApplicationStatus.INTERVIEW,
            ApplicationStatus.OFFERED,
            ApplicationStatus.REJECTED,
            ApplicationStatus.WITHDRAWN,
        }
    ),
    ApplicationStatus.INTERVIEW: frozenset(
        {ApplicationStatus.OFFERED, ApplicationStatus.REJECTED, ApplicationStatus.WITHDRAWN}
    ),
    ApplicationStatus.OFFERED: frozenset(
        {ApplicationStatus.HIRED, ApplicationStatus.REJECTED, ApplicationStatus.WITHDRAWN}
    ),
    ApplicationStatus.HIRED: frozenset(),
    ApplicationStatus.REJECTED: frozenset(),
    ApplicationStatus.WITHDRAWN: frozenset(),
}
OPEN = frozenset({ApplicationStatus.SUBMITTED, ApplicationStatus.INTERVIEW, ApplicationStatus.OFFERED})


@dataclass(frozen=True)
class JobFair:
    street: str
    code: str
    name: str
    venue: str  # a market venue's code
    starts_at: datetime
    ends_at: datetime
    market: str = ""  # the market it is part of (现场招聘 zone), if any

    def __post_init__(self) -> None:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise InvalidInput("招聘会时间须带时区", fair=self.code)
        if self.ends_at <= self.starts_at:
            raise InvalidInput("招聘会结束时间应晚于开始时间", fair=self.code)


@dataclass(frozen=True)
class JobPost:
    street: str
    code: str
    fair: str
    employer: str  # an organisation's code
    title: str
    openings: int
    special: SpecialArea = SpecialArea.GENERAL
    salary: str = ""
    requirements: str = ""


@dataclass
class Application:
    street: str
    code: str  # the applicant's key to follow or withdraw it
    post: str
    fair: str
    name: str
    phone: str
    created_at: datetime
    status: ApplicationStatus = ApplicationStatus.SUBMITTED
    updated_at: datetime | None = None
    note: str = ""
    id: int | None = None

    @property
    def open(self) -> bool:
        return self.status in OPEN

    def move(self, to: ApplicationStatus, at: datetime, note: str = "") -> None:
        if to not in MOVES[self.status]:
            raise IllegalTransition(
                f"应聘当前状态为「{self.status.label}」，不能改为「{to.label}」",
                status=self.status.value,
                to=to.value,
            )
        if len(note) > MAX_NOTE:
            raise InvalidInput(f"备注不能超过 {MAX_NOTE} 个字")
        self.status, self.updated_at = to, at
        if note.strip():
            self.note = note.strip()


@dataclass(frozen=True)
class ApplyRules:
    per_fair: int = 5  # open applications one person may hold at one fair


def apply(
    *,
    post: JobPost,
    name: str,
    phone: str,
    now: datetime,
    applications: Sequence[Application],
    mine: Sequence[Application],
    code: str,
    rules: ApplyRules = ApplyRules(),
) -> Application:
    """A new application, or the reason it is refused. `applications`: the post's; `mine`: this phone's at
    the same fair."""
    name, phone = check_name(name), check_phone(phone)
    if any(a.post == post.code and a.status is not ApplicationStatus.WITHDRAWN for a in mine):
        raise Conflict("您已应聘该岗位，请勿重复投递", code="already_applied", post=post.code)
    if sum(1 for a in mine if a.open) >= rules.per_fair:
        raise Conflict(f"每场招聘会每人最多同时应聘 {rules.per_fair} 个岗位", code="too_many_applications")
    if sum(1 for a in applications if a.status is ApplicationStatus.HIRED) >= post.openings:
        raise Conflict("该岗位已招满", code="post_filled", post=post.code)
    return Application(post.street, code, post.code, post.fair, name, phone, now, updated_at=now)


@dataclass(frozen=True)
class SectorFigures:
    sector: str
    employers: int
    posts: int
    openings: int
    applications: int
    hired: int


@dataclass(frozen=True)
class SpecialFigures:
    special: SpecialArea
    posts: int
    openings: int
    applications: int


@dataclass(frozen=True)
class FairFigures:
    employers: int
    posts: int
    openings: int
    applications: int  # not withdrawn
    interviews: int  # reached the interview or beyond
    offered: int  # offered or hired
    hired: int
    by_sector: tuple[SectorFigures, ...]  # most openings first
    by_special: tuple[SpecialFigures, ...]  # in SpecialArea order


def fair_figures(
    posts: Iterable[JobPost], orgs: Mapping[str, Organisation], applications: Iterable[Application]
) -> FairFigures:
    posts = list(posts)
    by_post: dict[str, list[Application]] = {}
    for a in applications:
        if a.status is not ApplicationStatus.WITHDRAWN:
            by_post.setdefault(a.post, []).append(a)
    counted = {p.code for p in posts}
    apps = [a for code, found in by_post.items() if code in counted for a in found]
    sectors: dict[str, list[JobPost]] = {}
    for p in posts:
        org = orgs.get(p.employer)
        sectors.setdefault(org.sector if org else "其他", []).append(p)
    hired: Counter[str] = Counter(a.post for a in apps if a.status is ApplicationStatus.HIRED)
    by_sector = [
        SectorFigures(
            sector,
            len({p.employer for p in found}),
            len(found),
            sum(p.openings for p in found),
            sum(len(by_post.get(p.code, [])) for p in found),
            sum(hired[p.code] for p in found),
        )
        for sector, found in sectors.items()
    ]
    by_special = [
        SpecialFigures(
            special,
            sum(1 for p in posts if p.special is special),
            sum(p.openings for p in posts if p.special is special),
            sum(len(by_post.get(p.code, [])) for p in posts if p.special is special),
        )
        for special in SpecialArea
    ]
    past_interview = {ApplicationStatus.INTERVIEW, ApplicationStatus.OFFERED, ApplicationStatus.HIRED}
    return FairFigures(
        len({p.employer for p in posts}),
        len(posts),
        sum(p.openings for p in posts),
        len(apps),
        sum(1 for a in apps if a.status in past_interview),
        sum(1 for a in apps if a.status in (ApplicationStatus.OFFERED, ApplicationStatus.HIRED)),
        sum(hired.values()),
        tuple(sorted(by_sector, key=lambda s: (-s.openings, s.sector))),
        tuple(by_special),
    )


# --- import rows ------------------------------------------------------------------------------------


def fairs_from_rows(
    rows: Sequence[Mapping[str, str]], street: str, venues: Iterable[str], markets: Iterable[str]
) -> list[JobFair]:
    check = Rows()
    known_venues, known_markets = set(venues), set(markets)
    out: list[JobFair] = []
    for i, data in enumerate(rows):
        row = row_number(i)
        code = check.code(row, data)
        check.unique(row, "code", code)
        name = check.text(row, data, "name")
        venue = check.known(row, data, "venue", known_venues, "服务阵地")
        start, end = check.moment(row, data, "starts_at"), check.moment(row, data, "ends_at")
        market = check.text(row, data, "market", required=False, limit=64)
        if market and market not in known_markets:
            check.fail(row, "market", f"集市 {market} 不存在")
        if start is None or end is None:
            continue
        try:
            out.append(JobFair(street, code, name, venue, start, end, market))
        except InvalidInput as exc:
            check.fail(row, "ends_at", exc.message)
    check.check("招聘会表")
    return out


def posts_from_rows(
    rows: Sequence[Mapping[str, str]], street: str, fairs: Iterable[str], orgs: Iterable[str]
) -> list[JobPost]:
    check = Rows()
    known_fairs, known_orgs = set(fairs), set(orgs)
    out: list[JobPost] = []
    for i, data in enumerate(rows):
        row = row_number(i)
        code = check.code(row, data)
        check.unique(row, "code", code)
        out.append(
            JobPost(
                street,
                code,
                check.known(row, data, "fair", known_fairs, "招聘会"),
                check.known(row, data, "employer", known_orgs, "用人单位"),
                check.text(row, data, "title", limit=100),
                check.integer(row, data, "openings", 1, 10_000),
                check.choice(row, data, "special", SpecialArea, SpecialArea.GENERAL),
                check.text(row, data, "salary", required=False, limit=100),
                check.text(row, data, "requirements", required=False, limit=1000),
            )
        )
    check.check("岗位表")
    return out


def applications_from_rows(
    rows: Sequence[Mapping[str, str]],
    posts: Mapping[str, JobPost],
    existing: Sequence[Application],
    new_code: Callable[[], str],
    now: datetime,
) -> list[Application]:
    """Applications registered at the fair's desk on paper (现场登记), with the status they reached."""
    check = Rows()
    out: list[Application] = []
    held = {(a.post, a.phone) for a in existing if a.status is not ApplicationStatus.WITHDRAWN}
    for i, data in enumerate(rows):
        row = row_number(i)
        post = posts.get(check.known(row, data, "post", posts, "岗位"))
        name = check.text(row, data, "name", limit=20)
        phone = check.phone(row, data)
        status = check.choice(row, data, "status", ApplicationStatus, ApplicationStatus.SUBMITTED)
        at = check.moment(row, data, "applied_at", required=False) or now
        if post is None or not name or not phone:
            continue
        if (post.code, phone) in held:
            check.fail(row, "phone", "同一人对同一岗位只能有一条应聘记录")
            continue
        held.add((post.code, phone))
        out.append(Application(post.street, new_code(), post.code, post.fair, name, phone, at, status, at))
    check.check("应聘登记表")
    return out


APPLICATION_COLUMNS = ("post", "name", "phone", "status", "applied_at")

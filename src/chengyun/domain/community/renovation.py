"""Old-housing renovation projects (旧住房成套改造, "美好社区，先锋行动"): the buildings and households a
project covers, resident consultation and signing (签约) per household, the signing rate, the milestones
from survey to completion, and the people of the "inner" and "outer circle" (同心圆).

The signing rate (signed households / households) and the completion of the milestones are counted in
the street's assessment (`assessment_figures`). Construction may not be recorded as done before the
project's signing threshold is reached: the seed's projects start only once residents have signed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from chengyun.domain.community.rows import MAX_TEXT, Rows, row_number
from chengyun.domain.errors import IllegalTransition, InvalidInput

PROJECT_COLUMNS = ("code", "name", "area", "buildings", "threshold", "description")
MILESTONE_COLUMNS = ("project", "milestone", "planned", "done")
HOUSEHOLD_COLUMNS = (
    "project",
    "code",
    "building",
    "room",
    "head",
    "phone",
    "status",
    "consulted_on",
    "signed_on",
)
PEOPLE_COLUMNS = ("project", "code", "name", "circle", "role", "org")
DEFAULT_THRESHOLD = 0.95


class Milestone(StrEnum):
    SURVEY = "survey"
    DESIGN = "design"
    SIGNING = "signing"
    CONSTRUCTION = "construction"
    COMPLETION = "completion"

    @property
    def label(self) -> str:
        return {
            Milestone.SURVEY: "情况摸排",
            Milestone.DESIGN: "方案设计",
            Milestone.SIGNING: "居民签约",
            Milestone.CONSTRUCTION: "施工改造",
            Milestone.COMPLETION: "竣工交付",
        }[self]


MILESTONES = tuple(Milestone)


class HouseholdStatus(StrEnum):
    PENDING = "pending"
    CONSULTED = "consulted"
    SIGNED = "signed"
    DECLINED = "declined"

    @property
    def label(self) -> str:
        return {
            HouseholdStatus.PENDING: "待征询",
            HouseholdStatus.CONSULTED: "已征询",
            HouseholdStatus.SIGNED: "已签约",
            HouseholdStatus.DECLINED: "暂不同意",
        }[self]


class Circle(StrEnum):
    INNER = "inner"  # party secretaries, resident party members, retired cadres
    OUTER = "outer"  # housing bureau, deputies, companies, designers

    @property
    def label(self) -> str:
        return "内圆" if self is Circle.INNER else "外圆"


@dataclass(frozen=True)
class RenovationProject:
    street: str
    code: str
    name: str
    area: str  # the residential area's place code
    buildings: tuple[str, ...]  # building place codes
    threshold: float = DEFAULT_THRESHOLD  # the signing rate construction waits for
    description: str = ""


@dataclass(frozen=True)
class MilestoneRecord:
    street: str
    project: str
    milestone: Milestone
    planned: date | None = None
    done: date | None = None


@dataclass
class Household:
    street: str
    project: str
    code: str
    building: str
    room: str
    head: str  # the head of household (户主)
    phone: str = ""
    status: HouseholdStatus = HouseholdStatus.PENDING
    consulted_on: date | None = None
    signed_on: date | None = None
    note: str = ""

    def consult(self, on: date, note: str = "") -> None:
        """A visit or meeting heard the household (逐户走访、议事会)."""
        if self.status is HouseholdStatus.SIGNED:
            raise IllegalTransition("该户已签约，无需再征询", household=self.code)
        self.status, self.consulted_on = HouseholdStatus.CONSULTED, self.consulted_on or on
        self._note(note)

    def sign(self, on: date, note: str = "") -> None:
        if self.status is HouseholdStatus.SIGNED:
            raise IllegalTransition("该户已签约", household=self.code)
        self.status, self.signed_on = HouseholdStatus.SIGNED, on
        self.consulted_on = self.consulted_on or on
        self._note(note)

    def decline(self, on: date, note: str = "") -> None:
        if self.status is HouseholdStatus.SIGNED:
            raise IllegalTransition("该户已签约，不能改为暂不同意", household=self.code)
        self.status, self.consulted_on = HouseholdStatus.DECLINED, self.consulted_on or on
        self._note(note)

    def _note(self, note: str) -> None:
        if len(note) > MAX_TEXT:
            raise InvalidInput(f"备注不能超过 {MAX_TEXT} 个字")
        if note.strip():
            self.note = note.strip()


@dataclass(frozen=True)
class Participant:
    street: str
    project: str
    code: str
    name: str
    circle: Circle
    role: str  # 党总支书记, 居民党员, 退休老干部, 区房管局, 人大代表, 设计团队 …
    org: str = ""


@dataclass(frozen=True)
class SigningFigures:
    households: int
    consulted: int  # heard at least once (consulted, declined or signed)
    signed: int
    declined: int

    @property
    def pending(self) -> int:
        return self.households - self.consulted

    @property
    def rate(self) -> float:
        """The signing rate (签约率): signed households over all households; 0 for none."""
        return self.signed / self.households if self.households else 0.0

    @property
    def consulted_rate(self) -> float:
        return self.consulted / self.households if self.households else 0.0


def signing_figures(households: Iterable[Household]) -> SigningFigures:
    total = consulted = signed = declined = 0
    for h in households:
        total += 1
        consulted += h.status is not HouseholdStatus.PENDING
        signed += h.status is HouseholdStatus.SIGNED
        declined += h.status is HouseholdStatus.DECLINED
    return SigningFigures(total, consulted, signed, declined)


def signing_by_building(households: Iterable[Household]) -> dict[str, SigningFigures]:
    grouped: dict[str, list[Household]] = {}
    for h in households:
        grouped.setdefault(h.building, []).append(h)
    return {b: signing_figures(found) for b, found in sorted(grouped.items())}


@dataclass(frozen=True)
class Progress:
    done: tuple[Milestone, ...]
    next: Milestone | None  # the milestone being worked on; None once completed

    @property
    def share(self) -> float:
        """Milestones done over all five (完成度)."""
        return len(self.done) / len(MILESTONES)

    @property
    def completed(self) -> bool:
        return Milestone.COMPLETION in self.done


def progress(records: Iterable[MilestoneRecord]) -> Progress:
    done = {r.milestone for r in records if r.done is not None}
    ordered = tuple(m for m in MILESTONES if m in done)
    upcoming = next((m for m in MILESTONES if m not in done), None)
    return Progress(ordered, upcoming)


def complete(
    project: RenovationProject,
    records: Sequence[MilestoneRecord],
    milestone: Milestone,
    on: date,
    signing: SigningFigures,
) -> MilestoneRecord:
    """Record `milestone` as done on `on`: the earlier ones must be done (not later than `on`), and
    construction waits for the signing threshold."""
    by_kind = {r.milestone: r for r in records}
    current = by_kind.get(milestone)
    if current is not None and current.done is not None:
        raise IllegalTransition(
            f"「{milestone.label}」已于 {current.done.isoformat()} 完成", milestone=milestone.value
        )
    for earlier in MILESTONES[: MILESTONES.index(milestone)]:
        record = by_kind.get(earlier)
        if record is None or record.done is None:
            raise IllegalTransition(
                f"「{earlier.label}」尚未完成，不能记录「{milestone.label}」完成", milestone=milestone.value
            )
        if record.done > on:
            raise InvalidInput(f"完成日期不能早于「{earlier.label}」的完成日期 {record.done.isoformat()}")
    if milestone in (Milestone.SIGNING, Milestone.CONSTRUCTION) and signing.rate < project.threshold:
        raise IllegalTransition(
            f"签约率 {signing.rate:.1%} 未达到 {project.threshold:.0%}，不能记录「{milestone.label}」完成",
            rate=round(signing.rate, 4),
            threshold=project.threshold,
        )
    planned = current.planned if current else None
    return MilestoneRecord(project.street, project.code, milestone, planned, on)


@dataclass(frozen=True)
class ProjectAssessment:
    """What the assessment reads of one project."""

    project: str
    name: str
    area: str
    households: int
    signed: int
    signing_rate: float
    milestones_done: int
    completion: float  # milestones done / 5
    completed: bool
    stage: Milestone | None


@dataclass(frozen=True)
class RenovationAssessment:
    """The street's renovation figures for the assessment: per project, and over all households."""

    projects: tuple[ProjectAssessment, ...] = field(default_factory=tuple)

    @property
    def households(self) -> int:
        return sum(p.households for p in self.projects)

    @property
    def signed(self) -> int:
        return sum(p.signed for p in self.projects)

    @property
    def signing_rate(self) -> float:
        return self.signed / self.households if self.households else 0.0

    @property
    def completed(self) -> int:
        return sum(1 for p in self.projects if p.completed)

    @property
    def completion(self) -> float:
        """The projects' mean completion (0..1); 0 with no project."""
        return sum(p.completion for p in self.projects) / len(self.projects) if self.projects else 0.0


def assess(
    project: RenovationProject, households: Iterable[Household], records: Iterable[MilestoneRecord]
) -> ProjectAssessment:
    signing = signing_figures(households)
    state = progress(records)
    return ProjectAssessment(
        project.code,
        project.name,
        project.area,
        signing.households,
        signing.signed,
        signing.rate,
        len(state.done),
        state.share,
        state.completed,
        state.next,
    )


# --- import rows ------------------------------------------------------------------------------------


def projects_from_rows(
    rows: Sequence[Mapping[str, str]], street: str, areas: Iterable[str], buildings: Mapping[str, str]
) -> list[RenovationProject]:
    """`buildings`: each building's area code."""
    check = Rows()
    known_areas = set(areas)
    out: list[RenovationProject] = []
    for i, data in enumerate(rows):
        row = row_number(i)
        code = check.code(row, data)
        check.unique(row, "code", code)
        name = check.text(row, data, "name")
        area = check.known(row, data, "area", known_areas, "居民区")
        covered = check.codes(row, data, "buildings")
        if not covered:
            check.fail(row, "buildings", "至少一幢楼（楼栋编码以 | 分隔）")
        for b in covered:
            if b not in buildings:
                check.fail(row, "buildings", f"楼栋 {b} 不存在")
            elif area and buildings[b] != area:
                check.fail(row, "buildings", f"楼栋 {b} 不在居民区 {area} 内")
        threshold = check.share(row, data, "threshold", DEFAULT_THRESHOLD)
        description = check.text(row, data, "description", required=False, limit=MAX_TEXT)
        out.append(RenovationProject(street, code, name, area, covered, threshold, description))
    check.check("改造项目表")
    return out


def milestones_from_rows(
    rows: Sequence[Mapping[str, str]], street: str, projects: Iterable[str]
) -> list[MilestoneRecord]:
    check = Rows()
    known = set(projects)
    out: list[MilestoneRecord] = []
    where: dict[tuple[str, Milestone], int] = {}
    for i, data in enumerate(rows):
        row = row_number(i)
        project = check.known(row, data, "project", known, "改造项目")
        milestone = check.choice(row, data, "milestone", Milestone)
        check.unique(row, "milestone", f"{project}/{milestone.value}")
        where[(project, milestone)] = row
        planned = check.day(row, data, "planned", required=False)
        done = check.day(row, data, "done", required=False)
        out.append(MilestoneRecord(street, project, milestone, planned, done))
    by_project: dict[str, dict[Milestone, MilestoneRecord]] = {}
    for r in out:
        by_project.setdefault(r.project, {})[r.milestone] = r
    for project, records in by_project.items():
        for k, milestone in enumerate(MILESTONES):
            record = records.get(milestone)
            if record is None or record.done is None:
                continue
            for earlier in MILESTONES[:k]:
                before = records.get(earlier)
                if before is None or before.done is None or before.done > record.done:
                    check.fail(
                        where[(project, milestone)],
                        "done",
                        f"「{milestone.label}」完成前「{earlier.label}」应已完成",
                    )
                    break
    check.check("改造节点表")
    return out


def households_from_rows(
    rows: Sequence[Mapping[str, str]], street: str, projects: Mapping[str, RenovationProject]
) -> list[Household]:
    check = Rows()
    out: list[Household] = []
    for i, data in enumerate(rows):
        row = row_number(i)
        project = projects.get(check.known(row, data, "project", projects, "改造项目"))
        code = check.code(row, data)
        check.unique(row, "code", f"{project.code if project else ''}/{code}")
        building = check.text(row, data, "building", limit=64)
        if project is not None and building and building not in project.buildings:
            check.fail(row, "building", f"楼栋 {building} 不在项目 {project.code} 范围内")
        room = check.text(row, data, "room", limit=40)
        head = check.text(row, data, "head", limit=20)
        phone = check.phone(row, data, required=False)
        status = check.choice(row, data, "status", HouseholdStatus, HouseholdStatus.PENDING)
        consulted_on = check.day(row, data, "consulted_on", required=False)
        signed_on = check.day(row, data, "signed_on", required=False)
        if status is HouseholdStatus.SIGNED and signed_on is None:
            check.fail(row, "signed_on", "已签约的户须给出签约日期")
        if status is not HouseholdStatus.SIGNED and signed_on is not None:
            check.fail(row, "signed_on", "未签约的户不应有签约日期")
        if status is not HouseholdStatus.PENDING and consulted_on is None:
            consulted_on = signed_on
            if consulted_on is None and status is not HouseholdStatus.SIGNED:
                check.fail(row, "consulted_on", "已征询的户须给出征询日期")
        if project is None:
            continue
        out.append(
            Household(
                street, project.code, code, building, room, head, phone, status, consulted_on, signed_on
            )
        )
    check.check("改造居民户表")
    return out


def people_from_rows(
    rows: Sequence[Mapping[str, str]], street: str, projects: Iterable[str]
) -> list[Participant]:
    check = Rows()
    known = set(projects)
    out: list[Participant] = []
    for i, data in enumerate(rows):
        row = row_number(i)
        project = check.known(row, data, "project", known, "改造项目")
        code = check.code(row, data)
        check.unique(row, "code", f"{project}/{code}")
        out.append(
            Participant(
                street,
                project,
                code,
                check.text(row, data, "name", limit=40),
                check.choice(row, data, "circle", Circle),
                check.text(row, data, "role", limit=40),
                check.text(row, data, "org", required=False),
            )
        )
    check.check("同心圆人员表")
    return out

"""Renovation projects: households heard and signed, milestones, the people of both circles; and the
figures the street's assessment reads (`RenovationService.assessment_figures`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from chengyun.domain.access import Actor
from chengyun.domain.calendar import local_date
from chengyun.domain.community.renovation import (
    Household,
    Milestone,
    MilestoneRecord,
    Participant,
    Progress,
    RenovationAssessment,
    RenovationProject,
    SigningFigures,
    assess,
    complete,
    progress,
    signing_by_building,
    signing_figures,
)
from chengyun.domain.errors import InvalidInput, NotFound
from chengyun.services.community.common import may_read, may_run
from chengyun.services.ports import Clock, UnitOfWork, UnitOfWorkFactory

HOUSEHOLD_ACTIONS = ("consult", "sign", "decline")
T = TypeVar("T", Household, MilestoneRecord)


@dataclass(frozen=True)
class ProjectView:
    project: RenovationProject
    signing: SigningFigures
    progress: Progress
    milestones: list[MilestoneRecord]


@dataclass(frozen=True)
class ProjectDetail:
    view: ProjectView
    by_building: dict[str, SigningFigures]
    households: list[Household]
    people: list[Participant]
    building_names: dict[str, str]


class RenovationService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def projects(self, actor: Actor, street: str) -> list[ProjectView]:
        may_read(actor, street, "查看改造项目")
        with self._uow() as uow:
            households = _group(uow.community.find(Household, street))
            records = _group(uow.community.find(MilestoneRecord, street))
            return [
                _view(p, households.get(p.code, []), records.get(p.code, []))
                for p in uow.community.find(RenovationProject, street)
            ]

    def project(self, actor: Actor, street: str, code: str) -> ProjectDetail:
        may_read(actor, street, "查看改造项目")
        with self._uow() as uow:
            project = uow.community.get(RenovationProject, street, code)
            households = uow.community.find(Household, street, where={"project": code})
            records = uow.community.find(MilestoneRecord, street, where={"project": code})
            people = uow.community.find(Participant, street, where={"project": code})
            names = {b: _place_name(uow, street, b) for b in project.buildings}
        return ProjectDetail(
            _view(project, households, records), signing_by_building(households), households, people, names
        )

    def household(
        self, actor: Actor, street: str, project: str, code: str, action: str, on: date | None, note: str
    ) -> Household:
        """Record a visit (consult), a signature (sign) or a refusal for now (decline) of one household."""
        may_run(actor, street, "登记居民征询与签约")
        if action not in HOUSEHOLD_ACTIONS:
            raise InvalidInput(f"操作应为 {'、'.join(HOUSEHOLD_ACTIONS)} 之一", field="action")
        day = on or local_date(self._clock.now())
        if day > local_date(self._clock.now()):
            raise InvalidInput("日期不能晚于今天", field="on")
        with self._uow() as uow:
            found = uow.community.find(Household, street, where={"project": project, "code": code}, lock=True)
            if not found:
                raise NotFound(f"项目 {project} 中没有居民户 {code}", project=project, household=code)
            household = found[0]
            getattr(household, action)(day, note)
            uow.community.save([household])
            uow.commit()
        return household

    def complete_milestone(
        self, actor: Actor, street: str, project_code: str, milestone: Milestone, on: date | None
    ) -> ProjectView:
        may_run(actor, street, "登记改造节点")
        day = on or local_date(self._clock.now())
        if day > local_date(self._clock.now()):
            raise InvalidInput("完成日期不能晚于今天", field="on")
        with self._uow() as uow:
            project = uow.community.get(RenovationProject, street, project_code, lock=True)
            households = uow.community.find(Household, street, where={"project": project.code})
            records = uow.community.find(MilestoneRecord, street, where={"project": project.code})
            done = complete(project, records, milestone, day, signing_figures(households))
            uow.community.save([done])
            uow.commit()
        records = [r for r in records if r.milestone is not milestone] + [done]
        return _view(project, households, records)

    def assessment_figures(self, street: str) -> RenovationAssessment:
        """The signing rate and completion of each of the street's projects, and over all of them: what the
        assessment counts (no caller check: the assessment service decides who reads it)."""
        with self._uow() as uow:
            households = _group(uow.community.find(Household, street))
            records = _group(uow.community.find(MilestoneRecord, street))
            projects = uow.community.find(RenovationProject, street)
        return RenovationAssessment(
            tuple(assess(p, households.get(p.code, []), records.get(p.code, [])) for p in projects)
        )


def _view(
    project: RenovationProject, households: list[Household], records: list[MilestoneRecord]
) -> ProjectView:
    order = {m: k for k, m in enumerate(Milestone)}
    ordered = sorted(records, key=lambda r: order[r.milestone])
    return ProjectView(project, signing_figures(households), progress(records), ordered)


def _group(items: list[T]) -> dict[str, list[T]]:
    grouped: dict[str, list[T]] = {}
    for item in items:
        grouped.setdefault(item.project, []).append(item)
    return grouped


def _place_name(uow: UnitOfWork, street: str, code: str) -> str:
    try:
        place = uow.places.get(street, code)
    except NotFound:
        return code
    return str(place.props.get("address") or place.name)

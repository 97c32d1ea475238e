"""Job fairs: posts residents apply to, employers following their applicants, the fair's figures."""

from __future__ import annotations

from dataclasses import dataclass

from chengyun.domain.access import Actor
from chengyun.domain.community.jobs import (
    Application,
    ApplicationStatus,
    FairFigures,
    JobFair,
    JobPost,
    SpecialArea,
    apply,
    fair_figures,
)
from chengyun.domain.community.orgs import Organisation
from chengyun.domain.community.rows import check_phone
from chengyun.domain.errors import NotFound, PermissionDenied
from chengyun.services.community.common import known_street, may_read, may_run, new_code, org_of
from chengyun.services.ports import Clock, UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True)
class PostView:
    post: JobPost
    fair: JobFair
    employer: Organisation
    applications: int  # not withdrawn
    hired: int


class JobService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def fairs(self, street: str | None) -> tuple[str, list[JobFair]]:
        with self._uow() as uow:
            street = known_street(uow, street)
            fairs = uow.community.find(JobFair, street)
        return street, sorted(fairs, key=lambda f: (f.starts_at, f.code))

    def posts(
        self,
        street: str | None,
        fair: str | None = None,
        special: SpecialArea | None = None,
        employer: str | None = None,
    ) -> tuple[str, list[PostView]]:
        """Posts with the employer and how many applied (public)."""
        with self._uow() as uow:
            street = known_street(uow, street)
            where: dict[str, object] = {}
            if fair:
                where["fair"] = fair
            if special:
                where["special"] = special
            if employer:
                where["employer"] = employer
            posts = uow.community.find(JobPost, street, where=where)
            views = _views(uow, street, posts)
        return street, views

    def apply(self, street: str | None, post_code: str, name: str, phone: str) -> Application:
        now = self._clock.now()
        phone = check_phone(phone)
        with self._uow() as uow:
            street = known_street(uow, street)
            post = uow.community.get(JobPost, street, post_code, lock=True)
            made = apply(
                post=post,
                name=name,
                phone=phone,
                now=now,
                applications=uow.community.find(Application, street, where={"post": post.code}),
                mine=uow.community.find(Application, street, where={"fair": post.fair, "phone": phone}),
                code=new_code("jb"),
            )
            made = uow.community.add(made)
            uow.commit()
        return made

    def application(self, code: str) -> tuple[Application, PostView]:
        with self._uow() as uow:
            found = uow.community.get(Application, None, code)
            post = uow.community.get(JobPost, found.street, found.post)
            return found, _views(uow, found.street, [post])[0]

    def withdraw(self, code: str) -> Application:
        now = self._clock.now()
        with self._uow() as uow:
            found = uow.community.get(Application, None, code, lock=True)
            found.move(ApplicationStatus.WITHDRAWN, now)
            uow.community.save([found])
            uow.commit()
        return found

    # --- employers and the center --------------------------------------------------------------------

    def applications(
        self,
        actor: Actor,
        street: str,
        fair: str | None = None,
        post: str | None = None,
        status: ApplicationStatus | None = None,
    ) -> list[Application]:
        """Applications (an employer: only to its own posts), newest first."""
        may_read(actor, street, "查看应聘记录", stall_holders=True)
        with self._uow() as uow:
            org = org_of(uow, actor, street)
            where: dict[str, object] = {}
            posts = (
                None
                if org is None
                else [p.code for p in uow.community.find(JobPost, street, where={"employer": org})]
            )
            if post is not None:
                posts = [post] if posts is None or post in posts else []
            if posts is not None:
                where["post"] = posts
            if fair is not None:
                where["fair"] = fair
            if status is not None:
                where["status"] = status
            found = uow.community.find(Application, street, where=where)
        return sorted(found, key=lambda a: (a.created_at, a.id or 0), reverse=True)

    def move(
        self, actor: Actor, street: str, application_id: int, to: ApplicationStatus, note: str
    ) -> Application:
        """The employer (or the center) moves an application on: interview, offer, hired, rejected."""
        may_read(actor, street, "处理应聘", stall_holders=True)
        now = self._clock.now()
        with self._uow() as uow:
            found = uow.community.find(Application, street, where={"id": application_id}, lock=True)
            if not found:
                raise NotFound(f"应聘记录 {application_id} 不存在", application=application_id)
            application = found[0]
            org = org_of(uow, actor, street)
            if org is None:
                may_run(actor, street, "处理应聘")
            elif uow.community.get(JobPost, street, application.post).employer != org:
                raise PermissionDenied("只能处理本单位岗位的应聘", application=application_id)
            application.move(to, now, note)
            uow.community.save([application])
            uow.commit()
        return application

    def figures(self, actor: Actor, street: str, fair: str | None = None) -> FairFigures:
        may_read(actor, street, "查看招聘会统计")
        with self._uow() as uow:
            where = {"fair": fair} if fair else {}
            posts = uow.community.find(JobPost, street, where=where)
            orgs = {o.code: o for o in uow.community.find(Organisation, street)}
            applications = uow.community.find(Application, street, where=where)
        return fair_figures(posts, orgs, applications)


def _views(uow: UnitOfWork, street: str, posts: list[JobPost]) -> list[PostView]:
    fairs = {f.code: f for f in uow.community.find(JobFair, street)}
    orgs = {o.code: o for o in uow.community.find(Organisation, street)}
    apps = uow.community.find(Application, street, where={"post": [p.code for p in posts]})
    applied: dict[str, int] = {}
    hired: dict[str, int] = {}
    for a in apps:
        if a.status is not ApplicationStatus.WITHDRAWN:
            applied[a.post] = applied.get(a.post, 0) + 1
        if a.status is ApplicationStatus.HIRED:
            hired[a.post] = hired.get(a.post, 0) + 1
    return [
        PostView(p, fairs[p.fair], orgs[p.employer], applied.get(p.code, 0), hired.get(p.code, 0))
        for p in posts
        if p.fair in fairs and p.employer in orgs
    ]

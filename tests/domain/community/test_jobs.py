"""Job fairs: applications, their status moves, and the fair's figures by sector and special area."""

from __future__ import annotations

from datetime import datetime

import pytest

from chengyun.domain.calendar import SHANGHAI
from chengyun.domain.community.jobs import (
    Application,
    ApplicationStatus,
    JobPost,
    SpecialArea,
    apply,
    fair_figures,
    posts_from_rows,
)
from chengyun.domain.community.orgs import Organisation
from chengyun.domain.errors import Conflict, IllegalTransition, ImportRejected

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=SHANGHAI)
NURSE = JobPost("T", "J1", "F1", "care", "护理员", 2, SpecialArea.WOMEN)
DESIGNER = JobPost("T", "J2", "F1", "studio", "平面设计", 1, SpecialArea.GRADUATES)
GUARD = JobPost("T", "J3", "F1", "care", "安保主管", 3, SpecialArea.VETERANS)
ORGS = {
    "care": Organisation("T", "care", "静安颐养护理院", "健康护理"),
    "studio": Organisation("T", "studio", "愚园文创工作室", "文化创意"),
}


def application(post: JobPost = NURSE, phone: str = "13700000001", **kw: object) -> Application:
    values: dict[str, object] = {
        "post": post,
        "name": "刘女士",
        "phone": phone,
        "now": NOW,
        "applications": [],
        "mine": [],
        "code": "a-" + phone + post.code,
    }
    values.update(kw)
    return apply(**values)  # type: ignore[arg-type]


def test_one_application_per_post_and_a_withdrawn_one_may_be_made_again() -> None:
    first = application()
    with pytest.raises(Conflict, match="重复投递"):
        application(mine=[first])
    first.move(ApplicationStatus.WITHDRAWN, NOW)
    assert application(mine=[first]).status is ApplicationStatus.SUBMITTED


def test_a_filled_post_takes_no_more_applications() -> None:
    hired = [application(phone=f"1370000000{n}") for n in (1, 2)]
    for a in hired:
        a.move(ApplicationStatus.OFFERED, NOW)
        a.move(ApplicationStatus.HIRED, NOW)
    with pytest.raises(Conflict, match="已招满"):
        application(phone="13700000009", applications=hired)


def test_statuses_move_forward_only() -> None:
    a = application()
    a.move(ApplicationStatus.INTERVIEW, NOW, "12月5日上午面试")
    assert a.note == "12月5日上午面试"
    a.move(ApplicationStatus.REJECTED, NOW)
    with pytest.raises(IllegalTransition, match="「未录用」，不能改为「已入职」"):
        a.move(ApplicationStatus.HIRED, NOW)


def test_figures_count_by_sector_and_special_area() -> None:
    apps = [
        application(NURSE, "13700000001"),
        application(NURSE, "13700000002"),
        application(GUARD, "13700000003"),
        application(DESIGNER, "13700000004"),
    ]
    apps[0].move(ApplicationStatus.OFFERED, NOW)
    apps[0].move(ApplicationStatus.HIRED, NOW)
    apps[1].move(ApplicationStatus.WITHDRAWN, NOW)
    apps[2].move(ApplicationStatus.INTERVIEW, NOW)

    f = fair_figures([NURSE, DESIGNER, GUARD], ORGS, apps)

    assert (f.employers, f.posts, f.openings, f.applications, f.interviews, f.offered, f.hired) == (
        2,
        3,
        6,
        3,
        2,
        1,
        1,
    )
    assert [(s.sector, s.employers, s.posts, s.openings, s.applications, s.hired) for s in f.by_sector] == [
        ("健康护理", 1, 2, 5, 2, 1),
        ("文化创意", 1, 1, 1, 1, 0),
    ]
    assert [(s.special, s.posts, s.applications) for s in f.by_special] == [
        (SpecialArea.GENERAL, 0, 0),
        (SpecialArea.WOMEN, 1, 1),
        (SpecialArea.GRADUATES, 1, 1),
        (SpecialArea.VETERANS, 1, 1),
    ]


def test_a_post_file_accepts_chinese_labels_and_names_bad_rows() -> None:
    rows = [
        {
            "code": "J1",
            "fair": "F1",
            "employer": "care",
            "title": "护理员",
            "openings": "2",
            "special": "女性专区",
        },
        {
            "code": "J2",
            "fair": "F2",
            "employer": "care",
            "title": "护工",
            "openings": "0",
            "special": "老年专区",
        },
    ]
    with pytest.raises(ImportRejected) as bad:
        posts_from_rows(rows, "T", ["F1"], ORGS)
    assert {(e["row"], e["field"]) for e in bad.value.details["errors"]} == {
        (3, "fair"),
        (3, "openings"),
        (3, "special"),
    }
    (ok,) = posts_from_rows(rows[:1], "T", ["F1"], ORGS)
    assert ok.special is SpecialArea.WOMEN

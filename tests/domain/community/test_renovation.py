"""Renovation projects: the signing rate against a hand-computed case, milestones in order, households."""

from __future__ import annotations

from datetime import date

import pytest

from chengyun.domain.community.renovation import (
    Household,
    HouseholdStatus,
    Milestone,
    MilestoneRecord,
    RenovationProject,
    assess,
    complete,
    households_from_rows,
    milestones_from_rows,
    progress,
    signing_by_building,
    signing_figures,
)
from chengyun.domain.errors import IllegalTransition, ImportRejected

PROJECT = RenovationProject("T", "R1", "共和新路802弄18-23号成套改造", "A1", ("B1", "B2"), 0.9)


def households(
    signed: int, declined: int, consulted: int, pending: int, building: str = "B1"
) -> list[Household]:
    out: list[Household] = []
    for status, n in (
        (HouseholdStatus.SIGNED, signed),
        (HouseholdStatus.DECLINED, declined),
        (HouseholdStatus.CONSULTED, consulted),
        (HouseholdStatus.PENDING, pending),
    ):
        for _ in range(n):
            code = f"{building}-{len(out) + 1}"
            out.append(Household("T", "R1", code, building, code, "户主", status=status))
    return out


def test_the_signing_rate_is_signed_households_over_all_households() -> None:
    # Hand-computed: 18 households in B1 (12 signed, 2 declined, 3 heard, 1 not yet visited) and 6 in B2
    # (all signed): 18 of 24 signed = 75 %; 23 of 24 heard.
    found = households(12, 2, 3, 1, "B1") + households(6, 0, 0, 0, "B2")
    figures = signing_figures(found)
    assert (figures.households, figures.signed, figures.declined, figures.consulted, figures.pending) == (
        24,
        18,
        2,
        23,
        1,
    )
    assert figures.rate == 0.75
    assert figures.consulted_rate == pytest.approx(23 / 24)
    by = signing_by_building(found)
    assert (by["B1"].rate, by["B2"].rate) == (12 / 18, 1.0)
    assert signing_figures([]).rate == 0.0


def test_a_household_is_heard_then_signs_and_a_signature_stands() -> None:
    (h,) = households(0, 0, 0, 1)
    h.consult(date(2026, 3, 1), "逐户走访：担心施工期间过渡安置")
    h.decline(date(2026, 3, 8))
    h.sign(date(2026, 4, 2))
    assert (h.status, h.consulted_on, h.signed_on) == (
        HouseholdStatus.SIGNED,
        date(2026, 3, 1),
        date(2026, 4, 2),
    )
    with pytest.raises(IllegalTransition, match="已签约"):
        h.decline(date(2026, 4, 3))


def test_milestones_complete_in_order_and_construction_waits_for_the_signing_threshold() -> None:
    records = [MilestoneRecord("T", "R1", Milestone.SURVEY, done=date(2026, 2, 1))]
    with pytest.raises(IllegalTransition, match="「方案设计」尚未完成"):
        complete(PROJECT, records, Milestone.SIGNING, date(2026, 5, 1), signing_figures([]))
    records.append(complete(PROJECT, records, Milestone.DESIGN, date(2026, 3, 1), signing_figures([])))
    low = signing_figures(households(8, 1, 1, 0))  # 80 % < 90 %
    with pytest.raises(IllegalTransition, match=r"签约率 80\.0% 未达到 90%"):
        complete(PROJECT, records, Milestone.SIGNING, date(2026, 5, 1), low)
    enough = signing_figures(households(9, 1, 0, 0))
    records.append(complete(PROJECT, records, Milestone.SIGNING, date(2026, 5, 1), enough))
    state = progress(records)
    assert (state.done, state.next, state.share, state.completed) == (
        (Milestone.SURVEY, Milestone.DESIGN, Milestone.SIGNING),
        Milestone.CONSTRUCTION,
        0.6,
        False,
    )
    with pytest.raises(IllegalTransition, match="已于"):
        complete(PROJECT, records, Milestone.SIGNING, date(2026, 5, 2), enough)


def test_the_assessment_reads_rate_and_completion_of_a_project() -> None:
    records = [MilestoneRecord("T", "R1", m, done=date(2026, 1, 1 + k)) for k, m in enumerate(Milestone)]
    a = assess(PROJECT, households(19, 1, 0, 0), records)
    assert (
        a.households,
        a.signed,
        a.signing_rate,
        a.milestones_done,
        a.completion,
        a.completed,
        a.stage,
    ) == (
        20,
        19,
        0.95,
        5,
        1.0,
        True,
        None,
    )


def test_household_and_milestone_files_name_every_bad_row() -> None:
    rows = [
        {
            "project": "R1",
            "code": "101",
            "building": "B1",
            "room": "101",
            "head": "张",
            "status": "signed",
            "signed_on": "2026-04-01",
        },
        {"project": "R1", "code": "102", "building": "B9", "room": "102", "head": "李", "status": "已签约"},
        {
            "project": "R1",
            "code": "101",
            "building": "B1",
            "room": "101",
            "head": "王",
            "status": "pending",
            "signed_on": "2026-04-01",
        },
    ]
    with pytest.raises(ImportRejected) as bad:
        households_from_rows(rows, "T", {"R1": PROJECT})
    assert {(e["row"], e["field"]) for e in bad.value.details["errors"]} == {
        (3, "building"),
        (3, "signed_on"),
        (4, "code"),
        (4, "signed_on"),
    }
    milestones = [
        {"project": "R1", "milestone": "survey", "done": "2026-03-01"},
        {"project": "R1", "milestone": "design", "done": "2026-02-01"},
    ]
    with pytest.raises(ImportRejected) as bad:
        milestones_from_rows(milestones, "T", ["R1"])
    assert [(e["row"], e["field"]) for e in bad.value.details["errors"]] == [(3, "done")]

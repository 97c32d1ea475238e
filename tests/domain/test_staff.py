"""Staff, A/B pairs and the roster from CSV rows; who is A today; who is on duty."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from chengyun.domain.errors import ImportRejected
from chengyun.domain.staff import (
    ABPair,
    Post,
    Shift,
    ab_pairs_from_rows,
    departments_from_rows,
    shifts_from_rows,
    staff_from_rows,
)

CST = timezone(timedelta(hours=8))


def test_staff_rows_become_people_with_posts() -> None:
    people = staff_from_rows(
        [
            {
                "id": "S1",
                "name": "李思远",
                "phone": "13900000001",
                "department": "chengyun",
                "posts": "area_manager|hotline_handler",
            }
        ],
        "JAS",
        ["chengyun"],
    )
    assert people[0].posts == {Post.AREA_MANAGER, Post.HOTLINE_HANDLER}
    assert people[0].active


def test_bad_staff_rows_are_all_reported_with_their_line_numbers() -> None:
    with pytest.raises(ImportRejected) as rejected:
        staff_from_rows(
            [
                {"id": "S1", "name": "甲", "phone": "139", "department": "chengyun", "posts": "area_manager"},
                {"id": "S1", "name": "", "phone": "13900000002", "department": "mars", "posts": "astronaut"},
            ],
            "JAS",
            ["chengyun"],
        )
    errors = {(e["row"], e["field"]) for e in rejected.value.details["errors"]}
    assert errors == {(2, "phone"), (3, "id"), (3, "name"), (3, "department"), (3, "posts")}


def test_departments_need_a_known_kind() -> None:
    with pytest.raises(ImportRejected):
        departments_from_rows([{"code": "x", "name": "某部门", "kind": "alien"}], "JAS")


def test_pairs_swap_roles_on_their_schedule() -> None:
    pair = ABPair("A1", "S1", "S2", 14, date(2026, 1, 5), "JAS")
    assert pair.roles_on(date(2026, 1, 18)) == ("S1", "S2")
    assert pair.roles_on(date(2026, 1, 19)) == ("S2", "S1")
    assert pair.roles_on(date(2026, 2, 2)) == ("S1", "S2")
    assert pair.partner_of("S2") == "S1" and pair.partner_of("S9") is None


def test_a_pair_of_one_person_or_unknown_people_is_refused() -> None:
    with pytest.raises(ImportRejected) as rejected:
        ab_pairs_from_rows(
            [
                {"area": "A1", "a_staff": "S1", "b_staff": "S1"},
                {
                    "area": "A9",
                    "a_staff": "S1",
                    "b_staff": "S7",
                    "swap_every_days": "-3",
                    "anchor_date": "昨天",
                },
            ],
            "JAS",
            ["A1"],
            ["S1"],
        )
    fields = {(e["row"], e["field"]) for e in rejected.value.details["errors"]}
    assert fields == {(2, "b_staff"), (3, "area"), (3, "b_staff"), (3, "swap_every_days"), (3, "anchor_date")}


def test_shifts_need_aware_times_in_order() -> None:
    with pytest.raises(ImportRejected) as rejected:
        shifts_from_rows(
            [
                {
                    "staff": "S1",
                    "post": "duty_officer",
                    "start": "2026-11-25T08:00:00",
                    "end": "2026-11-25T16:00:00+08:00",
                },
                {
                    "staff": "S1",
                    "post": "duty_officer",
                    "start": "2026-11-25T16:00:00+08:00",
                    "end": "2026-11-25T08:00:00+08:00",
                },
            ],
            "JAS",
            ["S1"],
            [],
        )
    fields = [(e["row"], e["field"]) for e in rejected.value.details["errors"]]
    assert fields == [(2, "start"), (3, "end")]


def test_a_shift_covers_its_start_but_not_its_end() -> None:
    day = datetime(2026, 11, 25, tzinfo=CST)
    shift = Shift("S1", Post.DUTY_OFFICER, day.replace(hour=8), day.replace(hour=16), "JAS")
    assert shift.covers(day.replace(hour=8)) and shift.covers(day.replace(hour=15, minute=59))
    assert not shift.covers(day.replace(hour=16))

"""Volunteer shifts: sign-up limits, check-in and check-out, and the hours each volunteer served."""

from __future__ import annotations

from datetime import datetime

import pytest

from chengyun.domain.calendar import SHANGHAI
from chengyun.domain.community.volunteers import (
    Signup,
    SignupStatus,
    VolunteerShift,
    hours_by_volunteer,
    records_from_rows,
    shifts_from_rows,
    sign_up,
)
from chengyun.domain.errors import Conflict, IllegalTransition, ImportRejected, InvalidInput


def at(hhmm: str, day: int = 3) -> datetime:
    h, m = hhmm.split(":")
    return datetime(2026, 12, day, int(h), int(m), tzinfo=SHANGHAI)


MORNING = VolunteerShift("T", "SH1", "P1", at("09:00"), at("11:30"), 2, "静安寺街道党群服务中心")
NOON = VolunteerShift("T", "SH2", "P1", at("11:00"), at("13:00"), 5)
AFTERNOON = VolunteerShift("T", "SH3", "P2", at("13:30"), at("16:00"), 5)
BEFORE = at("08:00", day=1)


def join(shift: VolunteerShift, phone: str = "13900000001", **kw: object) -> Signup:
    values: dict[str, object] = {
        "shift": shift,
        "name": "志愿者小陈",
        "phone": phone,
        "now": BEFORE,
        "taken": [],
        "mine": [],
        "code": "v-" + phone,
    }
    values.update(kw)
    return sign_up(**values)  # type: ignore[arg-type]


def test_a_shift_takes_as_many_volunteers_as_it_has_places() -> None:
    a, b = join(MORNING, "13900000001"), join(MORNING, "13900000002")
    with pytest.raises(Conflict, match="报满"):
        join(MORNING, "13900000003", taken=[a, b])


def test_a_volunteer_cannot_sign_up_twice_or_for_overlapping_shifts() -> None:
    mine = join(MORNING)
    with pytest.raises(Conflict, match="重复报名"):
        join(MORNING, mine=[(mine, MORNING)])
    with pytest.raises(Conflict, match="重叠") as clash:
        join(NOON, mine=[(mine, MORNING)])
    assert clash.value.details["code"] == "shift_clash"
    assert join(AFTERNOON, mine=[(mine, MORNING)]).shift == "SH3"
    with pytest.raises(InvalidInput, match="已开始"):
        join(AFTERNOON, now=at("13:30"))


def test_hours_run_from_check_in_to_check_out_clipped_to_the_shift() -> None:
    s = join(MORNING)
    s.check_in(at("08:50"), MORNING)  # early: counts from 09:00
    s.check_out(at("11:10"))
    assert s.status is SignupStatus.DONE
    assert s.hours(MORNING, at("12:00")) == pytest.approx(2 + 10 / 60)  # 09:00–11:10

    late = join(MORNING, "13900000002")
    late.check_in(at("09:45"), MORNING)
    late.check_out(at("12:30"))  # leaving late adds nothing: 09:45–11:30
    assert late.hours(MORNING, at("13:00")) == pytest.approx(1.75)


def test_a_volunteer_nobody_checked_out_counts_until_the_shift_ends_once_it_is_over() -> None:
    s = join(MORNING)
    s.check_in(at("09:30"), MORNING)
    assert s.hours(MORNING, at("10:00")) == 0  # still serving: nothing credited yet
    assert s.hours(MORNING, at("11:30")) == pytest.approx(2.0)


def test_check_in_is_only_near_the_shift_and_moves_are_in_order() -> None:
    s = join(MORNING)
    with pytest.raises(IllegalTransition, match="30 分钟"):
        s.check_in(at("08:20"), MORNING)
    with pytest.raises(IllegalTransition, match="不能签退"):
        s.check_out(at("10:00"))
    s.check_in(at("08:40"), MORNING)
    with pytest.raises(IllegalTransition, match="不能取消"):
        s.cancel(at("08:45"), MORNING)
    with pytest.raises(IllegalTransition, match="晚于签到"):
        s.check_out(at("08:40"))


def test_hours_by_volunteer_add_up_over_shifts_most_first() -> None:
    shifts = {s.code: s for s in (MORNING, AFTERNOON)}
    chen = join(MORNING, "13900000001")
    chen.check_in(at("09:00"), MORNING)
    chen.check_out(at("11:30"))
    chen_pm = join(AFTERNOON, "13900000001")
    chen_pm.check_in(at("13:30"), AFTERNOON)
    chen_pm.check_out(at("14:30"))
    li = join(AFTERNOON, "13900000002", name="李老师")
    li.check_in(at("13:30"), AFTERNOON)
    absent = join(MORNING, "13900000003")  # signed up, never came

    ranking = hours_by_volunteer([chen, chen_pm, li, absent], shifts, at("18:00"))

    assert [(v.phone, round(v.hours, 2), v.shifts) for v in ranking] == [
        ("13900000001", 3.5, 2),
        ("13900000002", 2.5, 1),
    ]


def test_shift_and_record_files_name_every_bad_row() -> None:
    rows = [
        {
            "code": "A",
            "project": "P1",
            "starts_at": "2026-12-03T09:00:00+08:00",
            "ends_at": "2026-12-03T11:00:00+08:00",
            "capacity": "3",
        },
        {
            "code": "B",
            "project": "P9",
            "starts_at": "2026-12-03T09:00:00",
            "ends_at": "2026-12-03T08:00:00+08:00",
            "capacity": "x",
        },
        {
            "code": "C",
            "project": "P1",
            "starts_at": "2026-12-03T09:00:00+08:00",
            "ends_at": "2026-12-03T08:00:00+08:00",
            "capacity": "3",
        },
    ]
    with pytest.raises(ImportRejected) as bad:
        shifts_from_rows(rows, "T", ["P1"])
    assert {(e["row"], e["field"]) for e in bad.value.details["errors"]} == {
        (3, "project"),
        (3, "starts_at"),
        (3, "capacity"),
        (4, "ends_at"),
    }
    records = [
        {
            "shift": "SH1",
            "name": "陈",
            "phone": "13900000001",
            "checked_in_at": "2026-12-03T09:00:00+08:00",
            "checked_out_at": "2026-12-03T11:00:00+08:00",
        },
        {
            "shift": "SH1",
            "name": "陈",
            "phone": "13900000001",
            "checked_in_at": "2026-12-03T09:00:00+08:00",
            "checked_out_at": "2026-12-03T11:00:00+08:00",
        },
    ]
    with pytest.raises(ImportRejected) as bad:
        records_from_rows(records, {"SH1": MORNING}, [], lambda: "x", at("18:00"))
    assert [e["row"] for e in bad.value.details["errors"]] == [3]

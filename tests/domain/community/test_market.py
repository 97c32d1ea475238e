"""The convenience market: its dates from a recurrence rule, slots, booking limits and the figures."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from chengyun.domain.calendar import SHANGHAI
from chengyun.domain.community.market import (
    DEFAULT_RULE,
    Booking,
    BookingMode,
    BookingStatus,
    Market,
    ServiceSeries,
    Stall,
    book,
    market_figures,
    markets_from_rows,
    recurrence,
    register_from_rows,
    stalls_from_rows,
)
from chengyun.domain.errors import Conflict, IllegalTransition, ImportRejected, InvalidInput


def at(day: str, hhmm: str = "08:00") -> datetime:
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(hhmm), SHANGHAI)


MARKET = Market("T", "M1", "静·邻一家便民集市", "V1", DEFAULT_RULE, date(2026, 1, 1), time(9), time(11, 30))
DOCTOR = Stall(
    "T", "S1", "M1", "doctor", "hospital", "名医坐堂", BookingMode.SLOT, 2, 30, ("高血压", "用药安全")
)
HAIRCUT = Stall("T", "S2", "M1", "haircut", "barber", "理发磨刀", BookingMode.QUEUE, 3)
LUNCH = Stall("T", "S3", "M1", "lunch", "canteen", "白领午餐卡", BookingMode.SLOT, 5, 30)
SESSION = MARKET.session_on(date(2026, 12, 3))
assert SESSION is not None
NOW = at("2026-11-25", "09:00")


def booking(
    stall: Stall = DOCTOR, phone: str = "13800000001", slot: str | None = "09:00", **kw: object
) -> Booking:
    values: dict[str, object] = {
        "stall": stall,
        "market": MARKET,
        "session": SESSION,
        "slot_at": at("2026-12-03", slot) if slot else None,
        "name": "王阿姨",
        "phone": phone,
        "topic": "",
        "now": NOW,
        "taken": [],
        "mine": [],
        "code": "c-" + phone,
    }
    values.update(kw)
    return book(**values)  # type: ignore[arg-type]


def test_the_first_week_thursday_is_the_first_thursday_of_each_month() -> None:
    days = [s.day for s in MARKET.sessions_between(date(2026, 1, 1), date(2026, 12, 31))]
    assert days[:4] == [date(2026, 1, 1), date(2026, 2, 5), date(2026, 3, 5), date(2026, 4, 2)]
    assert len(days) == 12
    assert all(d.weekday() == 3 and d.day <= 7 for d in days)


def test_the_next_market_crosses_the_month_and_the_year_end() -> None:
    # After December's market (Thu 3 December 2026) the next is Thu 7 January 2027: 1 January is a Friday.
    after = MARKET.next_sessions(at("2026-12-03", "12:00"), 3)
    assert [s.day for s in after] == [date(2027, 1, 7), date(2027, 2, 4), date(2027, 3, 4)]
    # a month that begins on a Thursday holds its market on the 1st
    assert MARKET.next_sessions(at("2027-03-31"), 1)[0].day == date(2027, 4, 1)


def test_todays_market_is_next_while_it_lasts_and_times_are_shanghai_local() -> None:
    (during,) = MARKET.next_sessions(at("2026-12-03", "10:00"), 1)
    assert during.day == date(2026, 12, 3)
    assert during.starts_at.astimezone(UTC) == datetime(2026, 12, 3, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    (later,) = MARKET.next_sessions(at("2026-12-03", "11:30"), 1)
    assert later.day == date(2027, 1, 7)


def test_any_rfc5545_rule_is_data_and_a_bad_one_is_refused_with_a_reason() -> None:
    weekly = Market(
        "T", "W", "午间集市", "V1", "FREQ=WEEKLY;BYDAY=TU,TH", date(2026, 11, 1), time(12), time(13)
    )
    assert [s.day.isoformat() for s in weekly.sessions_between(date(2026, 11, 23), date(2026, 11, 29))] == [
        "2026-11-24",
        "2026-11-26",
    ]
    for rule, reason in [
        ("FREQ=HOURLY", "FREQ"),
        ("FREQ=MONTHLY;BYHOUR=9", "BYHOUR"),
        ("FREQ=MONTHLY;BYDAY=+9TH", "无法解析"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "两年内"),
        ("DTSTART:20260101\nRRULE:FREQ=DAILY", "DTSTART"),
    ]:
        with pytest.raises(InvalidInput, match=reason):
            recurrence(rule, date(2026, 1, 1))


def test_slots_fill_the_opening_hours() -> None:
    slots = DOCTOR.slots(SESSION)
    assert [s.astimezone(SHANGHAI).strftime("%H:%M") for s in slots] == [
        "09:00",
        "09:30",
        "10:00",
        "10:30",
        "11:00",
    ]
    assert HAIRCUT.slots(SESSION) == []


def test_a_slot_takes_as_many_people_as_the_stall_has_places() -> None:
    first = booking(phone="13800000001")
    second = booking(phone="13800000002", taken=[first])
    with pytest.raises(Conflict, match="约满") as full:
        booking(phone="13800000003", taken=[first, second])
    assert full.value.details["code"] == "slot_full"
    # a cancelled booking frees its place
    second.status = BookingStatus.CANCELLED
    assert booking(phone="13800000003", taken=[first, second]).slot_at == at("2026-12-03", "09:00")


def test_the_same_resident_cannot_book_a_stall_twice_in_one_session() -> None:
    mine = booking()
    with pytest.raises(Conflict, match="重复预约") as twice:
        booking(slot="10:00", mine=[mine], taken=[mine])
    assert twice.value.details["code"] == "already_booked"


def test_a_resident_cannot_be_at_two_stalls_at_once_nor_hold_more_than_three() -> None:
    doctor = booking(slot="09:00")
    with pytest.raises(Conflict, match="时段您已预约") as clash:
        booking(stall=LUNCH, slot="09:00", mine=[doctor])
    assert clash.value.details["code"] == "slot_clash"
    lunch = booking(stall=LUNCH, slot="09:30", mine=[doctor])
    haircut = booking(stall=HAIRCUT, slot=None, mine=[doctor, lunch])
    other = Stall("T", "S4", "M1", "policy", "office", "政策咨询", BookingMode.QUEUE, 10)
    with pytest.raises(Conflict, match="最多预约 3 项"):
        booking(stall=other, slot=None, mine=[doctor, lunch, haircut])


def test_queue_numbers_count_up_are_never_reused_and_run_out() -> None:
    one = booking(stall=HAIRCUT, slot=None, phone="13800000001")
    two = booking(stall=HAIRCUT, slot=None, phone="13800000002", taken=[one])
    assert (one.number, two.number) == (1, 2)
    two.status = BookingStatus.CANCELLED
    three = booking(stall=HAIRCUT, slot=None, phone="13800000003", taken=[one, two])
    assert three.number == 3
    four = booking(stall=HAIRCUT, slot=None, phone="13800000004", taken=[one, two, three])
    with pytest.raises(Conflict, match="号源已取完"):
        booking(stall=HAIRCUT, slot=None, phone="13800000005", taken=[one, two, three, four])


def test_bad_slots_times_and_people_are_refused_with_reasons() -> None:
    cases: list[tuple[dict[str, object], str]] = [
        ({"slot": "09:10"}, "bad_slot"),
        ({"slot": "11:30"}, "bad_slot"),
        ({"slot": None}, "slot_required"),
        ({"stall": HAIRCUT, "slot": "09:00"}, "no_slots"),
        ({"now": at("2026-12-03", "09:05")}, "slot_passed"),
        ({"now": at("2026-12-03", "11:45")}, "session_over"),
        ({"now": at("2026-10-01")}, "not_open"),
    ]
    for changes, code in cases:
        with pytest.raises(InvalidInput) as refused:
            booking(**changes)
        assert refused.value.details["code"] == code, changes
    with pytest.raises(InvalidInput, match="电话"):
        booking(phone="12345")
    with pytest.raises(InvalidInput, match="姓名"):
        booking(name="  ")
    with pytest.raises(InvalidInput, match="咨询事项应为"):
        booking(topic="理财")


def test_a_booking_is_attended_on_the_day_and_cancelled_only_before_its_time() -> None:
    b = booking()
    with pytest.raises(IllegalTransition, match="当天"):
        b.attend(at("2026-12-02"))
    b.attend(at("2026-12-03", "09:02"))
    assert b.status is BookingStatus.ATTENDED
    with pytest.raises(IllegalTransition, match="已到场"):
        b.cancel(at("2026-12-03", "09:03"), SESSION)
    late = booking(phone="13800000009")
    with pytest.raises(IllegalTransition, match="不能再取消"):
        late.cancel(at("2026-12-03", "09:00"), SESSION)
    late.cancel(at("2026-12-02"), SESSION)
    assert late.status is BookingStatus.CANCELLED


def test_figures_count_attendance_and_rank_what_was_asked_for_most() -> None:
    series = {
        "doctor": ServiceSeries("T", "doctor", "名医坐堂"),
        "haircut": ServiceSeries("T", "haircut", "理发磨刀"),
    }
    stalls = {s.code: s for s in (DOCTOR, HAIRCUT)}
    made = [
        booking(phone="13800000001", topic="高血压"),
        booking(phone="13800000002", topic="高血压"),
        booking(phone="13800000003", slot="09:30", topic="用药安全"),
        booking(stall=HAIRCUT, slot=None, phone="13800000004"),
    ]
    made[0].status = made[2].status = BookingStatus.ATTENDED
    made[3].status = BookingStatus.CANCELLED

    figures = market_figures(made, stalls, series)

    assert (figures.booked, figures.attended, figures.cancelled) == (3, 2, 1)
    assert figures.attendance_rate == pytest.approx(2 / 3)
    assert [(d.label, d.booked, d.attended) for d in figures.by_series] == [("名医坐堂", 3, 2)]
    assert [(d.label, d.booked) for d in figures.topics] == [("高血压", 2), ("用药安全", 1)]


def test_market_and_stall_files_name_every_bad_row() -> None:
    rows = [
        {
            "code": "M1",
            "name": "集市",
            "venue": "V1",
            "rule": "",
            "first_day": "2026-01-01",
            "opens": "09:00",
            "closes": "11:30",
        },
        {
            "code": "M2",
            "name": "集市",
            "venue": "V9",
            "rule": "FREQ=SOMETIMES",
            "first_day": "2026-13-01",
            "opens": "9点",
            "closes": "11:30",
        },
        {
            "code": "M3",
            "name": "集市",
            "venue": "V1",
            "rule": "",
            "first_day": "2026-01-01",
            "opens": "12:00",
            "closes": "11:30",
        },
    ]
    with pytest.raises(ImportRejected) as bad:
        markets_from_rows(rows, "T", ["V1"])
    problems = {(e["row"], e["field"]) for e in bad.value.details["errors"]}
    assert {(3, "venue"), (3, "first_day"), (3, "opens"), (4, "closes")} <= problems
    assert not any(row == 2 for row, _ in problems)
    (ok,) = markets_from_rows(rows[:1], "T", ["V1"])
    assert ok.rule == DEFAULT_RULE

    stalls = [
        {
            "code": "S1",
            "market": "M1",
            "series": "doctor",
            "org": "h",
            "name": "名医",
            "mode": "slot",
            "capacity": "2",
            "slot_minutes": "0",
        },
        {
            "code": "S2",
            "market": "M1",
            "series": "doctor",
            "org": "h",
            "name": "名医",
            "mode": "排队取号",
            "capacity": "0",
        },
    ]
    with pytest.raises(ImportRejected) as bad:
        stalls_from_rows(stalls, "T", ["M1"], ["doctor"], ["h"])
    assert {(e["row"], e["field"]) for e in bad.value.details["errors"]} == {
        (2, "slot_minutes"),
        (3, "capacity"),
    }


def test_a_paper_register_fills_past_sessions_within_the_limits() -> None:
    stalls = {DOCTOR.code: DOCTOR}
    codes = iter(f"r{n}" for n in range(100))
    rows = [
        {
            "stall": "S1",
            "day": "2026-11-05",
            "slot": "09:00",
            "name": "李",
            "phone": "13800000001",
            "topic": "高血压",
        },
        {
            "stall": "S1",
            "day": "2026-11-05",
            "slot": "09:00",
            "name": "张",
            "phone": "13800000002",
            "status": "booked",
        },
        {"stall": "S1", "day": "2026-11-05", "slot": "09:00", "name": "赵", "phone": "13800000003"},
        {"stall": "S1", "day": "2026-11-06", "slot": "09:00", "name": "钱", "phone": "13800000004"},
    ]
    with pytest.raises(ImportRejected) as bad:
        register_from_rows(rows, stalls, {"M1": MARKET}, [], lambda: next(codes), NOW)
    assert [(e["row"], e["field"]) for e in bad.value.details["errors"]] == [(4, "slot"), (5, "day")]
    made = register_from_rows(rows[:2], stalls, {"M1": MARKET}, [], lambda: next(codes), NOW)
    assert [b.status for b in made] == [BookingStatus.ATTENDED, BookingStatus.BOOKED]
    assert made[0].source == "register"

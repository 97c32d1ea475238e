"""The community services on SQLite and PostgreSQL: limits hold under concurrent requests, accepted data
survives a restart, the assessment reads the renovation figures, the party grid is replaced as a whole."""

from __future__ import annotations

import threading
from datetime import date, time

import pytest

from chengyun.adapters.clock import ManualClock
from chengyun.bootstrap import Center, build
from chengyun.domain.community.partygrid import PartyMember
from chengyun.domain.community.renovation import Milestone
from chengyun.domain.errors import Conflict, DomainError
from chengyun.services.community.imports import ImportKind
from chengyun.settings import Settings
from community_data import load_community
from street import ADMIN, STREET, T0

DAY = date(2026, 12, 3)


@pytest.fixture
def loaded(center: Center) -> Center:
    load_community(center)
    return center


def race(*calls: object) -> list[object]:
    """Run the calls at once; each one's result or the domain error it raised."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(k: int, call: object) -> None:
        barrier.wait()
        try:
            results[k] = call()  # type: ignore[operator]
        except DomainError as exc:
            results[k] = exc

    threads = [threading.Thread(target=run, args=(k, c)) for k, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def test_two_residents_racing_for_the_last_place_of_a_slot_get_one_booking(loaded: Center) -> None:
    market = loaded.community.market
    market.book(STREET, "S1", DAY, time(9), "张", "13800000001", "")

    results = race(
        lambda: market.book(STREET, "S1", DAY, time(9), "李", "13800000002", ""),
        lambda: market.book(STREET, "S1", DAY, time(9), "王", "13800000003", ""),
    )

    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(refused) == 1 and refused[0].details["code"] == "slot_full"
    assert len(market.bookings(ADMIN, STREET, since=DAY)) == 2


def test_one_resident_booking_twice_at_once_is_booked_once(loaded: Center) -> None:
    market = loaded.community.market
    results = race(*[lambda: market.book(STREET, "S2", DAY, None, "李", "13800000002", "") for _ in range(3)])
    assert sum(1 for r in results if not isinstance(r, DomainError)) == 1
    (only,) = market.bookings(ADMIN, STREET, since=DAY)
    assert only.number == 1


def test_accepted_bookings_and_sign_ups_survive_a_restart(loaded: Center, database_url: str) -> None:
    booked = loaded.community.market.book(STREET, "S1", DAY, time(10), "王阿姨", "13812345678", "高血压")
    signed = loaded.community.volunteers.sign_up(STREET, "SH1", "小陈", "13700000001")
    loaded.stop()

    again = build(Settings(database_url=database_url, run_worker=False), clock=ManualClock(T0), migrate=False)
    try:
        found = again.community.market.booking(booked.code)
        assert (found.stall, found.slot_at, found.topic, found.name) == (
            "S1",
            booked.slot_at,
            "高血压",
            "王阿姨",
        )
        assert again.community.volunteers.signup(signed.signup.code).shift.code == "SH1"
    finally:
        again.stop()


def test_the_assessment_reads_each_projects_signing_rate_and_completion(loaded: Center) -> None:
    renovation = loaded.community.renovation
    figures = renovation.assessment_figures(STREET)
    (r1,) = figures.projects
    assert (r1.households, r1.signed, r1.signing_rate) == (10, 7, 0.7)
    assert (r1.milestones_done, r1.completion, r1.completed, r1.stage) == (2, 0.4, False, Milestone.SIGNING)

    for household in ("8", "9"):
        renovation.household(ADMIN, STREET, "R1", household, "sign", None, "")
    renovation.complete_milestone(ADMIN, STREET, "R1", Milestone.SIGNING, None)

    after = renovation.assessment_figures(STREET)
    assert (after.signed, after.households, after.signing_rate, after.completion) == (9, 10, 0.9, 0.6)


def test_importing_the_party_grid_again_replaces_it_and_drops_members_of_units_gone(loaded: Center) -> None:
    files = loaded.community.files
    files.import_csv(
        ADMIN,
        STREET,
        ImportKind.PARTY_UNITS,
        "code,name,level,parent,places\nC,测试街道党工委,committee,,T\n",
    )
    units, members = loaded.community.party.grid(ADMIN, STREET)
    assert [u.code for u in units] == ["C"]
    assert [m.name for m in members] == ["陈书记"]
    assert all(isinstance(m, PartyMember) for m in members)

"""Places, people, configuration and tokens in the database: round trips, upserts, duty lookups."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event

from builders import (
    OTHER_STREET,
    STREET,
    T0,
    a_department,
    a_pair,
    a_place,
    a_shift,
    a_staff,
    a_token,
    at,
)
from chengyun.domain.categories import Category, CategoryKind
from chengyun.domain.errors import NotFound
from chengyun.domain.places import PlaceKind
from chengyun.domain.severity import Colour
from chengyun.domain.sla import DEFAULT_POLICIES, PolicySet
from chengyun.domain.staff import Post
from chengyun.services.ports import UnitOfWorkFactory


def statements_during(engine: Engine) -> list[tuple[str, bool]]:
    """Records (statement, executemany) for each statement sent to the driver from now on."""
    seen: list[tuple[str, bool]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        seen.append((statement, many))

    event.listen(engine, "before_cursor_execute", record)
    return seen


# --- places --------------------------------------------------------------------------------------


def test_places_round_trip_with_their_geometry_and_properties(uow_factory: UnitOfWorkFactory) -> None:
    street = a_place(STREET, PlaceKind.STREET, "南京西路街道", None, props={"district": "静安区"})
    area = a_place("a1", props={"households": 1200, "tags": ["老旧小区"]})
    with uow_factory() as uow:
        assert uow.places.upsert([street, area]) == 2
        uow.commit()

    with uow_factory() as uow:
        assert uow.places.get(STREET, "a1") == area
        assert uow.places.get(STREET, STREET) == street


def test_upserting_a_place_again_updates_it(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        uow.places.upsert([a_place("a1", name="旧名")])
        uow.commit()
    with uow_factory() as uow:
        uow.places.upsert([a_place("a1", name="新名", props={"note": "改名"})])
        uow.commit()

    with uow_factory() as uow:
        assert uow.places.list(STREET) == [a_place("a1", name="新名", props={"note": "改名"})]


def test_places_are_listed_by_street_kind_and_parent(uow_factory: UnitOfWorkFactory) -> None:
    places = [
        a_place("a1"),
        a_place("a2"),
        a_place("g1", PlaceKind.GRID, "网格一", "a1"),
        a_place("g2", PlaceKind.GRID, "网格二", "a2"),
        a_place("a1", street=OTHER_STREET),
    ]
    with uow_factory() as uow:
        uow.places.upsert(places)

        assert [p.code for p in uow.places.list(STREET)] == ["a1", "a2", "g1", "g2"]
        assert [p.code for p in uow.places.list(STREET, PlaceKind.GRID)] == ["g1", "g2"]
        assert [p.code for p in uow.places.list(STREET, parent="a2")] == ["g2"]
        assert uow.places.kinds(OTHER_STREET) == {"a1": PlaceKind.AREA}


def test_a_missing_place_raises_not_found(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow, pytest.raises(NotFound):
        uow.places.get(STREET, "nowhere")


def test_importing_many_places_is_one_executemany_statement(
    uow_factory: UnitOfWorkFactory, engine: Engine
) -> None:
    places = [a_place(f"b{i:03}", PlaceKind.BUILDING, f"{i} 号楼", "a1") for i in range(200)]
    with uow_factory() as uow:
        seen = statements_during(engine)
        uow.places.upsert(places)
        uow.commit()

    inserts = [(s, many) for s, many in seen if s.lstrip().upper().startswith("INSERT")]
    assert inserts == [(inserts[0][0], True)]
    with uow_factory() as uow:
        assert len(uow.places.list(STREET, PlaceKind.BUILDING)) == 200


# --- people --------------------------------------------------------------------------------------


def test_departments_round_trip_and_upsert(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        uow.people.upsert_departments([a_department("chengyun"), a_department("water", "水务所")])
        uow.people.upsert_departments([a_department("water", "供排水所")])
        uow.commit()

    with uow_factory() as uow:
        assert uow.people.departments(STREET) == [a_department("chengyun"), a_department("water", "供排水所")]
        assert uow.people.departments(OTHER_STREET) == []


def test_staff_round_trip_with_their_posts_and_upsert_updates_them(uow_factory: UnitOfWorkFactory) -> None:
    duty = a_staff("d1", "陈值班", frozenset({Post.DUTY_OFFICER, Post.DIRECTOR}))
    with uow_factory() as uow:
        assert uow.people.upsert_staff([a_staff("m1"), duty]) == 2
        uow.people.upsert_staff([a_staff("m1", "李专管（调岗）", active=False)])
        uow.commit()

    with uow_factory() as uow:
        assert uow.people.staff(STREET) == [duty, a_staff("m1", "李专管（调岗）", active=False)]
        assert uow.people.get_staff("d1") == duty


def test_a_missing_person_raises_not_found(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow, pytest.raises(NotFound, match="人员 nobody 不存在"):
        uow.people.get_staff("nobody")


def test_replacing_pairs_drops_the_old_ones_of_that_street_only(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        uow.people.replace_pairs(STREET, [a_pair("a1"), a_pair("a2", "m3", "m4")])
        uow.people.replace_pairs(OTHER_STREET, [a_pair("a1", "x1", "x2", OTHER_STREET)])
        assert uow.people.replace_pairs(STREET, [a_pair("a2", "m5", "m6")]) == 1
        uow.commit()

    with uow_factory() as uow:
        assert uow.people.pairs(STREET) == [a_pair("a2", "m5", "m6")]
        assert uow.people.pair_for_area(STREET, "a1") is None
        assert uow.people.pair_for_area(STREET, "a2") == a_pair("a2", "m5", "m6")
        assert uow.people.pair_for_area(OTHER_STREET, "a1") == a_pair("a1", "x1", "x2", OTHER_STREET)


def test_pairs_of_another_street_are_refused(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow, pytest.raises(ValueError, match=OTHER_STREET):
        uow.people.replace_pairs(STREET, [a_pair("a1", street=OTHER_STREET)])


def test_on_duty_returns_the_shifts_covering_the_moment_start_included_end_excluded(
    uow_factory: UnitOfWorkFactory,
) -> None:
    morning = a_shift("m1", T0, 8)
    evening = a_shift("m2", T0 + timedelta(hours=8), 8)
    officer = a_shift("d1", T0 - timedelta(hours=4), 12, Post.DUTY_OFFICER, area=None)
    elsewhere = a_shift("x1", T0, 8, street=OTHER_STREET)
    with uow_factory() as uow:
        assert uow.people.add_shifts([morning, evening, officer, elsewhere]) == 4
        uow.commit()

    with uow_factory() as uow:

        def on_duty(hours: float) -> list[str]:
            return [s.staff for s in uow.people.on_duty(STREET, T0 + timedelta(hours=hours))]

        assert on_duty(-1) == ["d1"]
        assert on_duty(0) == ["d1", "m1"]
        assert on_duty(7.99) == ["d1", "m1"]
        assert on_duty(8) == ["m2"]
        assert on_duty(16) == []
        assert uow.people.on_duty(STREET, T0) == [officer, morning]


def test_shifts_returns_those_overlapping_the_period(uow_factory: UnitOfWorkFactory) -> None:
    shifts = [a_shift("m1", T0 + timedelta(hours=8 * i), 8) for i in range(4)]
    with uow_factory() as uow:
        uow.people.add_shifts(shifts)

        found = uow.people.shifts(STREET, T0 + timedelta(hours=10), T0 + timedelta(hours=16))

        assert found == [shifts[1]]
        assert all(s.start.tzinfo is UTC and s.end.tzinfo is UTC for s in found)
        assert uow.people.shifts(OTHER_STREET, T0, T0 + timedelta(days=2)) == []


# --- configuration -------------------------------------------------------------------------------


def test_streets_are_ensured_once_and_renamed_on_request(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        uow.config.ensure_street(STREET, "南京西路", "静安区")
        uow.config.ensure_street(OTHER_STREET, "静安寺", "静安区")
        uow.config.ensure_street(STREET, "南京西路街道", "静安区")
        uow.commit()

    with uow_factory() as uow:
        assert uow.config.streets() == [(OTHER_STREET, "静安寺"), (STREET, "南京西路街道")]


def test_deadline_policies_round_trip_in_their_order_per_street(uow_factory: UnitOfWorkFactory) -> None:
    red_first = DEFAULT_POLICIES  # the order decides which policy matches an order first
    only_default = PolicySet((DEFAULT_POLICIES.policies[1],))
    with uow_factory() as uow:
        assert uow.config.policies(STREET) is None
        uow.config.set_policies(STREET, only_default)
        uow.config.set_policies(STREET, red_first)
        uow.config.set_policies(OTHER_STREET, only_default)
        uow.commit()

    with uow_factory() as uow:
        assert uow.config.policies(STREET) == red_first
        assert uow.config.policies(OTHER_STREET) == only_default


def test_categories_are_replaced_as_a_whole_and_keep_their_order(uow_factory: UnitOfWorkFactory) -> None:
    lamp = Category("300101", "路灯不亮", CategoryKind.COMPONENT, "公用设施", "road", Colour.BLUE, ("路灯",))
    cover = Category(
        "100101", "上水井盖", CategoryKind.COMPONENT, "公用设施", "water", Colour.YELLOW, ("井盖",)
    )
    noise = Category("900001", "噪声扰民", CategoryKind.MATTER, "12345", "chengyun", Colour.GREEN)
    with uow_factory() as uow:
        uow.config.set_categories(STREET, [noise])
        uow.config.set_categories(STREET, [lamp, cover])
        uow.commit()

    with uow_factory() as uow:
        assert uow.config.categories(STREET) == [lamp, cover]
        assert uow.config.categories(OTHER_STREET) == []


# --- tokens --------------------------------------------------------------------------------------


def test_a_token_is_found_by_its_hash_only(uow_factory: UnitOfWorkFactory) -> None:
    record = a_token(expires_at=at(60 * 24 * 30), streets=frozenset({STREET, OTHER_STREET}))
    with uow_factory() as uow:
        uow.tokens.add(record, "hash-1")
        uow.commit()

    with uow_factory() as uow:
        found = uow.tokens.by_hash("hash-1")
        assert found == record
        assert found is not None and found.created_at.tzinfo is UTC
        assert uow.tokens.by_hash("hash-2") is None


def test_revoking_a_token_keeps_the_first_revocation_time(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        uow.tokens.add(a_token("t1"), "hash-1")
        uow.tokens.add(a_token("t2", created_at=at(1)), "hash-2")

        assert uow.tokens.revoke("t1", at(10)) is True
        assert uow.tokens.revoke("t1", at(20)) is True
        assert uow.tokens.revoke("missing", at(20)) is False

        revoked, kept = uow.tokens.list()
        assert (revoked.id, revoked.revoked_at) == ("t1", at(10))
        assert (kept.id, kept.revoked_at) == ("t2", None)

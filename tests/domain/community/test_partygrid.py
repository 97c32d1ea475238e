"""The party-building grid: four levels tied to places, and one answer to "who is responsible"."""

from __future__ import annotations

import pytest

from chengyun.domain.community.partygrid import (
    PartyLevel,
    PartyMember,
    PartyUnit,
    members_from_rows,
    responsible_for,
    units_from_rows,
)
from chengyun.domain.errors import ImportRejected, NotFound
from chengyun.domain.places import PlaceKind

PLACES = {
    "T": PlaceKind.STREET,
    "A1": PlaceKind.AREA,
    "A1-G1": PlaceKind.GRID,
    "A1-G2": PlaceKind.GRID,
    "B1": PlaceKind.BUILDING,
    "B2": PlaceKind.BUILDING,
    "B3": PlaceKind.BUILDING,
}
UNITS = [
    {"code": "C", "name": "街道党工委", "level": "committee", "places": "T"},
    {"code": "BR1", "name": "嘉园居民区党总支", "level": "branch", "parent": "C", "places": "A1"},
    {"code": "O1", "name": "嘉园第一网格党支部", "level": "organisation", "parent": "BR1", "places": "A1-G1"},
    {"code": "G1", "name": "608弄6号楼栋党小组", "level": "group", "parent": "O1", "places": "B1|B2"},
]
MEMBERS = [
    {"code": "m1", "unit": "C", "name": "陈书记", "post": "书记", "leads": "true"},
    {"code": "m2", "unit": "BR1", "name": "周书记", "post": "党总支书记", "leads": "true"},
    {"code": "m3", "unit": "O1", "name": "吴支书", "post": "支部书记", "leads": "true"},
    {
        "code": "m4",
        "unit": "G1",
        "name": "郑组长",
        "post": "组长",
        "leads": "是",
        "duties": "联系608弄6号7户居民",
    },
    {"code": "m5", "unit": "G1", "name": "王党员", "post": "党员", "leads": "false"},
]


def lineage(*codes: str) -> list[tuple[str, PlaceKind]]:
    return [(c, PLACES.get(c, PlaceKind.BUILDING)) for c in codes]


def grid() -> tuple[list[PartyUnit], list[PartyMember]]:
    units = units_from_rows(UNITS, "T", PLACES)
    return units, members_from_rows(MEMBERS, "T", [u.code for u in units])


def test_a_building_with_its_own_party_group_answers_with_the_group_leader() -> None:
    units, members = grid()
    answer = responsible_for("B2", lineage("B2", "A1-G1", "A1", "T"), units, members)
    assert answer.unit.code == "G1" and answer.covered_by is PlaceKind.BUILDING
    assert answer.leader is not None and answer.leader.name == "郑组长"
    assert [(u.level, m.name if m else None) for u, m in answer.chain] == [
        (PartyLevel.GROUP, "郑组长"),
        (PartyLevel.ORGANISATION, "吴支书"),
        (PartyLevel.BRANCH, "周书记"),
        (PartyLevel.COMMITTEE, "陈书记"),
    ]


def test_a_building_without_a_group_falls_to_its_grid_then_its_area() -> None:
    units, members = grid()
    in_grid = responsible_for("B3", lineage("B3", "A1-G1", "A1", "T"), units, members)
    assert (in_grid.unit.code, in_grid.covered_by) == ("O1", PlaceKind.GRID)
    other_grid = responsible_for("B3", lineage("B3", "A1-G2", "A1", "T"), units, members)
    assert (other_grid.unit.code, other_grid.leader.name if other_grid.leader else None) == ("BR1", "周书记")
    straight_in_area = responsible_for("B3", lineage("B3", "A1", "T"), units, members)  # no grid between
    assert straight_in_area.unit.code == "BR1"
    with pytest.raises(NotFound, match="尚未纳入"):
        responsible_for("B9", [("B9", PlaceKind.BUILDING), ("X", PlaceKind.AREA)], units, members)


def test_the_grid_refuses_a_building_covered_twice_and_levels_that_do_not_nest() -> None:
    rows = [
        *UNITS,
        {"code": "G2", "name": "重复党小组", "level": "group", "parent": "O1", "places": "B2"},
        {"code": "G3", "name": "错层党小组", "level": "group", "parent": "BR1", "places": "A1-G2"},
        {"code": "X", "name": "无上级", "level": "branch", "parent": "NOPE", "places": "B3"},
    ]
    with pytest.raises(ImportRejected) as bad:
        units_from_rows(rows, "T", PLACES)
    assert {(e["row"], e["field"]) for e in bad.value.details["errors"]} == {
        (6, "places"),  # B2 already has a group
        (7, "places"),  # a group covers buildings, not grids
        (7, "parent"),  # a group's parent is a community party organisation
        (8, "places"),
        (8, "parent"),
    }


def test_a_unit_has_one_leader() -> None:
    rows = [*MEMBERS, {"code": "m6", "unit": "G1", "name": "另一组长", "post": "组长", "leads": "true"}]
    with pytest.raises(ImportRejected) as bad:
        members_from_rows(rows, "T", ["C", "BR1", "O1", "G1"])
    assert [(e["row"], e["field"]) for e in bad.value.details["errors"]] == [(7, "leads")]

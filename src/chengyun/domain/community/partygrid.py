"""The party-building grid (智慧党建): the four levels street party working committee (街道党工委) →
residential-area party branch (居民区党总支) → community party organisation (社区党组织) → building party
group (楼栋党小组), each tied to its places (the street, an area, grids, buildings), with members and their
responsibilities, so that "who is responsible for this building" has one answer.

Each building is covered by at most one building party group and each grid by at most one community party
organisation (an import that breaks this is refused). A building without a group of its own falls to the
unit covering its grid, then its area, then the street.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from chengyun.domain.community.rows import Rows, row_number
from chengyun.domain.errors import NotFound
from chengyun.domain.places import PlaceKind

UNIT_COLUMNS = ("code", "name", "level", "parent", "places")
MEMBER_COLUMNS = ("code", "unit", "name", "post", "leads", "duties", "phone")


class PartyLevel(StrEnum):
    COMMITTEE = "committee"
    BRANCH = "branch"
    ORGANISATION = "organisation"
    GROUP = "group"

    @property
    def label(self) -> str:
        return {
            PartyLevel.COMMITTEE: "街道党工委",
            PartyLevel.BRANCH: "居民区党总支",
            PartyLevel.ORGANISATION: "社区党组织",
            PartyLevel.GROUP: "楼栋党小组",
        }[self]


PARENT_LEVEL = {
    PartyLevel.BRANCH: PartyLevel.COMMITTEE,
    PartyLevel.ORGANISATION: PartyLevel.BRANCH,
    PartyLevel.GROUP: PartyLevel.ORGANISATION,
}
PLACE_KIND = {
    PartyLevel.COMMITTEE: PlaceKind.STREET,
    PartyLevel.BRANCH: PlaceKind.AREA,
    PartyLevel.ORGANISATION: PlaceKind.GRID,
    PartyLevel.GROUP: PlaceKind.BUILDING,
}


@dataclass(frozen=True)
class PartyUnit:
    street: str
    code: str
    name: str
    level: PartyLevel
    parent: str  # "" for the committee
    places: tuple[str, ...]  # place codes of the level's kind (PLACE_KIND)


@dataclass(frozen=True)
class PartyMember:
    street: str
    code: str
    unit: str
    name: str
    post: str  # 书记, 副书记, 委员, 组长, 党员 …
    leads: bool  # the unit's one leader: who answers for its places
    duties: str = ""  # responsibilities (职责)
    phone: str = ""


@dataclass(frozen=True)
class Responsible:
    """The answer to "who is responsible for this building": the most specific unit covering it, its
    leader, and the chain of units above it (each with its leader)."""

    building: str
    unit: PartyUnit
    leader: PartyMember | None
    chain: tuple[tuple[PartyUnit, PartyMember | None], ...]  # from the unit up to the committee
    covered_by: PlaceKind  # the kind of place the answer was found by (building, grid, area or street)


def responsible_for(
    building: str,
    lineage: Sequence[tuple[str, PlaceKind]],
    units: Iterable[PartyUnit],
    members: Iterable[PartyMember],
) -> Responsible:
    """`lineage`: the building's place (code and kind), then the places containing it (its grid, area and
    the street, as far as known), innermost first."""
    units = list(units)
    by_code = {u.code: u for u in units}
    leaders = {m.unit: m for m in members if m.leads}
    covering: dict[str, PartyUnit] = {}
    for u in units:
        for place in u.places:
            covering.setdefault(place, u)
    for place, kind in lineage:
        unit = covering.get(place)
        if unit is None or PLACE_KIND[unit.level] is not kind:
            continue
        chain: list[tuple[PartyUnit, PartyMember | None]] = []
        seen: set[str] = set()
        current: PartyUnit | None = unit
        while current is not None and current.code not in seen:
            seen.add(current.code)
            chain.append((current, leaders.get(current.code)))
            current = by_code.get(current.parent)
        return Responsible(building, unit, leaders.get(unit.code), tuple(chain), kind)
    raise NotFound(f"楼栋 {building} 尚未纳入党建网格", building=building)


# --- import rows ------------------------------------------------------------------------------------


def units_from_rows(
    rows: Sequence[Mapping[str, str]], street: str, places: Mapping[str, PlaceKind]
) -> list[PartyUnit]:
    """The whole grid (an import replaces it): levels nest, places are of the level's kind, and no
    building or grid is covered twice."""
    check = Rows()
    out: list[tuple[int, PartyUnit]] = []
    for i, data in enumerate(rows):
        row = row_number(i)
        code = check.code(row, data)
        check.unique(row, "code", code)
        name = check.text(row, data, "name")
        level = check.choice(row, data, "level", PartyLevel)
        parent = check.text(row, data, "parent", required=level is not PartyLevel.COMMITTEE, limit=64)
        covered = check.codes(row, data, "places")
        for place in covered:
            kind = places.get(place)
            if kind is None:
                check.fail(row, "places", f"地点 {place} 不存在")
            elif kind is not PLACE_KIND[level]:
                check.fail(
                    row, "places", f"{level.label}应对应{_kind_label(PLACE_KIND[level])}，{place} 不是"
                )
            else:
                check.unique(row, "places", place)
        out.append((row, PartyUnit(street, code, name, level, parent, covered)))
    levels = {u.code: u.level for _, u in out}
    for row, u in out:
        if u.level is PartyLevel.COMMITTEE:
            if u.parent:
                check.fail(row, "parent", "街道党工委是最高一级，不应有上级")
            continue
        if u.parent not in levels:
            check.fail(row, "parent", f"上级组织 {u.parent} 不存在")
        elif levels[u.parent] is not PARENT_LEVEL[u.level]:
            check.fail(row, "parent", f"{u.level.label}的上级应为{PARENT_LEVEL[u.level].label}")
    check.check("党建网格表")
    return [u for _, u in out]


def members_from_rows(
    rows: Sequence[Mapping[str, str]], street: str, units: Iterable[str]
) -> list[PartyMember]:
    check = Rows()
    known = set(units)
    out: list[PartyMember] = []
    for i, data in enumerate(rows):
        row = row_number(i)
        code = check.code(row, data)
        check.unique(row, "code", code)
        unit = check.known(row, data, "unit", known, "党组织")
        leads_text = check.text(row, data, "leads", required=False, limit=10).lower()
        if leads_text not in ("", "true", "false", "1", "0", "是", "否"):
            check.fail(row, "leads", "应为 true 或 false")
        leads = leads_text in ("true", "1", "是")
        if leads:
            check.unique(row, "leads", unit)  # one leader per unit: "who is responsible" has one answer
        out.append(
            PartyMember(
                street,
                code,
                unit,
                check.text(row, data, "name", limit=20),
                check.text(row, data, "post", limit=20),
                leads,
                check.text(row, data, "duties", required=False, limit=500),
                check.phone(row, data, required=False),
            )
        )
    check.check("党员名单")
    return out


def _kind_label(kind: PlaceKind) -> str:
    return {
        PlaceKind.STREET: "街道",
        PlaceKind.AREA: "居民区",
        PlaceKind.GRID: "网格",
        PlaceKind.BUILDING: "楼栋",
    }[kind]

"""The party-building grid: its units and members, and who is responsible for a building (by its code or
its address)."""

from __future__ import annotations

from dataclasses import dataclass

from chengyun.domain.access import Actor
from chengyun.domain.community.partygrid import PartyMember, PartyUnit, Responsible, responsible_for
from chengyun.domain.errors import InvalidInput, NotFound
from chengyun.domain.places import Place, PlaceKind
from chengyun.services.community.common import may_read
from chengyun.services.ports import GazetteerFor, UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True)
class Answer:
    building: Place
    responsible: Responsible
    matched: str  # how the building was found: "code" or the gazetteer's match (building, lane …)


class PartyService:
    def __init__(self, uow: UnitOfWorkFactory, gazetteers: GazetteerFor) -> None:
        self._uow = uow
        self._gazetteers = gazetteers

    def grid(self, actor: Actor, street: str) -> tuple[list[PartyUnit], list[PartyMember]]:
        may_read(actor, street, "查看党建网格")
        with self._uow() as uow:
            return uow.community.find(PartyUnit, street), uow.community.find(PartyMember, street)

    def responsible(self, actor: Actor, street: str, building: str | None, address: str | None) -> Answer:
        """Who answers for a building: its party group's leader, else its grid's, area's or street's."""
        may_read(actor, street, "查询楼栋责任人")
        matched = "code"
        if not building:
            if not address or not address.strip():
                raise InvalidInput("请给出楼栋编码（building）或地址（address）", code="building_required")
            found = self._gazetteers(street).locate_address(address.strip())
            if found is None or found.location.building is None:
                raise InvalidInput(f"地址「{address.strip()[:60]}」未能定位到楼栋", code="address_unresolved")
            building, matched = found.location.building, found.matched
        with self._uow() as uow:
            place = uow.places.get(street, building)
            if place.kind is not PlaceKind.BUILDING:
                raise InvalidInput(f"{building} 不是楼栋", code="not_a_building")
            answer = responsible_for(
                building,
                _lineage(uow, street, place),
                uow.community.find(PartyUnit, street),
                uow.community.find(PartyMember, street),
            )
        return Answer(place, answer, matched)


def _lineage(uow: UnitOfWork, street: str, place: Place) -> list[tuple[str, PlaceKind]]:
    """The building, then its grid, area and street (as far as the parents go)."""
    found = [(place.code, place.kind)]
    current = place
    while current.parent and len(found) < 6:
        try:
            current = uow.places.get(street, current.parent)
        except NotFound:
            break
        found.append((current.code, current.kind))
    return found

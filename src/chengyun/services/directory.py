"""The street's directory: places (GeoJSON) and people (departments, staff, A/B pairs, roster as CSV).

Imports are all-or-nothing: every row is checked first, and a file with any bad row stores nothing.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from chengyun.domain.access import SUPERVISORS, Actor, require_role, require_street
from chengyun.domain.calendar import local
from chengyun.domain.errors import ImportRejected, InvalidInput, NotFound
from chengyun.domain.geo import Point
from chengyun.domain.places import Place, PlaceKind, places_from_geojson
from chengyun.domain.staff import (
    Absence,
    ab_pairs_from_rows,
    departments_from_rows,
    shifts_from_rows,
    staff_from_rows,
)
from chengyun.services.ports import UnitOfWorkFactory

DEPARTMENT_COLUMNS = ("code", "name", "kind")
STAFF_COLUMNS = ("id", "name", "phone", "department", "posts", "street", "active")
PAIR_COLUMNS = ("area", "a_staff", "b_staff", "swap_every_days", "anchor_date")
SHIFT_COLUMNS = ("staff", "post", "start", "end", "area")


def read_csv(text: str, required: Sequence[str]) -> list[dict[str, str]]:
    """Parse CSV text (UTF-8, optional BOM, header row) and check the header names the columns."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in required if c not in header]
        if missing:
            raise ImportRejected(
                f"CSV 缺少列：{'、'.join(missing)}", errors=[{"row": 1, "reason": "表头不完整"}]
            )
        return [{(k or "").strip(): (v or "") for k, v in row.items()} for row in reader]
    except csv.Error as exc:  # a stray carriage return inside a field, a NUL: not CSV we can read
        row = max(reader.line_num, 1)
        raise ImportRejected(f"CSV 第 {row} 行无法解析", errors=[{"row": row, "reason": str(exc)}]) from exc


def write_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


class Directory:
    NAMES_TTL_S = 30.0

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        on_places_changed: Callable[[str], None] = lambda _: None,
        on_people_changed: Callable[[], None] = lambda: None,
    ) -> None:
        self._uow = uow
        self._on_places_changed = on_places_changed
        self._on_people_changed = on_people_changed
        self._names: dict[str, tuple[float, dict[str, str]]] = {}

    def staff_names(self, street: str) -> dict[str, str]:
        """Staff id → name, cached for a little while: pages show names, not ids."""
        hit = self._names.get(street)
        if hit is not None and time.monotonic() - hit[0] < self.NAMES_TTL_S:
            return hit[1]
        with self._uow() as uow:
            names = {s.id: s.name for s in uow.people.staff(street)}
        self._names[street] = (time.monotonic(), names)
        return names

    def _people_changed(self, street: str) -> None:
        self._names.pop(street, None)
        self._on_people_changed()

    # --- places -----------------------------------------------------------------------------------

    def import_places(self, actor: Actor, street: str, collection: Mapping[str, Any]) -> int:
        _may_edit(actor, street)
        with self._uow() as uow:
            places = places_from_geojson(collection, street, uow.places.kinds(street))
            streets = [p for p in places if p.kind is PlaceKind.STREET]
            for place in streets:
                uow.config.ensure_street(street, place.name, str(place.props.get("district", "")))
            count = uow.places.upsert(places)
            uow.commit()
        self._on_places_changed(street)
        return count

    def places(self, street: str, kind: PlaceKind | None = None, parent: str | None = None) -> list[Place]:
        with self._uow() as uow:
            return uow.places.list(street, kind, parent)

    def export_places(self, street: str, kind: PlaceKind | None = None) -> dict[str, Any]:
        return {"type": "FeatureCollection", "features": [p.as_feature() for p in self.places(street, kind)]}

    # --- people -----------------------------------------------------------------------------------

    def import_departments(self, actor: Actor, street: str, text: str) -> int:
        _may_edit(actor, street)
        rows = read_csv(text, ("code", "name"))
        with self._uow() as uow:
            count = uow.people.upsert_departments(departments_from_rows(rows, street))
            uow.commit()
        self._people_changed(street)
        return count

    def import_staff(self, actor: Actor, street: str, text: str) -> int:
        _may_edit(actor, street)
        rows = read_csv(text, ("id", "name", "department", "posts"))
        with self._uow() as uow:
            departments = [d.code for d in uow.people.departments(street)]
            count = uow.people.upsert_staff(staff_from_rows(rows, street, departments))
            uow.commit()
        self._people_changed(street)
        return count

    def import_pairs(self, actor: Actor, street: str, text: str) -> int:
        _may_edit(actor, street)
        rows = read_csv(text, ("area", "a_staff", "b_staff"))
        with self._uow() as uow:
            areas = [p.code for p in uow.places.list(street, PlaceKind.AREA)]
            staff = [s.id for s in uow.people.staff(street)]
            count = uow.people.replace_pairs(street, ab_pairs_from_rows(rows, street, areas, staff))
            uow.commit()
        self._people_changed(street)
        return count

    def import_roster(self, actor: Actor, street: str, text: str) -> int:
        _may_edit(actor, street)
        rows = read_csv(text, ("staff", "post", "start", "end"))
        with self._uow() as uow:
            areas = [p.code for p in uow.places.list(street, PlaceKind.AREA)]
            staff = [s.id for s in uow.people.staff(street)]
            count = uow.people.add_shifts(shifts_from_rows(rows, street, staff, areas))
            uow.commit()
        self._people_changed(street)
        return count

    def export_departments(self, street: str) -> str:
        with self._uow() as uow:
            rows = [
                {"code": d.code, "name": d.name, "kind": d.kind.value} for d in uow.people.departments(street)
            ]
        return write_csv(rows, DEPARTMENT_COLUMNS)

    def export_staff(self, street: str) -> str:
        with self._uow() as uow:
            rows = [
                {
                    "id": s.id,
                    "name": s.name,
                    "phone": s.phone,
                    "department": s.department,
                    "posts": "|".join(sorted(p.value for p in s.posts)),
                    "street": s.street,
                    "active": "true" if s.active else "false",
                }
                for s in uow.people.staff(street)
            ]
        return write_csv(rows, STAFF_COLUMNS)

    def export_pairs(self, street: str) -> str:
        with self._uow() as uow:
            rows = [
                {
                    "area": p.area,
                    "a_staff": p.a_staff,
                    "b_staff": p.b_staff,
                    "swap_every_days": str(p.swap_every_days),
                    "anchor_date": p.anchor_date.isoformat(),
                }
                for p in uow.people.pairs(street)
            ]
        return write_csv(rows, PAIR_COLUMNS)

    def export_roster(self, street: str, start: datetime, end: datetime) -> str:
        with self._uow() as uow:
            rows = [
                {
                    "staff": s.staff,
                    "post": s.post.value,
                    "start": local(s.start).isoformat(),
                    "end": local(s.end).isoformat(),
                    "area": s.area or "",
                }
                for s in uow.people.shifts(street, start, end)
            ]
        return write_csv(rows, SHIFT_COLUMNS)

    # --- where people are, and who is away ------------------------------------------------------------

    def check_in(self, actor: Actor, point: Point, at: datetime) -> None:
        """A staff member's position from the staff app: routing sends the nearest free person."""
        if actor.staff_id is None or len(actor.streets) != 1:
            raise InvalidInput("只有街道工作人员本人可以签到定位", code="not_staff")
        (street,) = actor.streets
        with self._uow() as uow:
            uow.people.set_position(street, actor.staff_id, point, at)
            uow.commit()

    def add_absence(
        self, actor: Actor, street: str, staff_id: str, start: datetime, end: datetime, reason: str
    ) -> Absence:
        _may_edit(actor, street)
        absence = Absence(staff_id, start, end, street, reason.strip() or "请假")
        with self._uow() as uow:
            try:
                person = uow.people.get_staff(staff_id)
            except NotFound:
                raise InvalidInput(f"人员 {staff_id} 不存在", staff=staff_id) from None
            if person.street != street:
                raise InvalidInput(f"人员 {staff_id} 不属于本街道", staff=staff_id)
            absence = replace(absence, id=uow.people.add_absence(absence))
            uow.commit()
        self._people_changed(street)
        return absence

    def absences(self, street: str, start: datetime, end: datetime) -> list[Absence]:
        with self._uow() as uow:
            return uow.people.absences(street, start, end)

    def remove_absence(self, actor: Actor, street: str, absence_id: int) -> None:
        _may_edit(actor, street)
        with self._uow() as uow:
            if not uow.people.remove_absence(street, absence_id):
                raise NotFound(f"请假记录 {absence_id} 不存在", absence=absence_id)
            uow.commit()
        self._people_changed(street)


def _may_edit(actor: Actor, street: str) -> None:
    require_role(actor, SUPERVISORS, "修改街道基础数据")
    require_street(actor, street)

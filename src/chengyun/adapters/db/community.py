"""Storage of the community programs: each domain record type maps to one table whose columns are its
fields (enums as their values, tuples as JSON lists, local times as HH:MM)."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from datetime import time
from enum import Enum
from typing import Any, TypeVar

from sqlalchemy import Row, Table, delete, insert, select
from sqlalchemy.exc import IntegrityError

from chengyun.adapters.db import tables as t
from chengyun.adapters.db.repositories import _Repository
from chengyun.domain.community.jobs import Application, JobFair, JobPost
from chengyun.domain.community.market import Booking, Market, ServiceSeries, Stall, Venue
from chengyun.domain.community.orgs import Organisation
from chengyun.domain.community.partygrid import PartyMember, PartyUnit
from chengyun.domain.community.renovation import Household, MilestoneRecord, Participant, RenovationProject
from chengyun.domain.community.volunteers import Signup, VolunteerProject, VolunteerShift
from chengyun.domain.errors import Conflict, NotFound

R = TypeVar("R")

TABLES: dict[type[Any], Table] = {
    Organisation: t.community_orgs,
    ServiceSeries: t.market_series,
    Venue: t.market_venues,
    Market: t.markets,
    Stall: t.market_stalls,
    Booking: t.market_bookings,
    VolunteerProject: t.volunteer_projects,
    VolunteerShift: t.volunteer_shifts,
    Signup: t.volunteer_signups,
    JobFair: t.job_fairs,
    JobPost: t.job_posts,
    Application: t.job_applications,
    RenovationProject: t.renovation_projects,
    MilestoneRecord: t.renovation_milestones,
    Household: t.renovation_households,
    Participant: t.renovation_people,
    PartyUnit: t.party_units,
    PartyMember: t.party_members,
}
NOT_FOUND = {
    Organisation: "驻区单位",
    ServiceSeries: "服务系列",
    Venue: "服务阵地",
    Market: "集市",
    Stall: "摊位",
    Booking: "预约",
    VolunteerProject: "志愿项目",
    VolunteerShift: "志愿班次",
    Signup: "志愿报名",
    JobFair: "招聘会",
    JobPost: "岗位",
    Application: "应聘记录",
    RenovationProject: "改造项目",
    Household: "居民户",
    PartyUnit: "党组织",
    PartyMember: "党员",
}


def _to_db(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return value


def _converter(hint: Any) -> Callable[[Any], Any]:
    """How a column value becomes the field's type."""
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        (inner,) = [a for a in typing.get_args(hint) if a is not type(None)]
        convert = _converter(inner)
        return lambda v: None if v is None else convert(v)
    if typing.get_origin(hint) is tuple:
        return tuple
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint
    if hint is time:
        return time.fromisoformat
    return lambda v: v


_FIELDS: dict[type[Any], tuple[tuple[str, Callable[[Any], Any]], ...]] = {}


def _fields(kind: type[Any]) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    """Each field's name and the conversion of its column value (derived once per type)."""
    found = _FIELDS.get(kind)
    if found is None:
        hints = typing.get_type_hints(kind)
        found = _FIELDS[kind] = tuple((f.name, _converter(hints[f.name])) for f in dataclasses.fields(kind))
    return found


def _row(record: Any, with_id: bool = True) -> dict[str, Any]:
    out = {name: _to_db(getattr(record, name)) for name, _ in _fields(type(record))}
    if not with_id:
        out.pop("id", None)
    return out


def _record(kind: type[R], row: Row[Any]) -> R:
    values = row._mapping
    return kind(**{name: convert(values[name]) for name, convert in _fields(kind)})


class SqlCommunityRepository(_Repository):
    def save(self, records: Sequence[Any]) -> int:
        if not records:
            return 0
        self._upsert(TABLES[type(records[0])], [_row(r) for r in records])
        return len(records)

    def replace(self, kind: type[Any], street: str, records: Sequence[Any]) -> int:
        table = TABLES[kind]
        self._run(delete(table).where(table.c.street == street))
        if records:
            self._run(insert(table), [_row(r) for r in records])
        return len(records)

    def add(self, entry: R) -> R:
        table = TABLES[type(entry)]
        try:
            with self._conn.begin_nested():  # a refused row leaves the transaction usable
                result = self._run(insert(table).returning(table.c.id), _row(entry, with_id=False))
                new_id = int(result.scalar_one())
        except IntegrityError as exc:
            raise Conflict("记录重复：同一人在同一场次（班次）只能有一条有效记录", code="duplicate") from exc
        return dataclasses.replace(entry, id=new_id)  # type: ignore[type-var]

    def add_all(self, entries: Sequence[Any]) -> int:
        if not entries:
            return 0
        table = TABLES[type(entries[0])]
        try:
            self._run(insert(table), [_row(e, with_id=False) for e in entries])
        except IntegrityError as exc:
            raise Conflict("记录重复：同一人在同一场次（班次）只能有一条有效记录", code="duplicate") from exc
        return len(entries)

    def find(
        self,
        kind: type[R],
        street: str,
        *,
        where: Mapping[str, object] | None = None,
        between: tuple[str, object, object] | None = None,
        lock: bool = False,
    ) -> list[R]:
        table = TABLES[kind]
        statement = select(table).where(table.c.street == street)
        for name, value in (where or {}).items():
            if isinstance(value, list | tuple | set | frozenset):
                statement = statement.where(table.c[name].in_([_to_db(v) for v in value]))
            else:
                statement = statement.where(table.c[name] == _to_db(value))
        if between is not None:
            name, low, high = between
            statement = statement.where(table.c[name].between(low, high))
        statement = statement.order_by(*table.primary_key.columns)
        if lock:
            statement = statement.with_for_update()
        return [_record(kind, row) for row in self._run(statement)]

    def get(self, kind: type[R], street: str | None, code: str, *, lock: bool = False) -> R:
        table = TABLES[kind]
        statement = select(table).where(table.c.code == code)
        if street is not None:
            statement = statement.where(table.c.street == street)
        if lock:
            statement = statement.with_for_update()
        row = self._run(statement.limit(1)).first()
        if row is None:
            raise NotFound(f"{NOT_FOUND.get(kind, '记录')} {code} 不存在", what=kind.__name__, key=code)
        return _record(kind, row)

    def account(self, token_id: str) -> tuple[str, str] | None:
        c = t.community_accounts.c
        row = self._run(select(c.street, c.org).where(c.token_id == token_id)).first()
        return None if row is None else (row.street, row.org)

    def bind_account(self, token_id: str, street: str, org: str) -> None:
        self._upsert(t.community_accounts, [{"token_id": token_id, "street": street, "org": org}])

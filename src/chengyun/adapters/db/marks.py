"""The order_marks projection: each order's assessed timeline marks, kept as one JSON text beside the
timeline and written in the same transaction as its entries (SqlOrderRepository.flush_timeline), so it
never disagrees with the timeline. Assessment then loads a period from one narrow row per order.

The text is a JSON array of [at, kind, value] (domain.assessment.Mark); migration 0011 backfilled the
orders stored before it from their timelines (with RFC 3339 times of its own dialect: the same instants).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from sqlalchemy import Connection, bindparam, insert, select, update

from chengyun.adapters.db import tables as t
from chengyun.domain.assessment import Mark, mark_of

_encode = msgspec.json.Encoder().encode
decode = msgspec.json.Decoder(list[Mark]).decode

_ID = t.order_marks.c.order_id
# Built once: building a select per call cost more than running it.
_STORED = select(_ID, t.order_marks.c.marks).where(_ID.in_(bindparam("ids", expanding=True)))
INSERT = insert(t.order_marks)
_UPDATE = update(t.order_marks).where(_ID == bindparam("id")).values(marks=bindparam("text"))  # noqa: SIM300


def encode(marks: Sequence[Mark]) -> str:
    return _encode(marks).decode()


def project(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Append the marks among timeline `rows` (about to be inserted, each order's in seq order) to their
    orders' projections. An order whose first entry is among the rows has none yet: nothing to read.
    The projections stored already are updated here; the new ones are returned, rows of `INSERT`, for
    the caller to write with the entries (on PostgreSQL in the commit's round trip)."""
    added: dict[int, list[Mark]] = {}
    fresh: set[int] = set()
    for row in rows:
        order_id = row["order_id"]
        if row["seq"] == 1:
            fresh.add(order_id)
        mark = mark_of(row["at"], row["kind"], row["data"])
        if mark is not None:
            added.setdefault(order_id, []).append(mark)
    if not added:
        return []
    stored: dict[int, str] = {}
    known = [order_id for order_id in added if order_id not in fresh]
    if known:
        found = connection.execute(_STORED, {"ids": known})
        stored = {order_id: text for order_id, text in found}
    inserts = [
        {"order_id": order_id, "marks": encode(marks)}
        for order_id, marks in added.items()
        if order_id not in stored
    ]
    updates = [
        {"id": order_id, "text": encode([*decode(stored[order_id]), *added[order_id]])}
        for order_id in added
        if order_id in stored
    ]
    if updates:
        connection.execute(_UPDATE, updates)
    return inserts

"""The order_marks projection: each order's assessed timeline entries as one JSON text, backfilled here
from the timelines already stored; assessment reads it instead of the timeline, so the partial index
that served that read (0008) goes.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# domain/assessment.py MARK_KEYS as they are now (a migration does not follow later edits): the kinds
# assessment reads and the one key of each one's data it keeps.
_KEYS = {
    "dispatched": "assignee",
    "reassigned": "assignee",
    "returned": "previous",
    "reopened": "previous_clocks",
    "loop_closed": "satisfaction",
    "closed": None,
}
_ASSESSED = "kind IN ('dispatched', 'reassigned', 'returned', 'reopened', 'loop_closed', 'closed')"


def _value(path: str) -> str:
    whens = " ".join(f"WHEN '{kind}' THEN {path.format(key)}" for kind, key in _KEYS.items() if key)
    return f"CASE t.kind {whens} END"


# Each order's marks as [at, kind, value] in timeline order, times as RFC 3339 (SQLite stores UTC text).
_BACKFILL = {
    "sqlite": f"""
INSERT INTO order_marks (order_id, marks)
SELECT t.order_id, json_group_array(json_array(replace(t.at, ' ', 'T') || 'Z', t.kind,
                                               {_value("t.data -> '$.{}'")}))
FROM (SELECT * FROM timeline WHERE {_ASSESSED} ORDER BY order_id, seq) AS t
GROUP BY t.order_id
""",
    "postgresql": f"""
INSERT INTO order_marks (order_id, marks)
SELECT t.order_id, json_agg(json_build_array(t.at, t.kind, {_value("t.data -> '{}'")}) ORDER BY t.seq)::text
FROM timeline AS t WHERE t.{_ASSESSED}
GROUP BY t.order_id
""",
}


def upgrade() -> None:
    op.create_table(
        "order_marks",
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("marks", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_order_marks_order_id_orders")),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_order_marks")),
    )
    op.execute(_BACKFILL[op.get_bind().dialect.name])
    op.drop_index("ix_timeline_assessed", table_name="timeline")


def downgrade() -> None:
    op.create_index(
        "ix_timeline_assessed",
        "timeline",
        ["order_id", "seq"],
        unique=False,
        postgresql_where=sa.text(_ASSESSED),
        sqlite_where=sa.text(_ASSESSED),
    )
    op.drop_table("order_marks")

"""Assessment reads each order's dispatches, returns, reopenings and callbacks: a partial index holds just
those timeline entries, so a year of orders (a million entries, two thirds of them warnings, notes and
the like) is gathered without reading the rest.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The kinds of domain/assessment.py MARK_KEYS, as they are now: a migration does not follow later edits.
_ASSESSED = "kind IN ('dispatched', 'reassigned', 'returned', 'reopened', 'loop_closed', 'closed')"


def upgrade() -> None:
    op.create_index(
        "ix_timeline_assessed",
        "timeline",
        ["order_id", "seq"],
        unique=False,
        postgresql_where=sa.text(_ASSESSED),
        sqlite_where=sa.text(_ASSESSED),
    )


def downgrade() -> None:
    op.drop_index("ix_timeline_assessed", table_name="timeline")

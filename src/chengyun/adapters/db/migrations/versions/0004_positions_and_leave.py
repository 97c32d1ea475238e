"""Where staff last checked in, and who is on leave: what routing needs beyond the roster.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "staff_positions",
        sa.Column("staff", sa.String(length=64), nullable=False),
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("staff", name=op.f("pk_staff_positions")),
    )
    op.create_index("ix_staff_positions_street_at", "staff_positions", ["street", "at"], unique=False)
    op.create_table(
        "absences",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("staff", sa.String(length=64), nullable=False),
        sa.Column("start_at", UTC_DATETIME, nullable=False),
        sa.Column("end_at", UTC_DATETIME, nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_absences")),
    )
    op.create_index(
        "ix_absences_street_end_start", "absences", ["street", "end_at", "start_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_absences_street_end_start", table_name="absences")
    op.drop_table("absences")
    op.drop_index("ix_staff_positions_street_at", table_name="staff_positions")
    op.drop_table("staff_positions")

"""Dispatchers' corrections of the complaint classifier, kept as training examples per street.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "training_examples",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_examples")),
    )
    op.create_index("ix_training_examples_street_id", "training_examples", ["street", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_training_examples_street_id", table_name="training_examples")
    op.drop_table("training_examples")

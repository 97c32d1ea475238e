"""Duplicate candidates by (street, category, received_at): the index replaces (street, category).

Every new order looks for live orders of its category received in the last 72 hours. With only
(street, category), PostgreSQL read every order the category ever had in the street, so intake slowed
down as the table grew; the composite index stops at the window's start and yields the rows newest
first. It also serves every query the (street, category) index served, so that one is dropped.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_orders_street_category_received",
        "orders",
        ["street", "category", "received_at"],
        unique=False,
    )
    op.drop_index("ix_orders_street_category", table_name="orders")


def downgrade() -> None:
    op.create_index("ix_orders_street_category", "orders", ["street", "category"], unique=False)
    op.drop_index("ix_orders_street_category_received", table_name="orders")

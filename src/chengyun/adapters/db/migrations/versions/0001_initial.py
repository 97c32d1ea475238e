"""The initial schema: streets, places, people, configuration, orders and their timeline, keys, tokens.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types of tables.py at this revision: a migration must not change when
# the live code does. UtcDateTime's storage is a plain timezone-aware DATETIME / timestamptz.
UTC_DATETIME = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "ab_pairs",
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("area", sa.String(length=64), nullable=False),
        sa.Column("a_staff", sa.String(length=64), nullable=False),
        sa.Column("b_staff", sa.String(length=64), nullable=False),
        sa.Column("swap_every_days", sa.Integer(), nullable=False),
        sa.Column("anchor_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("street", "area", name=op.f("pk_ab_pairs")),
    )
    op.create_table(
        "categories",
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("major", sa.String(length=200), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("colour", sa.String(length=16), nullable=False),
        sa.Column("keywords", JSON, nullable=False),
        sa.PrimaryKeyConstraint("street", "code", name=op.f("pk_categories")),
    )
    op.create_table(
        "deadline_policies",
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("body", JSON, nullable=False),
        sa.PrimaryKeyConstraint("street", "position", name=op.f("pk_deadline_policies")),
    )
    op.create_table(
        "departments",
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("street", "code", name=op.f("pk_departments")),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("area", sa.String(length=64), nullable=True),
        sa.Column("grid", sa.String(length=64), nullable=True),
        sa.Column("building", sa.String(length=64), nullable=True),
        sa.Column("colour", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("policy_code", sa.String(length=64), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("plan", sa.Text(), nullable=True),
        sa.Column("planned_for", UTC_DATETIME, nullable=True),
        sa.Column("satisfaction", sa.String(length=32), nullable=True),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("suspended_from", sa.String(length=32), nullable=True),
        sa.Column("suspended_at", UTC_DATETIME, nullable=True),
        sa.Column("merged_into", sa.Integer(), nullable=True),
        sa.Column("received_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("complainants", JSON, nullable=False),
        sa.Column("attachments", JSON, nullable=False),
        sa.Column("clocks", JSON, nullable=False),
        sa.Column("extensions", JSON, nullable=False),
        sa.Column("supervisions", JSON, nullable=False),
        sa.Column("next_due_at", UTC_DATETIME, nullable=True),
        sa.Column("next_alert_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_orders_assignee_state", "orders", ["assignee", "state"], unique=False)
    op.create_index(
        "ix_orders_next_alert_at",
        "orders",
        ["next_alert_at"],
        unique=False,
        postgresql_where=sa.text("next_alert_at IS NOT NULL"),
        sqlite_where=sa.text("next_alert_at IS NOT NULL"),
    )
    op.create_index("ix_orders_next_due_at", "orders", ["next_due_at"], unique=False)
    op.create_index("ix_orders_received", "orders", ["received_at"], unique=False)
    op.create_index("ix_orders_street_area", "orders", ["street", "area"], unique=False)
    op.create_index("ix_orders_street_category", "orders", ["street", "category"], unique=False)
    op.create_index("ix_orders_street_colour", "orders", ["street", "colour"], unique=False)
    op.create_index("ix_orders_street_external", "orders", ["street", "external_id"], unique=False)
    op.create_index("ix_orders_street_received", "orders", ["street", "received_at"], unique=False)
    op.create_index("ix_orders_street_state", "orders", ["street", "state"], unique=False)
    op.create_table(
        "places",
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("parent", sa.String(length=64), nullable=True),
        sa.Column("props", JSON, nullable=False),
        sa.Column("geometry", JSON, nullable=False),
        sa.PrimaryKeyConstraint("street", "code", name=op.f("pk_places")),
    )
    op.create_index("ix_places_street_kind", "places", ["street", "kind"], unique=False)
    op.create_index("ix_places_street_parent", "places", ["street", "parent"], unique=False)
    op.create_table(
        "shifts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("staff", sa.String(length=64), nullable=False),
        sa.Column("post", sa.String(length=32), nullable=False),
        sa.Column("start_at", UTC_DATETIME, nullable=False),
        sa.Column("end_at", UTC_DATETIME, nullable=False),
        sa.Column("area", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shifts")),
    )
    op.create_index("ix_shifts_street_end_start", "shifts", ["street", "end_at", "start_at"], unique=False)
    op.create_table(
        "staff",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("posts", JSON, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
    )
    op.create_index("ix_staff_street", "staff", ["street"], unique=False)
    op.create_table(
        "streets",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("district", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_streets")),
    )
    op.create_table(
        "tokens",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("streets", JSON, nullable=False),
        sa.Column("staff_id", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=True),
        sa.Column("revoked_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_tokens_token_hash")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("client", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=128), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_idempotency_keys_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("client", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_table(
        "timeline",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("actor_name", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("data", JSON, nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_timeline_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timeline")),
        sa.UniqueConstraint("order_id", "seq", name="uq_timeline_order_seq"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_timeline_street_id", "timeline", ["street", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_timeline_street_id", table_name="timeline")
    op.drop_table("timeline")
    op.drop_table("idempotency_keys")
    op.drop_table("tokens")
    op.drop_table("streets")
    op.drop_index("ix_staff_street", table_name="staff")
    op.drop_table("staff")
    op.drop_index("ix_shifts_street_end_start", table_name="shifts")
    op.drop_table("shifts")
    op.drop_index("ix_places_street_parent", table_name="places")
    op.drop_index("ix_places_street_kind", table_name="places")
    op.drop_table("places")
    op.drop_index("ix_orders_street_state", table_name="orders")
    op.drop_index("ix_orders_street_received", table_name="orders")
    op.drop_index("ix_orders_street_external", table_name="orders")
    op.drop_index("ix_orders_street_colour", table_name="orders")
    op.drop_index("ix_orders_street_category", table_name="orders")
    op.drop_index("ix_orders_street_area", table_name="orders")
    op.drop_index("ix_orders_received", table_name="orders")
    op.drop_index("ix_orders_next_due_at", table_name="orders")
    op.drop_index(
        "ix_orders_next_alert_at",
        table_name="orders",
        postgresql_where=sa.text("next_alert_at IS NOT NULL"),
        sqlite_where=sa.text("next_alert_at IS NOT NULL"),
    )
    op.drop_index("ix_orders_assignee_state", table_name="orders")
    op.drop_table("orders")
    op.drop_table("departments")
    op.drop_table("deadline_policies")
    op.drop_table("categories")
    op.drop_table("ab_pairs")

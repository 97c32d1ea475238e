"""Five colours, supervision and notifications: street rule sets (grading, supervision, notifications),
what automatic grading remembers per order, urge and circulated notices, the in-app feed, outgoing
deliveries (webhook, SMS), the timeline readers' places, each lateness of a person's orders, and an index
for earlier reports at a place.

The timeline's readers (the notifier, the circulation of people) start at its newest entry: upgrading
an existing database tells nobody about its past.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "street_settings",
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("body", JSON, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("street", "key", name=op.f("pk_street_settings")),
    )
    op.create_table(
        "order_grades",
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("reported", sa.String(length=16), nullable=True),
        sa.Column("repeats", sa.Integer(), nullable=False),
        sa.Column("sticky", JSON, nullable=False),
        sa.Column("manual", sa.String(length=16), nullable=True),
        sa.Column("absorbed", JSON, nullable=False),
        sa.Column("graded_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_order_grades_order_id_orders")),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_order_grades")),
    )
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("staff", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column("issued_by_name", sa.String(length=200), nullable=False),
        sa.Column("issued_at", UTC_DATETIME, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=True),
        sa.Column("data", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint("street", "key", name="uq_notices_street_key"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_notices_street_issued", "notices", ["street", "issued_at"], unique=False)
    op.create_index("ix_notices_staff_kind", "notices", ["staff", "kind"], unique=False)
    op.create_table(
        "notice_orders",
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["notices.id"], name=op.f("fk_notice_orders_notice_id_notices")
        ),
        sa.PrimaryKeyConstraint("notice_id", "order_id", name=op.f("pk_notice_orders")),
    )
    op.create_index("ix_notice_orders_order", "notice_orders", ["order_id"], unique=False)
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("colour", sa.String(length=16), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("read_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("event_id", "recipient", name="uq_notifications_event_recipient"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_notifications_recipient_id", "notifications", ["recipient", "id"], unique=False)
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", UTC_DATETIME, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("sent_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("event_id", "channel", "target", name="uq_deliveries_event_channel_target"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_deliveries_status_next_try", "deliveries", ["status", "next_try_at"], unique=False)
    op.create_index("ix_deliveries_street_id", "deliveries", ["street", "id"], unique=False)
    notify_cursor = op.create_table(
        "notify_cursor",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_notify_cursor")),
    )
    newest = op.get_bind().execute(sa.text("SELECT COALESCE(MAX(id), 0) FROM timeline")).scalar_one()
    readers = ("notifier", "supervision")
    op.bulk_insert(notify_cursor, [{"name": name, "last_event_id": int(newest)} for name in readers])
    op.create_table(
        "lateness",
        sa.Column("event_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("staff", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_lateness")),
    )
    op.create_index(
        "ix_lateness_street_staff_event", "lateness", ["street", "staff", "event_id"], unique=False
    )
    op.create_index(
        "ix_orders_repeats",
        "orders",
        ["street", "category", "received_at", "lat", "lon", "building"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_orders_repeats", table_name="orders")
    op.drop_index("ix_lateness_street_staff_event", table_name="lateness")
    op.drop_table("lateness")
    op.drop_table("notify_cursor")
    op.drop_index("ix_deliveries_street_id", table_name="deliveries")
    op.drop_index("ix_deliveries_status_next_try", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_index("ix_notifications_recipient_id", table_name="notifications")
    op.drop_table("notifications")
    op.drop_index("ix_notice_orders_order", table_name="notice_orders")
    op.drop_table("notice_orders")
    op.drop_index("ix_notices_staff_kind", table_name="notices")
    op.drop_index("ix_notices_street_issued", table_name="notices")
    op.drop_table("notices")
    op.drop_table("order_grades")
    op.drop_table("street_settings")

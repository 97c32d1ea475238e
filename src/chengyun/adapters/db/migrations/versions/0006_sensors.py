"""Sensors: the registry, each sensor's live state, raw readings with minute and hour roll-ups, refused
payloads (dead letters), alarms and their history.

Readings are keyed by (sensor, quantity, time in epoch milliseconds), so a redelivered MQTT message adds
nothing; on SQLite they and the roll-ups are WITHOUT ROWID tables (the key is the row's only address).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types of tables.py at this revision.
UTC_DATETIME = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _buckets(name: str) -> None:
    op.create_table(
        name,
        sa.Column("sensor_id", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.String(length=64), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("minimum", sa.Float(), nullable=False),
        sa.Column("maximum", sa.Float(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("sensor_id", "quantity", "bucket", name=op.f(f"pk_{name}")),
        sqlite_with_rowid=False,
    )
    op.create_index(f"ix_{name}_bucket", name, ["bucket"], unique=False)


def upgrade() -> None:
    op.create_table(
        "sensors",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("watches", sa.String(length=64), nullable=False),
        sa.Column("watch_kind", sa.String(length=16), nullable=False),
        sa.Column("units", JSON, nullable=False),
        sa.Column("interval_s", sa.Float(), nullable=False),
        sa.Column("rules", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensors")),
    )
    op.create_index("ix_sensors_street_kind", "sensors", ["street", "kind"], unique=False)
    op.create_table(
        "sensor_registry",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("stamp", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sensor_registry")),
    )
    op.create_table(
        "sensor_live",
        sa.Column("sensor_id", sa.String(length=64), nullable=False),
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("last_ts", sa.BigInteger(), nullable=True),
        sa.Column("last_values", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("check_at", sa.BigInteger(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("sensor_id", name=op.f("pk_sensor_live")),
    )
    op.create_index(
        "ix_sensor_live_check_at",
        "sensor_live",
        ["check_at"],
        unique=False,
        postgresql_where=sa.text("check_at IS NOT NULL"),
        sqlite_where=sa.text("check_at IS NOT NULL"),
    )
    op.create_table(
        "readings",
        sa.Column("sensor_id", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("sensor_id", "quantity", "ts", name=op.f("pk_readings")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_readings_ts", "readings", ["ts"], unique=False)
    _buckets("readings_1m")
    _buckets("readings_1h")
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("received_at", UTC_DATETIME, nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("street", sa.String(length=64), nullable=True),
        sa.Column("sensor_id", sa.String(length=200), nullable=True),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("excerpt", sa.Text(), nullable=False),
        sa.Column("topic", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_dead_letters_street_id", "dead_letters", ["street", "id"], unique=False)
    op.create_index("ix_dead_letters_received_at", "dead_letters", ["received_at"], unique=False)
    op.create_table(
        "alarms",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sensor_id", sa.String(length=64), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("rule_kind", sa.String(length=16), nullable=False),
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("colour", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("raised_at", UTC_DATETIME, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("sensor_label", sa.String(length=200), nullable=False),
        sa.Column("watches", sa.String(length=64), nullable=True),
        sa.Column("last_raised_at", UTC_DATETIME, nullable=True),
        sa.Column("clear_pending_since", UTC_DATETIME, nullable=True),
        sa.Column("clear_reason", sa.Text(), nullable=True),
        sa.Column("cleared_at", UTC_DATETIME, nullable=True),
        sa.Column("acknowledged_at", UTC_DATETIME, nullable=True),
        sa.Column("acknowledged_by", sa.String(length=200), nullable=True),
        sa.Column("flaps", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarms")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_alarms_sensor_rule_id", "alarms", ["sensor_id", "rule_id", "id"], unique=False)
    op.create_index("ix_alarms_street_raised", "alarms", ["street", "raised_at"], unique=False)
    op.create_index("ix_alarms_raised", "alarms", ["raised_at"], unique=False)
    op.create_index(
        "ix_alarms_clear_pending_since",
        "alarms",
        ["clear_pending_since"],
        unique=False,
        postgresql_where=sa.text("clear_pending_since IS NOT NULL"),
        sqlite_where=sa.text("clear_pending_since IS NOT NULL"),
    )
    op.create_table(
        "alarm_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alarm_id", sa.Integer(), nullable=False),
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("colour", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["alarm_id"], ["alarms.id"], name=op.f("fk_alarm_events_alarm_id_alarms")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_events")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_alarm_events_alarm_id", "alarm_events", ["alarm_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_alarm_events_alarm_id", table_name="alarm_events")
    op.drop_table("alarm_events")
    for index in (
        "ix_alarms_clear_pending_since",
        "ix_alarms_raised",
        "ix_alarms_street_raised",
        "ix_alarms_sensor_rule_id",
    ):
        op.drop_index(index, table_name="alarms")
    op.drop_table("alarms")
    op.drop_index("ix_dead_letters_received_at", table_name="dead_letters")
    op.drop_index("ix_dead_letters_street_id", table_name="dead_letters")
    op.drop_table("dead_letters")
    for name in ("readings_1h", "readings_1m"):
        op.drop_index(f"ix_{name}_bucket", table_name=name)
        op.drop_table(name)
    op.drop_index("ix_readings_ts", table_name="readings")
    op.drop_table("readings")
    op.drop_index("ix_sensor_live_check_at", table_name="sensor_live")
    op.drop_table("sensor_live")
    op.drop_table("sensor_registry")
    op.drop_index("ix_sensors_street_kind", table_name="sensors")
    op.drop_table("sensors")

"""Community programs: organisations (驻区单位) and stall holders' accounts; the convenience market
(series, venues, markets with RRULE schedules, stalls, bookings); volunteer projects, shifts and sign-ups;
job fairs, posts and applications; renovation projects, milestones, households and the people involved;
the party-building grid's units and members.

Partial unique indexes refuse a second active booking (or sign-up) of one resident at one stall and session
(one shift), whatever the service checked before.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types of tables.py at this revision.
UTC_DATETIME = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "community_accounts",
        sa.Column("token_id", sa.String(length=64), nullable=False),
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("org", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("token_id", name=op.f("pk_community_accounts")),
    )
    op.create_table(
        "community_orgs",
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sector", sa.String(length=200), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("street", "code", name=op.f("pk_community_orgs")),
    )
    op.create_table(
        "job_applications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("post", sa.String(length=64), nullable=False),
        sa.Column("fair", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_applications")),
        sa.UniqueConstraint("code", name=op.f("uq_job_applications_code")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_job_applications_street_phone", "job_applications", ["street", "phone"], unique=False)
    op.create_index("ix_job_applications_street_post", "job_applications", ["street", "post"], unique=False)
    op.create_table(
        "job_fairs",
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("venue", sa.String(length=64), nullable=False),
        sa.Column("starts_at", UTC_DATETIME, nullable=False),
        sa.Column("ends_at", UTC_DATETIME, nullable=False),
        sa.Column("market", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("street", "code", name=op.f("pk_job_fairs")),
    )
    op.create_table(
        "job_posts",
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("fair", sa.String(length=64), nullable=False),
        sa.Column("employer", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("openings", sa.Integer(), nullable=False),
        sa.Column("special", sa.String(length=16), nullable=False),
        sa.Column("salary", sa.String(length=200), nullable=False),
        sa.Column("requirements", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("street", "code", name=op.f("pk_job_posts")),
    )
    op.create_table(
        "market_bookings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("stall", sa.String(length=64), nullable=False),
        sa.Column("market", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("slot_at", UTC_DATETIME, nullable=True),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("attended_at", UTC_DATETIME, nullable=True),
        sa.Column("cancelled_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_bookings")),
        sa.UniqueConstraint("code", name=op.f("uq_market_bookings_code")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_market_bookings_phone_day", "market_bookings", ["phone", "day"], unique=False)
    op.create_index("ix_market_bookings_street_day", "market_bookings", ["street", "day"], unique=False)
    op.create_index(
        "ix_market_bookings_street_stall_day", "market_bookings", ["street", "stall", "day"], unique=False
    )
    op.create_index(
        "ux_market_bookings_active",
        "market_bookings",
        ["street", "stall", "day", "phone"],
        unique=True,
        postgresql_where=sa.text("status != 'cancelled'"),
        sqlite_where=sa.text("status != 'cancelled'"),
    )
    op.create_index(
        "ux_market_bookings_number", "market_bookings", ["street", "stall", "day", "number"], unique=True
    )
    op.create_table(
        "market_series",
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("zone", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("street", "code", name=op.f("pk_market_series")),
    )
    op.create_table(
        "market_stalls",
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("market", sa.String(length=64), nullable=False),
        sa.Column("series", sa.String(length=64), nullable=False),
        sa.Column("org", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("slot_minutes", sa.Integer(), nullable=False),
        sa.Column(
            "topics",
            JSON,
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("street", "code", name=op.f("pk_market_stalls")),
    )
    op.create_table(
        "market_venues",
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("level", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("place", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("street", "code", name=op.f("pk_market_venues")),
    )
    op.create_table(
        "markets",
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("venue", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.String(length=200), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("opens", sa.String(length=8), nullable=False),
        sa.Column("closes", sa.String(length=8), nullable=False),
        sa.Column("booking_days", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("street", "code", name=op.f("pk_markets")),
    )
    op.create_table(
        "party_members",
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("post", sa.String(length=40), nullable=False),
        sa.Column("leads", sa.Boolean(), nullable=False),
        sa.Column("duties", sa.Text(), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("street", "code", name=op.f("pk_party_members")),
    )
    op.create_table(
        "party_units",
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("parent", sa.String(length=64), nullable=False),
        sa.Column(
            "places",
            JSON,
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("street", "code", name=op.f("pk_party_units")),
    )
    op.create_table(
        "renovation_households",
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("project", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("building", sa.String(length=64), nullable=False),
        sa.Column("room", sa.String(length=64), nullable=False),
        sa.Column("head", sa.String(length=40), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("consulted_on", sa.Date(), nullable=True),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("street", "project", "code", name=op.f("pk_renovation_households")),
    )
    op.create_table(
        "renovation_milestones",
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("project", sa.String(length=64), nullable=False),
        sa.Column("milestone", sa.String(length=64), nullable=False),
        sa.Column("planned", sa.Date(), nullable=True),
        sa.Column("done", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("street", "project", "milestone", name=op.f("pk_renovation_milestones")),
    )
    op.create_table(
        "renovation_people",
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("project", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("circle", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=200), nullable=False),
        sa.Column("org", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("street", "project", "code", name=op.f("pk_renovation_people")),
    )
    op.create_table(
        "renovation_projects",
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("area", sa.String(length=64), nullable=False),
        sa.Column(
            "buildings",
            JSON,
            nullable=False,
        ),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("street", "code", name=op.f("pk_renovation_projects")),
    )
    op.create_table(
        "volunteer_projects",
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("org", sa.String(length=64), nullable=False),
        sa.Column("market", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("street", "code", name=op.f("pk_volunteer_projects")),
    )
    op.create_table(
        "volunteer_shifts",
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("project", sa.String(length=64), nullable=False),
        sa.Column("starts_at", UTC_DATETIME, nullable=False),
        sa.Column("ends_at", UTC_DATETIME, nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("street", "code", name=op.f("pk_volunteer_shifts")),
    )
    op.create_index(
        "ix_volunteer_shifts_street_starts_at", "volunteer_shifts", ["street", "starts_at"], unique=False
    )
    op.create_table(
        "volunteer_signups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("street", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("shift", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("checked_in_at", UTC_DATETIME, nullable=True),
        sa.Column("checked_out_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volunteer_signups")),
        sa.UniqueConstraint("code", name=op.f("uq_volunteer_signups_code")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_volunteer_signups_street_phone", "volunteer_signups", ["street", "phone"], unique=False
    )
    op.create_index(
        "ix_volunteer_signups_street_shift", "volunteer_signups", ["street", "shift"], unique=False
    )
    op.create_index(
        "ux_volunteer_signups_active",
        "volunteer_signups",
        ["street", "shift", "phone"],
        unique=True,
        postgresql_where=sa.text("status != 'cancelled'"),
        sqlite_where=sa.text("status != 'cancelled'"),
    )


def downgrade() -> None:
    op.drop_index(
        "ux_volunteer_signups_active",
        table_name="volunteer_signups",
        postgresql_where=sa.text("status != 'cancelled'"),
        sqlite_where=sa.text("status != 'cancelled'"),
    )
    op.drop_index("ix_volunteer_signups_street_shift", table_name="volunteer_signups")
    op.drop_index("ix_volunteer_signups_street_phone", table_name="volunteer_signups")
    op.drop_table("volunteer_signups")
    op.drop_index("ix_volunteer_shifts_street_starts_at", table_name="volunteer_shifts")
    op.drop_table("volunteer_shifts")
    op.drop_table("volunteer_projects")
    op.drop_table("renovation_projects")
    op.drop_table("renovation_people")
    op.drop_table("renovation_milestones")
    op.drop_table("renovation_households")
    op.drop_table("party_units")
    op.drop_table("party_members")
    op.drop_table("markets")
    op.drop_table("market_venues")
    op.drop_table("market_stalls")
    op.drop_table("market_series")
    op.drop_index("ux_market_bookings_number", table_name="market_bookings")
    op.drop_index(
        "ux_market_bookings_active",
        table_name="market_bookings",
        postgresql_where=sa.text("status != 'cancelled'"),
        sqlite_where=sa.text("status != 'cancelled'"),
    )
    op.drop_index("ix_market_bookings_street_stall_day", table_name="market_bookings")
    op.drop_index("ix_market_bookings_street_day", table_name="market_bookings")
    op.drop_index("ix_market_bookings_phone_day", table_name="market_bookings")
    op.drop_table("market_bookings")
    op.drop_table("job_posts")
    op.drop_table("job_fairs")
    op.drop_index("ix_job_applications_street_post", table_name="job_applications")
    op.drop_index("ix_job_applications_street_phone", table_name="job_applications")
    op.drop_table("job_applications")
    op.drop_table("community_orgs")
    op.drop_table("community_accounts")

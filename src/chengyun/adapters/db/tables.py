"""The schema as SQLAlchemy Core tables; the migrations create exactly this."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeEngine

# Stable constraint names, so later migrations (and SQLite batch mode) can refer to them.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC: naive UTC text on SQLite, timestamptz on PostgreSQL.

    Naive datetimes are refused on the way in: a naive value cannot be placed on the timeline.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: store timezone-aware datetimes only")
        value = value.astimezone(UTC)
        # SQLite compares datetimes as text: one offset-free format keeps the comparisons right.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _json() -> TypeEngine[Any]:
    return JSON().with_variant(JSONB(), "postgresql")


def _street() -> Column[str]:
    return Column("street", String(64), nullable=False)


streets = Table(
    "streets",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("district", String(200), nullable=False, default=""),
)

places = Table(
    "places",
    metadata,
    Column("street", String(64), primary_key=True),
    Column("code", String(64), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("name", String(200), nullable=False),
    Column("parent", String(64)),
    Column("props", _json(), nullable=False),
    Column("geometry", _json(), nullable=False),
    Index("ix_places_street_kind", "street", "kind"),
    Index("ix_places_street_parent", "street", "parent"),
)

departments = Table(
    "departments",
    metadata,
    Column("street", String(64), primary_key=True),
    Column("code", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
)

staff = Table(
    "staff",
    metadata,
    Column("id", String(64), primary_key=True),
    _street(),
    Column("name", String(200), nullable=False),
    Column("phone", String(32), nullable=False),
    Column("department", String(64), nullable=False),
    Column("posts", _json(), nullable=False),
    Column("active", Boolean(), nullable=False),
    Index("ix_staff_street", "street"),
)

ab_pairs = Table(
    "ab_pairs",
    metadata,
    Column("street", String(64), primary_key=True),
    Column("area", String(64), primary_key=True),
    Column("a_staff", String(64), nullable=False),
    Column("b_staff", String(64), nullable=False),
    Column("swap_every_days", Integer(), nullable=False),
    Column("anchor_date", Date(), nullable=False),
)

shifts = Table(
    "shifts",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    _street(),
    Column("staff", String(64), nullable=False),
    Column("post", String(32), nullable=False),
    Column("start_at", UtcDateTime(), nullable=False),
    Column("end_at", UtcDateTime(), nullable=False),
    Column("area", String(64)),
    # "Who is on duty at t": start_at <= t < end_at. Past shifts pile up, so lead with end_at: the
    # range end_at > t is the small, recent part of the roster.
    Index("ix_shifts_street_end_start", "street", "end_at", "start_at"),
)

categories = Table(
    "categories",
    metadata,
    Column("street", String(64), primary_key=True),
    Column("code", String(64), primary_key=True),
    # The catalogue's own order (as imported) is kept: lists and ties follow it.
    Column("position", Integer(), nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("major", String(200), nullable=False),
    Column("department", String(64), nullable=False),
    Column("colour", String(16), nullable=False),
    Column("keywords", _json(), nullable=False),
    Column("policy", String(64)),
    Column("description", Text(), nullable=False, server_default=""),
    Column("attributes", _json(), nullable=False, server_default="[]"),
)

deadline_policies = Table(
    "deadline_policies",
    metadata,
    Column("street", String(64), primary_key=True),
    Column("position", Integer(), primary_key=True),
    Column("body", _json(), nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    _street(),
    Column("source", String(32), nullable=False),
    Column("category", String(64), nullable=False),
    Column("description", Text(), nullable=False),
    Column("lon", Float()),
    Column("lat", Float()),
    Column("address", String(500)),
    Column("area", String(64)),
    Column("grid", String(64)),
    Column("building", String(64)),
    Column("colour", String(16), nullable=False),
    Column("state", String(32), nullable=False),
    Column("assignee", String(64)),
    Column("external_id", String(200)),
    Column("policy_code", String(64), nullable=False),
    Column("round", Integer(), nullable=False),
    Column("plan", Text()),
    Column("planned_for", UtcDateTime()),
    Column("satisfaction", String(32)),
    Column("escalation_level", Integer(), nullable=False),
    Column("suspended_from", String(32)),
    Column("suspended_at", UtcDateTime()),
    Column("merged_into", Integer()),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime()),
    Column("version", Integer(), nullable=False),
    Column("last_seq", Integer(), nullable=False),
    Column("complainants", _json(), nullable=False),
    Column("attachments", _json(), nullable=False),
    Column("clocks", _json(), nullable=False),
    Column("extensions", _json(), nullable=False),
    Column("supervisions", _json(), nullable=False),
    # Derived on every write so the database can answer "what is overdue / due" without the domain.
    Column("next_due_at", UtcDateTime()),
    Column("next_alert_at", UtcDateTime()),
    Index("ix_orders_street_received", "street", "received_at"),
    Index("ix_orders_received", "received_at"),
    Index("ix_orders_street_state", "street", "state"),
    Index("ix_orders_street_area", "street", "area"),
    # Duplicate candidates and earlier reports at a place: one category of one street, newest first,
    # back to the window's start; place and state decided from the index, only matching rows read.
    # It also serves everything the former (street, category) and (street, category, received_at) did.
    Index(
        "ix_orders_place",
        "street",
        "category",
        "received_at",
        "lat",
        "lon",
        "building",
        "address",
        "state",
    ),
    Index("ix_orders_street_colour", "street", "colour"),
    Index("ix_orders_assignee_state", "assignee", "state"),
    Index("ix_orders_street_external", "street", "external_id"),
    Index("ix_orders_next_due_at", "next_due_at"),
    # Only live orders have a next alert: the worker's index stays as small as the live workload.
    Index(
        "ix_orders_next_alert_at",
        "next_alert_at",
        postgresql_where=text("next_alert_at IS NOT NULL"),
        sqlite_where=text("next_alert_at IS NOT NULL"),
    ),
    sqlite_autoincrement=True,
)

timeline = Table(
    "timeline",
    metadata,
    # A global, increasing event id: live feeds resume from the last id they saw.
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("order_id", Integer(), ForeignKey("orders.id"), nullable=False),
    _street(),
    Column("seq", Integer(), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("actor_name", String(200), nullable=False),
    Column("state", String(32), nullable=False),
    Column("note", Text(), nullable=False),
    Column("lon", Float()),
    Column("lat", Float()),
    Column("data", _json(), nullable=False),
    UniqueConstraint("order_id", "seq", name="uq_timeline_order_seq"),
    Index("ix_timeline_street_id", "street", "id"),
    sqlite_autoincrement=True,
)

# A projection of the timeline: each order's assessed marks (the MARK_KEYS entries, each as
# [at, kind, value], in timeline order) as one JSON text, written in the transaction that writes the entries
# (adapters/db/marks.py). A year of a street is assessed from its 100,000 rows, not a million entries.
order_marks = Table(
    "order_marks",
    metadata,
    Column("order_id", Integer(), ForeignKey("orders.id"), primary_key=True),
    Column("marks", Text(), nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("client", String(200), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(128), nullable=False),
    Column("order_id", Integer(), ForeignKey("orders.id"), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("token_hash", String(128), nullable=False, unique=True),
    Column("role", String(32), nullable=False),
    Column("streets", _json(), nullable=False),
    Column("staff_id", String(64)),
    Column("name", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime()),
    Column("revoked_at", UtcDateTime()),
)

# Dispatchers' corrections of the classifier: each becomes a training example of its street's model.
training_examples = Table(
    "training_examples",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    _street(),
    Column("text", Text(), nullable=False),
    Column("code", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("by", String(200), nullable=False),
    Index("ix_training_examples_street_id", "street", "id"),
)

# Each person's last check-in (from the staff app or any action taken with a position): routing's
# "who is nearest".
staff_positions = Table(
    "staff_positions",
    metadata,
    Column("staff", String(64), primary_key=True),
    _street(),
    Column("lon", Float(), nullable=False),
    Column("lat", Float(), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Index("ix_staff_positions_street_at", "street", "at"),
)

# Leave (请假): routing passes over a person on leave even when the roster has them on shift.
absences = Table(
    "absences",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    _street(),
    Column("staff", String(64), nullable=False),
    Column("start_at", UtcDateTime(), nullable=False),
    Column("end_at", UtcDateTime(), nullable=False),
    Column("reason", String(200), nullable=False),
    Index("ix_absences_street_end_start", "street", "end_at", "start_at"),
)


# --- sensors (神经元) ------------------------------------------------------------------------------

# The registry. `units` is a list of [quantity, unit] pairs (JSONB does not keep an object's key order).
sensors = Table(
    "sensors",
    metadata,
    Column("id", String(64), primary_key=True),
    _street(),
    Column("kind", String(32), nullable=False),
    Column("lon", Float(), nullable=False),
    Column("lat", Float(), nullable=False),
    Column("watches", String(64), nullable=False),
    Column("watch_kind", String(16), nullable=False),
    Column("units", _json(), nullable=False),
    Column("interval_s", Float(), nullable=False),
    Column("rules", _json(), nullable=False),
    Index("ix_sensors_street_kind", "street", "kind"),
)

# One row: a counter bumped by every registry change, so caches can tell they are stale.
sensor_registry = Table(
    "sensor_registry",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("stamp", BigInteger(), nullable=False),
)

# Each sensor's newest values and rule states. Times are epoch milliseconds; `values` and `state` are
# JSON text (written and read with msgspec on the hot path): `last_values` is SensorLive.values.
sensor_live = Table(
    "sensor_live",
    metadata,
    Column("sensor_id", String(64), primary_key=True),
    _street(),
    Column("last_ts", BigInteger()),
    Column("last_values", Text(), nullable=False),
    Column("state", Text(), nullable=False),
    Column("check_at", BigInteger()),
    Column("version", Integer(), nullable=False),  # bumped on every save: workers' caches check it
    Index(
        "ix_sensor_live_check_at",
        "check_at",
        postgresql_where=text("check_at IS NOT NULL"),
        sqlite_where=text("check_at IS NOT NULL"),
    ),
)

# Raw data points, `ts` in epoch milliseconds. The primary key makes a redelivered point a no-op.
readings = Table(
    "readings",
    metadata,
    Column("sensor_id", String(64), primary_key=True),
    Column("quantity", String(64), primary_key=True),
    Column("ts", BigInteger(), primary_key=True),
    Column("value", Float(), nullable=False),
    _street(),
    # Roll-up and retention read time ranges across all sensors.
    Index("ix_readings_ts", "ts"),
    sqlite_with_rowid=False,
)


def _buckets(name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("sensor_id", String(64), primary_key=True),
        Column("quantity", String(64), primary_key=True),
        Column("bucket", BigInteger(), primary_key=True),  # bucket start, epoch milliseconds
        _street(),
        Column("n", Integer(), nullable=False),
        Column("minimum", Float(), nullable=False),
        Column("maximum", Float(), nullable=False),
        Column("total", Float(), nullable=False),
        Index(f"ix_{name}_bucket", "bucket"),
        sqlite_with_rowid=False,
    )


readings_1m = _buckets("readings_1m")
readings_1h = _buckets("readings_1h")

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("source", String(16), nullable=False),
    Column("street", String(64)),
    Column("sensor_id", String(200)),
    Column("code", String(64), nullable=False),
    Column("reason", Text(), nullable=False),
    Column("excerpt", Text(), nullable=False),
    Column("topic", String(500)),
    Index("ix_dead_letters_street_id", "street", "id"),
    Index("ix_dead_letters_received_at", "received_at"),
    sqlite_autoincrement=True,
)

alarms = Table(
    "alarms",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("sensor_id", String(64), nullable=False),
    Column("rule_id", String(64), nullable=False),
    Column("rule_kind", String(16), nullable=False),
    _street(),
    Column("colour", String(16), nullable=False),
    Column("state", String(32), nullable=False),
    Column("raised_at", UtcDateTime(), nullable=False),
    Column("reason", Text(), nullable=False),
    Column("value", Float()),
    Column("sensor_label", String(200), nullable=False),
    Column("watches", String(64)),
    Column("last_raised_at", UtcDateTime()),
    Column("clear_pending_since", UtcDateTime()),
    Column("clear_reason", Text()),
    Column("cleared_at", UtcDateTime()),
    Column("acknowledged_at", UtcDateTime()),
    Column("acknowledged_by", String(200)),
    Column("flaps", Integer(), nullable=False),
    Column("order_id", Integer()),
    # The latest alarm of a (sensor, rule): the highest id.
    Index("ix_alarms_sensor_rule_id", "sensor_id", "rule_id", "id"),
    Index("ix_alarms_street_raised", "street", "raised_at"),
    Index("ix_alarms_raised", "raised_at"),
    # Only alarms waiting for a clear to hold are in it: as small as that workload.
    Index(
        "ix_alarms_clear_pending_since",
        "clear_pending_since",
        postgresql_where=text("clear_pending_since IS NOT NULL"),
        sqlite_where=text("clear_pending_since IS NOT NULL"),
    ),
    sqlite_autoincrement=True,
)

alarm_events = Table(
    "alarm_events",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("alarm_id", Integer(), ForeignKey("alarms.id"), nullable=False),
    _street(),
    Column("kind", String(32), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("state", String(32), nullable=False),
    Column("colour", String(16), nullable=False),
    Column("message", Text(), nullable=False),
    Index("ix_alarm_events_alarm_id", "alarm_id", "id"),
    sqlite_autoincrement=True,
)


# --- community programs (domain/community): column names are the domain records' field names ----------


def _code(name: str = "code") -> Column[str]:
    return Column(name, String(64), primary_key=True)


def _ref(name: str) -> Column[str]:
    return Column(name, String(64), nullable=False)


def _name(name: str = "name") -> Column[str]:
    return Column(name, String(200), nullable=False)


community_orgs = Table(
    "community_orgs",
    metadata,
    Column("street", String(64), primary_key=True),
    _code(),
    _name(),
    Column("sector", String(200), nullable=False),
    Column("contact", String(200), nullable=False),
    Column("phone", String(32), nullable=False),
    Column("address", String(200), nullable=False),
)

# Which organisation a stall holder's token speaks for.
community_accounts = Table(
    "community_accounts",
    metadata,
    Column("token_id", String(64), primary_key=True),
    _street(),
    _ref("org"),
)

market_series = Table(
    "market_series",
    metadata,
    Column("street", String(64), primary_key=True),
    _code(),
    _name(),
    Column("zone", String(200), nullable=False),
    Column("description", Text(), nullable=False),
    Column("position", Integer(), nullable=False),
)

market_venues = Table(
    "market_venues",
    metadata,
    Column("street", String(64), primary_key=True),
    _code(),
    _name(),
    Column("level", String(32), nullable=False),
    Column("address", String(200), nullable=False),
    Column("place", String(64), nullable=False),
)

markets = Table(
    "markets",
    metadata,
    Column("street", String(64), primary_key=True),
    _code(),
    _name(),
    _ref("venue"),
    Column("rule", String(200), nullable=False),  # RFC 5545 RRULE over local dates
    Column("first_day", Date(), nullable=False),
    Column("opens", String(8), nullable=False),  # local HH:MM
    Column("closes", String(8), nullable=False),
    Column("booking_days", Integer(), nullable=False),
)

market_stalls = Table(
    "market_stalls",
    metadata,
    Column("street", String(64), primary_key=True),
    _code(),
    _ref("market"),
    _ref("series"),
    _ref("org"),
    _name(),
    Column("mode", String(16), nullable=False),
    Column("capacity", Integer(), nullable=False),
    Column("slot_minutes", Integer(), nullable=False),
    Column("topics", _json(), nullable=False),
)

_ACTIVE_BOOKING = "status != 'cancelled'"

market_bookings = Table(
    "market_bookings",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    _street(),
    Column("code", String(64), nullable=False, unique=True),
    _ref("stall"),
    _ref("market"),
    Column("day", Date(), nullable=False),
    Column("name", String(40), nullable=False),
    Column("phone", String(32), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("slot_at", UtcDateTime()),
    Column("number", Integer()),
    Column("topic", String(64), nullable=False),
    Column("source", String(16), nullable=False),
    Column("attended_at", UtcDateTime()),
    Column("cancelled_at", UtcDateTime()),
    Index("ix_market_bookings_street_stall_day", "street", "stall", "day"),
    Index("ix_market_bookings_street_day", "street", "day"),
    Index("ix_market_bookings_phone_day", "phone", "day"),
    # The last line against double booking (the service checks first, under a lock on the stall).
    Index(
        "ux_market_bookings_active",
        "street",
        "stall",
        "day",
        "phone",
        unique=True,
        postgresql_where=text(_ACTIVE_BOOKING),
        sqlite_where=text(_ACTIVE_BOOKING),
    ),
    Index("ux_market_bookings_number", "street", "stall", "day", "number", unique=True),
    sqlite_autoincrement=True,
)

volunteer_projects = Table(
    "volunteer_projects",
    metadata,
    Column("street", String(64), primary_key=True),
    _code(),
    _name(),
    _ref("org"),
    Column("market", String(64), nullable=False),
    Column("description", Text(), nullable=False),
)

volunteer_shifts = Table(
    "volunteer_shifts",
    metadata,
    Column("street", String(64), primary_key=True),
    _code(),
    _ref("project"),
    Column("starts_at", UtcDateTime(), nullable=False),
    Column("ends_at", UtcDateTime(), nullable=False),
    Column("capacity", Integer(), nullable=False),
    Column("place", String(200), nullable=False),
    Index("ix_volunteer_shifts_street_starts_at", "street", "starts_at"),
)

_ACTIVE_SIGNUP = "status != 'cancelled'"

volunteer_signups = Table(
    "volunteer_signups",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    _street(),
    Column("code", String(64), nullable=False, unique=True),
    _ref("shift"),
    Column("name", String(40), nullable=False),
    Column("phone", String(32), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("checked_in_at", UtcDateTime()),
    Column("checked_out_at", UtcDateTime()),
    Index("ix_volunteer_signups_street_shift", "street", "shift"),
    Index("ix_volunteer_signups_street_phone", "street", "phone"),
    Index(
        "ux_volunteer_signups_active",
        "street",
        "shift",
        "phone",
        unique=True,
        postgresql_where=text(_ACTIVE_SIGNUP),
        sqlite_where=text(_ACTIVE_SIGNUP),
    ),
    sqlite_autoincrement=True,
)

job_fairs = Table(
    "job_fairs",
    metadata,
    Column("street", String(64), primary_key=True),
    _code(),
    _name(),
    _ref("venue"),
    Column("starts_at", UtcDateTime(), nullable=False),
    Column("ends_at", UtcDateTime(), nullable=False),
    Column("market", String(64), nullable=False),
)

job_posts = Table(
    "job_posts",
    metadata,
    Column("street", String(64), primary_key=True),
    _code(),
    _ref("fair"),
    _ref("employer"),
    Column("title", String(200), nullable=False),
    Column("openings", Integer(), nullable=False),
    Column("special", String(16), nullable=False),
    Column("salary", String(200), nullable=False),
    Column("requirements", Text(), nullable=False),
)

job_applications = Table(
    "job_applications",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    _street(),
    Column("code", String(64), nullable=False, unique=True),
    _ref("post"),
    _ref("fair"),
    Column("name", String(40), nullable=False),
    Column("phone", String(32), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("updated_at", UtcDateTime()),
    Column("note", Text(), nullable=False),
    Index("ix_job_applications_street_post", "street", "post"),
    Index("ix_job_applications_street_phone", "street", "phone"),
    sqlite_autoincrement=True,
)

renovation_projects = Table(
    "renovation_projects",
    metadata,
    Column("street", String(64), primary_key=True),
    _code(),
    _name(),
    _ref("area"),
    Column("buildings", _json(), nullable=False),
    Column("threshold", Float(), nullable=False),
    Column("description", Text(), nullable=False),
)

renovation_milestones = Table(
    "renovation_milestones",
    metadata,
    Column("street", String(64), primary_key=True),
    _code("project"),
    _code("milestone"),
    Column("planned", Date()),
    Column("done", Date()),
)

renovation_households = Table(
    "renovation_households",
    metadata,
    Column("street", String(64), primary_key=True),
    _code("project"),
    _code(),
    _ref("building"),
    Column("room", String(64), nullable=False),
    Column("head", String(40), nullable=False),
    Column("phone", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("consulted_on", Date()),
    Column("signed_on", Date()),
    Column("note", Text(), nullable=False),
)

renovation_people = Table(
    "renovation_people",
    metadata,
    Column("street", String(64), primary_key=True),
    _code("project"),
    _code(),
    _name(),
    Column("circle", String(16), nullable=False),
    Column("role", String(200), nullable=False),
    Column("org", String(200), nullable=False),
)

party_units = Table(
    "party_units",
    metadata,
    Column("street", String(64), primary_key=True),
    _code(),
    _name(),
    Column("level", String(16), nullable=False),
    Column("parent", String(64), nullable=False),
    Column("places", _json(), nullable=False),
)

party_members = Table(
    "party_members",
    metadata,
    Column("street", String(64), primary_key=True),
    _code(),
    _ref("unit"),
    Column("name", String(40), nullable=False),
    Column("post", String(40), nullable=False),
    Column("leads", Boolean(), nullable=False),
    Column("duties", Text(), nullable=False),
    Column("phone", String(32), nullable=False),
)

# --- five colours, supervision and notifications ----------------------------------------------------

# A street's rule sets that are not deadline policies (grading, supervision, notifications), by key.
street_settings = Table(
    "street_settings",
    metadata,
    Column("street", String(64), primary_key=True),
    Column("key", String(32), primary_key=True),
    Column("body", _json(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("updated_by", String(200), nullable=False),
)

# What automatic grading remembers of an order: the reported level, repetition, the dynamic rules that
# raised it (kept) and a person's grade with what it took in.
order_grades = Table(
    "order_grades",
    metadata,
    Column("order_id", Integer(), ForeignKey("orders.id"), primary_key=True),
    _street(),
    Column("reported", String(16)),
    Column("repeats", Integer(), nullable=False),
    Column("sticky", _json(), nullable=False),
    Column("manual", String(16)),
    Column("absorbed", _json(), nullable=False),
    Column("graded_at", UtcDateTime(), nullable=False),
)

# Urge notices (催办) and circulated notices (通报); `key` makes an automatic one happen once.
notices = Table(
    "notices",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    _street(),
    Column("kind", String(16), nullable=False),
    Column("staff", String(64)),
    Column("note", Text(), nullable=False),
    Column("automatic", Boolean(), nullable=False),
    Column("issued_by", String(64), nullable=False),
    Column("issued_by_name", String(200), nullable=False),
    Column("issued_at", UtcDateTime(), nullable=False),
    Column("key", String(200)),
    Column("data", _json(), nullable=False),
    UniqueConstraint("street", "key", name="uq_notices_street_key"),
    Index("ix_notices_street_issued", "street", "issued_at"),
    Index("ix_notices_staff_kind", "staff", "kind"),
    sqlite_autoincrement=True,
)

notice_orders = Table(
    "notice_orders",
    metadata,
    Column("notice_id", Integer(), ForeignKey("notices.id"), primary_key=True),
    # No foreign key to orders: a key check would wait on orders another worker holds locked.
    Column("order_id", Integer(), primary_key=True),
    Index("ix_notice_orders_order", "order_id"),
)

# The in-app feed: one row per person told; an event tells a person once, however often it is read.
notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    _street(),
    Column("recipient", String(64), nullable=False),
    Column("event_id", Integer(), nullable=False),
    Column("order_id", Integer()),
    Column("kind", String(64), nullable=False),
    Column("colour", String(16)),
    Column("title", String(300), nullable=False),
    Column("body", Text(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("read_at", UtcDateTime()),
    UniqueConstraint("event_id", "recipient", name="uq_notifications_event_recipient"),
    Index("ix_notifications_recipient_id", "recipient", "id"),
    sqlite_autoincrement=True,
)

# Messages that leave the system (webhook, SMS): sent by the notification worker, retried with back-off.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    _street(),
    Column("channel", String(16), nullable=False),
    Column("target", String(200), nullable=False),
    Column("event_id", Integer(), nullable=False),
    Column("order_id", Integer()),
    Column("kind", String(64), nullable=False),
    Column("payload", _json(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer(), nullable=False),
    Column("next_try_at", UtcDateTime()),
    Column("last_error", Text()),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime()),
    UniqueConstraint("event_id", "channel", "target", name="uq_deliveries_event_channel_target"),
    Index("ix_deliveries_status_next_try", "status", "next_try_at"),
    Index("ix_deliveries_street_id", "street", "id"),
    sqlite_autoincrement=True,
)

# How far the notifier has read the timeline (one row per reader).
notify_cursor = Table(
    "notify_cursor",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("last_event_id", Integer(), nullable=False),
)

# Each lateness (a stage or a supervision reply past its deadline) of a person's orders, by the timeline
# event that recorded it: what circulating people counts (written by the supervision reader).
lateness = Table(
    "lateness",
    metadata,
    Column("event_id", Integer(), primary_key=True, autoincrement=False),
    _street(),
    Column("staff", String(64), nullable=False),
    Column("order_id", Integer(), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Index("ix_lateness_street_staff_event", "street", "staff", "event_id"),
)

# Who read a complainant's contact and who changed tokens or people's posts: appended, never changed.
# `streets` is where the entry belongs (empty: the whole district, such as a district token).
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor_id", String(200), nullable=False),
    Column("actor_name", String(200), nullable=False),
    Column("role", String(32), nullable=False),
    Column("action", String(32), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("streets", _json(), nullable=False),
    Column("details", _json(), nullable=False),
    Index("ix_audit_log_at", "at"),
)

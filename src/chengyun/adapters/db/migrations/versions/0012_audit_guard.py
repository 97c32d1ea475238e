"""The audit log append-only in the database, not only in the code: triggers refuse any UPDATE, any
TRUNCATE (PostgreSQL), and any DELETE of an entry younger than 180 days (网络安全法 第二十一条: network logs
are kept for no less than six months). Older entries may be deleted, which is what `chengyun audit prune`
does after archiving them.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# services/audit.py KEEP_DAYS as it is now (a migration does not follow later edits).
_KEEP_DAYS = 180
_REFUSED = "audit_log is append-only: entries are never updated, and deleted only when older than 180 days"

_POSTGRES_UP = [
    f"""
    CREATE FUNCTION audit_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' AND OLD.at < now() - interval '{_KEEP_DAYS} days' THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION '{_REFUSED}' USING ERRCODE = 'integrity_constraint_violation';
    END $$
    """,
    """
    CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_guard()
    """,
    """
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_guard()
    """,
]
_POSTGRES_DOWN = [
    "DROP TRIGGER audit_log_no_truncate ON audit_log",
    "DROP TRIGGER audit_log_append_only ON audit_log",
    "DROP FUNCTION audit_log_guard()",
]
# SQLite stores `at` as naive UTC text ('YYYY-MM-DD HH:MM:SS[.ffffff]'), which compares with datetime()'s.
_SQLITE_UP = [
    f"""
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, '{_REFUSED}'); END
    """,
    f"""
    CREATE TRIGGER audit_log_no_early_delete BEFORE DELETE ON audit_log
    WHEN old.at >= datetime('now', '-{_KEEP_DAYS} days')
    BEGIN SELECT RAISE(ABORT, '{_REFUSED}'); END
    """,
]
_SQLITE_DOWN = ["DROP TRIGGER audit_log_no_early_delete", "DROP TRIGGER audit_log_no_update"]


def upgrade() -> None:
    for statement in _POSTGRES_UP if op.get_bind().dialect.name == "postgresql" else _SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in _POSTGRES_DOWN if op.get_bind().dialect.name == "postgresql" else _SQLITE_DOWN:
        op.execute(statement)

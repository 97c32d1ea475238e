"""The audit log is append-only in the database itself (migration 0012), whoever connects: no UPDATE, no
TRUNCATE, no DELETE of an entry younger than 180 days; older entries may be deleted (what a prune does)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from chengyun.adapters.db import tables as t


def add(engine: Engine, days_ago: float) -> int:
    with engine.begin() as connection:
        row = {
            "at": datetime.now(UTC) - timedelta(days=days_ago),
            "actor_id": "cli",
            "actor_name": "命令行",
            "role": "admin",
            "action": "token_issued",
            "subject": f"token:{days_ago}",
            "streets": ["T"],
            "details": {},
        }
        return int(connection.execute(insert(t.audit_log).returning(t.audit_log.c.id), row).scalar_one())


def count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(t.audit_log)).scalar_one())


def test_no_entry_can_be_changed_not_even_an_old_one(engine: Engine) -> None:
    for days_ago in (1, 400):
        entry = add(engine, days_ago)
        with pytest.raises(IntegrityError, match="append-only"), engine.begin() as connection:
            connection.execute(update(t.audit_log).where(t.audit_log.c.id == entry).values(actor_name="别人"))
    with engine.connect() as connection:
        assert set(connection.execute(select(t.audit_log.c.actor_name)).scalars()) == {"命令行"}


def test_only_entries_older_than_180_days_can_be_deleted(engine: Engine) -> None:
    recent, edge, old = add(engine, 10), add(engine, 179), add(engine, 181)
    for entry in (recent, edge):
        with pytest.raises(IntegrityError, match="append-only"), engine.begin() as connection:
            connection.execute(delete(t.audit_log).where(t.audit_log.c.id == entry))
    # One statement over all three deletes none: the refusal undoes the whole statement.
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(delete(t.audit_log))
    assert count(engine) == 3

    with engine.begin() as connection:
        assert connection.execute(delete(t.audit_log).where(t.audit_log.c.id == old)).rowcount == 1
    with engine.connect() as connection:
        assert set(connection.execute(select(t.audit_log.c.id)).scalars()) == {recent, edge}


@pytest.mark.postgres
def test_truncate_is_refused_on_postgres(postgres_url: str) -> None:
    from chengyun.adapters.db.engine import make_engine

    engine = make_engine(postgres_url)
    try:
        add(engine, 400)
        with pytest.raises(IntegrityError, match="append-only"), engine.begin() as connection:
            connection.execute(text("TRUNCATE audit_log"))
        assert count(engine) == 1
    finally:
        engine.dispose()

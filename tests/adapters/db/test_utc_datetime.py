"""Datetimes are stored as UTC: on SQLite as SQLAlchemy's DATETIME text of the UTC time (the text
comparisons and every stored row depend on that one format), and read back aware; a naive one is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select, text
from sqlalchemy.dialects import sqlite

from chengyun.adapters.db.tables import UtcDateTime

SHANGHAI = timezone(timedelta(hours=8))
VALUES = [
    datetime(2026, 12, 7, 5, 0, tzinfo=UTC),
    datetime(2026, 12, 7, 13, 0, 0, 123456, tzinfo=SHANGHAI),
    datetime(2027, 1, 1, 0, 30, 59, 1, tzinfo=SHANGHAI),  # the day before in UTC
    datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
]


@pytest.mark.parametrize("value", VALUES)
def test_sqlite_text_is_sqlalchemys_datetime_text_of_the_utc_time(value: datetime) -> None:
    dialect = sqlite.dialect()
    plain = sqlite.DATETIME().bind_processor(dialect)
    ours = UtcDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert plain is not None and ours is not None
    assert ours(value) == plain(value.astimezone(UTC).replace(tzinfo=None))
    assert ours(None) is None


def test_stored_and_read_back_aware_and_naive_refused() -> None:
    engine = create_engine("sqlite://")
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("at", UtcDateTime()))
    table.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(table), [{"id": i, "at": v} for i, v in enumerate(VALUES)])
        stored = connection.execute(text("SELECT at FROM t ORDER BY id")).scalars().all()
        back = connection.execute(select(table.c.at).order_by(table.c.id)).scalars().all()
        assert stored[1] == "2026-12-07 05:00:00.123456"
        assert back == VALUES and all(v.tzinfo is UTC for v in back)
        with pytest.raises(Exception, match="naive datetime"):
            connection.execute(insert(table), {"id": 9, "at": datetime(2026, 12, 7, 5, 0)})

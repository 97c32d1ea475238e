"""Alembic environment: runs the migrations on the engine that chengyun.adapters.db.migrate hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from chengyun.adapters.db.engine import make_engine
from chengyun.adapters.db.tables import metadata

config = context.config


def _engine() -> tuple[Engine, bool]:
    given = config.attributes.get("engine")
    if isinstance(given, Engine):
        return given, False
    # Run from the alembic command line: take the URL from the configuration file.
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database: set sqlalchemy.url or use chengyun.adapters.db.migrate")
    return make_engine(url), True


def run_migrations_online() -> None:
    engine, owned = _engine()
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=metadata,
                # SQLite cannot ALTER most things: batch mode copies the table instead.
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        if owned:
            engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported")
run_migrations_online()

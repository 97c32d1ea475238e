"""The migrations build exactly the schema tables.py declares, on both engines, and can be undone."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, Integer, MetaData, inspect

from chengyun.adapters.db import migrate
from chengyun.adapters.db.engine import make_engine
from chengyun.adapters.db.tables import metadata


def differences(engine: Engine, target: MetaData = metadata) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, target))


def test_the_migrated_schema_is_exactly_the_declared_one(engine: Engine) -> None:
    assert differences(engine) == []


def test_the_comparison_notices_a_column_the_migrations_lack(engine: Engine) -> None:
    changed = MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["orders"].append_column(Column("not_migrated", Integer()))

    found = differences(engine, changed)

    assert [d[0] for d in found if isinstance(d, tuple)] == ["add_column"]


def test_a_database_is_at_the_head_revision_after_upgrade(empty_engine: Engine) -> None:
    assert migrate.current(empty_engine) is None

    migrate.upgrade(empty_engine)

    assert migrate.current(empty_engine) == migrate.head() is not None
    assert set(inspect(empty_engine).get_table_names()) >= set(metadata.tables)


def test_downgrading_to_base_removes_every_table_and_upgrading_again_restores_them(
    empty_engine: Engine,
) -> None:
    migrate.upgrade(empty_engine)

    migrate.downgrade(empty_engine, "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}

    migrate.upgrade(empty_engine)
    assert differences(empty_engine) == []


def test_upgrade_takes_a_url_as_well_as_an_engine(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'by-url.db'}"

    migrate.upgrade(url)

    engine = make_engine(url)
    try:
        assert migrate.current(engine) == migrate.head()
    finally:
        engine.dispose()


def test_the_revision_template_ships_next_to_the_migrations() -> None:
    # `alembic revision` needs it, and pyproject's package-data (**/*.mako) must pick it up.
    assert (migrate.MIGRATIONS / "script.py.mako").is_file()
    assert (migrate.MIGRATIONS / "versions" / "0001_initial.py").is_file()


def test_the_next_alert_index_covers_only_orders_that_have_a_next_alert(engine: Engine) -> None:
    (index,) = [i for i in inspect(engine).get_indexes("orders") if i["name"] == "ix_orders_next_alert_at"]

    where = index["dialect_options"][f"{engine.dialect.name}_where"]

    assert "next_alert_at IS NOT NULL" in str(where)

"""`chengyun backup` and `chengyun restore` refusing what they cannot do, in Chinese, leaving nothing
half-written behind. (The round trip while the center runs: tests/faults/test_backup_restore.py.)"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect

from chengyun.adapters.db.engine import make_engine
from chengyun.cli import main
from throwaway import scratch_databases

UNREACHABLE = "postgresql://postgres@127.0.0.1:9/chengyun"  # the discard port: nothing answers


def test_backup_without_pg_dump_installed_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    target = tmp_path / "chengyun.dump"
    assert main(["backup", str(target), "--database-url", UNREACHABLE]) == 2
    err = capsys.readouterr().err
    assert "找不到 pg_dump" in err and "postgresql-client" in err
    assert list(tmp_path.iterdir()) == []


def test_a_failed_pg_dump_leaves_no_file_and_passes_on_its_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "chengyun.dump"
    assert main(["backup", str(target), "--database-url", UNREACHABLE]) == 2
    err = capsys.readouterr().err
    assert "pg_dump 失败" in err and "127.0.0.1" in err
    assert list(tmp_path.iterdir()) == []


def test_sqlite_backup_restores_into_a_new_file_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = f"sqlite:///{tmp_path / 'live.db'}"
    assert main(["backup", str(tmp_path / "none.bak"), "--database-url", live]) == 2
    err = capsys.readouterr().err
    assert "数据库文件" in err and "不存在" in err
    assert not (tmp_path / "none.bak").exists()
    assert main(["token", "create", "--role", "admin", "--street", "T", "--database-url", live]) == 0
    backup = tmp_path / "live.bak"
    assert main(["backup", str(backup), "--database-url", live]) == 0
    assert "SQLite 在线备份" in capsys.readouterr().out

    # Over an existing database: refused, the database untouched.
    assert main(["restore", str(backup), "--database-url", live]) == 2
    assert "已存在" in capsys.readouterr().err
    # Into PostgreSQL: refused before connecting anywhere.
    assert main(["restore", str(backup), "--database-url", UNREACHABLE]) == 2
    assert "SQLite 的备份，不能恢复到 PostgreSQL" in capsys.readouterr().err

    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    assert main(["restore", str(backup), "--database-url", copy]) == 0
    said = capsys.readouterr().out
    assert "令牌 1 个" in said and "可直接 chengyun serve" in said
    assert main(["token", "list", "--database-url", copy]) == 0
    assert "\tadmin\tT\t" in capsys.readouterr().out


def test_restore_refuses_what_is_not_a_backup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("不是备份\n", encoding="utf-8")
    assert main(["restore", str(junk), "--database-url", f"sqlite:///{tmp_path / 'x.db'}"]) == 2
    assert "不是 chengyun backup 生成的备份" in capsys.readouterr().err
    assert main(["restore", str(tmp_path / "missing.dump"), "--database-url", UNREACHABLE]) == 2
    assert "不存在" in capsys.readouterr().err
    assert not (tmp_path / "x.db").exists()


@pytest.fixture
def new_database() -> Iterator[Callable[[], str]]:
    """Makes PostgreSQL databases of the test's own on the test server, dropped afterwards."""
    with scratch_databases("cy_backup_cli") as create:
        yield lambda: create("db")


@pytest.mark.postgres
def test_a_deployment_confined_to_a_schema_backs_up_that_schema_only(
    new_database: Callable[[], str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shared = new_database()
    engine = make_engine(shared)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE SCHEMA jas")
        connection.exec_driver_sql("CREATE TABLE public.someone_elses (x int)")
    engine.dispose()
    ours = f"{shared}?options=-csearch_path%3Djas"
    assert main(["token", "create", "--role", "admin", "--street", "JAS", "--database-url", ours]) == 0
    dump = tmp_path / "jas.dump"
    assert main(["backup", str(dump), "--database-url", ours]) == 0

    restored = new_database()
    assert main(["restore", str(dump), "--database-url", f"{restored}?options=-csearch_path%3Djas"]) == 0
    assert "令牌 1 个" in capsys.readouterr().out
    engine = make_engine(restored)
    with engine.connect() as connection:
        tables = set(inspect(connection).get_table_names("jas"))
        others = inspect(connection).get_table_names("public")
    engine.dispose()
    assert {"orders", "tokens", "alembic_version"} <= tables
    assert others == []

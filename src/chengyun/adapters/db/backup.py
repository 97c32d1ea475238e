"""Backup and restore of the center's database while it runs: PostgreSQL through `pg_dump -Fc` and
`pg_restore`, SQLite through its online backup API (a file copy of a live WAL database can be torn)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

from chengyun.adapters.db.engine import make_engine
from chengyun.adapters.db.migrate import current, head

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
# What an operator checks after a restore, counted in the restored database.
COUNTED = (
    ("orders", "工单", "件"),
    ("staff", "人员", "人"),
    ("tokens", "令牌", "个"),
    ("sensors", "传感器", "个"),
)


class BackupError(Exception):
    """A backup or restore that could not be done; the message is for the operator, in Chinese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Outcome:
    path: Path
    backend: str  # "postgresql" or "sqlite"
    size: int  # bytes of the backup file
    seconds: float
    revision: str | None  # the schema revision of the database restored (None after a backup)
    counts: dict[str, int]  # table -> rows, after a restore


def backup(url: str, target: Path) -> Outcome:
    """Writes a consistent copy of the database at `url`, running or not, to `target`."""
    parsed = make_url(url)
    started = time.monotonic()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        if _backend(parsed) == "sqlite":
            _sqlite_backup(_sqlite_path(parsed, must_exist=True), partial)
        else:
            schema = confined_to(parsed)
            _run(
                "pg_dump",
                [
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    *([f"--schema={schema}"] if schema else []),
                    f"--file={partial}",
                    _libpq_uri(parsed),
                ],
                parsed,
            )
        partial.replace(target)  # never a half-written file under the name asked for
    finally:
        partial.unlink(missing_ok=True)
    return Outcome(target, _backend(parsed), target.stat().st_size, time.monotonic() - started, None, {})


def restore(source: Path, url: str) -> Outcome:
    """Restores the backup `source` into the database at `url`, which must be new and empty."""
    parsed = make_url(url)
    backend = _backend(parsed)
    if not source.is_file():
        raise BackupError(f"备份文件 {source} 不存在")
    with source.open("rb") as f:
        magic = f.read(len(SQLITE_MAGIC))
    kind = "sqlite" if magic == SQLITE_MAGIC else "postgresql" if magic.startswith(PGDUMP_MAGIC) else None
    if kind is None:
        raise BackupError(
            f"{source} 不是 chengyun backup 生成的备份（既非 SQLite 数据库，也非 pg_dump -Fc 归档）"
        )
    if kind != backend:
        names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
        raise BackupError(
            f"{source} 是 {names[kind]} 的备份，不能恢复到 {names[backend]} 数据库"
            f"（{parsed.render_as_string(hide_password=True)}）"
        )
    started = time.monotonic()
    if backend == "sqlite":
        target = _sqlite_path(parsed, must_exist=False)
        if target.exists() and target.stat().st_size > 0:
            raise BackupError(f"目标文件 {target} 已存在：请恢复到一个新文件（不覆盖现有数据库）")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        try:
            _sqlite_backup(source, partial)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
    else:
        _refuse_unless_empty(url)
        _run(
            "pg_restore",
            [
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",  # all or nothing: a failed restore leaves the database empty
                f"--dbname={_libpq_uri(parsed)}",
                str(source),
            ],
            parsed,
        )
    revision, counts = _describe(url)
    return Outcome(source, backend, source.stat().st_size, time.monotonic() - started, revision, counts)


def newest_revision() -> str | None:
    return head()


def _backend(url: URL) -> str:
    name = url.get_backend_name()
    if name == "sqlite":
        return "sqlite"
    if name in ("postgresql", "postgres"):
        return "postgresql"
    raise BackupError(f"不支持的数据库地址：{url.render_as_string(hide_password=True)}")


def _sqlite_path(url: URL, must_exist: bool) -> Path:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError("只能备份或恢复 SQLite 数据库文件（sqlite:///路径）")
    path = Path(database)
    if must_exist and not path.is_file():
        raise BackupError(f"数据库文件 {path} 不存在")
    return path


def _sqlite_backup(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent snapshot even while the center writes (WAL included)."""
    try:
        with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
            src.execute("PRAGMA busy_timeout=10000")
            src.backup(dst)  # in one step: a copy of one moment; writers carry on meanwhile (WAL)
            check = dst.execute("PRAGMA quick_check").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"SQLite 备份失败：{exc}") from None
    if check is None or check[0] != "ok":
        raise BackupError(f"SQLite 备份的完整性检查未通过：{check}")


def confined_to(url: URL) -> str | None:
    """The one schema a PostgreSQL URL confines its sessions to (`?options=-csearch_path=NAME`), if any:
    a deployment sharing its database with others backs up its own schema only."""
    options = url.query.get("options", "")
    words = " ".join(options if isinstance(options, tuple) else (options,)).split()
    for n, word in enumerate(words):
        setting = word[2:] if word.startswith("-c") and len(word) > 2 else None
        if word == "-c" and n + 1 < len(words):
            setting = words[n + 1]
        if setting and setting.replace(" ", "").startswith("search_path="):
            paths = [p.strip().strip('"') for p in setting.split("=", 1)[1].split(",") if p.strip()]
            return paths[0] if len(paths) == 1 else None
    return None


def _libpq_uri(url: URL) -> str:
    """The URL as libpq takes it (no SQLAlchemy driver suffix, no password: see `_run`)."""
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _run(tool: str, args: list[str], url: URL) -> None:
    program = shutil.which(tool)
    if program is None:
        raise BackupError(
            f"找不到 {tool}：请安装 PostgreSQL 客户端程序（如 apt install postgresql-client），"
            "其主版本不低于数据库服务器的版本"
        )
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)  # not on the command line, where `ps` would show it
    done = subprocess.run([program, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = done.stderr.strip()[-2000:] or f"退出码 {done.returncode}"
        raise BackupError(f"{tool} 失败：{detail}")


def _refuse_unless_empty(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            schema = connection.execute(text("SELECT current_schema()")).scalar_one()
            tables = inspect(connection).get_table_names(schema=schema)
    except DBAPIError as exc:
        raise BackupError(f"连不上目标数据库：{exc}") from None
    finally:
        engine.dispose()
    if tables:
        raise BackupError(
            f"目标数据库已有 {len(tables)} 张表：请恢复到新建的空数据库（如 createdb chengyun_restored），"
            "不覆盖现有数据"
        )


def _describe(url: str) -> tuple[str | None, dict[str, int]]:
    engine = make_engine(url)
    try:
        revision = current(engine)
        with engine.connect() as connection:
            present = set(inspect(connection).get_table_names())
            counts = {
                table: int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
                for table, _, _ in COUNTED
                if table in present
            }
    finally:
        engine.dispose()
    return revision, counts


def summary(outcome: Outcome) -> str:
    """What was restored, as the operator reads it: 工单 12 件、人员 10 人、…"""
    return "、".join(
        f"{label} {outcome.counts[table]} {unit}" for table, label, unit in COUNTED if table in outcome.counts
    )

"""`chengyun audit prune`: the entries older than the given time archived to a JSON Lines file, then deleted,
in one transaction; never younger than 180 days, never over an existing archive, nothing deleted when the
archive fails; the prune itself stays in the log."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from chengyun.adapters.db import tables as t
from chengyun.adapters.db.engine import make_engine
from chengyun.bootstrap import Center
from chengyun.cli import main
from chengyun.domain.errors import InvalidInput
from chengyun.services.audit import AuditEntry


def seed(url: str, *days_ago: int) -> None:
    """An entry of a token issued `d` days ago (real time: the database's guard reads its own clock)."""
    engine = make_engine(url)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        for d in days_ago:
            row = {
                "at": now - timedelta(days=d),
                "actor_id": "A1",
                "actor_name": "王管理",
                "role": "admin",
                "action": "token_issued",
                "subject": f"token:{d}d",
                "streets": ["JAS"],
                "details": {"role": "duty_officer", "name": "周强"},
            }
            connection.execute(insert(t.audit_log), row)
    engine.dispose()


def subjects(url: str) -> list[str]:
    engine = make_engine(url)
    with engine.connect() as connection:
        found = list(connection.execute(select(t.audit_log.c.subject).order_by(t.audit_log.c.id)).scalars())
    engine.dispose()
    return found


def ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).astimezone().isoformat()


@pytest.mark.parametrize("name", ["audit-old.jsonl", "audit-old.jsonl.gz"])
def test_prune_archives_the_old_entries_then_deletes_them_and_logs_that_it_did(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    seed(database_url, 700, 400, 200, 30)
    archive = tmp_path / name
    url = ["--database-url", database_url]

    assert main(["audit", "prune", "--before", ago(300), "--archive", str(archive), *url]) == 0
    assert f"以前的 2 条审计记录归档到 {archive}" in capsys.readouterr().out

    raw = archive.read_bytes()
    text = (gzip.decompress(raw) if name.endswith(".gz") else raw).decode("utf-8")
    archived = [json.loads(line) for line in text.splitlines()]
    assert [(e["subject"], e["actor_name"], e["details"]["name"]) for e in archived] == [
        ("token:700d", "王管理", "周强"),
        ("token:400d", "王管理", "周强"),
    ]
    assert datetime.fromisoformat(archived[0]["at"]) < datetime.now(UTC) - timedelta(days=699)
    assert subjects(database_url) == ["token:200d", "token:30d", "audit"]

    assert main(["audit", "--action", "audit_pruned", *url]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert "命令行（cli）\t归档并清理审计日志\taudit\t*" in line


def test_prune_refuses_what_the_law_says_to_keep_an_existing_archive_and_a_time_without_zone(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(database_url, 400, 100)
    url = ["--database-url", database_url]
    archive = tmp_path / "a.jsonl"

    assert main(["audit", "prune", "--before", ago(90), "--archive", str(archive), *url]) == 2
    assert "审计日志至少保留 180 天" in capsys.readouterr().err
    assert not archive.exists()

    archive.write_text("上次的归档\n", encoding="utf-8")
    assert main(["audit", "prune", "--before", ago(300), "--archive", str(archive), *url]) == 2
    assert "已存在，不会覆盖" in capsys.readouterr().err
    assert archive.read_text(encoding="utf-8") == "上次的归档\n"

    assert main(["audit", "prune", "--before", "2025-01-01T00:00:00", "--archive", "b.jsonl", *url]) == 2
    assert "--before 须为带时区的时间" in capsys.readouterr().err
    assert main(["audit", "prune", *url]) == 2
    assert "须给出 --before" in capsys.readouterr().err
    assert subjects(database_url) == ["token:400d", "token:100d"]


class BrokenArchive:
    def __init__(self) -> None:
        self.written: list[AuditEntry] = []

    def write(self, entry: AuditEntry) -> None:
        self.written.append(entry)

    def seal(self) -> None:
        raise OSError(28, "No space left on device")


def test_nothing_is_deleted_when_the_archive_cannot_be_made_durable(
    center: Center, database_url: str
) -> None:
    seed(database_url, 700, 400)
    archive = BrokenArchive()
    before = datetime.now(UTC) - timedelta(days=300)

    with pytest.raises(OSError, match="No space"):
        center.audit.prune(before, archive)

    assert len(archive.written) == 2
    assert subjects(database_url)[:2] == ["token:700d", "token:400d"]
    with pytest.raises(InvalidInput):
        center.audit.prune(center.clock.now() - timedelta(days=10), archive)

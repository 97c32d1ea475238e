"""`chengyun report`: the assessment written to a workbook and a PDF with progress on stderr, the analysis
as JSON and the daily brief as text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from chengyun.bootstrap import build
from chengyun.cli import main
from chengyun.domain.access import Role
from chengyun.settings import Settings
from street import load_street, person, tile


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A database with the test street and two orders received just now (the command's wall clock)."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("CHENGYUN_DATABASE_URL", url)
    center = build(Settings(database_url=url, run_worker=False))
    try:
        load_street(center)
        hotline = person(Role.HOTLINE_SYSTEM)
        center.orders.create(hotline, tile())
        center.orders.create(hotline, tile(description="地砖又翘起来了"))
    finally:
        center.stop()
    return url


def test_the_assessment_is_written_as_a_workbook_and_a_pdf(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workbook = tmp_path / "考核.xlsx"
    assert main(["report", "assessment", "--street", "T", "--by", "staff", "--out", str(workbook)]) == 0
    progress = capsys.readouterr().err
    assert "计算考核指标（按人员）" in progress and "共 2 件工单" in progress and "已写入" in progress
    totals = {row[0]: row[1] for row in load_workbook(workbook)["汇总"].iter_rows(values_only=True)}
    assert totals["受理量"] == 2
    pdf = tmp_path / "考核.pdf"
    assert main(["report", "assessment", "--street", "T", "--format", "pdf", "--out", str(pdf)]) == 0
    text = PdfReader(pdf).pages[0].extract_text()
    assert "测试街道 考核报告（按居民区）" in text


def test_the_analysis_prints_json_and_the_brief_prints_chinese_text(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "hotspots", "--street", "T", "--format", "json"]) == 0
    hotspots = json.loads(capsys.readouterr().out)
    assert hotspots["total"] == 2 and hotspots["places"][0]["place"] == "A1-G1"
    assert main(["report", "brief", "--street", "T", "--format", "text"]) == 0
    assert "受理工单 2 件" in capsys.readouterr().out


def test_a_reversed_period_is_refused_with_a_chinese_message(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["report", "trends", "--street", "T", "--from", "2026-11-02", "--to", "2026-11-01"])
    assert code == 2
    assert "结束日期不能早于开始日期" in capsys.readouterr().err

"""`chengyun grading`: the rules exported and imported as a whole, and a dry run that shows what would
change as a chart of colours."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chengyun.adapters.clock import ManualClock
from chengyun.bootstrap import build
from chengyun.cli import main
from chengyun.domain.access import Role
from chengyun.settings import Settings
from street import T0, load_street, person, tile

PLAIN = "商场门口人行道大理石地砖翘起"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A database with the test street and two orders on 2026-11-25, one on 南京西路."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("CHENGYUN_DATABASE_URL", url)
    center = build(Settings(database_url=url, run_worker=False), clock=ManualClock(T0))
    load_street(center)
    desk = person(Role.HOTLINE_HANDLER, "H1")
    center.orders.create(desk, tile())
    center.orders.create(desk, tile(description=PLAIN, address="南京西路1618号"))
    center.stop()
    return url


def test_the_rules_go_out_and_come_back_in_as_a_whole(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "grading.json"
    assert main(["grading", "export", "--street", "T", "-o", str(out)]) == 0
    rules = json.loads(out.read_text(encoding="utf-8"))
    assert rules["main_roads"] == [] and rules["rules"][1]["code"] == "injury"
    rules["main_roads"] = ["南京西路"]
    out.write_text(json.dumps(rules, ensure_ascii=False), encoding="utf-8")
    assert main(["grading", "import", str(out), "--street", "T"]) == 0
    assert "已导入 13 条分级规则" in capsys.readouterr().out
    assert main(["grading", "export", "--street", "T"]) == 0
    assert json.loads(capsys.readouterr().out)["main_roads"] == ["南京西路"]
    rules["rules"][0]["factor"] = "mood"
    out.write_text(json.dumps(rules, ensure_ascii=False), encoding="utf-8")
    assert main(["grading", "import", str(out), "--street", "T"]) == 2
    err = capsys.readouterr().err
    assert "未保存任何规则" in err and '"row": 0' in err


def test_a_dry_run_charts_the_colours_before_and_after(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proposed = tmp_path / "proposed.json"
    assert main(["grading", "export", "--street", "T", "-o", str(proposed)]) == 0
    rules = json.loads(proposed.read_text(encoding="utf-8")) | {"main_roads": ["南京西路"]}
    proposed.write_text(json.dumps(rules, ensure_ascii=False), encoding="utf-8")
    args = ["grading", "dry-run", "--street", "T", "--from", "2026-11-25", "--to", "2026-11-26"]
    assert main([*args, "--rules", str(proposed)]) == 0
    captured = capsys.readouterr()
    assert "已定级 2/2" in captured.err
    lines = captured.out.splitlines()
    assert lines[0].startswith("2026-11-25 00:00 至 2026-11-26 00:00 受理 2 件，颜色会变化 1 件")
    # by the period's end the 南京西路 order was also late: a main road and lateness, two levels up
    assert (
        "  红色 现有 " + " " * 30 + " 0" in captured.out and "  红色 试算 " + "█" * 30 + " 1" in captured.out
    )
    assert "  黄色 → 红色：1 件" in captured.out
    assert "类别默认黄色（Ⅲ级）；主干道：提高 1 级；办理超期：提高 1 级" in captured.out
    assert main([*args]) == 0
    assert "颜色会变化 1 件" in capsys.readouterr().out  # lateness alone, under the current rules

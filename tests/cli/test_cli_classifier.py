"""`chengyun classifier retrain|evaluate` and `chengyun import|export categories`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chengyun.cli import main


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("CHENGYUN_DATABASE_URL", url)
    return url


def test_evaluate_prints_held_out_accuracy(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["classifier", "evaluate"]) == 0

    out = capsys.readouterr().out
    assert "已评估" in out
    top1 = float(out.split("首选准确率 top-1：")[1].split("%")[0])
    top3 = float(out.split("前三命中率 top-3：")[1].split("%")[0])
    assert 50 < top1 <= top3 <= 100


def test_a_catalogue_round_trips_through_export_and_import(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "categories", "--street", "X"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported[0]["code"] == "100101" and len(exported) > 60
    small = [c for c in exported if c["code"] in {"100118", "200101", "900101"}]
    path = tmp_path / "categories.json"
    path.write_text(json.dumps(small, ensure_ascii=False), encoding="utf-8")

    assert main(["import", "categories", str(path), "--street", "X"]) == 0
    assert "已导入 3 条" in capsys.readouterr().out
    assert main(["export", "categories", "--street", "X"]) == 0
    assert json.loads(capsys.readouterr().out) == small

    assert main(["classifier", "retrain", "--street", "X"]) == 0
    out = capsys.readouterr().out
    assert "街道 X" in out and "3 个类别" in out and "纠正 0 条" in out


def test_a_bad_catalogue_file_names_its_rows_and_imports_nothing(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(
        json.dumps([{"code": "1", "name": "好"}, {"code": "2"}], ensure_ascii=False), encoding="utf-8"
    )

    assert main(["import", "categories", str(path), "--street", "X"]) == 2

    err = capsys.readouterr().err
    assert "未导入任何数据" in err and '"row": 1' in err
    assert main(["export", "categories", "--street", "X"]) == 0
    assert len(json.loads(capsys.readouterr().out)) > 60  # still the built-in catalogue

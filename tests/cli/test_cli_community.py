"""`chengyun community`: import and export the programs' CSV files, with bad rows named; a stall holder's
token."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chengyun.cli import main
from community_data import FILES
from street import PLACES


@pytest.fixture
def street_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CHENGYUN_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    places = tmp_path / "places.geojson"
    places.write_text(json.dumps(PLACES, ensure_ascii=False), encoding="utf-8")
    assert main(["import", "places", str(places)]) == 0
    return tmp_path


def test_community_files_import_export_and_a_stall_holder_token(
    street_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for kind, text in FILES[:5]:
        path = street_db / f"{kind.value}.csv"
        path.write_text(text, encoding="utf-8")
        assert main(["community", "import", kind.value, str(path), "--street", "T"]) == 0
    assert "已导入 2 条（stalls）" in capsys.readouterr().out

    assert main(["community", "export", "markets", "--street", "T"]) == 0
    assert (
        "M1,静·邻一家便民集市,V1,FREQ=MONTHLY;BYDAY=+1TH,2026-01-01,09:00,11:30,31" in capsys.readouterr().out
    )

    assert main(["community", "token", "--org", "hosp", "--street", "T"]) == 0
    issued = capsys.readouterr()
    assert issued.out.startswith("cy_") and "静安区中心医院" in issued.err


def test_a_bad_community_file_is_refused_row_by_row(
    street_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = street_db / "venues.csv"
    bad.write_text("code,name,level\nV1,党群服务中心,street_center\nV2,某站点,town_hall\n", encoding="utf-8")
    assert main(["community", "import", "venues", str(bad), "--street", "T"]) == 2
    err = capsys.readouterr().err
    assert "未导入任何数据" in err and '"row": 3' in err and "level" in err
    assert main(["community", "export", "venues", "--street", "T"]) == 0
    assert capsys.readouterr().out == "code,name,level,address,place\n"

"""`chengyun simulate` (the fixed contract: the report's on_time shares, the baseline) and `chengyun twin
snapshot`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chengyun.cli import main


def test_simulate_writes_the_report_with_its_on_time_shares_the_baseline_and_a_chart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "day.json"
    args = [
        "simulate",
        "--hours",
        "0.5",
        "--seed",
        "3",
        "--load",
        "2",
        "--sensors",
        "0",
        "--compare",
        "naive",
    ]
    assert main([*args, "--start", "2026-11-25T10:00:00+08:00", "--report", str(report)]) == 0
    body = json.loads(report.read_text(encoding="utf-8"))
    assert set(body["on_time"]) == {"respond", "arrive", "handle", "close", "all"}
    assert all(v is None or 0 <= v <= 1 for v in body["on_time"].values())
    assert set(body["baseline"]["on_time"]) == set(body["on_time"])
    assert body["load"] == 2 and body["orders"]["total"] > 0
    assert (tmp_path / "day.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = capsys.readouterr().out
    assert "四环节全部按时" in out and "对照（固定派给 A 角）" in out


def test_simulate_refuses_a_start_without_a_time_zone(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="时区"):
        main(["simulate", "--start", "2026-11-25T10:00", "--report", str(tmp_path / "x.json")])


def test_twin_snapshot_writes_timestamped_geojson(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHENGYUN_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    assert main(["import", "demo", "--days", "1"]) == 0
    out = tmp_path / "snapshot.geojson"
    assert main(["twin", "snapshot", "--street", "JAS", "--layers", "sensors", "-o", str(out)]) == 0
    snapshot = json.loads(out.read_text(encoding="utf-8"))
    assert snapshot["type"] == "FeatureCollection" and snapshot["timestamp"]
    assert len(snapshot["features"]) == 14_855
    assert {f["properties"]["layer"] for f in snapshot["features"]} == {"sensors"}
    assert "14855 个要素" in capsys.readouterr().err

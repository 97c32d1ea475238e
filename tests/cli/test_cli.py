"""The `chengyun` command: import with clear errors, export, tokens, and the demo end to end."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from chengyun.cli import _parser, _settings, main


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("CHENGYUN_DATABASE_URL", url)
    return url


def test_import_demo_then_export_round_trips(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "demo", "--days", "2"]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert counts["places"] > 500 and counts["staff"] > 40
    out = tmp_path / "staff.csv"
    assert main(["export", "staff", "--street", "JAS", "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("id,name,phone,department,posts,street,active\n")
    assert "张燕芬" in text
    assert main(["import", "staff", str(out), "--street", "JAS"]) == 0
    assert f"已导入 {counts['staff']} 条" in capsys.readouterr().out


def test_a_bad_places_file_is_refused_row_by_row(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [121.44, 31.22]},
                "properties": {"kind": "area", "code": "X-A1", "name": "某居民区", "parent": "X"},
            },
        ],
    }
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    assert main(["import", "places", str(path), "--street", "X"]) == 2
    err = capsys.readouterr().err
    assert "未导入任何数据" in err and "X-A1" in err and "几何类型" in err


def test_a_bad_roster_row_names_its_line(db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["import", "demo", "--days", "1"])
    capsys.readouterr()
    path = tmp_path / "roster.csv"
    path.write_text(
        "staff,post,start,end,area\nS001,director,2026-11-25 09:00,2026-11-25T18:00:00+08:00,\n",
        encoding="utf-8",
    )
    assert main(["import", "roster", str(path), "--street", "JAS"]) == 2
    err = capsys.readouterr().err
    assert '"row": 2' in err and "时区" in err


def test_a_token_from_the_command_line_authenticates(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    from chengyun.bootstrap import build
    from chengyun.settings import Settings

    assert main(["token", "create", "--role", "admin", "--street", "JAS"]) == 0
    token = capsys.readouterr().out.strip()
    center = build(Settings(database_url=db, run_worker=False))
    try:
        actor = center.auth.authenticate(token)
    finally:
        center.stop()
    assert actor.role.value == "admin" and actor.streets == {"JAS"}
    assert main(["token", "create", "--role", "area_manager"]) == 2
    assert "绑定到人员" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_demo_runs_the_whole_center_and_prints_a_working_screen_url(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("CHENGYUN_DATABASE_URL", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chengyun.cli",
            "demo",
            "--port",
            str(port),
            "--rate",
            "3600",
            "--speed",
            "60",
            "--db",
            str(tmp_path / "demo.db"),
            "--history-days",  # the past week is checked in tests/api/test_api_screen.py
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        lines: list[str] = []
        assert process.stdout is not None
        while not any("管理员令牌" in line for line in lines):
            line = process.stdout.readline()
            assert line, "demo exited early:\n" + "".join(lines)
            lines.append(line)
        screen = next(line for line in lines if "/screen#token=" in line).split("：", 1)[1].strip()
        token = screen.split("#token=")[1]
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {token}"}
        deadline = time.monotonic() + 60
        total = 0
        while time.monotonic() < deadline:  # wait for the server, then for the feeder's first orders
            try:
                total = httpx.get(f"{base}/api/v1/orders", headers=headers, timeout=5).json()["total"]
            except httpx.TransportError:
                total = 0
            if total >= 2:
                break
            time.sleep(0.5)
        assert total >= 2
        page = httpx.get(screen.split("#")[0], timeout=5)
        assert page.status_code == 200 and "城运中心" in page.text
        order = httpx.get(f"{base}/api/v1/orders?limit=1", headers=headers, timeout=5).json()["items"][0]
        assert order["street"] == "JAS" and order["area"].startswith("JAS-A")
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_sensors_import_export_round_trip_and_a_bad_row_is_named(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from street import PLACES

    (tmp_path / "places.geojson").write_text(json.dumps(PLACES, ensure_ascii=False), encoding="utf-8")
    assert main(["import", "places", str(tmp_path / "places.geojson")]) == 0
    good = "id,kind,lon,lat,watches\nW1,water_level,121.442,31.225,B1\nG1,gas,121.447,31.225,B2\n"
    (tmp_path / "sensors.csv").write_text(good, encoding="utf-8")
    assert main(["import", "sensors", str(tmp_path / "sensors.csv"), "--street", "T"]) == 0
    out = tmp_path / "sensors.geojson"
    assert main(["export", "sensors", "--street", "T", "--format", "geojson", "-o", str(out)]) == 0
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert sorted(f["properties"]["id"] for f in exported["features"]) == ["G1", "W1"]
    capsys.readouterr()
    assert main(["import", "sensors", str(out), "--street", "T"]) == 0
    assert "已导入 2 条" in capsys.readouterr().out
    (tmp_path / "bad.csv").write_text(good + "X1,water_level,121.442,31.225,NOWHERE\n", encoding="utf-8")
    assert main(["import", "sensors", str(tmp_path / "bad.csv"), "--street", "T"]) == 2
    err = capsys.readouterr().err
    assert "未导入任何数据" in err and '"row": 4' in err and "NOWHERE" in err


def test_a_worker_takes_the_mqtt_topics_given_on_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHENGYUN_MQTT_TOPIC", raising=False)
    assert _settings(_parser().parse_args(["worker"])).mqtt_topic == "chengyun/+/sensors/+"
    args = _parser().parse_args(["worker", "--mqtt-topic", "chengyun/JAS/sensors/+"])
    assert _settings(args).mqtt_topic == "chengyun/JAS/sensors/+"

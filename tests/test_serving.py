"""`chengyun serve --workers N`: SQLite is refused; each API process runs without the background work,
on the supervisor's simulated time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chengyun.adapters.clock import SimulatedClock
from chengyun.cli import main
from chengyun.serving import WORKER_ENV, worker_app
from chengyun.settings import Settings


def test_serve_with_several_workers_on_sqlite_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'one.db'}"
    with pytest.raises(SystemExit) as refused:
        main(["serve", "--workers", "2", "--database-url", url])
    assert "PostgreSQL" in str(refused.value.code) and "--workers" in str(refused.value.code)
    assert not (tmp_path / "one.db").exists()  # refused before anything was created


def test_serve_refuses_a_worker_count_below_one(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--workers", "0"])
    assert "正整数" in capsys.readouterr().err


def test_an_api_process_runs_no_background_work_and_shares_the_supervisors_simulated_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    supervisor = SimulatedClock(speed=60)
    origin, real_origin = supervisor.anchor
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", speed=60, run_worker=False)
    spec = {"settings": settings.__dict__, "clock": [origin.isoformat(), real_origin]}
    monkeypatch.setenv(WORKER_ENV, json.dumps(spec))
    center = worker_app().state.center
    try:
        assert center.settings.run_worker is False and center.mqtt is None
        assert isinstance(center.clock, SimulatedClock)
        first, theirs, last = supervisor.now(), center.clock.now(), supervisor.now()
        assert first <= theirs <= last
    finally:
        center.stop()

"""`chengyun serve --workers N`: N API processes on one port and one PostgreSQL, the background work once.

uvicorn's own supervisor runs the API processes: the kernel spreads the connections of the one
listening socket over them, a process that dies is replaced, SIGHUP replaces them one by one and
SIGTTIN / SIGTTOU add or remove one. The supervising process itself runs the center's background work,
as a single `serve` does: the deadline worker, the sensor sweeps and roll-ups, and (with
CHENGYUN_MQTT_URL) the MQTT ingestion under one stable client id. The API processes only answer
requests; everything they share lives in PostgreSQL (orders, deadlines, the timeline the live feed
reads, the sensors' rule state), so a screen on any of them sees the events of all. More background
capacity is more `chengyun worker` processes: deadlines are claimed with FOR UPDATE SKIP LOCKED and the
MQTT stream is split by the broker's shared subscription, so nothing fires or is stored twice.

SQLite is refused with N > 1: it has one writer at a time, and the lock that keeps writers fair is
per process; between processes they would wait on the file lock's polling sleeps.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, replace
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

from chengyun.adapters.clock import SimulatedClock
from chengyun.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

# What an API process is to run with (JSON), handed from the supervisor through the environment:
# uvicorn starts its workers afresh (spawn), importing `worker_app` by name.
WORKER_ENV = "CHENGYUN_SERVE_WORKER"

SQLITE_REFUSED = (
    "SQLite 数据库只能由一个服务进程使用：--workers 大于 1 时请使用 PostgreSQL"
    "（CHENGYUN_DATABASE_URL=postgresql://…），或去掉 --workers"
)


def serve_workers(settings: Settings, workers: int, app: str = f"{__name__}:worker_app") -> None:
    """Runs the center with `workers` API processes until SIGINT or SIGTERM. `app` names the API
    processes' app factory (a benchmark wraps `worker_app` to add routes of its own)."""
    import uvicorn

    from chengyun.bootstrap import build

    if make_url(settings.database_url).get_backend_name() == "sqlite":
        raise SystemExit(SQLITE_REFUSED)
    center = build(settings)  # migrates once, before any API process starts
    anchor = center.clock.anchor if isinstance(center.clock, SimulatedClock) else None
    api_settings = replace(settings, run_worker=False, mqtt_url=None)
    os.environ[WORKER_ENV] = json.dumps(
        {
            "settings": asdict(api_settings),
            "clock": None if anchor is None else [anchor[0].isoformat(), anchor[1]],
        }
    )
    center.start()
    jobs = (["时限", "传感器巡检"] if settings.run_worker else []) + (["MQTT 接入"] if center.mqtt else [])
    print(
        f"城运中心已启动：{workers} 个接口进程，http://{settings.host}:{settings.port}；"
        + (f"后台工作（{'、'.join(jobs)}）在主进程 {os.getpid()} 中运行" if jobs else "本机不运行后台工作"),
        flush=True,
    )
    try:
        uvicorn.run(
            app,
            factory=True,
            workers=workers,
            host=settings.host,
            port=settings.port,
            log_level="warning",
            timeout_graceful_shutdown=3,  # live feeds never end by themselves
        )
    finally:
        center.stop()


def worker_app() -> FastAPI:
    """One API process: the center's services without its background work (uvicorn's factory)."""
    from chengyun.api.app import create_app
    from chengyun.bootstrap import build

    spec = json.loads(os.environ[WORKER_ENV])
    settings = Settings(**spec["settings"])
    clock = None
    if spec["clock"] is not None:
        start, real_origin = spec["clock"]
        clock = SimulatedClock(datetime.fromisoformat(start), settings.speed, real_origin)
    return create_app(build(settings, clock=clock, migrate=False))

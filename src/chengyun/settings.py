"""Configuration from the environment (fixed contract: CHENGYUN_* variables); CLI flags override."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DB_FILE = Path("var") / "chengyun.db"
# Every street's sensors (the topic contract: chengyun/{street}/sensors/{sensor_id}).
MQTT_TOPIC = "chengyun/+/sensors/+"


@dataclass(frozen=True)
class Settings:
    database_url: str
    mqtt_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    bootstrap_token: str | None = None
    speed: float = 1.0  # the clock's speed: 1 is the wall clock, N a simulated clock N times faster
    run_worker: bool = True  # run the deadline and sensor workers in the server process
    readings_retention_days: float = 30.0  # raw points; their minute buckets keep 90 days, hours 3 years
    # The MQTT worker's client id: the broker keeps its session (and what arrives while it is down) under
    # it, so it must stay the same across restarts and differ between workers sharing the stream.
    mqtt_client_id: str = field(default_factory=lambda: f"chengyun-{socket.gethostname()}-{os.getpid()}")
    mqtt_group: str = "chengyun"  # the shared subscription ($share/{group}/...) the workers split
    # The topics this worker takes: several workers may split the sensors between them by topic (a
    # street each, `chengyun/JAS/sensors/+`, or a gateway's topics), each sensor's stream in one of them.
    mqtt_topic: str = MQTT_TOPIC
    # What a client (an address) may ask of the public routes (Open311, residents', health) a minute,
    # per process; 0 is no limit. Requests with a working token are not counted.
    public_reads_per_minute: int = 120
    public_writes_per_minute: int = 20
    # Seconds between two saves of a sensor's live state (rule state, latest values); 0: after every
    # batch. Above 0 only where one process ingests the sensors (services/ingest.py `state_every`).
    sensor_state_save_s: float = 0.0
    # The database is a throwaway SQLite file (the simulator's): traded for speed (adapters/db/engine.py).
    scratch_database: bool = False

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        port_text = env.get("CHENGYUN_PORT", "8000")
        try:
            port = int(port_text)
        except ValueError:
            raise SystemExit(f"CHENGYUN_PORT 应为端口号，不是 {port_text!r}") from None
        retention_text = env.get("CHENGYUN_READINGS_RETENTION_DAYS", "30")
        try:
            retention = float(retention_text)
            if not retention > 0:
                raise ValueError(retention)
        except ValueError:
            raise SystemExit(
                f"CHENGYUN_READINGS_RETENTION_DAYS 应为正数（天），不是 {retention_text!r}"
            ) from None
        state_text = env.get("CHENGYUN_SENSOR_STATE_SAVE_S", "0").strip() or "0"
        try:
            state_save = float(state_text)
            if not 0 <= state_save <= 3600:
                raise ValueError(state_save)
        except ValueError:
            raise SystemExit(
                f"CHENGYUN_SENSOR_STATE_SAVE_S 应为 0 到 3600 之间的秒数，不是 {state_text!r}"
            ) from None
        reads = _count(env, "CHENGYUN_PUBLIC_READS_PER_MINUTE", 120)
        writes = _count(env, "CHENGYUN_PUBLIC_WRITES_PER_MINUTE", 20)
        return cls(
            database_url=env.get("CHENGYUN_DATABASE_URL") or sqlite_url(DEFAULT_DB_FILE),
            mqtt_url=env.get("CHENGYUN_MQTT_URL") or None,
            host=env.get("CHENGYUN_HOST", "127.0.0.1"),
            port=port,
            bootstrap_token=env.get("CHENGYUN_BOOTSTRAP_TOKEN") or None,
            readings_retention_days=retention,
            mqtt_client_id=env.get("CHENGYUN_MQTT_CLIENT_ID") or f"chengyun-{socket.gethostname()}",
            mqtt_group=env.get("CHENGYUN_MQTT_GROUP") or "chengyun",
            mqtt_topic=env.get("CHENGYUN_MQTT_TOPIC", "").strip() or MQTT_TOPIC,
            public_reads_per_minute=reads,
            public_writes_per_minute=writes,
            sensor_state_save_s=state_save,
        )


def _count(env: dict[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isascii() or not text.isdigit():
        raise SystemExit(f"{name} 应为每分钟的次数（0 或正整数，0 为不限），不是 {text!r}")
    return int(text)


def sqlite_url(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path.resolve()}"

"""Backup while the center runs and restore into a fresh database, on PostgreSQL (`pg_dump -Fc`,
`pg_restore`) and SQLite (its online backup): `chengyun backup` while a hotline registers orders,
`chengyun restore`, `chengyun db upgrade`, `chengyun serve` on the copy, then what a user would check:
the same orders with their states and timelines, the same people, alarm, readings and community data; the
tokens issued before still work (a revoked one still does not); a new order gets a new id; the deadline
worker fires on the restored deadlines."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from apikit import TILE
from callers import Callers
from chengyun.adapters.db.engine import make_engine
from chengyun.adapters.db.migrate import current, head
from chengyun.bootstrap import build
from chengyun.cli import main
from chengyun.domain.access import Role
from chengyun.settings import Settings
from community_data import load_community
from street import ADMIN, STREET, load_street
from throwaway import scratch_databases, server, wait_for

V1 = "/api/v1"
HERE = {"lon": 121.4421, "lat": 31.2251}  # in front of building B1, area A1
SENSORS_CSV = (
    "id,kind,lon,lat,watches,watch_kind,rules\n"
    'G1,gas,121.4470,31.2250,B2,place,"[{""id"": ""gas-high"", ""kind"": ""threshold"", ""quantity"": ""lel"", '
    '""colour"": ""red"", ""high"": 10, ""clear_below"": 5}]"\n'
)
# Who holds a token in the backed-up database: role, person.
HOLDERS: dict[str, tuple[Role, str | None]] = {
    "admin": (Role.ADMIN, None),
    "desk": (Role.HOTLINE_HANDLER, "H1"),
    **{m: (Role.AREA_MANAGER, m) for m in ("M1", "M2", "M3", "M4")},
    "responder": (Role.CHIEF_RESPONDER, "R1"),
    "sensor": (Role.SENSOR_SYSTEM, None),
    "revoked": (Role.DIRECTOR, "D1"),
}
OVERDUE = text("SELECT count(*) FROM timeline WHERE order_id = :order AND kind = 'deadline_overdue'")
TAGGED = text("SELECT id, description FROM orders WHERE description LIKE :pattern")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Makes new, empty databases: SQLite files, or PostgreSQL databases of the test's own on the test
    server (dropped afterwards; no other database is touched)."""
    if request.param == "sqlite":
        yield lambda name: f"sqlite:///{tmp_path / (name + '.db')}"
        return
    with scratch_databases("cy_backup") as create:
        yield create


def source_database(url: str) -> dict[str, str]:
    """The test street with its community data and sensors, and tokens for its people (one revoked)."""
    center = build(Settings(database_url=url, run_worker=False))
    try:
        load_street(center)
        load_community(center)
        center.sensors.import_csv(ADMIN, STREET, SENSORS_CSV)
        tokens = {}
        for who, (role, staff) in HOLDERS.items():
            tokens[who], record = center.auth.issue(role, [STREET], staff, who)
            if who == "revoked":
                center.auth.revoke(record.id)
    finally:
        center.stop()
    return tokens


class User:
    """The HTTP API of one running server, as the holders of the tokens see it."""

    def __init__(self, url: str, tokens: dict[str, str]) -> None:
        self.client = httpx.Client(base_url=url + V1, timeout=30)
        self.tokens = tokens

    def call(self, method: str, path: str, who: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return self.client.request(method, path, headers=headers, **kwargs)

    def ok(self, method: str, path: str, who: str, **kwargs: Any) -> Any:
        response = self.call(method, path, who, **kwargs)
        assert response.status_code in (200, 201), f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def view(self, orders: list[int]) -> dict[str, Any]:
        """What the users read: orders with their timelines, people, the alarm, readings, community."""
        alarms = self.ok("GET", "/alarms", "admin", params={"sensor_id": "G1"})["items"]
        return {
            "orders": {o: self.ok("GET", f"/orders/{o}", "desk") for o in orders},
            "timelines": {o: self.ok("GET", f"/orders/{o}/timeline", "desk") for o in orders},
            "staff": self.ok("GET", "/staff", "admin"),
            "alarms": [self.ok("GET", f"/alarms/{a['id']}", "admin") for a in alarms],
            "readings": self.ok(
                "GET", "/sensors/G1/series", "admin", params={"quantity": "lel", "resolution": "raw"}
            ),
            "community": self.ok("GET", "/community/summary", "admin"),
            "tokens": sorted(
                (t["name"], t["revoked_at"] is not None) for t in self.ok("GET", "/tokens", "admin")
            ),
        }

    def close(self) -> None:
        self.client.close()


def work_a_morning(user: User) -> list[int]:
    """Orders in every state from received to closed, with their timelines, and a gas alarm's order."""
    ids = [int(user.ok("POST", "/orders", "desk", json=TILE)["id"]) for _ in range(3)]
    closed, responded, _untouched = ids
    # The street's A or B manager, whoever the day's dispatch chose.
    assignee = str(user.ok("GET", f"/orders/{closed}", "desk")["assignee"])
    for action, who, body in [
        ("respond", assignee, {"note": "先联：已电话联系唐女士"}),
        ("arrive", assignee, {"position": HERE, "note": "已到场"}),
        ("handle", assignee, {"note": "翘起的地砖已重新铺设"}),
        ("close-loop", "responder", {"note": "回访唐女士，表示满意", "satisfaction": "satisfied"}),
        ("close", "desk", {}),
    ]:
        user.ok("POST", f"/orders/{closed}/{action}", who, json=body)
    user.ok("POST", f"/orders/{responded}/respond", assignee, json={"note": "先联"})
    now = datetime.now(UTC)
    readings = [
        {"sensor_id": "G1", "ts": (now - timedelta(seconds=s)).isoformat(), "values": {"lel": lel}}
        for s, lel in ((30, 2.0), (20, 4.5), (10, 12.5))
    ]
    assert user.ok("POST", "/readings", "sensor", json=readings)["alarms"] == 1
    alarm = user.ok("GET", "/alarms", "admin", params={"sensor_id": "G1"})["items"][0]
    assert alarm["order_id"] is not None  # a red gas alarm files an order
    return [*ids, int(alarm["order_id"])]


def tagged(url: str, tag: str) -> dict[str, int]:
    """Key -> order id of the orders the callers tagged `tag` registered, as stored at `url`."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(TAGGED, {"pattern": f"%（{tag}-%"}).all()
    finally:
        engine.dispose()
    return {description.rsplit("（", 1)[1].rstrip("）"): int(order_id) for order_id, description in rows}


class Later:
    """The wall clock eleven minutes on: every restored order's response deadline has passed."""

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(minutes=11)

    def real_seconds_until(self, at: datetime) -> float:
        return (at - self.now()).total_seconds()


def test_a_backup_taken_while_the_center_runs_restores_into_a_fresh_database_that_serves(
    fresh_database: Callable[[str], str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = fresh_database("source")
    tokens = source_database(source)
    dump = tmp_path / "backup" / "chengyun.dump"
    env = {"CHENGYUN_DATABASE_URL": source}
    with server([], env, tmp_path) as running:
        user = User(running.url, tokens)
        orders = work_a_morning(user)
        with Callers(running.url, tokens["desk"], TILE, "bk", threads=2) as callers:
            wait_for(lambda: callers.acknowledged() >= 10, "orders before the backup")
            acknowledged_before = dict(callers.tally.acknowledged)
            assert main(["backup", str(dump), "--database-url", source]) == 0
            wait_for(
                lambda: callers.acknowledged() >= len(acknowledged_before) + 5, "orders after the backup"
            )
        assert callers.tally.failures == [] and callers.tally.server_errors == []
        assert "已备份到" in capsys.readouterr().out
        before = user.view(orders)
        user.close()
    acknowledged = callers.tally.acknowledged

    restored = fresh_database("restored")
    assert main(["restore", str(dump), "--database-url", source]) == 2  # never over a database in use
    assert "恢复到" in capsys.readouterr().err
    assert main(["restore", str(dump), "--database-url", restored]) == 0
    said = capsys.readouterr().out
    assert "人员 10 人" in said and "令牌 9 个" in said and "可直接 chengyun serve" in said
    assert main(["db", "upgrade", "--database-url", restored]) == 0  # a no-op: the schema is the newest
    engine = make_engine(restored)
    assert current(engine) == head()
    engine.dispose()

    # Every order acknowledged before the backup began is in it, each under the id its caller was
    # given; none the server did not acknowledge.
    in_backup = tagged(restored, "bk")
    assert acknowledged_before.items() <= in_backup.items() <= acknowledged.items()
    assert len(in_backup) < len(acknowledged)  # the hotline carried on during the backup

    with server(["--speed", "1"], {"CHENGYUN_DATABASE_URL": restored}, tmp_path) as running:
        user = User(running.url, tokens)
        assert user.view(orders) == before
        states = [o["state"] for o in before["orders"].values()]
        assert states == ["closed", "responded", "dispatched", "dispatched"]  # the last: the alarm's
        for who in HOLDERS.keys() - {"revoked"}:
            assert user.call("GET", "/me", who).status_code == 200, who
        assert user.call("GET", "/me", "revoked").status_code == 401
        # A new order (and its timeline) gets an id after every restored one: the sequences came along.
        newest = max([*orders, *in_backup.values()])
        new = user.ok("POST", "/orders", "desk", json=TILE)
        assert new["id"] > newest
        assert [e["kind"] for e in user.ok("GET", f"/orders/{new['id']}/timeline", "desk")][:1] == [
            "received"
        ]
        user.close()

    # The deadline worker picks up the restored deadlines: 11 minutes on, the order nobody responded
    # to is overdue, noticed once.
    untouched = orders[2]
    center = build(Settings(database_url=restored, run_worker=True), clock=Later(), migrate=False)
    center.start()
    try:

        def overdue() -> int:
            with center.engine.connect() as connection:
                return int(connection.execute(OVERDUE, {"order": untouched}).scalar_one())

        wait_for(lambda: overdue() > 0, "the restored order's overdue notice")
        assert overdue() == 1
    finally:
        center.stop()

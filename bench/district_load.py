"""A district's load on `chengyun serve --workers N` with PostgreSQL: workers 1 and 2 in the same run.

What it does
    Creates a throwaway PostgreSQL schema, loads the demo street 静安寺街道 (JAS) and, with `--streets K`,
    K - 1 copies of it under the codes and names of 静安区's other streets and towns (places, departments,
    staff, A/B pairs, roster, the 14,855 sensors, grading rules: everything but the community programs),
    and issues the people's tokens. Then, for `--workers 1` and `--workers 2` in turn, it starts the real
    `chengyun serve --workers N` (deadline worker and sensor sweeps in the server, as deployed), drives
    it with aiohttp and stops it; the schema is dropped at the end.

The users (per street, from the demo street's roster)
    hotline     12345 hotline handlers: POST /api/v1/orders (a demo building's address, a complainant,
                an Idempotency-Key); orders are located and auto-dispatched to the area's A/B manager.
    manager     area managers working their lists as /tasks does: GET /api/v1/orders?assignee=me&group=open,
                then the next step of the most urgent order (respond, arrive with a position, handle).
    board       duty officers reading GET /api/v1/board?street=.
    screen      wall screens polling GET /api/v1/screen/overview and …/orders (?street= given explicitly),
                the sensor layer (…/sensors, ~740 kB) at the start and every 30 s.
    open311     citizens through Open311: POST requests.json (form-encoded, api_key), then reading their
                request back (GET requests/{id}.json).
    sensors     gateways POSTing /api/v1/readings: every street's 14,855 sensors at their real rates
                (`sim/sensors.py`'s feed, about 107 readings/s a street): each second, one POST a street
                with what its gateways have due.

Two phases per worker count
    busy    the busiest hour of a busy day (busy_hour(): sim/demand.py at load 2, 30 orders an hour a
            street, open-loop), every area manager's /tasks, each street's board and wall screen open and
            behaving as their JavaScript does (the live feed held open, re-reads on its events and on
            their timers), Open311 citizens; sensors at their real rate.
    peak    the same kinds without think time, a fixed number in flight per kind (see PEAK): capacity,
            the figure for how throughput grows from 1 to 2 workers. Sensors keep their real rate.
    Each phase has a warm-up (not counted), then a measured window. Any 5xx is a finding and is listed.

Targets (issue 9)
    a district of 14 streets (14 × 14,000 sensors at real rates, a busy hour of orders) on this 2-core
    machine with 2 workers: sustained without growing backlog, p99 order creation < 100 ms; and how
    throughput grows from 1 to 2 workers.

Run
    .venv/bin/python bench/district_load.py                          # 1 street, ~2 min with set-up
    .venv/bin/python bench/district_load.py --streets 14 --runs 3 --json d14.json   # the district, 20–30 min
    .venv/bin/python bench/district_load.py --summarize d14.json   # the tables again (of several: medians)

PostgreSQL comes from --postgres or CHENGYUN_TEST_DATABASE_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from _common import (
    SURNAMES,
    TEXTS,
    med_range,
    percentile,
    postgres_base_url,
    progress,
    table,
    temp_database,
)

# 静安区's 14 streets and towns (code, name); the first is the demo street itself.
DISTRICT: list[tuple[str, str]] = [
    ("JAS", "静安寺街道"),
    ("NJX", "南京西路街道"),
    ("JNL", "江宁路街道"),
    ("SME", "石门二路街道"),
    ("CJD", "曹家渡街道"),
    ("TMX", "天目西路街道"),
    ("BZJ", "北站街道"),
    ("BSL", "宝山路街道"),
    ("ZJX", "芷江西路街道"),
    ("GHX", "共和新路街道"),
    ("DNL", "大宁路街道"),
    ("PPX", "彭浦新村街道"),
    ("LFL", "临汾路街道"),
    ("PPZ", "彭浦镇"),
]
SENSOR_PERIOD_S = 1.0  # a gateway round a second per street (the simulator's: 5 simulated minutes)
KINDS = ["hotline", "manager", "board", "screen", "open311", "sensors"]

# busy: the peak hour of a busy day, per street (see busy_hour() and bench/README.md). The pages behave as
# their JavaScript does: each holds the live feed (GET /api/v1/events) open and re-reads on its events.
BUSY_LOAD = 2.0  # `chengyun simulate --load 2`: the busy day (twice the usual orders)
BUSY_SEEDS = range(1, 8)  # a week of simulated days: the busiest hour of any of them
TASKS_DEBOUNCE_S = 0.3  # tasks.js: re-read 300 ms after an order event (a burst once)
TASKS_PERIODIC_S = 300.0  # tasks.js PERIODIC_MS (30 s before, with a re-read after every event: --old-tasks)
OLD_TASKS_PERIODIC_S = 30.0
PAGES_OPEN_S = 30.0  # the pages open one by one over this long (the warm-up)
BOARD_DEBOUNCE_S = 0.3  # board.html soon()
BOARD_PERIODIC_S = 30.0  # board.html: "time alone moves orders into near and overdue"
SCREEN_REFRESH_S = 0.4  # screen.js REFRESH_MS: overview and orders at most this often after events
SCREEN_SENSORS_S = 5.0  # screen.js SENSORS_REFRESH_MS: the sensor layer after alarm events
SCREEN_PERIODIC_S = 30.0  # screen.js PERIODIC_MS: health, overview and orders; the layer every 2 × this
SCREEN_COMMUNITY_S = 60.0  # screen.js COMMUNITY_MS
MANAGER_STEP_S = 60.0  # mean time from seeing an order's next step on the list to doing it (exponential)
CITIZEN_READS = 2.0  # Open311 citizens read their request back this many times each, on average
# peak: requests in flight per kind for the whole district, no think time (the capacity).
POOLED = ("hotline", "open311")  # kinds with a few requests a window: their latencies pooled over the runs
PEAK: dict[str, int] = {"hotline": 8, "manager": 8, "board": 2, "screen": 2, "open311": 4}
NEXT_STEP = {"dispatched": "respond", "responded": "arrive", "on_site": "handle", "planned": "handle"}
TASKS_NEXT = NEXT_STEP | {"handled": "close-loop"}  # tasks.js NEXT
HANDLE_NOTES = ["现场已处置，拍照留档", "已联系相关部门处理完毕", "已清理完毕，恢复正常", "已更换损坏部件"]
FEEDBACK_NOTES = ["已回访诉求人，结果确认", "电话回访，诉求人满意", "已告知处理结果"]


# --- the fixture: streets, people and tokens ----------------------------------------------------------


@dataclass
class StreetFixture:
    code: str
    addresses: list[str]
    building_points: list[tuple[float, float]]
    hotline: list[str]  # tokens of hotline handlers
    managers: list[tuple[str, str]]  # (staff id, token)
    duty: str
    open311_key: str
    sensor_token: str
    answers: dict[str, dict[str, str]]  # category -> Open311 answers to its required extra questions


def _prefixed(rows: list[dict[str, str]], code: str, keys: tuple[str, ...]) -> list[dict[str, str]]:
    """The demo rows for street `code`: staff ids prefixed with the code (staff ids are global)."""
    if code == "JAS":
        return rows
    return [r | {k: f"{code}-{r[k]}" for k in keys if r.get(k)} | {"street": code} for r in rows]


def _renamed(text: str, code: str, name: str) -> str:
    """The demo street's JSON or CSV for street `code`: its place and sensor codes all start with JAS."""
    return text if code == "JAS" else text.replace("JAS", code).replace("静安寺街道", name)


def prepare(database_url: str, streets: int, admin_token: str) -> list[StreetFixture]:
    """Migrate, load the streets, issue the tokens; returns what the users need per street."""
    from chengyun.bootstrap import build
    from chengyun.domain.access import Role
    from chengyun.domain.calendar import local_date
    from chengyun.domain.places import PlaceKind
    from chengyun.services.directory import (
        DEPARTMENT_COLUMNS,
        PAIR_COLUMNS,
        SHIFT_COLUMNS,
        STAFF_COLUMNS,
        write_csv,
    )
    from chengyun.settings import Settings
    from chengyun.sim import jingansi
    from chengyun.sim.demo import CLI_ADMIN, DEMO_GRADING
    from chengyun.sim.sensors import demo_sensor_csv

    del admin_token  # the server accepts it as CHENGYUN_BOOTSTRAP_TOKEN
    center = build(Settings(database_url=database_url, run_worker=False))
    fixtures: list[StreetFixture] = []
    try:
        today = local_date(center.clock.now())
        places = json.dumps(jingansi.places(), ensure_ascii=False)
        sensors_csv = demo_sensor_csv()
        staff_rows = jingansi.staff()
        for code, name in DISTRICT[:streets]:
            started = time.perf_counter()
            d = center.directory
            d.import_places(CLI_ADMIN, code, json.loads(_renamed(places, code, name)))
            d.import_departments(CLI_ADMIN, code, write_csv(jingansi.departments(), DEPARTMENT_COLUMNS))
            staff = _prefixed(staff_rows, code, ("id",))
            d.import_staff(CLI_ADMIN, code, write_csv(staff, STAFF_COLUMNS))
            pairs = _prefixed(jingansi.ab_pairs(), code, ("a_staff", "b_staff"))
            pairs = [p | {"area": _renamed(p["area"], code, name)} for p in pairs]
            d.import_pairs(CLI_ADMIN, code, write_csv(pairs, PAIR_COLUMNS))
            shifts = _prefixed(jingansi.roster(today - timedelta(days=1), 3), code, ("staff",))
            shifts = [s | {"area": _renamed(s.get("area", ""), code, name)} for s in shifts]
            d.import_roster(CLI_ADMIN, code, write_csv(shifts, SHIFT_COLUMNS))
            center.sensors.import_csv(CLI_ADMIN, code, _renamed(sensors_csv, code, name))
            center.grading.set_rules(CLI_ADMIN, code, DEMO_GRADING)

            buildings = [p for p in d.places(code, PlaceKind.BUILDING) if p.props.get("address")]
            catalogue = center.orders.catalogue(code)
            answers = {
                category: {
                    f"attribute[{a.code}]": a.values[0][0] if a.values else "不详"
                    for a in catalogue.get(category).attributes
                    if a.required
                }
                for category, _ in TEXTS
            }
            by_post: dict[str, list[str]] = defaultdict(list)
            for row in staff:
                for post in row["posts"].split("|"):
                    by_post[post].append(row["id"])

            def issue(role: Role, staff_id: str | None, street: str = code) -> str:
                token, _ = center.auth.issue(role, [street], staff_id, f"压测 {role.value}")
                return token

            fixtures.append(
                StreetFixture(
                    code=code,
                    addresses=[str(b.props["address"]) for b in buildings],
                    building_points=[_point_of(b.geometry) for b in buildings],
                    hotline=[issue(Role.HOTLINE_HANDLER, s) for s in by_post["hotline_handler"][:4]],
                    managers=[(s, issue(Role.AREA_MANAGER, s)) for s in by_post["area_manager"]],
                    duty=issue(Role.DUTY_OFFICER, by_post["duty_officer"][0]),
                    open311_key=issue(Role.HOTLINE_SYSTEM, None),
                    sensor_token=issue(Role.SENSOR_SYSTEM, None),
                    answers=answers,
                )
            )
            progress(f"  street {code} {name} loaded in {time.perf_counter() - started:.1f} s", done=True)
    finally:
        center.stop()
    return fixtures


def _point_of(geometry: dict[str, Any]) -> tuple[float, float]:
    """A point of a building (its first ring's first corner nudged inwards is close enough for check-ins)."""
    coords: Any = geometry["coordinates"]
    while isinstance(coords[0], list):
        coords = coords[0]
    return float(coords[0]), float(coords[1])


def busy_hour() -> dict[str, float]:
    """Reports a street gets in the busiest hour of a busy day: `sim/demand.py`'s day at load 2 (hotline
    calls on the two-peak working day, citizens' app reports, patrol and drone findings), the busiest
    clock hour over a week of seeds. Returns reports per hour by source and the hour it was."""
    from chengyun.sim.demand import day_script
    from chengyun.sim.jingansi import CST

    best: dict[str, float] = {}
    for seed in BUSY_SEEDS:
        start = datetime(2026, 6, 1 + seed, tzinfo=CST)
        reports, _ = day_script(seed, start, 24, BUSY_LOAD)
        hours: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for r in reports:
            hours[r.at.astimezone(CST).hour][str(r.source)] += 1
        for hour, counts in hours.items():
            if sum(counts.values()) > sum(v for k, v in best.items() if k != "hour"):
                best = dict(counts) | {"hour": float(hour)}
    return best


# --- the server ----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def tree_memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, sum of peak RSS) in MiB of a process and all its descendants, from /proc."""
    rss = peak = 0.0
    for p in _descendants(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1]) / 1024
                elif line.startswith("VmHWM:"):
                    peak += int(line.split()[1]) / 1024
        except (FileNotFoundError, ProcessLookupError):
            pass
    return rss, peak


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and all its descendants, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in _descendants(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rpartition(")")[2].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def _descendants(pid: int) -> list[int]:
    out = [pid]
    for p in out:
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                children = (task / "children").read_text().split()
                out += [int(c) for c in children if int(c) not in out]
        except (FileNotFoundError, ProcessLookupError):
            pass
    return out


@contextmanager
def running_server(
    database_url: str, token: str, workers: int, mqtt_url: str | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`chengyun serve --workers N` in its own process group; stopped with SIGTERM (then SIGKILL).
    With `mqtt_url` its background process ingests the sensors from that broker, under a client id
    and shared-subscription group of this run's own (no earlier run's session takes a share)."""
    import httpx

    port = free_port()
    env = dict(os.environ, CHENGYUN_BOOTSTRAP_TOKEN=token, CHENGYUN_DATABASE_URL=database_url)
    env.pop("CHENGYUN_MQTT_URL", None)
    if mqtt_url is not None:
        run_id = uuid.uuid4().hex[:8]
        env |= {
            "CHENGYUN_MQTT_URL": mqtt_url,
            "CHENGYUN_MQTT_CLIENT_ID": f"bench-district-{run_id}",
            "CHENGYUN_MQTT_GROUP": f"bench{run_id}",
        }
    # The district's Open311 citizens all come from this one address: no per-address public limit.
    env |= {"CHENGYUN_PUBLIC_READS_PER_MINUTE": "0", "CHENGYUN_PUBLIC_WRITES_PER_MINUTE": "0"}
    chengyun = str(Path(sys.executable).with_name("chengyun"))
    command = [chengyun, "serve", "--workers", str(workers), "--port", str(port), "--host", "127.0.0.1"]
    process = subprocess.Popen(command, env=env, start_new_session=True, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise SystemExit(f"the server exited with {process.returncode}")
            try:
                if httpx.get(base + "/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the server did not start within 90 s")
            time.sleep(0.3)
        # every API process answers (the kernel spreads connections over them): ask a few times
        for _ in range(4 * workers):
            httpx.get(base + "/api/v1/health", timeout=10)
        yield process, base
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            pass


# --- measuring -----------------------------------------------------------------------------------------


@dataclass
class Stats:
    """What one kind of user saw in a measured window."""

    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    failures: list[str] = field(default_factory=list)  # 5xx and transport errors, a few examples
    refusals: list[str] = field(default_factory=list)  # 4xx, a few examples
    items: int = 0  # readings for sensors

    def row(self, seconds: float, keep_latencies: bool = False) -> dict[str, Any]:
        five = sum(n for s, n in self.statuses.items() if s >= 500 or s == 0)
        four = sum(n for s, n in self.statuses.items() if 400 <= s < 500)
        lat = self.latencies_ms
        return {
            "requests": len(lat),
            "rate": len(lat) / seconds,
            "items_rate": self.items / seconds,
            "p50": percentile(lat, 50),
            "p95": percentile(lat, 95),
            "p99": percentile(lat, 99),
            "errors_5xx": five,
            "errors_4xx": four,
            "statuses": dict(self.statuses),
            "examples": self.failures[:5],
            "refusals": self.refusals[:5],
            # Each one, for the summary to pool over the runs (order creation: a few a window).
            **({"latencies_ms": [round(x, 1) for x in self.latencies_ms]} if keep_latencies else {}),
        }


class Recorder:
    def __init__(self) -> None:
        self.measuring = False
        self.stats: dict[str, Stats] = defaultdict(Stats)
        self.offered: dict[str, int] = defaultdict(int)  # requests sent while measuring
        self.in_flight: dict[str, int] = defaultdict(int)  # requests sent and not answered yet, now
        self.feed_drops = 0
        self.lag_ms: list[float] = []  # how late the client's own event loop woke (see Users.loop_lag)

    def record(self, kind: str, status: int, elapsed_s: float, detail: str = "", items: int = 0) -> None:
        if not self.measuring:
            return
        s = self.stats[kind]
        s.latencies_ms.append(elapsed_s * 1000)
        s.statuses[status] += 1
        if (status >= 500 or status == 0) and len(s.failures) < 5:
            s.failures.append(f"{status} {detail[:300]}")
        elif 400 <= status < 500 and len(s.refusals) < 5:
            s.refusals.append(f"{status} {detail[:300]}")
        s.items += items


Request = Callable[..., Awaitable[tuple[int, Any]]]


class Users:
    """The district's users against one server."""

    def __init__(self, session: aiohttp.ClientSession, streets: list[StreetFixture], admin: str) -> None:
        self.session = session
        self.streets = streets
        self.admin = admin
        self.rec = Recorder()
        self.rng = random.Random(20261206)
        self.stop = asyncio.Event()
        self.serial = 0
        self.spawned: set[asyncio.Future[None]] = set()
        self.feeds = session  # the pages' live feeds (a session without a total timeout)
        self.old_tasks = False  # tasks.js before: re-read after every event of the street and every 30 s

    async def call(
        self,
        kind: str,
        method: str,
        path: str,
        token: str | None,
        *,
        items: int = 0,
        cache: dict[str, str] | None = None,
        **kw: Any,
    ) -> tuple[int, Any]:
        """`cache`: the browser cache of this URL: its ETag goes out as If-None-Match."""
        headers = dict(kw.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if cache is not None and "etag" in cache:
            headers["If-None-Match"] = cache["etag"]
        started = time.perf_counter()
        if self.rec.measuring:
            self.rec.offered[kind] += 1
        self.rec.in_flight[kind] += 1
        try:
            async with self.session.request(method, path, headers=headers, **kw) as response:
                body = await response.read()
                status = response.status
                if cache is not None and "ETag" in response.headers:
                    cache["etag"] = response.headers["ETag"]
        except (aiohttp.ClientError, TimeoutError) as e:
            self.rec.record(kind, 0, time.perf_counter() - started, f"{type(e).__name__}: {e}")
            return 0, None
        finally:
            self.rec.in_flight[kind] -= 1
        self.rec.record(
            kind, status, time.perf_counter() - started, body[:300].decode(errors="replace"), items
        )
        if status >= 300:
            return status, None
        try:
            return status, json.loads(body)
        except ValueError:
            return status, None

    async def loop_lag(self) -> None:
        """How late a 50 ms sleep of this client wakes: a busy client adds that to every latency it
        measures, so the summary shows it beside order creation's."""
        loop = asyncio.get_running_loop()
        while not self.stop.is_set():
            started = loop.time()
            await asyncio.sleep(0.05)
            if self.rec.measuring:
                self.rec.lag_ms.append((loop.time() - started - 0.05) * 1000)

    async def think(self, mean_s: float) -> bool:
        """Waits about `mean_s` (exponential); True once the phase is over."""
        if mean_s <= 0:
            await asyncio.sleep(0)
        else:
            with suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), self.rng.expovariate(1 / mean_s))
        return self.stop.is_set()

    # --- the kinds ---

    def order_body(self, st: StreetFixture) -> dict[str, Any]:
        rng = self.rng
        self.serial += 1
        category, texts = rng.choice(TEXTS)
        address = rng.choice(st.addresses)
        phone = "1" + rng.choice("3456789") + "".join(str(rng.randrange(10)) for _ in range(9))
        return {
            "source": "hotline",
            "category": category,
            "description": rng.choice(texts).format(addr=address),
            "street": st.code,
            "address": address,
            "complainant": {
                "name": rng.choice(SURNAMES) + rng.choice(["先生", "女士", "阿姨"]),
                "phone": phone,
            },
            "external_id": f"12345-{time.strftime('%Y%m%d')}-{st.code}-{self.serial:07d}",
        }

    async def hotline(self, st: StreetFixture, k: int, think_s: float) -> None:
        token = st.hotline[k % len(st.hotline)]
        while True:
            headers = {"Idempotency-Key": uuid.uuid4().hex}
            await self.call(
                "hotline", "POST", "/api/v1/orders", token, json=self.order_body(st), headers=headers
            )
            if await self.think(think_s):
                break

    async def manager(self, st: StreetFixture, first: int, stride: int, think_s: float) -> None:
        """Area managers of the street, each in turn (`first`, `first + stride`, …), as /tasks does."""
        k = first
        while True:
            staff, token = st.managers[k % len(st.managers)]
            k += stride
            _, page = await self.call(
                "manager", "GET", f"/api/v1/orders?assignee={staff}&group=open&limit=200", token
            )
            items = [o for o in (page or {}).get("items", []) if o.get("state") in NEXT_STEP]
            if items:
                order = items[0]
                action = NEXT_STEP[order["state"]]
                lon, lat = self.rng.choice(st.building_points)
                body: dict[str, Any] = {}
                if action in ("respond", "arrive"):
                    body["position"] = {"lon": lon, "lat": lat}
                if action == "handle":
                    body["note"] = self.rng.choice(HANDLE_NOTES)
                await self.call("manager", "POST", f"/api/v1/orders/{order['id']}/{action}", token, json=body)
            if await self.think(think_s):
                break

    async def board(self, st: StreetFixture, think_s: float) -> None:
        while True:
            await self.call("board", "GET", f"/api/v1/board?street={st.code}", st.duty)
            if await self.think(think_s):
                break

    async def screen(self, st: StreetFixture, think_s: float) -> None:
        last_layer = 0.0
        while True:
            q = f"?street={st.code}"
            if time.monotonic() - last_layer > 30:
                last_layer = time.monotonic()
                await self.call("screen", "GET", f"/api/v1/screen/sensors{q}", self.admin)
            await asyncio.gather(
                self.call("screen", "GET", f"/api/v1/screen/overview{q}", self.admin),
                self.call("screen", "GET", f"/api/v1/screen/orders{q}", self.admin),
            )
            if await self.think(think_s):
                break

    async def open311(self, st: StreetFixture, think_s: float) -> None:
        mine: list[str] = []
        while True:
            if not mine or self.rng.random() < 0.4:
                await self.citizen_report(st, mine)
            else:
                rid = self.rng.choice(mine[-20:])
                await self.call(
                    "open311", "GET", f"/open311/v2/requests/{rid}.json?jurisdiction_id={st.code}", None
                )
            if await self.think(think_s):
                break

    async def sensors_mqtt(self, feed: Any, period_s: float, publisher: Any) -> None:
        """Every street's sensors at their real rate over the broker, as a district's gateways send
        them: every `period_s`, what came due, one QoS 1 message per gateway and up to 100 readings on
        `chengyun/{street}/sensors/{gateway}` (the feed's broken reports too, as their own messages).
        The server's background process ingests them (`chengyun serve` with CHENGYUN_MQTT_URL)."""
        from chengyun.sim.sensors import gateway_batches

        while not self.stop.is_set():
            tick = time.monotonic()
            batches = gateway_batches(feed.messages(datetime.now(UTC)))
            out: list[tuple[str, bytes]] = []
            for st in self.streets:
                if st.code == "JAS":
                    out += batches
                    continue
                ids = f'"{st.code}-'.encode()
                for topic_, payload in batches:
                    gateway = topic_.rsplit("/", 1)[1].replace("JAS-", f"{st.code}-")
                    out.append((f"chengyun/{st.code}/sensors/{gateway}", payload.replace(b'"JAS-', ids)))
            if out:
                await asyncio.to_thread(publisher.publish_many, out)
            await self.think_fixed(period_s - (time.monotonic() - tick))

    async def sensors(self, feed: Any, period_s: float) -> None:
        """Every street's sensors at their real rate: every `period_s`, what came due, one POST a street
        (a street's gateways' readings in one body)."""
        import msgspec

        from chengyun.sim.sensors import gateway_batches

        while not self.stop.is_set():
            tick = time.monotonic()
            messages = feed.messages(datetime.now(UTC))
            items: list[Any] = []
            for _, payload in gateway_batches(messages, per_message=10_000):
                if payload.startswith(b"[{") and b'"sensor_id"' in payload:
                    items += msgspec.json.decode(payload)  # broken reports (MQTT faults) left out
            if items:
                body = msgspec.json.encode(items)
                sends = []
                for st in self.streets:
                    data = body if st.code == "JAS" else body.replace(b'"JAS-', f'"{st.code}-'.encode())
                    headers = {"Content-Type": "application/json"}
                    sends.append(
                        self.call(
                            "sensors",
                            "POST",
                            "/api/v1/readings",
                            st.sensor_token,
                            items=len(items),
                            data=data,
                            headers=headers,
                        )
                    )
                await asyncio.gather(*sends)
            await self.think_fixed(period_s - (time.monotonic() - tick))

    # --- the busy hour: open-loop arrivals and the pages as their JavaScript behaves ---

    def spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self.spawned.add(task)
        task.add_done_callback(self.spawned.discard)

    async def arrivals(self, per_hour: float, make: Callable[[], Awaitable[None]]) -> None:
        """Poisson arrivals at `per_hour`, each its own request: what is offered does not wait for the
        answers (a backlog shows as requests in flight)."""
        if per_hour <= 0:
            return
        while not await self.think(3600 / per_hour):
            self.spawn(make())

    async def hotline_call(self, st: StreetFixture) -> None:
        token = self.rng.choice(st.hotline)
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        await self.call("hotline", "POST", "/api/v1/orders", token, json=self.order_body(st), headers=headers)

    async def citizen_report(self, st: StreetFixture, mine: list[str]) -> None:
        lon, lat = self.rng.choice(st.building_points)
        category, texts = self.rng.choice(TEXTS)
        form = {
            "api_key": st.open311_key,
            "jurisdiction_id": st.code,
            "service_code": category,
            "lat": f"{lat:.6f}",
            "long": f"{lon:.6f}",
            "description": self.rng.choice(texts).format(addr="我家"),
            "phone": "139" + "".join(str(self.rng.randrange(10)) for _ in range(8)),
        } | st.answers[category]
        _, answer = await self.call("open311", "POST", "/open311/v2/requests.json", None, data=form)
        if answer:
            mine.append(str(answer[0]["service_request_id"]))

    async def citizen_read(self, st: StreetFixture, mine: list[str]) -> None:
        if mine:
            rid = self.rng.choice(mine[-50:])
            path = f"/open311/v2/requests/{rid}.json?jurisdiction_id={st.code}"
            await self.call("open311", "GET", path, None)

    async def feed(
        self,
        token: str,
        on_order: Callable[[dict[str, Any]], None],
        on_alarm: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        """The page's EventSource on /api/v1/events (reconnecting as a browser does)."""
        path = "/api/v1/events" + ("?alarms=true" if on_alarm else "")
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        while not self.stop.is_set():
            try:
                async with self.feeds.get(path, headers=headers) as response:
                    event, data = "", []
                    async for raw in response.content:
                        line = raw.decode().rstrip("\r\n")
                        if line.startswith("event:"):
                            event = line[6:].strip()
                        elif line.startswith("data:"):
                            data.append(line[5:].strip())
                        elif not line and data:
                            payload = json.loads("\n".join(data))
                            if event == "order":
                                on_order(payload)
                            elif event == "alarm" and on_alarm is not None:
                                on_alarm(payload)
                            event, data = "", []
            except (aiohttp.ClientError, TimeoutError, ValueError):
                self.rec.feed_drops += 1
            await self.think_fixed(2.0)  # the feed's `retry: 2000`

    def debounced(self, delay_s: float, load: Callable[[], Awaitable[None]]) -> Callable[[], None]:
        """clearTimeout + setTimeout: a burst of events, one re-read `delay_s` after the last."""
        loop = asyncio.get_running_loop()
        handle: list[asyncio.TimerHandle] = []

        def trigger() -> None:
            if handle:
                handle.pop().cancel()
            handle.append(loop.call_later(delay_s, lambda: self.spawn(load())))

        return trigger

    def throttled(self, gap_s: float, load: Callable[[], Awaitable[None]]) -> Callable[[], None]:
        """screen.js throttled(): at most one in flight and one waiting, never closer than `gap_s`."""
        loop = asyncio.get_running_loop()
        state = {"last": 0.0, "running": False, "again": False, "timer": False}

        async def run() -> None:
            state["timer"] = False
            if state["running"]:
                state["again"] = True
                return
            state["running"], state["last"] = True, loop.time()
            try:
                await load()
            finally:
                state["running"] = False
            if state["again"]:
                state["again"] = False
                schedule()

        def schedule() -> None:
            if not state["timer"]:
                state["timer"] = True
                delay = max(0.0, float(state["last"]) + gap_s - loop.time())
                loop.call_later(delay, lambda: self.spawn(run()))

        return schedule

    async def every(self, period_s: float, load: Callable[[], Awaitable[None]]) -> None:
        """setInterval(load, period) of a page opened some time ago: the first at a random point of the
        period (the district's pages were not all opened in the same minute)."""
        await self.think_fixed(self.rng.uniform(0, period_s))
        while not self.stop.is_set():
            self.spawn(load())
            await self.think_fixed(period_s)

    async def tasks_page(self, st: StreetFixture, staff: str, token: str, open_s: float) -> None:
        """An area manager's /tasks (tasks.js): the open and handled lists, re-read after the order events
        that concern the person (`old_tasks`: after every event of the street, as before), every 5 min,
        and after each step; the person does the most urgent order's next step about a minute after
        seeing it."""
        await self.think_fixed(self.rng.uniform(0, open_s))
        shown: set[int] = set()
        busy = [False]
        who = staff

        async def load() -> None:
            base = f"/api/v1/orders?assignee={who}&limit=200"
            (_, open_), (_, handled) = await asyncio.gather(
                self.call("manager", "GET", base + "&group=open", token),
                self.call("manager", "GET", base + "&state=handled", token),
            )
            items = [*(open_ or {}).get("items", []), *(handled or {}).get("items", [])]
            shown.clear()
            shown.update(int(o["id"]) for o in items)
            steps = sorted(
                (o for o in items if o.get("state") in TASKS_NEXT),
                key=lambda o: o.get("next_due_at") or "9",
            )
            if steps and not busy[0]:
                busy[0] = True
                self.spawn(step(steps[0]))

        async def step(order: dict[str, Any]) -> None:
            try:
                if await self.think(MANAGER_STEP_S):
                    return
                action = TASKS_NEXT[order["state"]]
                body: dict[str, Any] = {}
                if action in ("respond", "arrive"):
                    lon, lat = self.rng.choice(st.building_points)
                    body["position"] = {"lon": lon, "lat": lat}
                if action in ("handle", "close-loop"):
                    body["note"] = self.rng.choice(HANDLE_NOTES if action == "handle" else FEEDBACK_NOTES)
                path = f"/api/v1/orders/{order['id']}/{action}"
                await self.call("manager", "POST", path, token, json=body)
            finally:
                busy[0] = False
            await load()

        soon = self.debounced(TASKS_DEBOUNCE_S, load)

        def on_order(event: dict[str, Any]) -> None:
            if self.old_tasks or event.get("assignee") == who or int(event["order_id"]) in shown:
                soon()

        await load()
        periodic = OLD_TASKS_PERIODIC_S if self.old_tasks else TASKS_PERIODIC_S
        await asyncio.gather(self.feed(token, on_order), self.every(periodic, load))

    async def board_page(self, st: StreetFixture, open_s: float) -> None:
        """The duty officer's board (board.html): board and notifications 300 ms after each event of the
        street, the board every 30 s."""
        await self.think_fixed(self.rng.uniform(0, open_s))

        async def board() -> None:
            await self.call("board", "GET", "/api/v1/board", st.duty)

        async def both() -> None:
            await asyncio.gather(
                board(), self.call("board", "GET", "/api/v1/notifications?limit=30", st.duty)
            )

        soon = self.debounced(BOARD_DEBOUNCE_S, both)
        await both()
        await asyncio.gather(self.feed(st.duty, lambda _: soon()), self.every(BOARD_PERIODIC_S, board))

    async def screen_page(self, st: StreetFixture, open_s: float) -> None:
        """The street's wall screen (screen.js, logged in for its street): overview and order markers at
        most every 0.4 s after order events and every 30 s, the 740 kB sensor layer at most every 5 s
        after alarm events and every 60 s, the community panel every 60 s, the clock every 30 s."""
        await self.think_fixed(self.rng.uniform(0, open_s))
        q = f"?street={st.code}"
        token = st.duty

        async def figures() -> None:
            await asyncio.gather(
                self.call("screen", "GET", f"/api/v1/screen/overview{q}", token),
                self.call("screen", "GET", f"/api/v1/screen/orders{q}", token),
            )

        layer_cache: dict[str, str] = {}  # fetch() revalidates with the ETag, as the browser's cache does

        async def layer() -> None:
            await self.call("screen", "GET", f"/api/v1/screen/sensors{q}", token, cache=layer_cache)

        async def community() -> None:
            await self.call("screen", "GET", f"/api/v1/community/summary{q}", token)

        async def periodic() -> None:
            await self.call("screen", "GET", "/api/v1/health", None)
            refresh_figures()

        refresh_figures = self.throttled(SCREEN_REFRESH_S, figures)
        refresh_layer = self.throttled(SCREEN_SENSORS_S, layer)

        async def layer_tick() -> None:
            refresh_layer()

        await asyncio.gather(figures(), layer(), community())
        await asyncio.gather(
            self.feed(token, lambda _: refresh_figures(), lambda _: refresh_layer()),
            self.every(SCREEN_PERIODIC_S, periodic),
            self.every(2 * SCREEN_PERIODIC_S, layer_tick),
            self.every(SCREEN_COMMUNITY_S, community),
        )

    async def think_fixed(self, seconds: float) -> None:
        with suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), max(0.0, seconds))


async def prime(base: str, streets: list[StreetFixture], admin: str, workers: int, readings: bool) -> float:
    """Each API process loads a street's caches (gazetteer, catalogue, classifier, routing) on first use:
    a few rounds of every kind of request per street on fresh connections, so every process gets some.
    With `readings` (the gateways POST to the API processes) the sensor registry too."""
    started = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=50, force_close=True)
    async with aiohttp.ClientSession(
        base, connector=connector, timeout=aiohttp.ClientTimeout(total=120)
    ) as session:
        users = Users(session, streets, admin)
        users.stop.set()  # the loops below run once each

        async def once(st: StreetFixture) -> None:
            await users.hotline(st, 0, 0)
            await users.board(st, 0)
            await users.screen(st, 0)
            await users.open311(st, 0)
            await users.manager(st, 0, 1, 0)

        for _ in range(2 * workers):
            await asyncio.gather(*(once(st) for st in streets))
        # The sensor registry (every street's sensors) is loaded by a process's first readings; one at a
        # time, since concurrent first batches each load it (see bench/README.md, "district_load.py").
        now = datetime.now(UTC).isoformat()
        reading = [{"sensor_id": f"{streets[0].code}-SMOKE-00001", "ts": now, "values": {"obscuration": 0.1}}]
        for _ in range(3 * workers if readings else 0):
            await users.call("prime", "POST", "/api/v1/readings", streets[0].sensor_token, json=reading)
    return time.perf_counter() - started


async def run_phase(
    base: str,
    streets: list[StreetFixture],
    admin: str,
    phase: str,
    warmup_s: float,
    measure_s: float,
    sensors: str,
    database_url: str,
    old_tasks: bool = False,
    server_pid: int | None = None,
    mqtt_url: str | None = None,
) -> tuple[dict[str, dict[str, Any]], float, dict[str, float], dict[str, float]]:
    from chengyun.sim.sensors import SensorFeed, demo_sensors

    feed = SensorFeed(demo_sensors(), start=datetime.now(UTC) - timedelta(seconds=1))
    # Idle connections are closed after 2 s, before the server's keep-alive of 5 s closes them under a
    # request (a reused connection the server has just closed resets: "Connection reset by peer").
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=2.0)
    timeout = aiohttp.ClientTimeout(total=60)
    feeds = aiohttp.ClientSession(
        base, connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout()
    )
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as session, feeds:
        users = Users(session, streets, admin)
        users.feeds = feeds
        users.old_tasks = old_tasks
        tasks: list[Awaitable[None]] = []
        if phase == "busy":
            hour = busy_hour()
            orders = sum(v for k, v in hour.items() if k not in ("citizen_app", "hour"))
            citizens = hour.get("citizen_app", 0.0)
            # The pages open one by one over the warm-up, not all in the first second.
            opening = min(PAGES_OPEN_S, warmup_s)
            for st in streets:
                tasks.append(users.arrivals(orders, lambda st=st: users.hotline_call(st)))
                mine: list[str] = []
                tasks.append(users.arrivals(citizens, lambda st=st, m=mine: users.citizen_report(st, m)))
                reads = citizens * CITIZEN_READS
                tasks.append(users.arrivals(reads, lambda st=st, m=mine: users.citizen_read(st, m)))
                tasks += [users.tasks_page(st, staff, token, opening) for staff, token in st.managers]
                tasks.append(users.board_page(st, opening))
                tasks.append(users.screen_page(st, opening))
        else:
            for k in range(PEAK["hotline"]):
                tasks.append(users.hotline(streets[k % len(streets)], k, 0))
            n = PEAK["manager"]
            tasks += [users.manager(streets[k % len(streets)], k, n, 0) for k in range(n)]
            tasks += [users.board(streets[k % len(streets)], 0) for k in range(PEAK["board"])]
            tasks += [users.screen(streets[k % len(streets)], 0) for k in range(PEAK["screen"])]
            tasks += [users.open311(streets[k % len(streets)], 0) for k in range(PEAK["open311"])]
        publisher = None
        if sensors == "http":
            tasks.append(users.sensors(feed, SENSOR_PERIOD_S))
        elif sensors == "mqtt":
            from chengyun.adapters.mqtt import MqttPublisher

            assert mqtt_url is not None
            publisher = MqttPublisher(mqtt_url, f"bench-gateways-{uuid.uuid4().hex[:8]}")
            tasks.append(users.sensors_mqtt(feed, SENSOR_PERIOD_S, publisher))
        tasks.append(users.loop_lag())

        window: list[dict[str, float]] = []
        server_cpu: list[float] = []  # the server's CPU seconds in the window
        in_flight: dict[str, int] = {}
        offered: dict[str, int] = {}

        async def clock() -> float:
            await asyncio.sleep(warmup_s)
            window.append(await asyncio.to_thread(backlog, database_url))
            users.rec.measuring = True
            started = time.perf_counter()
            cpu = tree_cpu_s(server_pid) if server_pid else 0.0
            await asyncio.sleep(measure_s)
            users.rec.measuring = False
            elapsed = time.perf_counter() - started
            if server_pid:
                server_cpu.append(tree_cpu_s(server_pid) - cpu)
            in_flight.update(users.rec.in_flight)
            offered.update(users.rec.offered)
            window.append(await asyncio.to_thread(backlog, database_url))
            users.stop.set()
            return elapsed

        running = [asyncio.ensure_future(t) for t in tasks]
        elapsed = await clock()
        await asyncio.wait(running, timeout=10)
        for task in [*running, *users.spawned]:
            task.cancel()
        await asyncio.gather(*running, *users.spawned, return_exceptions=True)
        if publisher is not None:
            publisher.close()
    rows = {
        kind: users.rec.stats[kind].row(elapsed, kind in POOLED) for kind in KINDS if kind in users.rec.stats
    }
    for kind, row in rows.items():
        row["offered_rate"] = offered.get(kind, 0) / elapsed
        row["in_flight_end"] = in_flight.get(kind, 0)
        if kind in POOLED:
            row["client_lag_ms"] = [round(x, 1) for x in users.rec.lag_ms]
    if server_cpu:
        window[1]["server_cpu_s"] = server_cpu[0]
    return rows, elapsed, window[0], window[1]


def backlog(database_url: str) -> dict[str, float]:
    """What the center has not caught up with after a phase: sensors' readings age, open orders."""
    from sqlalchemy import text

    from chengyun.adapters.db.engine import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as c:
            orders = c.execute(text("SELECT count(*) FROM orders")).scalar_one()
            waiting = c.execute(
                text("SELECT count(*) FROM orders WHERE state IN ('received', 'dispatched', 'responded')")
            ).scalar_one()
            readings = c.execute(
                text("SELECT count(*) FROM (SELECT DISTINCT sensor_id, ts FROM readings) AS r")
            ).scalar_one()
    finally:
        engine.dispose()
    return {"orders": float(orders), "waiting": float(waiting), "readings": float(readings)}


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    """`--runs` runs on one prepared database; each runs every worker count (the order alternates from
    one run to the next, so the database's growth favours neither)."""
    postgres = postgres_base_url(args.postgres)
    if postgres is None:
        raise SystemExit("PostgreSQL needs --postgres URL or CHENGYUN_TEST_DATABASE_URL")
    admin = "cy_bench_" + secrets.token_urlsafe(24)
    from chengyun.sim.sensors import demo_sensors

    due = sum(1 / s.period.total_seconds() for s in demo_sensors()) * args.streets
    results: list[dict[str, Any]] = []
    with temp_database("postgres", postgres) as url:
        progress(f"preparing {args.streets} street(s) …", done=True)
        started = time.perf_counter()
        streets = prepare(url, args.streets, admin)
        prepare_s = time.perf_counter() - started
        for number in range(args.runs):
            result: dict[str, Any] = {
                "streets": args.streets,
                "run": number + 1,
                "load_start": os.getloadavg()[0],
                "cells": [],
                "started": datetime.now(UTC).isoformat(),
                "prepare_s": prepare_s,
                "due_readings_per_s": due,
            }
            order = args.workers if number % 2 == 0 else list(reversed(args.workers))
            for workers in order:
                result["cells"] += run_server(args, url, streets, admin, workers, number + 1)
            result["load_end"] = os.getloadavg()[0]
            results.append(result)
    return results


def run_server(
    args: argparse.Namespace, url: str, streets: list[StreetFixture], admin: str, workers: int, number: int
) -> list[dict[str, Any]]:
    cells: list[dict[str, Any]] = []
    mqtt_url = args.mqtt if args.sensors == "mqtt" else None
    with running_server(url, admin, workers, mqtt_url) as (process, base):
        http_readings = args.sensors == "http" and not args.no_sensors
        primed = asyncio.run(prime(base, streets, admin, workers, http_readings))
        progress(f"[run {number}, workers {workers}] server up, caches primed in {primed:.1f} s", done=True)
        rss_idle = tree_memory_mb(process.pid)[0]
        for phase in args.phases:
            warmup, seconds = (
                (args.busy_warmup, args.busy_seconds) if phase == "busy" else (args.warmup, args.seconds)
            )
            progress(f"[run {number}, workers {workers}] {phase}: {warmup:.0f} s warm-up, {seconds:.0f} s …")
            rows, elapsed, before, after = asyncio.run(
                run_phase(
                    base,
                    streets,
                    admin,
                    phase,
                    warmup,
                    seconds,
                    "none" if args.no_sensors else args.sensors,
                    url,
                    args.old_tasks,
                    process.pid,
                    mqtt_url,
                )
            )
            rss, peak = tree_memory_mb(process.pid)
            cells.append(
                {
                    "workers": workers,
                    "phase": phase,
                    "seconds": elapsed,
                    "readings_stored_per_s": (after["readings"] - before["readings"]) / elapsed,
                    "sensors": "none" if args.no_sensors else args.sensors,
                    "kinds": rows,
                    "rss_idle_mb": rss_idle,
                    "rss_mb": rss,
                    "peak_rss_mb": peak,
                    "before": before,
                    "after": after,
                    "load": os.getloadavg()[0],
                }
            )
            progress(
                f"[run {number}, workers {workers}] {phase}: {_brief(rows)}; RSS {rss:.0f} MiB", done=True
            )
    return cells


def _brief(rows: dict[str, dict[str, Any]]) -> str:
    return ", ".join(f"{k} {r['rate']:.1f}/s p99 {r['p99']:.0f} ms" for k, r in rows.items())


# --- report --------------------------------------------------------------------------------------------


def report(results: list[dict[str, Any]]) -> None:
    """Per phase, kind and worker count: the median (min–max) over the runs given."""
    by: dict[tuple[str, str, int], list[dict[str, Any]]] = defaultdict(list)
    memory: dict[tuple[str, int], list[tuple[float, float]]] = defaultdict(list)
    findings: list[str] = []
    refusals: dict[str, set[str]] = defaultdict(set)
    for r in results:
        for cell in r["cells"]:
            memory[(cell["phase"], cell["workers"])].append((cell["rss_mb"], cell["peak_rss_mb"]))
            for kind, row in cell["kinds"].items():
                by[(cell["phase"], kind, cell["workers"])].append(row)
                refusals[kind].update(x[:160] for x in row.get("refusals", []))
                if row["errors_5xx"]:
                    findings.append(
                        f"{cell['phase']} workers {cell['workers']} {kind}: {row['errors_5xx']} 5xx or "
                        f"transport errors, e.g. {row['examples'][:2]}"
                    )
    streets = sorted({r["streets"] for r in results})
    print(
        f"\n{len(results)} run(s); streets {streets}; load average "
        + ", ".join(f"{r['load_start']:.1f} → {r['load_end']:.1f}" for r in results)
    )
    phases = [p for p in ("busy", "peak") if any(k[0] == p for k in by)]
    workers = sorted({k[2] for k in by})
    for phase in phases:
        rows: list[list[str]] = []
        for kind in KINDS:
            for w in workers:
                cells = by.get((phase, kind, w))
                if not cells:
                    continue
                rate = [c["rate"] for c in cells]
                rate_text = med_range(rate)
                if kind == "sensors":
                    due = statistics.median(r.get("due_readings_per_s", 0.0) for r in results)
                    stored = statistics.median(
                        c["readings_stored_per_s"]
                        for r in results
                        for c in r["cells"]
                        if c["phase"] == phase and c["workers"] == w
                    )
                    rate_text += f" (stored {stored:.0f} of {due:.0f} readings/s)"
                rows.append(
                    [
                        kind,
                        str(w),
                        med_range([c.get("offered_rate", float("nan")) for c in cells]),
                        rate_text,
                        med_range([float(c.get("in_flight_end", 0)) for c in cells], 0),
                        med_range([c["p50"] for c in cells]),
                        med_range([c["p95"] for c in cells]),
                        med_range([c["p99"] for c in cells]),
                        str(sum(c["errors_5xx"] for c in cells)),
                        str(sum(c["errors_4xx"] for c in cells)),
                    ]
                )
        print(f"\n{phase}: median (min–max) of the runs; latency in ms; errors summed over the runs")
        header = ["kind", "workers", "sent/s", "answered/s", "in flight at end", "p50", "p95", "p99"]
        print(table([*header, "5xx", "4xx"], rows))
        for w in workers:
            over_mqtt = [
                c
                for r in results
                for c in r["cells"]
                if c["phase"] == phase and c["workers"] == w and c.get("sensors") == "mqtt"
            ]
            if over_mqtt:
                due = statistics.median(r.get("due_readings_per_s", 0.0) for r in results)
                stored = med_range([c["readings_stored_per_s"] for c in over_mqtt], 0)
                print(
                    f"sensors over MQTT, workers {w}: stored {stored} of {due:.0f} readings/s due in the "
                    "window (ingested by the server's background process)"
                )
        pooled = []
        for kind in POOLED:
            for w in workers:
                cells = [c for c in by.get((phase, kind, w), []) if "latencies_ms" in c]
                lat = [x for c in cells for x in c["latencies_ms"]]
                lag = [x for c in cells for x in c.get("client_lag_ms", [])]
                if lat:
                    pooled.append(
                        [
                            kind,
                            str(w),
                            str(len(cells)),
                            str(len(lat)),
                            f"{percentile(lat, 50):.0f}",
                            f"{percentile(lat, 95):.0f}",
                            f"{percentile(lat, 99):.0f}",
                            f"{max(lat):.0f}",
                            str(sum(x >= 100 for x in lat)),
                            f"{percentile(lag, 99):.0f} / {max(lag):.0f}" if lag else "–",
                        ]
                    )
        if pooled:
            print(
                f"\n{phase}: each request of the runs pooled (a window holds a few: its p99 is its slowest); "
                "latency in ms"
            )
            header = ["kind", "workers", "windows", "requests", "p50", "p95", "p99", "max", "≥ 100 ms"]
            header.append("client loop late p99 / max")
            print(table(header, pooled))
        totals = []
        for w in workers:
            per_run = [
                sum(row["rate"] for kind, row in cell["kinds"].items() if kind != "sensors")
                for r in results
                for cell in r["cells"]
                if cell["phase"] == phase and cell["workers"] == w
            ]
            mem = memory[(phase, w)]
            grew = [
                cell["after"]["waiting"] - cell["before"]["waiting"]
                for r in results
                for cell in r["cells"]
                if cell["phase"] == phase and cell["workers"] == w
            ]
            cores = [
                cell["after"]["server_cpu_s"] / cell["seconds"]
                for r in results
                for cell in r["cells"]
                if cell["phase"] == phase and cell["workers"] == w and "server_cpu_s" in cell["after"]
            ]
            per_request = [
                1000
                * cell["after"]["server_cpu_s"]
                / sum(row["rate"] * cell["seconds"] for row in cell["kinds"].values())
                for r in results
                for cell in r["cells"]
                if cell["phase"] == phase and cell["workers"] == w and "server_cpu_s" in cell["after"]
            ]
            totals.append(
                [
                    str(w),
                    med_range(per_run),
                    med_range(cores, 2) if cores else "–",
                    med_range(per_request, 1) if per_request else "–",
                    med_range(grew, 0),
                    med_range([m[0] for m in mem], 0),
                    med_range([m[1] for m in mem], 0),
                ]
            )
        print(
            table(
                [
                    "workers",
                    "user req/s answered (all kinds but sensors)",
                    "server CPU, cores",
                    "server CPU ms per request (sensor POSTs too)",
                    "orders waiting for a step: change",
                    "server RSS MiB",
                    "sum of peaks MiB",
                ],
                totals,
            )
        )
        if len(workers) == 2:
            growth = []
            for r in results:
                rate = {
                    c["workers"]: sum(row["rate"] for k, row in c["kinds"].items() if k != "sensors")
                    for c in r["cells"]
                    if c["phase"] == phase
                }
                if all(w in rate and rate[w] for w in workers):
                    growth.append(rate[workers[1]] / rate[workers[0]])
            if growth:
                print(f"throughput {workers[1]} ÷ {workers[0]} workers: {med_range(growth, 2)}")
    print()
    for kind, examples in refusals.items():
        if examples:
            print(f"4xx answers to {kind}, e.g.: " + " | ".join(sorted(examples)[:3]))
    if findings:
        print("FINDINGS (5xx or transport errors):")
        for f in findings:
            print("  - " + f)
    else:
        print("no 5xx and no transport error")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", help="PostgreSQL URL (default: CHENGYUN_TEST_DATABASE_URL)")
    parser.add_argument(
        "--streets", type=int, default=1, help=f"streets to load, 1–{len(DISTRICT)} (default 1)"
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts (default 1 2)")
    parser.add_argument("--phases", nargs="+", default=["busy", "peak"], choices=["busy", "peak"])
    parser.add_argument(
        "--busy-seconds", type=float, default=60.0, help="busy: measured seconds (default 60)"
    )
    parser.add_argument(
        "--busy-warmup",
        type=float,
        default=30.0,
        help="busy: warm-up seconds, the pages opening (default 30)",
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="peak: measured seconds (default 15)")
    parser.add_argument("--warmup", type=float, default=3.0, help="peak: warm-up seconds (default 3)")
    parser.add_argument(
        "--old-tasks",
        action="store_true",
        help="busy: /tasks pages as before this branch (re-read after every event of the street, every 30 s)",
    )
    parser.add_argument("--runs", type=int, default=1, help="runs on the same database (default 1)")
    parser.add_argument("--no-sensors", action="store_true", help="leave the sensors out")
    parser.add_argument(
        "--sensors",
        choices=["mqtt", "http"],
        default="mqtt",
        help="how the gateways send: MQTT to the broker, ingested by the server's background process "
        "(default, as a district is deployed), or POST /api/v1/readings to the API processes",
    )
    parser.add_argument(
        "--mqtt",
        default=os.environ.get("CHENGYUN_TEST_MQTT_URL") or "mqtt://127.0.0.1:1883",
        help="the broker for --sensors mqtt (default: CHENGYUN_TEST_MQTT_URL or mqtt://127.0.0.1:1883)",
    )
    parser.add_argument("--json", help="write the run's figures to this file")
    parser.add_argument("--summarize", nargs="+", metavar="JSON", help="report the medians of earlier runs")
    args = parser.parse_args()
    if args.summarize:
        loaded = [json.loads(Path(p).read_text()) for p in args.summarize]
        report([r for x in loaded for r in (x if isinstance(x, list) else [x])])
        return 0
    if not 1 <= args.streets <= len(DISTRICT):
        raise SystemExit(f"--streets must be 1–{len(DISTRICT)}")
    print(
        f"district load: {args.streets} street(s), workers {args.workers}, phases {args.phases} "
        f"(busy {args.busy_warmup:.0f} + {args.busy_seconds:.0f} s, "
        f"peak {args.warmup:.0f} + {args.seconds:.0f} s); "
        f"CPU count {os.cpu_count()}; load average {os.getloadavg()[0]:.1f}"
    )
    hour = busy_hour()
    print(
        "busy hour, per street: "
        + ", ".join(f"{k} {v:.0f}" for k, v in sorted(hour.items()) if k != "hour")
        + f" reports (the {hour['hour']:.0f}:00 hour of a busy day)"
    )
    results = run(args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, ensure_ascii=False))
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())

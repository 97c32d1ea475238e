"""Order intake: how many orders per second `POST /api/v1/orders` takes, and at what latency.

What it does
    For each backend (SQLite, PostgreSQL) it creates a fresh database, loads the demo street 静安寺街道
    (JAS) and starts a real uvicorn server in a subprocess (one worker process, as `chengyun serve` runs,
    deadline worker included) with CHENGYUN_BOOTSTRAP_TOKEN set. The benchmark process drives it with
    httpx.AsyncClient (connection limit = number of clients) at 1, 8 and 32 concurrent clients.

    Orders are realistic 12345-hotline orders: varied Chinese descriptions, the address of a real demo
    building (so the gazetteer locates it and auto-dispatch picks the area's A/B manager), a complainant
    with a phone number, and an Idempotency-Key per request.

    The baseline is POST /bench/bare, a route added only in the benchmark's app: it validates the same JSON
    body with the same pydantic model (OrderCreate) as a sync endpoint, like the orders route, and returns
    a small JSON. Both go through the same uvicorn, FastAPI and client, so the ratio shows what the
    application itself costs.

    Each (backend, clients, endpoint) cell is warmed up, then measured over a fixed number of requests,
    several times; the table gives the median with min–max of the runs. Server memory (RSS, and its peak)
    is read from /proc after each backend's runs. CPU per request is read from /proc too: the server's
    processes, and on PostgreSQL the local server's processes (the work the database does per order).

    --floor adds a third endpoint, POST /bench/insert: the same body and validation as bare, then one
    INSERT of the body (as JSON text) committed in a transaction of its own, on the driver's connection
    from the center's pool. It is the cheapest durable write a request can make, with none of an
    order's work (no grading, duplicates, dispatch, timeline, idempotency, notifications): what any
    design that stores each request before answering it pays at least.

    --server-workers N runs PostgreSQL's server as `chengyun serve --workers N` does (N API processes,
    the background work in the supervising one), the bare route in every API process.

Targets (issue)
    - order creation >= 40 % of the bare endpoint's rate (at each concurrency level);
    - p99 < 50 ms at 8 clients on SQLite.

Run
    .venv/bin/python bench/order_intake.py                      # both backends if PostgreSQL is known
    .venv/bin/python bench/order_intake.py --backend sqlite --quick
    .venv/bin/python bench/order_intake.py --backend postgres --postgres postgresql://root@127.0.0.1:5432/test

PostgreSQL comes from --postgres or CHENGYUN_TEST_DATABASE_URL; the run uses a schema of its own and drops
it afterwards. SQLite files live in a temporary directory that is removed afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from _common import (
    SURNAMES,
    TEXTS,
    med_range,
    percentile,
    postgres_base_url,
    postgres_cpu_s,
    progress,
    table,
    temp_database,
    tree_cpu_s,
    tree_memory_mb,
)
from chengyun.api.schemas import OrderCreate

ORDERS_PATH = "/api/v1/orders"
BARE_PATH = "/bench/bare"
WRITER_PATH = "/bench/writer"
FLOOR_PATH = "/bench/insert"
ENDPOINTS = {"orders": ORDERS_PATH, "bare": BARE_PATH}
FLOOR = {"insert": FLOOR_PATH}  # --floor
FLOOR_TABLE = sa.Table(
    "bench_floor",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("body", sa.Text, nullable=False),
)
STREET = "JAS"
TARGET_RATIO = 0.40
TARGET_P99_MS = 50.0


# --- the server (runs in a subprocess: `order_intake.py --serve URL PORT`) ------------------------


def serve(database_url: str, port: int, workers: int = 1) -> None:
    """Run the center like `chengyun serve [--workers N]`, plus the bare baseline route."""
    import uvicorn

    from chengyun.api.app import create_app
    from chengyun.bootstrap import build
    from chengyun.serving import serve_workers
    from chengyun.settings import Settings

    settings = replace(Settings.from_env(), database_url=database_url, host="127.0.0.1", port=port)
    if workers > 1:
        # As `serve --workers N`: the background work here, N API processes each with the bench routes.
        serve_workers(settings, workers, app=f"{Path(__file__).stem}:worker_app")
        return
    center = build(settings, migrate=False)
    app = with_bench_routes(create_app(center), center)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")


def worker_app() -> FastAPI:
    """One API process of `serve --workers N` with the bench routes (uvicorn's factory)."""
    from chengyun.serving import worker_app as center_worker_app

    app = center_worker_app()
    return with_bench_routes(app, app.state.center)


def with_bench_routes(app: FastAPI, center: Any) -> FastAPI:
    counter = iter(range(1, 1 << 62))

    @app.post(BARE_PATH, status_code=201, include_in_schema=False)
    def bare(body: OrderCreate) -> dict[str, Any]:
        # Same body and validation as POST /api/v1/orders; a sync endpoint (a thread-pool hop per
        # request, which the async orders route does not pay: lenient to the orders).
        return {"id": next(counter), "state": "received", "category": body.category}

    # The floor (--floor; the module's docstring says what it is).
    engine = center.engine
    marker = "%s" if engine.dialect.paramstyle in ("format", "pyformat") else "?"
    floor_insert = f"INSERT INTO bench_floor (body) VALUES ({marker})"

    @app.post(FLOOR_PATH, status_code=201, include_in_schema=False)
    def insert(body: OrderCreate) -> dict[str, Any]:
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(floor_insert, (body.model_dump_json(),))
            cursor.close()
            connection.commit()
        finally:
            connection.close()
        return {"id": next(counter), "state": "received", "category": body.category}

    # Starlette matches a request against the routes in order, one by one: a route added last is
    # found only after every other route of the app has been tried (~0.1-0.3 ms a request with
    # ~160 routes). The orders route comes early; the baseline's routes go first, so that neither
    # the bare route nor the floor pays for routing what the orders route does not.
    ours = [r for r in app.router.routes if getattr(r, "path", None) in (BARE_PATH, FLOOR_PATH)]
    app.router.routes[:] = ours + [r for r in app.router.routes if r not in ours]

    @app.get(WRITER_PATH, include_in_schema=False)
    async def writer() -> dict[str, int]:
        # Group commit's counters: transactions committed and orders stored in them (0 when absent).
        group = getattr(center.orders, "writer", None)
        return {"batches": getattr(group, "batches", 0), "stored": getattr(group, "stored", 0)}

    return app


# --- the fixture: a fresh database with the demo street --------------------------------------------


def prepare_database(database_url: str) -> list[str]:
    """Migrate, load the demo street; returns the addresses of its buildings."""
    from chengyun.bootstrap import build
    from chengyun.domain.calendar import local_date
    from chengyun.domain.places import PlaceKind
    from chengyun.settings import Settings
    from chengyun.sim.demo import load_demo_street

    center = build(Settings(database_url=database_url, run_worker=False))
    try:
        today = local_date(center.clock.now())
        # Without the community programs (volunteers, bookings): intake does not read them, and their
        # demo ledger refused to load at some hours of the day (a service "not yet happened").
        load_demo_street(center, today - timedelta(days=1), 3, community=False)
        buildings = center.directory.places(STREET, PlaceKind.BUILDING)
        addresses = [str(p.props["address"]) for p in buildings if p.props.get("address")]
        FLOOR_TABLE.metadata.create_all(center.engine)
    finally:
        center.stop()
    if not addresses:
        raise SystemExit("the demo street has no building addresses")
    return addresses


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str

    @property
    def pid(self) -> int:
        return self.process.pid


@contextmanager
def running_server(database_url: str, token: str, workers: int = 1) -> Iterator[Server]:
    port = free_port()
    env = dict(os.environ, CHENGYUN_BOOTSTRAP_TOKEN=token, CHENGYUN_DATABASE_URL=database_url)
    env.pop("CHENGYUN_MQTT_URL", None)
    command = [sys.executable, str(Path(__file__).resolve()), "--serve", database_url, str(port)]
    command += ["--server-workers", str(workers)]
    process = subprocess.Popen(command, env=env)
    server = Server(process, f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"the server exited with {process.returncode}")
            try:
                if httpx.get(server.base_url + "/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the server did not start within 60 s")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- the load --------------------------------------------------------------------------------------


class Bodies:
    """Order bodies drawn from the templates and the street's addresses, reproducibly."""

    def __init__(self, addresses: list[str], seed: int = 20261125) -> None:
        self._rng = random.Random(seed)
        self._addresses = addresses
        self._serial = 0

    def next(self) -> dict[str, Any]:
        rng = self._rng
        self._serial += 1
        category, texts = rng.choice(TEXTS)
        address = rng.choice(self._addresses)
        phone = "1" + rng.choice("3456789") + "".join(str(rng.randrange(10)) for _ in range(9))
        name = rng.choice(SURNAMES) + rng.choice(["先生", "女士", "阿姨", "师傅"])
        return {
            "source": "hotline",
            "category": category,
            "description": rng.choice(texts).format(addr=address),
            "street": STREET,
            "address": address,
            "complainant": {"name": name, "phone": phone},
            "external_id": f"12345-{time.strftime('%Y%m%d')}-{self._serial:07d}",
        }


@dataclass
class Sample:
    latencies_ms: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0
    errors: int = 0
    error_examples: list[str] = field(default_factory=list)
    dispatched: int = 0
    created: int = 0
    server_cpu_s: float = 0.0  # CPU the server process used during the measured requests
    database_cpu_s: float = 0.0  # CPU the local PostgreSQL's processes used meanwhile

    def per_request_ms(self, seconds: float) -> float:
        return seconds * 1000 / len(self.latencies_ms) if self.latencies_ms else 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.elapsed_s if self.elapsed_s else 0.0


Post = Callable[[str, dict[str, Any], dict[str, str]], Awaitable[tuple[int, bytes]]]


async def drive(post: Post, path: str, bodies: list[dict[str, Any]], concurrency: int) -> Sample:
    """Send every body once with `concurrency` requests in flight; time each request."""
    sample = Sample()
    queue = iter(bodies)

    async def one_client() -> None:
        for body in queue:
            headers = {"Idempotency-Key": uuid.uuid4().hex}
            started = time.perf_counter()
            status, content = await post(path, body, headers)
            elapsed = time.perf_counter() - started
            if status not in (200, 201):
                sample.errors += 1
                if len(sample.error_examples) < 3:
                    sample.error_examples.append(f"{status} {content[:200].decode(errors='replace')}")
                continue
            sample.latencies_ms.append(elapsed * 1000)
            if path == ORDERS_PATH:
                sample.created += 1
                data = json.loads(content)
                if data.get("state") == "dispatched" and data.get("assignee"):
                    sample.dispatched += 1

    started = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(concurrency)))
    sample.elapsed_s = time.perf_counter() - started
    return sample


@asynccontextmanager
async def http_client(kind: str, base_url: str, token: str, concurrency: int) -> AsyncIterator[Post]:
    """A POST function over a pool of at most `concurrency` keep-alive connections."""
    headers = {"Authorization": f"Bearer {token}"}
    if kind == "aiohttp":
        import aiohttp

        connector = aiohttp.TCPConnector(limit=concurrency)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(
            base_url, connector=connector, headers=headers, timeout=timeout
        ) as session:

            async def aiohttp_post(
                path: str, body: dict[str, Any], extra: dict[str, str]
            ) -> tuple[int, bytes]:
                async with session.post(path, json=body, headers=extra) as response:
                    return response.status, await response.read()

            yield aiohttp_post
        return
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, headers=headers, timeout=60) as client:

        async def httpx_post(path: str, body: dict[str, Any], extra: dict[str, str]) -> tuple[int, bytes]:
            response = await client.post(path, json=body, headers=extra)
            return response.status_code, response.content

        yield httpx_post


async def measure_level(
    client: str,
    base_url: str,
    token: str,
    path: str,
    concurrency: int,
    bodies: Bodies,
    warmup: int,
    requests: int,
    server_pid: int,
) -> Sample:
    async with http_client(client, base_url, token, concurrency) as post:
        await drive(post, path, [bodies.next() for _ in range(max(warmup, concurrency))], concurrency)
        cpu, database_cpu = tree_cpu_s(server_pid), postgres_cpu_s()
        sample = await drive(post, path, [bodies.next() for _ in range(requests)], concurrency)
        sample.server_cpu_s = tree_cpu_s(server_pid) - cpu
        sample.database_cpu_s = postgres_cpu_s() - database_cpu
        return sample


@dataclass
class Cell:
    backend: str
    clients: int
    endpoint: str
    samples: list[Sample] = field(default_factory=list)

    def rates(self) -> list[float]:
        return [s.rate for s in self.samples]

    def p50s(self) -> list[float]:
        return [percentile(s.latencies_ms, 50) for s in self.samples]

    def p99s(self) -> list[float]:
        return [percentile(s.latencies_ms, 99) for s in self.samples]

    def cpu_ms(self) -> list[float]:
        return [s.per_request_ms(s.server_cpu_s) for s in self.samples]

    def database_cpu_ms(self) -> list[float]:
        return [s.per_request_ms(s.database_cpu_s) for s in self.samples]


def run_backend(
    client: str,
    backend: str,
    postgres_url: str | None,
    levels: list[int],
    repeats: int,
    warmup: int,
    requests: int,
    workers: int = 1,
    endpoints: dict[str, str] = ENDPOINTS,
) -> tuple[list[Cell], dict[str, float]]:
    token = "cy_bench_" + secrets.token_urlsafe(24)
    cells: list[Cell] = []
    memory: dict[str, float] = {}
    with temp_database(backend, postgres_url) as url:
        progress(f"[{backend}] preparing a fresh database with the demo street …", done=True)
        addresses = prepare_database(url)
        bodies = Bodies(addresses)
        with running_server(url, token, workers) as server:
            memory["rss_start_mb"] = tree_memory_mb(server.pid)[0]
            for clients in levels:
                # Orders and bare alternate run by run, so a noisy neighbour hits both alike.
                level = {e: Cell(backend, clients, e) for e in endpoints}
                before = writer_counts(server)
                for run in range(repeats):
                    for endpoint, cell in level.items():
                        progress(
                            f"[{backend}] {clients:>2} clients {endpoint:<6} run {run + 1}/{repeats} "
                            f"({requests} requests) …"
                        )
                        sample = asyncio.run(
                            measure_level(
                                client,
                                server.base_url,
                                token,
                                endpoints[endpoint],
                                clients,
                                bodies,
                                warmup,
                                requests,
                                server.pid,
                            )
                        )
                        if sample.errors:
                            print(f"  ! {sample.errors} failed requests, e.g. {sample.error_examples}")
                        cell.samples.append(sample)
                after = writer_counts(server)
                batches = after["batches"] - before["batches"]
                if batches and workers == 1:  # with several API processes: one process's counters
                    per = (after["stored"] - before["stored"]) / batches
                    progress(f"[{backend}] {clients:>2} clients: {per:.2f} orders per transaction", done=True)
                    memory[f"orders_per_commit_{clients}"] = per
                for endpoint, cell in level.items():
                    cells.append(cell)
                    progress(
                        f"[{backend}] {clients:>2} clients {endpoint:<6} "
                        f"{med_range(cell.rates())} req/s, p99 {med_range(cell.p99s())} ms",
                        done=True,
                    )
            memory["rss_end_mb"], memory["rss_peak_mb"] = tree_memory_mb(server.pid)
    return cells, memory


def writer_counts(server: Server) -> dict[str, int]:
    counts: dict[str, int] = httpx.get(server.base_url + WRITER_PATH, timeout=10).json()
    return counts


# --- report ----------------------------------------------------------------------------------------


def report(cells: list[Cell], memory: dict[str, dict[str, float]]) -> int:
    by_key = {(c.backend, c.clients, c.endpoint): c for c in cells}
    rows: list[list[str]] = []
    misses: list[str] = []
    for c in cells:
        bare = by_key.get((c.backend, c.clients, "bare"))
        ratio = "1.00"
        if c.endpoint != "bare" and bare is not None:
            ratios = [o / b for o, b in zip(c.rates(), bare.rates(), strict=True) if b]
            ratio = med_range(ratios, 2)
        if c.endpoint == "orders" and bare is not None:
            r = statistics.median(c.rates()) / statistics.median(bare.rates())
            if r < TARGET_RATIO:
                misses.append(f"{c.backend} {c.clients} clients: orders at {r:.0%} of bare (< 40 %)")
            if c.backend == "sqlite" and c.clients == 8:
                p99 = statistics.median(c.p99s())
                if p99 >= TARGET_P99_MS:
                    misses.append(f"sqlite 8 clients: p99 {p99:.1f} ms (>= 50 ms)")
        rows.append(
            [
                c.backend,
                str(c.clients),
                c.endpoint,
                med_range(c.rates()),
                med_range(c.p50s()),
                med_range(c.p99s()),
                ratio,
                med_range(c.cpu_ms(), 2),
                med_range(c.database_cpu_ms(), 2) if c.backend == "postgres" else "–",
            ]
        )
    print()
    print("median of runs (min–max); ratio = the endpoint's req/s ÷ bare req/s of the same run")
    print(
        table(
            [
                "backend",
                "clients",
                "endpoint",
                "req/s",
                "p50 ms",
                "p99 ms",
                "ratio to bare",
                "server CPU ms/req",
                "PostgreSQL CPU ms/req",
            ],
            rows,
        )
    )
    print()
    mem_rows = [
        [b, f"{m['rss_start_mb']:.0f}", f"{m['rss_end_mb']:.0f}", f"{m['rss_peak_mb']:.0f}"]
        for b, m in memory.items()
    ]
    print("server memory (MiB)")
    print(table(["backend", "RSS at start", "RSS at end", "peak RSS"], mem_rows))
    orders = [s for c in cells if c.endpoint == "orders" for s in c.samples]
    created = sum(s.created for s in orders)
    dispatched = sum(s.dispatched for s in orders)
    failed = sum(s.errors for c in cells for s in c.samples)
    print()
    print(f"measured orders created: {created}, auto-dispatched: {dispatched}, failed requests: {failed}")
    print()
    if misses:
        print("targets MISSED:")
        for miss in misses:
            print(f"  - {miss}")
    else:
        print("targets met: orders >= 40 % of bare at every level; p99 < 50 ms at 8 clients on SQLite")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--postgres", help="PostgreSQL URL (default: CHENGYUN_TEST_DATABASE_URL)")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--clients", default="1,8,32", help="concurrency levels, comma-separated")
    parser.add_argument("--requests", type=int, help="measured requests per run (default 1000; quick 60)")
    parser.add_argument("--warmup", type=int, help="warm-up requests per run (default 100; quick 10)")
    parser.add_argument("--repeats", type=int, help="runs per cell (default 3; quick 1)")
    parser.add_argument(
        "--client",
        choices=["aiohttp", "httpx"],
        help="HTTP client driving the load (default aiohttp if installed, else httpx)",
    )
    parser.add_argument(
        "--server-workers",
        type=int,
        default=1,
        help="API processes, as `chengyun serve --workers N` (PostgreSQL only; default 1)",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also measure the floor: one durable INSERT of the body per request, nothing else",
    )
    parser.add_argument("--json", help="also write the raw figures to this file")
    parser.add_argument("--serve", nargs=2, metavar=("URL", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), args.server_workers)
        return 0

    requests = args.requests or (60 if args.quick else 1000)
    warmup = args.warmup if args.warmup is not None else (10 if args.quick else 100)
    repeats = args.repeats or (1 if args.quick else 3)
    levels = [int(x) for x in args.clients.split(",")]
    client = args.client or ("aiohttp" if importlib.util.find_spec("aiohttp") else "httpx")
    postgres_url = postgres_base_url(args.postgres)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    if "postgres" in backends and postgres_url is None:
        if args.backend == "postgres":
            raise SystemExit("PostgreSQL needs --postgres URL or CHENGYUN_TEST_DATABASE_URL")
        print("no PostgreSQL URL (--postgres or CHENGYUN_TEST_DATABASE_URL): SQLite only")
        backends = ["sqlite"]
    print(
        f"order intake: {', '.join(backends)}; clients {levels}; {requests} requests × {repeats} runs "
        f"after {warmup} warm-up; client {client}; API processes on PostgreSQL {args.server_workers}; "
        f"CPU count {os.cpu_count()}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    cells: list[Cell] = []
    memory: dict[str, dict[str, float]] = {}
    endpoints = ENDPOINTS | FLOOR if args.floor else ENDPOINTS
    for backend in backends:
        # SQLite has one writer at a time: `serve` refuses it more than one API process.
        workers = args.server_workers if backend == "postgres" else 1
        backend_cells, memory[backend] = run_backend(
            client, backend, postgres_url, levels, repeats, warmup, requests, workers, endpoints
        )
        cells += backend_cells
    if args.json:
        raw = [
            {
                "backend": c.backend,
                "clients": c.clients,
                "endpoint": c.endpoint,
                "rates": c.rates(),
                "p50_ms": c.p50s(),
                "p99_ms": c.p99s(),
            }
            for c in cells
        ]
        Path(args.json).write_text(json.dumps({"cells": raw, "memory": memory}, indent=1))
    print(f"\nload average at the end {os.getloadavg()[0]:.1f} (1 min) on {os.cpu_count()} CPUs")
    return report(cells, memory)


if __name__ == "__main__":
    sys.exit(main())

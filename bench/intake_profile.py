"""Order intake in-process: what one `OrderService.create` costs, and where the time goes.

What it does
    Builds a fresh center (SQLite file, or a PostgreSQL schema of its own) with the demo street 静安寺街道
    loaded, as bench/order_intake.py does, then creates N orders through
    `center.orders.create(actor, NewOrder(...), idempotency_key=...)` exactly as the HTTP route calls it:
    the same 12345-hotline bodies (category, description, building address, complainant, external id),
    a bootstrap-admin actor and a fresh Idempotency-Key per order. Every order must come back
    auto-dispatched.

    It prints the mean / p50 / p99 µs per create over all orders and over the last 1,000 (the table grows
    as it runs), the process's CPU time per create, then a profile of a second batch (pyinstrument if
    installed, else cProfile).
    The comparison baseline, in the same run, is the route's own conversion work without the create:
    building the `NewOrder` from the validated `OrderCreate` body (µs per call).

Run
    .venv/bin/python bench/intake_profile.py                       # SQLite, 3,000 orders + profile
    .venv/bin/python bench/intake_profile.py --orders 1000 --no-profile
    .venv/bin/python bench/intake_profile.py --postgres postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from typing import Any

from _common import percentile, postgres_base_url, temp_database
from chengyun.api.schemas import OrderCreate
from chengyun.domain.access import Actor, Role
from chengyun.services.orders import NewOrder
from order_intake import Bodies, prepare_database


def stats(label: str, values_us: list[float]) -> str:
    return (
        f"{label:<28} n={len(values_us):>5}  mean {statistics.fmean(values_us):7.0f} µs  "
        f"p50 {percentile(values_us, 50):7.0f} µs  p99 {percentile(values_us, 99):7.0f} µs"
    )


def run(url: str, orders: int, profile: int, profiler: str) -> None:
    from chengyun.bootstrap import build
    from chengyun.settings import Settings

    addresses = prepare_database(url)
    center = build(Settings(database_url=url, run_worker=False))
    try:
        actor = Actor(Role.ADMIN, frozenset(), None, "压测", "bench-admin")
        bodies = Bodies(addresses)
        models = [OrderCreate.model_validate(bodies.next()) for _ in range(orders + profile + 50)]

        started = time.perf_counter()
        commands = [m.command() for m in models]
        convert_us = (time.perf_counter() - started) / len(models) * 1e6

        def create(command: NewOrder) -> float:
            t0 = time.perf_counter()
            created = center.orders.create(actor, command, uuid.uuid4().hex)
            elapsed = (time.perf_counter() - t0) * 1e6
            if created.order.assignee is None or created.replayed:
                raise SystemExit(f"order not auto-dispatched: {created.order}")
            return elapsed

        for command in commands[:50]:  # warm-up: caches, compiled statements
            create(command)
        cpu = time.process_time()
        timings = [create(c) for c in commands[50 : 50 + orders]]
        cpu_us = (time.process_time() - cpu) / orders * 1e6
        print(f"backend {url.split(':', 1)[0]}, {orders} orders after 50 warm-up")
        print(stats("create, all", timings))
        print(stats("create, last 1,000", timings[-1000:]))
        print(f"{'CPU per create, all':<28} {cpu_us:.0f} µs (process time, every thread)")
        print(f"{'baseline: NewOrder from body':<28} {convert_us:.1f} µs per call")

        rest = commands[50 + orders :]
        if not rest:
            return
        print(f"\nprofile of {len(rest)} more creates ({profiler}):")
        if profiler == "pyinstrument":
            from pyinstrument import Profiler

            prof = Profiler(interval=0.0002)
            prof.start()
            for command in rest:
                create(command)
            prof.stop()
            print(prof.output_text(unicode=True, color=False, show_all=False))
        else:
            import cProfile
            import pstats

            cprof = cProfile.Profile()
            cprof.enable()
            for command in rest:
                create(command)
            cprof.disable()
            pstats.Stats(cprof).sort_stats("cumulative").print_stats(45)
    finally:
        center.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--profile-orders", type=int, default=1000)
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--cprofile", action="store_true", help="cProfile instead of pyinstrument")
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL instead of SQLite")
    args = parser.parse_args()
    profiler = "cprofile"
    if not args.cprofile:
        try:
            import pyinstrument  # noqa: F401

            profiler = "pyinstrument"
        except ImportError:
            pass
    backend = "sqlite"
    pg: Any = None
    if args.postgres:
        backend, pg = "postgres", postgres_base_url(args.postgres)
    with temp_database(backend, pg) as url:
        run(url, args.orders, 0 if args.no_profile else args.profile_orders, profiler)


if __name__ == "__main__":
    main()

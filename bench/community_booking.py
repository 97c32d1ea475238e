"""The booking rush: the moment a month's markets open, residents book at once. How many bookings a second
one process takes, how long each waits, and whether any place is given twice.

What it does
    Loads the demo street's places and its market (56 organisations, 10 series, 14 venues, 14 markets,
    82 stalls) into a fresh database, sets the clock to the morning of a day before the next first
    Thursday, then lets `--residents` invented residents book through `MarketService.book` (the service
    behind `POST /api/v1/community/public/bookings`) from `--threads` threads at once. Each resident tries
    up to three stalls of one market's next session (a random slot for slot stalls); a refusal (full slot,
    clash, third booking) is an answer too, and counted.

    baseline    the same threads looking bookings up by their code (`MarketService.booking`): a read
                transaction of the same unit of work, the cheapest call of the programs.
    check       after the rush, no slot holds more people than its stall's capacity, no queue gives a
                number twice, no resident holds two bookings at one stall and session, none more than three.

Run
    .venv/bin/python bench/community_booking.py [--runs 3] [--residents 2000] [--threads 1 8 32]
        [--backend sqlite postgres] [--postgres URL] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from collections import Counter
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from chengyun.adapters.clock import ManualClock
from chengyun.bootstrap import Center, build
from chengyun.domain.calendar import SHANGHAI
from chengyun.domain.community.market import Booking, BookingMode
from chengyun.domain.errors import DomainError
from chengyun.services.community.imports import ImportKind
from chengyun.settings import Settings
from chengyun.sim import jingansi
from chengyun.sim.community import LOADER, STREET, community_files

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    SURNAMES,
    med_range,
    percentile,
    postgres_base_url,
    proc_memory_mb,
    progress,
    table,
    temp_database,
)

MARKET_KINDS = (ImportKind.ORGS, ImportKind.SERIES, ImportKind.VENUES, ImportKind.MARKETS, ImportKind.STALLS)
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=SHANGHAI)  # a Monday: Thursday 3 December is the next market day


def street(url: str) -> Center:
    center = build(Settings(database_url=url, run_worker=False), ManualClock(NOW))
    center.directory.import_places(LOADER, STREET, jingansi.places())
    for kind, text in community_files(NOW):
        if kind in MARKET_KINDS:
            center.community.files.import_csv(LOADER, STREET, kind, text)
    return center


def wishes(
    center: Center, residents: int, seed: int
) -> list[tuple[str, str, list[tuple[str, date, clock_time | None]]]]:
    """Each resident: a name, a phone and up to three (stall, day, slot) wishes at one market's session."""
    rng = random.Random(seed)
    _, menu, sessions = center.community.market.upcoming(STREET, days=10, per_market=1)
    out = []
    for n in range(residents):
        session = rng.choice(sessions)
        stalls = menu.stalls_of(session.market)
        picks = []
        for stall in rng.sample(stalls, min(3, len(stalls))):
            slot = None
            if stall.mode is BookingMode.SLOT:
                slot = rng.choice(stall.slots(session)).astimezone(SHANGHAI).time()
            picks.append((stall.code, session.day, slot))
        out.append((rng.choice(SURNAMES) + "先生", f"139{n:08d}", picks))
    return out


def run_threads(threads: int, jobs: list[Any], work: Any) -> tuple[float, list[float], Counter[str]]:
    """Run `work(job)` for every job from `threads` threads; (seconds, latencies in ms, outcomes)."""
    lock = threading.Lock()
    queue = list(reversed(jobs))
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()

    def worker() -> None:
        while True:
            with lock:
                if not queue:
                    return
                job = queue.pop()
            start = time.perf_counter()
            try:
                work(job)
                outcome = "ok"
            except DomainError as exc:
                outcome = str(exc.details.get("code", exc.code))
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                latencies.append(elapsed)
                outcomes[outcome] += 1

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return time.perf_counter() - started, latencies, outcomes


def check(center: Center) -> list[str]:
    """What would be wrong: overbooked slots or queues, numbers given twice, residents over the limits."""
    menu = center.community.market.menu(STREET)
    found = center.community.market.bookings(
        LOADER, STREET, since=NOW.date(), until=NOW.date() + timedelta(days=10)
    )
    active = [b for b in found if b.active]
    problems = []
    per_slot = Counter((b.stall, b.day, b.slot_at) for b in active)
    for (stall, _, _), n in per_slot.items():
        if n > menu.stalls[stall].capacity:
            problems.append(f"{stall}: {n} > {menu.stalls[stall].capacity}")
    numbers = Counter((b.stall, b.day, b.number) for b in found if b.number is not None)
    problems += [f"number given twice: {k}" for k, n in numbers.items() if n > 1]
    problems += [
        f"twice at one stall: {k}"
        for k, n in Counter((b.phone, b.stall, b.day) for b in active).items()
        if n > 1
    ]
    problems += [
        f"over three: {k}" for k, n in Counter((b.phone, b.market, b.day) for b in active).items() if n > 3
    ]
    return problems


def one_run(backend: str, postgres: str | None, residents: int, threads: int, seed: int) -> dict[str, Any]:
    with temp_database(backend, postgres) as url:
        center = street(url)
        try:
            people = wishes(center, residents, seed)
            jobs = [
                (name, phone, stall, day, slot) for name, phone, picks in people for stall, day, slot in picks
            ]
            random.Random(seed).shuffle(jobs)
            market = center.community.market

            def book(job: tuple[str, str, str, date, clock_time | None]) -> None:
                name, phone, stall, day, slot = job
                market.book(STREET, stall, day, slot, name, phone, "")

            seconds, latencies, outcomes = run_threads(threads, jobs, book)
            made: list[Booking] = market.bookings(
                LOADER, STREET, since=NOW.date(), until=NOW.date() + timedelta(days=10)
            )
            codes = [b.code for b in made] * max(1, len(jobs) // max(1, len(made)))
            base_seconds, base_latencies, _ = run_threads(threads, codes[: len(jobs)], market.booking)
            problems = check(center)
        finally:
            center.stop()
    return {
        "backend": backend,
        "threads": threads,
        "attempts": len(jobs),
        "per_s": len(jobs) / seconds,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "base_per_s": len(codes[: len(jobs)]) / base_seconds,
        "base_p99": percentile(base_latencies, 99),
        "booked": outcomes["ok"],
        "refused": sum(n for k, n in outcomes.items() if k != "ok"),
        "outcomes": dict(outcomes),
        "problems": problems,
        "rss_mb": proc_memory_mb()[1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--residents", type=int, default=2000)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument(
        "--backend", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"]
    )
    parser.add_argument("--postgres")
    parser.add_argument("--json")
    args = parser.parse_args()
    postgres = postgres_base_url(args.postgres)
    backends = [b for b in args.backend if b == "sqlite" or postgres]
    results = []
    for backend in backends:
        for threads in args.threads:
            for run in range(args.runs):
                progress(f"{backend}, {threads} threads, run {run + 1}/{args.runs} …")
                results.append(one_run(backend, postgres, args.residents, threads, seed=run))
    progress("done", done=True)
    rows = []
    for backend in backends:
        for threads in args.threads:
            cell = [r for r in results if r["backend"] == backend and r["threads"] == threads]
            rows.append(
                [
                    backend,
                    str(threads),
                    str(cell[0]["attempts"]),
                    med_range([r["per_s"] for r in cell], 0),
                    med_range([r["p50"] for r in cell]),
                    med_range([r["p99"] for r in cell]),
                    med_range([r["base_per_s"] for r in cell], 0),
                    med_range([r["base_p99"] for r in cell]),
                    med_range([100 * r["per_s"] / r["base_per_s"] for r in cell], 0),
                    f"{cell[0]['booked']} / {cell[0]['refused']}",
                    str(sum(len(r["problems"]) for r in cell)),
                ]
            )
    header = [
        "backend", "threads", "attempts", "bookings/s", "p50 ms", "p99 ms", "lookups/s", "lookup p99 ms",
        "% of lookups", "booked / refused", "problems",
    ]  # fmt: skip
    print(table(header, rows))
    refusals: Counter[str] = Counter()
    for r in results:
        refusals.update({k: v for k, v in r["outcomes"].items() if k != "ok"})
    print("\nrefusals over all runs: " + ", ".join(f"{k} {v}" for k, v in refusals.most_common()))
    print(f"peak RSS of this process: {max(r['rss_mb'] for r in results):.0f} MiB")
    for r in results:
        for p in r["problems"][:5]:
            print("PROBLEM", r["backend"], r["threads"], p)
    if args.json:
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

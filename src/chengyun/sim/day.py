"""`chengyun simulate`: one simulated day (or week) of the demo street on a fresh database, and its report.

Each run builds its own center on a throwaway SQLite file (or an empty database it is given), loads the
demo street, points the routing at the dispatch strategy under test and runs the simulator with the clock
jumping from event to event. `compare` runs the same day again, from the same seed, with the naive
dispatcher, and puts both outcomes side by side.
"""

from __future__ import annotations

import gc
import hashlib
import random
import resource
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from chengyun.adapters.clock import ManualClock
from chengyun.bootstrap import Center, build
from chengyun.domain.dispatch import Strategy
from chengyun.domain.places import PlaceKind
from chengyun.domain.sensors import Sensor
from chengyun.domain.twin import metres
from chengyun.services.directory import SHIFT_COLUMNS, STAFF_COLUMNS, write_csv
from chengyun.settings import Settings
from chengyun.sim import jingansi
from chengyun.sim.demand import USUAL_PER_DAY, Rain, day_script
from chengyun.sim.demo import CLI_ADMIN, STREET, load_demo_street
from chengyun.sim.engine import CENTER_POINT, JumpPacer, Simulation, area_offices
from chengyun.sim.outcome import outcome, why
from chengyun.sim.sensors import SensorFeed, Timing, demo_sensors

DEFAULT_START = datetime(2026, 11, 25, 0, 0, tzinfo=jingansi.CST)  # a Wednesday
TARGET_ALL = 0.95  # share of orders meeting all four stages on a busy day (issue 7)
TARGET_RATIO = 1.5  # at least this many times fewer misses than the naive baseline
SENSOR_STEP = timedelta(minutes=5)  # the gateways upload what their sensors measured every 5 minutes
# The simulator is its sensors' only ingester: each sensor's live state is saved at most once a simulated
# hour (CHENGYUN_SENSOR_STATE_SAVE_S; held in memory in between, the same alarms at the same times) and
# at the end of the run, instead of with every 5-minute round (a twelfth of the writes).
SIM_STATE_SAVE_S = 3600.0


@dataclass(frozen=True)
class Options:
    hours: float = 24.0
    seed: int = 7
    load: float = 1.0
    start: datetime = DEFAULT_START
    strategy: Strategy = Strategy.STANDARD
    sensors: float = 1.0  # share of the street's 14,855 sensors that report (0: none)
    night_cover: int = 0  # what-if: this many field staff on call 22:00–07:00 every night
    peak_cover: int = 0  # what-if: this many more field staff on a peak shift (PEAK_SPANS) every day
    database_url: str | None = None  # an empty database; default a throwaway SQLite file


Progress = Callable[[str], None]


def sensor_sample(seed: int, share: float) -> list[Sensor]:
    """A deterministic share of the demo street's sensors (all of them at 1)."""
    sensors = demo_sensors(seed)
    if share >= 1:
        return sensors
    cut = int(share * 10_000)
    return [s for s in sensors if int(hashlib.sha1(s.id.encode()).hexdigest()[:8], 16) % 10_000 < cut]


def _spread_posts(people: int) -> list[str]:
    """`people` areas whose committee offices are spread out over the street: the one nearest the
    centre first, then each time the one farthest from those taken (one per person, at most every area)."""
    offices = area_offices()
    posts = [min(offices, key=lambda a: (metres(offices[a], CENTER_POINT), a))]
    while len(posts) < min(people, len(offices)):
        posts.append(
            max(
                (a for a in offices if a not in posts),
                key=lambda a: min(metres(offices[a], offices[b]) for b in posts),
            )
        )
    return posts


def _midnights(start: datetime, days: int) -> list[datetime]:
    """The local midnights a what-if roster covers: from the day before `start`, `days` + 1 of them."""
    first = start.astimezone(jingansi.CST).date() - timedelta(days=1)
    midnight = datetime.min.time()
    return [datetime.combine(first + timedelta(days=k), midnight, jingansi.CST) for k in range(days + 1)]


def _cover_shift(staff: str, midnight: datetime, begin: int, end: int, area: str) -> dict[str, str]:
    """A what-if shift of a chief responder, `begin` to `end` hours after a local midnight."""
    return {
        "staff": staff,
        "post": "chief_responder",
        "start": (midnight + timedelta(hours=begin)).isoformat(),
        "end": (midnight + timedelta(hours=end)).isoformat(),
        "area": area,
    }


def night_roster(start: datetime, days: int, people: int) -> str:
    """The what-if roster (CSV): `people` more field staff on call each night, 22:00–07:00 (besides the
    night duty team), each posted in an area spread out over the street (the areas' centres farthest
    apart), the night's turn taken by the day's chief responders and then the patrol observers."""
    staff = jingansi.staff()
    team = set(jingansi.night_team())  # already on their own night shifts
    crew = [p["id"] for p in staff if p["posts"] == "chief_responder" and p["id"] not in team]
    crew += [p["id"] for p in staff if p["posts"].startswith("patrol_observer")]
    posts = _spread_posts(people)
    rows = []
    for k, night in enumerate(_midnights(start, days)):
        for n, area in enumerate(posts):
            rows.append(_cover_shift(crew[(k * len(posts) + n) % len(crew)], night, 22, 31, area))
    return write_csv(rows, SHIFT_COLUMNS)


# The what-if peak shift (local hours, a split shift): the busy days' arrival misses gather in the
# morning and early-afternoon peaks and again in the late afternoon (README, "Dispatch quality").
PEAK_SPANS = ((8, 13), (15, 19))


def peak_cover(start: datetime, days: int, people: int) -> tuple[str, str]:
    """The what-if `--peak-cover N` as CSV (staff, roster): N more field staff, new people (chief
    responders of the 城运 center), on a split peak shift every day (PEAK_SPANS), each posted at an
    area office spread out over the street as the night cover's are."""
    existing = jingansi.staff()
    names = {p["name"] for p in existing}
    phones = {p["phone"] for p in existing}
    rng = random.Random(f"peak-cover:{people}")
    staff: list[dict[str, str]] = []
    for k in range(people):
        staff.append(
            {
                "id": f"S{len(existing) + k + 1:03d}",
                "name": jingansi.new_name(rng, names),
                "phone": jingansi.new_phone(rng, phones, "138"),
                "department": "chengyun",
                "posts": "chief_responder",
                "street": STREET,
                "active": "true",
            }
        )
    posts = _spread_posts(people)
    shifts = []
    for day in _midnights(start, days):
        for n, person in enumerate(staff):
            for begin, end in PEAK_SPANS:
                shifts.append(_cover_shift(person["id"], day, begin, end, posts[n % len(posts)]))
    return write_csv(staff, STAFF_COLUMNS), write_csv(shifts, SHIFT_COLUMNS)


def scenario_timing(seed: int, start: datetime, rain_start: datetime | None) -> Timing:
    """When the sensors misbehave, by the local time of the run's first day: the drain floods 40 minutes
    into the rain (mid afternoon on a dry day: a burst main), a lane's gateway fails in the morning, a
    gas leak in the evening cooking hours. The feed counts from the run's start."""
    rng = random.Random(f"timing:{seed}")
    local = start.astimezone(jingansi.CST)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)

    def at(hours: float) -> timedelta:
        return midnight + timedelta(hours=hours) - local

    flood = rain_start - start + timedelta(minutes=40) if rain_start else at(rng.uniform(14, 16))
    return Timing(flood_at=flood, offline_at=at(rng.uniform(9, 11)), gas_at=at(rng.uniform(17.5, 19.5)))


def run(options: Options, progress: Progress | None = None) -> dict[str, Any]:
    """One run; returns its report (see outcome.py for the figures)."""
    say = progress or (lambda _: None)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="chengyun-sim-") as tmp:
        url = options.database_url or f"sqlite:///{Path(tmp) / 'sim.db'}"
        clock = ManualClock(options.start)
        center = build(
            Settings(
                database_url=url,
                run_worker=False,
                scratch_database=options.database_url is None,
                sensor_state_save_s=SIM_STATE_SAVE_S,
            ),
            clock=clock,
        )
        try:
            days = int(options.hours // 24) + 2
            sensors = sensor_sample(options.seed, options.sensors) if options.sensors > 0 else []
            load_demo_street(
                center, options.start.date() - timedelta(days=1), days + 1, sensors, community=False
            )
            center.orders.routing = replace(center.orders.routing, strategy=options.strategy)
            if options.night_cover:
                roster = night_roster(options.start, days, options.night_cover)
                center.directory.import_roster(CLI_ADMIN, STREET, roster)
            if options.peak_cover:
                people, shifts = peak_cover(options.start, days, options.peak_cover)
                center.directory.import_staff(CLI_ADMIN, STREET, people)
                center.directory.import_roster(CLI_ADMIN, STREET, shifts)
            reports, rain = day_script(options.seed, options.start, options.hours, options.load)
            end = options.start + timedelta(hours=options.hours)
            feed: SensorFeed | None = None
            if sensors:
                timing = scenario_timing(options.seed, options.start, rain.start if rain else None)
                feed = SensorFeed(sensors, options.seed, start=options.start, timing=timing)
                center.ingest.warm()
            # The first classification trains the street's model: before the clock starts.
            center.classifier.classify(STREET, "路灯不亮")
            sim = Simulation(
                center,
                STREET,
                options.seed,
                options.start,
                end,
                reports,
                JumpPacer(clock),
                feed.uploads if feed is not None else None,  # gateway_batches(feed.messages(at)), cheaper
                sensor_step=SENSOR_STEP,
            )
            sim.prepare()
            say(
                f"开始模拟：{options.start:%Y-%m-%d %H:%M} 起 {options.hours:g} 小时，"
                f"{len(reports)} 件上报，{len(sensors)} 个传感器，派单策略 {options.strategy.value}"
            )
            # The street, the classifier, the registry and every sensor's evaluator are long-lived: as
            # the server does with its stream, exempt them from the collections the day's allocations
            # trigger (each walked them all again: about 7 % of the sensor rounds' time).
            gc.collect()
            gc.freeze()
            run_began = time.perf_counter()
            try:
                sim.run(
                    lambda at: say(
                        f"  模拟时间 {at.astimezone(jingansi.CST):%m-%d %H:%M}，"
                        f"已用 {time.perf_counter() - run_began:.0f} 秒"
                    )
                )
            finally:
                gc.unfreeze()
            sim.close()
            center.ingest.save_state()  # what memory held, stored before anything reads it
            report = _report(center, sim, options, rain, feed)
        finally:
            center.stop()
    report["run"] = {
        "wall_seconds": round(time.perf_counter() - began, 1),
        "simulated_seconds": round(sim.wall_seconds, 1),
        "sim_hours_per_second": round(options.hours / sim.wall_seconds, 3) if sim.wall_seconds else None,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    return report


def _report(
    center: Center, sim: Simulation, options: Options, rain: Rain | None, feed: SensorFeed | None
) -> dict[str, Any]:
    orders = sim.orders()
    areas = {p.code: p.name for p in center.directory.places(STREET, PlaceKind.AREA)}
    categories = {c.code: c.name for c in center.orders.catalogue(STREET)}
    figures = outcome(orders, sim.until, areas, categories)
    stats = sim.stats
    return {
        "street": STREET,
        "seed": options.seed,
        "hours": options.hours,
        "load": options.load,
        "strategy": options.strategy.value,
        "start": options.start.isoformat(),
        "end": sim.end.isoformat(),
        "settled_at": sim.until.isoformat(),
        "usual_per_day": dict(USUAL_PER_DAY),
        "rain": {"start": rain.start.isoformat(), "hours": round(rain.hours, 2)} if rain else None,
        **figures,
        "night_cover": options.night_cover,
        "peak_cover": options.peak_cover,
        "why": why(figures, TARGET_ALL, sim.uncovered_hours()),
        "intake": {
            "reports": stats.reports,
            "refused": stats.refused,
            "misclassified": stats.misclassified,
            "unlocated": stats.unlocated,
        },
        "work": {
            "plans": stats.plans,
            "returns": stats.returns,
            "extensions_requested": stats.extensions_asked,
            "extensions_approved": stats.extensions_approved,
            "reassigned_by_duty_officer": stats.reassigned,
            "reassigned_late_holder": stats.relieved,
            "steps_refused": dict(sorted(stats.skipped.items())),
        },
        "staff": sim.utilisation(),
        "alarms": {
            "raised": stats.alarms.get("raised", 0),
            "cleared": stats.alarms.get("cleared", 0),
            "events": dict(sorted(stats.alarms.items())),
            "raised_by_colour": dict(sorted(stats.alarm_colours.items())),
            "orders": figures["orders"]["by_source"].get("sensor", 0),
        },
        "sensors": {
            "count": len(feed.sensors) if feed else 0,
            "readings": stats.readings,
            "rejected": stats.rejected_readings,
            "scenarios": [s.description for s in feed.scenarios()] if feed else [],
        },
    }


def compare(options: Options, progress: Progress | None = None) -> dict[str, Any]:
    """The day with our dispatcher, then the same day with the naive one; the report of the first
    with the baseline's figures and the comparison added."""
    ours = run(replace(options, strategy=Strategy.STANDARD), progress)
    naive = run(replace(options, strategy=Strategy.A_ONLY), progress)
    ours["baseline"] = {
        "strategy": naive["strategy"],
        "on_time": naive["on_time"],
        "stages": naive["stages"],
        "overdue": naive["overdue"],
        "misses": naive["misses"],
        "per_hour": naive["per_hour"],
        "staff": {"utilisation": naive["staff"]["utilisation"]},
        "run": naive["run"],
    }
    missed, baseline_missed = ours["stages"]["all"]["missed"], naive["stages"]["all"]["missed"]
    ratio = baseline_missed / missed if missed else None
    share = ours["on_time"]["all"]
    ours["comparison"] = {
        "misses": missed,
        "baseline_misses": baseline_missed,
        "fewer_misses_ratio": round(ratio, 2) if ratio is not None else None,
        "target": {"all": TARGET_ALL, "ratio": TARGET_RATIO},
        "met": {
            "all": share is not None and share >= TARGET_ALL,
            "ratio": ratio is None or ratio >= TARGET_RATIO,
        },
    }
    return ours

"""Loading the built-in demo street (静安寺街道) into a center, through the same importers operators use."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from chengyun.bootstrap import Center
from chengyun.domain.access import Actor, Role
from chengyun.domain.calendar import SHANGHAI
from chengyun.domain.grading import DEFAULT_GRADING_DATA
from chengyun.domain.orders import Contact, Location, Satisfaction, Source, Who, WorkOrder
from chengyun.domain.sensors import Sensor
from chengyun.domain.sla import DEFAULT_POLICIES
from chengyun.domain.staff import Post
from chengyun.services import notify, supervision
from chengyun.services.directory import (
    DEPARTMENT_COLUMNS,
    PAIR_COLUMNS,
    SHIFT_COLUMNS,
    STAFF_COLUMNS,
    write_csv,
)
from chengyun.sim import jingansi
from chengyun.sim.community import load_demo_community
from chengyun.sim.demand import day_script
from chengyun.sim.live import load_for_rate
from chengyun.sim.sensors import demo_sensor_csv

STREET = jingansi.STREET_CODE
CLI_ADMIN = Actor(Role.ADMIN, frozenset(), None, "命令行管理员", "cli")


def load_demo_street(
    center: Center,
    roster_start: date,
    roster_days: int,
    sensors: Sequence[Sensor] | None = None,
    community: bool = True,
    history: tuple[int, float, int] | None = None,
) -> dict[str, int]:
    """Import places, departments, staff, A/B pairs, `roster_days` of shifts, sensors (all the demo
    street's, or those given: the simulator may run with a share of them) and, unless told not to, the
    community programs; returns counts. `history` = (days, orders an hour, seed): the closed orders of
    the days before today (`seed_history`), stored before the sensors are registered, so the sensors'
    first reports are not late by the time it takes."""
    directory = center.directory
    registry = demo_sensor_csv(sensors=sensors)
    counts = {
        "places": directory.import_places(CLI_ADMIN, STREET, jingansi.places()),
        "departments": directory.import_departments(
            CLI_ADMIN, STREET, write_csv(jingansi.departments(), DEPARTMENT_COLUMNS)
        ),
        "staff": directory.import_staff(CLI_ADMIN, STREET, write_csv(jingansi.staff(), STAFF_COLUMNS)),
        "ab_pairs": directory.import_pairs(CLI_ADMIN, STREET, write_csv(jingansi.ab_pairs(), PAIR_COLUMNS)),
        "shifts": directory.import_roster(
            CLI_ADMIN, STREET, write_csv(jingansi.roster(roster_start, roster_days), SHIFT_COLUMNS)
        ),
        "history_orders": seed_history(center, *history) if history else 0,
        "sensors": center.sensors.import_csv(CLI_ADMIN, STREET, registry) if sensors != [] else 0,
        "grading_rules": len(center.grading.set_rules(CLI_ADMIN, STREET, DEMO_GRADING).rules),
    }
    if not community:
        return counts
    programs = load_demo_community(center.community, center.clock.now())
    return counts | {f"community_{kind}": n for kind, n in programs.items()}


# The built-in grading rules with the demo street's main roads (the roads bounding its blocks).
DEMO_GRADING = DEFAULT_GRADING_DATA | {
    "main_roads": [
        "延安中路",
        "南京西路",
        "愚园路",
        "新闸路",
        "江苏路",
        "乌鲁木齐北路",
        "常德路",
        "胶州路",
        "陕西北路",
    ]
}


# --- history: the days before the demo starts --------------------------------------------------------

# How long each step of a past order took, in minutes (low, high), and the share that ran late by a
# few minutes beyond the 51530 deadlines (respond 5, arrive 15, handle 30): a well-run street.
_RESPOND = (0.5, 4.5)
_ARRIVE = (3.0, 11.0)
_HANDLE = (4.0, 26.0)
_LATE_SHARE = 0.07
_CALLBACK = (15.0, 90.0)  # from handled to the desk's call-back (close the loop)
_FILE = (5.0, 40.0)  # from the call-back to the case filed (closed)
_FEEDBACK = ("群众反映问题已解决，表示满意", "已回访，诉求人认可处置结果", "已回访，诉求人基本满意")
# The past runs at the live rate up to a busy street's 60 orders an hour: a demo sped up with thousands an
# hour (to see the screen fill) would otherwise first store a week of hundreds of thousands of orders.
HISTORY_MAX_RATE = 60.0


def seed_history(center: Center, days: int, orders_per_hour: float, seed: int) -> int:
    """The `days` whole days before today, as a week of closed orders the street handled: the
    same demand as the live demo (its rate up to HISTORY_MAX_RATE, its hours and places), each order
    received, dispatched to the area's A manager of that day, responded to, attended, handled, called
    back and closed, on time but for a few. The wall screen's usual day, this week's compliance and the
    reports then have a past to show. Told already: the notifier and the supervision reader start after
    it. Returns how many orders were stored."""
    if days <= 0:
        return 0
    now = center.clock.now()
    today = datetime.combine(now.astimezone(SHANGHAI).date(), datetime.min.time(), SHANGHAI)
    catalogue = center.orders.catalogue(STREET)
    load = load_for_rate(min(orders_per_hour, HISTORY_MAX_RATE))
    rng = random.Random(f"history:{seed}")
    with center.uow() as uow:
        policies = uow.config.policies(STREET) or DEFAULT_POLICIES
        staff = uow.people.staff(STREET)
        pairs = {p.area: p for p in uow.people.pairs(STREET)}
    names = {s.id: s.name for s in staff}
    desk = [Who(s.id, s.name) for s in staff if s.holds(Post.HOTLINE_HANDLER)] or [Who("desk", "受理员")]
    stored = 0
    for back in range(days, 0, -1):
        start = today - timedelta(days=back)
        reports, _ = day_script(seed, start.astimezone(now.tzinfo), 24, load)
        day = start.date()
        orders = []
        for r in reports:
            if r.category not in catalogue:
                continue
            category = catalogue.get(r.category)
            policy = policies.for_order(category.code, category.colour, category.policy)
            pair = pairs.get(r.area)
            if pair is None:
                continue
            a_staff = pair.roles_on(day)[0]
            manager = Who(a_staff, names.get(a_staff, a_staff))
            clerk = rng.choice(desk)
            at = r.at
            order = WorkOrder.receive(
                street=STREET,
                source=Source(r.source),
                category=category.code,
                description=r.text,
                location=Location(r.position or r.point, r.address, r.area),
                colour=category.colour,
                policy=policy,
                now=at,
                by=clerk if r.source == "hotline" else AUTO_DISPATCH,
                complainant=Contact(*r.caller) if r.caller else None,
            )
            order.dispatch(at, AUTO_DISPATCH, manager)
            at += _step(rng, _RESPOND, 5)
            order.respond(at, manager, policy)
            at += _step(rng, _ARRIVE, 10)
            order.arrive(at, manager, policy, r.point)
            at += _step(rng, _HANDLE, 15)
            order.handle(at, manager, "已到场处置完毕，现场已恢复", policy)
            at += timedelta(minutes=rng.uniform(*_CALLBACK))
            order.close_loop(at, clerk, rng.choice(_FEEDBACK), Satisfaction.SATISFIED)
            at += timedelta(minutes=rng.uniform(*_FILE))
            order.close(at, clerk)
            orders.append((order, policy))
        with center.uow() as uow:
            for order, policy in orders:
                uow.orders.add(order, policy)
            uow.commit()
        stored += len(orders)
    with center.uow() as uow:
        last = uow.orders.last_event_id()
        uow.notifications.set_cursor(notify.CURSOR, last)
        uow.notifications.set_cursor(supervision.CURSOR, last)
        uow.commit()
    return stored


def _step(rng: random.Random, usual: tuple[float, float], late_by: float) -> timedelta:
    """A step's duration: usually within `usual`, now and then up to `late_by` minutes past its end."""
    if rng.random() < _LATE_SHARE:
        return timedelta(minutes=usual[1] + rng.uniform(1.0, late_by))
    return timedelta(minutes=rng.uniform(*usual))


AUTO_DISPATCH = Who("system", "自动派单")

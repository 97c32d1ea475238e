"""The simulated day's reports: its shape, and intake classifying, locating and routing them as a real
hotline's calls."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from chengyun.adapters.clock import ManualClock
from chengyun.bootstrap import Center, build
from chengyun.domain.access import Actor, Role
from chengyun.domain.orders import Contact
from chengyun.services.orders import NewOrder
from chengyun.settings import Settings
from chengyun.sim import jingansi
from chengyun.sim.demand import USUAL_PER_DAY, day_script
from chengyun.sim.demo import CLI_ADMIN, STREET, load_demo_street

DAY = datetime(2026, 11, 25, tzinfo=jingansi.CST)


def test_a_day_has_the_usual_volume_times_the_load_and_peaks_by_day_not_at_night() -> None:
    reports, _ = day_script(7, DAY, 24, load=2)
    assert 0.8 * 2 * sum(USUAL_PER_DAY.values()) < len(reports) < 1.2 * 2 * sum(USUAL_PER_DAY.values())
    hours = Counter(r.at.astimezone(jingansi.CST).hour for r in reports)
    assert sum(hours[h] for h in range(9, 12)) > 4 * sum(hours[h] for h in range(1, 4))
    assert {r.source for r in reports} == {"hotline", "citizen_app", "patrol", "drone"}
    patrol = [r for r in reports if r.source == "patrol"]
    assert all(8 <= r.at.astimezone(jingansi.CST).hour < 22 for r in patrol)
    assert all(r.position is not None and r.address is None for r in patrol)


def test_e_bike_complaints_crowd_the_meal_peaks() -> None:
    reports, _ = day_script(3, DAY, 24, load=4)
    ebikes = [r for r in reports if r.category == "050104" and r.source == "hotline"]
    lunch = sum(1 for r in ebikes if 11 <= r.at.astimezone(jingansi.CST).hour < 14)
    assert lunch > len(ebikes) / 3


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Center]:
    center = build(
        Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}", run_worker=False),
        ManualClock(DAY + timedelta(hours=10)),
    )
    load_demo_street(center, date(2026, 11, 25), 1)
    yield center
    center.stop()


def test_hotline_calls_are_classified_located_and_routed_by_intake(demo: Center) -> None:
    reports, _ = day_script(5, DAY + timedelta(hours=9), 3, load=2)
    calls = [r for r in reports if r.source == "hotline"][:30]
    actor = Actor(Role.HOTLINE_SYSTEM, frozenset({STREET}), None, "12345热线", "t-hotline")
    orders = [
        demo.orders.create(
            actor,
            NewOrder(
                source="hotline",
                category=None,
                description=r.text,
                street=STREET,
                address=r.address,
                complainant=Contact(*r.caller) if r.caller else None,
            ),
        ).order
        for r in calls
    ]
    assert len(orders) >= 20
    right = sum(o.category == r.category for o, r in zip(orders, calls, strict=True))
    assert right >= 0.8 * len(orders)
    in_area = sum(o.location.area == r.area for o, r in zip(orders, calls, strict=True))
    assert in_area >= 0.9 * len(orders)
    assert all(o.assignee is not None for o in orders if o.location.area is not None)
    kinds = [e.kind for e in demo.orders.timeline(CLI_ADMIN, orders[0].id or 0)]
    assert "category_suggested" in kinds and "first_contact_task" in kinds

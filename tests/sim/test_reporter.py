"""The demo street's sensors through the real ingestion path: alarms, orders and dead letters appear."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from chengyun.adapters.clock import ManualClock
from chengyun.bootstrap import Center, build
from chengyun.domain.access import Actor, Role
from chengyun.domain.alarms import AlarmState
from chengyun.domain.calendar import local_date
from chengyun.domain.orders import Source
from chengyun.services.ports import AlarmQuery, OrderQuery
from chengyun.settings import Settings, sqlite_url
from chengyun.sim.demo import STREET, load_demo_street
from chengyun.sim.reporter import SensorReporter
from chengyun.sim.sensors import SensorFeed, demo_sensors
from street import T0

DUTY = Actor(Role.DUTY_OFFICER, frozenset({STREET}), None, "值班长", "t-duty")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Center, SensorFeed, ManualClock]]:
    clock = ManualClock(T0)
    db = Path(tmp_path_factory.mktemp("demo")) / "demo.db"
    center = build(Settings(database_url=sqlite_url(db), run_worker=False), clock=clock)
    counts = load_demo_street(center, local_date(T0) - timedelta(days=1), 2)
    assert counts["sensors"] >= 14_000
    feed = SensorFeed(demo_sensors(), start=T0)
    reporter = SensorReporter(center, feed)
    for minute in range(1, 21):  # twenty minutes of the demo, a simulated minute at a time
        clock.set(T0 + timedelta(minutes=minute))
        reporter.run_once()
        center.ingest.sweep()
    yield center, feed, clock
    center.stop()


def test_the_flooded_drain_raises_an_alarm_that_files_a_located_order(
    demo: tuple[Center, SensorFeed, ManualClock],
) -> None:
    center, feed, _ = demo
    [flood] = [s for s in feed.scenarios() if s.name == "flood"]
    alarms, _ = center.sensors.alarms(DUTY, AlarmQuery(street=STREET, limit=1000))
    high = [a for a in alarms if a.sensor_id in flood.sensor_ids and a.rule_id == "water-high"]
    assert high and all(a.order_id is not None for a in high)
    order = center.orders.get(DUTY, high[0].order_id or 0)
    assert order.source is Source.SENSOR and order.category == "040104"
    assert order.location.area is not None  # located, hence routed to the area's manager
    assert order.assignee is not None


def test_the_offline_lane_and_the_gas_leak_show_up(demo: tuple[Center, SensorFeed, ManualClock]) -> None:
    center, feed, _ = demo
    scenarios = {s.name: s for s in feed.scenarios()}
    alarms, _ = center.sensors.alarms(DUTY, AlarmQuery(street=STREET, limit=1000))
    offline = {a.sensor_id for a in alarms if a.rule_id == "offline"}
    assert offline and offline <= set(scenarios["offline"].sensor_ids)  # healthy sensors stay quiet
    gas = [a for a in alarms if a.sensor_id in scenarios["gas"].sensor_ids]
    assert {a.colour.value for a in gas} >= {"red"}
    assert all(a.state is not AlarmState.RAISED or a.order_id for a in gas if a.colour.value == "red")


def test_broken_reports_land_in_the_dead_letter_log(demo: tuple[Center, SensorFeed, ManualClock]) -> None:
    center, _, _ = demo
    admin = Actor(Role.ADMIN, frozenset({STREET}), None, "管理员", "t-admin")
    page = center.sensors.dead_letters(admin, STREET)
    assert page.total > 0
    assert set(page.counts) <= {
        "not_numeric",
        "ts_future",
        "malformed_json",
        "unknown_quantity",
        "wrong_unit",
    }
    sensor_orders = center.orders.search(DUTY, OrderQuery(street=STREET, limit=200))
    assert any(o.source is Source.SENSOR for o in sensor_orders.items)

"""The demo's reports go through intake as a real hotline's would: text and address only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from chengyun.adapters.clock import ManualClock
from chengyun.bootstrap import Center, build
from chengyun.domain.orders import Source
from chengyun.settings import Settings
from chengyun.sim.demo import CLI_ADMIN, STREET, load_demo_street
from chengyun.sim.feeder import TEMPLATES, DemoFeeder
from street import T0


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Center]:
    center = build(
        Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}", run_worker=False), ManualClock(T0)
    )
    load_demo_street(center, date(2026, 11, 25), 1)
    yield center
    center.stop()


def test_hotline_reports_are_classified_located_and_routed_by_intake(demo: Center) -> None:
    feeder = DemoFeeder(demo, STREET, seed=3)
    feeder.prepare()
    orders = [o for o in (feeder.report_one(T0) for _ in range(30)) if o is not None]
    hotline = [o for o in orders if o.source is Source.HOTLINE]
    assert len(orders) == 30 and len(hotline) >= 10

    truth = {text.split("{addr}")[-1][:6]: code for code, _, _, texts in TEMPLATES for text in texts}
    right = 0
    for order in hotline:
        kinds = [e.kind for e in demo.orders.timeline(CLI_ADMIN, order.id or 0)]
        assert "category_suggested" in kinds
        expected = next((code for tail, code in truth.items() if tail and tail in order.description), None)
        right += order.category == expected
    assert right >= 0.8 * len(hotline)

    located = [o for o in hotline if o.location.area is not None]
    assert len(located) >= 0.9 * len(hotline)
    assert all(o.assignee is not None for o in located)

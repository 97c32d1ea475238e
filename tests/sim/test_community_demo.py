"""The demo street's community programs: plausible figures from the seed, and every file loads through the
importers (a bad row would refuse the whole file), with the coming sessions booked through the services."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import datetime
from pathlib import Path

from chengyun.adapters.clock import ManualClock
from chengyun.bootstrap import build
from chengyun.domain.calendar import SHANGHAI
from chengyun.services.community.imports import ImportKind
from chengyun.settings import Settings
from chengyun.sim import jingansi
from chengyun.sim.community import LOADER, STREET, community_files, load_demo_community

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=SHANGHAI)


def files() -> dict[ImportKind, list[dict[str, str]]]:
    return {kind: list(csv.DictReader(io.StringIO(text))) for kind, text in community_files(NOW)}


def test_the_demo_follows_the_seed_figures() -> None:
    f = files()
    assert len(f[ImportKind.SERIES]) == 10
    assert Counter(v["level"] for v in f[ImportKind.VENUES]) == {
        "street_center": 1,
        "area_station": 10,
        "building_station": 3,
    }
    assert {m["rule"] for m in f[ImportKind.MARKETS]} == {"FREQ=MONTHLY;BYDAY=+1TH", "FREQ=WEEKLY;BYDAY=WE"}
    assert len(f[ImportKind.VOLUNTEER_PROJECTS]) >= 10
    coming = max(fair["code"] for fair in f[ImportKind.JOB_FAIRS])
    posts = [p for p in f[ImportKind.JOB_POSTS] if p["fair"] == coming]
    assert len({p["employer"] for p in posts}) > 40 and 170 <= len(posts) <= 250
    assert {p["special"] for p in posts} == {"general", "women", "graduates", "veterans"}
    areas = {
        p["properties"]["code"] for p in jingansi.places()["features"] if p["properties"]["kind"] == "area"
    }
    branches = {u["places"] for u in f[ImportKind.PARTY_UNITS] if u["level"] == "branch"}
    assert branches == areas


def test_every_demo_file_loads_and_residents_book_the_coming_sessions(tmp_path: Path) -> None:
    center = build(
        Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}", run_worker=False), clock=ManualClock(NOW)
    )
    try:
        center.directory.import_places(LOADER, STREET, jingansi.places())
        counts = load_demo_community(center.community, NOW)
        assert counts["markets"] == 14 and counts["stalls"] > 70
        assert (
            counts["bookings"] > 1000
            and counts["volunteer-records"] > 100
            and counts["volunteer-signups"] > 20
        )
        summary = center.community.summary(LOADER, STREET)
        assert summary.next_sessions[0].booked > 0
        assert summary.volunteers.hours_year > 100
        assert [p.project.code for p in summary.renovation if p.progress.completed] == ["r-jz768"]
        assert 0.8 < center.community.renovation.assessment_figures(STREET).signing_rate < 0.9
    finally:
        center.stop()


def test_the_service_ledger_holds_no_check_out_after_now_just_after_a_shift() -> None:
    """Minutes after the 11:00–13:00 parking shift of a weekday: whoever is still there has not checked
    out yet, so the ledger (which refuses service in the future) still loads."""
    for day in (23, 24, 25, 26, 27):
        for minute in (1, 4, 9):
            now = datetime(2026, 11, day, 13, minute, tzinfo=SHANGHAI)
            texts = dict(community_files(now))
            rows = list(csv.DictReader(io.StringIO(texts[ImportKind.VOLUNTEER_RECORDS])))
            assert [r for r in rows if r["shift"] == f"v-parking-202611{day}"], now
            late = [r for r in rows if datetime.fromisoformat(r["checked_out_at"]) > now]
            assert late == [], now

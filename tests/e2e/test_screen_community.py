"""The wall screen's community panel (社区服务) in a real browser: its figures are the street's community
summary (the next market, volunteer hours, the next job fair, the renovation projects), on market day it
counts today's bookings and attendance, it is re-read once a minute rather than on every order event, and it
fits its box on a 1920×1080 and a 3840×2160 wall."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from playwright.sync_api import Page, Request, expect

from chengyun.domain.calendar import SHANGHAI
from chengyun.services.community.imports import ImportKind
from community_data import MARKET_DAY, load_community
from e2e.conftest import LiveServer
from e2e.test_screen import create, headers, open_screen
from street import ADMIN, STREET

PUBLIC = "/api/v1/community/public"


def summary(server: LiveServer) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/api/v1/community/summary", headers=headers(server), timeout=10)
    assert response.status_code == 200, response.text
    return dict(response.json())


def book(server: LiveServer, slot: str, phone: str) -> dict[str, Any]:
    body = {"stall": "S1", "day": MARKET_DAY, "slot": slot, "name": "王阿姨", "phone": phone}
    response = httpx.post(f"{server.url}{PUBLIC}/bookings", json=body, timeout=10)
    assert response.status_code == 201, response.text
    return dict(response.json())


def served_this_month(server: LiveServer) -> None:
    """A November shift with one volunteer's 2.5 hours, from the paper register."""
    files = server.center.community.files
    files.import_csv(
        ADMIN,
        STREET,
        ImportKind.VOLUNTEER_SHIFTS,
        "code,project,starts_at,ends_at,capacity,place\n"
        "SH0,P1,2026-11-20T09:00:00+08:00,2026-11-20T12:00:00+08:00,5,党群服务中心\n",
    )
    files.import_csv(
        ADMIN,
        STREET,
        ImportKind.VOLUNTEER_RECORDS,
        "shift,name,phone,checked_in_at,checked_out_at\n"
        "SH0,志愿者小陈,13700000001,2026-11-20T09:00:00+08:00,2026-11-20T11:30:00+08:00\n",
    )


def test_the_panel_shows_the_next_market_volunteer_hours_the_next_fair_and_renovation_progress(
    page: Page, live_server: LiveServer
) -> None:
    load_community(live_server.center)
    served_this_month(live_server)
    book(live_server, "09:00", "13812345678")
    applied = httpx.post(
        f"{live_server.url}{PUBLIC}/job-applications",
        json={"post": "J1", "name": "刘女士", "phone": "13600000001"},
        timeout=10,
    )
    assert applied.status_code == 201, applied.text
    s = summary(live_server)
    errors: list[str] = []
    open_screen(page, live_server, errors)

    panel = page.locator("#p-community")
    expect(panel.locator("#cm-note")).to_have_text(f"{s['venues']} 处阵地 · {s['series']} 类服务 · 2 个摊位")
    # the market: no session today, the next one on Thursday 3 December, eight days after T0
    (coming,) = s["next_sessions"]
    expect(panel.locator("#cm-when")).to_have_text("下次 12月3日周四 09:00")
    expect(panel.locator("#cm-where")).to_have_text(f"{coming['venue_name']} · {coming['address']}")
    expect(panel.locator("#cm-stalls")).to_have_text(str(coming["stalls"]))
    expect(panel.locator("#cm-booked")).to_have_text("1")
    expect(panel.locator("#cm-third")).to_have_text("8")
    expect(panel.locator("#cm-third-label")).to_have_text("天后")
    # volunteers: this month's hours (the register's 2.5), the year's, who served
    v = s["volunteers"]
    assert (v["hours_month"], v["hours_year"], v["volunteers"]) == (2.5, 2.5, 1)
    expect(panel.locator("#cm-hours-month")).to_have_text("2.5")
    expect(panel.locator("#cm-hours-year")).to_have_text("2.5")
    expect(panel.locator("#cm-volunteer-count")).to_have_text("1")
    expect(panel.locator("#cm-vol-note")).to_have_text(f"{v['projects']} 个项目 · 今日 0 个班次")
    # the next fair and its own figures
    fair = s["next_fair_jobs"]
    assert (fair["employers"], fair["posts"], fair["applications"]) == (2, 2, 1)
    expect(panel.locator("#cm-fair-when")).to_have_text("下一场 12月3日周四 09:00")
    expect(panel.locator("#cm-employers")).to_have_text("2")
    expect(panel.locator("#cm-posts")).to_have_text("2")
    expect(panel.locator("#cm-applications")).to_have_text("1")
    # renovation: 7 of 10 households signed (below the 0.9 threshold), survey and design done, signing now
    (r,) = s["renovation"]
    project = panel.locator("#cm-projects li[data-code='R1']")
    expect(project.locator(".name")).to_have_text(r["name"])
    expect(project.locator(".rate")).to_have_text("70%")
    expect(project.locator(".stage")).to_have_text(r["stage_label"])
    expect(project.locator(".steps i.done")).to_have_count(2)
    expect(project.locator(".steps i.now")).to_have_count(1)
    expect(project.locator(".bar")).to_have_class("bar")  # not "reached": below the threshold
    assert project.locator(".bar i").evaluate("e => e.style.width") == "70%"
    assert project.locator(".bar s").evaluate("e => e.style.left") == "90%"
    assert errors == []


def test_on_market_day_the_panel_counts_todays_bookings_and_is_reread_each_minute_not_on_order_events(
    page: Page, live_server: LiveServer
) -> None:
    load_community(live_server.center)
    book(live_server, "09:00", "13812345678")
    live_server.clock.set(datetime(2026, 12, 3, 9, 10, tzinfo=SHANGHAI))
    (booked,) = httpx.get(
        f"{live_server.url}/api/v1/community/bookings",
        headers=headers(live_server),
        params={"since": MARKET_DAY},
        timeout=10,
    ).json()
    came = httpx.post(
        f"{live_server.url}/api/v1/community/bookings/{booked['id']}/attend",
        headers=headers(live_server),
        timeout=10,
    )
    assert came.status_code == 200, came.text
    reads: list[str] = []

    def count(request: Request) -> None:
        if "/api/v1/community/summary" in request.url:
            reads.append(request.url)

    page.on("request", count)
    page.clock.install()  # the page's timers, moved on below instead of waited for
    errors: list[str] = []
    open_screen(page, live_server, errors)
    panel = page.locator("#p-community")
    expect(panel.locator("#cm-when")).to_have_text("今日 09:00–11:30 · 1 处开放")
    expect(panel.locator("#cm-when")).to_have_class("today")
    expect(panel.locator("#cm-booked")).to_have_text("1")
    expect(panel.locator("#cm-third")).to_have_text("1")
    expect(panel.locator("#cm-third-label")).to_have_text("已到场")
    # A new order is an event: the order figures follow it, the community panel does not re-read.
    book(live_server, "10:00", "13812340000")
    create(live_server)
    expect(page.locator("#n-received")).to_have_text("1")
    assert len(reads) == 1
    expect(panel.locator("#cm-booked")).to_have_text("1")
    # a minute on, it has the second booking
    page.clock.fast_forward("01:01")
    expect(panel.locator("#cm-booked")).to_have_text("2")
    assert len(reads) == 2
    assert errors == []


def test_a_street_without_community_programs_shows_there_are_none(
    page: Page, live_server: LiveServer
) -> None:
    errors: list[str] = []
    open_screen(page, live_server, errors)
    expect(page.locator("#cm-note")).to_have_text("0 处阵地 · 0 类服务 · 0 个摊位")
    expect(page.locator("#cm-when")).to_have_text("暂无集市安排")
    expect(page.locator("#cm-stalls")).to_have_text("–")
    expect(page.locator("#cm-hours-month")).to_have_text("0")
    expect(page.locator("#cm-fair-when")).to_have_text("暂无下一场 · 历次合计")
    expect(page.locator("#cm-projects")).to_have_text("暂无旧改项目")
    assert errors == []


RENOVATION = (
    "code,name,area,buildings,threshold\n"
    "R2,华山路1号旧住房成套改造,A2,B2,0.95\n"
    "R3,愚园路608弄厨卫综合改造项目,A1,B1,0.9\n"
    "R4,常德路569弄屋面及外立面修缮,A1,B1,0.9\n"
)


def test_the_panel_fits_its_box_and_stays_legible_on_both_walls(page: Page, live_server: LiveServer) -> None:
    load_community(live_server.center)
    live_server.center.community.files.import_csv(ADMIN, STREET, ImportKind.RENOVATION_PROJECTS, RENOVATION)
    errors: list[str] = []
    open_screen(page, live_server, errors)
    # three of the four projects have room; the title says how many more there are
    expect(page.locator("#cm-projects li")).to_have_count(3)
    expect(page.locator("#cm-renovation-note")).to_have_text("签约率 · 节点 · 另 1 个")
    for width, height in ((1920, 1080), (3840, 2160)):
        page.set_viewport_size({"width": width, "height": height})
        fit = page.evaluate(
            """() => {
              const box = document.getElementById('community').getBoundingClientRect();
              const root = parseFloat(getComputedStyle(document.documentElement).fontSize);
              const texts = [...document.querySelectorAll('#community *')]
                .filter((e) => e.childElementCount === 0 && e.textContent.trim())
                .map((e) => ({ text: e.textContent, r: e.getBoundingClientRect(), size: parseFloat(getComputedStyle(e).fontSize) }));
              return {
                root,
                smallest: Math.min(...texts.map((t) => t.size)) / root,
                // outside the panel's box, or squeezed to less than its own line
                hidden: texts.filter((t) => t.r.top < box.top - 1 || t.r.bottom > box.bottom + 1 || t.r.height < 0.9 * t.size).map((t) => t.text),
              };
            }"""
        )
        assert fit["root"] == width / 120  # 16 px at 1920, 32 px at 3840: the panel scales with the wall
        assert fit["hidden"] == [], (width, fit)
        assert fit["smallest"] >= 0.75, (width, fit)
    assert errors == []

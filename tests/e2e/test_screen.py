"""The wall screen in a real browser: it loads cleanly, draws the map and the charts, takes new orders and
alarms live, shows an order's timeline on a click, survives a server restart, and is photographed."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from chengyun.api.app import create_app
from community_data import load_community
from e2e.conftest import LiveServer
from liveserver import serving
from street import T0

ARTEFACTS = Path(__file__).resolve().parents[2] / "var" / "artefacts"

SENSORS_CSV = (
    "id,kind,lon,lat,watches,watch_kind,rules\n"
    "W1,water_level,121.4420,31.2250,B1,place,\n"
    'G1,gas,121.4470,31.2250,B2,place,"[{""id"": ""gas-high"", ""kind"": ""threshold"", ""quantity"": ""lel"", '
    '""colour"": ""red"", ""high"": 10, ""clear_below"": 5}]"\n'
)


def open_screen(page: Page, server: LiveServer, errors: list[str]) -> Page:
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server.url}/screen#token={server.token}")
    expect(page.locator("#link")).to_have_text("● 实时连接", timeout=10_000)
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    return page


def headers(server: LiveServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token}"}


def create(
    server: LiveServer, address: str = "愚园路608弄6号", colour: str | None = None
) -> dict[str, object]:
    body = {
        "source": "hotline",
        "category": "200101",
        "description": "商场门口人行道地砖翘起，有人绊倒",
        "address": address,
        "complainant": {"name": "唐女士", "phone": "13812345678"},
    }
    if colour:
        body["colour"] = colour
    response = httpx.post(f"{server.url}/api/v1/orders", headers=headers(server), json=body, timeout=10)
    assert response.status_code == 201, response.text
    return dict(response.json())


def sensors_reporting(server: LiveServer, lel: float) -> None:
    registered = httpx.put(
        f"{server.url}/api/v1/sensors/csv",
        headers=headers(server) | {"Content-Type": "text/csv"},
        content=SENSORS_CSV.encode(),
        timeout=10,
    )
    assert registered.status_code == 200, registered.text
    at = T0.isoformat()
    readings = [
        {"sensor_id": "G1", "ts": at, "values": {"lel": lel}},
        {"sensor_id": "W1", "ts": at, "values": {"level": 2}},
    ]
    posted = httpx.post(f"{server.url}/api/v1/readings", headers=headers(server), json=readings, timeout=10)
    assert posted.status_code == 200, posted.text


def test_the_screen_loads_without_errors_and_draws_the_figures_the_map_and_the_charts(
    page: Page, live_server: LiveServer
) -> None:
    existing = create(live_server)
    errors: list[str] = []
    open_screen(page, live_server, errors)
    expect(page.locator("#street-name")).to_have_text("测试街道城运中心")
    expect(page.locator("#n-received")).to_have_text("1")
    expect(page.locator("#n-live")).to_have_text("1")
    row = page.locator(f"#orders tr[data-id='{existing['id']}']")
    expect(row).to_contain_text("人行道板")
    expect(row).to_contain_text("李思远")  # the assignee by name, not by staff id
    expect(row).to_contain_text(re.compile(r"剩 \d+分\d\d秒"))
    expect(page.locator("#counts")).to_contain_text("在办 1 件")
    for chart in ("c-map", "c-compliance", "c-hourly", "c-areas", "c-sources", "c-online"):
        expect(page.locator(f"#{chart} canvas").first).to_be_visible()
    assert errors == []


def test_a_new_order_appears_live_named_by_id_and_category(page: Page, live_server: LiveServer) -> None:
    errors: list[str] = []
    open_screen(page, live_server, errors)
    order = create(live_server, "南京西路1618号", colour="red")
    # No reload: the feed names it at once, the figures and the urgent list follow the event.
    feed = page.locator("#feed li", has_text=f"工单 #{order['id']} 人行道板")
    expect(feed.first).to_be_visible(timeout=5_000)
    expect(page.locator(f"#orders tr[data-id='{order['id']}']")).to_contain_text("王建国")
    expect(page.locator("#n-received")).to_have_text("1")
    expect(page.locator("#by-colour")).to_contain_text("红色1")
    assert errors == []


def test_clicking_an_order_shows_its_timeline_assignee_and_time_left(
    page: Page, live_server: LiveServer
) -> None:
    order = create(live_server)
    errors: list[str] = []
    open_screen(page, live_server, errors)
    page.locator(f"#orders tr[data-id='{order['id']}']").click()
    detail = page.locator("#detail")
    expect(detail).to_be_visible()
    expect(detail.locator("h3")).to_contain_text(f"工单 #{order['id']} 人行道板")
    expect(detail).to_contain_text("承办人李思远")
    expect(detail).to_contain_text(re.compile(r"剩余时限剩 \d+分\d\d秒"))
    expect(detail.locator("ol li", has_text="受理工单（12345热线）")).to_be_visible()
    expect(detail.locator("ol li", has_text="派遣给 A 角 李思远")).to_be_visible()
    # and the timeline grows while it is open
    response = httpx.post(
        f"{live_server.url}/api/v1/orders/{order['id']}/notes",
        headers=headers(live_server),
        json={"note": "已联系商场物业"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    expect(detail.locator("ol li", has_text="已联系商场物业")).to_be_visible(timeout=5_000)
    assert errors == []


def test_an_alarm_appears_live_and_clicking_an_area_shows_its_figures(
    page: Page, live_server: LiveServer
) -> None:
    errors: list[str] = []
    open_screen(page, live_server, errors)
    sensors_reporting(live_server, lel=12.5)
    alarm = page.locator("#feed li.alarm", has_text="燃气告警")
    expect(alarm.first).to_be_visible(timeout=5_000)
    expect(page.locator("#alarm-colours")).to_contain_text("红色告警1", timeout=10_000)
    expect(page.locator("#sensor-total")).to_contain_text("2 个点位")
    alarm.first.click()
    expect(page.locator("#detail h3")).to_contain_text("燃气告警")
    expect(page.locator("#detail")).to_contain_text("查看工单")
    assert errors == []


def test_the_screen_reconnects_by_itself_after_a_server_restart(page: Page, live_server: LiveServer) -> None:
    errors: list[str] = []
    open_screen(page, live_server, errors)
    port = int(live_server.url.rsplit(":", 1)[1])
    # The fixture's server goes away; a new process of the same center comes up on the same port.
    restarted = create_app(live_server.center)
    live_server.stop()
    expect(page.locator("#link")).to_contain_text("连接中断", timeout=10_000)
    with serving(restarted, port=port):
        expect(page.locator("#link")).to_have_text("● 实时连接", timeout=15_000)
        order = create(live_server, "南京西路1618号")
        expect(page.locator("#feed li", has_text=f"工单 #{order['id']}").first).to_be_visible(timeout=5_000)
    # While the server is down the browser reports the dropped and refused connections; nothing else.
    assert [e for e in errors if not e.startswith("Failed to load resource: net::")] == []


def test_a_screenshot_at_1920_by_1080_shows_chinese_text_the_map_and_the_charts(
    page: Page, live_server: LiveServer
) -> None:
    sensors_reporting(live_server, lel=12.5)
    load_community(live_server.center)
    for address in ("愚园路608弄6号", "南京西路1618号", "愚园路608弄6号"):
        create(live_server, address)
    live_server.clock.advance(minutes=6)  # some are late now
    errors: list[str] = []
    open_screen(page, live_server, errors)
    expect(page.locator("#n-overdue")).not_to_have_text("–")
    expect(page.locator("#cm-projects li[data-code='R1']")).to_contain_text("608弄成套改造")
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTEFACTS / "screen-1920x1080.png"
    page.wait_for_timeout(800)  # let the charts finish their entry animation
    page.screenshot(path=str(shot))
    assert page.viewport_size == {"width": 1920, "height": 1080}
    assert shot.stat().st_size > 100_000  # a drawn wall, not a blank page
    assert page.evaluate("document.fonts.check('16px \"Noto Sans CJK SC\"', '城运')")
    assert errors == []


def test_without_a_token_the_screen_asks_for_one(page: Page, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/screen")
    page.evaluate("localStorage.clear()")
    page.reload()
    expect(page.locator("#main")).to_contain_text(re.compile("#token="))
    page.locator(".cy-login input[name=token]").fill(live_server.token)
    page.locator(".cy-login button").click()
    expect(page.locator("#link")).to_have_text("● 实时连接", timeout=10_000)


def test_the_clock_moves_with_the_servers(page: Page, live_server: LiveServer) -> None:
    live_server.clock.set(T0 + timedelta(hours=2))
    errors: list[str] = []
    open_screen(page, live_server, errors)
    expect(page.locator("#clock")).to_contain_text("11:00")

"""The duty officer's board in a real browser: what needs attention, red first; new events arrive live;
the duty officer urges, decides an extension and reassigns from the page; it fits a phone."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import Page, expect

from chengyun.domain.access import Role
from e2e.conftest import LiveServer
from street import ADMIN

PLAIN = "商场门口人行道大理石地砖翘起"


def post(server: LiveServer, path: str, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    response = httpx.post(
        f"{server.url}/api/v1{path}",
        headers={"Authorization": f"Bearer {token or server.token}"},
        json=body,
        timeout=10,
    )
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def create(server: LiveServer, **changes: Any) -> int:
    body = {"source": "hotline", "category": "200101", "description": PLAIN, "address": "愚园路608弄6号"}
    return int(post(server, "/orders", body | changes)["id"])


def open_board(page: Page, server: LiveServer, errors: list[str]) -> Page:
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server.url}/board#token={server.token}")
    expect(page.locator("#link")).to_have_text("● 实时连接", timeout=10_000)
    return page


def card(page: Page, order_id: int) -> Any:
    return page.locator(f"#items .card[data-id='{order_id}']")


def test_the_board_lists_red_first_and_overdue_orders_with_their_time(
    page: Page, live_server: LiveServer
) -> None:
    plain = create(live_server)
    red = create(live_server, category="040101", description="路面塌陷一个大坑", address="南京西路1618号")
    live_server.clock.advance(minutes=6)
    errors: list[str] = []
    open_board(page, live_server, errors)
    expect(page.locator("#items .card").first).to_have_attribute("data-id", str(red))
    expect(card(page, red)).to_contain_text("路面塌陷")
    expect(card(page, red)).to_contain_text("红橙色事件")
    expect(card(page, plain)).to_contain_text("已超期")
    expect(card(page, plain).locator(".left")).to_contain_text("超期 1分")
    expect(card(page, plain)).to_contain_text("李思远")
    expect(page.locator("#counts [data-reason='overdue'] b")).to_have_text("2")
    page.locator("#counts [data-reason='severe']").click()
    expect(page.locator("#items .card")).to_have_count(1)
    assert errors == []


def test_a_new_red_order_appears_live(page: Page, live_server: LiveServer) -> None:
    errors: list[str] = []
    open_board(page, live_server, errors)
    expect(page.locator("#items")).to_contain_text("暂无需要关注的工单")
    red = create(live_server, category="040103", description="闻到很重的燃气味", address="南京西路1618号")
    expect(card(page, red)).to_contain_text("燃气管道破裂", timeout=5_000)
    assert errors == []


def test_the_duty_officer_urges_decides_and_reassigns_from_the_board(
    page: Page, live_server: LiveServer
) -> None:
    center = live_server.center
    manager, _ = center.auth.issue(Role.AREA_MANAGER, ["T"], staff_id="M3")
    asked = create(live_server, address="南京西路1618号")
    post(live_server, f"/orders/{asked}/respond", {}, manager)
    post(live_server, f"/orders/{asked}/arrive", {"position": {"lon": 121.447, "lat": 31.225}}, manager)
    post(
        live_server,
        f"/orders/{asked}/extension",
        {"until": "2026-11-25T12:00:00+08:00", "reason": "等待材料"},
        manager,
    )
    late = create(live_server)
    live_server.clock.advance(minutes=6)
    errors: list[str] = []
    open_board(page, live_server, errors)

    card(page, late).get_by_role("button", name="催办").click()
    page.locator("#dlg textarea").fill("请立即联系诉求人")
    page.locator("#dlg-ok").click()
    expect(page.locator("#dlg")).not_to_be_visible()
    expect(page.locator("#notices")).to_contain_text("催办：请立即联系诉求人")

    card(page, asked).get_by_role("button", name="同意延期").click()
    page.locator("#dlg-ok").click()
    expect(card(page, asked)).to_have_count(0)  # nothing left to decide, nothing else pressing

    card(page, late).get_by_role("button", name="改派").click()
    page.locator("#dlg select").select_option("M3")
    page.locator("#dlg-ok").click()
    expect(card(page, late)).to_contain_text("王建国")
    timeline = [e.kind for e in center.orders.timeline(ADMIN, late)]
    assert timeline[-2:] == ["urged", "reassigned"]
    assert errors == []


def test_the_board_fits_a_phone(browser: Any, live_server: LiveServer) -> None:
    create(live_server, category="040101", description="路面塌陷", address="南京西路1618号")
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        page = context.new_page()
        open_board(page, live_server, [])
        box = page.locator("#items .card").first.bounding_box()
        assert box is not None and box["width"] > 300 and box["x"] + box["width"] <= 390
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    finally:
        context.close()

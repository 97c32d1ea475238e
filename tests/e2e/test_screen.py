"""The wall screen in a real browser: it loads cleanly, shows open orders and takes new ones live."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from e2e.conftest import LiveServer


def open_screen(page: Page, server: LiveServer, errors: list[str]) -> Page:
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server.url}/screen#token={server.token}")
    expect(page.locator("#link")).to_have_text("● 实时连接", timeout=10_000)
    return page


def create(server: LiveServer, address: str = "愚园路608弄6号") -> dict[str, object]:
    response = httpx.post(
        f"{server.url}/api/v1/orders",
        headers={"Authorization": f"Bearer {server.token}"},
        json={
            "source": "hotline",
            "category": "200101",
            "description": "商场门口人行道地砖翘起，有人绊倒",
            "address": address,
            "complainant": {"name": "唐女士", "phone": "13812345678"},
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_the_screen_loads_without_errors_and_lists_open_orders(page: Page, live_server: LiveServer) -> None:
    existing = create(live_server)
    errors: list[str] = []
    open_screen(page, live_server, errors)
    row = page.locator(f"#orders tr[data-id='{existing['id']}']")
    expect(row).to_contain_text("人行道板")
    expect(row).to_contain_text("已派遣")
    expect(row).to_contain_text("李思远")  # the assignee by name, not by staff id
    expect(page.locator("#counts")).to_contain_text("在办 1 件")
    assert errors == []


def test_a_new_order_appears_live_named_by_id_and_category(page: Page, live_server: LiveServer) -> None:
    errors: list[str] = []
    open_screen(page, live_server, errors)
    order = create(live_server, "南京西路1618号")
    feed = page.locator("#feed li", has_text=f"工单 #{order['id']} 人行道板")
    expect(feed.first).to_be_visible(timeout=5_000)
    expect(page.locator(f"#orders tr[data-id='{order['id']}']")).to_contain_text("南京西路1618号")
    assert errors == []


def test_without_a_token_the_screen_says_how_to_log_in(page: Page, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/screen")
    page.evaluate("localStorage.clear()")
    page.reload()
    expect(page.locator("#main")).to_contain_text(re.compile("#token="))

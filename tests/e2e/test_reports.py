"""The reports page in a real browser: the assessment with its charts, hot spots, the daily brief, and the
download buttons that hand over a workbook and a PDF."""

from __future__ import annotations

import io
from typing import Any

import httpx
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from e2e.conftest import LiveServer

HERE = {"lon": 121.4421, "lat": 31.2251}


def act(server: LiveServer, order_id: int, action: str, **body: Any) -> None:
    from chengyun.domain.access import Role

    token, _ = server.center.auth.issue(Role.AREA_MANAGER, ["T"], staff_id="M1")
    response = httpx.post(
        f"{server.url}/api/v1/orders/{order_id}/{action}",
        headers={"Authorization": f"Bearer {token}"},
        json=body,
        timeout=10,
    )
    assert response.status_code == 200, response.text


def an_order(server: LiveServer, description: str) -> int:
    response = httpx.post(
        f"{server.url}/api/v1/orders",
        headers={"Authorization": f"Bearer {server.token}"},
        json={
            "source": "hotline",
            "category": "200101",
            "description": description,
            "address": "愚园路608弄6号",
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_the_reports_page_shows_the_assessment_analysis_and_brief_and_downloads_files(
    page: Page, live_server: LiveServer
) -> None:
    handled = an_order(live_server, "商场门口人行道地砖翘起")
    act(live_server, handled, "respond")
    act(live_server, handled, "arrive", position=HERE)
    act(live_server, handled, "handle", note="已修复")
    an_order(live_server, "人行道地砖又翘起来了")
    live_server.clock.advance(hours=3)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server.url}/reports#token={live_server.token}")
    expect(page.locator("#to")).to_have_value(
        "2026-11-25", timeout=10_000
    )  # the server's day, not the browser's
    expect(page.locator("#cards")).to_contain_text("受理量2")
    expect(page.locator("#cards")).to_contain_text("响应率50.0%")
    for chart in (
        "#chart-score",
        "#chart-rates",
        "#chart-stages",
        "#heatmap",
        "#chart-places",
        "#chart-trends",
    ):
        expect(page.locator(f"{chart} canvas").first).to_be_visible()
    expect(page.locator("#brief")).to_contain_text("2026年11月25日（周三）受理工单 2 件")
    expect(page.locator("#brief")).to_contain_text("超期未办 2 件")

    page.select_option("#by", "staff")
    expect(page.locator("#period")).to_contain_text("2026-11-25")
    with page.expect_download() as download_info:
        page.click("#download-xlsx")
    download = download_info.value
    assert download.suggested_filename.startswith(
        "考核报告-测试街道-人员-"
    ) and download.suggested_filename.endswith(".xlsx")
    path = download.path()
    book = load_workbook(io.BytesIO(path.read_bytes()))
    names = [row[2] for row in book["排名"].iter_rows(min_row=4, values_only=True)]
    assert "李思远" in names
    with page.expect_download() as pdf_info:
        page.click("#download-pdf")
    assert pdf_info.value.path().read_bytes().startswith(b"%PDF")
    assert errors == []


def test_a_refused_period_shows_the_servers_message(page: Page, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/reports#token={live_server.token}")
    expect(page.locator("#to")).to_have_value("2026-11-25", timeout=10_000)
    page.fill("#from", "2026-11-26")
    page.click("#run")
    expect(page.locator("#error")).to_have_text("结束日期不能早于开始日期")

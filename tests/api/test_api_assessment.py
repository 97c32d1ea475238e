"""Assessment and analysis over HTTP: figures that agree with the orders, who may read them, periods that are
refused, and export files that open (read back with openpyxl and pypdf)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from apikit import Api, assert_error
from chengyun.adapters.clock import ManualClock
from street import T0

HERE = {"lon": 121.4421, "lat": 31.2251}  # building B1, area A1 (A manager M1)
DAY = {"from": "2026-11-25", "to": "2026-11-25"}


def a_day_of_orders(api: Api, clock: ManualClock) -> tuple[int, int]:
    """Two orders at B1 (M1's): one handled in time and closed 满意, one never answered (late)."""
    good = api.create()
    api.ok(good["id"], "respond", "M1")
    clock.advance(minutes=4)
    api.ok(good["id"], "arrive", "M1", position=HERE)
    clock.advance(minutes=10)
    api.ok(good["id"], "handle", "M1", note="已重新铺设地砖")
    clock.advance(minutes=10)
    api.ok(good["id"], "close-loop", "responder", note="已回访", satisfaction="satisfied")
    api.ok(good["id"], "close", "responder")
    late = api.create(description="同一处地砖又翘起来了")
    clock.advance(hours=2)
    return good["id"], late["id"]


def test_the_assessment_counts_the_days_orders_per_staff_member(api: Api, clock: ManualClock) -> None:
    a_day_of_orders(api, clock)
    response = api.get("/assessment", "director", params=DAY | {"by": "staff"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["period"]["first_day"], body["period"]["last_day"]) == ("2026-11-25", "2026-11-25")
    assert body["previous_period"]["first_day"] == "2026-11-24"
    totals = body["totals"]
    assert (totals["orders"], totals["assessed"], totals["overdue"]) == (2, 2, 1)
    rates = {k: (v["numerator"], v["denominator"]) for k, v in totals["rates"].items()}
    assert rates["response"] == (1, 2)  # the second was never responded to, 2 hours on
    assert rates["solve"] == (1, 2) and rates["satisfaction"] == (1, 1)
    assert rates["repeat"] == (1, 2)  # the second complaint, same category at the same building
    (m1,) = body["groups"]
    assert (m1["key"], m1["name"], m1["rank"]) == ("M1", "李思远", 1)
    assert m1["figures"]["score"] == totals["score"]


def test_only_supervisors_of_the_street_read_the_assessment(api: Api) -> None:
    assert api.get("/assessment", "duty", params=DAY).status_code == 200
    assert_error(api.get("/assessment", "M1", params=DAY), 403, "forbidden")
    assert_error(api.get("/analysis/brief", "desk"), 403, "forbidden")
    assert_error(api.get("/assessment", "outsider", params=DAY | {"street": "T"}), 403, "forbidden")
    assert_error(api.get("/assessment", None, params=DAY), 401, "unauthorized")


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-11-25", "to": "2026-11-24"},  # ends before it starts
        {"from": "2025-01-01", "to": "2026-11-25"},  # longer than a year
        {"to": "0001-01-05"},  # the look-back would leave the calendar
    ],
)
def test_a_period_that_cannot_be_assessed_is_refused(api: Api, params: dict[str, str]) -> None:
    assert_error(api.get("/assessment", "director", params=params), 422, "invalid_period")


def test_the_workbook_opens_and_holds_the_ranking_and_totals(api: Api, clock: ManualClock) -> None:
    a_day_of_orders(api, clock)
    params = DAY | {"by": "staff", "format": "xlsx"}
    response = api.get("/assessment/export", "director", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response.headers["content-disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["排名", "汇总", "口径"]
    ranking = [row for row in book["排名"].iter_rows(values_only=True) if row[2] == "李思远"]
    api_score = api.get("/assessment", "director", params=DAY | {"by": "staff"}).json()["totals"]["score"]
    assert ranking and ranking[0][0] == 1 and ranking[0][3] == api_score
    totals = {row[0]: row for row in book["汇总"].iter_rows(values_only=True)}
    assert totals["受理量"][1] == 2 and totals["响应率"][1:4] == (0.5, 1, 2)


def test_the_pdf_report_opens_and_reads_in_chinese(api: Api, clock: ManualClock) -> None:
    a_day_of_orders(api, clock)
    response = api.get("/assessment/export", "director", params=DAY | {"by": "staff", "format": "pdf"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "测试街道 考核报告（按人员）" in text
    assert "李思远" in text and "响应率" in text and "2026-11-25 至 2026-11-25" in text
    html = api.get("/assessment/export", "director", params=DAY | {"format": "html"}).text
    assert html.count("data:image/svg+xml") == 4 and "嘉园居民区" in html


def test_hot_spots_count_orders_by_grid_hour_and_weekday(api: Api, clock: ManualClock) -> None:
    a_day_of_orders(api, clock)
    body = api.get("/analysis/hotspots", "director", params=DAY).json()
    assert body["total"] == 2
    assert body["matrix"][2][9] == 2  # Wednesday 09:00
    (grid,) = body["places"]
    assert (grid["place"], grid["count"], grid["peak_hour"]) == ("A1-G1", 2, 9)
    cells = api.get("/analysis/hotspots", "director", params=DAY | {"place": "h3"}).json()
    assert cells["places"][0]["landmark"] == "愚园路608弄6号"


def test_trends_compare_with_the_previous_period(api: Api, clock: ManualClock) -> None:
    a_day_of_orders(api, clock)
    body = api.get("/analysis/trends", "director", params=DAY | {"by": "area"}).json()
    assert body["days"] == ["2026-11-25"]
    (a1,) = body["items"]
    assert (a1["name"], a1["count"], a1["previous"], a1["daily"]) == ("嘉园居民区", 2, 0, [2])
    assert_error(api.get("/analysis/trends", "director", params={"by": "staff"}), 422, "invalid_request")


def test_the_daily_brief_names_the_late_order_and_its_handler(api: Api, clock: ManualClock) -> None:
    _, late = a_day_of_orders(api, clock)
    body = api.get("/analysis/brief", "director", params={"date": "2026-11-25"}).json()
    assert (body["received"], body["closed"], body["late_total"]) == (2, 1, 1)
    assert body["late"][0]["id"] == late and body["late"][0]["handler_name"] == "李思远"
    assert body["text"][0].startswith("2026年11月25日（周三）受理工单 2 件")
    assert any(f"#{late}" in line and "超期" in line for line in body["text"])
    future = (T0 + timedelta(days=3)).date().isoformat()
    assert_error(api.get("/analysis/brief", "director", params={"date": future}), 422, "invalid_period")

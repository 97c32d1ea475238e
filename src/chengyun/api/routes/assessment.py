"""/api/v1/assessment (考核) with its XLSX / HTML / PDF exports, and /api/v1/analysis (分析研判): hot spots,
recurring problems, trends and the daily brief. Supervisors only; every period is whole local days."""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from chengyun.api.deps import ActorDep, CenterDep, street_of
from chengyun.api.schemas import ERROR_RESPONSES, ERROR_RESPONSES_AS_JSON
from chengyun.api.schemas_assessment import (
    AssessmentOut,
    BriefOut,
    HotspotsOut,
    RecurrencesOut,
    TrendsOut,
)
from chengyun.bootstrap import Center
from chengyun.domain.assessment import Dimension, Period
from chengyun.domain.calendar import local_date
from chengyun.services.assessment import period_of, valid_day

router = APIRouter(prefix="/api/v1", tags=["考核与分析研判"], responses=ERROR_RESPONSES)

Street = Annotated[str | None, Query(max_length=40, description="街道编码（令牌只含一个街道时可省略）")]
From = Annotated[date | None, Query(alias="from", description="起始日期（含），默认截止日期前 29 天")]
To = Annotated[date | None, Query(alias="to", description="截止日期（含），默认今天（北京时间）")]
Category = Annotated[str | None, Query(max_length=20, description="只看某一类别（编码）")]


class Place(StrEnum):
    GRID = "grid"
    H3 = "h3"


class TrendBy(StrEnum):
    CATEGORY = "category"
    AREA = "area"
    DEPARTMENT = "department"


class ExportFormat(StrEnum):
    XLSX = "xlsx"
    PDF = "pdf"
    HTML = "html"


MEDIA = {
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportFormat.PDF: "application/pdf",
    ExportFormat.HTML: "text/html; charset=utf-8",
}


EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {m.split(";")[0]: {} for m in MEDIA.values()}, "description": "报告文件"},
    **ERROR_RESPONSES_AS_JSON,
}


def _period(center: Center, first: date | None, last: date | None) -> Period:
    last = last or local_date(center.clock.now())
    return period_of(first or valid_day(last) - timedelta(days=29), last)


@router.get("/assessment", response_model=AssessmentOut, summary="考核：各项指标、排名及较上期变化")
def assessment(
    center: CenterDep,
    actor: ActorDep,
    street: Street = None,
    first: From = None,
    last: To = None,
    by: Dimension = Dimension.AREA,
) -> AssessmentOut:
    """Figures of the orders received in the period (whole local days, both ends included) per staff
    member, area, department or category, ranked by score, with the previous period of the same length.
    The README's 考核 section defines each figure."""
    named = center.assessment.assessment(actor, street_of(actor, street), _period(center, first, last), by)
    return AssessmentOut.of(named)


@router.get(
    "/assessment/export",
    summary="导出考核报告（XLSX、HTML 或 PDF）",
    response_class=Response,
    responses=EXPORT_RESPONSES,
)
async def export_assessment(
    center: CenterDep,
    actor: ActorDep,
    street: Street = None,
    first: From = None,
    last: To = None,
    by: Dimension = Dimension.AREA,
    format: ExportFormat = ExportFormat.XLSX,
) -> Response:
    from chengyun.adapters import reports

    code = street_of(actor, street)
    period = _period(center, first, last)
    named = await run_in_threadpool(center.assessment.assessment, actor, code, period, by)
    render = {
        ExportFormat.XLSX: reports.assessment_xlsx,
        ExportFormat.PDF: reports.assessment_pdf,
        ExportFormat.HTML: lambda n: reports.assessment_html(n).encode(),
    }[format]
    body = await run_in_threadpool(render, named)
    days = f"{local_date(period.start):%Y%m%d}-{local_date(period.end - timedelta(seconds=1)):%Y%m%d}"
    filename = f"assessment-{code}-{by.value}-{days}.{format.value}"
    chinese = quote(f"考核报告-{named.street_name}-{by.label}-{days}.{format.value}")
    disposition = f"attachment; filename=\"{filename}\"; filename*=UTF-8''{chinese}"
    return Response(body, media_type=MEDIA[format], headers={"Content-Disposition": disposition})


@router.get("/analysis/hotspots", response_model=HotspotsOut, summary="热点：地点 × 小时 × 星期")
def hotspots(
    center: CenterDep,
    actor: ActorDep,
    street: Street = None,
    first: From = None,
    last: To = None,
    category: Category = None,
    place: Place = Place.GRID,
) -> HotspotsOut:
    named = center.assessment.hotspots(
        actor, street_of(actor, street), _period(center, first, last), category, place.value
    )
    return HotspotsOut.of(named, place.value, category)


@router.get("/analysis/recurrences", response_model=RecurrencesOut, summary="顽症：同一地点反复发生的问题")
def recurrences(
    center: CenterDep,
    actor: ActorDep,
    street: Street = None,
    first: From = None,
    last: To = None,
    category: Category = None,
) -> RecurrencesOut:
    """Clusters of one category around one place (about 200 m across) with at least 5 orders on 3 days or
    more, each with a suggested patrol window and place."""
    period = _period(center, first, last)
    return RecurrencesOut.of(center.assessment.recurrences(actor, street_of(actor, street), period, category))


@router.get("/analysis/trends", response_model=TrendsOut, summary="趋势：与上期对比")
def trends(
    center: CenterDep,
    actor: ActorDep,
    street: Street = None,
    first: From = None,
    last: To = None,
    by: TrendBy = TrendBy.CATEGORY,
) -> TrendsOut:
    period = _period(center, first, last)
    dimension = Dimension(by.value)
    named = center.assessment.trends(actor, street_of(actor, street), period, dimension)
    return TrendsOut.of(named, period, dimension)


@router.get("/analysis/brief", response_model=BriefOut, summary="每日研判")
def brief(
    center: CenterDep,
    actor: ActorDep,
    street: Street = None,
    day: Annotated[date | None, Query(alias="date", description="日期，默认今天（北京时间）")] = None,
) -> BriefOut:
    """The day's orders against the 7 days before, the top problems, the late orders, the areas that fell
    behind and the recurring problems seen that day, with the brief written out in Chinese (`text`)."""
    return BriefOut.of(center.assessment.brief(actor, street_of(actor, street), day))

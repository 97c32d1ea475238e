"""API shapes of assessment (考核) and analysis (分析研判); built from the domain results and their names."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from chengyun.domain.analysis import Brief, HotspotMap, Labels, Recurrence, Trend, local_days
from chengyun.domain.assessment import Assessment, Dimension, Figures, Period, Rate, Standing
from chengyun.domain.calendar import local
from chengyun.services.assessment import Named


class RateOut(BaseModel):
    numerator: int
    denominator: int
    value: float | None = Field(description="分子 ÷ 分母（0..1）；分母为 0 时为 null")

    @classmethod
    def of(cls, rate: Rate) -> RateOut:
        value = rate.value
        return cls(numerator=rate.numerator, denominator=rate.denominator, value=value)


class RatesOut(BaseModel):
    response: RateOut = Field(description="响应率：首轮响应按时的工单 ÷ 首轮响应已决的工单")
    solve: RateOut = Field(description="解决率：已闭环且最近回访非不满意 ÷ 参评工单")
    satisfaction: RateOut = Field(description="满意率：最近回访满意或基本满意 ÷ 有回访结果的工单")
    all_on_time: RateOut = Field(description="全环节按时率")
    on_time_respond: RateOut = Field(description="响应环节按时率（各轮）")
    on_time_arrive: RateOut = Field(description="到场环节按时率")
    on_time_handle: RateOut = Field(description="处置环节按时率")
    on_time_close: RateOut = Field(description="闭环环节按时率")
    returns: RateOut = Field(description="退单率：退单次数 ÷ 派遣次数")
    rework: RateOut = Field(description="返工率：闭环后重新办理 ÷ 曾闭环")
    reopen: RateOut = Field(description="重开率：结案后重新办理 ÷ 曾结案")
    repeat: RateOut = Field(description="重复投诉率：重复件 ÷ 受理量")


class FiguresOut(BaseModel):
    orders: int = Field(description="受理量")
    assessed: int = Field(description="参评量（受理量减去已并案的重复件）")
    overdue: int = Field(description="超期数：有任一环节超时的参评工单")
    score: float | None = Field(description="综合得分 0..100")
    rates: RatesOut

    @classmethod
    def of(cls, f: Figures) -> FiguresOut:
        rates = RatesOut(**{name: RateOut.of(rate) for name, rate in f.rates().items()})
        return cls(orders=f.orders, assessed=f.assessed, overdue=f.overdue, score=f.score, rates=rates)


class StandingOut(BaseModel):
    key: str = Field(description="人员编号、居民区编码、部门编码或类别编码；空串表示未派遣/未定位")
    name: str
    rank: int | None = Field(description="按综合得分的名次（1 最好）；无可评指标时为 null")
    previous_rank: int | None
    rank_change: int | None = Field(description="较上期上升的名次（负数为下降）")
    score_change: float | None
    figures: FiguresOut
    previous: FiguresOut | None

    @classmethod
    def of(cls, s: Standing, labels: Labels, by: Dimension) -> StandingOut:
        return cls(
            key=s.key,
            name=labels.of(by, s.key),
            rank=s.rank,
            previous_rank=s.previous_rank,
            rank_change=s.rank_change,
            score_change=s.score_change,
            figures=FiguresOut.of(s.figures),
            previous=FiguresOut.of(s.previous) if s.previous else None,
        )


class PeriodOut(BaseModel):
    start: datetime
    end: datetime = Field(description="不含")
    first_day: date
    last_day: date

    @classmethod
    def of(cls, period: Period) -> PeriodOut:
        days = local_days(period)
        return cls(start=period.start, end=period.end, first_day=days[0], last_day=days[-1])


class AssessmentOut(BaseModel):
    street: str
    street_name: str
    by: Dimension
    period: PeriodOut
    previous_period: PeriodOut
    made_at: datetime
    totals: FiguresOut
    previous_totals: FiguresOut
    groups: list[StandingOut] = Field(description="按名次排列")

    @classmethod
    def of(cls, named: Named[Assessment]) -> AssessmentOut:
        a = named.result
        return cls(
            street=named.street,
            street_name=named.street_name,
            by=a.by,
            period=PeriodOut.of(a.period),
            previous_period=PeriodOut.of(a.period.previous),
            made_at=named.made_at,
            totals=FiguresOut.of(a.totals),
            previous_totals=FiguresOut.of(a.previous_totals),
            groups=[StandingOut.of(s, named.labels, a.by) for s in a.standings],
        )


class CountOut(BaseModel):
    code: str
    name: str
    count: int


class HotspotOut(BaseModel):
    place: str = Field(description="网格编码或 H3 单元编号")
    name: str
    count: int
    lon: float | None
    lat: float | None
    landmark: str | None = Field(description="该处工单最常见的地址")
    peak_hour: int = Field(description="高发小时（0..23，北京时间）")
    peak_weekday: int = Field(description="高发星期（0 为周一）")
    hours: list[int] = Field(description="24 个小时的工单数")
    weekdays: list[int] = Field(description="周一至周日的工单数")
    categories: list[CountOut]


class HotspotsOut(BaseModel):
    street: str
    place: str = Field(description="grid（单元网格）或 h3（H3 六边形单元）")
    category: str | None
    total: int
    matrix: list[list[int]] = Field(description="7 × 24：星期（周一起）× 小时的工单数")
    places: list[HotspotOut]

    @classmethod
    def of(cls, named: Named[HotspotMap], place: str, category: str | None) -> HotspotsOut:
        labels, result = named.labels, named.result
        return cls(
            street=named.street,
            place=place,
            category=category,
            total=result.total,
            matrix=[list(row) for row in result.matrix],
            places=[
                HotspotOut(
                    place=h.place,
                    name=labels.grids.get(h.place, h.place) if place == "grid" else (h.landmark or h.place),
                    count=h.count,
                    lon=h.point.lon if h.point else None,
                    lat=h.point.lat if h.point else None,
                    landmark=h.landmark,
                    peak_hour=h.peak_hour,
                    peak_weekday=h.peak_weekday,
                    hours=list(h.hours),
                    weekdays=list(h.weekdays),
                    categories=[
                        CountOut(code=c, name=labels.category(c), count=n) for c, n in h.categories.items()
                    ],
                )
                for h in result.places
            ],
        )


class RecurrenceOut(BaseModel):
    category: str
    category_name: str
    place: str = Field(description="聚集中心的 H3 单元")
    landmark: str | None
    lon: float
    lat: float
    count: int
    days: int = Field(description="有工单的天数")
    orders: list[int]
    window: str | None = Field(description="建议巡查时段（北京时间），如 11:00–13:30；时段分散时为 null")
    window_share: float = Field(description="时段内工单占比")
    days_of_week: str = Field(description="workdays、weekends 或 daily")
    first_at: datetime
    last_at: datetime
    suggestion: str

    @classmethod
    def of(cls, r: Recurrence, labels: Labels) -> RecurrenceOut:
        name = labels.category(r.category)
        return cls(
            category=r.category,
            category_name=name,
            place=r.place,
            landmark=r.landmark,
            lon=r.point.lon,
            lat=r.point.lat,
            count=r.count,
            days=r.days,
            orders=list(r.orders),
            window=r.window_text if r.window else None,
            window_share=round(r.window_share, 3),
            days_of_week=r.days_of_week,
            first_at=local(r.first_at),
            last_at=local(r.last_at),
            suggestion=r.suggestion(name),
        )


class RecurrencesOut(BaseModel):
    street: str
    items: list[RecurrenceOut]

    @classmethod
    def of(cls, named: Named[list[Recurrence]]) -> RecurrencesOut:
        return cls(street=named.street, items=[RecurrenceOut.of(r, named.labels) for r in named.result])


class TrendOut(BaseModel):
    key: str
    name: str
    count: int
    previous: int
    change: float | None = Field(description="较上期的相对变化；上期为 0 时为 null")
    direction: str = Field(description="up、down 或 flat（变化 30% 且至少 5 件才算升降）")
    daily: list[int]


class TrendsOut(BaseModel):
    street: str
    by: Dimension
    days: list[date]
    items: list[TrendOut]

    @classmethod
    def of(cls, named: Named[list[Trend]], period: Period, by: Dimension) -> TrendsOut:
        labels = named.labels
        return cls(
            street=named.street,
            by=by,
            days=local_days(period),
            items=[
                TrendOut(
                    key=t.key,
                    name=labels.of(by, t.key),
                    count=t.count,
                    previous=t.previous,
                    change=None if t.change is None else round(t.change, 3),
                    direction=t.direction,
                    daily=list(t.daily),
                )
                for t in named.result
            ],
        )


class LateOrderOut(BaseModel):
    id: int
    category: str
    category_name: str
    area: str | None
    area_name: str
    handler: str | None
    handler_name: str
    stage: str
    due_at: datetime
    minutes_late: int


class TopProblemOut(BaseModel):
    category: str
    name: str
    count: int
    average: float = Field(description="前 7 日日均")


class BehindOut(BaseModel):
    area: str
    name: str
    on_time: float | None
    usual: float | None
    overdue: int


class BriefOut(BaseModel):
    street: str
    street_name: str
    date: date
    received: int
    average: float
    closed: int
    top: list[TopProblemOut]
    late: list[LateOrderOut]
    late_total: int
    behind: list[BehindOut]
    recurring: list[RecurrenceOut]
    text: list[str] = Field(description="中文研判，一段一条")

    @classmethod
    def of(cls, named: Named[Brief]) -> BriefOut:
        b, labels = named.result, named.labels
        return cls(
            street=named.street,
            street_name=named.street_name,
            date=b.day,
            received=b.received,
            average=round(b.average, 2),
            closed=b.closed,
            top=[
                TopProblemOut(
                    category=t.category,
                    name=labels.category(t.category),
                    count=t.count,
                    average=round(t.average, 2),
                )
                for t in b.top
            ],
            late=[
                LateOrderOut(
                    id=o.id,
                    category=o.category,
                    category_name=labels.category(o.category),
                    area=o.area,
                    area_name=labels.area(o.area),
                    handler=o.handler,
                    handler_name=labels.person(o.handler),
                    stage=o.stage.value,
                    due_at=o.due_at,
                    minutes_late=o.minutes_late,
                )
                for o in b.late
            ],
            late_total=b.late_total,
            behind=[
                BehindOut(
                    area=x.area, name=labels.area(x.area), on_time=x.on_time, usual=x.usual, overdue=x.overdue
                )
                for x in b.behind
            ],
            recurring=[RecurrenceOut.of(r, labels) for r in b.recurring],
            text=b.text,
        )

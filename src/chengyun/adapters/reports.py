"""The assessment as files people open: an XLSX workbook (openpyxl) and a printable Chinese report in HTML
and PDF (WeasyPrint) with charts drawn by matplotlib as SVG.

Charts and the PDF need a CJK font installed (Debian: fonts-noto-cjk); without one, Chinese would print as
empty boxes, so making a chart refuses with a clear error instead."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from chengyun.domain.assessment import (
    FIGURE_LABELS,
    LOWER_IS_BETTER,
    Assessment,
    Figures,
    Period,
    Standing,
)
from chengyun.domain.calendar import local
from chengyun.services.assessment import Named

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

CJK_FONTS = [
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
]
CHART_GROUPS = 15  # a chart shows the first groups by rank
COLOURS = {"bar": "#3a7bd5", "previous": "#c0c8d2", "good": "#2e9d5b", "bad": "#d9534f"}


class FontMissing(RuntimeError):
    pass


# --- shared -------------------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _period_text(named: Named[Assessment]) -> tuple[str, str]:
    period = named.result.period
    return _span(period), _span(period.previous)


def _span(period: Period) -> str:
    last = local(period.end - timedelta(microseconds=1))
    return f"{local(period.start):%Y-%m-%d} 至 {last:%Y-%m-%d}"


def _name(named: Named[Assessment], standing: Standing) -> str:
    return named.labels.of(named.result.by, standing.key)


def _figure_row(f: Figures) -> list[float | int | None]:
    rates = f.rates()
    return [f.score, f.orders, f.assessed, *(rates[k].value for k in FIGURE_LABELS), f.overdue]


HEADERS = ["综合得分", "受理量", "参评量", *FIGURE_LABELS.values(), "超期数"]


# --- XLSX ---------------------------------------------------------------------------------------------


def assessment_xlsx(named: Named[Assessment]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Alignment, Font, PatternFill

    result = named.result
    current, previous = _period_text(named)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "排名"
    title = f"{named.street_name} 考核（按{result.by.label}）"
    sheet.append([title])
    sheet.append(
        [f"统计区间 {current}（按受理时间）；上期 {previous}；生成于 {local(named.made_at):%Y-%m-%d %H:%M}"]
    )
    sheet["A1"].font = Font(size=14, bold=True)
    header = ["排名", "名次变化", result.by.label, *HEADERS, "上期得分", "上期排名"]
    sheet.append(header)
    head_row = sheet.max_row
    for cell in sheet[head_row]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="3A7BD5")
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
    for s in result.standings:
        sheet.append(
            [
                s.rank,
                s.rank_change,
                _name(named, s),
                *_figure_row(s.figures),
                s.previous.score if s.previous else None,
                s.previous_rank,
            ]
        )
    first, last = head_row + 1, sheet.max_row
    rate_columns = range(7, 7 + len(FIGURE_LABELS))
    for row in sheet.iter_rows(min_row=first, max_row=last):
        for cell in row:
            if cell.column in rate_columns:
                cell.number_format = "0.0%"
    sheet.column_dimensions["C"].width = 16
    sheet.freeze_panes = sheet.cell(row=first, column=4)
    ranked = [s for s in result.standings if s.rank is not None]
    if ranked:
        chart = BarChart()
        chart.type = "bar"
        chart.title = "综合得分"
        chart.y_axis.title = "分"
        end = first + min(len(ranked), CHART_GROUPS) - 1
        chart.add_data(Reference(sheet, min_col=4, min_row=head_row, max_row=end), titles_from_data=True)
        chart.set_categories(Reference(sheet, min_col=3, min_row=first, max_row=end))
        chart.height, chart.width = 10, 18
        sheet.add_chart(chart, f"A{last + 3}")

    totals = book.create_sheet("汇总")
    totals.append([f"{named.street_name} 全街道汇总"])
    totals.append(["指标", "本期", "分子", "分母", "上期", "变化"])
    for cell in totals[2]:
        cell.font = Font(bold=True)
    now, before = result.totals, result.previous_totals
    totals.append(["综合得分", now.score, None, None, before.score, _delta(now.score, before.score)])
    totals.append(["受理量", now.orders, None, None, before.orders, now.orders - before.orders])
    totals.append(["参评量", now.assessed, None, None, before.assessed, now.assessed - before.assessed])
    for key, label in FIGURE_LABELS.items():
        rate, old = now.rates()[key], before.rates()[key]
        totals.append(
            [label, rate.value, rate.numerator, rate.denominator, old.value, _delta(rate.value, old.value)]
        )
        for cell in (
            totals.cell(totals.max_row, 2),
            totals.cell(totals.max_row, 5),
            totals.cell(totals.max_row, 6),
        ):
            cell.number_format = "0.0%"
    totals.append(["超期数", now.overdue, None, None, before.overdue, now.overdue - before.overdue])
    totals.column_dimensions["A"].width = 16

    notes = book.create_sheet("口径")
    for line in DEFINITIONS:
        notes.append([line])
    notes.column_dimensions["A"].width = 120
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _delta(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else round(now - before, 4)


DEFINITIONS = [
    "统计口径（详见 README「考核」）：",
    "本期工单：受理时间在统计区间内的工单；已并案的重复件计入受理量和重复投诉，不参评其他指标。",
    "环节按时率：按 51530 时限完成的环节数 ÷ 已到期或已完成的环节数"
    "（含重新办理的各轮；批准延期后按新时限）。",
    "全环节按时率：四个环节均按时完成的工单 ÷（该类工单 + 有任一环节超时的工单）。",
    "响应率：首轮响应（先联）按时的工单 ÷ 首轮响应已完成或已到期的工单。",
    "解决率：已闭环或已结案且最近一次回访不是“不满意”的工单 ÷ 参评工单。",
    "满意率：最近一次回访为“满意”或“基本满意”的工单 ÷ 有回访结果的工单。",
    "退单率：退单次数 ÷ 派遣次数。返工率：闭环后重新办理的工单 ÷ 曾闭环的工单。",
    "重开率：结案后重新办理的工单 ÷ 曾结案的工单。超期数：有任一环节超时的参评工单数。",
    "重复投诉率：重复件（并案，或 30 天内同类别在同一楼栋、同一地址，"
    "未定位到楼栋的 50 米内再次受理）÷ 受理量。",
    "综合得分：100 ×（全环节按时率 20% + 响应率 10% + 解决率 35% + 满意率 35%），缺项按其余权重折算。",
    "按人员统计：工单计入承办人；环节计入到期或完成时的持单人；派遣计入被派遣人，退单计入退单人。",
]


# --- charts -------------------------------------------------------------------------------------------


def _figure(width: float, height: float) -> tuple[Figure, Axes]:
    import matplotlib
    from matplotlib import font_manager
    from matplotlib.figure import Figure

    fonts = {f.name for f in font_manager.fontManager.ttflist}
    family = [f for f in CJK_FONTS if f in fonts]
    if not family:
        raise FontMissing(
            "未找到中文字体，无法绘制图表：请安装 fonts-noto-cjk（Debian: apt-get install fonts-noto-cjk）"
        )
    matplotlib.rcParams["svg.fonttype"] = "path"  # glyphs as outlines: the SVG needs no font to show
    matplotlib.rcParams["font.family"] = family
    matplotlib.rcParams["axes.unicode_minus"] = False
    figure = Figure(figsize=(width, height), dpi=100)
    axes = figure.subplots()
    axes.spines[["top", "right"]].set_visible(False)
    return figure, axes


def _svg(figure: Figure) -> str:
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def score_chart(named: Named[Assessment]) -> str:
    """Horizontal bars of the scores, best on top, with last period's score as a thin marker."""
    ranked = [s for s in named.result.standings if s.rank is not None][:CHART_GROUPS]
    figure, axes = _figure(7.2, 0.42 * max(len(ranked), 3) + 1.0)
    names = [f"{s.rank}. {_name(named, s)}" for s in ranked][::-1]
    scores = [s.figures.score or 0.0 for s in ranked][::-1]
    bars = axes.barh(names, scores, color=COLOURS["bar"], height=0.6, label="本期")
    previous = [(i, s.previous.score) for i, s in enumerate(ranked[::-1]) if s.previous and s.previous.score]
    if previous:
        axes.scatter(
            [p for _, p in previous], [i for i, _ in previous], marker="|", s=300, color="#333", label="上期"
        )
    for bar, s in zip(bars, ranked[::-1], strict=True):
        change = s.rank_change
        mark = "" if not change else (f" ↑{change}" if change > 0 else f" ↓{-change}")
        axes.text(
            bar.get_width() + 1,
            bar.get_y() + bar.get_height() / 2,
            f"{s.figures.score:.1f}{mark}",
            va="center",
            fontsize=9,
        )
    axes.set_xlim(0, 110)
    axes.set_xlabel("综合得分（↑↓ 为名次较上期变化）")
    axes.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=2, fontsize=8, frameon=False)
    return _svg(figure)


def rates_chart(named: Named[Assessment], keys: Sequence[str], title: str) -> str:
    """Grouped bars of some rates per group (the first groups by rank)."""
    shown = [s for s in named.result.standings if s.figures.assessed][:CHART_GROUPS]
    figure, axes = _figure(7.2, 3.4)
    width = 0.8 / max(len(keys), 1)
    palette = ["#3a7bd5", "#2e9d5b", "#f0ad4e", "#9b59b6", "#d9534f"]
    for i, key in enumerate(keys):
        values = [(s.figures.rates()[key].value or 0.0) * 100 for s in shown]
        axes.bar(
            [x + i * width for x in range(len(shown))],
            values,
            width,
            label=FIGURE_LABELS[key],
            color=palette[i % 5],
        )
    axes.set_xticks([x + width * (len(keys) - 1) / 2 for x in range(len(shown))])
    axes.set_xticklabels([_name(named, s) for s in shown], rotation=30, ha="right", fontsize=8)
    axes.set_ylim(0, 105)
    axes.set_ylabel("%")
    axes.set_title(title, fontsize=11)
    axes.legend(fontsize=8, frameon=False, ncols=len(keys), loc="upper center", bbox_to_anchor=(0.5, -0.35))
    return _svg(figure)


def totals_chart(named: Named[Assessment]) -> str:
    """The street's rates this period against the previous one."""
    now, before = named.result.totals.rates(), named.result.previous_totals.rates()
    keys = list(FIGURE_LABELS)
    figure, axes = _figure(7.2, 3.2)
    xs = range(len(keys))
    axes.bar(
        [x - 0.2 for x in xs],
        [(before[k].value or 0) * 100 for k in keys],
        0.4,
        color=COLOURS["previous"],
        label="上期",
    )
    axes.bar(
        [x + 0.2 for x in xs],
        [(now[k].value or 0) * 100 for k in keys],
        0.4,
        color=COLOURS["bar"],
        label="本期",
    )
    axes.set_xticks(list(xs))
    axes.set_xticklabels([FIGURE_LABELS[k] for k in keys], rotation=35, ha="right", fontsize=8)
    axes.set_ylim(0, 105)
    axes.set_ylabel("%")
    axes.legend(fontsize=8, frameon=False)
    return _svg(figure)


# --- HTML and PDF -------------------------------------------------------------------------------------

_CSS = """
@page { size: A4; margin: 16mm 14mm;
        @bottom-center { content: counter(page) " / " counter(pages); font-size: 9pt; } }
body { font-family: "Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Micro Hei", sans-serif;
       color: #222; font-size: 10.5pt; line-height: 1.5; max-width: 190mm; margin: 0 auto; }
h1 { font-size: 18pt; margin: 0 0 2mm; }
h2 { font-size: 13pt; border-bottom: 2px solid #3a7bd5; padding-bottom: 1mm; margin-top: 7mm; }
.meta { color: #666; font-size: 9pt; }
.cards { display: flex; flex-wrap: wrap; gap: 3mm; }
.card { border: 1px solid #d6dde6; border-radius: 2mm; padding: 2mm 3mm; min-width: 30mm; }
.card b { display: block; font-size: 14pt; } .card small { color: #666; }
.up { color: #2e9d5b; } .down { color: #d9534f; }
figure img { width: 100%; height: auto; } figure { margin: 2mm 0; page-break-inside: avoid; }
table { border-collapse: collapse; width: 100%; font-size: 8pt; }
th, td { border: 1px solid #d6dde6; padding: 1mm 1.5mm; text-align: right; } th { background: #eef3fa; }
td:nth-child(3), th:nth-child(3) { text-align: left; } th { font-weight: normal; }
.notes { font-size: 8.5pt; color: #444; }
@page wide { size: A4 landscape; margin: 12mm 10mm; }
.appendix { page: wide; page-break-before: always; max-width: none; }
.appendix table { font-size: 7pt; } .appendix td:nth-child(3) { white-space: nowrap; }
"""


def assessment_html(named: Named[Assessment]) -> str:
    result = named.result
    current, previous = _period_text(named)
    e = html.escape
    now, before = result.totals, result.previous_totals
    score = f"{now.score:.1f}" if now.score is not None else "—"
    cards = [("综合得分", score, _delta(now.score, before.score), False, False)]
    cards.append(("受理量", str(now.orders), float(now.orders - before.orders), False, False))
    for key in ("response", "solve", "satisfaction", "all_on_time", "returns", "repeat"):
        rate, old = now.rates()[key], before.rates()[key]
        delta = _delta(rate.value, old.value)
        cards.append((FIGURE_LABELS[key], _pct(rate.value), delta, key in LOWER_IS_BETTER, True))
    cards.append(("超期数", str(now.overdue), float(now.overdue - before.overdue), True, False))
    card_html = "".join(
        f'<div class="card"><small>{e(label)}</small><b>{e(value)}</b>{_change(delta, lower, pct)}</div>'
        for label, value, delta, lower, pct in cards
    )
    rows = "".join(
        "<tr>"
        + f"<td>{s.rank or '—'}</td><td>{_rank_change(s.rank_change)}</td><td>{e(_name(named, s))}</td>"
        + "".join(f"<td>{_cell(i, v)}</td>" for i, v in enumerate(_figure_row(s.figures)))
        + "</tr>"
        for s in result.standings
    )
    head = "".join(f"<th>{e(h)}</th>" for h in ["排名", "变化", result.by.label, *HEADERS])
    notes = "".join(f"<p>{e(line)}</p>" for line in DEFINITIONS)
    charts = [
        ("综合得分与排名", score_chart(named)),
        ("三率", rates_chart(named, ["response", "solve", "satisfaction"], f"各{result.by.label}三率")),
        (
            "51530 各环节按时率",
            rates_chart(
                named,
                ["on_time_respond", "on_time_arrive", "on_time_handle", "on_time_close"],
                f"各{result.by.label}环节按时率",
            ),
        ),
        ("全街道指标与上期对比", totals_chart(named)),
    ]
    figures = "".join(f"<h2>{e(title)}</h2><figure>{_img(svg, title)}</figure>" for title, svg in charts)
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{e(named.street_name)} 考核报告</title>
<style>{_CSS}</style></head><body>
<h1>{e(named.street_name)} 考核报告（按{e(result.by.label)}）</h1>
<p class="meta">统计区间 {e(current)}（按受理时间） · 对比上期 {e(previous)} ·
生成于 {local(named.made_at):%Y-%m-%d %H:%M}</p>
<h2>全街道概况</h2><div class="cards">{card_html}</div>
{figures}
<div class="appendix"><h2>明细</h2><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>
<h2>统计口径</h2><div class="notes">{notes}</div></div>
</body></html>"""


def _img(svg: str, title: str) -> str:
    """A chart as an image of its own: each SVG keeps its ids to itself (matplotlib numbers them alike)."""
    data = base64.b64encode(svg.encode()).decode()
    return f'<img alt="{html.escape(title)}" src="data:image/svg+xml;base64,{data}">'


def _change(delta: float | None, lower_is_better: bool, pct: bool) -> str:
    if delta is None or delta == 0:
        return "<small>与上期持平</small>" if delta == 0 else "<small>上期无数据</small>"
    good = (delta < 0) if lower_is_better else (delta > 0)
    text = f"{delta * 100:+.1f} 个百分点" if pct and abs(delta) <= 1 else f"{delta:+g}"
    return f'<small class="{"up" if good else "down"}">较上期 {text}</small>'


def _rank_change(change: int | None) -> str:
    if not change:
        return "—" if change is None else "持平"
    return f'<span class="up">↑{change}</span>' if change > 0 else f'<span class="down">↓{-change}</span>'


def _cell(index: int, value: float | int | None) -> str:
    if value is None:
        return "—"
    if 3 <= index < 3 + len(FIGURE_LABELS):
        return _pct(float(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def assessment_pdf(named: Named[Assessment]) -> bytes:
    from weasyprint import HTML

    pdf: bytes = HTML(string=assessment_html(named)).write_pdf()
    return pdf

"""The chart of a simulated day (PNG): orders per hour as bars, each 51530 stage's on-time share as lines.

matplotlib, drawn off screen (Agg); Chinese labels need a CJK font (Debian: fonts-noto-cjk), otherwise
matplotlib falls back to its own font and warns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

CJK_FONTS = ["Noto Sans CJK SC", "Noto Serif CJK SC", "WenQuanYi Micro Hei", "DejaVu Sans"]
STAGE_LINES = (("respond", "响应", "#1f77b4"), ("arrive", "到场", "#d62728"), ("handle", "处置", "#2ca02c"),
               ("close", "闭环", "#9467bd"), ("all", "四环节全部", "#000000"))  # fmt: skip


def write_chart(report: Mapping[str, Any], path: Path) -> Path:
    """Draw the report's day into `path` (PNG)."""
    plt.rcParams["font.sans-serif"] = CJK_FONTS
    plt.rcParams["font.family"] = "sans-serif"
    plt.rcParams["axes.unicode_minus"] = False
    hours = [h["hour"] for h in report["per_hour"]]
    fig, bars = plt.subplots(figsize=(11, 5.5), dpi=110)
    bars.bar(hours, [h["orders"] for h in report["per_hour"]], color="#c7d7ea", label="受理工单数")
    bars.set_xlabel("受理时段（时）")
    bars.set_ylabel("工单数（件）")
    bars.set_xticks(hours)
    shares = bars.twinx()
    for key, label, colour in STAGE_LINES:
        ys = [_pct(h["on_time"].get(key)) for h in report["per_hour"]]
        shares.plot(hours, ys, marker="o", markersize=3, color=colour, label=f"{label}按时率", linewidth=1.6)
    baseline = report.get("baseline")
    if baseline:
        ys = [_pct(h["on_time"].get("all")) for h in baseline["per_hour"]]
        shares.plot(hours, ys, linestyle="--", color="#7f7f7f", label="对照（固定派给 A 角）四环节全部按时率")
    shares.set_ylim(0, 105)
    shares.set_ylabel("按时率（%）")
    on_time = report["on_time"]
    title = (
        f"模拟一天：{report['orders']['total']} 件工单（负荷 ×{report['load']:g}，种子 {report['seed']}），"
        f"四环节全部按时 {_pct(on_time['all']):.1f}%"
    )
    if baseline:
        title += f"，对照 {_pct(baseline['on_time']['all']):.1f}%"
    bars.set_title(title)
    handles = bars.get_legend_handles_labels()
    lines = shares.get_legend_handles_labels()
    shares.legend(
        handles[0] + lines[0],
        handles[1] + lines[1],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12),
        fontsize=8,
        ncol=4,
        frameon=False,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def _pct(share: float | None) -> float:
    """A share as a percentage; an hour with nothing decided is a gap in the line (NaN)."""
    return math.nan if share is None else 100.0 * share

"""Small inline SVG charts for the console (no script, nothing loaded from anywhere).

Every label is escaped here; the result is Markup so the templates insert it as is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape

OPENED_COLOUR = "#c0392b"
RESOLVED_COLOUR = "#1e7e34"
FAILED_COLOUR = "#c0392b"
OK_COLOUR = "#2c5aa0"


def weekly_bars(weeks: Sequence[dict[str, Any]], *, width: int = 640, height: int = 200) -> Markup:
    """Paired columns per week: findings opened (red) and resolved (green)."""
    top = max([1] + [max(w["opened"], w["resolved"]) for w in weeks])
    left, bottom, plot_h = 36, 24, height - 40
    slot = (width - left - 8) / max(1, len(weeks))
    bar = max(2.0, slot * 0.36)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="每周新发现与已解决问题数" '
        f'preserveAspectRatio="xMinYMin meet">',
        f'<text x="4" y="12" class="axis">{top}</text><text x="4" y="{height - bottom}" class="axis">0</text>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 4}" y2="{height - bottom}" class="base"/>',
    ]
    for i, week in enumerate(weeks):
        x = left + i * slot + slot * 0.1
        for j, (key, colour) in enumerate((("opened", OPENED_COLOUR), ("resolved", RESOLVED_COLOUR))):
            value = int(week[key])
            h = plot_h * value / top
            y = height - bottom - h
            label = "新发现" if key == "opened" else "已解决"
            parts.append(
                f'<rect x="{x + j * bar:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{escape(week['label'])} 起一周{label} {value}</title></rect>"
            )
        if i % 2 == 0 or len(weeks) <= 6:
            parts.append(f'<text x="{x:.1f}" y="{height - 6}" class="axis">{escape(week["label"])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def rate_bars(rates: Sequence[Any], *, width: int = 640) -> Markup:
    """One horizontal bar per category: the pass rate, with its printed form."""
    row_h = 28
    height = row_h * len(rates) + 8
    label_w = 150
    plot_w = width - label_w - 80
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="各类合格率" '
             f'preserveAspectRatio="xMinYMin meet">']
    for i, rate in enumerate(rates):
        y = 4 + i * row_h
        value = float(rate.value) if rate.value is not None else 0.0
        colour = RESOLVED_COLOUR if value >= 0.9 else ("#e67e22" if value >= 0.6 else OPENED_COLOUR)
        parts.append(f'<text x="0" y="{y + 17}" class="label">{escape(rate.label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{plot_w}" height="16" fill="#eceff4"/>')
        if rate.value is not None:
            parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{plot_w * value:.1f}" height="16" fill="{colour}"/>')
        parts.append(f'<text x="{label_w + plot_w + 6}" y="{y + 17}" class="label">{escape(rate.text)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def probe_history(probes: Sequence[Any], start: dt.datetime, end: dt.datetime, tz: Any, *,
                  width: int = 640, height: int = 180) -> Markup:
    """Each probe of the window as a point: its response time, red when it failed."""
    left, bottom, top_pad = 44, 22, 10
    plot_w, plot_h = width - left - 8, height - bottom - top_pad
    span = max(1.0, (end - start).total_seconds())
    slowest = max([1000] + [p.elapsed_ms or 0 for p in probes])
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="近7天首页可用性探测" '
        f'preserveAspectRatio="xMinYMin meet">',
        f'<text x="0" y="{top_pad + 8}" class="axis">{slowest / 1000:.1f}秒</text>',
        f'<text x="0" y="{height - bottom}" class="axis">0</text>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 4}" y2="{height - bottom}" class="base"/>',
    ]
    for day in range(7):
        tick = start + dt.timedelta(days=day)
        x = left + plot_w * (tick - start).total_seconds() / span
        parts.append(f'<text x="{x:.1f}" y="{height - 6}" class="axis">{tick.astimezone(tz):%m-%d}</text>')
    for probe in probes:
        x = left + plot_w * (probe.probed_at - start).total_seconds() / span
        if probe.ok:
            y = height - bottom - plot_h * (probe.elapsed_ms or 0) / slowest
            colour, what = OK_COLOUR, f"正常 {probe.elapsed_ms} 毫秒"
        else:
            y = top_pad + 2
            colour, what = FAILED_COLOUR, f"失败：{probe.detail or probe.error_kind or ''}"
        when = probe.probed_at.astimezone(tz).strftime("%m-%d %H:%M")
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"><title>{escape(when)} '
                     f'{escape(what)}</title></circle>')
    parts.append("</svg>")
    return Markup("".join(parts))

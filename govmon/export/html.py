"""The rollup as one self-contained HTML page: pass rates, charts, annexes, findings.

Everything is inline (CSS, a few lines of JavaScript, SVG charts); the page loads
nothing from anywhere, and its Content-Security-Policy forbids it to: only the page's
own script (by hash) may run. Every string that came from a crawled page or from the
registry is HTML-escaped, so a title ``<script>…`` is shown as text.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path
from typing import Any

from govmon.export.common import (
    FINDING_HEADER,
    RATE_HEADER,
    RECTIFICATION_HEADER,
    category_label,
    check_title,
    feedback_rows,
    finding_row,
    period_title,
    rate_rows,
    rectification_rows,
)
from govmon.rollup import CountedFinding, Rollup, TargetVerdict

MAX_DETAIL_ROWS = 5000  # the page stays usable; xlsx and csv carry every finding
SEVERITY_COLOURS = {"veto": "#c0392b", "deduct": "#e67e22", "notice": "#7f8c8d"}
SEVERITY_NAMES = {"veto": "单项否决", "deduct": "扣分", "notice": "提示"}

_CSS = """
body{font-family:"Microsoft YaHei","PingFang SC","Noto Sans CJK SC",sans-serif;margin:24px auto;max-width:1200px;
color:#222;padding:0 16px;line-height:1.5}
h1{font-size:22px;text-align:center}h2{font-size:18px;border-left:4px solid #2c5aa0;padding-left:8px;margin-top:32px}
.meta{text-align:center;color:#555}
table{border-collapse:collapse;width:100%;margin:8px 0;font-size:13px}
th,td{border:1px solid #bbb;padding:4px 6px;vertical-align:top;text-align:left;word-break:break-all}
th{background:#d9e1f2;position:sticky;top:0}
td.n{text-align:right;white-space:nowrap}
.fail{color:#c0392b;font-weight:bold}.pass{color:#1e7e34}
.charts{display:flex;flex-wrap:wrap;gap:24px}.chart{flex:1 1 480px}
.legend span{display:inline-block;margin-right:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
input[type=search]{width:320px;padding:4px;margin:4px 0}
.note{color:#666;font-size:12px}
@media print{input,.noprint{display:none}th{position:static}}
"""

_SCRIPT = """
document.addEventListener('DOMContentLoaded', function () {
  document.body.setAttribute('data-ready', '1');
  var box = document.getElementById('filter');
  var rows = document.querySelectorAll('#detail tbody tr');
  if (!box) { return; }
  box.addEventListener('input', function () {
    var q = box.value.trim().toLowerCase();
    rows.forEach(function (row) {
      row.style.display = (!q || row.textContent.toLowerCase().indexOf(q) >= 0) ? '' : 'none';
    });
  });
});
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]], *, table_id: str | None = None) -> str:
    out = [f'<table{f" id={_e(table_id)!r}" if table_id else ""}><thead><tr>']
    out.append("".join(f"<th>{_e(h)}</th>" for h in header))
    out.append("</tr></thead><tbody>")
    for row in rows:
        cells = []
        for value in row:
            cls = ' class="n"' if isinstance(value, (int, float)) else ""
            cells.append(f"<td{cls}>{_e(value)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _bar_chart_by_check(findings: Sequence[CountedFinding]) -> str:
    """Horizontal stacked bars: findings per check, by severity."""
    counts: dict[str, Counter[str]] = {}
    for finding in findings:
        counts.setdefault(finding.check_id, Counter())[finding.severity] += 1
    if not counts:
        return '<p class="note">本期没有发现问题。</p>'
    items = sorted(counts.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    largest = max(sum(c.values()) for _, c in items)
    row_h, label_w, bar_w = 24, 200, 360
    height = row_h * len(items) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="按检查项统计" '
             f'width="{label_w + bar_w + 60}" height="{height}" font-size="12">']
    for index, (check_id, counter) in enumerate(items):
        y = 5 + index * row_h
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{_e(check_title(check_id))}'
                     f'<title>{_e(check_id)}</title></text>')
        x = float(label_w)
        for severity in ("veto", "deduct", "notice"):
            n = counter.get(severity, 0)
            if not n:
                continue
            w = bar_w * n / largest
            parts.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{max(w, 1):.1f}" height="{row_h - 8}" '
                         f'fill="{SEVERITY_COLOURS[severity]}"><title>{_e(SEVERITY_NAMES[severity])} {n}</title></rect>')
            x += w
        parts.append(f'<text x="{x + 4:.1f}" y="{y + 15}">{sum(counter.values())}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _weeks(rollup: Rollup, tz: Any) -> list[tuple[dt.datetime, dt.datetime]]:
    start, end = rollup.period.start, rollup.period.end
    weeks = []
    while start < end:
        stop = min(start + dt.timedelta(days=7), end)
        weeks.append((start, stop))
        start = stop
    return weeks


def _column_chart_by_week(rollup: Rollup, findings: Sequence[CountedFinding], tz: Any) -> str:
    """Columns: findings open at some time in each week of the period, by severity."""
    weeks = _weeks(rollup, tz)
    if not weeks:
        return ""
    series: list[Counter[str]] = []
    for begin, stop in weeks:
        counter: Counter[str] = Counter()
        for finding in findings:
            if finding.first_seen < stop and (finding.resolved_at is None or finding.resolved_at >= begin):
                counter[finding.severity] += 1
        series.append(counter)
    largest = max([sum(c.values()) for c in series] + [1])
    col_w, chart_h, left, bottom, top = 36, 200, 40, 46, 20
    width = left + col_w * len(weeks) + 10
    height = top + chart_h + bottom + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="按周统计" '
             f'width="{width}" height="{height}" font-size="11"><g transform="translate(0 {top})">']
    parts.append(f'<line x1="{left}" y1="{chart_h + 5}" x2="{width - 5}" y2="{chart_h + 5}" stroke="#888"/>')
    parts.append(f'<text x="{left - 4}" y="15" text-anchor="end">{largest}</text>')
    parts.append(f'<text x="{left - 4}" y="{chart_h + 5}" text-anchor="end">0</text>')
    for index, ((begin, _), counter) in enumerate(zip(weeks, series)):
        x = left + index * col_w + 4
        y = float(chart_h + 5)
        for severity in ("veto", "deduct", "notice"):
            n = counter.get(severity, 0)
            if not n:
                continue
            h = chart_h * n / largest
            y -= h
            parts.append(f'<rect x="{x}" y="{y:.1f}" width="{col_w - 8}" height="{h:.1f}" '
                         f'fill="{SEVERITY_COLOURS[severity]}"><title>{_e(SEVERITY_NAMES[severity])} {n}</title></rect>')
        total = sum(counter.values())
        if total:
            parts.append(f'<text x="{x + (col_w - 8) / 2}" y="{y - 3:.1f}" text-anchor="middle">{total}</text>')
        label = begin.astimezone(tz).strftime("%m-%d")
        parts.append(f'<text x="{x + (col_w - 8) / 2}" y="{chart_h + 20}" text-anchor="middle" '
                     f'transform="rotate(45 {x + (col_w - 8) / 2} {chart_h + 20})">{_e(label)}</text>')
    parts.append("</g></svg>")
    return "".join(parts)


def _annex(verdicts: Sequence[TargetVerdict], label: str) -> str:
    rows = []
    for number, v in enumerate(verdicts, start=1):
        verdict = f'<span class="{"fail" if v.failed else "pass"}">{_e(v.verdict)}</span>'
        rows.append(f'<tr><td class="n">{number}</td><td>{_e(v.name)}</td><td>{_e(v.organizer or "")}</td>'
                    f"<td>{_e(v.problems_text)}</td><td>{verdict}</td></tr>")
    if not rows:
        rows.append('<tr><td colspan="5">无</td></tr>')
    head = "".join(f"<th>{_e(h)}</th>" for h in ("序号", label, "主办单位", "存在的突出问题", "检查结论"))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def render_html(rollup: Rollup, tz: Any) -> str:
    title = f"{period_title(rollup)}政府网站与政务新媒体检查情况"
    findings = [f for _, f in rollup.findings()]
    script_hash = base64.b64encode(hashlib.sha256(_SCRIPT.encode("utf-8")).digest()).decode("ascii")
    csp = (f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
           f"script-src 'sha256-{script_hash}'; base-uri 'none'; form-action 'none'")
    legend = "".join(f'<span><i style="background:{SEVERITY_COLOURS[s]}"></i>{_e(n)}</span>'
                     for s, n in SEVERITY_NAMES.items())
    detail = rollup.findings()
    shown = detail[:MAX_DETAIL_ROWS]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{escape(csp, quote=False)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="meta">检查采样时间：{_e(rollup.sampling)}　·　生成时间：'
        f'{_e(dt.datetime.now(tz).strftime("%Y-%m-%d %H:%M"))}</p>',
        "<h2>合格率</h2>",
        _table(RATE_HEADER, rate_rows(rollup)),
        f'<p class="note">网站得分低于{rollup.fail_below:g}分或存在单项否决问题的判为不合格；'
        "未检查的对象不计入合格率；已忽略的误报不计入。</p>",
    ]
    fb = feedback_rows(rollup)
    if fb:
        parts += ["<h2>“我为政府网站找错”留言办理</h2>", _table(["项目", "数值"], fb)]
    parts += [
        "<h2>问题分布</h2>",
        f'<p class="legend">{legend}</p>',
        '<div class="charts"><div class="chart"><h3>按检查项</h3>',
        _bar_chart_by_check(findings),
        '</div><div class="chart"><h3>按周（当周存在的问题数）</h3>',
        _column_chart_by_week(rollup, findings, tz),
        "</div></div>",
        f"<h2>附件1　存在突出问题的政府网站（{len(rollup.annex_sites)}个）</h2>",
        _annex(rollup.annex_sites, "网站名称"),
        f"<h2>附件2　存在突出问题的政务新媒体（{len(rollup.annex_accounts)}个）</h2>",
        _annex(rollup.annex_accounts, "政务新媒体名称"),
    ]
    if rollup.rectification is not None:
        parts += [
            f"<h2>整改情况（期限 {_e(rollup.deadline)}，逾期 {len(rollup.overdue)} 个）</h2>",
            _table(RECTIFICATION_HEADER, rectification_rows(rollup, tz)),
        ]
    if rollup.unchecked:
        parts += [
            f"<h2>未检查（{len(rollup.unchecked)}个，不计入合格率）</h2>",
            _table(["序号", "名称", "类型", "主办单位", "类别"], (
                [n, v.name, "政府网站" if v.kind == "site" else "政务新媒体", v.organizer or "", category_label(v)]
                for n, v in enumerate(rollup.unchecked, start=1)
            )),
        ]
    parts += [
        f"<h2>问题明细（{len(detail)}条）</h2>",
        '<p class="noprint"><input type="search" id="filter" placeholder="筛选：输入名称、检查项或网址"></p>',
    ]
    if len(detail) > len(shown):
        parts.append(f'<p class="note">页面只列出前{len(shown)}条；完整明细见 xlsx 或 csv 报告。</p>')
    parts += [
        _table(FINDING_HEADER, (finding_row(n, v, f, tz) for n, (v, f) in enumerate(shown, start=1)),
               table_id="detail"),
        f"<script>{_SCRIPT}</script>",
        "</body></html>",
    ]
    return "\n".join(parts)


def write_html(rollup: Rollup, path: Path, tz: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(rollup, tz), encoding="utf-8")
    return path

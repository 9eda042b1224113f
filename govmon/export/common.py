"""What every export shares: Chinese labels, the period's title, inert spreadsheet text."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from govmon.config import CATEGORIES, PLATFORMS
from govmon.rollup import CountedFinding, Rollup, TargetVerdict

SEVERITY_LABELS = {"veto": "单项否决", "deduct": "扣分", "notice": "提示"}
STATUS_LABELS = {"open": "未解决", "resolved": "已解决", "dismissed": "已忽略"}
KIND_LABELS = {"site": "政府网站", "account": "政务新媒体"}
_QUARTER_NAMES = {1: "一", 2: "二", 3: "三", 4: "四"}

# Characters that make a spreadsheet program read a cell as a formula (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
# XML 1.0 forbids these control characters; openpyxl refuses them.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
MAX_CELL = 32767


def period_title(rollup: Rollup) -> str:
    """``2023年第二季度`` for a quarter, else the sampling period."""
    match = re.fullmatch(r"(\d{4})Q([1-4])", rollup.period.label)
    if match:
        return f"{match[1]}年第{_QUARTER_NAMES[int(match[2])]}季度"
    return rollup.sampling


def check_title(check_id: str) -> str:
    from govmon.checks.registry import CHECKS

    check = CHECKS.get(check_id)
    if check is not None:
        return check.title
    return _EXTRA_TITLES.get(check_id, check_id)


_EXTRA_TITLES = {
    "page.slow": "页面加载时长",
    "page.render": "兼容性",
    "site.mobile": "移动端适配",
    "site.elderly": "适老化与无障碍",
    "account.stale": "内容不更新",
    "account.unreachable": "账号无法访问",
    "account.serious_error": "严重表述错误",
    "interaction.missing": "互动回应差",
    "interaction.unanswered": "互动回应差",
    "site.zhaocuo_entry": "功能设计",
    "site.search": "功能设计",
    "site.https": "安全",
    "site.ipv6": "功能设计（IPv6改造）",
    "account.no_interaction": "互动回应差",
    "links.external_unsafe": "不良外链 / 暗链",
}


def category_label(verdict: TargetVerdict) -> str:
    if verdict.kind == "site":
        return CATEGORIES.get(verdict.category or "", verdict.category or "")
    return PLATFORMS.get(verdict.platform or "", verdict.platform or "")


def local_time(value: dt.datetime | None, tz: Any) -> str:
    """``2023-05-12 09:30`` in the configured zone."""
    if value is None:
        return ""
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def clean_text(value: Any) -> str:
    """Text safe to put into a document: no XML-illegal control characters, bounded."""
    text = "" if value is None else str(value)
    text = _ILLEGAL.sub("", text)
    return text[:MAX_CELL]


def inert_csv(value: Any) -> str:
    """A CSV cell that a spreadsheet program will not evaluate: ``'=HYPERLINK(…)``."""
    text = clean_text(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_PREFIXES)


def counted(finding: CountedFinding) -> bool:
    return finding.severity in ("veto", "deduct")


def finding_row(number: int, verdict: TargetVerdict, finding: CountedFinding, tz: Any) -> list[Any]:
    """One row of the 问题明细 table."""
    return [
        number,
        verdict.name,
        KIND_LABELS.get(verdict.kind, verdict.kind),
        verdict.organizer or "",
        category_label(verdict),
        check_title(finding.check_id),
        SEVERITY_LABELS.get(finding.severity, finding.severity),
        finding.message,
        finding.url or "",
        local_time(finding.first_seen, tz),
        local_time(finding.last_seen, tz),
        STATUS_LABELS.get(finding.status, finding.status),
        "是" if counted(finding) else "否",
    ]


FINDING_HEADER = [
    "序号", "对象名称", "对象类型", "主办单位", "类别", "检查项", "性质", "问题描述", "证据网址",
    "首次发现", "最近发现", "状态", "计入结论",
]

RATE_HEADER = ["类别", "检查总数", "合格", "不合格", "未检查", "合格率"]


def rate_rows(rollup: Rollup) -> list[list[Any]]:
    rows = []
    for rate in rollup.rates.values():
        rows.append([rate.label, rate.total, rate.passed, rate.total - rate.passed, rate.unchecked, rate.text])
    return rows


def feedback_rows(rollup: Rollup) -> list[list[Any]]:
    stats = rollup.feedback
    if not stats:
        return []
    return [
        ["收到留言", stats.get("received", 0)],
        ["按期办结", stats.get("handled_on_time", 0)],
        ["办结率", stats.get("rate_text", "—")],
        ["逾期未办结", stats.get("overdue", 0)],
    ]


RECTIFICATION_HEADER = ["序号", "名称", "对象类型", "主办单位", "存在的突出问题", "整改期限", "整改状态", "未解决问题数", "整改完成时间"]


def rectification_rows(rollup: Rollup, tz: Any) -> list[list[Any]]:
    return [
        [
            n,
            r.verdict.name,
            KIND_LABELS.get(r.verdict.kind, r.verdict.kind),
            r.verdict.organizer or "",
            r.verdict.problems_text,
            r.deadline.isoformat(),
            r.state,
            r.open_count,
            local_time(r.rectified_at, tz),
        ]
        for n, r in enumerate(rollup.rectification or (), start=1)
    ]

"""site.homepage_stale — no new dated item on the home page for ``days`` days."""

from __future__ import annotations

from typing import Any

from govmon.checks.artifacts import SiteArtifacts, format_date, latest_day, newest_item
from govmon.findings import VOLATILE_EVIDENCE_KEYS, NewFinding

id = "site.homepage_stale"
title = "首页不更新"
description = (
    "首页最新一条带日期的信息早于监测时间点前 14 天（天数可配置），或首页信息均未注明日期，"
    "即单项否决；只注明到月的日期按该月最后一天计。"
    "依据《政府网站与政务新媒体检查指标》（国办秘函〔2019〕19号）“首页不更新”。"
)
required_artifacts = ("home", "home_items")
severity = "veto"

VOLATILE_KEYS = VOLATILE_EVIDENCE_KEYS | {"item_count", "dated_item_count"}


def run(artifacts: SiteArtifacts, settings: Any) -> list[NewFinding]:
    assert artifacts.home is not None
    threshold = int(settings.days)
    as_of = artifacts.as_of_date
    items = list(artifacts.home_items)
    newest = newest_item(items)
    evidence: dict[str, Any] = {
        "home_url": artifacts.home.url,
        "as_of": artifacts.as_of.isoformat(),
        "threshold_days": threshold,
        "item_count": len(items),
        "dated_item_count": sum(1 for item in items if item.date is not None),
    }
    if newest is None:
        if items:
            message = (
                f"首页 {len(items)} 条信息均未注明发布日期，视为不更新"
                f"（监测时间点 {as_of.isoformat()}，要求 {threshold} 天内有更新）"
            )
        else:
            message = (
                f"首页未发现带日期的信息条目，视为不更新"
                f"（监测时间点 {as_of.isoformat()}，要求 {threshold} 天内有更新）"
            )
        evidence.update(newest_title=None, newest_url=None, newest_date=None, days_since=None)
        return [_finding(artifacts, message, evidence)]
    assert newest.date is not None
    last_possible = latest_day(newest.date, newest.date_precision)
    days_since = (as_of - last_possible).days
    if days_since <= threshold:
        return []
    shown = format_date(newest.date, newest.date_precision)
    month_note = "（只注明到月，按该月最后一天计）" if newest.date_precision == "month" else ""
    message = (
        f"首页最新信息“{newest.title or newest.url or ''}”的日期为 {shown}{month_note}，"
        f"距监测时间点 {as_of.isoformat()} 已 {days_since} 天未更新（要求 {threshold} 天内）"
    )
    evidence.update(
        newest_title=newest.title,
        newest_url=newest.url,
        newest_date=shown,
        newest_date_raw=newest.date_raw,
        newest_date_precision=newest.date_precision or "day",
        days_since=days_since,
    )
    return [_finding(artifacts, message, evidence)]


def _finding(artifacts: SiteArtifacts, message: str, evidence: dict[str, Any]) -> NewFinding:
    assert artifacts.home is not None
    return NewFinding(
        check_id=id,
        subject="home",
        severity=severity,
        message=message,
        url=artifacts.home.url,
        evidence=evidence,
        volatile_keys=VOLATILE_KEYS,
    )

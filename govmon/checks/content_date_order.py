"""content.date_order — an article published before the date it was written.

Only a certain inversion counts: with a month-only 成文日期 (落款“2023年5月”) the page is
flagged only when it was published before the first day of that month. The same day is
fine.
"""

from __future__ import annotations

from typing import Any

from govmon.checks.artifacts import ArticleObs, SiteArtifacts, earliest_day, format_date, latest_day
from govmon.findings import NewFinding

id = "content.date_order"
title = "发布日期早于成文日期"
description = (
    "文章页的发布日期早于其成文日期（信息公开元数据表中的成文日期，或正文末尾落款日期）即单项否决；"
    "成文日期只注明到月时，发布日期早于该月 1 日才算。依据《政府网站与政务新媒体检查指标》"
    "（国办秘函〔2019〕19号）“安全、泄密事故等严重问题”（伪造发稿日期）。"
)
required_artifacts = ("articles",)
severity = "veto"


def _examined(artifacts: SiteArtifacts) -> list[ArticleObs]:
    seen: set[str] = set()
    result = []
    for article in artifacts.articles:
        page = article.page
        if page.ok and page.is_html and page.url not in seen:
            seen.add(page.url)
            result.append(article)
    return result


def scope(artifacts: SiteArtifacts, settings: Any) -> set[str]:
    return {article.page.url for article in _examined(artifacts)}


def run(artifacts: SiteArtifacts, settings: Any) -> list[NewFinding]:
    findings = []
    for article in _examined(artifacts):
        page = article.page
        if page.publish_date is None or page.written_date is None:
            continue
        published_at_latest = latest_day(page.publish_date, page.publish_date_precision)
        written_at_earliest = earliest_day(page.written_date, page.written_date_precision)
        if not published_at_latest < written_at_earliest:
            continue
        published = format_date(page.publish_date, page.publish_date_precision)
        written = format_date(page.written_date, page.written_date_precision)
        days = (written_at_earliest - published_at_latest).days
        month_note = "（成文日期只注明到月）" if page.written_date_precision == "month" else ""
        message = (
            f"文章“{page.title or page.url}”的发布日期（{published}）早于成文日期（{written}）"
            f"{month_note}，早 {days} 天"
        )
        findings.append(
            NewFinding(
                check_id=id,
                subject=page.url,
                severity=severity,
                message=message,
                url=page.url,
                evidence={
                    "url": page.url,
                    "title": page.title,
                    "publish_date": published,
                    "publish_date_raw": page.publish_date_raw,
                    "publish_date_how": page.publish_date_how,
                    "written_date": written,
                    "written_date_precision": page.written_date_precision or "day",
                    "written_date_raw": page.written_date_raw,
                    "written_date_how": page.written_date_how,
                    "days_earlier": days,
                    "column_url": article.column_url,
                },
            )
        )
    return findings

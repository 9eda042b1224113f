"""content.undated — an article page that shows no publish date."""

from __future__ import annotations

from typing import Any

from govmon.checks.artifacts import ArticleObs, SiteArtifacts
from govmon.checks.interaction_channels import channel_role
from govmon.findings import VOLATILE_EVIDENCE_KEYS, NewFinding

id = "content.undated"
title = "未注明发布时间"
description = (
    "文章页（正常打开的网页）上找不到发布日期即提示。依据《政府网站与政务新媒体检查指标》"
    "（国办秘函〔2019〕19号）信息发布要求。"
)
required_artifacts = ("articles",)
severity = "notice"

VOLATILE_KEYS = VOLATILE_EVIDENCE_KEYS | {"fetched_at"}


def _examined(artifacts: SiteArtifacts) -> list[ArticleObs]:
    seen: set[str] = set()
    result = []
    interaction = {c.url for c in artifacts.columns if channel_role(c.name, c.kind) is not None}
    for article in artifacts.articles:
        page = article.page
        # Only pages the gatherer recognised as articles: a list entry may also lead to a
        # sub-column, a video page or a form, which need no publish date. A message of an
        # interaction column is dated by its 留言时间 (interaction.unanswered reads it).
        if article.message is not None and article.column_url in interaction:
            continue
        if page.ok and page.is_html and page.page_type == "article" and page.url not in seen:
            seen.add(page.url)
            result.append(article)
    return result


def scope(artifacts: SiteArtifacts, settings: Any) -> set[str]:
    return {article.page.url for article in _examined(artifacts)}


def run(artifacts: SiteArtifacts, settings: Any) -> list[NewFinding]:
    findings = []
    for article in _examined(artifacts):
        page = article.page
        if page.publish_date is not None:
            continue
        name = page.title or article.listed_title
        label = f"文章“{name}”" if name else "文章页"
        findings.append(
            NewFinding(
                check_id=id,
                subject=page.url,
                severity=severity,
                message=f"{label}（{page.url}）未注明发布时间",
                url=page.url,
                evidence={
                    "url": page.url,
                    "title": page.title,
                    "listed_title": article.listed_title,
                    "column_url": article.column_url,
                    "fetched_at": page.fetched_at.isoformat() if page.fetched_at else None,
                },
                volatile_keys=VOLATILE_KEYS,
            )
        )
    return findings

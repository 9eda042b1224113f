"""links.broken — a link the link checker found broken (DNS, refused, timeout, HTTP ≥400).

The gatherer has already retried the way a browser would (HEAD refused → GET, 429 →
wait Retry-After) and marks what it could not settle ``inconclusive``; only ``broken``
is a finding. Links on the home page are listed apart from links on other pages.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from govmon.checks.artifacts import LinkObs, SiteArtifacts
from govmon.findings import VOLATILE_EVIDENCE_KEYS, NewFinding

id = "links.broken"
title = "不可用链接"
description = (
    "网页上的链接（网页、图片、附件、外部链接）无法打开：域名解析失败、连接失败、超时或按浏览器方式重试后"
    "仍返回 HTTP 400 及以上状态，即扣分；首页链接与其他页面链接分开列出。"
    "依据《政府网站与政务新媒体检查指标》（国办秘函〔2019〕19号）“不可用链接”。"
)
required_artifacts = ("links",)
severity = "deduct"

MAX_PAGES_SHOWN = 5
# Which pages a crawl happened to see the link on varies; the broken link does not.
VOLATILE_KEYS = VOLATILE_EVIDENCE_KEYS | {"found_on", "found_on_count"}
# A status that never proves a link broken, whatever the gatherer concluded.
_NEVER_BROKEN_STATUSES = frozenset({429})


def _judged(artifacts: SiteArtifacts) -> dict[str, LinkObs]:
    """Links whose outcome settles them (ok or broken), once per URL.

    Should a URL be reported twice, a broken result wins and the pages it was found on
    are merged.
    """
    links: dict[str, LinkObs] = {}
    for link in artifacts.links:
        if link.outcome not in ("ok", "broken") or link.status in _NEVER_BROKEN_STATUSES:
            continue
        current = links.get(link.url)
        if current is None:
            links[link.url] = link
            continue
        chosen = link if (current.outcome == "ok" and link.outcome == "broken") else current
        found_on = list(current.found_on) + [p for p in link.found_on if p not in current.found_on]
        links[link.url] = replace(chosen, found_on=found_on, on_home=current.on_home or link.on_home)
    return links


def scope(artifacts: SiteArtifacts, settings: Any) -> set[str]:
    return set(_judged(artifacts))


def _failure(link: LinkObs) -> str:
    if link.error:
        return link.error if link.status is None else f"{link.error}（HTTP {link.status}）"
    if link.status is not None:
        return f"HTTP {link.status}"
    return "无法打开"


def run(artifacts: SiteArtifacts, settings: Any) -> list[NewFinding]:
    findings = []
    broken = [link for link in _judged(artifacts).values() if link.outcome == "broken"]
    # Home-page links first, then the others; each group in the gatherer's order.
    broken.sort(key=lambda link: not link.on_home)
    for link in broken:
        pages = [{"page": page, "text": text} for page, text in list(link.found_on)[:MAX_PAGES_SHOWN]]
        group = "首页链接" if link.on_home else "其他页面链接"
        where = ""
        if link.found_on:
            first_page, first_text = link.found_on[0]
            label = f"“{first_text}”" if first_text else ""
            where = f"，见于 {first_page}{label}"
            if len(link.found_on) > 1:
                where += f" 等 {len(link.found_on)} 个页面"
        findings.append(
            NewFinding(
                check_id=id,
                subject=link.url,
                severity=severity,
                message=f"{group}不可用：{link.url}（{_failure(link)}）{where}",
                url=link.url,
                evidence={
                    "url": link.url,
                    "on_home": link.on_home,
                    "group": "home" if link.on_home else "other",
                    "status": link.status,
                    "error": link.error,
                    "method": link.method,
                    "redirects": [list(r) for r in link.redirects],
                    "found_on": pages,
                    "found_on_count": len(link.found_on),
                },
                volatile_keys=VOLATILE_KEYS,
            )
        )
    return findings

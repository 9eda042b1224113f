"""page.slow — a page whose load event comes later than ``load_ms`` (default 3000 ms).

Judged on the pages the browser measured in this scan (crawl/browser.py): the home page, the
first list page of each column and a few articles, each loaded ``browser.loads`` times with the
cache off under the configured network profile; the median load is compared. A load that had
not finished within the time limit counts as that long. A page the browser could not measure
(it crashed, the page would not open) is not judged, and an earlier finding about it stays as
it was.
"""

from __future__ import annotations

from typing import Any

from govmon.checks.artifacts import SiteArtifacts
from govmon.crawler.browser import NETWORK_PROFILES
from govmon.findings import VOLATILE_EVIDENCE_KEYS, NewFinding

id = "page.slow"
title = "页面加载时长"
description = (
    "在设定的网络条件下，网页加载完成（load 事件）晚于 3000 毫秒（取 3 次加载的中位数）。"
    "依据：国办秘函〔2019〕19号 实用性指标；湛江市季度通报“在主流计算机配置和当地平均网速条件下有效优化页面加载时长”。"
)
required_artifacts = ("browser_audits",)
severity = "deduct"

VOLATILE_KEYS = VOLATILE_EVIDENCE_KEYS | {"loads_ms", "load_ms", "ttfb_ms", "lcp_ms", "bytes", "measured_at"}
PAGE_NAMES = {"home": "首页", "list": "栏目列表页", "article": "文章页"}


def scope(artifacts: SiteArtifacts, settings: Any) -> set[str]:
    return {page.url for page in artifacts.browser_audits or () if page.measured}


def run(artifacts: SiteArtifacts, settings: Any) -> list[NewFinding]:
    limit = int(getattr(settings, "load_ms", 3000))
    findings = []
    for page in artifacts.browser_audits or ():
        if not page.measured or page.load_ms is None or page.load_ms <= limit:
            continue
        profile = NETWORK_PROFILES.get(page.profile, NETWORK_PROFILES["none"])
        timed_out = sum(1 for v in page.loads_ms if v is None)
        loads = "、".join("超时" if v is None else f"{v}" for v in page.loads_ms)
        note = f"，其中 {timed_out} 次超过 {(page.timeout_ms or 0) // 1000} 秒仍未加载完成" if timed_out else ""
        findings.append(NewFinding(
            check_id=id,
            subject=page.url,
            severity=severity,
            message=(f"{PAGE_NAMES.get(page.page_type, '网页')}加载用时 {page.load_ms} 毫秒，超过 {limit} 毫秒"
                     f"（{len(page.loads_ms)} 次加载：{loads} 毫秒{note}；网络条件：{profile.label}）"),
            url=page.url,
            evidence={
                "url": page.url,
                "page_type": page.page_type,
                "load_ms": page.load_ms,
                "loads_ms": list(page.loads_ms),
                "limit_ms": limit,
                "ttfb_ms": page.ttfb_ms,
                "lcp_ms": page.lcp_ms,
                "bytes": page.bytes,
                "network_profile": page.profile,
                "network_profile_label": profile.label,
                "timeout_ms": page.timeout_ms,
                "measured_at": page.measured_at,
            },
            volatile_keys=VOLATILE_KEYS,
        ))
    return findings

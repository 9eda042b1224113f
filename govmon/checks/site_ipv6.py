"""site.ipv6 — the site has no IPv6 address (AAAA record), or does not answer over IPv6.

The scan resolves the site's host for IPv6 with the system resolver (/etc/hosts, then DNS; an
IPv6 literal is its own address, an IPv4 literal has none) and, when there is an address, makes
one HTTP request to it (crawler/site_features.py). A notice when there is no address, or when
the request over IPv6 got no HTTP answer. Any HTTP answer counts: what the page says is judged
by the other checks. A site whose home page could not be read is not judged.
"""

from __future__ import annotations

from typing import Any

from govmon.checks.artifacts import SiteArtifacts
from govmon.findings import NewFinding

id = "site.ipv6"
title = "IPv6 改造"
description = (
    "政府网站应完成 IPv6 改造：域名有 IPv6（AAAA）地址，并能通过 IPv6 正常访问。"
    "没有 IPv6 地址或通过 IPv6 访问无应答的给出提示。"
    "依据：《政府网站与政务新媒体检查指标》（国办秘函〔2019〕19号）功能设计指标及《推进互联网协议第六版（IPv6）规模部署行动计划》。"
)
required_artifacts = ("ipv6",)
severity = "notice"

SUBJECT = "ipv6"


def run(artifacts: SiteArtifacts, settings: Any) -> list[NewFinding]:
    ipv6 = artifacts.ipv6
    assert ipv6 is not None
    evidence: dict[str, Any] = {"host": ipv6.host, "ipv6_addresses": list(ipv6.addresses)}
    if not ipv6.addresses:
        if ipv6.resolve_error:
            evidence["resolve_error"] = ipv6.resolve_error
        message = f"网站域名 {ipv6.host} 没有 IPv6（AAAA）地址，未完成 IPv6 改造"
    elif not ipv6.answered:
        evidence.update(tried=ipv6.tried, error=ipv6.error)
        message = f"通过 IPv6 地址 {ipv6.addresses[0]} 访问网站无应答（{ipv6.error or '无应答'}）"
    else:
        return []
    return [NewFinding(check_id=id, subject=SUBJECT, severity=severity, message=message,
                       url=artifacts.target.url, evidence=evidence)]

"""site.unreachable — the scan's part: the home page could not be fetched.

The probe-based single veto (failures ≥5% of the probes over 7 days) is judged from the
availability probes by its own rule; a single failed scan is only a notice.
"""

from __future__ import annotations

from typing import Any

from govmon.checks.artifacts import SiteArtifacts
from govmon.findings import VOLATILE_EVIDENCE_KEYS, NewFinding

id = "site.unreachable"
title = "站点无法访问"
description = (
    "本次扫描时网站首页无法打开（域名解析失败、连接被拒绝、超时或返回 HTTP 错误状态）即提示；"
    "依据《政府网站与政务新媒体检查指标》（国办秘函〔2019〕19号）“站点无法访问”。"
    "按监测探测统计的单项否决另行判定。"
)
required_artifacts = ("target",)
severity = "notice"

VOLATILE_KEYS = VOLATILE_EVIDENCE_KEYS | {"fetched_at"}


def scope(artifacts: SiteArtifacts, settings: Any) -> set[str] | None:
    # No record of a home page fetch: nothing was seen, so nothing can be resolved.
    return set() if artifacts.home is None else None


def run(artifacts: SiteArtifacts, settings: Any) -> list[NewFinding]:
    home = artifacts.home
    if home is None or not home.failed:
        return []
    # shown in the monitoring time point's zone (the configured one), as the office reads it
    when = (home.fetched_at or artifacts.as_of).astimezone(artifacts.as_of.tzinfo)
    if home.error:
        reason = home.error
    elif home.status is None:
        reason = "没有得到响应"
    else:
        reason = f"返回 HTTP {home.status}"
    message = f"{when:%Y-%m-%d %H:%M} 扫描时首页 {home.url} 无法访问：{reason}"
    return [
        NewFinding(
            check_id=id,
            subject="home",
            severity=severity,
            message=message,
            url=home.url,
            evidence={
                "url": home.url,
                "final_url": home.final_url,
                "status": home.status,
                "error": home.error,
                "error_kind": home.error_kind,
                "fetched_at": when.isoformat(),
            },
            volatile_keys=VOLATILE_KEYS,
        )
    ]

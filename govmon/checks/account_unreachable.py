"""account.unreachable — the account could not be read: blocked, deleted, login expired, the
platform changed its answer. A notice, never a staleness verdict: whoever reads the finding
learns why this account went unjudged and, for an expired login, how to renew it.

Failures on our side (no browser, the browser crashed) are not the account's doing: the account
scan keeps them out of the judgement altogether.
"""

from __future__ import annotations

from typing import Any

from govmon.checks.artifacts import AccountArtifacts
from govmon.findings import VOLATILE_EVIDENCE_KEYS, NewFinding

id = "account.unreachable"
title = "账号无法访问"
description = (
    "账号无法读取（平台拒绝访问、账号被删除或封禁、登录已过期、平台改变了返回格式）时提示，"
    "此时不判定“内容不更新”。依据《政府网站与政务新媒体检查指标》（国办秘函〔2019〕19号）。"
)
required_artifacts = ("read",)
severity = "notice"
target_kind = "account"

SUBJECT = "unreadable"
VOLATILE_KEYS = VOLATILE_EVIDENCE_KEYS | {"read_at", "requests", "answers"}


def run(artifacts: AccountArtifacts, settings: Any) -> list[NewFinding]:
    read = artifacts.read
    if read is None or read.coverage not in ("blocked", "failed"):
        return []
    what = "登录已过期" if read.login_expired else ("平台拒绝访问" if read.coverage == "blocked" else "读取失败")
    return [
        NewFinding(
            check_id=id,
            subject=SUBJECT,
            severity=severity,
            message=f"{what}：{read.reason or '未说明原因'}",
            url=read.url or artifacts.target.url,
            evidence={
                "account_url": artifacts.target.url,
                "platform": artifacts.target.platform,
                "coverage": read.coverage,
                "reason": read.reason,
                "login_expired": read.login_expired,
                "requests": read.requests,
                "answers": dict(read.evidence),
                "read_at": read.read_at.isoformat() if read.read_at else None,
            },
            volatile_keys=VOLATILE_KEYS,
        )
    ]

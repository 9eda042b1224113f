"""account.stale — no post within the configured days before the monitoring time point.

Two levels (CHECKS.md): no post within ``veto_days`` (14) is the national single veto; no
post within ``flag_days`` (7) is a 突出问题 the city notice lists, as a deduction that does not
fail the account. Pinned posts never count as recent (an old pinned post leads many lists),
nor do posts dated after the monitoring time point (a scan with ``--as-of`` in the past).

Only a complete read can prove staleness. A partial read (paging cut short) can still
disprove it — a recent post was seen — but otherwise judges nothing; a blocked or failed
read judges nothing (``account.unreachable`` says why).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from govmon.checks.artifacts import AccountArtifacts, PostObs
from govmon.findings import VOLATILE_EVIDENCE_KEYS, NewFinding

id = "account.stale"
title = "内容不更新"
description = (
    "监测时间点前 14 天内无更新即单项否决；7 天内无更新列为突出问题（扣分，不否决）。置顶内容不计为更新，"
    "只有完整读取的账号才判定。依据《政府网站与政务新媒体检查指标》（国办秘函〔2019〕19号）“内容不更新”。"
)
required_artifacts = ("read", "posts")
severity = "veto"
target_kind = "account"

SUBJECT = "no_recent_post"
VOLATILE_KEYS = VOLATILE_EVIDENCE_KEYS | {"days_since", "as_of", "read_at", "requests", "posts_read"}


def newest_post(artifacts: AccountArtifacts) -> PostObs | None:
    """The newest post that counts: not pinned, not after the monitoring time point."""
    counted = [p for p in artifacts.posts if not p.pinned and p.published_at <= artifacts.as_of]
    return max(counted, key=lambda p: p.published_at, default=None)


def _judgeable(artifacts: AccountArtifacts, settings: Any) -> bool:
    read = artifacts.read
    if read is None:
        return False
    if read.coverage == "complete":
        return True
    if read.coverage == "partial":  # can only show that a recent post exists
        newest = newest_post(artifacts)
        return newest is not None and artifacts.as_of - newest.published_at < dt.timedelta(days=settings.flag_days)
    return False


def scope(artifacts: AccountArtifacts, settings: Any) -> set[str]:
    return {SUBJECT} if _judgeable(artifacts, settings) else set()


def run(artifacts: AccountArtifacts, settings: Any) -> list[NewFinding]:
    if not _judgeable(artifacts, settings):
        return []
    newest = newest_post(artifacts)
    age = artifacts.as_of - newest.published_at if newest is not None else None
    if age is not None and age < dt.timedelta(days=settings.flag_days):
        return []
    veto = age is None or age >= dt.timedelta(days=settings.veto_days)
    days = settings.veto_days if veto else settings.flag_days
    read = artifacts.read
    assert read is not None
    pinned = [p for p in artifacts.posts if p.pinned]
    point = artifacts.as_of.date().isoformat()
    if newest is None:
        last = "读取到的内容中没有非置顶的发布" if artifacts.posts else "未读取到任何发布"
    else:
        shown = newest.text if len(newest.text) <= 40 else newest.text[:40] + "…"
        last = f"最新一条发布于 {newest.published_at.date().isoformat()}（“{shown}”），距监测时间点 {age.days} 天"
    if pinned and newest is not None:
        last += f"；置顶的 {len(pinned)} 条不计"
    return [
        NewFinding(
            check_id=id,
            subject=SUBJECT,
            severity="veto" if veto else "deduct",
            message=f"监测时间点（{point}）前{days}天内无更新：{last}",
            url=newest.url if newest is not None else artifacts.target.url,
            evidence={
                "account_url": artifacts.target.url,
                "as_of": artifacts.as_of.isoformat(),
                "threshold_days": days,
                "days_since": age.days if age is not None else None,
                "last_post_at": newest.published_at.isoformat() if newest is not None else None,
                "last_post_url": newest.url if newest is not None else None,
                "last_post_text": newest.text[:200] if newest is not None else None,
                "pinned_ignored": [
                    {"published_at": p.published_at.isoformat(), "url": p.url, "text": p.text[:80]} for p in pinned
                ],
                "coverage": read.coverage,
                "posts_read": len(artifacts.posts),
                "requests": read.requests,
                "read_at": read.read_at.isoformat() if read.read_at else None,
            },
            volatile_keys=VOLATILE_KEYS,
        )
    ]

"""account.no_interaction — the platform shows that the account accepts no comments (互动回应差).

CHECKS.md: a notice when the platform shows that the account accepts no interaction (comments
closed on every recent post); never guessed where the platform does not show it. So a post counts
only through ``PostObs.comments_open``, which an adapter sets from a field of the list answer it
already reads, and only where a public source documents that field:

=========  ==============================================  ==============================================
platform   field (per post of the list answer) → meaning    public source
=========  ==============================================  ==============================================
抖音       ``aweme_list[].aweme_control.can_comment``       ikenxuan/amagi
           (bool; false = readers may not comment), also    ``src/types/ReturnDataType/Douyin/
           ``comment_permission_info.can_comment``          UserPostVideos.ts`` (type of the
                                                            ``/aweme/v1/web/aweme/post/`` answer);
                                                            Johnserf-Seed/f2 ``f2/apps/douyin/filter.py``
                                                            (``PostDetailFilter.can_comment`` reads
                                                            ``aweme_detail.aweme_control.can_comment``)
今日头条   ``data[].ban_comment`` (bool; true = comments     DIYgod/RSSHub ``lib/routes/toutiao/types.ts``
           closed), also ``itemCell.actionCtrl.banComment``  (``Feed`` of ``/api/pc/list/feed``)
=========  ==============================================  ==============================================

Looked for and left unread (``comments_open`` stays None, so these accounts are never judged):
Weibo ``mblog.comment_manage_info.comment_permission_type`` (found in many public type
definitions with values -1 and 1, but no source says what a value means); Bilibili dynamics
``modules.module_stat.comment.forbidden`` (SocialSisterYi/bilibili-API-collect
``docs/dynamic/all.md`` lists it as a bool with the example ``false`` and no meaning), Bilibili's
video list (no such field); Kuaishou, the WeChat 公众平台 list and feeds (no field found).

The notice needs a complete read, at least ``min_posts`` posts dated within ``window_days``
before the monitoring time point (posts after it do not count, as for ``account.stale``; a
pinned post in the window counts, since an open comment area on it would be an interaction
entry), and every one of them explicitly closed. One open post, or one whose answer did not
say, judges the account as open or unknown: nothing is reported.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from govmon.checks.artifacts import AccountArtifacts, PostObs
from govmon.findings import VOLATILE_EVIDENCE_KEYS, NewFinding

id = "account.no_interaction"
title = "互动回应差"
description = (
    "平台明确显示账号最近的发布全部关闭了评论（监测时间点前 14 天内至少 3 条，每条都显示不允许评论），"
    "即账号未提供互动渠道，作为提示。平台没有显示评论状态的不作判断。"
    "依据：《政府网站与政务新媒体检查指标》（国办秘函〔2019〕19号）单项否决指标“互动回应差”（此处只作提示）。"
)
required_artifacts = ("read", "posts")
severity = "notice"
target_kind = "account"

SUBJECT = "comments_closed"
VOLATILE_KEYS = VOLATILE_EVIDENCE_KEYS | {"posts", "posts_in_window", "posts_read", "read_at", "requests"}

# The answer field each adapter reads comments_open from (shown in the evidence).
PLATFORM_FIELDS = {
    "douyin": "aweme_control.can_comment = false",
    "toutiao": "ban_comment = true",
}


def recent_posts(artifacts: AccountArtifacts, settings: Any) -> list[PostObs]:
    """The posts dated within ``window_days`` before the monitoring time point, newest first."""
    start = artifacts.as_of - dt.timedelta(days=settings.window_days)
    posts = [p for p in artifacts.posts if start <= p.published_at <= artifacts.as_of]
    return sorted(posts, key=lambda p: p.published_at, reverse=True)


def _judged_posts(artifacts: AccountArtifacts, settings: Any) -> list[PostObs] | None:
    """The recent posts to judge, newest first; None unless the read is complete and has enough
    recent posts, each of which says whether it is open."""
    read = artifacts.read
    if read is None or read.coverage != "complete":
        return None
    posts = recent_posts(artifacts, settings)
    if len(posts) < settings.min_posts or any(p.comments_open is None for p in posts):
        return None
    return posts


def scope(artifacts: AccountArtifacts, settings: Any) -> set[str]:
    return {SUBJECT} if _judged_posts(artifacts, settings) is not None else set()


def run(artifacts: AccountArtifacts, settings: Any) -> list[NewFinding]:
    posts = _judged_posts(artifacts, settings)
    if posts is None or any(p.comments_open for p in posts):
        return []
    read = artifacts.read
    assert read is not None
    oldest, newest = posts[-1].published_at.date(), posts[0].published_at.date()
    field = PLATFORM_FIELDS.get(artifacts.target.platform, "comments_open = false")
    return [
        NewFinding(
            check_id=id,
            subject=SUBJECT,
            severity=severity,
            message=(
                f"监测时间点前{settings.window_days}天内的 {len(posts)} 条发布（{oldest.isoformat()} 至 "
                f"{newest.isoformat()}）全部关闭了评论，平台显示不允许评论，账号未提供互动渠道"
            ),
            url=artifacts.target.url,
            evidence={
                "account_url": artifacts.target.url,
                "platform": artifacts.target.platform,
                "platform_field": field,
                "as_of": artifacts.as_of.isoformat(),
                "window_days": settings.window_days,
                "posts_in_window": len(posts),
                "posts": [
                    {
                        "id": p.id,
                        "url": p.url,
                        "published_at": p.published_at.isoformat(),
                        "text": p.text[:80],
                        "pinned": p.pinned,
                        "comments_open": p.comments_open,
                    }
                    for p in posts
                ],
                "coverage": read.coverage,
                "posts_read": len(artifacts.posts),
                "requests": read.requests,
                "read_at": read.read_at.isoformat() if read.read_at else None,
            },
            volatile_keys=VOLATILE_KEYS,
        )
    ]

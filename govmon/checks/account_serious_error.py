"""account.serious_error — a hit of the serious-error lexicon in a post's text.

The same lexicon and matcher as pages (content_serious_error). One finding per (term, post):
subject ``term@post id``; a post not read this time (older than the read window) keeps its
finding open — only the posts read are in the scope.
"""

from __future__ import annotations

from typing import Any

from govmon.checks.artifacts import AccountArtifacts
from govmon.checks.content_serious_error import CONTEXT_CHARS, build_matcher, find_hits
from govmon.findings import VOLATILE_EVIDENCE_KEYS, NewFinding

id = "account.serious_error"
title = "严重表述错误"
description = (
    "新媒体账号发布的内容出现所配置词库中的严重表述错误（与网站相同的词库）即单项否决。"
    "依据《政府网站与政务新媒体检查指标》（国办秘函〔2019〕19号）“严重表述错误”。"
)
required_artifacts = ("posts", "lexicon")
severity = "veto"
target_kind = "account"

VOLATILE_KEYS = VOLATILE_EVIDENCE_KEYS | {"occurrences"}


def scope(artifacts: AccountArtifacts, settings: Any) -> set[str]:
    return {post.id for post in artifacts.posts}


def scope_key(subject: str) -> str:
    """``term@post id`` → ``post id``."""
    return subject.rpartition("@")[2]


def run(artifacts: AccountArtifacts, settings: Any) -> list[NewFinding]:
    automaton = build_matcher(tuple(artifacts.lexicon or ()))
    if automaton is None:
        return []
    findings: list[NewFinding] = []
    for post in artifacts.posts:
        for term, hit in find_hits(automaton, post.text, "text").items():
            before = post.text[max(0, hit.start - CONTEXT_CHARS) : hit.start]
            matched = post.text[hit.start : hit.end]
            after = post.text[hit.end : hit.end + CONTEXT_CHARS]
            when = post.published_at.date().isoformat()
            findings.append(
                NewFinding(
                    check_id=id,
                    subject=f"{term}@{post.id}",
                    severity=severity,
                    message=f"{when} 发布的内容出现严重表述错误“{term}”：……{before}【{matched}】{after}……",
                    url=post.url or artifacts.target.url,
                    evidence={
                        "term": term,
                        "matched": matched,
                        "context_before": before,
                        "context_after": after,
                        "occurrences": hit.count,
                        "post_id": post.id,
                        "post_url": post.url,
                        "published_at": post.published_at.isoformat(),
                        "pinned": post.pinned,
                    },
                    volatile_keys=VOLATILE_KEYS,
                )
            )
    return findings

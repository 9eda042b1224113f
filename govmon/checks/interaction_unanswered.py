"""interaction.unanswered — valid messages left unanswered in a consultation channel.

For each consultation column (领导信箱, 咨询投诉…; see ``interaction_channels``; 在线访谈,
征集调查, 网上信访 and 纪检举报 are left out) the crawl reads its messages' pages (up to
``crawl.messages_per_column``) and records each one's 留言时间, 回复时间 and shown state. Within
``lookback_days`` (365) before the monitoring time point:

- a message with no reply (no 回复时间 and no 已回复/已办结 state) left more than
  ``veto_unanswered_days`` (90) days ago → veto, one finding per message, its page the evidence;
- a message answered, but more than ``veto_unanswered_days`` after it was left → a notice (it
  waited over 3 months, yet the rule's wording "未回复" no longer holds when inspected: when in
  doubt, a notice), with both dates;
- no reply published in the last ``deduct_no_reply_days`` (60) days in any consultation column,
  while messages were left in the window → deduct (3 points), once per site; not when a message
  shows it was answered without saying when (the reply may be recent).

Only message pages that show a 留言 date are judged; a column whose list could not be read is
not judged (its findings stay open).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from govmon.checks.artifacts import ArticleObs, SiteArtifacts
from govmon.checks.interaction_channels import consultation_columns
from govmon.crawler.portal_features import ANSWERED_STATES
from govmon.findings import VOLATILE_EVIDENCE_KEYS, NewFinding

id = "interaction.unanswered"
title = "互动回应差"
description = (
    "监测时间点前 1 年内，领导信箱、咨询投诉等咨询类栏目中有效留言超过 3 个月未回复的，单项否决；"
    "咨询类栏目近 2 个月没有发布任何回复的，扣 3 分。在线访谈、征集调查不计入，网上信访、纪检举报渠道除外。"
    "依据：《政府网站与政务新媒体检查指标》（国办秘函〔2019〕19号）单项否决指标“互动回应差”及扣分指标“互动回应”。"
)
required_artifacts = ("columns", "articles")
severity = "veto"

NO_REPLY_SUBJECT = "no_recent_reply"
LATE_SUFFIX = "#answered_late"  # subject of the notice on a message answered after the limit
VOLATILE_KEYS = VOLATILE_EVIDENCE_KEYS | {"days_unanswered", "days_since_reply"}


def _answered(article: ArticleObs) -> bool:
    message = article.message
    assert message is not None
    return message.answered is not None or (message.state or "") in ANSWERED_STATES


def _messages(artifacts: SiteArtifacts, settings: Any) -> dict[str, list[ArticleObs]]:
    """Consultation column URL → its message pages that were read and show a 留言 date."""
    excluded = tuple(getattr(settings, "excluded_columns", ()))
    columns = {c.url: c for c in consultation_columns(artifacts.columns, excluded) if c.readable}
    result: dict[str, list[ArticleObs]] = {url: [] for url in columns}
    for article in artifacts.articles:
        if article.column_url in columns and article.message is not None and article.page.ok:
            result[article.column_url].append(article)
    return result


def scope(artifacts: SiteArtifacts, settings: Any) -> set[str] | None:
    messages = _messages(artifacts, settings)
    judged = {url for articles in messages.values() for a in articles for url in (a.page.url, a.page.url + LATE_SUFFIX)}
    if any(messages.values()):
        judged.add(NO_REPLY_SUBJECT)
    return judged


def run(artifacts: SiteArtifacts, settings: Any) -> list[NewFinding]:
    today = artifacts.as_of_date
    lookback = int(getattr(settings, "lookback_days", 365))
    veto_days = int(getattr(settings, "veto_unanswered_days", 90))
    reply_days = int(getattr(settings, "deduct_no_reply_days", 60))
    points = float(getattr(settings, "points", 3.0))
    window_start = today - dt.timedelta(days=lookback)
    names = {c.url: c.name for c in artifacts.columns}
    findings: list[NewFinding] = []
    in_window: list[ArticleObs] = []
    latest_reply: dt.date | None = None
    undated_reply = False  # answered (by the state shown) without a reply date: when is unknown
    for column_url, articles in _messages(artifacts, settings).items():
        for article in articles:
            message = article.message
            assert message is not None
            if message.answered is not None and message.answered <= today:
                latest_reply = max(latest_reply or message.answered, message.answered)
            elif message.answered is None and _answered(article):
                undated_reply = True
            if not window_start <= message.asked <= today:
                continue
            in_window.append(article)
            waited = (today - message.asked).days
            if message.answered is not None and (message.answered - message.asked).days > veto_days:
                took = (message.answered - message.asked).days
                findings.append(NewFinding(
                    check_id=id, subject=article.page.url + LATE_SUFFIX, severity="notice",
                    message=(f"“{names.get(column_url, '')}”栏目留言“{article.listed_title or article.page.title or ''}”"
                             f"（{message.asked.isoformat()}）于 {message.answered.isoformat()} 才回复，"
                             f"间隔 {took} 天，超过 {veto_days} 天"),
                    url=article.page.url,
                    evidence={"column": names.get(column_url), "column_url": column_url,
                              "message_url": article.page.url, "asked": message.asked.isoformat(),
                              "answered": message.answered.isoformat(), "state": message.state,
                              "days_to_answer": took, "limit_days": veto_days, "as_of": today.isoformat()},
                    volatile_keys=VOLATILE_KEYS,
                ))
            if _answered(article) or waited <= veto_days:
                continue
            findings.append(NewFinding(
                check_id=id, subject=article.page.url, severity="veto",
                message=(f"“{names.get(column_url, '')}”栏目留言“{article.listed_title or article.page.title or ''}”"
                         f"（{message.asked.isoformat()}）已 {waited} 天未回复，超过 {veto_days} 天"),
                url=article.page.url,
                evidence={"column": names.get(column_url), "column_url": column_url, "message_url": article.page.url,
                          "asked": message.asked.isoformat(), "state": message.state,
                          "days_unanswered": waited, "limit_days": veto_days, "as_of": today.isoformat()},
                volatile_keys=VOLATILE_KEYS,
            ))
    recent_limit = today - dt.timedelta(days=reply_days)
    if in_window and not undated_reply and (latest_reply is None or latest_reply < recent_limit):
        findings.append(NewFinding(
            check_id=id, subject=NO_REPLY_SUBJECT, severity="deduct",
            message=(f"咨询类栏目近 {reply_days} 天没有发布回复（最近一次回复："
                     f"{latest_reply.isoformat() if latest_reply else '无'}）"),
            url=next(iter(sorted({a.column_url or "" for a in in_window}))) or None,
            evidence={"latest_reply": latest_reply.isoformat() if latest_reply else None,
                      "days_since_reply": (today - latest_reply).days if latest_reply else None,
                      "limit_days": reply_days, "messages_in_window": len(in_window), "points": points,
                      "as_of": today.isoformat()},
            volatile_keys=VOLATILE_KEYS | {"messages_in_window"},
        ))
    return findings

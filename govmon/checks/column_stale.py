"""column.stale — a column whose newest item is older than its kind allows.

One finding per stale column (subject: the column URL). The count rule of the national
checklist decides the severity of them all: when ≥5 news/notice/policy columns, or ≥10
columns of any kind, are stale, every stale column is a veto; otherwise each is a deduct.
A column whose list could not be read in full is not judged (never stale because we
could not read it); a column with no items is ``column.empty``'s business; a column
whose entries show no date at all is not judged either (its dates were not seen).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from govmon.checks.artifacts import ColumnObs, ItemObs, SiteArtifacts, format_date, latest_day, newest_item
from govmon.config import CORE_COLUMN_KINDS
from govmon.findings import VOLATILE_EVIDENCE_KEYS, NewFinding

id = "column.stale"
title = "栏目不更新"
description = (
    "栏目最新信息早于监测时间点前规定天数：动态要闻类 14 天，通知公告、政策文件类 180 天，"
    "人事、规划计划类 365 天；动态、通知公告、政策文件类不更新栏目达 5 个或任意栏目达 10 个即单项否决，"
    "否则扣分。依据《政府网站与政务新媒体检查指标》（国办秘函〔2019〕19号）“栏目不更新”。"
)
required_artifacts = ("columns",)
severity = "deduct"

CORE_KINDS = CORE_COLUMN_KINDS  # news, notice, policy
# Counts of the other stale columns change from scan to scan while this column's problem
# stays the same.
VOLATILE_KEYS = VOLATILE_EVIDENCE_KEYS | {"stale_core_count", "stale_any_count"}
KIND_NAMES = {
    "news": "动态要闻类",
    "notice": "通知公告类",
    "policy": "政策文件类",
    "personnel": "人事类",
    "planning": "规划计划类",
    "interaction": "互动类",
    "other": "其他",
}


@dataclass(frozen=True)
class _Judged:
    column: ColumnObs
    threshold: int
    newest: ItemObs | None  # None: the list is empty (column.empty's business)
    days_since: int | None

    @property
    def stale(self) -> bool:
        return self.days_since is not None and self.days_since > self.threshold


def _thresholds(settings: Any) -> Mapping[str, int]:
    """Days per column kind (``settings.days``); a kind set to null is not judged."""
    days = settings.days
    if not isinstance(days, Mapping):
        days = days.model_dump()
    return {kind: int(value) for kind, value in days.items() if value is not None}


def judge_columns(artifacts: SiteArtifacts, settings: Any) -> list[_Judged]:
    """The columns this run can judge, each with its newest item and age."""
    thresholds = _thresholds(settings)
    as_of = artifacts.as_of_date
    judged: list[_Judged] = []
    seen: set[str] = set()
    for column in artifacts.columns:
        if column.url in seen or column.kind not in thresholds or not column.readable:
            continue
        seen.add(column.url)
        if not column.items:
            judged.append(_Judged(column, thresholds[column.kind], None, None))
            continue
        newest = newest_item(column.items)
        if newest is None:
            continue  # entries without any visible date: nothing to measure
        assert newest.date is not None
        days_since = (as_of - latest_day(newest.date, newest.date_precision)).days
        judged.append(_Judged(column, thresholds[column.kind], newest, days_since))
    return judged


def scope(artifacts: SiteArtifacts, settings: Any) -> set[str]:
    return {entry.column.url for entry in judge_columns(artifacts, settings)}


def run(artifacts: SiteArtifacts, settings: Any) -> list[NewFinding]:
    stale = [entry for entry in judge_columns(artifacts, settings) if entry.stale]
    if not stale:
        return []
    veto_core = int(settings.veto_core_stale)
    veto_any = int(settings.veto_any_stale)
    core_count = sum(1 for entry in stale if entry.column.kind in CORE_KINDS)
    any_count = len(stale)
    if core_count >= veto_core:
        rule = "core"
        verdict = (
            f"本站动态要闻、通知公告、政策文件类栏目共 {core_count} 个不更新"
            f"（达到 {veto_core} 个即单项否决）"
        )
        level = "veto"
    elif any_count >= veto_any:
        rule = "any"
        verdict = f"本站共 {any_count} 个栏目不更新（达到 {veto_any} 个即单项否决）"
        level = "veto"
    else:
        rule = None
        verdict = (
            f"本站共 {any_count} 个栏目不更新，其中动态要闻、通知公告、政策文件类 {core_count} 个"
            f"（未达单项否决标准：该三类 {veto_core} 个或全部 {veto_any} 个），扣分"
        )
        level = "deduct"
    as_of = artifacts.as_of_date
    findings = []
    for entry in stale:
        column, newest = entry.column, entry.newest
        assert newest is not None and newest.date is not None
        shown = format_date(newest.date, newest.date_precision)
        month_note = "（只注明到月，按该月最后一天计）" if newest.date_precision == "month" else ""
        message = (
            f"栏目“{column.name}”最新信息为 {shown}{month_note}，距监测时间点 {as_of.isoformat()} "
            f"已 {entry.days_since} 天未更新（{KIND_NAMES.get(column.kind, column.kind)}栏目要求 "
            f"{entry.threshold} 天内）；{verdict}"
        )
        findings.append(
            NewFinding(
                check_id=id,
                subject=column.url,
                severity=level,
                message=message,
                url=column.url,
                evidence={
                    "column_name": column.name,
                    "column_url": column.url,
                    "column_kind": column.kind,
                    "column_source": column.source,
                    "newest_title": newest.title,
                    "newest_url": newest.url,
                    "newest_date": shown,
                    "newest_date_raw": newest.date_raw,
                    "newest_date_precision": newest.date_precision or "day",
                    "as_of": artifacts.as_of.isoformat(),
                    "days_since": entry.days_since,
                    "threshold_days": entry.threshold,
                    "stale_core_count": core_count,
                    "stale_any_count": any_count,
                    "veto_core_stale": veto_core,
                    "veto_any_stale": veto_any,
                    "veto_rule": rule,
                },
                volatile_keys=VOLATILE_KEYS,
            )
        )
    return findings

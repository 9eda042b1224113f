"""column.empty — a column whose list page was read in full and shows no items.

Columns taken from config.yaml are judged whenever their list was read; a column the
crawler discovered is judged only when the gatherer recognised its page as a list
(page_type 'list'): a discovered link to a single page (机构概况, 领导简介) is not a
blank column.
"""

from __future__ import annotations

from typing import Any

from govmon.checks.artifacts import ColumnObs, SiteArtifacts
from govmon.findings import VOLATILE_EVIDENCE_KEYS, NewFinding

id = "column.empty"
title = "空白栏目"
description = (
    "栏目列表页能够正常打开但没有任何信息条目即为空白栏目；同一网站空白栏目达 5 个即单项否决，"
    "否则扣分。依据《政府网站与政务新媒体检查指标》（国办秘函〔2019〕19号）“空白栏目”。"
)
required_artifacts = ("columns",)
severity = "deduct"

VOLATILE_KEYS = VOLATILE_EVIDENCE_KEYS | {"fetched_at", "empty_count"}


def _judgeable(column: ColumnObs) -> bool:
    if not column.readable:
        return False
    assert column.page is not None
    return column.source == "config" or column.page.page_type == "list"


def _judged(artifacts: SiteArtifacts) -> list[ColumnObs]:
    seen: set[str] = set()
    result = []
    for column in artifacts.columns:
        if column.url not in seen and _judgeable(column):
            seen.add(column.url)
            result.append(column)
    return result


def scope(artifacts: SiteArtifacts, settings: Any) -> set[str]:
    return {column.url for column in _judged(artifacts)}


def run(artifacts: SiteArtifacts, settings: Any) -> list[NewFinding]:
    empty = [column for column in _judged(artifacts) if not column.items]
    if not empty:
        return []
    veto_count = int(settings.veto_count)
    if len(empty) >= veto_count:
        level = "veto"
        verdict = f"本站共 {len(empty)} 个空白栏目（达到 {veto_count} 个即单项否决）"
    else:
        level = "deduct"
        verdict = f"本站共 {len(empty)} 个空白栏目（未达 {veto_count} 个的单项否决标准），扣分"
    findings = []
    for column in empty:
        assert column.page is not None
        fetched = column.page.fetched_at or artifacts.as_of
        findings.append(
            NewFinding(
                check_id=id,
                subject=column.url,
                severity=level,
                message=f"栏目“{column.name}”（{column.url}）列表页可以打开，但没有任何信息；{verdict}",
                url=column.url,
                evidence={
                    "column_name": column.name,
                    "column_url": column.url,
                    "column_kind": column.kind,
                    "column_source": column.source,
                    "status": column.page.status,
                    "final_url": column.page.final_url,
                    "fetched_at": fetched.isoformat(),
                    "empty_count": len(empty),
                    "veto_count": veto_count,
                },
                volatile_keys=VOLATILE_KEYS,
            )
        )
    return findings

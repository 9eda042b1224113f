"""The JSON API's request and response shapes (they make the OpenAPI document)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator


def _clean_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("不能包含 NUL 字符")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("不是有效的 UTF-8 文本") from None
    return value


class FindingOut(BaseModel):
    """INTERFACE.md's Finding, plus its id."""

    id: int
    target: str
    target_id: str
    kind: str
    organizer: str | None
    category: str | None
    check: str
    severity: str
    message: str
    url: str | None
    evidence: dict[str, Any]
    first_seen: str | None
    last_seen: str | None
    status: str


class FindingPageOut(BaseModel):
    total: int
    page: int
    pages: int
    items: list[FindingOut]


class ScanOut(BaseModel):
    id: int
    kind: str
    status: str
    started_at: str | None
    finished_at: str | None
    as_of: str | None
    error: str | None


class ProbeOut(BaseModel):
    probed_at: str | None
    ok: bool
    status: int | None
    elapsed_ms: int | None
    error_kind: str | None
    detail: str | None
    local_outage: bool


class TargetOut(BaseModel):
    id: str
    kind: str
    name: str
    organizer: str | None
    category: str | None
    platform: str | None
    url: str
    state: str
    state_label: str
    open: dict[str, int]
    last_scan: ScanOut | None


class TargetPageOut(BaseModel):
    total: int
    page: int
    pages: int
    items: list[TargetOut]


class TargetDetailOut(BaseModel):
    target: TargetOut
    findings: list[FindingOut]
    scans: list[ScanOut]
    probes: list[ProbeOut]


class RateOut(BaseModel):
    key: str
    label: str
    passed: int
    failed: int
    total: int
    unchecked: int
    text: str


class WeekOut(BaseModel):
    start: str
    opened: int
    resolved: int


class OverviewOut(BaseModel):
    quarter: str
    sampling: str
    sites: int
    accounts: int
    open_by_severity: dict[str, int]
    open_vetoes: int
    changes_since_yesterday: dict[str, int]
    rates: list[RateOut]
    weekly: list[WeekOut]


class DismissIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="忽略的理由（必填）")

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        value = _clean_text(value)
        if not value.strip():
            raise ValueError("忽略问题时必须注明理由")
        return value


class RescanOut(BaseModel):
    handle: str
    target_id: str
    state: str
    state_label: str
    requested_by: str
    requested_at: str | None
    finished_at: str | None
    scan_id: int | None
    scan_status: str | None
    message: str
    opened: int
    resolved: int
    open_by_severity: dict[str, int]


class MeOut(BaseModel):
    name: str
    role: str
    permissions: list[str]


class FeedbackStatsOut(BaseModel):
    quarter: str
    received: int
    handled_on_time: int
    rate_text: str
    overdue: int


class ErrorOut(BaseModel):
    detail: str

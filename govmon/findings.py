"""The findings lifecycle: open → seen → resolved / dismissed / reopened (DESIGN.md rule 3).

A finding is keyed by (target, check, subject). Each judgement of a target hands its
findings to :func:`record_findings`:

- a key never seen before opens a finding (event ``opened``);
- a key seen again moves ``last_seen`` and refreshes severity, message, url and evidence;
  a material change (severity, url, evidence other than its volatile keys) also writes an
  event ``seen`` — only then, to keep the history small;
- a resolved finding seen again is ``reopened``;
- a dismissed finding stays dismissed while its evidence is unchanged (``last_seen``
  still moves) and is ``reopened`` when the evidence changes;
- after a *complete* scan, open findings of the checks that scan judged which it did not
  see are ``resolved``. An incomplete scan resolves nothing: not seeing a problem in a
  partial crawl proves nothing.

Works the same on SQLite and PostgreSQL: select-then-write inside the caller's
transaction, serialised per target by :func:`govmon.db.write_lock`. Functions flush but
never commit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Set
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from govmon.db import write_lock
from govmon.models import SEVERITIES, Finding, FindingEvent, NaiveDatetimeError, Scan, utcnow

__all__ = [
    "FindingNotFoundError",
    "MAX_SUBJECT_LENGTH",
    "NewFinding",
    "RecordResult",
    "dismiss_finding",
    "evidence_fingerprint",
    "normalize_evidence",
    "record_findings",
    "subject_key",
    "VOLATILE_EVIDENCE_KEYS",
]

MAX_SUBJECT_LENGTH = 500
# Evidence keys that only say when the judgement was made; they change every scan without
# the problem changing, so they are stored but never make the evidence "changed".
VOLATILE_EVIDENCE_KEYS = frozenset({"as_of", "days_since"})
_QUERY_CHUNK = 500


class FindingNotFoundError(LookupError):
    """No finding has the given id."""


@dataclass(frozen=True)
class NewFinding:
    """What a check found, before it meets the stored history.

    ``subject`` names what the finding is about within its target (the page URL for a
    page's dates, the column name for a stale column, the link URL for a broken link):
    the same subject in a later scan is the same finding. ``evidence`` must be
    JSON-serialisable (dates and datetimes are written as ISO strings).

    ``volatile_keys`` are evidence keys that change from scan to scan while the problem
    stays the same (the monitoring time point, a day count, a count of other stale
    columns): they are stored, but a change in them alone neither reopens a dismissed
    finding nor writes a history event. The ``message`` is presentation and is likewise
    refreshed silently.
    """

    check_id: str
    subject: str
    severity: str
    message: str
    url: str | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict, hash=False)
    volatile_keys: frozenset[str] = VOLATILE_EVIDENCE_KEYS

    def __post_init__(self) -> None:
        if not isinstance(self.volatile_keys, frozenset):
            object.__setattr__(self, "volatile_keys", frozenset(self.volatile_keys))
        if not self.check_id:
            raise ValueError("NewFinding needs a check_id")
        if not self.subject:
            raise ValueError(f"{self.check_id}: NewFinding needs a subject")
        if self.severity not in SEVERITIES:
            raise ValueError(f"{self.check_id}: severity must be one of {SEVERITIES}, not {self.severity!r}")


@dataclass
class RecordResult:
    """What :func:`record_findings` did."""

    opened: list[Finding] = field(default_factory=list)
    reopened: list[Finding] = field(default_factory=list)
    resolved: list[Finding] = field(default_factory=list)
    updated: int = 0  # seen again with something changed
    unchanged: int = 0  # seen again, nothing changed
    still_dismissed: int = 0  # seen again while dismissed, evidence unchanged


# --------------------------------------------------------------------------- keys and evidence


def subject_key(subject: str) -> str:
    """The subject as stored in the unique key: trimmed, and at most MAX_SUBJECT_LENGTH long.

    A longer subject (an enormous URL) keeps its start and gets a digest of the whole,
    so distinct subjects stay distinct and the key stays indexable.
    """
    subject = subject.strip()
    if len(subject) <= MAX_SUBJECT_LENGTH:
        return subject
    digest = hashlib.sha256(subject.encode("utf-8")).hexdigest()[:32]
    return f"{subject[: MAX_SUBJECT_LENGTH - 40]}…#{digest}"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise NaiveDatetimeError(f"evidence holds a naive datetime {value.isoformat()}")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if isinstance(value, (Decimal, PurePath)):
        return str(value)
    raise TypeError(f"evidence value of type {type(value).__name__} is not JSON-serialisable: {value!r}")


def normalize_evidence(evidence: Mapping[str, Any]) -> dict[str, Any]:
    """Evidence as it will read back from the database (plain JSON types)."""
    result = json.loads(json.dumps(dict(evidence), ensure_ascii=False, default=_json_default))
    assert isinstance(result, dict)
    return result


def evidence_fingerprint(evidence: Mapping[str, Any], volatile_keys: Iterable[str] = VOLATILE_EVIDENCE_KEYS) -> str:
    """A SHA-256 of the evidence without its volatile keys (key order does not matter)."""
    volatile = frozenset(volatile_keys)
    stable = {k: v for k, v in normalize_evidence(evidence).items() if k not in volatile}
    canonical = json.dumps(stable, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class _Observed:
    check_id: str
    subject: str
    severity: str
    message: str
    url: str | None
    evidence: dict[str, Any]
    evidence_hash: str


def _observe(new: NewFinding) -> _Observed:
    evidence = normalize_evidence(new.evidence)
    return _Observed(
        check_id=new.check_id,
        subject=subject_key(new.subject),
        severity=new.severity,
        message=new.message,
        url=new.url,
        evidence=evidence,
        evidence_hash=evidence_fingerprint(evidence, new.volatile_keys),
    )


# --------------------------------------------------------------------------- recording


def _require_aware(now: datetime) -> None:
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise NaiveDatetimeError(f"'now' must be an aware datetime, got {now!r}")


def _scan_id(scan: Scan | int | None) -> int | None:
    """The scan's id without a database round trip (an expired Scan would reload)."""
    if scan is None or isinstance(scan, int):
        return scan
    state = inspect(scan)
    if state.identity is None:
        raise ValueError("the scan must be flushed (have an id) before findings are recorded against it")
    return int(state.identity[0])


def record_findings(
    session: Session,
    scan: Scan | int | None,
    target_id: str,
    new_findings: Iterable[NewFinding],
    *,
    complete: bool,
    now: datetime,
    judged_checks: Set[str] | None = None,
    covers: Callable[[str, str], bool] | None = None,
) -> RecordResult:
    """Merge one judgement of ``target_id`` into the stored findings (see the module doc).

    ``scan`` is the scan whose observations were judged (None for a judgement not tied to
    one). ``judged_checks`` names the checks this judgement ran; it is required for a
    complete scan, whose unseen open findings of those checks are resolved, and every new
    finding's check must be among them. ``now`` (aware) is when the judgement saw things:
    it becomes ``last_seen``. A judgement older than a finding's latest observation (a
    re-judgement of stored data) never moves ``last_seen`` back and resolves or reopens
    nothing it predates.

    ``covers(check_id, subject)``, when given, says whether this judgement looked at that
    subject (a check that read 5 articles of 500 cannot resolve a finding about another
    one): only covered findings are resolved. Without it, every judged check covers all.

    If the same key comes twice in ``new_findings`` the later one wins.
    Flushes; the caller commits (or rolls back: nothing is half-written).
    """
    _require_aware(now)
    if complete and judged_checks is None:
        raise TypeError("record_findings: a complete scan must say which checks it judged (judged_checks)")
    judged = frozenset(judged_checks or ())
    scan_id = _scan_id(scan)

    observed: dict[tuple[str, str], _Observed] = {}
    for new in new_findings:
        if complete and new.check_id not in judged:
            raise ValueError(f"finding of check {new.check_id!r}, which is not among the judged checks {sorted(judged)}")
        item = _observe(new)
        observed[(item.check_id, item.subject)] = item

    write_lock(session, f"findings:{target_id}")
    # Only the judged checks' open findings can be resolved here: the others are not read.
    stored = _load(session, target_id, observed.keys(), open_of=judged if complete else frozenset())
    result = RecordResult()

    for key, item in observed.items():
        finding = stored.get(key)
        if finding is None:
            finding = Finding(
                target_id=target_id,
                check_id=item.check_id,
                subject=item.subject,
                severity=item.severity,
                message=item.message,
                url=item.url,
                evidence=item.evidence,
                evidence_hash=item.evidence_hash,
                status="open",
                first_seen=now,
                last_seen=now,
                first_scan_id=scan_id,
                last_scan_id=scan_id,
            )
            session.add(finding)
            _event(session, finding, "opened", now, scan_id)
            result.opened.append(finding)
            stored[key] = finding
            continue

        evidence_changed = finding.evidence_hash != item.evidence_hash
        changed = _changed_fields(finding, item)
        if now >= finding.last_seen:
            finding.last_seen = now
            finding.last_scan_id = scan_id
            finding.severity = item.severity
            finding.message = item.message
            finding.url = item.url
            if finding.evidence != item.evidence:
                finding.evidence = item.evidence
            finding.evidence_hash = item.evidence_hash
        else:
            changed = []  # an older observation: history only
        if now < finding.first_seen:
            finding.first_seen = now
            finding.first_scan_id = scan_id

        reopen = (finding.status == "resolved" and (finding.resolved_at is None or now >= finding.resolved_at)) or (
            finding.status == "dismissed"
            and evidence_changed
            and (finding.dismissed_at is None or now >= finding.dismissed_at)
        )
        if reopen:
            note = "证据已变化，重新提出" if finding.status == "dismissed" else None
            finding.status = "open"
            finding.resolved_at = None
            finding.dismissed_at = None
            finding.dismissed_reason = None
            finding.dismissed_by = None
            _event(session, finding, "reopened", now, scan_id, note=note)
            result.reopened.append(finding)
        elif changed:
            _event(session, finding, "seen", now, scan_id, note="更新：" + "、".join(changed))
            result.updated += 1
        elif finding.status == "dismissed":
            result.still_dismissed += 1
        else:
            result.unchanged += 1

    if complete:
        for key, finding in stored.items():
            if (
                finding.status == "open"
                and key not in observed
                and finding.check_id in judged
                and finding.last_seen <= now
                and (covers is None or covers(finding.check_id, finding.subject))
            ):
                finding.status = "resolved"
                finding.resolved_at = now
                _event(session, finding, "resolved", now, scan_id)
                result.resolved.append(finding)

    session.flush()
    return result


def _load(
    session: Session, target_id: str, keys: Iterable[tuple[str, str]], *, open_of: Set[str]
) -> dict[tuple[str, str], Finding]:
    """The target's open findings of the checks ``open_of``, plus any (in any status) with one of ``keys``."""
    stored: dict[tuple[str, str], Finding] = {}
    # populate_existing: a long-lived session must not decide on rows another process has
    # changed since it last read them (the write lock is held now, so this read is current).
    fresh = {"populate_existing": True}
    if open_of:
        for finding in session.scalars(
            select(Finding).where(Finding.target_id == target_id, Finding.status == "open",
                                  Finding.check_id.in_(sorted(open_of))),
            execution_options=fresh,
        ):
            stored[(finding.check_id, finding.subject)] = finding
    by_check: dict[str, list[str]] = {}
    for check_id, subject in keys:
        if (check_id, subject) not in stored:
            by_check.setdefault(check_id, []).append(subject)
    for check_id, subjects in by_check.items():
        for start in range(0, len(subjects), _QUERY_CHUNK):
            chunk = subjects[start : start + _QUERY_CHUNK]
            for finding in session.scalars(
                select(Finding).where(
                    Finding.target_id == target_id,
                    Finding.check_id == check_id,
                    Finding.subject.in_(chunk),
                ),
                execution_options=fresh,
            ):
                stored[(finding.check_id, finding.subject)] = finding
    return stored


def _changed_fields(finding: Finding, item: _Observed) -> list[str]:
    """The material changes (worth a history event): severity, url, non-volatile evidence."""
    changed = []
    if finding.severity != item.severity:
        changed.append(f"严重程度（{finding.severity}→{item.severity}）")
    if finding.url != item.url:
        changed.append("网址")
    if finding.evidence_hash != item.evidence_hash:
        changed.append("证据")
    return changed


def _event(
    session: Session,
    finding: Finding,
    event: str,
    at: datetime,
    scan_id: int | None,
    *,
    actor: str | None = None,
    note: str | None = None,
) -> FindingEvent:
    record = FindingEvent(finding=finding, event=event, at=at, scan_id=scan_id, actor=actor, note=note)
    session.add(record)
    return record


# --------------------------------------------------------------------------- operator actions


def dismiss_finding(
    session: Session, finding_id: int, reason: str, by: str, *, now: datetime | None = None
) -> Finding:
    """Mark a finding as a false positive (误报), with the operator's reason.

    It stays dismissed through later scans while its evidence is unchanged and is raised
    again when the evidence changes. Flushes; the caller commits.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("忽略问题时必须注明理由")
    if not (by or "").strip():
        raise ValueError("忽略问题时必须注明操作人")
    now = now or utcnow()
    _require_aware(now)
    if session.get_bind().dialect.name == "sqlite":
        write_lock(session, "findings")  # SQLite has one write lock: take it before reading
    target_id = session.scalar(select(Finding.target_id).where(Finding.id == finding_id))
    if target_id is None:
        raise FindingNotFoundError(f"没有编号为 {finding_id} 的问题")
    write_lock(session, f"findings:{target_id}")
    finding = session.get(Finding, finding_id, populate_existing=True)
    assert finding is not None
    finding.status = "dismissed"
    finding.dismissed_at = now
    finding.dismissed_reason = reason
    finding.dismissed_by = by.strip()
    finding.resolved_at = None
    _event(session, finding, "dismissed", now, None, actor=by.strip(), note=reason)
    session.flush()
    return finding


# --- listing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A half-open time range [start, end), e.g. a quarter (检查采样时间)."""

    label: str
    start: datetime
    end: datetime


def parse_quarter(text: str, tz: Any) -> Period:
    """``2023Q2`` → 2023-04-01T00:00 up to 2023-07-01T00:00 in ``tz``."""
    import re

    match = re.fullmatch(r"\s*(\d{4})\s*[Qq]([1-4])\s*", text or "")
    if not match:
        raise ValueError(f"季度格式应为 2023Q2 这样的“年份+Q+季度”，而不是 {text!r}")
    year, quarter = int(match[1]), int(match[2])
    start = datetime(year, 3 * quarter - 2, 1, tzinfo=tz)
    end = datetime(year + 1, 1, 1, tzinfo=tz) if quarter == 4 else datetime(year, 3 * quarter + 1, 1, tzinfo=tz)
    return Period(f"{year}Q{quarter}", start, end)


@dataclass(frozen=True)
class FindingQuery:
    target_id: str | None = None
    period: Period | None = None  # findings open at any time in the period


def query_findings(session: Session, query: FindingQuery, tz: Any) -> list[dict[str, Any]]:
    """Findings as INTERFACE.md's JSON objects (plus their ``id``), newest first."""
    from govmon.models import Target

    stmt = select(Finding, Target).join(Target, Finding.target_id == Target.id)
    if query.target_id:
        stmt = stmt.where(Finding.target_id == query.target_id)
    if query.period is not None:
        stmt = stmt.where(Finding.first_seen < query.period.end).where(
            (Finding.resolved_at.is_(None)) | (Finding.resolved_at >= query.period.start)
        )
    stmt = stmt.order_by(Finding.last_seen.desc(), Finding.id.desc())
    return [{"id": finding.id, **finding.to_json(target, tz)} for finding, target in session.execute(stmt)]

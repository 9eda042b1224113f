"""What the console's pages show, read from the store with aggregate queries.

Lists are paginated and their counts computed for the rows shown only, so a province of
15,000 sites and 150,000 accounts renders as fast as a county. The quarter's pass rates
come from :func:`govmon.rollup.pass_rates` (the rollup's verdicts by aggregate queries),
cached by :class:`RatesCache` until the data changes.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from govmon.config import Config
from govmon.findings import Period, parse_quarter
from govmon.models import BrowserAudit, Finding, FindingEvent, Page, Probe, Scan, Target
from govmon.rollup import PassRate, pass_rates, sampling_text

__all__ = [
    "FindingFilter",
    "RatesCache",
    "TargetFilter",
    "current_quarter",
    "list_findings",
    "list_targets",
    "overview",
    "target_detail",
]

TREND_WEEKS = 12
OPEN_VETOES_SHOWN = 20
CHANGES_SHOWN = 20


def current_quarter(config: Config, now: dt.datetime | None = None) -> Period:
    local = (now or dt.datetime.now(dt.UTC)).astimezone(config.tzinfo)
    return parse_quarter(f"{local.year}Q{(local.month - 1) // 3 + 1}", config.tzinfo)


def quarter_choices(config: Config, now: dt.datetime | None = None, count: int = 8) -> list[str]:
    """This quarter and the ``count - 1`` before it, newest first (2026Q4, 2026Q3, …)."""
    local = (now or dt.datetime.now(dt.UTC)).astimezone(config.tzinfo)
    year, quarter = local.year, (local.month - 1) // 3 + 1
    labels = []
    for _ in range(count):
        labels.append(f"{year}Q{quarter}")
        quarter -= 1
        if quarter == 0:
            year, quarter = year - 1, 4
    return labels


# --------------------------------------------------------------------------- the rollup, cached


class RatesCache:
    """The pass rates of a period (:func:`govmon.rollup.pass_rates`), recomputed only when
    findings, scans or the registry changed.

    The data version is read with four indexed MAX queries; a change anywhere (a scan
    finished, a finding dismissed, a target registered) makes the next read recompute.
    """

    def __init__(self, keep: int = 4) -> None:
        self.keep = keep
        self._entries: dict[str, tuple[tuple[Any, ...], dict[str, PassRate]]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def data_version(session: Session) -> tuple[Any, ...]:
        return (
            session.scalar(select(func.max(FindingEvent.id))),
            session.scalar(select(func.max(Scan.id))),
            # a scan that finishes leaves "running" (the count drops); one that starts raises MAX(id)
            session.scalar(select(func.count()).select_from(Scan).where(Scan.status == "running")),
            session.scalar(select(func.max(Target.updated_at))),
        )

    def get(self, session: Session, config: Config, period: Period) -> dict[str, PassRate]:
        version = self.data_version(session)
        with self._lock:
            entry = self._entries.get(period.label)
            if entry is not None and entry[0] == version:
                return entry[1]
        rates = pass_rates(session, config, period)
        with self._lock:
            self._entries[period.label] = (version, rates)
            while len(self._entries) > self.keep:
                self._entries.pop(next(iter(self._entries)))
        return rates


# --------------------------------------------------------------------------- overview


@dataclass
class Overview:
    period: Period
    sampling: str  # 检查采样时间
    rates: dict[str, PassRate]
    sites: int
    accounts: int
    open_by_severity: dict[str, int]
    open_vetoes: list[dict[str, Any]]
    open_veto_count: int
    changes: dict[str, int]  # event -> count in the last 24 hours
    recent_events: list[dict[str, Any]]
    weekly: list[dict[str, Any]]  # week start, opened, resolved
    since: dt.datetime


def overview(session: Session, config: Config, cache: RatesCache, *, period: Period | None = None,
             now: dt.datetime | None = None) -> Overview:
    now = now or dt.datetime.now(dt.UTC)
    period = period or current_quarter(config, now)
    rates = cache.get(session, config, period)
    kinds = dict(session.execute(
        select(Target.kind, func.count()).where(Target.active.is_(True)).group_by(Target.kind)
    ).all())
    open_by_severity = dict(session.execute(
        select(Finding.severity, func.count()).where(Finding.status == "open").group_by(Finding.severity)
    ).all())
    veto_rows = session.execute(
        select(Finding.id, Finding.check_id, Finding.message, Finding.url, Finding.first_seen, Finding.last_seen,
               Target.id.label("target_id"), Target.name, Target.kind, Target.organizer)
        .join(Target, Finding.target_id == Target.id)
        .where(Finding.status == "open", Finding.severity == "veto", Target.active.is_(True))
        .order_by(Finding.first_seen.desc(), Finding.id.desc())
        .limit(OPEN_VETOES_SHOWN)
    ).mappings().all()
    since = now - dt.timedelta(days=1)
    changes = dict(session.execute(
        select(FindingEvent.event, func.count()).where(FindingEvent.at >= since).group_by(FindingEvent.event)
    ).all())
    recent = session.execute(
        select(FindingEvent.event, FindingEvent.at, FindingEvent.actor, FindingEvent.note,
               Finding.id.label("finding_id"), Finding.check_id, Finding.message, Finding.severity,
               Target.id.label("target_id"), Target.name)
        .join(Finding, FindingEvent.finding_id == Finding.id)
        .join(Target, Finding.target_id == Target.id)
        .where(FindingEvent.at >= since, FindingEvent.event != "seen")
        .order_by(FindingEvent.at.desc(), FindingEvent.id.desc())
        .limit(CHANGES_SHOWN)
    ).mappings().all()
    return Overview(
        period=period,
        sampling=sampling_text(period, config.tzinfo),
        rates=rates,
        sites=kinds.get("site", 0),
        accounts=kinds.get("account", 0),
        open_by_severity={k: open_by_severity.get(k, 0) for k in ("veto", "deduct", "notice")},
        open_vetoes=[dict(r) for r in veto_rows],
        open_veto_count=open_by_severity.get("veto", 0),
        changes={k: changes.get(k, 0) for k in ("opened", "resolved", "reopened", "dismissed")},
        recent_events=[dict(r) for r in recent],
        weekly=weekly_trend(session, config, now),
        since=since,
    )


def weekly_trend(session: Session, config: Config, now: dt.datetime, weeks: int = TREND_WEEKS) -> list[dict[str, Any]]:
    """Findings opened (or reopened) and resolved in each of the last ``weeks`` weeks (Monday to Sunday).

    One range count per week over the (at, event) index: no row of the table is read.
    """
    local = now.astimezone(config.tzinfo)
    monday = dt.datetime(local.year, local.month, local.day, tzinfo=config.tzinfo) - dt.timedelta(days=local.weekday())
    starts = [monday - dt.timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    result = []
    for start in starts:
        counts = {"opened": 0, "resolved": 0}
        for event, count in session.execute(
            select(FindingEvent.event, func.count())
            .where(FindingEvent.at >= start, FindingEvent.at < start + dt.timedelta(weeks=1))
            .group_by(FindingEvent.event)
        ):  # no filter on event in SQL: SQLite without statistics would then pick the (event, …) index
            if event in ("opened", "reopened"):
                counts["opened"] += count
            elif event == "resolved":
                counts["resolved"] += count
        result.append({"start": start, "label": start.strftime("%m-%d"), **counts})
    return result


# --------------------------------------------------------------------------- target lists


@dataclass(frozen=True)
class TargetFilter:
    kind: str = "site"
    category: str | None = None  # a site category, or an account platform
    organizer: str | None = None
    check: str | None = None  # targets with an open finding of this check
    problem: str | None = None  # veto | deduct | none: by their open findings
    q: str | None = None  # part of the name
    page: int = 1
    per_page: int = 50


@dataclass
class TargetPage:
    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int
    filter: TargetFilter
    organizers: list[str] = field(default_factory=list)


def _open_with(severity: str | None = None, check: str | None = None) -> Any:
    stmt = select(Finding.target_id).where(Finding.status == "open")
    if severity:
        stmt = stmt.where(Finding.severity == severity)
    if check:
        stmt = stmt.where(Finding.check_id == check)
    return stmt


def _target_query(f: TargetFilter) -> Select[Any]:
    stmt = select(Target).where(Target.kind == f.kind, Target.active.is_(True))
    if f.category:
        stmt = stmt.where(Target.category == f.category if f.kind == "site" else Target.platform == f.category)
    if f.organizer:
        stmt = stmt.where(Target.organizer == f.organizer)
    if f.q:
        stmt = stmt.where(Target.name.contains(f.q, autoescape=True))
    if f.check:
        stmt = stmt.where(Target.id.in_(_open_with(check=f.check)))
    if f.problem in ("veto", "deduct"):
        stmt = stmt.where(Target.id.in_(_open_with(severity=f.problem)))
    elif f.problem == "none":
        stmt = stmt.where(Target.id.not_in(_open_with().where(Finding.severity.in_(("veto", "deduct")))))
    return stmt


def list_targets(session: Session, f: TargetFilter) -> TargetPage:
    base = _target_query(f)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    pages = max(1, -(-total // f.per_page))
    page = min(max(1, f.page), pages)
    targets = session.scalars(base.order_by(Target.name, Target.id).offset((page - 1) * f.per_page).limit(f.per_page)).all()
    ids = [t.id for t in targets]
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"veto": 0, "deduct": 0, "notice": 0})
    last_scans: dict[str, dict[str, Any]] = {}
    if ids:
        for target_id, severity, count in session.execute(
            select(Finding.target_id, Finding.severity, func.count())
            .where(Finding.target_id.in_(ids), Finding.status == "open")
            .group_by(Finding.target_id, Finding.severity)
        ):
            counts[target_id][severity] = count
        latest = (
            select(Scan.target_id, func.max(Scan.started_at).label("started_at"))
            .where(Scan.target_id.in_(ids), Scan.kind.in_(("site", "account")))
            .group_by(Scan.target_id)
            .subquery()
        )
        for scan in session.scalars(
            select(Scan).join(latest, and_(Scan.target_id == latest.c.target_id, Scan.started_at == latest.c.started_at))
        ):
            last_scans[scan.target_id] = {"id": scan.id, "status": scan.status, "started_at": scan.started_at,
                                          "finished_at": scan.finished_at, "error": scan.error}
    rows = []
    for target in targets:
        c = counts[target.id]
        rows.append({"target": target, "open": dict(c), "last_scan": last_scans.get(target.id),
                     "state": target_state(c, last_scans.get(target.id))})
    organizers = [o for o in session.scalars(
        select(Target.organizer).where(Target.kind == f.kind, Target.active.is_(True), Target.organizer.is_not(None))
        .group_by(Target.organizer).order_by(Target.organizer).limit(2000)
    )]
    return TargetPage(rows=rows, total=total, page=page, pages=pages, filter=f, organizers=organizers)


def target_state(open_counts: dict[str, int], last_scan: dict[str, Any] | None) -> tuple[str, str]:
    """(css class, Chinese label) of a target's state for the lists."""
    if open_counts.get("veto"):
        return "veto", "单项否决"
    if open_counts.get("deduct"):
        return "deduct", "有扣分项"
    if last_scan is None:
        return "unchecked", "未检查"
    if last_scan["status"] == "running":
        return "running", "检查中"
    if last_scan["status"] != "complete":
        return "incomplete", "上次检查未完成"
    return "ok", "正常"


# --------------------------------------------------------------------------- one target


@dataclass
class TargetDetail:
    target: Target
    findings: list[Finding]
    events: dict[int, list[FindingEvent]]
    scans: list[Scan]
    probes: list[Probe]
    slowest_pages: list[dict[str, Any]]
    open_counts: dict[str, int]
    load_times: list[dict[str, Any]] = field(default_factory=list)  # the browser's, latest complete scan


PROBE_HISTORY_DAYS = 7


def target_detail(session: Session, target_id: str, *, now: dt.datetime | None = None) -> TargetDetail | None:
    target = session.get(Target, target_id)
    if target is None:
        return None
    now = now or dt.datetime.now(dt.UTC)
    order = case((Finding.status == "open", 0), (Finding.status == "dismissed", 1), else_=2)
    severity = case((Finding.severity == "veto", 0), (Finding.severity == "deduct", 1), else_=2)
    findings = session.scalars(
        select(Finding).where(Finding.target_id == target_id)
        .order_by(order, severity, Finding.last_seen.desc(), Finding.id.desc()).limit(500)
    ).all()
    events: dict[int, list[FindingEvent]] = defaultdict(list)
    ids = [f.id for f in findings]
    for start in range(0, len(ids), 500):
        for event in session.scalars(
            select(FindingEvent).where(FindingEvent.finding_id.in_(ids[start : start + 500]))
            .order_by(FindingEvent.at, FindingEvent.id)
        ):
            events[event.finding_id].append(event)
    scans = session.scalars(
        select(Scan).where(Scan.target_id == target_id).order_by(Scan.started_at.desc(), Scan.id.desc()).limit(20)
    ).all()
    probes = session.scalars(
        select(Probe).where(Probe.target_id == target_id, Probe.probed_at > now - dt.timedelta(days=PROBE_HISTORY_DAYS))
        .order_by(Probe.probed_at, Probe.id).limit(2000)
    ).all()
    # Response times of the latest complete scan's pages, and the load times the browser measured
    # (page.slow: the median of its loads, slowest first; pages it could not measure last).
    last_complete = next((s for s in scans if s.status == "complete" and s.kind == "site"), None)
    slowest: list[dict[str, Any]] = []
    if last_complete is not None:
        slowest = [dict(r) for r in session.execute(
            select(Page.url, Page.title, Page.status_code, Page.elapsed_ms, Page.page_type)
            .where(Page.scan_id == last_complete.id, Page.elapsed_ms.is_not(None))
            .order_by(Page.elapsed_ms.desc(), Page.id).limit(10)
        ).mappings()]
    load_times: list[dict[str, Any]] = []
    if last_complete is not None:
        for audit in session.scalars(select(BrowserAudit).where(BrowserAudit.scan_id == last_complete.id)
                                     .order_by(BrowserAudit.load_ms.desc().nulls_last(), BrowserAudit.id).limit(20)):
            details = audit.details or {}
            load_times.append({"url": audit.url, "page_type": audit.page_type, "measured": audit.measured,
                               "reason": audit.reason, "load_ms": audit.load_ms, "loads_ms": details.get("loads_ms") or [],
                               "ttfb_ms": details.get("ttfb_ms"), "lcp_ms": details.get("lcp_ms"),
                               "bytes": details.get("bytes"), "profile": details.get("profile")})
    open_counts = {"veto": 0, "deduct": 0, "notice": 0}
    for f in findings:
        if f.status == "open":
            open_counts[f.severity] = open_counts.get(f.severity, 0) + 1
    return TargetDetail(target, list(findings), dict(events), list(scans), list(probes), slowest, open_counts,
                        load_times)


# --------------------------------------------------------------------------- findings


@dataclass(frozen=True)
class FindingFilter:
    status: str | None = "open"  # open | resolved | dismissed | None (all)
    severity: str | None = None
    check: str | None = None
    kind: str | None = None
    category: str | None = None
    organizer: str | None = None
    target: str | None = None
    period: Period | None = None  # open at any time in the period
    page: int = 1
    per_page: int = 50


def _finding_query(f: FindingFilter) -> Select[Any]:
    stmt = select(Finding, Target).join(Target, Finding.target_id == Target.id)
    if f.status:
        stmt = stmt.where(Finding.status == f.status)
    if f.severity:
        stmt = stmt.where(Finding.severity == f.severity)
    if f.check:
        stmt = stmt.where(Finding.check_id == f.check)
    if f.kind:
        stmt = stmt.where(Target.kind == f.kind)
    if f.category:
        stmt = stmt.where(or_(Target.category == f.category, Target.platform == f.category))
    if f.organizer:
        stmt = stmt.where(Target.organizer == f.organizer)
    if f.target:
        stmt = stmt.where(Finding.target_id == f.target)
    if f.period is not None:
        stmt = stmt.where(Finding.first_seen < f.period.end).where(
            or_(Finding.resolved_at.is_(None), Finding.resolved_at >= f.period.start)
        )
    return stmt


def list_findings(session: Session, f: FindingFilter) -> tuple[list[tuple[Finding, Target]], int, int, int]:
    """(rows of the page, total, page, pages), newest first."""
    base = _finding_query(f)
    total = session.scalar(select(func.count()).select_from(base.with_only_columns(Finding.id).subquery())) or 0
    pages = max(1, -(-total // f.per_page))
    page = min(max(1, f.page), pages)
    rows = session.execute(
        base.order_by(Finding.last_seen.desc(), Finding.id.desc()).offset((page - 1) * f.per_page).limit(f.per_page)
    ).all()
    return [(finding, target) for finding, target in rows], total, page, pages


def export_findings(session: Session, f: FindingFilter, tz: Any, limit: int = 200_000) -> list[dict[str, Any]]:
    """Every finding the filter selects (up to ``limit``), as INTERFACE.md's JSON plus ``id``."""
    stmt = _finding_query(f).order_by(Finding.last_seen.desc(), Finding.id.desc()).limit(limit)
    return [{"id": finding.id, **finding.to_json(target, tz)} for finding, target in session.execute(stmt)]

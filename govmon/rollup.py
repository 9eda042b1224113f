"""Quarter verdicts, pass rates and the annex tables of the quarterly notice (CHECKS.md).

For a :class:`~govmon.findings.Period` (a quarter, or any 检查采样时间), every active
target gets a verdict:

- 不合格 when any ``veto`` finding was open at any time in the period;
- otherwise, for a website, 不合格 when 100 minus the deduction points of its ``deduct``
  findings (``points`` per finding, ``max_points`` per check, from the config) is below
  ``checks.fail_below``; new media are judged on veto findings only;
- otherwise 合格 — but only when a complete scan of the target ran in the period. A
  target nobody looked at is 未检查: reported apart and never counted as passing. (A
  found problem proves itself, so a target with a failing finding is 不合格 even when
  its scans in the period were incomplete.)

Dismissed findings (误报) never count; notices never affect a verdict and are not
突出问题. Every counted finding (veto or deduct) is a 突出问题 of the annexes, worded as
the inspectors word it (内容发布审核不严, 监测时间点前1周内无更新, …).

Pass rates are exact :class:`fractions.Fraction` values with the printed form set by
``config.report`` (91%, 99.5%).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from govmon.config import CATEGORIES, Config
from govmon.findings import Period
from govmon.models import Finding, FindingEvent, Scan, Target

__all__ = [
    "CATEGORY_ORDER",
    "RATE_LABELS",
    "PassRate",
    "Rollup",
    "TargetVerdict",
    "build_rollup",
    "pass_rates",
    "date_range_period",
    "finding_phrase",
    "sampling_text",
]

PASS, FAIL, UNCHECKED = "合格", "不合格", "未检查"

CATEGORY_ORDER: tuple[str, ...] = ("county_portal", "department_site", "department_channel")
RATE_LABELS: dict[str, str] = {
    "county_portal": "县区门户",
    "department_site": "市直部门独立站点",
    "department_channel": "市直部门子频道",
    "websites": "政府网站合计",
    "new_media": "政务新媒体",
}

_CONTENT_CHECKS = {
    "content.date_order": "发布日期早于成文日期",
    "content.title_mismatch": "文不对题",
    "content.serious_error": "严重表述错误",
}

# How the inspectors word each check in a notice (the 突出问题 column of the annexes).
_PHRASES: dict[str, str] = {
    "site.unreachable": "站点无法访问",
    "site.homepage_stale": "首页长期未更新",
    "column.stale": "栏目不更新",
    "column.empty": "存在空白栏目",
    "links.broken": "存在不可用链接",
    "links.external_unsafe": "存在不良外链或暗链",
    "site.identifiers": "网站标识不全",
    "page.slow": "页面加载缓慢",
    "page.render": "页面存在兼容性问题",
    "site.mobile": "未适配移动端",
    "site.elderly": "适老化与无障碍改造不到位",
    "account.serious_error": "存在严重表述错误",
    "account.unreachable": "账号无法访问",
    "interaction.missing": "互动回应差（无可用的网上咨询渠道）",
    "interaction.unanswered": "互动回应差（留言超期未回复）",
    "site.zhaocuo_entry": "首页缺少“我为政府网站找错”入口",
    "site.search": "站内搜索不可用",
    "site.https": "HTTPS证书问题",
    "site.ipv6": "未支持IPv6访问",
    "account.no_interaction": "未开放互动功能",
    "content.undated": "文章未注明发布时间",
}

# Checks whose findings are counted (per site) rather than listed one by one.
_COUNTED = {"column.stale": "个", "column.empty": "个", "links.broken": "个"}


@dataclass(frozen=True)
class CountedFinding:
    """A finding that was open in the period, as the rollup sees it."""

    id: int
    target_id: str
    check_id: str
    severity: str  # effective severity (config override applied)
    message: str
    url: str | None
    evidence: dict[str, Any]
    first_seen: dt.datetime
    last_seen: dt.datetime
    status: str
    points: Fraction = Fraction(0)
    resolved_at: dt.datetime | None = None


@dataclass
class TargetVerdict:
    target_id: str
    kind: str  # site | account
    name: str
    organizer: str | None
    category: str | None
    platform: str | None
    url: str
    verdict: str = PASS  # 合格 | 不合格 | 未检查
    score: Fraction | None = None  # websites: 100 minus the deductions
    checked: bool = False  # a complete scan ran in the period
    reasons: list[str] = field(default_factory=list)  # why 不合格
    problems: list[str] = field(default_factory=list)  # 突出问题 (veto and deduct findings)
    findings: list[CountedFinding] = field(default_factory=list)  # every non-dismissed one

    @property
    def failed(self) -> bool:
        return self.verdict == FAIL

    @property
    def problems_text(self) -> str:
        return "；".join(self.problems)

    @property
    def score_text(self) -> str:
        return "" if self.score is None else _number(self.score)


RECTIFIED, LATE, IN_PROGRESS, OVERDUE = "已整改", "逾期整改", "整改中", "逾期未整改"


@dataclass(frozen=True)
class Rectification:
    """The 整改 state of one flagged target: its counted findings against the deadline."""

    verdict: TargetVerdict
    deadline: dt.date
    state: str  # 已整改 | 逾期整改 | 整改中 | 逾期未整改
    open_count: int
    rectified_at: dt.datetime | None  # when the last counted finding was resolved


@dataclass(frozen=True)
class PassRate:
    key: str
    label: str
    passed: int
    total: int  # checked targets (合格 + 不合格)
    unchecked: int
    value: Fraction | None  # passed / total, None when total is 0
    text: str  # as printed: 91%, 99.5%, —

    def as_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "passed": self.passed,
            "failed": self.total - self.passed,
            "total": self.total,
            "unchecked": self.unchecked,
            "rate": None if self.value is None else f"{self.value.numerator}/{self.value.denominator}",
            "text": self.text,
        }


@dataclass
class Rollup:
    period: Period
    sampling: str  # 检查采样时间：2023年4月1日至6月30日
    timezone: str
    fail_below: float
    verdicts: list[TargetVerdict]
    rates: dict[str, PassRate]
    feedback: dict[str, Any] | None = None
    rectification: list[Rectification] | None = None
    deadline: dt.date | None = None

    @property
    def sites(self) -> list[TargetVerdict]:
        return [v for v in self.verdicts if v.kind == "site"]

    @property
    def accounts(self) -> list[TargetVerdict]:
        return [v for v in self.verdicts if v.kind == "account"]

    @property
    def annex_sites(self) -> list[TargetVerdict]:
        """Annex 1: every website with a 突出问题, failing or not."""
        return [v for v in self.sites if v.problems]

    @property
    def annex_accounts(self) -> list[TargetVerdict]:
        """Annex 2: every account with a 突出问题, failing or not."""
        return [v for v in self.accounts if v.problems]

    @property
    def unchecked(self) -> list[TargetVerdict]:
        return [v for v in self.verdicts if v.verdict == UNCHECKED]

    def findings(self) -> list[tuple[TargetVerdict, CountedFinding]]:
        """Every non-dismissed finding open in the period, by target then check."""
        return [(v, f) for v in self.verdicts for f in v.findings]

    def as_json(self, tz: Any) -> dict[str, Any]:
        from govmon.models import format_time

        def verdict(v: TargetVerdict) -> dict[str, Any]:
            return {
                "target": v.name,
                "target_id": v.target_id,
                "kind": v.kind,
                "organizer": v.organizer,
                "category": v.category,
                "platform": v.platform,
                "url": v.url,
                "verdict": v.verdict,
                "score": None if v.score is None else _number(v.score),
                "reasons": list(v.reasons),
                "problems": list(v.problems),
            }

        data: dict[str, Any] = {
            "period": {
                "label": self.period.label,
                "start": format_time(self.period.start, tz),
                "end": format_time(self.period.end, tz),
                "sampling": self.sampling,
            },
            "fail_below": self.fail_below,
            "rates": {key: rate.as_json() for key, rate in self.rates.items()},
            "verdicts": [verdict(v) for v in self.verdicts],
            "annex1": [verdict(v) for v in self.annex_sites],
            "annex2": [verdict(v) for v in self.annex_accounts],
            "unchecked": [verdict(v) for v in self.unchecked],
            "findings": [finding_json(v, f, tz) for v, f in self.findings()],
        }
        if self.feedback is not None:
            data["feedback"] = self.feedback
        if self.rectification is not None:
            data["rectification"] = {
                "deadline": self.deadline.isoformat() if self.deadline else None,
                "targets": [
                    {"target": r.verdict.name, "target_id": r.verdict.target_id, "kind": r.verdict.kind,
                     "organizer": r.verdict.organizer, "problems": list(r.verdict.problems),
                     "deadline": r.deadline.isoformat(), "state": r.state, "open": r.open_count,
                     "rectified_at": format_time(r.rectified_at, tz)}
                    for r in self.rectification
                ],
            }
        return data

    @property
    def overdue(self) -> list[Rectification]:
        """Flagged targets not rectified by their deadline (逾期未整改 and 逾期整改)."""
        return [r for r in self.rectification or () if r.state in (OVERDUE, LATE)]


def finding_json(verdict: TargetVerdict, finding: CountedFinding, tz: Any) -> dict[str, Any]:
    """INTERFACE.md's Finding JSON (plus ``id``) for a finding of the rollup."""
    from govmon.models import format_time

    return {
        "id": finding.id,
        "target": verdict.name,
        "target_id": verdict.target_id,
        "kind": verdict.kind,
        "organizer": verdict.organizer,
        "category": verdict.category,
        "check": finding.check_id,
        "severity": finding.severity,
        "message": finding.message,
        "url": finding.url,
        "evidence": dict(finding.evidence or {}),
        "first_seen": format_time(finding.first_seen, tz),
        "last_seen": format_time(finding.last_seen, tz),
        "status": finding.status,
    }


# --------------------------------------------------------------------------- periods


def date_range_period(start: dt.date, end: dt.date, tz: Any) -> Period:
    """The days ``start`` to ``end`` inclusive, in ``tz``, as a half-open Period."""
    if end < start:
        raise ValueError(f"结束日期（{end}）早于开始日期（{start}）")
    begin = dt.datetime(start.year, start.month, start.day, tzinfo=tz)
    stop = dt.datetime(end.year, end.month, end.day, tzinfo=tz) + dt.timedelta(days=1)
    return Period(f"{start.isoformat()}至{end.isoformat()}", begin, stop)


def sampling_text(period: Period, tz: Any) -> str:
    """``2023年4月1日至6月30日`` (the year repeated only when it changes)."""
    first = period.start.astimezone(tz).date()
    last = (period.end.astimezone(tz) - dt.timedelta(microseconds=1)).date()
    head = f"{first.year}年{first.month}月{first.day}日"
    if last == first:
        return head
    tail = f"{last.month}月{last.day}日" if last.year == first.year else f"{last.year}年{last.month}月{last.day}日"
    return f"{head}至{tail}"


# --------------------------------------------------------------------------- wording


def _number(value: Fraction) -> str:
    """A score for people: 100, 57.5, 99.9 (up to 2 decimals, no trailing zeros)."""
    text = f"{Decimal(value.numerator) / Decimal(value.denominator):.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _weeks(days: int) -> str:
    return f"{days // 7}周" if days % 7 == 0 else f"{days}天"


def _stale_days(finding: CountedFinding, config: Config) -> int:
    settings = config.check_settings("account.stale")
    for key in ("threshold_days", "limit_days", "window_days"):
        value = finding.evidence.get(key)
        if isinstance(value, int) and value > 0:
            return value
    if finding.severity == "veto":
        return int(getattr(settings, "veto_days", 14))
    return int(getattr(settings, "flag_days", 7))


def finding_phrase(finding: CountedFinding, config: Config) -> str:
    """One finding as the inspectors word it (without counts or content details)."""
    if finding.check_id == "account.stale":
        return f"监测时间点前{_weeks(_stale_days(finding, config))}内无更新"
    if finding.check_id in _CONTENT_CHECKS:
        return f"内容发布审核不严，存在{_CONTENT_CHECKS[finding.check_id]}问题"
    return _PHRASES.get(finding.check_id, finding.check_id)


def _problems(findings: Sequence[CountedFinding], config: Config) -> list[str]:
    """The 突出问题 of one target: vetoes first, each kind once, with counts and details."""
    ordered = sorted(findings, key=lambda f: (f.severity != "veto", f.first_seen, f.id))
    content: list[str] = []
    counts: dict[str, int] = defaultdict(int)
    phrases: list[str] = []
    for finding in ordered:
        if finding.check_id in _CONTENT_CHECKS:
            detail = _CONTENT_CHECKS[finding.check_id]
            if detail not in content:
                content.append(detail)
            key = "内容发布审核不严"
        elif finding.check_id in _COUNTED:
            counts[finding.check_id] += 1
            key = finding.check_id
        else:
            key = finding_phrase(finding, config)
        if key not in phrases:
            phrases.append(key)
    result = []
    for key in phrases:
        if key == "内容发布审核不严":
            result.append(f"内容发布审核不严，存在{'、'.join(content)}问题")
        elif key in _COUNTED:
            result.append(f"{_PHRASES[key]}（{counts[key]}{_COUNTED[key]}）")
        else:
            result.append(key)
    # account.stale: a 2-week veto makes the 1-week flag redundant
    stale = [p for p in result if re.fullmatch(r"监测时间点前.+内无更新", p)]
    if len(stale) > 1:
        keep = stale[0]  # the veto sorts first
        result = [p for p in result if p not in stale or p == keep]
    return result


# --------------------------------------------------------------------------- scoring


@functools.lru_cache(maxsize=256)
def _decimal_points(value: float) -> Fraction:
    return Fraction(Decimal(str(value)))


def _points(evidence: dict[str, Any], check_id: str, config: Config) -> Fraction:
    settings = config.check_settings(check_id)
    points = getattr(settings, "points", 0.0) or 0.0
    if check_id == "links.broken" and evidence.get("on_home"):
        points = getattr(settings, "home_points", points)
    return _decimal_points(float(points))


def _score(findings: Iterable[CountedFinding], config: Config) -> Fraction:
    by_check: dict[str, Fraction] = defaultdict(Fraction)
    for finding in findings:
        if finding.severity == "deduct":
            by_check[finding.check_id] += finding.points
    total = Fraction(0)
    for check_id, points in by_check.items():
        cap = config.check_settings(check_id).max_points
        if cap is not None:
            points = min(points, Fraction(Decimal(str(cap))))
        total += points
    return max(Fraction(0), Fraction(100) - total)


# --------------------------------------------------------------------------- loading


def _open_in_period(period: Period) -> Any:
    return (
        (Finding.first_seen < period.end)
        & ((Finding.resolved_at.is_(None)) | (Finding.resolved_at >= period.start))
        & (Finding.status != "dismissed")
    )


def _reopened_outside(session: Session, period: Period) -> set[int]:
    """Findings the simple test above admits but whose open intervals all miss the period.

    A finding resolved and later reopened forgets its ``resolved_at``; its events tell
    when it was open. Only findings with a ``reopened`` event need this.
    """
    # The few reopened findings first (index on event), then which of them the period admits.
    ever_reopened = select(FindingEvent.finding_id).where(FindingEvent.event == "reopened")
    reopened = select(Finding.id).where(Finding.id.in_(ever_reopened), _open_in_period(period))
    rows = session.execute(
        select(FindingEvent.finding_id, FindingEvent.event, FindingEvent.at)
        .where(FindingEvent.finding_id.in_(reopened), FindingEvent.event.in_(("opened", "resolved", "reopened")))
        .order_by(FindingEvent.finding_id, FindingEvent.at, FindingEvent.id)
    ).all()
    history: dict[int, list[tuple[str, dt.datetime]]] = defaultdict(list)
    for finding_id, event, at in rows:
        history[finding_id].append((event, at))
    outside: set[int] = set()
    for finding_id, events in history.items():
        overlaps = False
        opened_at: dt.datetime | None = None
        for event, at in events:
            if event in ("opened", "reopened"):
                opened_at = at if opened_at is None else opened_at
            elif event == "resolved" and opened_at is not None:
                if opened_at < period.end and at >= period.start:
                    overlaps = True
                opened_at = None
        if opened_at is not None and opened_at < period.end:
            overlaps = True
        if not overlaps:
            outside.add(finding_id)
    return outside


def _checked_targets(session: Session, period: Period) -> set[str]:
    """Targets with a complete site/account scan whose monitoring time point is in the period."""
    stmt = (
        select(Scan.target_id)
        .where(
            Scan.status == "complete",
            Scan.kind.in_(("site", "account")),
            Scan.as_of >= period.start,
            Scan.as_of < period.end,
        )
        .group_by(Scan.target_id)
    )
    return set(session.scalars(stmt))


# --------------------------------------------------------------------------- the rollup


def build_rollup(
    session: Session,
    config: Config,
    period: Period,
    *,
    feedback: Sequence[Any] | None = None,
    deadline: dt.date | None = None,
    now: dt.datetime | None = None,
) -> Rollup:
    """Verdicts of every active target and the pass rates for ``period``.

    ``feedback``: the 我为政府网站找错 messages (:class:`govmon.feedback.FeedbackMessage`)
    whose 办结率 the rollup reports; None leaves the figures to be filled in.
    ``deadline``: the 整改 deadline of every flagged target (a day, in the configured zone);
    with it the rollup says which were rectified in time and which are overdue as of
    ``now`` (default: now).
    """
    tz = config.tzinfo
    targets = session.execute(
        select(
            Target.id, Target.kind, Target.name, Target.organizer, Target.category, Target.platform, Target.url
        ).where(Target.active.is_(True))
    ).all()
    verdicts: dict[str, TargetVerdict] = {
        row.id: TargetVerdict(
            target_id=row.id,
            kind=row.kind,
            name=row.name,
            organizer=row.organizer,
            category=row.category,
            platform=row.platform,
            url=row.url,
        )
        for row in targets
    }
    checked = _checked_targets(session, period)
    outside = _reopened_outside(session, period)

    columns = (
        Finding.id, Finding.target_id, Finding.check_id, Finding.severity, Finding.message, Finding.url,
        Finding.evidence, Finding.first_seen, Finding.last_seen, Finding.status, Finding.resolved_at,
    )
    stmt = (
        select(*columns)
        .join(Target, Finding.target_id == Target.id)
        .where(Target.active.is_(True), _open_in_period(period))
        .order_by(Finding.target_id, Finding.id)
        .execution_options(yield_per=10_000)
    )
    settings_of: dict[str, Any] = {}
    for row in session.execute(stmt):
        if row.id in outside:
            continue
        verdict = verdicts.get(row.target_id)
        if verdict is None:
            continue
        check_id = row.check_id
        if check_id not in settings_of:
            try:
                settings_of[check_id] = config.check_settings(check_id)
            except KeyError:
                settings_of[check_id] = None
        settings = settings_of[check_id]
        if settings is not None and not settings.enabled:
            continue
        severity = row.severity
        if settings is not None and settings.severity is not None and check_id != "account.stale":
            severity = settings.severity
        evidence = dict(row.evidence or {})
        points = _points(evidence, check_id, config) if settings is not None and severity == "deduct" else Fraction(0)
        verdict.findings.append(
            CountedFinding(
                id=row.id,
                target_id=row.target_id,
                check_id=check_id,
                severity=severity,
                message=row.message,
                url=row.url,
                evidence=evidence,
                first_seen=row.first_seen,
                last_seen=row.last_seen,
                status=row.status,
                points=points,
                resolved_at=row.resolved_at,
            )
        )

    fail_below = Fraction(Decimal(str(config.checks.fail_below)))
    for verdict in verdicts.values():
        verdict.checked = verdict.target_id in checked
        counted = [f for f in verdict.findings if f.severity in ("veto", "deduct")]
        vetoes = [f for f in counted if f.severity == "veto"]
        verdict.problems = _problems(counted, config)
        if verdict.kind == "site":
            verdict.score = _score(counted, config)
        if vetoes:
            verdict.verdict = FAIL
            verdict.reasons = _problems(vetoes, config)
        elif verdict.kind == "site" and verdict.score is not None and verdict.score < fail_below:
            verdict.verdict = FAIL
            verdict.reasons = [f"得分{_number(verdict.score)}分，低于{_number(fail_below)}分"]
        elif not verdict.checked:
            verdict.verdict = UNCHECKED
        else:
            verdict.verdict = PASS

    order = {key: index for index, key in enumerate(CATEGORY_ORDER)}
    ordered = sorted(
        verdicts.values(),
        key=lambda v: (v.kind != "site", order.get(v.category or "", 99), v.name, v.target_id),
    )
    for verdict in ordered:
        verdict.findings.sort(key=lambda f: ({"veto": 0, "deduct": 1}.get(f.severity, 2), f.first_seen, f.id))

    rates = _rates(ordered, config)
    stats = None
    if feedback is not None:
        from govmon.feedback import feedback_stats

        stats = feedback_stats(feedback, period, config.report.websites, tz)
    rectification = None
    if deadline is not None:
        rectification = rectification_states(ordered, deadline, now or dt.datetime.now(dt.UTC), tz)
    return Rollup(
        period=period,
        sampling=sampling_text(period, tz),
        timezone=config.timezone,
        fail_below=float(config.checks.fail_below),
        verdicts=ordered,
        rates=rates,
        feedback=stats,
        rectification=rectification,
        deadline=deadline,
    )


def pass_rates(session: Session, config: Config, period: Period) -> dict[str, PassRate]:
    """``build_rollup(...).rates`` by aggregate queries: the same verdicts, no per-finding objects.

    For the console's overview, which must answer in well under a second for a province
    (15,000 sites, 150,000 accounts): vetoes are found and deduction points summed in the
    database, and the verdicts counted there per category; only the per-check point sums
    of sites with deductions reach Python.
    """
    from govmon.config import CHECK_IDS

    outside = _reopened_outside(session, period)
    if len(outside) > 5000:  # too many to exclude in SQL: take the long way
        return build_rollup(session, config, period).rates
    disabled: list[str] = []
    overridden: dict[str, str] = {}
    for check_id in CHECK_IDS:
        settings = config.check_settings(check_id)
        if not settings.enabled:
            disabled.append(check_id)
        elif settings.severity is not None and check_id != "account.stale":
            overridden[check_id] = settings.severity

    def effective(severity: str) -> Any:
        """SQL: the finding's severity after the config's override is ``severity``."""
        if not overridden:  # the usual case: a plain condition the (severity, …) index serves
            return Finding.severity == severity
        by_override = [c for c, s in overridden.items() if s == severity]
        stored = (Finding.severity == severity) & Finding.check_id.not_in(list(overridden))
        return Finding.check_id.in_(by_override or [""]) | stored

    counted = (
        _open_in_period(period)
        & Finding.check_id.not_in(disabled or [""])
        & Finding.id.not_in(sorted(outside) or [-1])
    )
    vetoed = select(Finding.target_id).where(counted, effective("veto"))
    on_home = case((Finding.check_id == "links.broken", Finding.evidence["on_home"].as_boolean()), else_=False)
    # Decimal, not Fraction: every point value is a short decimal, so sums are exact and 5x faster.
    per_check: dict[tuple[str, bool], Decimal] = {}
    counts: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for target_id, check_id, home, count in session.execute(
        select(Finding.target_id, Finding.check_id, on_home, func.count())
        .join(Target, Finding.target_id == Target.id)
        .where(counted, effective("deduct"), Target.kind == "site", Finding.check_id.in_(CHECK_IDS))
        .group_by(Finding.target_id, Finding.check_id, on_home)
    ):
        key = (check_id, bool(home))
        if key not in per_check:
            value = _points({"on_home": key[1]}, check_id, config)
            per_check[key] = Decimal(value.numerator) / Decimal(value.denominator)
        counts[target_id][check_id] += count * per_check[key]
    caps = {c: Decimal(str(config.check_settings(c).max_points)) for c in CHECK_IDS
            if config.check_settings(c).max_points is not None}
    fail_below = Decimal(str(config.checks.fail_below))
    low_score = []
    for target_id, by_check in counts.items():
        total = sum((min(v, caps[c]) if c in caps else v for c, v in by_check.items()), Decimal(0))
        if max(Decimal(0), Decimal(100) - total) < fail_below:
            low_score.append(target_id)
    checked = (
        select(Scan.target_id)
        .where(Scan.status == "complete", Scan.kind.in_(("site", "account")),
               Scan.as_of >= period.start, Scan.as_of < period.end)
    )
    verdict = case(
        (Target.id.in_(vetoed) | Target.id.in_(low_score or [""]), FAIL),
        (Target.id.in_(checked), PASS),
        else_=UNCHECKED,
    )
    tally: dict[str, Counter[str]] = defaultdict(Counter)
    for kind, category, outcome, count in session.execute(
        select(Target.kind, Target.category, verdict, func.count())
        .where(Target.active.is_(True))
        .group_by(Target.kind, Target.category, verdict)
    ):
        for group in _rate_groups(kind, category):
            tally[group][outcome] += count
    return _rates_from_tally(tally, config)


def _rate_groups(kind: str, category: str | None) -> tuple[str, ...]:
    """The pass-rate groups a target counts in."""
    return (category or "", "websites") if kind == "site" else ("new_media",)


def _rates(verdicts: Sequence[TargetVerdict], config: Config) -> dict[str, PassRate]:
    tally: dict[str, Counter[str]] = defaultdict(Counter)
    for verdict in verdicts:
        for group in _rate_groups(verdict.kind, verdict.category):
            tally[group][verdict.verdict] += 1
    return _rates_from_tally(tally, config)


def _rates_from_tally(tally: dict[str, Counter[str]], config: Config) -> dict[str, PassRate]:
    rates: dict[str, PassRate] = {}
    for key, label in RATE_LABELS.items():
        passed, failed, unchecked = tally[key][PASS], tally[key][FAIL], tally[key][UNCHECKED]
        total = passed + failed
        form = config.report.new_media if key == "new_media" else config.report.websites
        rates[key] = PassRate(
            key=key,
            label=label,
            passed=passed,
            total=total,
            unchecked=unchecked,
            value=Fraction(passed, total) if total else None,
            text=form.format(passed, total),
        )
    return rates


def category_label(category: str | None) -> str:
    return CATEGORIES.get(category or "", "")


def rectification_states(
    verdicts: Sequence[TargetVerdict], deadline: dt.date, now: dt.datetime, tz: Any
) -> list[Rectification]:
    """The 整改 state of every flagged target (one with a 突出问题), overdue ones first.

    A target is rectified when every counted finding is resolved now; in time when the
    last was resolved by the end of the deadline day (in ``tz``). Otherwise it is 整改中
    until the deadline passes and 逾期未整改 after.
    """
    end_of_deadline = dt.datetime(deadline.year, deadline.month, deadline.day, tzinfo=tz) + dt.timedelta(days=1)
    order = {OVERDUE: 0, LATE: 1, IN_PROGRESS: 2, RECTIFIED: 3}
    items = []
    for verdict in verdicts:
        counted = [f for f in verdict.findings if f.severity in ("veto", "deduct")]
        if not counted:
            continue
        still_open = [f for f in counted if f.status == "open"]
        rectified_at = None
        if still_open:
            state = OVERDUE if now >= end_of_deadline else IN_PROGRESS
        else:
            times = [f.resolved_at for f in counted if f.resolved_at is not None]
            rectified_at = max(times) if times else None
            state = LATE if rectified_at is not None and rectified_at >= end_of_deadline else RECTIFIED
        items.append(Rectification(verdict, deadline, state, len(still_open), rectified_at))
    items.sort(key=lambda r: order[r.state])
    return items

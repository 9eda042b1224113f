"""The nightly re-judgement: findings that time alone brings about, without a new scan.

A column whose newest item was 13 days old at yesterday's scan is stale on day 15 even if
nothing is scanned today. Each night `govmon run` re-runs the checks over each site's
latest *complete* scan with now as the monitoring point (:func:`govmon.scan.judge_site_scan`,
the same judgement a scan ends with, alerts included), then refreshes the current
quarter's rollup (pass rates, logged).

What the re-judgement may resolve: only when that complete scan is also the site's newest
finished scan. If an incomplete or failed scan came after it, findings that scan opened
are not in the older data, and not seeing them proves nothing, so nothing is resolved.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from govmon.config import Config
from govmon.db import write_lock
from govmon.models import Scan, utcnow


@dataclass
class NightlyReport:
    judged: int = 0  # sites re-judged
    skipped: list[str] = field(default_factory=list)  # sites with no complete scan
    opened: int = 0
    resolved: int = 0
    rates: dict[str, str] = field(default_factory=dict)  # the quarter's pass rates, printed

    def summary(self) -> str:
        rates = "，".join(f"{k} {v}" for k, v in self.rates.items()) or "无"
        return (f"夜间复核：重新判定 {self.judged} 个网站（无完整扫描而跳过 {len(self.skipped)} 个），"
                f"新发现 {self.opened} 个问题，已解决 {self.resolved} 个；本季度合格率：{rates}")


def rejudge_site(session: Session, config: Config, target_id: str, now: dt.datetime) -> tuple[int, int] | None:
    """Re-judge one site's latest complete scan at ``now``; (opened, resolved), or None when
    the site has no complete scan."""
    from govmon.scan import judge_site_scan

    write_lock(session, f"scan:{target_id}")
    latest = session.scalars(
        select(Scan).where(Scan.target_id == target_id, Scan.kind == "site", Scan.status == "complete")
        .order_by(Scan.started_at.desc(), Scan.id.desc()).limit(1)
    ).first()
    if latest is None:
        return None
    newer_unfinished = session.scalar(
        select(Scan.id).where(Scan.target_id == target_id, Scan.kind == "site",
                              Scan.status.in_(("incomplete", "failed")), Scan.started_at > latest.started_at).limit(1)
    )
    _, recorded = judge_site_scan(session, config, latest, as_of=now.astimezone(config.tzinfo), complete=True,
                                  resolve=newer_unfinished is None, now=now)
    return len(recorded.opened) + len(recorded.reopened), len(recorded.resolved)


def refresh_rollup(session: Session, config: Config, now: dt.datetime) -> dict[str, str]:
    """The current quarter's pass rates, as printed in the notice."""
    from govmon.findings import parse_quarter
    from govmon.rollup import pass_rates

    local = now.astimezone(config.tzinfo)
    period = parse_quarter(f"{local.year}Q{(local.month - 1) // 3 + 1}", config.tzinfo)
    rates = pass_rates(session, config, period)
    return {rate.label: f"{rate.text}（{rate.passed}/{rate.total}）" for rate in rates.values()}


def run_nightly(config: Config, sessions: sessionmaker[Session], now: dt.datetime | None = None) -> NightlyReport:
    """Blocking (run it in a worker thread): one transaction per site, then the rollup."""
    now = now or utcnow()
    report = NightlyReport()
    for site in (s for s in config.sites if s.enabled):
        with sessions.begin() as session:
            outcome = rejudge_site(session, config, site.id, now)
        if outcome is None:
            report.skipped.append(site.id)
            continue
        report.judged += 1
        report.opened += outcome[0]
        report.resolved += outcome[1]
    with sessions() as session:
        report.rates = refresh_rollup(session, config, now)
    return report

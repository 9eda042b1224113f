"""Availability probe rounds: probe every site's home page once, store each probe, judge.

A round (``govmon probe`` now; the scheduler, ``schedule.probes``, repeats it) probes the
home page of each given site once (crawler/probe.py), stores every probe, and then judges
``site.unreachable`` over each site's trailing window (``checks.site.unreachable``:
7 days; veto at 5% failed, notice at 3%, at least 20 probes a day for a veto) and records
the result through :func:`govmon.findings.record_findings`. The judgement is the check's
probe part only: its subject is ``"probes"`` and it covers nothing else, so a probe round
never opens or resolves the scan's findings (not even the scan's ``site.unreachable``
notice on subject ``"home"``), and a scan never resolves the probe verdict.

Our side down is not the sites' fault: when every site of a round — three or more —
failed at the connection level (DNS, connect, time-out), the round is marked a *local
outage*: its probes are stored with ``local_outage`` set and count for no site. A probe
that failed because of our own error (an exception in our code) is not stored at all
("not measured").

A probe never comes on top of a scan: the crawl uses all of the site's configured
concurrency. A site being scanned is not probed this round (not measured, the scan itself
reads its home page), and a scan about to start waits while its site's probe is in flight
(a probe lease, govmon.leases).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from govmon.checks.artifacts import ProbeObs, SiteArtifacts, TargetInfo
from govmon.checks.registry import run_checks
from govmon.checks.site_unreachable import PROBE_SUBJECT, window_probes
from govmon.checks.site_unreachable import id as CHECK_ID
from govmon.config import Config, Site
from govmon.crawler.probe import DEFAULT_CONCURRENCY, ProbeRequest, ProbeResult, probe_many
from govmon.db import write_lock
from govmon.findings import record_findings
from govmon.leases import claim_probe, process_owner, release_probe
from govmon.models import Finding, Probe, sync_targets, utcnow

__all__ = ["LOCAL_OUTAGE_MIN_SITES", "ProbeOutcome", "is_local_outage", "probe_sites", "run_probe_round"]

# A round is only judged a local outage with at least this many sites: one or two sites
# failing together may well be their own (shared) fault.
LOCAL_OUTAGE_MIN_SITES = 3
# A probe's lease outlives the probe (its time limit covers redirects too) by this much.
PROBE_LEASE_MARGIN = dt.timedelta(seconds=30)
# Sites stored and judged per transaction (each holds the database's write lock, ~0.2 s).
STORE_CHUNK = 100
BEING_SCANNED = "该网站正在扫描，本轮不探测（探测与抓取同时访问会超过网站的并发上限）"


@dataclass
class ProbeOutcome:
    """One site's probe in a round, and where its trailing window stands afterwards."""

    target_id: str
    name: str
    url: str
    probed_at: dt.datetime
    measured: bool  # False: our own error, nothing stored
    ok: bool
    status: int | None
    elapsed_ms: int | None
    error_kind: str | None
    detail: str | None  # Chinese: what failed (or what our error was)
    local_outage: bool = False
    window_total: int = 0  # counted probes in the trailing window (this one included)
    window_failed: int = 0
    severity: str | None = None  # the probe verdict after this round: veto / notice / None
    opened: bool = False
    resolved: bool = False

    @property
    def failure_ratio(self) -> Fraction | None:
        return Fraction(self.window_failed, self.window_total) if self.window_total else None


def is_local_outage(results: Sequence[ProbeResult]) -> bool:
    """Did every site of the round (≥ LOCAL_OUTAGE_MIN_SITES measured) fail to connect?"""
    measured = [r for r in results if r.measured]
    return len(measured) >= LOCAL_OUTAGE_MIN_SITES and all(r.connection_failure for r in measured)


async def probe_sites(
    config: Config,
    session_factory: sessionmaker[Session],
    sites: Sequence[Site],
    *,
    now: dt.datetime | None = None,
    progress: Callable[[str], None] | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> list[ProbeOutcome]:
    """Run one probe round over ``sites`` (registered sites of ``config``) in the running loop.

    ``now`` (aware) is the time the round is recorded and judged at — the probes' time
    stamp; by default each probe keeps the moment it started and the round is judged when
    the last one has finished. Returns one outcome per site, in the order given.
    """
    if now is not None and (now.tzinfo is None or now.utcoffset() is None):
        raise ValueError(f"probe_sites: 'now' must be aware, got {now!r}")
    registered = {site.id: site for site in config.sites}
    for site in sites:
        if site.id not in registered or registered[site.id] != site:
            raise ValueError(f"probe_sites: {site.id} is not a registered site of this config")
    if not sites:
        return []
    await asyncio.to_thread(_sync_registry, config, session_factory)
    crawl = config.crawl
    settings = config.checks.site_unreachable

    def report(result: ProbeResult) -> None:
        if progress is not None:
            state = "正常" if result.ok else (result.detail or result.own_error or "失败")
            progress(f"探测 {registered[result.key].name}：{state}")

    owner = process_owner()
    ttl = dt.timedelta(seconds=settings.timeout_s) + PROBE_LEASE_MARGIN

    def tx(work: Callable[[Session], bool | None]) -> bool | None:
        with session_factory.begin() as session:
            return work(session)

    @asynccontextmanager
    async def not_while_scanned(request: ProbeRequest) -> AsyncIterator[str | None]:
        if not await asyncio.to_thread(tx, lambda s: claim_probe(s, request.key, owner, ttl)):
            yield BEING_SCANNED
            return
        try:
            yield None
        finally:
            try:
                await asyncio.to_thread(tx, lambda s: release_probe(s, request.key, owner))
            except Exception:  # the database went away: the lease expires on its own
                pass

    results = await probe_many(
        [ProbeRequest(str(site.url), key=site.id) for site in sites],
        user_agent=crawl.user_agent,
        timeout_s=settings.timeout_s,
        max_redirects=crawl.max_redirects,
        max_bytes=crawl.max_page_bytes,
        allow_private_addresses=crawl.allow_private_addresses,
        trusted_urls=[str(site.url) for site in config.sites],
        concurrency=concurrency,
        on_result=report,
        gate=not_while_scanned,
    )
    judged_at = now or utcnow()
    return await asyncio.to_thread(_store_and_judge, config, session_factory, sites, results, now, judged_at)


def _sync_registry(config: Config, session_factory: sessionmaker[Session]) -> None:
    from govmon.scan import target_specs

    with session_factory.begin() as session:
        sync_targets(session, target_specs(config))


def _store_and_judge(
    config: Config,
    session_factory: sessionmaker[Session],
    sites: Sequence[Site],
    results: Sequence[ProbeResult],
    now: dt.datetime | None,
    judged_at: dt.datetime,
) -> list[ProbeOutcome]:
    """Store the round's probes and judge each site, ``STORE_CHUNK`` sites per transaction.

    Each transaction holds the database's write lock (SQLite has one for everything): a
    thousand sites in one held it for seconds, and the service's scans and job store waited.
    A site's probe and its judgement are always in the same transaction; a round cut short
    leaves the sites already stored, as if the rest had not been probed.
    """
    outage = is_local_outage(results)
    round_id = uuid.uuid4().hex
    outcomes: list[ProbeOutcome] = []
    for start in range(0, len(sites), STORE_CHUNK):
        with session_factory.begin() as session:
            outcomes += _store_chunk(session, config, sites[start : start + STORE_CHUNK],
                                     results[start : start + STORE_CHUNK], round_id, outage, now, judged_at)
    return outcomes


def _store_chunk(
    session: Session,
    config: Config,
    sites: Sequence[Site],
    results: Sequence[ProbeResult],
    round_id: str,
    outage: bool,
    now: dt.datetime | None,
    judged_at: dt.datetime,
) -> list[ProbeOutcome]:
    settings = config.checks.site_unreachable
    as_of = judged_at.astimezone(config.tzinfo)
    outcomes: list[ProbeOutcome] = []
    write_lock(session, "probes")  # first: SQLite takes its write lock now
    for site, result in zip(sites, results):
        probed_at = now or result.started_at
        outcome = ProbeOutcome(
            target_id=site.id, name=site.name, url=result.url, probed_at=probed_at, measured=result.measured,
            ok=result.ok, status=result.status, elapsed_ms=result.elapsed_ms if result.measured else None,
            error_kind=result.error_kind, detail=result.detail if result.measured else result.own_error,
            local_outage=outage and result.measured,
        )
        outcomes.append(outcome)
        if result.measured:
            session.add(Probe(
                target_id=site.id, round_id=round_id, probed_at=probed_at, url=result.url, ok=result.ok,
                status=result.status, elapsed_ms=result.elapsed_ms, bytes=result.bytes,
                error_kind=result.error_kind, detail=result.detail, final_url=result.final_url,
                local_outage=outage,
            ))
    session.flush()
    histories = load_probe_histories(session, [site.id for site in sites], as_of, settings.window_days)
    for site, outcome in zip(sites, outcomes):
        history = histories.get(site.id, [])
        counted = [p for p in window_probes(history, as_of, settings.window_days) if not p.local_outage]
        outcome.window_total = len(counted)
        outcome.window_failed = sum(1 for p in counted if not p.ok)
        artifacts = SiteArtifacts(
            target=TargetInfo(site.id, site.name, site.organizer, site.category, str(site.url)),
            as_of=as_of,
            probes=history,
        )
        judged = run_checks(artifacts, config, only={CHECK_ID})
        recorded = record_findings(
            session, None, site.id, judged.findings, complete=True, now=judged_at,
            judged_checks=judged.judged, covers=judged.covers,
        )
        outcome.opened = bool(recorded.opened or recorded.reopened)
        outcome.resolved = bool(recorded.resolved)
    severities = _open_severities(session, [site.id for site in sites])
    for outcome in outcomes:
        outcome.severity = severities.get(outcome.target_id)
    return outcomes


def _open_severities(session: Session, target_ids: Sequence[str]) -> dict[str, str]:
    """Each target's open site.unreachable finding's severity (one query for a chunk of the round)."""
    rows = session.execute(
        select(Finding.target_id, Finding.severity).where(
            Finding.target_id.in_(target_ids), Finding.check_id == CHECK_ID,
            Finding.subject == PROBE_SUBJECT, Finding.status == "open",
        )
    )
    return {row.target_id: row.severity for row in rows}


def load_probe_histories(
    session: Session, target_ids: Sequence[str], as_of: dt.datetime, window_days: int
) -> dict[str, list[ProbeObs]]:
    """Each target's probes of the window (as_of − window_days, as_of], oldest first."""
    start = as_of - dt.timedelta(days=window_days)
    histories: dict[str, list[ProbeObs]] = {}
    ids = list(dict.fromkeys(target_ids))
    for offset in range(0, len(ids), 500):
        rows = session.execute(
            select(Probe.target_id, Probe.probed_at, Probe.url, Probe.ok, Probe.status, Probe.elapsed_ms,
                   Probe.error_kind, Probe.detail, Probe.final_url, Probe.local_outage)
            .where(Probe.target_id.in_(ids[offset : offset + 500]), Probe.probed_at > start, Probe.probed_at <= as_of)
            .order_by(Probe.target_id, Probe.probed_at, Probe.id)
        )
        for row in rows:
            histories.setdefault(row.target_id, []).append(ProbeObs(
                probed_at=row.probed_at, url=row.url, ok=row.ok, status=row.status, elapsed_ms=row.elapsed_ms,
                error_kind=row.error_kind, detail=row.detail, final_url=row.final_url, local_outage=row.local_outage,
            ))
    return histories


def load_probe_history(session: Session, target_id: str, as_of: dt.datetime, window_days: int) -> list[ProbeObs]:
    """The target's probes of the window (as_of − window_days, as_of], oldest first."""
    return load_probe_histories(session, [target_id], as_of, window_days).get(target_id, [])


def run_probe_round(
    config: Config,
    session_factory: sessionmaker[Session],
    sites: Sequence[Site],
    *,
    progress: Callable[[str], None] | None = None,
) -> list[ProbeOutcome]:
    """The ``govmon probe`` entry: one round in its own event loop."""
    return asyncio.run(probe_sites(config, session_factory, sites, progress=progress))

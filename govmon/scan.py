"""A scan: crawl registered sites, store what was seen, judge it, keep the findings.

One asyncio loop runs every crawl (Scrapy on the asyncio reactor, see crawler/runner.py);
database work runs in worker threads so it never stalls the crawls. Each site's scan row is
committed as ``running`` when it starts; its observations are written in batches while the
crawl runs; its findings and final status in one transaction when the crawl ends, so a
crash or SIGINT never leaves a half-judged scan. A scan that did not finish (stopped, home page unreachable) is
``incomplete`` and resolves no finding. One site's failure never stops the others.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from govmon.account_scan import AccountScanner, AccountScanResult
from govmon.alerts import deliver_pending, queue_alert
from govmon.browser_audits import BROWSER_OFF_NOTICE, audit_site, browser_pool
from govmon.checks.registry import JudgeResult, run_checks
from govmon.config import Account, Config, Site
from govmon.crawler.browser import BrowserPool
from govmon.crawler.runner import SiteCrawlSpec, crawl_site, shutdown_reactor
from govmon.crawler.urls import host_of
from govmon.db import write_lock
from govmon.findings import RecordResult, record_findings
from govmon.leases import ProbeInFlight, TargetBusy, claim_target, process_owner
from govmon.models import ColumnSpec, Finding, Scan, TargetSpec, sync_targets, utcnow
from govmon.observations import ObservationWriter, load_site_artifacts, started_scan
from govmon.site_facts import gather_site_facts

SCAN_LEASE = dt.timedelta(hours=2)
PROBE_WAIT_S = 0.5  # how often a scan looks again whether its site's probe has ended


@dataclass
class SiteScanResult:
    """What one site's scan did, for the summary table."""

    target_id: str
    name: str
    scan_id: int | None = None
    status: str = "failed"  # complete | incomplete | failed
    reason: str = ""
    pages: int = 0
    links_checked: int = 0
    open_by_severity: Counter[str] = field(default_factory=Counter)
    opened: int = 0
    resolved: int = 0
    seconds: float = 0.0
    browser_notice: str | None = None  # why the browser checks did not run, when they did not


def target_specs(config: Config) -> list[TargetSpec]:
    specs: list[TargetSpec] = []
    for site in config.sites:
        specs.append(TargetSpec(
            id=site.id, kind="site", name=site.name, organizer=site.organizer, category=site.category,
            platform=None, url=str(site.url),
            columns=tuple(ColumnSpec(c.name, str(c.url), c.kind or _classify(c.name)) for c in site.columns),
        ))
    for account in config.accounts:
        specs.append(TargetSpec(
            id=account.id, kind="account", name=account.name, organizer=account.organizer, category=None,
            platform=account.platform, url=str(account.url),
        ))
    return specs


def _classify(name: str) -> str:
    from govmon.crawler.columns import classify_column

    return classify_column(name)


def parse_as_of(text: str | None, config: Config) -> dt.datetime:
    """``--as-of``: an ISO date or date-time; naive values are in the configured zone."""
    zone = config.tzinfo
    if not text:
        return dt.datetime.now(zone)
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--as-of 不是有效的 ISO 8601 日期或时间：{text!r}（例如 2023-06-30 或 2023-06-30T09:30）") from None
    if len(text) <= 10:  # a bare date: the end of that day
        value = value.replace(hour=23, minute=59, second=59)
    return value.replace(tzinfo=zone) if value.tzinfo is None else value.astimezone(zone)


class SiteScanner:
    """Scans sites of one config into one database, ``concurrent_sites`` at a time."""

    def __init__(
        self,
        config: Config,
        session_factory: sessionmaker[Session],
        *,
        as_of: dt.datetime,
        stop_event: asyncio.Event | None = None,
        progress: Callable[[str], None] | None = None,
        owner: str | None = None,
        lease: dt.timedelta = SCAN_LEASE,
        browser: BrowserPool | None = None,
        sync_registry: bool = True,
    ) -> None:
        self.config = config
        # Sync every registered target into the database before scanning; `govmon run` does it
        # once at start and on reload instead (for 1,000 sites it costs more than a tiny scan).
        self.sync_registry = sync_registry
        self.lease = lease
        self.sessions = session_factory
        self.as_of = as_of
        self.stop_event = stop_event or asyncio.Event()
        self.progress = progress or (lambda message: None)
        self.owner = owner or process_owner()
        self.registered_hosts = frozenset(host_of(str(site.url)) for site in config.sites)
        self.lexicon = tuple(config.lexicon.serious_error_terms) or None
        self.bad_link_terms = tuple(config.lexicon.bad_links) or None
        self.browser: BrowserPool | None = browser  # None: scan() opens one for its sites

    async def scan(self, sites: Sequence[Site]) -> list[SiteScanResult]:
        if self.sync_registry:
            await asyncio.to_thread(self._sync_registry)
        limit = asyncio.Semaphore(self.config.crawl.concurrent_sites)

        async def one(site: Site) -> SiteScanResult:
            async with limit:
                return await self.scan_site(site)

        own_browser = None
        if self.browser is None:
            own_browser = self.browser = browser_pool(self.config)
        try:
            return list(await asyncio.gather(*(one(site) for site in sites)))
        finally:
            if own_browser is not None:
                await own_browser.close()
                self.browser = None

    def _sync_registry(self) -> None:
        with self.sessions.begin() as session:
            sync_targets(session, target_specs(self.config))

    async def scan_site(self, site: Site) -> SiteScanResult:
        result = SiteScanResult(target_id=site.id, name=site.name)
        started = time.monotonic()
        if self.stop_event.is_set():
            result.status, result.reason = "incomplete", "已停止"
            return result
        try:
            result.scan_id = await self._start_after_probe(site)
        except TargetBusy as busy:
            result.status, result.reason = "failed", str(busy)
            result.seconds = time.monotonic() - started
            self.progress(f"跳过 {site.name}：{busy}")
            return result
        if result.scan_id is None:  # stopped while a probe of the site was in flight
            result.status, result.reason = "incomplete", "已停止"
            return result
        try:
            self.progress(f"开始扫描 {site.name}（{site.url}）")
            writer = ObservationWriter(self.sessions, result.scan_id, site.id)
            spec = SiteCrawlSpec.from_site(site, registered_hosts=self.registered_hosts)
            outcome = await crawl_site(spec, self.config.crawl, writer, stop_event=self.stop_event)
            await writer.flush()
            writer.close()
            result.pages, result.links_checked = writer.pages, writer.links_checked
            result.reason = writer.error or _REASONS.get(outcome.reason, outcome.reason)
            complete = outcome.complete and writer.error is None
            if not self.stop_event.is_set():
                await gather_site_facts(self.config, self.sessions, result.scan_id, site)
            if self.browser is None:
                result.browser_notice = BROWSER_OFF_NOTICE
            elif not self.stop_event.is_set():
                audit = await audit_site(self.browser, self.config, self.sessions, result.scan_id, site)
                result.browser_notice = audit.notice
            await asyncio.to_thread(self._finish, site, result, complete, outcome.stats)
        except Exception as exc:  # one site's failure never stops the others
            result.status, result.reason = "failed", f"扫描出错：{type(exc).__name__}: {exc}"
            if result.scan_id is not None:
                await asyncio.to_thread(self._mark_failed, result.scan_id, result.reason)
        result.seconds = time.monotonic() - started
        self.progress(f"完成 {site.name}：{_STATUS[result.status]}，{result.pages} 个网页，"
                      f"{result.links_checked} 个链接，用时 {result.seconds:.1f} 秒")
        return result

    async def _start_after_probe(self, site: Site) -> int | None:
        """The new scan's id once no probe of the site is in flight (a probe ends within its
        time limit; its lease expires if its process died); None if stopped meanwhile."""
        while True:
            try:
                return await asyncio.to_thread(self._start, site.id)
            except ProbeInFlight:
                try:
                    await asyncio.wait_for(self.stop_event.wait(), timeout=PROBE_WAIT_S)
                    return None
                except asyncio.TimeoutError:
                    continue

    def _start(self, target_id: str) -> int:
        with self.sessions.begin() as session:
            claim_target(session, target_id)  # atomically: no second scan of one target at once
            return started_scan(session, target_id, as_of=self.as_of, owner=self.owner, lease=self.lease).id

    def _finish(self, site: Site, result: SiteScanResult, complete: bool, stats: object) -> None:
        # Whatever of the finished crawl (spider, link registry, Scrapy's engine) is still garbage
        # in reference cycles is freed now, so reading the scan back reuses its memory instead
        # of adding to it (a 20,000-page site's crawl state is tens of MB).
        gc.collect()
        with self.sessions.begin() as session:
            write_lock(session, f"scan:{site.id}")  # first: SQLite takes its write lock now
            scan = session.get(Scan, result.scan_id)
            assert scan is not None
            judged, recorded = judge_site_scan(session, self.config, scan, as_of=self.as_of, complete=complete,
                                               resolve=complete, now=scan.started_at)
            scan.status = "complete" if complete else "incomplete"
            scan.finished_at = utcnow()
            scan.lease_owner = scan.lease_expires_at = None
            scan.stats = {**_stats_dict(stats), "skipped_checks": judged.skipped}
            result.status = scan.status
            result.opened = len(recorded.opened) + len(recorded.reopened)
            result.resolved = len(recorded.resolved)
            result.open_by_severity = Counter(
                session.scalars(select(Finding.severity).where(Finding.target_id == site.id, Finding.status == "open"))
            )

    def _mark_failed(self, scan_id: int, reason: str) -> None:
        with self.sessions.begin() as session:
            write_lock(session, f"scan-failed:{scan_id}")
            scan = session.get(Scan, scan_id)
            if scan is not None and scan.status == "running":
                scan.status, scan.error, scan.finished_at = "failed", reason, utcnow()
                scan.lease_owner = scan.lease_expires_at = None


def judge_site_scan(
    session: Session, config: Config, scan: Scan, *, as_of: dt.datetime, complete: bool, resolve: bool,
    now: dt.datetime,
) -> tuple[JudgeResult, RecordResult]:
    """Run the checks over a stored site scan at the monitoring point ``as_of``, record the
    findings (``resolve``: may resolve what it no longer sees — never from an incomplete
    scan) and queue the alert of what opened or resolved. In the caller's transaction, which
    must hold ``write_lock(f"scan:{target}")``."""
    artifacts = load_site_artifacts(session, scan, as_of=as_of, lexicon=tuple(config.lexicon.serious_error_terms) or None,
                                    complete=complete, bad_link_terms=tuple(config.lexicon.bad_links) or None)
    judged = run_checks(artifacts, config)
    recorded = record_findings(
        session, scan, scan.target_id, judged.findings, complete=complete and resolve, now=now,
        judged_checks=judged.judged, covers=judged.covers,
    )
    queue_alert(session, config, target_id=scan.target_id, scan_id=scan.id,
                opened=[*recorded.opened, *recorded.reopened], resolved=recorded.resolved)
    return judged, recorded


_STATUS = {"complete": "完成", "incomplete": "未完成", "failed": "失败"}
_REASONS = {
    "finished": "",
    "stopped": "已停止（扫描被中断）",
    "home_unreachable": "首页无法访问",
    "robots_disallowed": "robots.txt 禁止抓取首页",
    "spider_error": "抓取程序出错",
}


def _stats_dict(stats: object) -> dict[str, object]:
    from dataclasses import asdict, is_dataclass

    return asdict(stats) if is_dataclass(stats) and not isinstance(stats, type) else {}


def select_targets(config: Config, names: Sequence[str]) -> tuple[list[Site], list[Account]]:
    """The sites and accounts named (by id or name; all when none), in config order."""
    chosen = [config.find_target(name) for name in names] if names else list(config.targets)
    sites = [t for t in chosen if isinstance(t, Site) and t.enabled]
    accounts = [t for t in chosen if isinstance(t, Account) and t.enabled]
    return sites, accounts


@dataclass
class ScanResults:
    """What one ``govmon scan`` did: its sites' and its accounts' scans."""

    sites: list[SiteScanResult] = field(default_factory=list)
    accounts: list[AccountScanResult] = field(default_factory=list)

    @property
    def all_complete(self) -> bool:
        return all(r.status == "complete" for r in (*self.sites, *self.accounts))


async def scan_targets(
    config: Config,
    session_factory: sessionmaker[Session],
    sites: Sequence[Site],
    accounts: Sequence[Account] = (),
    *,
    as_of: dt.datetime,
    progress: Callable[[str], None] | None = None,
    handle_signals: bool = False,
    stop_event: asyncio.Event | None = None,
) -> ScanResults:
    """Scan ``sites`` and read ``accounts`` side by side in the running loop, with one browser
    between them; setting ``stop_event`` (or SIGINT/SIGTERM, when handled) stops them cleanly:
    crawls through Scrapy, what was read kept, the scans incomplete."""
    stop = stop_event or asyncio.Event()
    handled = _handle_stop_signals(stop) if handle_signals else []
    browser = browser_pool(config) if sites or accounts else None
    try:
        site_scanner = SiteScanner(config, session_factory, as_of=as_of, stop_event=stop, progress=progress,
                                   browser=browser)
        account_scanner = AccountScanner(config, session_factory, as_of=as_of, stop_event=stop, progress=progress,
                                         browser=browser)
        site_results, account_results = await asyncio.gather(
            site_scanner.scan(sites) if sites else _nothing(),
            account_scanner.scan(accounts) if accounts else _nothing(),
        )
        return ScanResults(list(site_results), list(account_results))
    finally:
        if browser is not None:
            await browser.close()
        _release_stop_signals(handled)


async def _nothing() -> list:  # type: ignore[type-arg]
    return []


def _handle_stop_signals(stop: asyncio.Event) -> list[int]:
    loop = asyncio.get_running_loop()
    handled: list[int] = []

    def request_stop() -> None:
        if not stop.is_set():
            print("\n收到停止信号：正在停止扫描，已读取的内容会保存，本次扫描记为未完成……", file=sys.stderr)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, request_stop)
            handled.append(signum)
        except (NotImplementedError, RuntimeError):
            pass
    return handled


def _release_stop_signals(handled: list[int]) -> None:
    loop = asyncio.get_running_loop()
    for signum in handled:
        loop.remove_signal_handler(signum)


async def scan_sites(
    config: Config,
    session_factory: sessionmaker[Session],
    sites: Sequence[Site],
    *,
    as_of: dt.datetime,
    progress: Callable[[str], None] | None = None,
    handle_signals: bool = False,
) -> list[SiteScanResult]:
    """Scan ``sites`` in the running loop (:func:`scan_targets` without accounts)."""
    results = await scan_targets(config, session_factory, sites, as_of=as_of, progress=progress,
                                 handle_signals=handle_signals)
    return results.sites


def run_scan(
    config: Config,
    session_factory: sessionmaker[Session],
    sites: Sequence[Site],
    accounts: Sequence[Account] = (),
    *,
    as_of: dt.datetime,
    progress: Callable[[str], None] | None = None,
) -> ScanResults:
    """The ``govmon scan`` entry: its own loop, signal handling, reactor shut down after."""

    async def main() -> ScanResults:
        try:
            results = await scan_targets(config, session_factory, sites, accounts, as_of=as_of, progress=progress,
                                         handle_signals=True)
        finally:
            shutdown_reactor()
        await deliver_alerts(config, session_factory)
        return results

    return asyncio.run(main())


async def deliver_alerts(config: Config, session_factory: sessionmaker[Session]) -> None:
    """At the end of a one-shot scan: send the alerts it queued (what fails waits for the
    next scan or the service); a delivery problem never fails the scan."""
    def warn(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        await deliver_pending(config, session_factory, owner=process_owner(), log=warn)
    except Exception as err:
        warn(f"发送提醒时出错（稍后重试）：{type(err).__name__}: {err}")

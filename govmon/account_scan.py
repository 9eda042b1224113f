"""Account scans: read each registered new-media account on its platform, keep what was seen,
judge it, keep the findings.

One asyncio loop reads every account: the httpx adapters share one client, the browser adapters
one Chromium (crawler/browser.py); each platform keeps its own pace (crawler/accounts/pace.py),
so reading 241 accounts never hammers one platform. ``paces`` lets the scans of one service
share their paces (``govmon run`` reads each account as a job of its own) and the cluster's
workers share theirs through the database (govmon.shared_pace). Each account's scan row is committed as
``running`` under a lease (two scans of one account never run at once); its read, its posts and
its findings are written in one transaction when the read ends.

What a read can vouch for decides what is judged (CHECKS.md): a complete read proves or
disproves staleness; a partial one can only show a recent post; a blocked or failed read
judges nothing but ``account.unreachable``, and its scan is ``incomplete`` (resolving nothing).
A read that failed on our side (no browser, the browser crashed, a saved login we cannot use)
is not the account's doing: it is kept with its reason and judges nothing at all.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from govmon.alerts import queue_alert
from govmon.browser_audits import browser_pool
from govmon.checks.registry import run_checks
from govmon.config import PLATFORMS, Account, Config
from govmon.crawler.accounts.adapters import adapter_for
from govmon.crawler.accounts.base import AccountRef, AccountSnapshot, ReadContext
from govmon.crawler.accounts.http import new_http_client
from govmon.crawler.accounts.pace import Paces
from govmon.shared_pace import SharedPaces
from govmon.crawler.browser import BrowserPool
from govmon.db import write_lock
from govmon.findings import record_findings
from govmon.leases import TargetBusy, claim_target, process_owner
from govmon.logins import LoginError, LoginStore
from govmon.models import Finding, Scan, sync_targets, utcnow
from govmon.observations import load_account_artifacts, started_scan, store_account_read

SCAN_LEASE = dt.timedelta(hours=1)
COVERAGE_LABELS = {"complete": "完整", "partial": "部分", "blocked": "被拒绝", "failed": "失败"}


@dataclass
class AccountScanResult:
    """What one account's scan did, for the summary table."""

    target_id: str
    name: str
    platform: str
    scan_id: int | None = None
    status: str = "failed"  # complete | incomplete | failed
    coverage: str | None = None
    reason: str = ""
    posts: int = 0
    requests: int = 0
    open_by_severity: Counter[str] = field(default_factory=Counter)
    opened: int = 0
    resolved: int = 0
    seconds: float = 0.0


class AccountScanner:
    """Reads accounts of one config into one database, ``platforms.concurrent_reads`` at a time.

    ``browser``: a pool shared with the site scans; None opens one when a browser adapter needs it.
    """

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
        paces: Paces | SharedPaces | None = None,
    ) -> None:
        self.config = config
        self.sync_registry = sync_registry  # `govmon run` syncs once at start and on reload instead
        self.sessions = session_factory
        self.as_of = as_of
        self.stop_event = stop_event or asyncio.Event()
        self.progress = progress or (lambda message: None)
        self.owner = owner or process_owner()
        self.lease = lease
        self.paces = paces if paces is not None else Paces.from_settings(config.platforms)
        self.browser = browser
        self.logins = LoginStore.from_settings(config.platforms.secrets_dir)
        self.lexicon = tuple(config.lexicon.serious_error_terms) or None
        stale = config.checks.account_stale
        self.since = as_of - dt.timedelta(days=max(stale.veto_days, stale.flag_days) + 1)

    async def scan(self, accounts: Sequence[Account]) -> list[AccountScanResult]:
        """Read ``accounts``: each platform's queue by as many workers as its pace lets in at once,
        ``platforms.concurrent_reads`` reads in all (so one slow platform never holds up the others)."""
        if self.sync_registry:
            await asyncio.to_thread(self._sync_registry)
        limit = asyncio.Semaphore(self.config.platforms.concurrent_reads)
        own_browser = None
        if self.browser is None and any(adapter_for(a.platform).needs_browser for a in accounts):
            own_browser = self.browser = browser_pool(self.config)
        http = new_http_client(self.config.crawl.user_agent, self.config.platforms.timeout_s)
        queues: dict[str, list[int]] = {}
        for index, account in enumerate(accounts):
            queues.setdefault(account.platform, []).append(index)
        results: list[AccountScanResult | None] = [None] * len(accounts)

        async def worker(waiting: list[int]) -> None:
            while waiting:
                index = waiting.pop(0)
                async with limit:
                    results[index] = await self.scan_account(accounts[index], http)

        workers = [worker(waiting) for platform, waiting in queues.items()
                   for _ in range(min(len(waiting), self.config.platforms.pace_for(platform).concurrency))]
        try:
            await asyncio.gather(*workers)
            return [r for r in results if r is not None]
        finally:
            await http.aclose()
            if own_browser is not None:
                await own_browser.close()
                self.browser = None

    def _sync_registry(self) -> None:
        from govmon.scan import target_specs

        with self.sessions.begin() as session:
            sync_targets(session, target_specs(self.config))

    async def scan_account(self, account: Account, http: object) -> AccountScanResult:
        result = AccountScanResult(target_id=account.id, name=account.name, platform=account.platform)
        started = time.monotonic()
        if self.stop_event.is_set():
            result.status, result.reason = "incomplete", "已停止"
            return result
        try:
            result.scan_id = await asyncio.to_thread(self._start, account.id)
        except TargetBusy as busy:
            result.reason = str(busy)
            self.progress(f"跳过 {account.name}：{busy}")
            return result
        try:
            self.progress(f"开始读取 {account.name}（{PLATFORMS.get(account.platform, account.platform)}）")
            snapshot = await self.read(account, http)
            await asyncio.to_thread(self._finish, account, result, snapshot)
        except Exception as exc:  # one account's failure never stops the others
            result.status, result.reason = "failed", f"扫描出错：{type(exc).__name__}: {exc}"
            await asyncio.to_thread(self._mark_failed, result.scan_id, result.reason)
        result.seconds = time.monotonic() - started
        self.progress(f"完成 {account.name}：{COVERAGE_LABELS.get(result.coverage or '', '未读取')}，"
                      f"{result.posts} 条内容，用时 {result.seconds:.1f} 秒")
        return result

    async def read(self, account: Account, http: object) -> AccountSnapshot:
        """One read of ``account`` through its platform's adapter; never raises."""
        adapter = adapter_for(account.platform)
        name = PLATFORMS.get(account.platform, account.platform)
        try:
            login = await asyncio.to_thread(self.logins.load, account.platform)
        except LoginError as err:
            return AccountSnapshot("failed", reason=str(err), ours=True)
        ctx = ReadContext(
            http=http,  # type: ignore[arg-type]
            pace=self.paces.for_platform(account.platform),
            timezone=self.config.tzinfo,
            now=self.as_of,
            since=self.since,
            max_pages=self.config.platforms.max_pages,
            login_state=login,
            new_browser_context=self.browser.new_context if self.browser is not None else None,
        )
        ref = AccountRef(id=account.id, name=account.name, platform=account.platform, url=str(account.url))
        try:
            return await adapter.read(ref, ctx)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # an adapter's own fault: ours, not the account's
            return AccountSnapshot("failed", reason=f"读取{name}账号时程序出错（未监测）：{type(exc).__name__}: {exc}",
                                   ours=True)
        finally:
            await self.paces.settle()  # a refusal's back-off holds for the next read, wherever it runs

    def _start(self, target_id: str) -> int:
        with self.sessions.begin() as session:
            claim_target(session, target_id)
            return started_scan(session, target_id, as_of=self.as_of, owner=self.owner, lease=self.lease,
                                kind="account").id

    def _finish(self, account: Account, result: AccountScanResult, snapshot: AccountSnapshot) -> None:
        result.coverage, result.posts, result.requests = snapshot.coverage, len(snapshot.posts), snapshot.requests
        result.reason = snapshot.reason
        with self.sessions.begin() as session:
            write_lock(session, f"scan:{account.id}")
            scan = session.get(Scan, result.scan_id)
            assert scan is not None
            store_account_read(session, scan.id, account.platform, str(account.url), snapshot)
            stats: dict[str, object] = {"coverage": snapshot.coverage, "posts": len(snapshot.posts),
                                        "requests": snapshot.requests}
            if snapshot.ours:  # our failure says nothing about the account: nothing is judged
                scan.status, scan.error = "incomplete", snapshot.reason
                stats["skipped_checks"] = {"*": "监测端原因未能读取，本次不判定"}
            else:
                artifacts = load_account_artifacts(session, scan, as_of=self.as_of, lexicon=self.lexicon)
                judged = run_checks(artifacts, self.config)
                complete = snapshot.coverage in ("complete", "partial")
                recorded = record_findings(
                    session, scan, account.id, judged.findings, complete=complete, now=scan.started_at,
                    judged_checks=judged.judged, covers=judged.covers,
                )
                queue_alert(session, self.config, target_id=account.id, scan_id=scan.id,
                            opened=[*recorded.opened, *recorded.reopened], resolved=recorded.resolved)
                scan.status = "complete" if complete else "incomplete"
                if not complete:
                    scan.error = snapshot.reason
                stats["skipped_checks"] = judged.skipped
                result.opened = len(recorded.opened) + len(recorded.reopened)
                result.resolved = len(recorded.resolved)
            scan.finished_at = utcnow()
            scan.lease_owner = scan.lease_expires_at = None
            scan.stats = stats
            result.status = scan.status
            result.open_by_severity = Counter(session.scalars(
                select(Finding.severity).where(Finding.target_id == account.id, Finding.status == "open")
            ))

    def _mark_failed(self, scan_id: int | None, reason: str) -> None:
        if scan_id is None:
            return
        with self.sessions.begin() as session:
            write_lock(session, f"scan-failed:{scan_id}")
            scan = session.get(Scan, scan_id)
            if scan is not None and scan.status == "running":
                scan.status, scan.error, scan.finished_at = "failed", reason, utcnow()
                scan.lease_owner = scan.lease_expires_at = None

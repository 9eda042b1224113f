"""Several machines: scans carried by procrastinate (a PostgreSQL task queue) from the one
dispatcher (``govmon run``) to ``govmon worker`` processes.

The dispatcher defers one job per due scan; a worker runs it with the same SiteScanner /
AccountScanner code as the single machine. Politeness across machines comes from the
queue's locks: a site scan holds ``lock="target:<id>"`` (never two scans of one site at once,
whatever the number of workers) and is queued under ``queueing_lock="scan:<id>"`` (never
waiting twice); an account read holds ``lock="platform:<name>"`` (one of k buckets when the
platform's pace lets k reads in flight), so a platform never has more reads in flight than its
pace allows, and the workers share each platform's pace through the database
(govmon.shared_pace), so its rate of requests holds too. A worker killed mid-scan stops
heartbeating; after ``cluster.stalled_timeout`` its jobs are retried elsewhere (procrastinate's
documented stalled-job recipe, run by every worker) and its scan lease expires, so the retry
can claim the target; the retried scan upserts findings by key, never doubling them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from govmon.config import Account, Config, Site
from govmon.rescan import scan_summary
from govmon.scan import _REASONS

SITE_QUEUE = "sites"
ACCOUNT_QUEUE = "accounts"
QUEUES = (SITE_QUEUE, ACCOUNT_QUEUE)
SCAN_SITE_TASK = "govmon.scan_site"
READ_ACCOUNT_TASK = "govmon.read_account"
SITE_SIDE_REASONS = frozenset({_REASONS["home_unreachable"], _REASONS["robots_disallowed"]})  # the site's answer
SCHEMA_LOCK = int.from_bytes(hashlib.blake2b(b"govmon:procrastinate-schema", digest_size=8).digest(), "big", signed=True)


class ScanRetry(Exception):
    """The scan could not run or finish here (target still leased, worker stopping, error):
    procrastinate retries the job after ``cluster.retry_wait``, on whichever worker is free."""


def queue_url(config: Config, database_url: str) -> str:
    """The queue's PostgreSQL as a libpq URI (``cluster.database``, else the main database)."""
    from govmon.db import DatabaseUrlError, normalize_url

    url = normalize_url(config.cluster.database or database_url)
    if url.get_backend_name() != "postgresql":
        raise DatabaseUrlError("cluster.enabled 需要 PostgreSQL 数据库：多台机器只能共享 PostgreSQL，SQLite 只能单机使用")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def ensure_schema(conninfo: str) -> bool:
    """Apply procrastinate's schema once (idempotent, safe when several processes start together);
    True when it was applied now. Its tables live beside ours; our migrations ignore them."""
    import psycopg
    from procrastinate.schema import SchemaManager

    with psycopg.connect(conninfo, autocommit=False) as connection:
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        present = connection.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
        if present and present[0] is not None:
            return False
        connection.execute(SchemaManager.get_schema())  # type: ignore[arg-type]
        connection.commit()
        return True


def build_app(conninfo: str, *, max_size: int = 10) -> Any:
    """A procrastinate App on ``conninfo``; its pool checks connections on checkout, so broken
    ones (server restarted, backends terminated) are dropped and replaced."""
    from procrastinate import App, PsycopgConnector

    connector = PsycopgConnector(conninfo=conninfo, min_size=1, max_size=max_size,
                                 kwargs={"application_name": "govmon-queue"})
    return App(connector=connector)


def site_job(app: Any, target_id: str) -> Any:
    return app.configure_task(SCAN_SITE_TASK, queue=SITE_QUEUE, lock=f"target:{target_id}",
                              queueing_lock=f"scan:{target_id}")


def platform_lock(account: Account, config: Config) -> str:
    """The lock bucket of an account read: with the platform's pace concurrency 1 (the default),
    one lock per platform, so the whole cluster reads a platform one account at a time, as one
    machine does; with concurrency k, k buckets (a stable hash of the account id)."""
    k = config.platforms.pace_for(account.platform).concurrency
    if k <= 1:
        return f"platform:{account.platform}"
    bucket = int.from_bytes(hashlib.blake2b(account.id.encode(), digest_size=4).digest(), "big") % k
    return f"platform:{account.platform}:{bucket}"


def account_job(app: Any, account: Account, config: Config) -> Any:
    return app.configure_task(READ_ACCOUNT_TASK, queue=ACCOUNT_QUEUE, lock=platform_lock(account, config),
                              queueing_lock=f"read:{account.id}")


# ---- the dispatcher side (govmon run) -------------------------------------------------------


@dataclass
class ClusterDispatcher:
    """``govmon run``'s dispatch with a cluster: every due scan and rescan becomes a queued job."""

    current: Callable[[], Config]  # the service's config (SIGHUP may replace it)
    database_url: str
    log: Callable[[str], None]
    app: Any = None

    @property
    def config(self) -> Config:
        return self.current()

    async def open(self) -> None:
        conninfo = queue_url(self.config, self.database_url)
        if await asyncio.to_thread(ensure_schema, conninfo):
            self.log("已在数据库中创建任务队列（procrastinate）的表")
        self.app = build_app(conninfo, max_size=4)
        await self.app.open_async()

    async def close(self) -> None:
        if self.app is not None:
            await self.app.close_async()

    async def scan(self, kind: str, target_id: str, request_id: int | None = None) -> None:
        """Queue a scan of ``target_id``; one already waiting serves this request too (the worker
        resolves every rescan request picked before its scan started)."""
        from procrastinate.exceptions import AlreadyEnqueued

        target = self.config.find_target(target_id) if self._known(target_id) else None
        if target is None or not target.enabled:
            return
        job = site_job(self.app, target.id) if isinstance(target, Site) else account_job(self.app, target, self.config)
        try:
            job_id = await job.defer_async(target_id=target.id)
        except AlreadyEnqueued:
            return
        except Exception as err:  # queue unreachable: the next period (or rescan) queues it again
            self.log(f"无法把 {target.name} 的扫描放入队列：{type(err).__name__}: {err}")
            return
        if request_id is not None:
            self.log(f"复查请求 {request_id}：{target.name} 已放入队列（任务 {job_id}）")

    def _known(self, target_id: str) -> bool:
        return any(t.id == target_id for t in self.config.targets)


# ---- the worker side (govmon worker) --------------------------------------------------------


@dataclass
class WorkerRuntime:
    """What the tasks of one ``govmon worker`` process share: config, database, stop event."""

    config: Config
    sessions: sessionmaker[Session]
    owner: str
    stop: asyncio.Event
    log: Callable[[str], None]
    browser: Any = None
    running: dict[str, str] = field(default_factory=dict)  # target id -> "site"/"account"
    paces: Any = None  # govmon.shared_pace.SharedPaces: each platform's pace, shared by all workers

    @property
    def lease(self) -> dt.timedelta:
        return self.config.cluster.stalled_timeout

    def _tx(self, work: Callable[[Session], Any]) -> Any:
        with self.sessions.begin() as session:
            return work(session)

    async def _wait_for_lease(self, target_id: str) -> None:
        from govmon.leases import live_scan_owner

        holder = await asyncio.to_thread(self._tx, lambda s: live_scan_owner(s, target_id))
        if holder is not None and (holder != self.owner or target_id not in self.running):
            raise ScanRetry(f"{target_id} 仍由 {holder} 持有扫描租约（该进程可能已终止，租约过期后重试）")

    async def scan_site(self, target_id: str, last_attempt: bool) -> dict[str, Any]:
        from govmon.models import utcnow
        from govmon.scan import SiteScanner

        site = next((s for s in self.config.sites if s.id == target_id and s.enabled), None)
        if site is None:
            return {"target_id": target_id, "status": "skipped", "reason": "配置中没有这个启用的网站"}
        if self.stop.is_set():
            raise ScanRetry("本工作进程正在停止")
        await self._wait_for_lease(target_id)
        started = utcnow()
        scanner = SiteScanner(self.config, self.sessions, as_of=dt.datetime.now(self.config.tzinfo),
                              stop_event=self.stop, owner=self.owner, lease=self.lease, browser=self.browser)
        self.running[target_id] = "site"
        try:
            result = await scanner.scan_site(site)
        except Exception as err:  # the database went away while finishing: the lease expires, retry
            raise ScanRetry(f"{site.name}：{type(err).__name__}: {err}") from err
        finally:
            self.running.pop(target_id, None)
        summary = scan_summary(result, "site", pages=result.pages, links_checked=result.links_checked,
                               worker=self.owner)
        self.log(f"扫描 {result.name}：{result.status}，{result.pages} 个网页（{result.seconds:.1f} 秒）")
        # Incomplete because of the site itself (home unreachable, robots.txt) is the answer;
        # stopped, failed or cut off by the database is retried.
        ours = result.status == "failed" or (result.status == "incomplete" and result.reason not in SITE_SIDE_REASONS)
        if ours and not last_attempt:
            raise ScanRetry(f"{result.name}：{result.status} {result.reason}")
        await asyncio.to_thread(self._tx, lambda s: _finish_requests(s, target_id, started, summary))
        return summary

    async def read_account(self, target_id: str, last_attempt: bool) -> dict[str, Any]:
        from govmon.account_scan import AccountScanner
        from govmon.crawler.accounts.http import new_http_client
        from govmon.models import utcnow

        account = next((a for a in self.config.accounts if a.id == target_id and a.enabled), None)
        if account is None:
            return {"target_id": target_id, "status": "skipped", "reason": "配置中没有这个启用的账号"}
        if self.stop.is_set():
            raise ScanRetry("本工作进程正在停止")
        await self._wait_for_lease(target_id)
        started = utcnow()
        scanner = AccountScanner(self.config, self.sessions, as_of=dt.datetime.now(self.config.tzinfo),
                                 stop_event=self.stop, owner=self.owner, lease=self.lease, browser=self.browser,
                                 paces=self.paces)
        http = new_http_client(self.config.crawl.user_agent, self.config.platforms.timeout_s)
        self.running[target_id] = "account"
        try:
            result = await scanner.scan_account(account, http)
        except Exception as err:  # the database went away while finishing: the lease expires, retry
            raise ScanRetry(f"{account.name}：{type(err).__name__}: {err}") from err
        finally:
            self.running.pop(target_id, None)
            await http.aclose()
        summary = scan_summary(result, "account", coverage=result.coverage, posts=result.posts, worker=self.owner)
        self.log(f"读取 {result.name}：{result.status}，{result.posts} 条内容（{result.seconds:.1f} 秒）")
        if (result.status == "failed" or result.reason == "已停止") and not last_attempt:
            raise ScanRetry(f"{result.name}：{result.status} {result.reason}")
        await asyncio.to_thread(self._tx, lambda s: _finish_requests(s, target_id, started, summary))
        return summary


def _finish_requests(session: Session, target_id: str, started: dt.datetime, summary: dict[str, Any]) -> None:
    """Resolve the rescan requests of ``target_id`` picked before this scan started."""
    from govmon.db import write_lock
    from govmon.models import ScanRequest
    from govmon.rescan import finish_request

    write_lock(session, "scan-requests")  # first: SQLite takes its write lock now
    waiting = session.scalars(select(ScanRequest.id).where(
        ScanRequest.target_id == target_id, ScanRequest.status == "running", ScanRequest.picked_at <= started))
    for request_id in list(waiting):
        finish_request(session, request_id, summary)


def register_tasks(app: Any, runtime: WorkerRuntime) -> None:
    """The worker's two tasks, bound to this process's runtime."""
    from procrastinate import RetryStrategy

    cluster = runtime.config.cluster
    retry = RetryStrategy(max_attempts=cluster.max_attempts, wait=int(cluster.retry_wait.total_seconds()),
                          retry_exceptions={ScanRetry})

    def last(context: Any) -> bool:
        return (context.job.attempts or 0) + 1 >= cluster.max_attempts

    @app.task(name=SCAN_SITE_TASK, queue=SITE_QUEUE, retry=retry, pass_context=True)
    async def scan_site(context: Any, target_id: str) -> dict[str, Any]:
        return await runtime.scan_site(target_id, last(context))

    @app.task(name=READ_ACCOUNT_TASK, queue=ACCOUNT_QUEUE, retry=retry, pass_context=True)
    async def read_account(context: Any, target_id: str) -> dict[str, Any]:
        return await runtime.read_account(target_id, last(context))


async def retry_stalled_jobs(app: Any, stalled_timeout: dt.timedelta) -> list[int]:
    """procrastinate's recipe: jobs of workers silent for ``stalled_timeout`` go back to the queue.

    Workers are not pruned here (a worker late with its heartbeat under load would be taken
    for dead for good); procrastinate prunes silent ones when a worker starts. A job retried
    while its worker still runs it is harmless: the scan lease refuses a second scan."""
    retried = []
    seconds = stalled_timeout.total_seconds()
    for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=seconds):
        try:
            await app.job_manager.retry_job(job)
            retried.append(job.id)
        except Exception:  # another worker retried it first
            continue
    return retried


def job_conninfo_redacted(conninfo: str) -> str:
    return make_url(conninfo).render_as_string(hide_password=True)

"""Continuous monitoring (`govmon run`).

One asyncio loop hosts APScheduler 3.11's AsyncIOScheduler, the Scrapy crawls (through
scan.SiteScanner on the asyncio reactor) and the httpx probes. The jobs live in
APScheduler's SQLAlchemyJobStore in the same database (its own ``apscheduler_jobs``
table; the scheduler's passes over it run in a thread of their own and write once per pass,
see govmon.jobstore). APScheduler 3 cannot share a job
store between processes, so the service first takes the database's service lease
(govmon.leases) and renews it by heartbeat; a second ``govmon run`` is refused.

Each target's job starts on a grid anchored at a fixed epoch plus a deterministic offset
from its id, so a thousand sites spread over the period and keep their slot across
restarts. SIGINT/SIGTERM set the stop event the crawls watch (Scrapy stops them; scans in
flight end incomplete); SIGHUP reloads the config and reconciles the jobs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable

from sqlalchemy.orm import Session, sessionmaker

from govmon.config import Account, Config, Site
from govmon.leases import process_owner
from govmon.rescan import scan_summary

SCHEDULE_EPOCH = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
JOBSTORE = "default"  # persistent: the per-target and round jobs
LOCAL = "local"  # in memory: heartbeat and the rescan poller, only meaningful while running
STOP_GRACE_S = 25.0

# The job bodies are looked up by reference from the job store (APScheduler pickles only
# "module:function" and the args), so the one running service of this process is found here.
_SERVICE: dict[str, "MonitorService"] = {}


def spread_offset(key: str, period: dt.timedelta) -> dt.timedelta:
    """A deterministic offset in [0, period) for ``key``: starts spread, stable across restarts."""
    digest = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")
    return dt.timedelta(microseconds=digest % max(1, int(period.total_seconds() * 1_000_000)))


@dataclass(frozen=True)
class JobKind:
    """One entry of the job table: which targets it runs for, how often, and its body."""

    name: str
    period: Callable[[Config], dt.timedelta | dt.time]  # a time of day: daily at that time
    targets: Callable[[Config], list[str]]  # target ids; [""] for a round over all targets
    body: Callable[["MonitorService", str], Awaitable[None]]


async def _scan_site_job(service: "MonitorService", target_id: str) -> None:
    await service.dispatcher.scan("site", target_id)


async def _scan_account_job(service: "MonitorService", target_id: str) -> None:
    await service.dispatcher.scan("account", target_id)


async def _probe_job(service: "MonitorService", _: str) -> None:
    await service.probe_round()


async def _nightly_job(service: "MonitorService", _: str) -> None:
    await service.nightly()


JOB_KINDS: dict[str, JobKind] = {
    "site": JobKind(
        "site", lambda c: c.schedule.sites,
        lambda c: [s.id for s in c.sites if s.enabled], _scan_site_job,
    ),
    "probes": JobKind("probes", lambda c: c.schedule.probes, lambda c: [""], _probe_job),
    # a time of day (a cron trigger in the configured zone) or, in tests, a period
    "nightly": JobKind("nightly", lambda c: c.schedule.nightly, lambda c: [""], _nightly_job),
    "account": JobKind(
        "account", lambda c: c.schedule.accounts,
        lambda c: [a.id for a in c.accounts if a.enabled], _scan_account_job,
    ),
}


async def run_job(kind: str, target_id: str) -> None:
    """The function every stored job refers to (``govmon.scheduler:run_job``)."""
    service = _SERVICE.get("active")
    if service is None:
        return
    await service.guarded(JOB_KINDS[kind].body(service, target_id), f"{kind}:{target_id}")


@dataclass
class MonitorService:
    config: Config
    database_url: str
    config_path: Path | None = None
    owner: str = field(default_factory=process_owner)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    sessions: sessionmaker[Session] | None = None
    scheduler: Any = None
    jobstore: Any = None  # govmon.jobstore.PassBatchedJobStore: the stored jobs (JOBSTORE)
    inflight: set[asyncio.Task[Any]] = field(default_factory=set)
    scanning: dict[str, asyncio.Lock] = field(default_factory=dict)  # target id → held while it is scanned here
    scan_slots: asyncio.Semaphore | None = None
    delivering: asyncio.Lock = field(default_factory=asyncio.Lock)
    dispatcher: Any = None  # govmon.dispatch: in this process, or queued for the cluster's workers
    paces: Any = None  # each platform's pace, shared by the account reads of this service (one job each)
    log: Callable[[str], None] = field(default=lambda m: print(m, file=sys.stderr, flush=True))
    job_log: Path | None = None  # JSON lines: each stored job's scheduled, submitted and start times

    # ---- lifecycle ------------------------------------------------------------------

    async def run(self) -> int:
        from apscheduler.jobstores.memory import MemoryJobStore

        from govmon.crawler.accounts.pace import Paces
        from govmon.crawler.runner import shutdown_reactor
        from govmon.db import DatabaseError, open_database
        from govmon.dispatch import make_dispatcher
        from govmon.jobstore import PassBatchedJobStore, build_scheduler, create_job_table
        from govmon.leases import (ServiceAlreadyRunning, abandon_own_scans, reap_abandoned_scans, release_service_lease,
                                   take_service_lease)
        from govmon.scan import target_specs
        from govmon.models import sync_targets

        try:
            self.sessions = await asyncio.to_thread(open_database, self.database_url)
        except DatabaseError as err:
            self.log(str(err))
            return 1
        ttl = self.config.schedule.service_lease
        try:
            await asyncio.to_thread(self._tx, lambda s: take_service_lease(s, self.owner, ttl))
        except ServiceAlreadyRunning as err:
            self.log(str(err))
            return 1
        _SERVICE["active"] = self
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self._request_stop)
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self.reload()))
        try:
            reaped = await asyncio.to_thread(self._tx, reap_abandoned_scans)
            if reaped:
                self.log(f"发现 {len(reaped)} 次中断的扫描（进程已退出、租约过期），已记为未完成：{reaped}")
            await asyncio.to_thread(self._tx, lambda s: sync_targets(s, target_specs(self.config)))
            self.scan_slots = asyncio.Semaphore(self.config.schedule.max_concurrent_scans)
            self.paces = Paces.from_settings(self.config.platforms)
            self.dispatcher = make_dispatcher(self)
            await self.dispatcher.open()
            engine = self.sessions.kw["bind"]
            self.jobstore = PassBatchedJobStore(engine=engine)
            await asyncio.to_thread(create_job_table, engine, self.jobstore.jobs_t)
            self.scheduler = build_scheduler(
                jobstores={JOBSTORE: self.jobstore, LOCAL: MemoryJobStore()},
                job_defaults={"coalesce": True, "max_instances": 1,
                              "misfire_grace_time": int(self.config.schedule.misfire_grace.total_seconds())},
            )
            if self.job_log is not None:
                from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, EVENT_JOB_SUBMITTED

                self.scheduler.add_listener(self._record_job_event,
                                            EVENT_JOB_SUBMITTED | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
            self.scheduler.start()
            await asyncio.to_thread(self.reconcile)
            beat = max(1.0, ttl.total_seconds() / 3)
            self.scheduler.add_job(self.heartbeat, "interval", seconds=beat, id="heartbeat", jobstore=LOCAL)
            self.scheduler.add_job(self.serve_rescans, "interval", seconds=self.config.schedule.rescan_poll.total_seconds(),
                                   id="rescans", jobstore=LOCAL, next_run_time=dt.datetime.now(dt.UTC))
            self.scheduler.add_job(self.deliver_alerts, "interval",
                                   seconds=self.config.notifications.retry_poll.total_seconds(),
                                   id="alerts", jobstore=LOCAL, next_run_time=dt.datetime.now(dt.UTC))
            self.log(f"govmon run 已启动（{self.owner}）：{len(self.config.sites)} 个网站，"
                     f"{len(self.config.accounts)} 个新媒体账号，扫描周期 {self.config.schedule.sites}，"
                     f"账号读取周期 {self.config.schedule.accounts}，探测周期 {self.config.schedule.probes}")
            console = self.start_console()
            await self.stop.wait()
            self.log("正在停止：等待进行中的扫描保存已读取的内容（记为未完成）……")
            if console is not None:
                await asyncio.wait({console}, timeout=STOP_GRACE_S)
            # Pause first: the AsyncIOExecutor's shutdown cancels running jobs, and a crawl
            # must be stopped through Scrapy (the stop event), not by cancelling its task.
            self.scheduler.pause()
            pending = [t for t in self.inflight if not t.done()]
            if pending:
                await asyncio.wait(pending, timeout=STOP_GRACE_S)
            self.scheduler.shutdown(wait=False)
            try:
                abandoned = await asyncio.to_thread(self._tx, lambda s: abandon_own_scans(s, self.owner))
            except Exception as err:  # the database went away: the leases expire, the next start reaps them
                self.log(f"未能把未结束的扫描记为未完成（下次启动时按过期租约处理）：{_first_line(err)}")
            else:
                if abandoned:
                    self.log(f"{len(abandoned)} 次扫描未在 {STOP_GRACE_S:.0f} 秒内停止，已记为未完成：{abandoned}")
            return 0
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                loop.remove_signal_handler(signum)
            _SERVICE.pop("active", None)
            try:
                await asyncio.to_thread(self._tx, lambda s: release_service_lease(s, self.owner))
            except Exception as err:  # the lease then frees itself when it expires
                self.log(f"释放服务租约失败：{err}")
            if self.dispatcher is not None:
                await self.dispatcher.close()
            shutdown_reactor()
            self.sessions.kw["bind"].dispose()

    def _record_job_event(self, event: Any) -> None:
        """APScheduler listener (``--job-log``): when each stored job was due and when it was submitted."""
        from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED

        if getattr(event, "jobstore", None) != JOBSTORE:
            return
        name = {EVENT_JOB_MISSED: "missed", EVENT_JOB_MAX_INSTANCES: "skipped_running"}.get(event.code, "submitted")
        due = getattr(event, "scheduled_run_times", None) or [getattr(event, "scheduled_run_time", None)]
        for scheduled in due:
            self._write_job_log({"event": name, "job": event.job_id, "scheduled": scheduled})

    def _write_job_log(self, entry: dict[str, Any]) -> None:
        if self.job_log is None:
            return
        import json

        now = dt.datetime.now(dt.UTC)
        scheduled = entry.get("scheduled")
        if isinstance(scheduled, dt.datetime):
            entry = {**entry, "scheduled": scheduled.isoformat(), "lag_s": round((now - scheduled).total_seconds(), 4)}
        with open(self.job_log, "a", encoding="utf-8") as out:
            out.write(json.dumps({**entry, "at": now.isoformat()}, ensure_ascii=False) + "\n")

    def _request_stop(self) -> None:
        self.stop.set()

    def _tx(self, work: Callable[[Session], Any]) -> Any:
        assert self.sessions is not None
        with self.sessions.begin() as session:
            return work(session)

    def start_console(self) -> asyncio.Task[None] | None:
        """The web console in this loop when ``console.enabled``; it stops with the service, and its
        重新检查 files rescan requests the service serves (ServiceRescanner)."""
        settings = self.config.console
        if not settings.enabled:
            return None
        from govmon.web import create_app, serve
        from govmon.web.rescan import ServiceRescanner

        assert self.sessions is not None
        app = create_app(self.config, self.sessions, rescanner=ServiceRescanner(self.config, self.sessions),
                         secure_cookies=settings.secure_cookies)

        async def run() -> None:
            try:
                await serve(app, host=settings.host, port=settings.port, stop=self.stop)
            except OSError as err:  # the port is taken: the service goes on without its console
                self.log(f"控制台未能启动（{settings.host}:{settings.port}）：{err}；监测照常进行")

        self.log(f"控制台：http://{settings.host if ':' not in settings.host else f'[{settings.host}]'}:{settings.port}/")
        return asyncio.get_running_loop().create_task(run())

    async def guarded(self, body: Awaitable[None], label: str) -> None:
        """Run a job body tracked for shutdown; one job's failure never stops the service."""
        task = asyncio.current_task()
        if task is not None:
            self.inflight.add(task)
        try:
            if not self.stop.is_set():
                await body
        except Exception as err:
            self.log(f"任务 {label} 出错：{type(err).__name__}: {err}")
        except asyncio.CancelledError:
            if not self.stop.is_set():
                raise
            # Stopping, and the grace period is over: a job still queued for a scan slot (or a
            # scan that did not stop in time, whose lease then expires) ends here, quietly.
        finally:
            if task is not None:
                self.inflight.discard(task)

    # ---- jobs -----------------------------------------------------------------------

    def reconcile(self) -> None:
        """Make the stored jobs match the config: add/replace what it asks for, drop the rest.

        Blocking (one read of every stored job, then their additions in one transaction): run it
        in a thread, the loop keeps scanning meanwhile.
        """
        from apscheduler.triggers.cron import CronTrigger
        from apscheduler.triggers.interval import IntervalTrigger

        stored = {job.id: job for job in self.scheduler.get_jobs(jobstore=JOBSTORE)}
        wanted: set[str] = set()
        with self.jobstore.batch():
            for kind in JOB_KINDS.values():
                period = kind.period(self.config)
                for target_id in kind.targets(self.config):
                    job_id = f"{kind.name}:{target_id}"
                    wanted.add(job_id)
                    if isinstance(period, dt.time):  # every day at this time, in the configured zone
                        trigger = CronTrigger(hour=period.hour, minute=period.minute, timezone=self.config.tzinfo)
                    else:
                        start = SCHEDULE_EPOCH + spread_offset(job_id, period)
                        trigger = IntervalTrigger(seconds=period.total_seconds(), start_date=start, timezone=dt.UTC)
                    existing = stored.get(job_id)
                    if existing is not None and str(existing.trigger) == str(trigger):
                        continue
                    self.scheduler.add_job(run_job, trigger, args=[kind.name, target_id], id=job_id,
                                           jobstore=JOBSTORE, replace_existing=True)
        for job_id in stored.keys() - wanted:
            self.scheduler.remove_job(job_id, jobstore=JOBSTORE)

    async def reload(self) -> None:
        """SIGHUP: read the config file again and reconcile the jobs."""
        from govmon.config import ConfigError, load_config

        if self.config_path is None:
            return
        try:
            self.config = await asyncio.to_thread(load_config, self.config_path)
        except (ConfigError, OSError) as err:
            self.log(f"重新读取配置失败，继续使用原配置：{err}")
            return
        from govmon.models import sync_targets
        from govmon.scan import target_specs

        try:
            await asyncio.to_thread(self._tx, lambda s: sync_targets(s, target_specs(self.config)))
        except Exception as err:
            self.log(f"更新登记的网站失败，继续使用原配置：{type(err).__name__}: {err}")
            return
        from govmon.crawler.accounts.pace import Paces

        self.paces = Paces.from_settings(self.config.platforms)
        try:
            await asyncio.to_thread(self.reconcile)
        except Exception as err:
            self.log(f"更新计划任务失败，稍后可再发送 SIGHUP 重试：{type(err).__name__}: {err}")
            return
        self.log("已重新读取配置并更新计划任务")

    async def heartbeat(self) -> None:
        from govmon.leases import renew_service_lease

        ttl = self.config.schedule.service_lease
        # A dropped connection (PostgreSQL restarted, backends terminated) fails the first try;
        # pool_pre_ping then hands out a fresh connection, so retry within this beat a few times
        # (spread over at most a third of the lease) before waiting for the next one.
        delays = [d for d in (0.2, 1.0, 3.0) if d < ttl.total_seconds() / 3]
        for attempt in range(len(delays) + 1):
            try:
                kept = await asyncio.to_thread(self._tx, lambda s: renew_service_lease(s, self.owner, ttl))
                break
            except Exception as err:
                if attempt == len(delays):
                    self.log(f"心跳写入失败，下次心跳重试：{type(err).__name__}: {_first_line(err)}")
                    return
                await asyncio.sleep(delays[attempt])
        if not kept:
            self.log("服务租约已被其他进程取得，停止本服务")
            self.stop.set()

    def _target(self, target_id: str) -> Site | Account | None:
        return next((t for t in self.config.targets if t.id == target_id and t.enabled), None)

    def kind_of(self, target_id: str) -> str:
        return "account" if isinstance(self._target(target_id), Account) else "site"

    async def scan_target(self, target_id: str, request_id: int | None) -> dict[str, Any]:
        """Scan one site or read one account now, in this process; its summary for `govmon rescan`."""
        from govmon.account_scan import AccountScanner
        from govmon.scan import SiteScanner

        target = self._target(target_id)
        if target is None:
            return {"status": "failed", "reason": f"配置中没有启用的网站或账号 {target_id}"}
        assert self.scan_slots is not None and self.sessions is not None
        kind = "account" if isinstance(target, Account) else "site"
        # One scan of a target at a time in this process: a rescan asked for while its scheduled
        # scan runs waits for it and then scans (the operator wants the state after the fix, not a
        # "busy" answer from the database lease); a scheduled fire while the target is being
        # scanned or waited for is not needed and is dropped.
        busy = self.scanning.setdefault(target_id, asyncio.Lock())
        if request_id is None and busy.locked():
            return {"status": "skipped", "reason": "该目标正在扫描", "target_id": target_id, "name": target.name}
        async with busy, self.scan_slots:
            if self.stop.is_set():  # queued for a slot while the service was stopping
                return {"status": "incomplete", "reason": "服务正在停止", "target_id": target_id, "name": target.name}
            self._write_job_log({"event": "started", "job": f"{kind}:{target_id}", "request": request_id})
            options = dict(as_of=dt.datetime.now(self.config.tzinfo), stop_event=self.stop, owner=self.owner,
                           lease=self.config.schedule.service_lease, sync_registry=False)
            started = time.monotonic()
            if isinstance(target, Account):
                [result] = await AccountScanner(self.config, self.sessions, paces=self.paces, **options).scan([target])
                done = {"coverage": result.coverage, "posts": result.posts}
                self.log(f"读取 {result.name}：{result.status}，{result.posts} 条内容")
            else:
                [result] = await SiteScanner(self.config, self.sessions, **options).scan([target])
                done = {"pages": result.pages, "links_checked": result.links_checked}
                self.log(f"扫描 {result.name}：{result.status}，{result.pages} 个网页")
        summary = scan_summary(result, kind, **done, seconds=round(time.monotonic() - started, 2))
        await self.deliver_alerts()
        return summary

    async def deliver_alerts(self) -> None:
        """Send the alerts that are due (after each scan, and on the retry timer)."""
        from govmon.alerts import deliver_pending

        assert self.sessions is not None
        async with self.delivering:  # one pass at a time in this process (claims guard the rest)
            try:
                await deliver_pending(self.config, self.sessions, owner=self.owner, log=self.log)
            except Exception as err:  # database restarting: the next pass retries
                self.log(f"发送提醒时出错，稍后重试：{type(err).__name__}: {err}")

    async def probe_round(self) -> None:
        from govmon.probes import probe_sites

        assert self.sessions is not None
        sites = [s for s in self.config.sites if s.enabled]
        if sites:
            self._write_job_log({"event": "started", "job": "probes:"})
            await probe_sites(self.config, self.sessions, sites)

    async def nightly(self) -> None:
        """Re-judge each site's latest complete scan at now, refresh the rollup, send alerts."""
        from govmon.nightly import run_nightly

        assert self.sessions is not None
        report = await asyncio.to_thread(run_nightly, self.config, self.sessions)
        self.log(report.summary())
        await self.deliver_alerts()

    async def serve_rescans(self) -> None:
        """Pick up pending ``govmon rescan`` requests, one task per request."""
        from govmon.rescan import claim_requests

        if self.stop.is_set():
            return
        try:
            claimed = await asyncio.to_thread(self._tx, claim_requests)
        except Exception as err:
            self.log(f"读取复查请求失败，稍后重试：{type(err).__name__}: {err}")
            return
        for request_id, target_id in claimed:
            task = asyncio.ensure_future(self.dispatcher.scan(self.kind_of(target_id), target_id, request_id))
            self.inflight.add(task)
            task.add_done_callback(self.inflight.discard)

    async def _serve_one(self, request_id: int, target_id: str) -> None:
        from govmon.rescan import finish_request

        try:
            summary = await self.scan_target(target_id, request_id)
        except Exception as err:
            summary = {"status": "failed", "reason": f"{type(err).__name__}: {err}"}
        await asyncio.to_thread(self._tx, lambda s: finish_request(s, request_id, summary))


def _first_line(err: BaseException) -> str:
    return next((line for line in str(err).splitlines() if line.strip()), "")


def run_service(settings: Config, database_url: str, config_path: Path | None = None,
                job_log: Path | None = None) -> int:
    return asyncio.run(MonitorService(settings, database_url, config_path=config_path, job_log=job_log).run())

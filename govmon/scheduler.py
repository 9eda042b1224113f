"""Continuous monitoring (`govmon run`).

One asyncio loop hosts APScheduler 3.11's AsyncIOScheduler, the Scrapy crawls (through
scan.SiteScanner on the asyncio reactor) and the httpx probes. The jobs live in
APScheduler's SQLAlchemyJobStore in the same database (its own ``apscheduler_jobs``
table: its layout belongs to the APScheduler version). APScheduler 3 cannot share a job
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
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from govmon.config import Config, Site

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
    period: Callable[[Config], dt.timedelta]
    targets: Callable[[Config], list[str]]  # target ids; [""] for a round over all targets
    body: Callable[["MonitorService", str], Awaitable[None]]


async def _scan_site_job(service: "MonitorService", target_id: str) -> None:
    await service.dispatcher.scan("site", target_id)


async def _probe_job(service: "MonitorService", _: str) -> None:
    await service.probe_round()


JOB_KINDS: dict[str, JobKind] = {
    "site": JobKind(
        "site", lambda c: c.schedule.sites,
        lambda c: [s.id for s in c.sites if s.enabled], _scan_site_job,
    ),
    "probes": JobKind("probes", lambda c: c.schedule.probes, lambda c: [""], _probe_job),
    # "account": JobKind("account", lambda c: c.schedule.accounts,
    #                    lambda c: [a.id for a in c.accounts if a.enabled], _scan_account_job),
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
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    sessions: sessionmaker[Session] | None = None
    scheduler: Any = None
    inflight: set[asyncio.Task[Any]] = field(default_factory=set)
    scan_slots: asyncio.Semaphore | None = None
    dispatcher: Any = None  # govmon.dispatch: in this process, or queued for the cluster's workers
    log: Callable[[str], None] = field(default=lambda m: print(m, file=sys.stderr, flush=True))

    # ---- lifecycle ------------------------------------------------------------------

    async def run(self) -> int:
        from apscheduler.jobstores.memory import MemoryJobStore
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        from govmon.crawler.runner import shutdown_reactor
        from govmon.db import DatabaseError, open_database
        from govmon.dispatch import make_dispatcher
        from govmon.leases import ServiceAlreadyRunning, reap_abandoned_scans, release_service_lease, take_service_lease
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
            self.dispatcher = make_dispatcher(self)
            await self.dispatcher.open()
            engine = self.sessions.kw["bind"]
            self.scheduler = AsyncIOScheduler(
                jobstores={JOBSTORE: SQLAlchemyJobStore(engine=engine), LOCAL: MemoryJobStore()},
                job_defaults={"coalesce": True, "max_instances": 1,
                              "misfire_grace_time": int(self.config.schedule.misfire_grace.total_seconds())},
                timezone=dt.UTC,
            )
            self.scheduler.start()
            self.reconcile()
            beat = max(1.0, ttl.total_seconds() / 3)
            self.scheduler.add_job(self.heartbeat, "interval", seconds=beat, id="heartbeat", jobstore=LOCAL)
            self.scheduler.add_job(self.serve_rescans, "interval", seconds=self.config.schedule.rescan_poll.total_seconds(),
                                   id="rescans", jobstore=LOCAL, next_run_time=dt.datetime.now(dt.UTC))
            self.log(f"govmon run 已启动（{self.owner}）：{len(self.config.sites)} 个网站，"
                     f"扫描周期 {self.config.schedule.sites}，探测周期 {self.config.schedule.probes}")
            await self.stop.wait()
            self.log("正在停止：等待进行中的扫描保存已读取的内容（记为未完成）……")
            # Pause first: the AsyncIOExecutor's shutdown cancels running jobs, and a crawl
            # must be stopped through Scrapy (the stop event), not by cancelling its task.
            self.scheduler.pause()
            pending = [t for t in self.inflight if not t.done()]
            if pending:
                await asyncio.wait(pending, timeout=STOP_GRACE_S)
            self.scheduler.shutdown(wait=False)
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

    def _request_stop(self) -> None:
        self.stop.set()

    def _tx(self, work: Callable[[Session], Any]) -> Any:
        assert self.sessions is not None
        with self.sessions.begin() as session:
            return work(session)

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
        finally:
            if task is not None:
                self.inflight.discard(task)

    # ---- jobs -----------------------------------------------------------------------

    def reconcile(self) -> None:
        """Make the stored jobs match the config: add/replace what it asks for, drop the rest."""
        from apscheduler.triggers.interval import IntervalTrigger

        wanted: set[str] = set()
        for kind in JOB_KINDS.values():
            period = kind.period(self.config)
            for target_id in kind.targets(self.config):
                job_id = f"{kind.name}:{target_id}"
                wanted.add(job_id)
                start = SCHEDULE_EPOCH + spread_offset(job_id, period)
                trigger = IntervalTrigger(seconds=period.total_seconds(), start_date=start, timezone=dt.UTC)
                existing = self.scheduler.get_job(job_id, jobstore=JOBSTORE)
                if existing is not None and str(existing.trigger) == str(trigger):
                    continue
                self.scheduler.add_job(run_job, trigger, args=[kind.name, target_id], id=job_id,
                                       jobstore=JOBSTORE, replace_existing=True)
        for job in self.scheduler.get_jobs(jobstore=JOBSTORE):
            if job.id not in wanted:
                job.remove()

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
        self.reconcile()
        self.log("已重新读取配置并更新计划任务")

    async def heartbeat(self) -> None:
        from govmon.leases import renew_service_lease

        ttl = self.config.schedule.service_lease
        try:
            kept = await asyncio.to_thread(self._tx, lambda s: renew_service_lease(s, self.owner, ttl))
        except Exception as err:  # database restarting: pool_pre_ping reconnects on the next beat
            self.log(f"心跳写入失败，稍后重试：{type(err).__name__}: {err}")
            return
        if not kept:
            self.log("服务租约已被其他进程取得，停止本服务")
            self.stop.set()

    def _site(self, target_id: str) -> Site | None:
        return next((s for s in self.config.sites if s.id == target_id and s.enabled), None)

    async def scan_target(self, target_id: str, request_id: int | None) -> dict[str, Any]:
        from govmon.scan import SiteScanner

        site = self._site(target_id)
        if site is None:
            return {"status": "failed", "reason": f"配置中没有启用的网站 {target_id}"}
        assert self.scan_slots is not None and self.sessions is not None
        async with self.scan_slots:
            scanner = SiteScanner(self.config, self.sessions, as_of=dt.datetime.now(self.config.tzinfo),
                                  stop_event=self.stop, owner=self.owner, lease=self.config.schedule.service_lease)
            started = time.monotonic()
            [result] = await scanner.scan([site])
        summary = {
            "target_id": result.target_id, "name": result.name, "scan_id": result.scan_id,
            "status": result.status, "reason": result.reason, "pages": result.pages,
            "links_checked": result.links_checked, "opened": result.opened, "resolved": result.resolved,
            "open_by_severity": dict(result.open_by_severity), "seconds": round(time.monotonic() - started, 2),
        }
        self.log(f"扫描 {result.name}：{result.status}，{result.pages} 个网页")
        return summary

    async def probe_round(self) -> None:
        from govmon.probes import probe_sites

        assert self.sessions is not None
        sites = [s for s in self.config.sites if s.enabled]
        if sites:
            await probe_sites(self.config, self.sessions, sites)

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
            task = asyncio.ensure_future(self.dispatcher.scan("site", target_id, request_id))
            self.inflight.add(task)
            task.add_done_callback(self.inflight.discard)

    async def _serve_one(self, request_id: int, target_id: str) -> None:
        from govmon.rescan import finish_request

        try:
            summary = await self.scan_target(target_id, request_id)
        except Exception as err:
            summary = {"status": "failed", "reason": f"{type(err).__name__}: {err}"}
        await asyncio.to_thread(self._tx, lambda s: finish_request(s, request_id, summary))


def run_service(settings: Config, database_url: str, config_path: Path | None = None) -> int:
    return asyncio.run(MonitorService(settings, database_url, config_path=config_path).run())

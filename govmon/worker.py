"""``govmon worker``: take queued scans from the cluster's queue and run them.

One asyncio loop runs procrastinate's worker, the crawls (Scrapy on the asyncio reactor),
the browser and the account adapters, exactly as ``govmon run`` does on one machine. Beside
the worker run two small loops: the scan-lease heartbeat (a killed worker's leases expire
after ``cluster.stalled_timeout``) and the stalled-job retry. If the database goes away
(server restarted, connections terminated) the procrastinate worker stops; it is started
again until the database answers. SIGINT/SIGTERM: scans in flight stop through Scrapy, keep
what they read (marked incomplete) and go back to the queue for another worker; the Twisted
thread pool is stopped before exit.
"""

from __future__ import annotations

import asyncio
import faulthandler
import signal
import sys
from typing import Any, Awaitable, Callable

from govmon.config import Config

STOP_GRACE_S = 25.0
RESTART_DELAY_S = 2.0


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def _every(seconds: float, stop: asyncio.Event, body: Callable[[], Awaitable[Any]], label: str,
                 log: Callable[[str], None]) -> None:
    while not stop.is_set():
        try:
            await body()
        except Exception as err:  # database restarting: the next round reconnects
            log(f"{label}失败，稍后重试：{type(err).__name__}: {err}")
        try:
            await asyncio.wait_for(stop.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            pass


def _dump_tasks() -> None:
    for task in asyncio.all_tasks():
        print(f"--- {task.get_name()}: {task.get_coro()}", file=sys.stderr)
        task.print_stack(limit=12, file=sys.stderr)
    sys.stderr.flush()


async def run_worker(config: Config, database_url: str, *, concurrency: int | None = None,
                     log: Callable[[str], None] = _log) -> int:
    from govmon.browser_audits import browser_pool
    from govmon.cluster import QUEUES, WorkerRuntime, build_app, ensure_schema, queue_url, register_tasks, retry_stalled_jobs
    from govmon.crawler.runner import shutdown_reactor
    from govmon.db import DatabaseError, open_database
    from govmon.leases import process_owner, renew_scan_leases
    from govmon.models import sync_targets
    from govmon.scan import target_specs
    from govmon.shared_pace import SharedPaces

    cluster = config.cluster
    concurrency = concurrency or cluster.concurrency
    try:
        conninfo = queue_url(config, database_url)
        sessions = await asyncio.to_thread(open_database, database_url)
    except DatabaseError as err:
        log(str(err))
        return 1
    owner = process_owner()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, _dump_tasks)  # operators: what is this worker doing?
    faulthandler.register(signal.SIGUSR2, all_threads=True)  # ...and its threads, even if the loop is stuck
    app = build_app(conninfo, max_size=concurrency + 4)
    runtime = WorkerRuntime(config, sessions, owner, stop, log)
    side: list[asyncio.Task[Any]] = []
    try:
        await asyncio.to_thread(ensure_schema, conninfo)
        await asyncio.to_thread(runtime._tx, lambda s: sync_targets(s, target_specs(config)))
        await app.open_async()
        register_tasks(app, runtime)
        runtime.browser = browser_pool(config)
        runtime.paces = SharedPaces(config.platforms, sessions)
        timeout = cluster.stalled_timeout
        beat = timeout.total_seconds() / 3
        side = [
            asyncio.create_task(_every(beat, stop, lambda: asyncio.to_thread(
                runtime._tx, lambda s: renew_scan_leases(s, owner, timeout, list(runtime.running))), "续租扫描", log)),
            asyncio.create_task(_every(timeout.total_seconds() / 2, stop, lambda: retry_stalled_jobs(app, timeout),
                                       "重试中断的扫描", log)),
        ]
        log(f"govmon worker 已启动（{owner}）：并发 {concurrency}，队列 {', '.join(QUEUES)}，"
            f"失联判定 {timeout.total_seconds():.0f} 秒")
        while not stop.is_set():
            work = asyncio.create_task(app.run_worker_async(
                queues=list(QUEUES), concurrency=concurrency, name=owner, install_signal_handlers=False,
                update_heartbeat_interval=beat, stalled_worker_timeout=timeout.total_seconds(),
                shutdown_graceful_timeout=STOP_GRACE_S, delete_jobs="successful", fetch_job_polling_interval=2.0,
            ))
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({work, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if stop.is_set():
                log("正在停止：进行中的扫描保存已读取的内容（记为未完成），交回队列由其他工作进程重试……")
                work.cancel()
                try:
                    await work
                except (asyncio.CancelledError, Exception):
                    pass
                break
            stopping.cancel()
            err = work.exception()
            log(f"任务队列连接中断，{RESTART_DELAY_S:.0f} 秒后重新连接"
                + (f"：{type(err).__name__}: {err}" if err else ""))
            try:
                await asyncio.wait_for(stop.wait(), timeout=RESTART_DELAY_S)
            except asyncio.TimeoutError:
                pass
        return 0
    except Exception as err:
        log(f"govmon worker 出错：{type(err).__name__}: {err}")
        return 1
    finally:
        stop.set()
        for task in side:
            task.cancel()
        await asyncio.gather(*side, return_exceptions=True)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1):
            loop.remove_signal_handler(signum)
        if runtime.browser is not None:
            await runtime.browser.close()
        try:
            await app.close_async()
        except Exception:
            pass
        shutdown_reactor()
        sessions.kw["bind"].dispose()


def worker_main(config: Config, database_url: str, concurrency: int | None = None) -> int:
    return asyncio.run(run_worker(config, database_url, concurrency=concurrency))

"""`govmon status`: the service's lease, each site's last scan and probe, each account's last
read, what is overdue, pending rescans — read from the database only (works whether the service runs or not)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, func, select, text
from sqlalchemy.orm import Session

from govmon.config import PLATFORMS, Config
from govmon.leases import service_state
from govmon.models import Probe, Scan, ScanRequest, utcnow
from govmon.terminal import table


def _local(value: dt.datetime | None, config: Config) -> str:
    return value.astimezone(config.tzinfo).strftime("%Y-%m-%d %H:%M:%S") if value else "从未"


def service_status_text(session: Session, config: Config) -> str:
    now = utcnow()
    state = service_state(session)
    if state is None:
        lines = ["监测服务：未运行"]
    elif state.alive:
        lines = [f"监测服务：运行中（{state.owner}），启动于 {_local(state.started_at, config)}，"
                 f"最近心跳 {_local(state.heartbeat_at, config)}"]
    else:
        lines = [f"监测服务：未运行（{state.owner} 的最后心跳 {_local(state.heartbeat_at, config)}，租约已过期，进程可能已被终止）"]
    last_scan = dict(session.execute(
        select(Scan.target_id, func.max(Scan.started_at)).where(Scan.kind == "site").group_by(Scan.target_id)
    ).all())
    last_probe = dict(session.execute(select(Probe.target_id, func.max(Probe.probed_at)).group_by(Probe.target_id)).all())
    period, probes = config.schedule.sites, config.schedule.probes
    rows, overdue = [], 0
    for site in (s for s in config.sites if s.enabled):
        scanned, probed = last_scan.get(site.id), last_probe.get(site.id)
        late = scanned is None or now - scanned > period * 1.5
        overdue += late
        rows.append([site.name, _local(scanned, config), _local(scanned + period, config) if scanned else "尽快",
                     _local(probed, config), _local(probed + probes, config) if probed else "尽快", "超期" if late else ""])
    lines.append(table(["网站", "最近扫描", "下次扫描（约）", "最近探测", "下次探测（约）", "状态"], rows))
    accounts = [a for a in config.accounts if a.enabled]
    late_accounts = 0
    if accounts:
        last_read = dict(session.execute(
            select(Scan.target_id, func.max(Scan.started_at)).where(Scan.kind == "account").group_by(Scan.target_id)
        ).all())
        every = config.schedule.accounts
        rows = []
        for account in accounts:
            read = last_read.get(account.id)
            late = read is None or now - read > every * 1.5
            late_accounts += late
            rows.append([account.name, PLATFORMS.get(account.platform, account.platform), _local(read, config),
                         _local(read + every, config) if read else "尽快", "超期" if late else ""])
        lines.append(table(["账号", "平台", "最近读取", "下次读取（约）", "状态"], rows))
    pending = session.scalar(select(func.count()).select_from(ScanRequest).where(ScanRequest.status.in_(("pending", "running"))))
    lines.append(f"超期未扫描的网站：{overdue} 个；超期未读取的账号：{late_accounts} 个；待处理的复查请求：{pending} 个")
    return "\n".join(lines)


def cluster_status_text(queue: Connection, session: Session, config: Config) -> str:
    """The cluster's part of ``govmon status``: workers and their heartbeats, the queues (waiting,
    retries scheduled, running, the oldest waiting job's lag), and which worker runs what.

    ``queue``: a connection to the queue's database (procrastinate's tables); ``session``: ours.
    """
    if queue.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is None:
        return "集群：已启用，但任务队列尚未创建（govmon run 或 govmon worker 首次启动时创建）"
    stalled = config.cluster.stalled_timeout.total_seconds()
    lines = []
    workers = queue.execute(text(
        "SELECT w.id, EXTRACT(EPOCH FROM now() - w.last_heartbeat) AS age, "
        "       array_remove(array_agg(j.args->>'target_id' ORDER BY j.id), NULL) AS targets "
        "FROM procrastinate_workers w LEFT JOIN procrastinate_jobs j ON j.worker_id = w.id AND j.status = 'doing' "
        "GROUP BY w.id, w.last_heartbeat ORDER BY w.id")).all()
    owners = dict(session.execute(select(Scan.target_id, Scan.lease_owner).where(Scan.status == "running")).all())
    names = {t.id: t.name for t in config.targets}
    rows = []
    for worker_id, age, targets in workers:
        hosts = sorted({owners[t] for t in targets if owners.get(t)})
        state = "失联（其任务将在其他工作进程重试）" if age > stalled else "运行中"
        rows.append([f"#{worker_id}", "、".join(hosts) or "—", f"{age:.0f} 秒前", state,
                     "、".join(names.get(t, t) for t in targets) or "空闲"])
    alive = sum(1 for _, age, _ in workers if age <= stalled)
    lines.append(f"集群工作进程：{alive} 个在线，{len(workers) - alive} 个失联")
    if rows:
        lines.append(table(["工作进程", "主机:进程", "最近心跳", "状态", "正在扫描"], rows))
    queues = queue.execute(text(
        "SELECT j.queue_name, "
        "  count(*) FILTER (WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())) AS waiting, "
        "  count(*) FILTER (WHERE j.status = 'todo' AND j.scheduled_at > now()) AS later, "
        "  count(*) FILTER (WHERE j.status = 'doing') AS running, "
        "  count(*) FILTER (WHERE j.status = 'failed') AS failed, "
        "  EXTRACT(EPOCH FROM now() - min(COALESCE(j.scheduled_at, e.at)) FILTER ("
        "    WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now()))) AS lag "
        "FROM procrastinate_jobs j "
        "LEFT JOIN procrastinate_events e ON e.job_id = j.id AND e.type = 'deferred' "
        "GROUP BY j.queue_name ORDER BY j.queue_name")).all()
    label = {"sites": "网站扫描", "accounts": "账号读取"}
    qrows = [[label.get(q, q), str(waiting), str(later), str(running), str(failed),
              f"{lag:.0f} 秒" if lag is not None else "—"] for q, waiting, later, running, failed, lag in queues]
    lines.append(table(["队列", "等待中", "稍后重试", "运行中", "失败", "最早等待的任务已等"], qrows)
                 if qrows else "任务队列：空")
    return "\n".join(lines)

"""`govmon status`: the service's lease, each site's last scan and probe, overdue sites,
pending rescans — read from the database only (works whether the service runs or not)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govmon.config import Config
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
    pending = session.scalar(select(func.count()).select_from(ScanRequest).where(ScanRequest.status.in_(("pending", "running"))))
    lines.append(f"超期未扫描的网站：{overdue} 个；待处理的复查请求：{pending} 个")
    return "\n".join(lines)

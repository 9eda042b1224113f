"""Leases in the database: the one service per database, and one scan per target at a time.

Both are taken atomically under :func:`govmon.db.write_lock` (a PostgreSQL advisory lock,
SQLite's write lock), so two processes never both see a lease as free. A lease that has
expired belongs to a process that died (kill -9): it is free again, and its running scans
are abandoned and marked incomplete by :func:`reap_abandoned_scans`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from govmon.db import write_lock
from govmon.models import Scan, ServiceLease, utcnow

SERVICE_LEASE_NAME = "govmon-run"


class ServiceAlreadyRunning(Exception):
    """Another live ``govmon run`` holds the database's service lease."""

    def __init__(self, lease: ServiceLease) -> None:
        self.owner, self.started_at, self.heartbeat_at = lease.owner, lease.started_at, lease.heartbeat_at
        super().__init__(
            f"已有一个 govmon run 正在使用这个数据库（进程 {lease.owner}，启动于 {lease.started_at:%Y-%m-%d %H:%M:%S} UTC，"
            f"最近心跳 {lease.heartbeat_at:%H:%M:%S} UTC）。同一个数据库只能运行一个监测服务；"
            "请先停止它，或用 govmon rescan 请它复查。"
        )


class TargetBusy(Exception):
    """A scan of this target is already running under a live lease."""

    def __init__(self, target_id: str, owner: str | None) -> None:
        self.target_id, self.owner = target_id, owner
        super().__init__(f"{target_id} 正在由 {owner} 扫描，同一目标不能同时进行两次扫描，请稍后再试")


@dataclass(frozen=True)
class ServiceState:
    owner: str
    started_at: dt.datetime
    heartbeat_at: dt.datetime
    expires_at: dt.datetime
    alive: bool


def take_service_lease(session: Session, owner: str, ttl: dt.timedelta) -> ServiceLease:
    """Claim the service lease for ``owner`` or raise :class:`ServiceAlreadyRunning`."""
    write_lock(session, f"lease:{SERVICE_LEASE_NAME}")
    now = utcnow()
    lease = session.get(ServiceLease, SERVICE_LEASE_NAME)
    if lease is not None and lease.expires_at > now and lease.owner != owner:
        raise ServiceAlreadyRunning(lease)
    if lease is None:
        lease = ServiceLease(name=SERVICE_LEASE_NAME, owner=owner, started_at=now, heartbeat_at=now, expires_at=now + ttl)
        session.add(lease)
    else:
        lease.owner, lease.started_at, lease.heartbeat_at, lease.expires_at = owner, now, now, now + ttl
    session.flush()
    return lease


def renew_service_lease(session: Session, owner: str, ttl: dt.timedelta) -> bool:
    """Heartbeat: extend the lease (and the leases of this owner's running scans); False if lost."""
    write_lock(session, f"lease:{SERVICE_LEASE_NAME}")
    now = utcnow()
    lease = session.get(ServiceLease, SERVICE_LEASE_NAME)
    if lease is None or lease.owner != owner:
        return False
    lease.heartbeat_at, lease.expires_at = now, now + ttl
    for scan in session.scalars(select(Scan).where(Scan.status == "running", Scan.lease_owner == owner)):
        scan.lease_expires_at = now + ttl
    return True


def release_service_lease(session: Session, owner: str) -> None:
    write_lock(session, f"lease:{SERVICE_LEASE_NAME}")
    lease = session.get(ServiceLease, SERVICE_LEASE_NAME)
    if lease is not None and lease.owner == owner:
        session.delete(lease)


def service_state(session: Session) -> ServiceState | None:
    lease = session.get(ServiceLease, SERVICE_LEASE_NAME)
    if lease is None:
        return None
    return ServiceState(lease.owner, lease.started_at, lease.heartbeat_at, lease.expires_at,
                        alive=lease.expires_at > utcnow())


def claim_target(session: Session, target_id: str) -> None:
    """Before starting a scan of ``target_id``: raise :class:`TargetBusy` if one runs under a
    live lease; a running scan whose lease expired is abandoned and marked incomplete."""
    write_lock(session, f"target:{target_id}")
    now = utcnow()
    for scan in session.scalars(select(Scan).where(Scan.target_id == target_id, Scan.status == "running")):
        if scan.lease_expires_at is not None and scan.lease_expires_at > now:
            raise TargetBusy(target_id, scan.lease_owner)
        _abandon(scan, now)


def reap_abandoned_scans(session: Session) -> list[int]:
    """Running scans whose lease has expired (their process died): marked incomplete."""
    write_lock(session, "reap-abandoned-scans")
    now = utcnow()
    reaped = []
    for scan in session.scalars(select(Scan).where(Scan.status == "running", Scan.lease_expires_at <= now)):
        _abandon(scan, now)
        reaped.append(scan.id)
    return reaped


def _abandon(scan: Scan, now: dt.datetime) -> None:
    scan.status, scan.finished_at = "incomplete", now
    scan.error = f"扫描进程 {scan.lease_owner} 已中止（租约过期），本次扫描记为未完成"
    scan.lease_owner = scan.lease_expires_at = None


def renew_scan_leases(session: Session, owner: str, ttl: dt.timedelta, target_ids: Collection[str]) -> int:
    """A worker's heartbeat: extend the leases of ``owner``'s running scans of ``target_ids``
    (those it is running now; a scan it lost track of expires); how many."""
    if not target_ids:
        return 0
    now = utcnow()
    renewed = 0
    for scan in session.scalars(select(Scan).where(Scan.status == "running", Scan.lease_owner == owner,
                                                   Scan.target_id.in_(list(target_ids)))):
        scan.lease_expires_at = now + ttl
        renewed += 1
    return renewed


def live_scan_owner(session: Session, target_id: str) -> str | None:
    """The owner of a running scan of ``target_id`` whose lease is still live, if any."""
    now = utcnow()
    return session.scalar(select(Scan.lease_owner).where(
        Scan.target_id == target_id, Scan.status == "running", Scan.lease_expires_at > now).limit(1))

"""Leases in the database: the one service per database, one scan per target at a time, and
never a probe of a site on top of its scan.

All are taken atomically under :func:`govmon.db.write_lock` (a PostgreSQL advisory lock,
SQLite's write lock), so two processes never both see a lease as free. A lease that has
expired belongs to a process that died (kill -9): it is free again, and its running scans
are abandoned and marked incomplete by :func:`reap_abandoned_scans`.

A site's crawl uses all of its configured concurrency, and an availability probe is one
more connection to it: a probe round skips a site being scanned (:func:`claim_probe`), and a
scan about to start waits while a probe of its site is in flight (:class:`ProbeInFlight`).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from govmon.db import write_lock
from govmon.models import ProbeLease, Scan, ServiceLease, utcnow

SERVICE_LEASE_NAME = "govmon-run"


def process_owner() -> str:
    """The name this process holds its leases under: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


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


class ProbeInFlight(Exception):
    """A probe of this site is in flight: its scan starts once the probe has ended."""

    def __init__(self, target_id: str, until: dt.datetime) -> None:
        self.target_id, self.until = target_id, until
        super().__init__(f"{target_id} 正在被可用性探测，探测结束后再开始扫描")


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
    live lease, :class:`ProbeInFlight` while a probe of it is in flight; a running scan whose
    lease expired is abandoned and marked incomplete."""
    write_lock(session, f"target:{target_id}")
    now = utcnow()
    for scan in session.scalars(select(Scan).where(Scan.target_id == target_id, Scan.status == "running")):
        if scan.lease_expires_at is not None and scan.lease_expires_at > now:
            raise TargetBusy(target_id, scan.lease_owner)
        _abandon(scan, now)
    probe = session.get(ProbeLease, target_id)
    if probe is not None and probe.expires_at > now:
        raise ProbeInFlight(target_id, probe.expires_at)


def claim_probe(session: Session, target_id: str, owner: str, ttl: dt.timedelta) -> bool:
    """Before probing site ``target_id``: False while a scan of it runs under a live lease
    (the probe is skipped: it would come on top of the crawl's connections); otherwise the
    probe's lease is taken for ``ttl`` (longer than a probe can take) and True."""
    write_lock(session, f"target:{target_id}")
    now = utcnow()
    if live_scan_owner(session, target_id) is not None:
        return False
    lease = session.get(ProbeLease, target_id)
    if lease is None:
        session.add(ProbeLease(target_id=target_id, owner=owner, expires_at=now + ttl))
    else:
        lease.owner, lease.expires_at = owner, now + ttl
    return True


def release_probe(session: Session, target_id: str, owner: str) -> None:
    """The probe of ``target_id`` has ended: a scan waiting for it may start."""
    write_lock(session, f"target:{target_id}")
    lease = session.get(ProbeLease, target_id)
    if lease is not None and lease.owner == owner:
        session.delete(lease)


def reap_abandoned_scans(session: Session) -> list[int]:
    """Running scans whose lease has expired (their process died): marked incomplete."""
    write_lock(session, "reap-abandoned-scans")
    now = utcnow()
    reaped = []
    for scan in session.scalars(select(Scan).where(Scan.status == "running", Scan.lease_expires_at <= now)):
        _abandon(scan, now)
        reaped.append(scan.id)
    return reaped


def abandon_own_scans(session: Session, owner: str) -> list[int]:
    """At a clean stop, after the grace period: ``owner``'s scans still running, marked incomplete
    now rather than left for the next start to find by their expired lease. A scan being finished
    meanwhile is waited for (its row lock) and, finished, left alone."""
    write_lock(session, "reap-abandoned-scans")
    now = utcnow()
    abandoned = []
    for scan in session.scalars(select(Scan).where(Scan.status == "running", Scan.lease_owner == owner)
                                .with_for_update()):
        _abandon(scan, now, "服务停止时本次扫描未在宽限期内结束，记为未完成")
        abandoned.append(scan.id)
    return abandoned


def _abandon(scan: Scan, now: dt.datetime, error: str | None = None) -> None:
    scan.status, scan.finished_at = "incomplete", now
    scan.error = error or f"扫描进程 {scan.lease_owner} 已中止（租约过期），本次扫描记为未完成"
    scan.lease_owner = scan.lease_expires_at = None


def renew_scan_leases(session: Session, owner: str, ttl: dt.timedelta, target_ids: Collection[str]) -> int:
    """A worker's heartbeat: extend the leases of ``owner``'s running scans of ``target_ids``
    (those it is running now; a scan it lost track of expires); how many.

    A scan whose row is locked is being finished in another transaction (its judgement can take
    seconds): it is skipped rather than waited for, so the other scans' leases never lapse
    behind it."""
    if not target_ids:
        return 0
    now = utcnow()
    renewed = 0
    for scan in session.scalars(select(Scan).where(Scan.status == "running", Scan.lease_owner == owner,
                                                   Scan.target_id.in_(list(target_ids)))
                                .with_for_update(skip_locked=True)):
        scan.lease_expires_at = now + ttl
        renewed += 1
    return renewed


def live_scan_owner(session: Session, target_id: str) -> str | None:
    """The owner of a running scan of ``target_id`` whose lease is still live, if any."""
    now = utcnow()
    return session.scalar(select(Scan.lease_owner).where(
        Scan.target_id == target_id, Scan.status == "running", Scan.lease_expires_at > now).limit(1))

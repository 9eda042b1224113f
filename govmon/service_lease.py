"""The service lease: at most one ``govmon run`` per database.

A row in ``service_leases`` names the running service (owner = host:pid), its start and
its last heartbeat. Taking it is atomic on SQLite and PostgreSQL (``db.write_lock`` then
read-then-write in one transaction); a lease whose ``expires_at`` has passed belongs to
a service that died (kill -9) and is taken over.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from govmon.db import write_lock
from govmon.models import ServiceLease, utcnow

SERVICE_LEASE_NAME = "service"
DEFAULT_LEASE_TTL = dt.timedelta(seconds=60)


class ServiceAlreadyRunning(Exception):
    """Another live ``govmon run`` holds the lease; the message is for the user (Chinese)."""


@dataclass(frozen=True)
class LeaseInfo:
    owner: str
    started_at: dt.datetime
    heartbeat_at: dt.datetime
    expires_at: dt.datetime

    def alive(self, now: dt.datetime | None = None) -> bool:
        return self.expires_at > (now or utcnow())


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _info(row: ServiceLease) -> LeaseInfo:
    return LeaseInfo(row.owner, row.started_at, row.heartbeat_at, row.expires_at)


def acquire(session_factory: sessionmaker[Session], owner: str, *,
            ttl: dt.timedelta = DEFAULT_LEASE_TTL) -> LeaseInfo:
    """Take the lease for ``owner`` or raise ServiceAlreadyRunning naming the holder."""
    with session_factory() as session, session.begin():
        write_lock(session, "service_lease")
        now = utcnow()
        row = session.get(ServiceLease, SERVICE_LEASE_NAME)
        if row is not None and row.owner != owner and row.expires_at > now:
            raise ServiceAlreadyRunning(
                f"已有 govmon run 在使用这个数据库（进程 {row.owner}，"
                f"启动于 {row.started_at:%Y-%m-%d %H:%M:%S} UTC，"
                f"最近心跳 {row.heartbeat_at:%H:%M:%S} UTC）。同一数据库只能运行一个监测服务；"
                f"请先停止它，或等待其租约于 {row.expires_at:%H:%M:%S} UTC 过期。"
            )
        if row is None:
            row = ServiceLease(name=SERVICE_LEASE_NAME, owner=owner, started_at=now,
                               heartbeat_at=now, expires_at=now + ttl)
            session.add(row)
        else:
            row.owner, row.started_at, row.heartbeat_at, row.expires_at = owner, now, now, now + ttl
        session.flush()
        return _info(row)


def heartbeat(session_factory: sessionmaker[Session], owner: str, *,
              ttl: dt.timedelta = DEFAULT_LEASE_TTL) -> bool:
    """Extend the lease; False when ``owner`` no longer holds it (it expired and was taken)."""
    with session_factory() as session, session.begin():
        write_lock(session, "service_lease")
        row = session.get(ServiceLease, SERVICE_LEASE_NAME)
        if row is None or row.owner != owner:
            return False
        now = utcnow()
        row.heartbeat_at, row.expires_at = now, now + ttl
        return True


def release(session_factory: sessionmaker[Session], owner: str) -> None:
    """Give the lease up on a clean stop (only if ``owner`` still holds it)."""
    with session_factory() as session, session.begin():
        write_lock(session, "service_lease")
        row = session.get(ServiceLease, SERVICE_LEASE_NAME)
        if row is not None and row.owner == owner:
            session.delete(row)


def current(session_factory: sessionmaker[Session]) -> LeaseInfo | None:
    """The lease as stored (alive or stale), for ``govmon status``."""
    with session_factory() as session:
        row = session.get(ServiceLease, SERVICE_LEASE_NAME)
        return None if row is None else _info(row)

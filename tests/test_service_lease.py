"""The service lease (one govmon run per database), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy.orm import Session, sessionmaker

from govmon import service_lease
from govmon.models import ServiceLease, utcnow
from govmon.service_lease import ServiceAlreadyRunning


def test_second_owner_refused_with_chinese_message(session_factory: sessionmaker[Session]) -> None:
    first = service_lease.acquire(session_factory, "host:1")
    assert first.owner == "host:1"
    with pytest.raises(ServiceAlreadyRunning) as err:
        service_lease.acquire(session_factory, "host:2")
    assert "已有 govmon run 在使用这个数据库（进程 host:1" in str(err.value)
    assert service_lease.current(session_factory).owner == "host:1"


def test_stale_lease_taken_over_and_old_owner_loses_heartbeat(session_factory: sessionmaker[Session]) -> None:
    service_lease.acquire(session_factory, "host:1")
    with session_factory() as session, session.begin():
        row = session.get(ServiceLease, service_lease.SERVICE_LEASE_NAME)
        row.expires_at = utcnow() - dt.timedelta(seconds=1)  # host:1 was killed
    taken = service_lease.acquire(session_factory, "host:2")
    assert taken.owner == "host:2"
    assert service_lease.heartbeat(session_factory, "host:1") is False
    assert service_lease.heartbeat(session_factory, "host:2") is True


def test_heartbeat_extends_and_release_frees(session_factory: sessionmaker[Session]) -> None:
    first = service_lease.acquire(session_factory, "host:1", ttl=dt.timedelta(seconds=5))
    assert service_lease.heartbeat(session_factory, "host:1", ttl=dt.timedelta(hours=1)) is True
    later = service_lease.current(session_factory)
    assert later.expires_at - first.expires_at > dt.timedelta(minutes=50)
    service_lease.release(session_factory, "host:2")  # not the holder: nothing happens
    assert service_lease.current(session_factory).owner == "host:1"
    service_lease.release(session_factory, "host:1")
    assert service_lease.current(session_factory) is None
    assert service_lease.acquire(session_factory, "host:2").owner == "host:2"


def test_racing_starts_exactly_one_wins(session_factory: sessionmaker[Session]) -> None:
    barrier = threading.Barrier(6)
    winners: list[str] = []
    refused: list[str] = []

    def start(owner: str) -> None:
        barrier.wait()
        try:
            service_lease.acquire(session_factory, owner)
            winners.append(owner)
        except ServiceAlreadyRunning:
            refused.append(owner)

    threads = [threading.Thread(target=start, args=(f"host:{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
    assert len(refused) == 5
    assert service_lease.current(session_factory).owner == winners[0]

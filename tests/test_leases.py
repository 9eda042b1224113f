"""govmon.leases on SQLite and PostgreSQL: one service per database, one scan per target."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy.orm import Session, sessionmaker

from govmon.leases import (
    SERVICE_LEASE_NAME,
    ServiceAlreadyRunning,
    release_service_lease,
    renew_service_lease,
    service_state,
    take_service_lease,
)
from govmon.models import ServiceLease, utcnow

TTL = dt.timedelta(seconds=60)


def _take(session_factory: sessionmaker[Session], owner: str, ttl: dt.timedelta = TTL) -> str:
    with session_factory() as session, session.begin():
        return take_service_lease(session, owner, ttl).owner


def _state(session_factory: sessionmaker[Session]):
    with session_factory() as session:
        return service_state(session)


def test_second_owner_refused_with_chinese_message(session_factory: sessionmaker[Session]) -> None:
    assert _take(session_factory, "host:1") == "host:1"
    with pytest.raises(ServiceAlreadyRunning) as err:
        _take(session_factory, "host:2")
    assert "已有一个 govmon run 正在使用这个数据库（进程 host:1" in str(err.value)
    state = _state(session_factory)
    assert (state.owner, state.alive) == ("host:1", True)


def test_stale_lease_taken_over_and_old_owner_loses_heartbeat(session_factory: sessionmaker[Session]) -> None:
    _take(session_factory, "host:1")
    with session_factory() as session, session.begin():
        session.get(ServiceLease, SERVICE_LEASE_NAME).expires_at = utcnow() - dt.timedelta(seconds=1)  # killed
    assert _state(session_factory).alive is False
    assert _take(session_factory, "host:2") == "host:2"
    with session_factory() as session, session.begin():
        assert renew_service_lease(session, "host:1", TTL) is False
    with session_factory() as session, session.begin():
        assert renew_service_lease(session, "host:2", TTL) is True


def test_renew_extends_and_release_frees(session_factory: sessionmaker[Session]) -> None:
    _take(session_factory, "host:1", dt.timedelta(seconds=5))
    before = _state(session_factory).expires_at
    with session_factory() as session, session.begin():
        assert renew_service_lease(session, "host:1", dt.timedelta(hours=1)) is True
    assert _state(session_factory).expires_at - before > dt.timedelta(minutes=50)
    with session_factory() as session, session.begin():
        release_service_lease(session, "host:2")  # not the holder: nothing happens
    assert _state(session_factory).owner == "host:1"
    with session_factory() as session, session.begin():
        release_service_lease(session, "host:1")
    assert _state(session_factory) is None
    assert _take(session_factory, "host:2") == "host:2"


def test_racing_starts_exactly_one_wins(session_factory: sessionmaker[Session]) -> None:
    barrier = threading.Barrier(6)
    winners: list[str] = []
    refused: list[str] = []

    def start(owner: str) -> None:
        barrier.wait()
        try:
            _take(session_factory, owner)
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
    assert _state(session_factory).owner == winners[0]


def test_a_clean_stop_marks_only_its_own_running_scans_incomplete(session_factory: sessionmaker[Session]) -> None:
    """`govmon run` after its stop grace: its scans still running end incomplete at once; another
    process's running scan and a finished one are left alone."""
    from govmon.leases import abandon_own_scans
    from govmon.models import Scan, TargetSpec, sync_targets
    from govmon.observations import started_scan

    as_of = dt.datetime.now(dt.UTC)
    with session_factory.begin() as session:
        sync_targets(session, [TargetSpec(id=t, kind="site", name=t, organizer="测试单位", category="department_site", platform=None,
                                          url=f"http://127.0.0.1:9/{t}/") for t in ("a", "b", "c")])
        mine = started_scan(session, "a", as_of=as_of, owner="vm:1", lease=TTL)
        other = started_scan(session, "b", as_of=as_of, owner="vm:2", lease=TTL)
        done = started_scan(session, "c", as_of=as_of, owner="vm:1", lease=TTL)
        session.flush()
        done.status, done.finished_at = "complete", utcnow()
        ids = mine.id, other.id, done.id
    with session_factory.begin() as session:
        assert abandon_own_scans(session, "vm:1") == [ids[0]]
    with session_factory() as session:
        a, b, c = (session.get(Scan, i) for i in ids)
        assert (a.status, a.lease_owner, a.finished_at is not None) == ("incomplete", None, True)
        assert "宽限期" in a.error
        assert (b.status, b.lease_owner) == ("running", "vm:2")
        assert c.status == "complete"

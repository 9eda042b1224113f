"""The cluster: `govmon run` as the one dispatcher and `govmon worker` processes taking the
scans through procrastinate, on this machine's real PostgreSQL (each test in its own schema),
over loopback sites that count the requests they serve at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool

from govmon.db import normalize_url, open_database
from govmon.rescan import request_rescan
from govmon.models import Finding, FindingEvent, Scan, ScanRequest
from tests.conftest import POSTGRES_ENV
from tests.loopback import LoopbackServer, Reply, html

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not os.environ.get(POSTGRES_ENV), reason=f"{POSTGRES_ENV} not set: cluster tests need PostgreSQL"),
]

GOVMON = str(Path(sys.executable).with_name("govmon"))
PER_DOMAIN = 2


def _site_routes(n: int, articles: int, delay: float) -> dict[str, Reply]:
    items = "".join(f'<li><a href="/zwdt/{i}.html">通知{i}</a><span>2026-11-{10 + i % 15:02d}</span></li>'
                    for i in range(articles))
    routes = {
        "/": Reply(body=html(f'<h1>示范县{n}人民政府</h1><a href="/zwdt/">政务动态</a><p>主办单位：示范县{n}人民政府办公室</p>',
                             title=f"示范县{n}")),
        "/zwdt/": Reply(body=html(f"<ul>{items}</ul>", title="政务动态"), delay=delay),
    }
    for i in range(articles):
        routes[f"/zwdt/{i}.html"] = Reply(
            body=html(f'<h1>通知{i}</h1><p>发布日期：2026-11-20</p><a href="/gone-{i}.html">附件</a>', title=f"通知{i}"),
            delay=delay)
        routes[f"/gone-{i}.html"] = Reply(status=404, body=html("<p>页面不存在</p>"), delay=delay)
    return routes


def _config(path: Path, db_url: str, servers: list[LoopbackServer], *, sites: str = "1h", stalled: str = "6s") -> Path:
    mapping = {
        "database": db_url,
        "sites": [{"id": f"s{n:03d}", "name": f"示范县{n}政府门户网站", "organizer": f"示范县{n}人民政府",
                   "category": "county_portal", "url": server.base + "/",
                   "columns": [{"name": "政务动态", "url": server.base + "/zwdt/", "kind": "news"}]}
                  for n, server in enumerate(servers)],
        "crawl": {"download_delay_s": 0.02, "concurrency_per_domain": PER_DOMAIN, "allow_private_addresses": True},
        "browser": {"enabled": False},
        "cluster": {"enabled": True, "concurrency": 4, "stalled_timeout": stalled, "retry_wait": "2s", "max_attempts": 8},
        "schedule": {"sites": sites, "probes": "1h", "service_lease": "6s", "rescan_poll": "1s"},
    }
    path.write_text(json.dumps(mapping, ensure_ascii=False), encoding="utf-8")
    return path


def _start(args: list[str], config: Path, cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    out = open(log, "wb")
    return subprocess.Popen([GOVMON, *args, "--config", str(config)], cwd=cwd, stdout=out, stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen[bytes], timeout: float = 60) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:  # say where it hangs (govmon worker dumps its tasks and threads)
        proc.send_signal(signal.SIGUSR1)
        proc.send_signal(signal.SIGUSR2)
        time.sleep(2)
        proc.kill()
        return proc.wait()


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"not met in {timeout:.0f} s: {what}")


class Db:
    def __init__(self, url: str) -> None:
        self.sessions = open_database(url)

    def scans(self) -> list[Scan]:
        with self.sessions() as session:
            return list(session.scalars(select(Scan).where(Scan.kind == "site").order_by(Scan.id)))

    def requests(self) -> list[ScanRequest]:
        with self.sessions() as session:
            return list(session.scalars(select(ScanRequest).order_by(ScanRequest.id)))

    def duplicate_findings(self) -> list[tuple]:
        """Findings stored twice (same key) or opened more than once."""
        with self.sessions() as session:
            twice = session.execute(
                select(Finding.target_id, Finding.check_id, Finding.subject, func.count())
                .group_by(Finding.target_id, Finding.check_id, Finding.subject).having(func.count() > 1)).all()
            reopened = session.execute(
                select(FindingEvent.finding_id, func.count()).where(FindingEvent.event == "opened")
                .group_by(FindingEvent.finding_id).having(func.count() > 1)).all()
            return [*twice, *reopened]

    def findings(self, target_id: str) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(Finding).where(Finding.target_id == target_id)) or 0

    def close(self) -> None:
        self.sessions.kw["bind"].dispose()


def _rescan(config: Path, cwd: Path, target: str) -> None:
    done = subprocess.run([GOVMON, "rescan", target, "--no-wait", "--config", str(config)], cwd=cwd,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def _service_alive(db: Db) -> bool:
    """The dispatcher is up: its lease taken and (it registers them right after) the sites known."""
    from govmon.leases import service_state
    from govmon.models import Target

    with db.sessions() as session:
        state = service_state(session)
        return (state is not None and state.alive
                and (session.scalar(select(func.count()).select_from(Target)) or 0) > 0)


def _no_overlap(scans: list[Scan]) -> list[str]:
    """Targets with two scans whose [started, finished] overlap."""
    bad = []
    by_target: dict[str, list[Scan]] = {}
    for scan in scans:
        by_target.setdefault(scan.target_id, []).append(scan)
    for target, runs in by_target.items():
        runs.sort(key=lambda s: s.started_at)
        for a, b in zip(runs, runs[1:]):
            if a.finished_at is None or b.started_at < a.finished_at:
                bad.append(target)
    return bad


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_kill9_of_a_worker_mid_scan_is_retried_on_the_other_and_findings_are_stored_once(db_url, tmp_path):
    with LoopbackServer(_site_routes(0, articles=24, delay=0.4)) as server:
        config = _config(tmp_path / "config.yaml", db_url, [server])
        db = Db(db_url)
        run = _start(["run"], config, tmp_path, tmp_path / "run.log")
        first = second = None
        try:
            _wait_for(lambda: _service_alive(db), 60, "govmon run started")
            first = _start(["worker"], config, tmp_path, tmp_path / "w1.log")
            _rescan(config, tmp_path, "s000")
            owner = _wait_for(lambda: next((s.lease_owner for s in db.scans() if s.status == "running"), None), 90,
                              "a scan running on the first worker")
            assert owner.endswith(f":{first.pid}")
            _wait_for(lambda: server.count("/zwdt/") >= 1 and sum(server.hits.values()) >= 6, 60, "the crawl under way")
            second = _start(["worker"], config, tmp_path, tmp_path / "w2.log")
            first.kill()  # kill -9, mid-scan
            first.wait(timeout=10)
            [request] = _wait_for(lambda: [r for r in db.requests() if r.status in ("done", "failed")], 180,
                                  "the rescan finished on the second worker")
            assert request.status == "done", request.summary
            assert request.summary["worker"].endswith(f":{second.pid}")
            assert request.summary["status"] == "complete"
            scans = db.scans()
            killed = [s for s in scans if s.id != request.scan_id]
            assert [s.status for s in killed] == ["incomplete"]  # abandoned: its lease expired
            assert db.findings("s000") >= 1
            assert db.duplicate_findings() == []
            assert server.max_inflight <= PER_DOMAIN
        finally:
            codes = [_stop(p) for p in (second, run) if p is not None]
            if first is not None and first.poll() is None:
                first.kill()
            db.close()
        assert codes == [0, 0], (tmp_path / "w2.log").read_text() + (tmp_path / "run.log").read_text()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_workers_share_40_sites_never_over_the_per_site_limit(db_url, tmp_path):
    servers = [LoopbackServer(_site_routes(n, articles=4, delay=0.1)) for n in range(40)]
    config = _config(tmp_path / "config.yaml", db_url, servers, sites="20s", stalled="12s")
    db = Db(db_url)
    run = _start(["run"], config, tmp_path, tmp_path / "run.log")
    workers = [_start(["worker", "--concurrency", "3"], config, tmp_path, tmp_path / f"w{i}.log") for i in range(2)]
    try:
        def covered() -> bool:
            complete = {s.target_id for s in db.scans() if s.status == "complete"}
            return len(complete) == 40
        _wait_for(covered, 240, "every site scanned once")
        status = subprocess.run([GOVMON, "status", "--config", str(config)], cwd=tmp_path, capture_output=True,
                                text=True, timeout=60)
        assert status.returncode == 0, status.stderr
        assert "集群工作进程：2 个在线，0 个失联" in status.stdout, status.stdout
        assert "网站扫描" in status.stdout and "最早等待的任务已等" in status.stdout, status.stdout
        _wait_for(lambda: len([s for s in db.scans() if s.status == "complete"]) >= 60, 240, "a second round under way")
    finally:
        codes = [_stop(p) for p in (*workers, run)]
        for server in servers:
            server.close()
    scans = db.scans()
    db.close()
    assert codes == [0, 0, 0]
    assert _no_overlap([s for s in scans if s.status != "running"]) == []
    assert [(s.target_id, s.error) for s in scans if s.status == "failed"] == []
    assert max(server.max_inflight for server in servers) <= PER_DOMAIN, [
        (n, server.max_inflight, sorted(server.hits.items())) for n, server in enumerate(servers) if server.max_inflight > PER_DOMAIN]
    logs = [(tmp_path / f"w{i}.log").read_text() for i in range(2)]
    assert all(log.count("：complete") >= 5 for log in logs), logs  # both workers took scans
    assert not [s for s in scans if s.status == "running"]  # SIGTERM left nothing running


@pytest.fixture
def own_database() -> Iterator[str]:
    """A database of its own (CREATE DATABASE), so terminating its backends touches no one else."""
    base = normalize_url(os.environ[POSTGRES_ENV])
    name = f"govmon_cluster_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def test_database_connections_terminated_mid_run_lose_nothing(own_database, tmp_path):
    db_url = own_database
    servers = [LoopbackServer(_site_routes(n, articles=10, delay=1.0)) for n in range(8)]
    config = _config(tmp_path / "config.yaml", db_url, servers)
    db = Db(db_url)
    run = _start(["run"], config, tmp_path, tmp_path / "run.log")
    workers: list[subprocess.Popen[bytes]] = []
    try:
        _wait_for(lambda: _service_alive(db), 60, "govmon run started")
        workers = [_start(["worker", "--concurrency", "2"], config, tmp_path, tmp_path / f"w{i}.log") for i in range(2)]
        with db.sessions.begin() as session:  # what `govmon rescan --no-wait` does, eight at once
            for n in range(8):
                request_rescan(session, f"s{n:03d}")
        _wait_for(lambda: len([s for s in db.scans() if s.status == "running"]) >= 2, 120, "scans running")
        admin = create_engine(normalize_url(db_url), poolclass=NullPool, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            killed = connection.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )).scalar()
        admin.dispose()
        assert killed >= 3
        _wait_for(lambda: all(r.status == "done" for r in db.requests()), 300, "every rescan answered")
        assert all(p.poll() is None for p in (run, *workers))  # everyone reconnected
        requests = db.requests()
        assert len(requests) == 8
        assert all(r.summary["status"] == "complete" for r in requests), [r.summary for r in requests]
        complete = {s.target_id for s in db.scans() if s.status == "complete"}
        assert complete == {f"s{n:03d}" for n in range(8)}
        assert db.duplicate_findings() == []
    finally:
        codes = [_stop(p) for p in (*workers, run)]
        for server in servers:
            server.close()
        db.close()
    assert codes == [0, 0, 0]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_queue_schema_is_applied_once_beside_our_tables(db_url, migrated_engine):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from govmon.cluster import ensure_schema, queue_url
    from govmon.config import Config
    from govmon.db import migrate
    from govmon.models import Base

    config = Config.from_mapping({"database": db_url, "cluster": {"enabled": True}})
    conninfo = queue_url(config, db_url)
    assert ensure_schema(conninfo) is True
    assert ensure_schema(conninfo) is False  # idempotent
    migrate(migrated_engine)  # our migrations still run with the queue's tables beside them
    with migrated_engine.connect() as connection:
        tables = set(connection.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")).scalars())
        assert {"procrastinate_jobs", "procrastinate_workers", "findings"} <= tables
        ours = lambda name, type_, parents: type_ != "table" or name in Base.metadata.tables  # noqa: E731 (as env.py)
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": ours})
        assert compare_metadata(context, Base.metadata) == []

"""The cluster: `govmon run` as the one dispatcher and `govmon worker` processes taking the
scans through procrastinate, on this machine's real PostgreSQL (each test in its own schema),
over loopback sites that count the requests they serve at once."""

from __future__ import annotations

import datetime as dt
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
from govmon.models import AccountPost, Finding, FindingEvent, Scan, ScanRequest
from tests.conftest import POSTGRES_ENV
from tests.loopback import LoopbackServer, Reply, html

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not os.environ.get(POSTGRES_ENV), reason=f"{POSTGRES_ENV} not set: cluster tests need PostgreSQL"),
]

GOVMON = str(Path(sys.executable).with_name("govmon"))
PER_DOMAIN = 2
# A period no scheduled job reaches during a test: the schedule is aligned to a fixed epoch
# (each job at its own offset), so "1h" fires once an hour at a wall-clock time of its own,
# and a test running across it would see an unplanned scan or probe round.
NEVER = "3650d"
CLUSTER = {"enabled": True, "concurrency": 4, "retry_wait": "2s", "max_attempts": 8}


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


def _config(path: Path, db_url: str, servers: list[LoopbackServer], *, sites: str = NEVER, stalled: str = "6s",
            probes: str = NEVER) -> Path:
    mapping = {
        "database": db_url,
        "sites": [{"id": f"s{n:03d}", "name": f"示范县{n}政府门户网站", "organizer": f"示范县{n}人民政府",
                   "category": "county_portal", "url": server.base + "/",
                   "columns": [{"name": "政务动态", "url": server.base + "/zwdt/", "kind": "news"}]}
                  for n, server in enumerate(servers)],
        "crawl": {"download_delay_s": 0.02, "concurrency_per_domain": PER_DOMAIN, "allow_private_addresses": True},
        "browser": {"enabled": False},
        "cluster": {**CLUSTER, "stalled_timeout": stalled},
        "schedule": {"sites": sites, "probes": probes, "accounts": NEVER, "nightly": NEVER,
                     "service_lease": "6s", "rescan_poll": "1s"},
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

    def scans(self, kind: str = "site") -> list[Scan]:
        with self.sessions() as session:
            return list(session.scalars(select(Scan).where(Scan.kind == kind).order_by(Scan.id)))

    def open_findings(self) -> dict[tuple[str, str, str], str]:
        """(target, check, subject) → severity of every open finding."""
        with self.sessions() as session:
            rows = session.execute(select(Finding.target_id, Finding.check_id, Finding.subject, Finding.severity)
                                   .where(Finding.status == "open")).all()
            return {(t, c, s): severity for t, c, s, severity in rows}

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
    """Two workers, 40 sites rescanned every 20 s and probed every 5 s (rounds that meet the
    scans: a probe is one more connection to a site whose crawl uses all of its limit)."""
    from govmon.models import Probe

    servers = [LoopbackServer(_site_routes(n, articles=4, delay=0.1)) for n in range(40)]
    config = _config(tmp_path / "config.yaml", db_url, servers, sites="20s", stalled="6s", probes="5s")
    db = Db(db_url)
    run = _start(["run"], config, tmp_path, tmp_path / "run.log")
    workers = [_start(["worker", "--concurrency", "3"], config, tmp_path, tmp_path / f"w{i}.log") for i in range(2)]
    try:
        def status_shows_the_queue() -> str | None:
            done = subprocess.run([GOVMON, "status", "--config", str(config)], cwd=tmp_path, capture_output=True,
                                  text=True, timeout=60)
            assert done.returncode == 0, done.stderr
            shown = "集群工作进程：2 个在线，0 个失联" in done.stdout and "网站扫描" in done.stdout
            return done.stdout if shown else None
        status = _wait_for(status_shows_the_queue, 120, "govmon status showing both workers and the queued scans")
        assert "最早等待的任务已等" in status, status

        def covered() -> bool:
            complete = {s.target_id for s in db.scans() if s.status == "complete"}
            return len(complete) == 40
        _wait_for(covered, 240, "every site scanned once")
        _wait_for(lambda: len([s for s in db.scans() if s.status == "complete"]) >= 60, 240, "a second round under way")
    finally:
        codes = [_stop(p) for p in (*workers, run)]
        for server in servers:
            server.close()
    scans = db.scans()
    with db.sessions() as session:
        probes = session.scalar(select(func.count()).select_from(Probe)) or 0
    db.close()
    print(f"max in flight per site: {max(server.max_inflight for server in servers)} (limit {PER_DOMAIN}); "
          f"{len(scans)} scans, {probes} probes")
    assert codes == [0, 0, 0]
    assert _no_overlap([s for s in scans if s.status != "running"]) == []
    assert [(s.target_id, s.error) for s in scans if s.status == "failed"] == []
    assert probes >= 40  # probe rounds ran while the sites were being scanned
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
        # both workers past their start (a worker still starting when its connection is cut exits:
        # what is survived is a restart under running workers), and scans running
        _wait_for(lambda: all("govmon worker 已启动" in (tmp_path / f"w{i}.log").read_text() for i in range(2)), 120,
                  "both workers started")
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


# ---- account reads through the cluster ---------------------------------------------------------


def _account_config(path: Path, db_url: str, accounts: list[dict], paces: dict[str, dict]) -> Path:
    mapping = {
        "database": db_url, "sites": [], "accounts": accounts,
        "browser": {"enabled": False},
        "lexicon": {"serious_errors": ["第301条"]},
        "platforms": {"pace_overrides": paces, "secrets_dir": str(path.parent / "logins")},
        "cluster": {**CLUSTER, "stalled_timeout": "6s"},
        "schedule": {"sites": NEVER, "probes": NEVER, "accounts": NEVER, "nightly": NEVER,
                     "service_lease": "6s", "rescan_poll": "1s"},
    }
    path.write_text(json.dumps(mapping, ensure_ascii=False), encoding="utf-8")
    return path


def _account(id: str, platform: str, url: str) -> dict:
    return {"id": id, "name": f"示范县{id}", "organizer": "示范县人民政府", "platform": platform, "url": url}


def _most_in_window(times: list[float], width: float) -> int:
    """The most of the (sorted) ``times`` that fall in one window [t, t + width)."""
    most, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= width:
            first += 1
        most = max(most, last - first + 1)
    return most


def _rate_excess(times: list[float], interval: float, slack: float) -> list[tuple[int, float, int]]:
    """Windows where more requests arrived than a pace of one per ``interval`` lets start:
    (n, width, seen) with seen > n in some window of width n × interval − slack (the slack
    absorbs the jitter between a start and its arrival, never a doubled rate)."""
    excess = []
    for n in range(1, len(times) + 1):
        width = n * interval - slack
        seen = _most_in_window(times, width)
        if seen > n:
            excess.append((n, width, seen))
    return excess


def test_most_in_window_counts_arrivals_in_any_window():
    assert _most_in_window([0.0, 0.5, 0.9, 1.0, 3.0], 1.0) == 3  # [0, 1) holds 0, 0.5 and 0.9
    assert _most_in_window([0.0, 1.0, 2.0], 1.0) == 1
    assert _rate_excess([0.0, 1.0, 2.0, 3.0], 1.0, 0.3) == []
    assert _rate_excess([0.0, 0.1, 1.0], 1.0, 0.3) == [(1, 0.7, 2), (2, 1.7, 3)]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_account_reads_queued_by_the_dispatcher_run_on_two_workers_within_each_platforms_pace(db_url, tmp_path):
    from govmon.demo.account_platforms import AccountPlatforms
    from tests.loopback import next_loopback_host

    now = dt.datetime.now(dt.timezone(dt.timedelta(hours=8)))
    with AccountPlatforms(now, host=next_loopback_host(), delay=0.2) as platforms:
        accounts = [
            _account("wb-fresh", "weibo", platforms.weibo_url("fresh")),
            _account("wb-stale", "weibo", platforms.weibo_url("stale")),
            _account("wb-pinned", "weibo", platforms.weibo_url("pinned")),
            _account("wb-blocked", "weibo", platforms.weibo_url("blocked")),
            _account("rss-fresh", "rss", platforms.feed_url("fresh")),
            _account("rss-stale", "rss", platforms.feed_url("stale", "atom")),
            _account("rss-quiet", "rss", platforms.feed_url("quiet", "json")),
            _account("rss-blocked", "rss", platforms.feed_url("blocked")),
        ]
        paces = {"weibo": {"concurrency": 1, "interval_s": 0.3, "backoff_s": 1.0},
                 "rss": {"concurrency": 2, "interval_s": 0.3, "backoff_s": 1.0}}
        config = _account_config(tmp_path / "config.yaml", db_url, accounts, paces)
        db = Db(db_url)
        run = _start(["run"], config, tmp_path, tmp_path / "run.log")
        workers: list[subprocess.Popen[bytes]] = []
        try:
            _wait_for(lambda: _service_alive(db), 60, "govmon run started")
            workers = [_start(["worker", "--concurrency", "4"], config, tmp_path, tmp_path / f"w{i}.log") for i in range(2)]
            with db.sessions.begin() as session:  # what `govmon rescan --no-wait` does, for each account
                for account in accounts:
                    request_rescan(session, account["id"])
            _wait_for(lambda: all(r.status in ("done", "failed") for r in db.requests()), 240, "every read answered")
            requests = {r.target_id: r for r in db.requests()}
            reads = db.scans("account")
            found, duplicates = db.open_findings(), db.duplicate_findings()
            with db.sessions() as session:
                pinned = session.scalar(select(AccountPost.post_id).join(Scan).where(
                    Scan.target_id == "wb-pinned", AccountPost.text.contains("第301条")))
        finally:
            codes = [_stop(p) for p in (*workers, run)]
            db.close()
        assert codes == [0, 0, 0], [(tmp_path / f"w{i}.log").read_text() for i in range(2)]
        pids = tuple(f":{w.pid}" for w in workers)
        assert all(r.summary["worker"].endswith(pids) for r in requests.values())  # read by the workers
        assert {t: (r.status, r.summary["status"]) for t, r in requests.items()} == {
            "wb-fresh": ("done", "complete"), "wb-stale": ("done", "complete"), "wb-pinned": ("done", "complete"),
            "wb-blocked": ("done", "incomplete"), "rss-fresh": ("done", "complete"),
            "rss-stale": ("done", "complete"), "rss-quiet": ("done", "complete"), "rss-blocked": ("done", "incomplete"),
        }
        assert sorted(s.target_id for s in reads) == sorted(a["id"] for a in accounts)  # each read once
        assert {requests[s.target_id].scan_id for s in reads} == {s.id for s in reads}
        assert found == {
            ("wb-stale", "account.stale", "no_recent_post"): "veto",
            ("wb-blocked", "account.unreachable", "unreadable"): "notice",
            ("wb-pinned", "account.serious_error", f"第301条@{pinned}"): "veto",
            ("rss-stale", "account.stale", "no_recent_post"): "veto",
            ("rss-quiet", "account.stale", "no_recent_post"): "deduct",
            ("rss-blocked", "account.unreachable", "unreadable"): "notice",
        }
        assert duplicates == []
        # Weibo: one account at a time over the whole cluster; the feeds: two (their pace)
        assert platforms.max_inflight["weibo"] == 1 and platforms.max_inflight["rss"] <= 2, platforms.max_inflight
        assert platforms.count("/api/container/getIndex") >= 4 and platforms.count("/feeds/") == 4


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_platforms_rate_holds_across_workers_and_lock_buckets(db_url, tmp_path):
    """Nine feeds on a platform whose pace lets 3 reads in flight, one start a second: three
    lock buckets, two workers; the platform never sees more than one request per second."""
    import asyncio

    from govmon.cluster import account_job, build_app, ensure_schema, platform_lock, queue_url
    from govmon.config import load_config
    from govmon.demo.account_platforms import AccountPlatforms
    from tests.loopback import next_loopback_host

    interval = 2.0  # wide enough that a loaded machine's start-to-arrival jitter stays inside the slack
    now = dt.datetime.now(dt.timezone(dt.timedelta(hours=8)))
    with AccountPlatforms(now, host=next_loopback_host(), delay=0.1) as platforms:
        kinds = ("rss", "atom", "json")
        accounts = [_account(f"feed-{n}", "rss", platforms.feed_url(("fresh", "stale", "quiet")[n % 3], kinds[n // 3]))
                    for n in range(9)]
        paces = {"rss": {"concurrency": 3, "interval_s": interval, "backoff_s": 1.0}}
        path = _account_config(tmp_path / "config.yaml", db_url, accounts, paces)
        config = load_config(path)
        assert len({platform_lock(a, config) for a in config.accounts}) == 3  # the three buckets are used
        db = Db(db_url)
        workers = [_start(["worker", "--concurrency", "4"], path, tmp_path, tmp_path / f"w{i}.log") for i in range(2)]
        try:
            conninfo = queue_url(config, db_url)
            ensure_schema(conninfo)

            async def defer_all() -> None:  # what the dispatcher does for each due read
                app = build_app(conninfo, max_size=2)
                async with app.open_async():
                    for account in config.accounts:
                        await account_job(app, account, config).defer_async(target_id=account.id)

            asyncio.run(defer_all())
            _wait_for(lambda: len([s for s in db.scans("account") if s.status != "running"]) == 9, 240, "nine reads")
            reads = db.scans("account")
        finally:
            codes = [_stop(p) for p in workers]
            db.close()
        assert codes == [0, 0], [(tmp_path / f"w{i}.log").read_text() for i in range(2)]
        assert sorted((s.target_id, s.status) for s in reads) == [(f"feed-{n}", "complete") for n in range(9)]
        times = platforms.arrival_times("rss")
        assert len(times) == 9
        assert _rate_excess(times, interval, slack=0.6 * interval) == [], [round(t - times[0], 2) for t in times]
        assert platforms.max_inflight["rss"] <= 3

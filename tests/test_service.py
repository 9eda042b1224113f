"""`govmon run` as a real subprocess over loopback sites, on SQLite and PostgreSQL:
jobs run when due, rescans from a second process, a second service refused, SIGTERM,
kill -9 then restart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from govmon.db import open_database
from govmon.models import Probe, Scan, ScanRequest
from tests.loopback import LoopbackServer, Reply, html

GOVMON = str(Path(sys.executable).with_name("govmon"))

HOME = html('<h1>示范县人民政府</h1><a href="/zwdt/">政务动态</a><p>主办单位：示范县人民政府办公室</p>', title="示范县")
LIST = html('<ul><li><a href="/zwdt/1.html">通知</a><span>2026-11-20</span></li></ul>', title="政务动态")
ARTICLE = html("<h1>通知</h1><p>发布日期：2026-11-20</p>", title="通知")


def _config(path: Path, db_url: str, site_url: str, *, sites: str = "1h", probes: str = "1h") -> Path:
    mapping = {
        "database": db_url,
        "sites": [{"id": "shifan", "name": "示范县政府门户网站", "organizer": "示范县人民政府", "category": "county_portal",
                   "url": site_url + "/", "columns": [{"name": "政务动态", "url": site_url + "/zwdt/", "kind": "news"}]}],
        "crawl": {"download_delay_s": 0.01},
        "browser": {"enabled": False},
        "schedule": {"sites": sites, "probes": probes, "service_lease": "6s", "rescan_poll": "1s"},
    }
    path.write_text(json.dumps(mapping, ensure_ascii=False), encoding="utf-8")
    return path


def _start(config: Path, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([GOVMON, "run", "--config", str(config)], cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for(predicate, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError("condition not met in time")


def _scans(db_url: str) -> list[Scan]:
    sessions = open_database(db_url)
    try:
        with sessions() as session:
            return list(session.scalars(select(Scan).where(Scan.kind == "site").order_by(Scan.id)))
    finally:
        sessions.kw["bind"].dispose()


@pytest.fixture
def site():
    with LoopbackServer({"/": Reply(body=HOME), "/zwdt/": Reply(body=LIST), "/zwdt/1.html": Reply(body=ARTICLE)}) as server:
        yield server


def _stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=40)
    return proc.returncode, err


def test_jobs_run_when_due_and_a_second_service_is_refused(db_url, site, tmp_path):
    config = _config(tmp_path / "config.yaml", db_url, site.base, sites="4s", probes="3s")
    service = _start(config, tmp_path)
    try:
        _wait_for(lambda: len([s for s in _scans(db_url) if s.status == "complete"]) >= 2, timeout=90)
        second = subprocess.run([GOVMON, "run", "--config", str(config)], cwd=tmp_path, capture_output=True,
                                text=True, timeout=60)
        assert second.returncode == 1
        assert "已有一个 govmon run 正在使用这个数据库" in second.stderr
        status = subprocess.run([GOVMON, "status", "--config", str(config)], cwd=tmp_path, capture_output=True,
                                text=True, timeout=60)
        assert status.returncode == 0 and "监测服务：运行中" in status.stdout and "示范县政府门户网站" in status.stdout
    finally:
        code, err = _stop(service)
    assert code == 0, err
    sessions = open_database(db_url)
    with sessions() as session:
        assert session.scalar(select(Probe.target_id).limit(1)) == "shifan"
    sessions.kw["bind"].dispose()
    scans = _scans(db_url)
    assert all(s.status in ("complete", "incomplete") for s in scans)
    assert not [s for s in scans if s.status == "running"]


def test_rescan_from_a_second_process_is_served_by_the_service(db_url, site, tmp_path):
    config = _config(tmp_path / "config.yaml", db_url, site.base)  # scheduled scans an hour apart
    service = _start(config, tmp_path)
    try:
        _wait_for(lambda: _service_alive(db_url))
        before = len(_scans(db_url))
        rescan = subprocess.run([GOVMON, "rescan", "示范县政府门户网站", "--config", str(config)], cwd=tmp_path,
                                capture_output=True, text=True, timeout=120)
        assert rescan.returncode == 0, rescan.stderr
        assert "已提交复查请求" in rescan.stderr
        assert rescan.stdout.startswith("复查 示范县政府门户网站：完成，")
    finally:
        code, err = _stop(service)
    assert code == 0, err
    sessions = open_database(db_url)
    with sessions() as session:
        [request] = session.scalars(select(ScanRequest)).all()
        assert request.status == "done" and request.scan_id is not None
        assert session.get(Scan, request.scan_id).status == "complete"
    sessions.kw["bind"].dispose()
    assert len(_scans(db_url)) >= before + 1


def _service_alive(db_url: str) -> bool:
    from govmon.leases import service_state

    sessions = open_database(db_url)
    try:
        with sessions() as session:
            state = service_state(session)
            return state is not None and state.alive
    finally:
        sessions.kw["bind"].dispose()


def _stored_job_ids(db_url: str) -> set[str]:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    sessions = open_database(db_url)
    try:
        with sessions() as session:
            return set(session.scalars(text("SELECT id FROM apscheduler_jobs")))
    except DBAPIError:  # the service has not created its job table yet
        return set()
    finally:
        sessions.kw["bind"].dispose()


def test_sighup_picks_up_a_changed_schedule_and_survives_a_broken_config(db_url, site, tmp_path):
    config = _config(tmp_path / "config.yaml", db_url, site.base, sites="3650d", probes="3650d")
    service = _start(config, tmp_path)
    try:
        _wait_for(lambda: "site:shifan" in _stored_job_ids(db_url))  # reconciled: SIGHUP is handled by now
        time.sleep(2)
        assert _scans(db_url) == []  # once in ten years
        _config(config, db_url, site.base, sites="3s", probes="3650d")
        service.send_signal(signal.SIGHUP)
        _wait_for(lambda: len([s for s in _scans(db_url) if s.status == "complete"]) >= 2, timeout=90)

        config.write_text("database: [\n", encoding="utf-8")  # a broken file: the running schedule stays
        service.send_signal(signal.SIGHUP)
        seen = len(_scans(db_url))
        _wait_for(lambda: len(_scans(db_url)) >= seen + 2, timeout=90)
        assert service.poll() is None
    finally:
        code, err = _stop(service)
    assert code == 0, err
    assert "已重新读取配置并更新计划任务" in err
    assert "重新读取配置失败，继续使用原配置" in err and "config.yaml" in err


def test_rescan_without_a_service_scans_in_process(db_url, site, tmp_path):
    config = _config(tmp_path / "config.yaml", db_url, site.base)
    result = subprocess.run([GOVMON, "rescan", "shifan", "--config", str(config)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "没有正在运行的 govmon run" in result.stderr
    assert [s.status for s in _scans(db_url)] == ["complete"]


def test_sigterm_stops_a_running_scan_cleanly_and_kill9_is_recovered(db_url, tmp_path):
    slow = {"/": Reply(body=HOME), "/zwdt/": Reply(body=LIST, delay=30), "/zwdt/1.html": Reply(body=ARTICLE)}
    with LoopbackServer(slow) as server:
        config = _config(tmp_path / "config.yaml", db_url, server.base, sites="2s")
        service = _start(config, tmp_path)
        _wait_for(lambda: [s for s in _scans(db_url) if s.status == "running"], timeout=60)
        started = time.monotonic()
        code, err = _stop(service)
        assert code == 0, err
        assert time.monotonic() - started < 30
        assert [s.status for s in _scans(db_url)] == ["incomplete"]

        killed = _start(config, tmp_path)
        _wait_for(lambda: len([s for s in _scans(db_url) if s.status == "running"]) == 1, timeout=60)
        os.kill(killed.pid, signal.SIGKILL)
        killed.communicate(timeout=10)
        abandoned = [s.id for s in _scans(db_url) if s.status == "running"]
        assert len(abandoned) == 1
        time.sleep(7)  # the 6 s lease expires
        restarted = _start(config, tmp_path)
        try:
            _wait_for(lambda: [s for s in _scans(db_url) if s.id == abandoned[0] and s.status == "incomplete"])
        finally:
            code, err = _stop(restarted)
        assert code == 0, err
        assert "发现 1 次中断的扫描" in err
        [reaped] = [s for s in _scans(db_url) if s.id == abandoned[0]]
        assert "租约过期" in reaped.error


@pytest.mark.postgres
def test_the_service_survives_its_postgresql_connections_being_dropped(db_url, site, tmp_path):
    """Every backend of the service terminated (as a PostgreSQL restart does to them) — twice:
    the service reconnects (pool_pre_ping), renews its lease and completes further scans."""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    from govmon.leases import service_state

    if make_url(db_url).get_backend_name() != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no server connections to drop")
    # Name the service's connections so only they are terminated (the server is shared).
    app_name = f"govmon_svc_{uuid.uuid4().hex[:10]}"
    service_url = make_url(db_url).update_query_dict({"application_name": app_name}).render_as_string(hide_password=False)
    config = _config(tmp_path / "config.yaml", service_url, site.base, sites="3s", probes="1h")
    admin = create_engine(make_url(db_url).set(query={}), poolclass=NullPool, isolation_level="AUTOCOMMIT")

    def terminate() -> int:
        with admin.connect() as connection:
            return len(connection.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = :name AND pid <> pg_backend_pid()"), {"name": app_name}).all())

    def heartbeat():
        sessions = open_database(db_url)
        try:
            with sessions() as session:
                state = service_state(session)
                return state.heartbeat_at if state is not None and state.alive else None
        finally:
            sessions.kw["bind"].dispose()

    from govmon.models import utcnow

    service = _start(config, tmp_path)
    try:
        _wait_for(lambda: [s for s in _scans(db_url) if s.status == "complete"], timeout=90)
        for _ in range(2):
            killed = terminate()
            assert killed >= 1  # the service's pooled connections
            dropped_at = utcnow()
            _wait_for(lambda: [s for s in _scans(db_url) if s.status == "complete" and s.started_at > dropped_at],
                      timeout=90)
            _wait_for(lambda: (beat := heartbeat()) is not None and beat > dropped_at, timeout=30)
        assert service.poll() is None  # still running
    finally:
        code, err = _stop(service)
        admin.dispose()
    assert code == 0, err


def test_accounts_are_read_on_their_schedule_and_rescanned_on_request(db_url, site, tmp_path):
    """An account job every 3 s reads a stale feed (account.stale opened by the service), and
    `govmon rescan` of the account from a second process is served with the read's summary."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from govmon.demo.account_platforms import AccountPlatforms
    from govmon.models import Finding

    now = dt.datetime.now(ZoneInfo("Asia/Shanghai"))
    with AccountPlatforms(now) as platforms:
        config = _config(tmp_path / "config.yaml", db_url, site.base)  # the site every hour
        mapping = json.loads(config.read_text(encoding="utf-8"))
        mapping["accounts"] = [{"id": "feed", "name": "示范发布", "platform": "rss", "url": platforms.feed_url("stale")}]
        mapping["schedule"]["accounts"] = "3s"
        mapping["platforms"] = {"pace": {"interval_s": 0.0}}
        config.write_text(json.dumps(mapping, ensure_ascii=False), encoding="utf-8")
        service = _start(config, tmp_path)
        try:
            def account_scans() -> list[Scan]:
                sessions = open_database(db_url)
                try:
                    with sessions() as session:
                        return list(session.scalars(select(Scan).where(Scan.kind == "account", Scan.status == "complete")))
                finally:
                    sessions.kw["bind"].dispose()

            _wait_for(lambda: len(account_scans()) >= 2, timeout=90)
            rescan = subprocess.run([GOVMON, "rescan", "示范发布", "--config", str(config)], cwd=tmp_path,
                                    capture_output=True, text=True, timeout=120)
            assert rescan.returncode == 0, rescan.stderr
            assert rescan.stdout.startswith("复查 示范发布：完成，读取完整，3 条内容；未解决问题 否决 1、"), rescan.stdout
            status = subprocess.run([GOVMON, "status", "--config", str(config)], cwd=tmp_path, capture_output=True,
                                    text=True, timeout=60)
            row = next(line for line in status.stdout.splitlines() if line.startswith("示范发布 "))
            assert "RSS/Atom 订阅源" in row and "超期" not in row, status.stdout
            assert "超期未读取的账号：0 个" in status.stdout
        finally:
            code, err = _stop(service)
        assert code == 0, err
        sessions = open_database(db_url)
        with sessions() as session:
            stale = session.scalars(select(Finding).where(Finding.target_id == "feed")).all()
        sessions.kw["bind"].dispose()
        assert [(f.check_id, f.severity, f.status) for f in stale] == [("account.stale", "veto", "open")]


def test_the_console_runs_inside_the_service_and_its_rescans_go_through_it(db_url, site, tmp_path):
    """`console.enabled`: the same loop serves the console; its 重新检查 becomes a rescan request the
    service serves, and the console shows the result; SIGTERM stops both."""
    import socket

    import httpx

    from govmon.models import ScanRequest, User
    from govmon.web.auth import issue_token

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = _config(tmp_path / "config.yaml", db_url, site.base)
    mapping = json.loads(config.read_text(encoding="utf-8"))
    mapping["console"] = {"enabled": True, "port": port}
    config.write_text(json.dumps(mapping, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "pw").write_text("correct horse battery\n", encoding="utf-8")
    added = subprocess.run([GOVMON, "user", "add", "op", "--role", "operator", "--password-file", str(tmp_path / "pw"),
                            "--config", str(config)], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert added.returncode == 0, added.stderr
    sessions = open_database(db_url)
    with sessions.begin() as session:
        token, _ = issue_token(session, session.scalar(select(User).where(User.name == "op")), "api", name="test")
    service = _start(config, tmp_path)
    try:
        headers = {"Authorization": f"Bearer {token}"}
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(base + "/login", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        _wait_for(up, timeout=60)
        asked = httpx.post(base + "/api/targets/shifan/rescan", headers=headers, timeout=30)
        assert asked.status_code == 202, asked.text
        handle = asked.json()["handle"]
        done = _wait_for(lambda: (r := httpx.get(f"{base}/api/rescans/{handle}", headers=headers, timeout=10).json())
                         ["state"] in ("done", "failed") and r, timeout=90)
        assert done["state"] == "done" and done["scan_status"] == "complete", done
    finally:
        code, err = _stop(service)
    assert code == 0, err
    with sessions() as session:
        request = session.get(ScanRequest, int(handle))
        assert (request.requested_by, request.status, request.scan_id) == ("op", "done", done["scan_id"])
    sessions.kw["bind"].dispose()

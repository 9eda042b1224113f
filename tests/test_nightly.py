"""The nightly re-judgement, on SQLite and PostgreSQL: a problem that time alone brings about
(the home page not updated for 14 days) is found without a new scan, by `govmon run` with a
nightly schedule in seconds; nothing is resolved when an incomplete scan came last."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from govmon.config import load_config
from govmon.db import open_database
from govmon.models import Finding
from govmon.nightly import run_nightly
from tests.loopback import LoopbackServer, Reply, WebhookReceiver, html
from tests.test_alerts import GOVMON, _config, _site_entry
from tests.test_service import _start, _stop, _wait_for

ZONE = dt.timezone(dt.timedelta(hours=8))
TODAY = dt.datetime.now(ZONE).date()
ITEM_DAY = TODAY - dt.timedelta(days=20)  # the newest item: fresh at the first scan's point, stale now
SCAN_POINT = (ITEM_DAY + dt.timedelta(days=6)).isoformat()


def _routes() -> dict[str, Reply]:
    item = f'<li><a href="/zwdt/1.html">通知</a><span>{ITEM_DAY.isoformat()}</span></li>'
    home = html(f'<h1>示范县人民政府</h1><a href="/zwdt/">政务动态</a><ul>{item}</ul><p>主办单位：示范县人民政府办公室</p>',
                title="示范县")
    return {"/": Reply(body=home), "/zwdt/": Reply(body=html(f"<ul>{item}</ul>", title="政务动态")),
            "/zwdt/1.html": Reply(body=html(f"<h1>通知</h1><p>发布日期：{ITEM_DAY.isoformat()}</p>", title="通知"))}


@pytest.fixture
def site():
    with LoopbackServer(_routes()) as server:
        yield server


def _scan_at_past_point(config: Path, cwd: Path) -> None:
    result = subprocess.run([GOVMON, "scan", "--config", str(config), "--as-of", SCAN_POINT], cwd=cwd,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr


def _open_findings(db_url: str) -> dict[str, str]:
    sessions = open_database(db_url)
    try:
        with sessions() as session:
            return {f.check_id: f.severity for f in session.scalars(select(Finding).where(Finding.status == "open"))}
    finally:
        sessions.kw["bind"].dispose()


def test_the_service_finds_a_stale_home_page_at_night_without_a_scan(db_url, site, tmp_path):
    with WebhookReceiver([Reply(200, "ok", "text/plain")]) as plain:
        config = _config(tmp_path / "config.yaml", db_url, [_site_entry(site)],
                         {"webhooks": [{"format": "json", "url": plain.url()}], "retry_poll": "1s"},
                         schedule={"sites": "24h", "probes": "24h", "service_lease": "6s", "rescan_poll": "1s",
                                   "nightly": "3s"})
        _scan_at_past_point(config, tmp_path)
        assert "site.homepage_stale" not in _open_findings(db_url)
        assert plain.calls == []  # nothing at or above veto yet
        pages_before = site.count("/")
        service = _start(config, tmp_path)
        try:
            _wait_for(lambda: plain.calls, timeout=90)
        finally:
            code, err = _stop(service)
        assert code == 0, err
    assert "夜间复核：重新判定 1 个网站" in err and "本季度合格率" in err
    assert site.count("/") == pages_before  # re-judged from the stored scan, not a new crawl
    assert _open_findings(db_url)["site.homepage_stale"] == "veto"
    [alert] = [c.json() for c in plain.calls]
    assert [f["check"] for f in alert["opened"]] == ["site.homepage_stale"]
    assert alert["resolved"] == []


def test_nothing_is_resolved_when_an_incomplete_scan_came_last(db_url, site, tmp_path):
    config_path = _config(tmp_path / "config.yaml", db_url, [_site_entry(site)], {})
    _scan_at_past_point(config_path, tmp_path)
    site.routes["/"] = Reply(503, "维护中")  # the next scan cannot read the home page: incomplete
    result = subprocess.run([GOVMON, "scan", "--config", str(config_path)], cwd=tmp_path, capture_output=True,
                            text=True, timeout=180)
    assert result.returncode == 0 and "未完成" in result.stdout
    before = _open_findings(db_url)
    assert before["site.unreachable"] == "notice"  # the incomplete scan's own finding: home page unreadable
    config = load_config(config_path)
    sessions = open_database(db_url)
    try:
        report = run_nightly(config, sessions)
    finally:
        sessions.kw["bind"].dispose()
    after = _open_findings(db_url)
    assert report.judged == 1 and report.resolved == 0
    assert set(before) <= set(after)  # nothing resolved from the older complete scan's data
    assert after["site.homepage_stale"] == "veto"  # but what time brought about is found

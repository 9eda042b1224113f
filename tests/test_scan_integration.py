"""The site scan end to end: the demo province over loopback, on SQLite and PostgreSQL.

Every planted defect is found, no trap is reported, findings keep their lifecycle across
scans, and the command line (`govmon scan`, `govmon findings`) works on a real config file.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from loopback import event_loop_runner  # noqa: F401 (fixture)
from sqlalchemy import create_engine, func, select

from govmon.demo.province import PLANTED, SCAN_PLANTED, SITES
from govmon.demo.run import serving_province
from govmon.demo.server import DemoResponse, DemoServer
from govmon.findings import dismiss_finding
from govmon.models import Finding, LinkCheck, Page, Scan
from govmon.scan import scan_sites, scan_targets

GOVMON = str(Path(sys.executable).with_name("govmon"))
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _findings(session_factory) -> dict[tuple[str, str, str], Finding]:
    with session_factory() as session:
        return {(f.target_id, f.check_id, f.subject): f for f in session.scalars(select(Finding))}


def test_demo_province_exact_findings_and_lifecycle(session_factory, event_loop_runner):  # noqa: F811
    as_of = dt.datetime.now(SHANGHAI)
    with serving_province(as_of.date()) as province:
        config = province.config
        sites = list(config.sites)

        results = event_loop_runner.run(scan_sites(config, session_factory, sites, as_of=as_of), timeout=300)
        status = {r.target_id: r.status for r in results}
        assert status == {site.id: ("incomplete" if site.id == "shifan-town" else "complete") for site in SITES}

        found = _findings(session_factory)
        assert set(found) == province.expected(by="scan")  # every planted defect, and nothing else
        assert len(found) == len(SCAN_PLANTED) == 27 and len(PLANTED) == 35  # + 2 by the probe rounds, 6 accounts

        # Evidence an office can check in a minute.
        base = province.server.base_urls
        date_order = found[("shifan-county", "content.date_order", base["shifan-county"] + "/zcwj/202305/t1042.html")]
        assert date_order.severity == "veto"
        assert date_order.evidence["publish_date"] == (as_of.date() - dt.timedelta(days=20)).isoformat()
        assert date_order.evidence["written_date"] == (as_of.date() - dt.timedelta(days=18)).isoformat()
        broken = found[("shifan-county", "links.broken", base["shifan-county"] + "/zt/2019/index.html")]
        assert broken.evidence["status"] == 404 and broken.evidence["on_home"] is True
        offline = found[("shifan-edu", "links.broken", province.offline_url)]
        assert "连接被拒绝" in json.dumps(offline.evidence, ensure_ascii=False)
        stale = found[("shifan-county", "column.stale", base["shifan-county"] + "/zwdt/")]
        assert stale.severity == "deduct"  # one stale column: below the veto thresholds
        assert found[("shifan-town", "site.unreachable", "home")].severity == "notice"

        # The same site seen again: nothing new, nothing resolved, last_seen moves.
        first_seen = {k: f.last_seen for k, f in found.items()}
        later = as_of + dt.timedelta(minutes=1)
        results = event_loop_runner.run(scan_sites(config, session_factory, sites, as_of=later), timeout=300)
        assert sum(r.opened for r in results) == 0 and sum(r.resolved for r in results) == 0
        again = _findings(session_factory)
        assert set(again) == set(found)
        assert all(again[k].last_seen > first_seen[k] for k in again)

        # The county fixes its broken link; the water bureau's 文不对题 is dismissed as a false
        # positive; the town's site stays down.
        province.server.sites["shifan-county"]["/zt/2019/index.html"] = DemoResponse("<h1>专题</h1>".encode())
        mismatch = next(f for k, f in again.items() if k[1] == "content.title_mismatch")
        with session_factory.begin() as session:
            dismiss_finding(session, mismatch.id, "列表标题为栏目编辑所加，内容一致", "tester")
        results = event_loop_runner.run(scan_sites(config, session_factory, sites, as_of=later), timeout=300)
        final = _findings(session_factory)
        assert final[("shifan-county", "links.broken", base["shifan-county"] + "/zt/2019/index.html")].status == "resolved"
        assert final[mismatch.target_id, mismatch.check_id, mismatch.subject].status == "dismissed"
        assert final[("shifan-town", "site.unreachable", "home")].status == "open"
        assert sum(r.resolved for r in results) == 1

    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Scan).where(Scan.status == "running")) == 0
        assert session.scalar(select(func.count()).select_from(LinkCheck)) > 0


def test_demo_accounts_exact_findings(session_factory, event_loop_runner):  # noqa: F811
    """The demo's ten accounts on the loopback Weibo, 公众平台, Douyin and feeds: exactly the planted
    six, none of the traps (an old pinned post, a blocked read, a moved feed, a Douyin account with
    one post open to comments)."""
    as_of = dt.datetime.now(SHANGHAI)
    with serving_province(as_of.date()) as province:
        config = province.config
        results = event_loop_runner.run(
            scan_targets(config, session_factory, [], list(config.accounts), as_of=as_of), timeout=300)
        found = _findings(session_factory)
        assert set(found) == province.expected(by="accounts")
        assert {r.target_id: r.coverage for r in results.accounts} == {
            "shifan-fabu": "complete", "meili-shifan": "complete", "shifan-jiaotong": "complete",
            "shifan-shuiwu": "complete", "shifan-jindu": "complete", "shifan-wenlv": "failed",
            "shifan-jiaoyu": "blocked", "shifan-qixiang": "complete", "shifan-zhengwu": "complete",
            "shifan-wenming": "complete",
        }
        severities = {k[0]: f.severity for k, f in found.items()}
        assert severities == {"meili-shifan": "veto", "shifan-jiaotong": "deduct", "shifan-jindu": "veto",
                              "shifan-wenlv": "notice", "shifan-jiaoyu": "notice", "shifan-zhengwu": "notice"}
        closed = found[("shifan-zhengwu", "account.no_interaction", "comments_closed")]
        assert [p["comments_open"] for p in closed.evidence["posts"]] == [False] * 4
        assert closed.evidence["platform_field"] == "aweme_control.can_comment = false"
        assert province.platforms is not None and province.platforms.count("/feeds/fresh.rss") == 1  # the moved feed


def _write_config(path: Path, mapping: dict) -> Path:
    path.write_text(json.dumps(mapping, ensure_ascii=False, indent=2), encoding="utf-8")  # JSON is YAML
    return path


def _govmon(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GOVMON, *args], capture_output=True, text=True, timeout=timeout)


def test_cli_scan_then_findings(tmp_path):
    as_of = dt.datetime.now(SHANGHAI)
    db = f"sqlite:///{tmp_path / 'govmon.db'}"
    with serving_province(as_of.date(), database=db) as province:
        config = _write_config(tmp_path / "config.yaml", province.mapping)
        scan = _govmon("scan", "--config", str(config), "--target", "示范市水务局", "--target", "shifan-edu")
        assert scan.returncode == 0, scan.stderr
        assert "示范市水务局" in scan.stdout and "示范市教育局信息公开专栏" in scan.stdout
        assert "示范县人民政府门户网站" not in scan.stdout  # only the named targets

        listed = _govmon("findings", "--config", str(config), "--format", "json")
        assert listed.returncode == 0, listed.stderr
        rows = json.loads(listed.stdout)
        expected = {(p.site, p.check) for p in PLANTED if p.site in ("shifan-water", "shifan-edu")}
        assert {(r["target_id"], r["check"]) for r in rows} == expected
        for row in rows:  # INTERFACE.md's Finding JSON, plus the id used by `findings dismiss`
            assert set(row) == {"id", "target", "target_id", "kind", "organizer", "category", "check", "severity",
                                "message", "url", "evidence", "first_seen", "last_seen", "status"}
            assert row["first_seen"].endswith("+08:00") and row["status"] == "open"
        times = [r["last_seen"] for r in rows]
        assert times == sorted(times, reverse=True)  # newest first

        one = _govmon("findings", "--config", str(config), "--target", "shifan-edu", "--format", "csv")
        lines = one.stdout.strip().splitlines()
        assert lines[0].startswith("id,target,target_id") and len(lines) == 1 + 6

        undated = next(r for r in rows if r["check"] == "content.undated")
        dismissed = _govmon("findings", "dismiss", str(undated["id"]), "--reason", "年度报告发布日期在附件中",
                            "--config", str(config))
        assert dismissed.returncode == 0, dismissed.stderr
        status = {r["id"]: r["status"] for r in json.loads(
            _govmon("findings", "--config", str(config), "--format", "json").stdout)}
        assert status[undated["id"]] == "dismissed"

        table = _govmon("findings", "--config", str(config))
        assert "单项否决" in table.stdout and "共 16 条" in table.stdout

        assert _govmon("findings", "dismiss", "99999", "--reason", "x", "--config", str(config)).returncode == 1
        assert _govmon("scan", "--config", str(config), "--target", "不存在的网站").returncode == 2
        assert _govmon("findings", "--config", str(config), "--quarter", "2023Q5").returncode == 2
        assert _govmon("scan", "--config", str(config), "--as-of", "昨天").returncode == 2
        bad = _write_config(tmp_path / "bad.yaml", {**province.mapping, "crawl": {"download_delay_s": 0}})
        refused = _govmon("scan", "--config", str(bad))
        assert refused.returncode == 2 and "bad.yaml" in refused.stderr and "download_delay_s" in refused.stderr


class _SlowSite:
    """A site whose articles answer slowly once ``slow`` is set: a scan to interrupt."""

    def __init__(self) -> None:
        self.slow = threading.Event()
        self.footer_extra = ""  # the identifiers the footer lacks until the site fixes it
        items = "".join(f'<li><a href="/news/{i}.html" title="示范新闻{i}">示范新闻{i}</a><span>{{d}}</span></li>'
                        for i in range(40))
        self.home = items
        self.site: dict[str, object] = {"/": self._home, "/news/": self._home}
        for i in range(40):
            self.site[f"/news/{i}.html"] = self._article(i)

    def _home(self) -> DemoResponse:
        today = dt.datetime.now(SHANGHAI).date().isoformat()
        body = (f'<html><head><title>示范站</title></head><body><a href="/news/">新闻动态</a>'
                f'<ul>{self.home.replace("{d}", today)}</ul><a href="/gone.html">旧链接</a>'
                f'<div class="footer">主办单位：示范站 电话：0759-1234567{self.footer_extra}</div></body></html>')
        return DemoResponse(body.encode())

    def _article(self, i: int):
        def respond() -> DemoResponse:
            if self.slow.is_set():
                time.sleep(1.0)
            return DemoResponse(f"<html><head><title>示范新闻{i}</title></head><body><h1>示范新闻{i}</h1>"
                                f"<p>发布日期：{dt.datetime.now(SHANGHAI).date()}</p></body></html>".encode())
        return respond


def test_sigint_mid_scan_leaves_the_database_consistent(tmp_path):
    slow = _SlowSite()
    server = DemoServer(["slow"], first_octet=90)
    server.mount("slow", slow.site)  # type: ignore[arg-type]
    db_path = tmp_path / "govmon.db"
    with server:
        base = server.base_urls["slow"]
        mapping = {
            "database": f"sqlite:///{db_path}",
            "sites": [{"id": "slow", "name": "示范站", "category": "department_site", "url": base + "/",
                       "columns": [{"name": "新闻动态", "url": base + "/news/", "kind": "news"}]}],
            "crawl": {"allow_private_addresses": True, "download_delay_s": 0.01, "concurrency_per_domain": 1,
                      "articles_per_column": 40},
        }
        config = _write_config(tmp_path / "config.yaml", mapping)
        first = _govmon("scan", "--config", str(config))
        assert first.returncode == 0, first.stderr

        slow.slow.set()
        slow.footer_extra = " 网站标识码：4408000099 粤ICP备12345678号 粤公网安备 44080002000099号"
        process = subprocess.Popen([GOVMON, "scan", "--config", str(config)], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        engine = create_engine(f"sqlite:///{db_path}")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # wait until the second scan is running
            with engine.connect() as conn:
                if conn.scalar(select(func.count()).select_from(Scan).where(Scan.status == "running")):
                    break
            time.sleep(0.2)
        time.sleep(2.5)
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert "收到停止信号" in err

    with engine.connect() as conn:
        scans = conn.execute(select(Scan.id, Scan.status, Scan.finished_at).order_by(Scan.id)).all()
        assert [s.status for s in scans] == ["complete", "incomplete"]
        assert scans[1].finished_at is not None
        pages = conn.scalar(select(func.count()).select_from(Page).where(Page.scan_id == scans[1].id))
        assert 1 <= pages < 42  # what was read before the stop is kept; not every article was
        # The home page was read again with its footer fixed, but an incomplete scan resolves
        # nothing: the identifiers finding stays open until a complete scan confirms the fix.
        statuses = dict(conn.execute(select(Finding.check_id, Finding.status)).all())
        assert statuses == {"site.identifiers": "open", "links.broken": "open",
                            "site.mobile": "open", "site.elderly": "open",  # a bare test page: no viewport, no 长者模式
                            "site.https": "open", "site.ipv6": "open"}  # plain HTTP on an IPv4 loopback address
    engine.dispose()

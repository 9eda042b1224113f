"""Availability probes: one probe against real loopback servers, the stored history, the
site.unreachable judgement over the trailing window, probe rounds and `govmon probe`."""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from loopback import LoopbackServer, Reply, dead_address, event_loop_runner, next_loopback_host  # noqa: F401
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.orm import sessionmaker

from govmon.checks import site_unreachable
from govmon.checks.artifacts import PageObs, ProbeObs, SiteArtifacts, TargetInfo
from govmon.checks.registry import run_checks
from govmon.config import Config
from govmon.crawler.probe import ProbeRequest, probe_client, probe_many, probe_url
from govmon.findings import NewFinding, record_findings
from govmon.models import Finding, Probe, sync_targets
from govmon.probes import is_local_outage, load_probe_history, probe_sites

TZ = ZoneInfo("Asia/Shanghai")
AS_OF = dt.datetime(2023, 6, 30, 9, 30, tzinfo=TZ)
SITE_URL = "http://www.lianjiang.gov.cn/"
TARGET = TargetInfo("lianjiang", "廉江市政府门户网站", "廉江市政府", "county_portal", SITE_URL)
GOVMON = str(Path(sys.executable).with_name("govmon"))
UA = "govmon-test/1.0 (+ops@example.gov.cn)"


def settings(**overrides):
    data = {"checks": {"site.unreachable": overrides}} if overrides else {}
    return Config.from_mapping(data).check_settings("site.unreachable")


def history(total: int, failed: int, *, as_of: dt.datetime = AS_OF, days: int = 7, outage: int = 0) -> list[ProbeObs]:
    """``total`` probes spread evenly over the trailing ``days`` (the last at ``as_of``), the
    first ``failed`` of them failed; plus ``outage`` failed probes of local-outage rounds."""
    step = dt.timedelta(days=days) / (total + outage)
    probes = []
    for i in range(total + outage):
        when = as_of - i * step
        if i < outage:
            probes.append(ProbeObs(when, SITE_URL, False, None, 15000, "connect", "连接被拒绝", None, True))
        elif i - outage < failed:
            probes.append(ProbeObs(when, SITE_URL, False, 500, 120, "http_status", "首页返回 HTTP 500"))
        else:
            probes.append(ProbeObs(when, SITE_URL, True, 200, 80, final_url=SITE_URL))
    return sorted(probes, key=lambda p: p.probed_at)


def judge(probes, as_of: dt.datetime = AS_OF, **overrides):
    artifacts = SiteArtifacts(target=TARGET, as_of=as_of, probes=probes)
    return site_unreachable.run(artifacts, settings(**overrides))


def verdict(findings):
    return [(f.subject, f.severity, f.evidence["probes_total"], f.evidence["probes_failed"]) for f in findings]


# --- the judgement on probe histories -------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "failed", "expected"),
    [
        (1000, 0, None),  # 0%
        (1000, 29, None),  # 2.9%: below the warning line
        (1000, 30, "notice"),  # 3%: the warning line itself
        (1000, 49, "notice"),  # 4.9%
        (1000, 50, "veto"),  # 5%: the veto line itself
        (140, 0, None),  # 0%
        (140, 4, None),  # 2.86%
        (140, 5, "notice"),  # 3.57%
        (140, 6, "notice"),  # 4.29%
        (140, 7, "veto"),  # exactly 5% of the minimum sample
        (140, 140, "veto"),  # never reachable
    ],
)
def test_judgement_thresholds_are_exact(total, failed, expected):
    findings = judge(history(total, failed))
    if expected is None:
        assert findings == []
        return
    assert verdict(findings) == [("probes", expected, total, failed)]
    evidence = findings[0].evidence
    assert evidence["verdict"] == ("veto" if expected == "veto" else "warn")
    assert evidence["failure_ratio"] == round(failed / total, 6)
    assert evidence["sample_sufficient"] is True and evidence["min_probes"] == 140
    assert evidence["window_days"] == 7
    assert evidence["window_end"] == "2023-06-30T09:30:00+08:00"
    assert evidence["window_start"] == "2023-06-23T09:30:00+08:00"


def test_veto_evidence_lists_the_latest_failures_capped_with_counts():
    findings = judge(history(1000, 50))
    (finding,) = findings
    assert finding.severity == "veto" and finding.url == SITE_URL
    assert finding.message == (
        "近 7 天对首页 http://www.lianjiang.gov.cn/ 的可用性探测 1000 次，失败 50 次（失败率 5.00%），"
        "达到单项否决标准（失败率不低于 5.00%）"
    )
    evidence = finding.evidence
    assert evidence["failures_by_kind"] == {"http_status": 50}
    assert evidence["failed_probes_listed"] == 20 == len(evidence["failed_probes"])
    first = evidence["failed_probes"][0]
    assert set(first) == {"time", "url", "status", "error_kind", "error", "elapsed_ms"}
    assert first["status"] == 500 and first["error"] == "首页返回 HTTP 500" and first["elapsed_ms"] == 120
    times = [p["time"] for p in evidence["failed_probes"]]
    assert times == sorted(times, reverse=True)  # the latest first
    assert first["time"].endswith("+08:00")


def test_warning_message_names_both_lines():
    (finding,) = judge(history(1000, 30))
    assert "失败率 3.00%" in finding.message and "达到预警线 3.00%" in finding.message
    assert "单项否决标准为 5.00%" in finding.message


def test_too_small_sample_is_never_a_veto():
    # 24 probes in one day, all failed: a notice that says the sample is too small
    probes = history(24, 24, days=1)
    (finding,) = judge(probes)
    assert finding.severity == "notice"
    assert finding.evidence["verdict"] == "small_sample" and finding.evidence["sample_sufficient"] is False
    assert "少于判定所需的 140 次" in finding.message and "样本不足" in finding.message
    # 139 probes, 7 failed (5.04%): one short of the minimum, still no veto
    (finding,) = judge(history(139, 7))
    assert finding.severity == "notice" and finding.evidence["verdict"] == "small_sample"
    # a small sample below the warning line: nothing
    assert judge(history(100, 2)) == []
    # no probes at all: nothing
    assert judge([]) == []


def test_settings_change_the_lines_and_the_minimum():
    assert verdict(judge(history(140, 7), veto_failure_ratio=0.1)) == [("probes", "notice", 140, 7)]
    assert verdict(judge(history(70, 4), min_probes_per_day=10)) == [("probes", "veto", 70, 4)]
    assert verdict(judge(history(140, 5), warn_failure_ratio=0.05)) == []


def test_only_the_trailing_window_counts():
    old = history(140, 140, as_of=AS_OF - dt.timedelta(days=7))  # the week before: all failed
    recent = history(140, 0)
    assert judge(old + recent) == []
    # a probe exactly window_days old is outside; one a second younger is inside
    edge = [ProbeObs(AS_OF - dt.timedelta(days=7), SITE_URL, False, 500, 1, "http_status", "x")]
    inside = [ProbeObs(AS_OF - dt.timedelta(days=7) + dt.timedelta(seconds=1), SITE_URL, False, 500, 1,
                       "http_status", "x")]
    assert verdict(judge(history(139, 6) + edge)) == [("probes", "notice", 139, 6)]  # small sample
    assert verdict(judge(history(139, 6) + inside)) == [("probes", "veto", 140, 7)]
    # probes after the judgement time (a re-judgement of the past) are not counted
    future = [ProbeObs(AS_OF + dt.timedelta(minutes=1), SITE_URL, False, 500, 1, "http_status", "x")]
    assert judge(history(140, 6) + future)[0].evidence["probes_failed"] == 6


def test_local_outage_probes_are_excluded_from_the_ratio():
    # 140 counted probes, 4 failed (2.86%), plus 30 failed probes of local-outage rounds
    probes = history(140, 4, outage=30)
    assert len(probes) == 170
    assert judge(probes) == []
    (finding,) = judge(history(140, 7, outage=30))
    assert finding.evidence["probes_total"] == 140 and finding.evidence["excluded_local_outage"] == 30
    assert "另有 30 次探测因监测端网络故障未计入" in finding.message


def test_probe_verdict_is_stable_for_dismissal_while_counts_move():
    a = judge(history(1000, 50))[0]
    b = judge(history(1000, 60))[0]
    from govmon.findings import evidence_fingerprint

    assert evidence_fingerprint(a.evidence, a.volatile_keys) == evidence_fingerprint(b.evidence, b.volatile_keys)
    c = judge(history(1000, 30))[0]  # the verdict changed: veto → warning
    assert evidence_fingerprint(a.evidence, a.volatile_keys) != evidence_fingerprint(c.evidence, c.volatile_keys)


def test_scan_part_and_probe_part_share_the_id_by_subject():
    failed_home = PageObs(url=SITE_URL, status=None, error="连接被拒绝", error_kind="refused", page_type="home",
                          fetched_at=AS_OF)
    config = Config.from_mapping({})
    # a scan's judgement: covers the home notice only, never the probe verdict
    scan = run_checks(SiteArtifacts(target=TARGET, as_of=AS_OF, home=failed_home), config)
    assert [(f.subject, f.severity) for f in scan.findings if f.check_id == "site.unreachable"] == [("home", "notice")]
    assert scan.covers("site.unreachable", "home") and not scan.covers("site.unreachable", "probes")
    # a probe round's judgement: the probe verdict only
    probes = run_checks(SiteArtifacts(target=TARGET, as_of=AS_OF, probes=history(140, 7)), config,
                        only={"site.unreachable"})
    assert [(f.subject, f.severity) for f in probes.findings] == [("probes", "veto")]
    assert probes.covers("site.unreachable", "probes") and not probes.covers("site.unreachable", "home")
    assert not probes.covers("column.stale", "/zwdt/")
    # a configured severity still overrides
    quiet = run_checks(SiteArtifacts(target=TARGET, as_of=AS_OF, probes=history(140, 7)),
                       Config.from_mapping({"checks": {"site.unreachable": {"severity": "notice"}}}),
                       only={"site.unreachable"})
    assert [f.severity for f in quiet.findings] == ["notice"]


def test_local_outage_rule():
    from govmon.crawler.probe import ProbeResult

    def result(ok: bool, kind: str | None, own: str | None = None) -> ProbeResult:
        return ProbeResult("http://x/", AS_OF, ok, None if not ok else 200, 5, 0, None, kind, None, own_error=own)

    refused = result(False, "connect")
    assert is_local_outage([refused, refused, refused])
    assert is_local_outage([result(False, "dns"), result(False, "timeout"), refused])
    assert not is_local_outage([refused, refused])  # two sites may share their own fault
    assert not is_local_outage([refused, refused, result(True, None)])
    assert not is_local_outage([refused, refused, result(False, "http_status")])  # a site answered
    # our own errors do not count as sites for the rule
    assert not is_local_outage([refused, refused, result(False, None, own="RuntimeError: x")])


# --- one probe against loopback servers --------------------------------------------------------------


class StallingServer:
    """A raw TCP server that sends headers and the start of the body, then trickles one byte
    every 0.1 s: no single read waits long, but the page never arrives whole."""

    def __init__(self, stall_s: float) -> None:
        self.host = next_loopback_host()
        self.sock = socket.socket()
        self.sock.bind((self.host, 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.stall_s = stall_s
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
                deadline = time.monotonic() + self.stall_s
                while time.monotonic() < deadline:
                    time.sleep(0.1)
                    conn.sendall(b"x")
            except OSError:
                pass

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def close(self) -> None:
        self.sock.close()


def _probe(event_loop_runner, url: str, *, timeout_s: float = 5, max_redirects: int = 5):  # noqa: F811
    async def go():
        async with probe_client(user_agent=UA, timeout_s=timeout_s, max_redirects=max_redirects) as client:
            return await probe_url(client, url, timeout_s=timeout_s)

    return event_loop_runner.run(go(), timeout=30)


def test_probe_ok_sends_the_honest_user_agent(event_loop_runner):  # noqa: F811
    agents = []

    def home(hit):
        agents.append(hit.headers.get("User-Agent"))
        return Reply(200, "<h1>首页</h1>" * 100)

    with LoopbackServer({"/": home}) as server:
        result = _probe(event_loop_runner, server.url("/"))
    assert result.ok and result.status == 200 and result.error_kind is None and result.detail is None
    assert result.bytes == len(("<h1>首页</h1>" * 100).encode())
    assert result.final_url == server.url("/")
    assert 0 <= result.elapsed_ms < 5000
    assert result.started_at.tzinfo is not None
    assert agents == [UA]


def test_probe_follows_redirects_to_the_final_page(event_loop_runner):  # noqa: F811
    with LoopbackServer({"/": Reply(302, headers={"Location": "/index.html"}), "/index.html": Reply(200, "ok")}) as s:
        result = _probe(event_loop_runner, s.url("/"))
    assert result.ok and result.status == 200 and result.final_url == s.url("/index.html")


def test_probe_http_500_fails(event_loop_runner):  # noqa: F811
    with LoopbackServer({"/": Reply(500, "error")}) as server:
        result = _probe(event_loop_runner, server.url("/"))
    assert not result.ok and result.status == 500
    assert (result.error_kind, result.detail) == ("http_status", "首页返回 HTTP 500")


def test_probe_refused_fails_at_the_connection(event_loop_runner):  # noqa: F811
    result = _probe(event_loop_runner, dead_address() + "/")
    assert not result.ok and result.status is None and result.error_kind == "connect"
    assert "连接被拒绝" in result.detail
    assert result.connection_failure


def test_probe_body_stalling_past_the_limit_fails(event_loop_runner):  # noqa: F811
    server = StallingServer(stall_s=3)
    try:
        started = time.monotonic()
        result = _probe(event_loop_runner, server.url, timeout_s=1)  # httpx's read timeout alone never fires
        took = time.monotonic() - started
    finally:
        server.close()
    assert not result.ok and result.error_kind == "timeout"
    assert result.status == 200 and 1000 <= result.bytes < 1100  # the headers came, the page did not
    assert result.detail == f"已收到响应（HTTP 200），但网页内容在 1 秒内没有全部载入（已收到 {result.bytes} 字节）"
    assert took < 5 and 950 <= result.elapsed_ms < 5000


def test_probe_slow_headers_fail(event_loop_runner):  # noqa: F811
    with LoopbackServer({"/": Reply(200, "late", delay=1.5)}) as server:
        result = _probe(event_loop_runner, server.url("/"), timeout_s=0.4)
    assert not result.ok and result.error_kind == "timeout" and result.status is None
    assert "0.4 秒内" in result.detail


def test_probe_redirect_loop_fails(event_loop_runner):  # noqa: F811
    with LoopbackServer({"/": Reply(302, headers={"Location": "/a"}), "/a": Reply(302, headers={"Location": "/"})}) as s:
        result = _probe(event_loop_runner, s.url("/"), max_redirects=5)
        hits = s.count("/") + s.count("/a")
    assert not result.ok and result.error_kind == "too_many_redirects"
    assert "重定向" in result.detail
    assert hits == 6  # the first request and 5 redirects, no more


def test_probe_tls_to_a_plain_http_server_fails(event_loop_runner):  # noqa: F811
    with LoopbackServer({"/": Reply(200, "plain")}) as server:
        result = _probe(event_loop_runner, server.url("/").replace("http://", "https://"))
    assert not result.ok and result.error_kind == "tls", result.detail


def test_probe_many_never_probes_one_host_twice_at_once(event_loop_runner):  # noqa: F811
    with LoopbackServer({"/": Reply(200, "a", delay=0.3), "/b/": Reply(200, "b", delay=0.3)}) as shared, \
            LoopbackServer({"/": Reply(200, "c", delay=0.3)}) as other:
        requests = [ProbeRequest(shared.url("/"), "a"), ProbeRequest(shared.url("/b/"), "b"),
                    ProbeRequest(other.url("/"), "c")]
        started = time.monotonic()
        results = event_loop_runner.run(
            probe_many(requests, user_agent=UA, timeout_s=5, max_redirects=5, allow_private_addresses=True), timeout=30)
        took = time.monotonic() - started
        assert shared.max_inflight == 1
    assert [r.key for r in results] == ["a", "b", "c"] and all(r.ok for r in results)
    assert took >= 0.6  # the two shared-host probes in turn


def test_probe_many_refuses_a_redirect_into_another_private_host(event_loop_runner):  # noqa: F811
    with LoopbackServer({"/": Reply(200, "internal")}) as internal, \
            LoopbackServer({"/": Reply(302, headers={"Location": internal.url("/")})}) as site:
        (result,) = event_loop_runner.run(
            probe_many([ProbeRequest(site.url("/"), "s")], user_agent=UA, timeout_s=5, max_redirects=5), timeout=30)
        assert internal.count("/") == 0
    assert not result.ok and result.error_kind == "other" and "内网地址" in result.detail


def test_connect_failures_are_named_by_their_cause():
    from govmon.crawler.probe import _connect_failure

    def failure(cause: BaseException):
        try:
            try:
                raise cause
            except BaseException as inner:
                raise httpx.ConnectError("All connection attempts failed") from inner
        except httpx.ConnectError as exc:
            return _connect_failure(exc, "refused", "无法连接到服务器：All connection attempts failed")

    assert failure(socket.gaierror(-2, "Name or service not known")) == ("dns", "域名解析失败（DNS 查不到该域名）")
    assert failure(ConnectionRefusedError(111, "Connection refused")) == (
        "refused", "连接被拒绝（服务器未在该端口提供服务）")
    assert failure(OSError(113, "No route to host")) == ("refused", "无法连接到服务器：No route to host")


def test_probe_many_trusts_the_other_registered_sites(event_loop_runner):  # noqa: F811
    with LoopbackServer({"/": Reply(200, "portal")}) as portal, \
            LoopbackServer({"/": Reply(302, headers={"Location": portal.url("/")})}) as channel:
        (result,) = event_loop_runner.run(
            probe_many([ProbeRequest(channel.url("/"), "c")], user_agent=UA, timeout_s=5, max_redirects=5,
                       trusted_urls=[portal.url("/")]), timeout=30)
    assert result.ok and result.final_url == portal.url("/")


# --- probe rounds: stored, judged, recorded -------------------------------------------------------


def _config(urls: dict[str, str], **unreachable) -> Config:
    sites = [{"id": sid, "name": f"测试站点{sid}", "organizer": "测试单位", "category": "department_site", "url": url}
             for sid, url in urls.items()]
    mapping = {"sites": sites, "timezone": "Asia/Shanghai",
               "crawl": {"allow_private_addresses": True, "contact": "ops@example.gov.cn"}}
    if unreachable:
        mapping["checks"] = {"site.unreachable": unreachable}
    return Config.from_mapping(mapping)


def _store_history(session_factory, config: Config, target_id: str, as_of: dt.datetime, total: int, failed: int):
    from govmon.scan import target_specs

    with session_factory.begin() as session:
        sync_targets(session, target_specs(config))
        for probe in history(total, failed, as_of=as_of - dt.timedelta(minutes=30)):
            session.add(Probe(target_id=target_id, round_id="history", probed_at=probe.probed_at, url=probe.url,
                              ok=probe.ok, status=probe.status, elapsed_ms=probe.elapsed_ms, bytes=100,
                              error_kind=probe.error_kind, detail=probe.detail, final_url=probe.final_url,
                              local_outage=False))


def _open(session_factory, target_id: str) -> dict[tuple[str, str], Finding]:
    with session_factory() as session:
        rows = session.scalars(select(Finding).where(Finding.target_id == target_id, Finding.status == "open"))
        return {(f.check_id, f.subject): f for f in rows}


def test_stored_history_reads_back_in_the_window(session_factory):
    config = _config({"a": "http://127.0.0.1:9/"})
    now = dt.datetime(2023, 6, 30, 9, 30, tzinfo=TZ)
    _store_history(session_factory, config, "a", now, 140, 7)
    with session_factory() as session:
        probes = load_probe_history(session, "a", now, 7)
        assert len(probes) == 140 and sum(not p.ok for p in probes) == 7
        assert all(p.probed_at.tzinfo is not None for p in probes)
        assert probes == sorted(probes, key=lambda p: p.probed_at)
        assert len(load_probe_history(session, "a", now - dt.timedelta(days=3), 7)) < 140
    judged = judge(probes, as_of=now)
    assert verdict(judged) == [("probes", "veto", 140, 7)]


def test_round_on_stored_history_vetoes_then_resolves_without_touching_other_findings(
    session_factory, event_loop_runner  # noqa: F811
):
    with LoopbackServer({"/": Reply(200, "<h1>首页</h1>")}) as server:
        config = _config({"a": server.url("/")})
        site = config.sites[0]
        now = dt.datetime.now(dt.UTC)
        # 139 stored probes, 7 failed; this round adds an OK one: 7/140 = 5% → veto
        _store_history(session_factory, config, "a", now, 139, 7)
        with session_factory.begin() as session:  # other checks' findings, and the scan's notice
            record_findings(session, None, "a", [
                NewFinding("column.stale", "http://x/zwdt/", "deduct", "栏目不更新"),
                NewFinding("site.unreachable", "home", "notice", "扫描时首页无法访问"),
            ], complete=False, now=now - dt.timedelta(hours=2))

        (outcome,) = event_loop_runner.run(probe_sites(config, session_factory, [site], now=now), timeout=30)
        assert outcome.measured and outcome.ok and outcome.status == 200 and not outcome.local_outage
        assert (outcome.window_total, outcome.window_failed) == (140, 7)
        assert outcome.severity == "veto" and outcome.opened
        found = _open(session_factory, "a")
        assert set(found) == {("column.stale", "http://x/zwdt/"), ("site.unreachable", "home"),
                              ("site.unreachable", "probes")}
        veto = found[("site.unreachable", "probes")]
        assert veto.severity == "veto" and veto.evidence["probes_total"] == 140
        assert veto.evidence["failed_probes"][0]["status"] == 500

        # a week later, 140 good rounds' worth: the veto is resolved, the rest untouched
        later = now + dt.timedelta(days=7, hours=1)
        _store_history(session_factory, config, "a", later, 139, 0)
        (outcome,) = event_loop_runner.run(probe_sites(config, session_factory, [site], now=later), timeout=30)
        assert outcome.severity is None and outcome.resolved and outcome.window_failed == 0
        found = _open(session_factory, "a")
        assert set(found) == {("column.stale", "http://x/zwdt/"), ("site.unreachable", "home")}
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Probe).where(Probe.round_id != "history")) == 2
        stored = session.scalars(select(Probe).where(Probe.round_id != "history").order_by(Probe.probed_at)).all()
        assert [p.probed_at for p in stored] == [now, later]
        assert all(p.ok and p.status == 200 and p.bytes > 0 and p.final_url == server.url("/") for p in stored)


def test_round_at_warning_level_and_sample_too_small(session_factory, event_loop_runner):  # noqa: F811
    with LoopbackServer({"/": Reply(503, "busy")}) as server:
        config = _config({"a": server.url("/")})
        now = dt.datetime.now(dt.UTC)
        # first round ever, failed: 1 of 1 — a notice for a too-small sample, never a veto
        (outcome,) = event_loop_runner.run(probe_sites(config, session_factory, list(config.sites), now=now),
                                           timeout=30)
        assert not outcome.ok and outcome.error_kind == "http_status" and outcome.status == 503
        assert outcome.severity == "notice"
        finding = _open(session_factory, "a")[("site.unreachable", "probes")]
        assert finding.evidence["verdict"] == "small_sample"


def test_local_outage_round_is_stored_but_not_counted(session_factory, event_loop_runner):  # noqa: F811
    config = _config({"a": dead_address() + "/", "b": dead_address() + "/", "c": dead_address() + "/"})
    now = dt.datetime.now(dt.UTC)
    for sid in "abc":
        _store_history(session_factory, config, sid, now, 139, 0)
    outcomes = event_loop_runner.run(probe_sites(config, session_factory, list(config.sites), now=now), timeout=30)
    assert [o.local_outage for o in outcomes] == [True, True, True]
    assert all(o.error_kind == "connect" and o.window_total == 139 and o.window_failed == 0 for o in outcomes)
    assert all(o.severity is None for o in outcomes)
    with session_factory() as session:
        rounds = session.scalars(select(Probe).where(Probe.round_id != "history")).all()
        assert len(rounds) == 3 and all(p.local_outage and not p.ok for p in rounds)
        assert len({p.round_id for p in rounds}) == 1


def test_two_dead_sites_of_three_are_counted(session_factory, event_loop_runner):  # noqa: F811
    with LoopbackServer({"/": Reply(200, "ok")}) as server:
        config = _config({"a": dead_address() + "/", "b": dead_address() + "/", "c": server.url("/")})
        outcomes = event_loop_runner.run(probe_sites(config, session_factory, list(config.sites)), timeout=30)
    assert [(o.ok, o.local_outage, o.window_total, o.window_failed) for o in outcomes] == [
        (False, False, 1, 1), (False, False, 1, 1), (True, False, 1, 0)]
    assert [o.severity for o in outcomes] == ["notice", "notice", None]


def test_a_round_is_stored_in_chunks_and_judged_as_one(session_factory, event_loop_runner, monkeypatch):  # noqa: F811
    """Each transaction stores STORE_CHUNK sites (it holds the write lock); the outage rule still
    looks at the whole round, and every probe carries the round's id."""
    import govmon.probes as probes_module

    monkeypatch.setattr(probes_module, "STORE_CHUNK", 2)
    inserts: set[int] = set()  # the transactions that inserted probes
    transactions = [0]

    def began(conn):  # noqa: ANN001
        transactions[0] += 1
        conn.info["probes_tx"] = transactions[0]

    def count(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if statement.lstrip().upper().startswith("INSERT INTO PROBES"):
            inserts.add(conn.info["probes_tx"])

    engine = session_factory.kw["bind"]
    event.listen(engine, "begin", began)
    event.listen(engine, "after_cursor_execute", count)
    with LoopbackServer({"/": Reply(200, "ok")}) as server:
        dead = {sid: dead_address() + "/" for sid in "abcde"}
        config = _config(dead)  # every site refuses: a local outage, though no chunk has 3 sites
        outcomes = event_loop_runner.run(probe_sites(config, session_factory, list(config.sites)), timeout=30)
        assert [o.target_id for o in outcomes] == list("abcde")
        assert all(o.local_outage and o.severity is None for o in outcomes)
        assert len(inserts) == 3  # 2 + 2 + 1 sites

        inserts.clear()
        config = _config({**dead, "c": server.url("/"), "e": server.url("/")})
        outcomes = event_loop_runner.run(probe_sites(config, session_factory, list(config.sites)), timeout=30)
        assert [(o.target_id, o.ok, o.local_outage, o.severity) for o in outcomes] == [
            ("a", False, False, "notice"), ("b", False, False, "notice"), ("c", True, False, None),
            ("d", False, False, "notice"), ("e", True, False, None)]
        assert len(inserts) == 3  # 2 + 2 + 1 sites
    event.remove(engine, "begin", began)
    event.remove(engine, "after_cursor_execute", count)
    with session_factory() as session:
        rounds = session.execute(select(Probe.round_id, func.count()).group_by(Probe.round_id)).all()
        assert sorted(n for _, n in rounds) == [5, 5]
        assert {f.target_id for f in session.scalars(select(Finding).where(Finding.status == "open"))} == set("abd")


def test_probe_sites_refuses_unregistered_sites(session_factory, event_loop_runner):  # noqa: F811
    config = _config({"a": "http://127.0.0.1:9/"})
    other = _config({"z": "http://127.0.0.1:9/"}).sites[0]
    with pytest.raises(ValueError, match="not a registered site"):
        event_loop_runner.run(probe_sites(config, session_factory, [other]), timeout=30)


# --- a probe never comes on top of a scan ----------------------------------------------------------


def test_a_site_being_scanned_is_not_probed_and_nothing_is_stored_for_it(session_factory, event_loop_runner):  # noqa: F811
    from govmon.observations import started_scan
    from govmon.probes import BEING_SCANNED
    from govmon.scan import target_specs

    with LoopbackServer({"/": Reply(200, "<h1>首页</h1>")}) as scanned, LoopbackServer({"/": Reply(200, "ok")}) as idle:
        config = _config({"a": scanned.url("/"), "b": idle.url("/")})
        with session_factory.begin() as session:  # another process is scanning a
            sync_targets(session, target_specs(config))
            started_scan(session, "a", as_of=dt.datetime.now(TZ), owner="host:1", lease=dt.timedelta(minutes=5))
        a, b = event_loop_runner.run(probe_sites(config, session_factory, list(config.sites)), timeout=30)
        assert (a.measured, a.detail) == (False, BEING_SCANNED) and scanned.count("/") == 0
        assert b.measured and b.ok and idle.count("/") == 1
    with session_factory() as session:
        assert session.scalars(select(Probe.target_id)).all() == ["b"]


def test_a_scan_waits_for_its_sites_probe_to_end(session_factory, event_loop_runner):  # noqa: F811
    """One connection at a time allowed: the scan's first request comes after the probe's answer."""
    import asyncio

    from govmon.scan import SiteScanner

    routes = {"/": Reply(200, "<h1>首页</h1><p>主办单位：测试单位</p>", delay=0.8),
              "/robots.txt": Reply(200, "User-agent: *\nAllow: /\n", content_type="text/plain")}
    with LoopbackServer(routes) as server:
        config = Config.from_mapping({
            "sites": [{"id": "a", "name": "测试站点a", "organizer": "测试单位", "category": "department_site",
                       "url": server.url("/")}],
            "timezone": "Asia/Shanghai", "browser": {"enabled": False},
            "crawl": {"allow_private_addresses": True, "contact": "ops@example.gov.cn", "concurrency_per_domain": 1,
                      "download_delay_s": 0.01},
        })

        async def probe_then_scan():
            probing = asyncio.ensure_future(probe_sites(config, session_factory, list(config.sites)))
            while server.inflight == 0:  # the probe's request is being answered
                await asyncio.sleep(0.01)
            scanner = SiteScanner(config, session_factory, as_of=dt.datetime.now(TZ))
            return await asyncio.gather(probing, scanner.scan(list(config.sites)))

        [probe], [scan] = event_loop_runner.run(probe_then_scan(), timeout=60)
        assert probe.measured and probe.ok
        assert scan.status == "complete", scan.reason
        assert server.count("/") == 2 and server.max_inflight == 1  # the probe's GET, then the crawl's


# --- govmon probe ------------------------------------------------------------------------------


def _write_config(path: Path, urls: dict[str, str]) -> Path:
    sites = [{"id": sid, "name": name, "organizer": "测试单位", "category": "department_site", "url": url}
             for sid, (name, url) in urls.items()]
    mapping = {"sites": sites, "crawl": {"allow_private_addresses": True, "contact": "ops@example.gov.cn"}}
    path.write_text(json.dumps(mapping, ensure_ascii=False), encoding="utf-8")
    return path


def test_cli_probe_round_end_to_end(tmp_path):
    db = f"sqlite:///{tmp_path / 'probe.db'}"
    with LoopbackServer({"/": Reply(200, "<h1>首页</h1>")}) as good, LoopbackServer({"/": Reply(500, "x")}) as bad:
        config = _write_config(tmp_path / "config.yaml", {
            "good": ("示范区人民政府门户网站", good.url("/")),
            "bad": ("示范市水务局", bad.url("/")),
        })
        result = subprocess.run([GOVMON, "probe", "--config", str(config), "--db", db],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert lines[0].split() == ["站点", "结果", "状态码", "用时", "近7天失败率", "判定"]
        good_line = next(line for line in lines if line.startswith("示范区人民政府门户网站"))
        bad_line = next(line for line in lines if line.startswith("示范市水务局"))
        assert "正常" in good_line and "200" in good_line and "0.00%（0/1）" in good_line
        assert "失败：首页返回 HTTP 500" in bad_line and "100.00%（1/1）" in bad_line and "提示" in bad_line

        only = subprocess.run([GOVMON, "probe", "--config", str(config), "--db", db, "--target", "示范区人民政府门户网站"],
                              capture_output=True, text=True, timeout=60)
        assert only.returncode == 0, only.stderr
        assert "示范区人民政府门户网站" in only.stdout and "示范市水务局" not in only.stdout
        assert "0.00%（0/2）" in only.stdout

        unknown = subprocess.run([GOVMON, "probe", "--config", str(config), "--db", db, "--target", "没有这个网站"],
                                 capture_output=True, text=True, timeout=60)
        assert unknown.returncode == 2 and "没有这个网站" in unknown.stderr

    engine = create_engine(db)
    with sessionmaker(engine)() as session:
        rows = session.scalars(select(Probe).order_by(Probe.id)).all()
        assert [(p.target_id, p.ok, p.status) for p in rows] == [("good", True, 200), ("bad", False, 500),
                                                               ("good", True, 200)]
        (finding,) = session.scalars(select(Finding)).all()
        assert (finding.target_id, finding.check_id, finding.subject, finding.severity) == (
            "bad", "site.unreachable", "probes", "notice")
    engine.dispose()


def test_cli_probe_exits_1_on_a_local_outage(tmp_path):
    db = f"sqlite:///{tmp_path / 'probe.db'}"
    config = _write_config(tmp_path / "config.yaml", {
        sid: (f"站点{sid}", dead_address() + "/") for sid in ("a", "b", "c")
    })
    result = subprocess.run([GOVMON, "probe", "--config", str(config), "--db", db],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "监测端网络故障" in result.stderr
    assert result.stdout.count("不计入（监测端网络故障）") == 3 and "无记录" in result.stdout

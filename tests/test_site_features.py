"""site.https, site.ipv6, site.search: the scan's observations made against loopback servers, then judged.

HTTPS: a test CA (trusted through ``tls.extra_ca_file``) signs a valid, an expired and a
soon-expiring certificate for 127.0.x.y; a self-signed one is trusted by nobody; a host with no
HTTPS at all refuses the connection. IPv6: a server on ``[::1]`` and one on a 127.0.x.y literal
(no resolver is asked: both are literals). Search: loopback portals with a working search, no
search box, a search answering nothing, and a search page that is down.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import http.server
import ssl
import threading
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from loopback import LoopbackServer, Reply, dead_address, html, next_loopback_host

from govmon.checks import site_https, site_ipv6, site_search
from govmon.checks.artifacts import PageObs, SiteArtifacts, TargetInfo
from govmon.checks.registry import run_checks
from govmon.config import Config
from govmon.crawler.extract import extract_page
from govmon.demo.certs import LoopbackCA
from govmon.crawler.site_features import observe_ipv6, observe_search, observe_tls, pick_search_item
from govmon.site_facts import fact_obs

TZ = ZoneInfo("Asia/Shanghai")


# --- certificates (govmon.demo.certs.LoopbackCA) --------------------------------------------------


class TlsServer:
    """An HTTPS server on its own loopback address answering every path with a small page."""

    def __init__(self, host: str, cert: Path, key: Path) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                body = html("<p>HTTPS</p>")
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.httpd = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def ca(tmp_path_factory) -> LoopbackCA:
    return LoopbackCA(tmp_path_factory.mktemp("certs"))


def _site(category: str = "county_portal", **facts) -> SiteArtifacts:
    home = PageObs(url="http://www.example.gov.cn/", status=200, page_type="home", title="门户")
    return SiteArtifacts(target=TargetInfo("t", "门户", "县政府", category, "http://www.example.gov.cn/"),
                         as_of=dt.datetime.now(TZ), home=home, **facts)


def _settings(check_id: str, **overrides):
    return Config.from_mapping({"checks": {check_id: overrides}} if overrides else {}).check_settings(check_id)


def _judge_tls(data: dict) -> list:
    return site_https.run(_site(tls=fact_obs("tls", data)), _settings("site.https"))


# --- site.https -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["valid", "expired", "expiring", "self_signed"])
def test_https_certificates(ca, kind):
    host = next_loopback_host()
    lifetime = {"valid": dict(days_left=365), "expired": dict(days_old=100, days_left=-3),
                "expiring": dict(days_left=10), "self_signed": dict(days_left=365, self_signed=True)}[kind]
    server = TlsServer(host, *ca.issue(host, **lifetime))
    try:
        data = asyncio.run(observe_tls(f"http://{host}:8080/", https_port=server.port, extra_ca_file=ca.file,
                                       timeout_s=5))
    finally:
        server.close()
    assert data["answered"] is True and data["url"] == f"https://{host}:{server.port}/"
    findings = _judge_tls(data)
    if kind == "valid":
        assert data["valid"] is True and 363 <= data["days_left"] <= 365
        assert findings == []
        return
    assert [(f.check_id, f.subject, f.severity) for f in findings] == [("site.https", "https", "notice")]
    evidence = findings[0].evidence
    if kind == "expired":
        assert data["valid"] is False and data["days_left"] < 0
        assert evidence["problem"] == "expired" and "已过期" in findings[0].message
        assert "expired" in evidence["verify_error"]
    elif kind == "expiring":
        assert data["valid"] is True and 9 <= data["days_left"] <= 10
        assert evidence["problem"] == "expiring" and evidence["days_left"] == data["days_left"]
        assert f"{data['days_left']} 天后到期" in findings[0].message
    else:
        assert data["valid"] is False and data["days_left"] >= 363
        assert evidence["problem"] == "invalid" and "self-signed" in evidence["verify_error"]


def test_https_expiry_warning_is_a_setting(ca):
    host = next_loopback_host()
    server = TlsServer(host, *ca.issue(host, days_left=45))
    try:
        data = asyncio.run(observe_tls(f"http://{host}/", https_port=server.port, extra_ca_file=ca.file, timeout_s=5))
    finally:
        server.close()
    tls = fact_obs("tls", data)
    assert site_https.run(_site(tls=tls), _settings("site.https")) == []
    widened = site_https.run(_site(tls=tls), _settings("site.https", expiry_warn_days=60))
    assert [f.evidence["problem"] for f in widened] == ["expiring"]


def test_valid_certificate_untrusted_without_the_extra_ca(ca):
    host = next_loopback_host()
    server = TlsServer(host, *ca.issue(host))
    try:
        data = asyncio.run(observe_tls(f"http://{host}/", https_port=server.port, timeout_s=5))
    finally:
        server.close()
    assert data["answered"] is True and data["valid"] is False  # the system CAs do not know the test CA


def test_site_without_https():
    dead = dead_address()  # http://127.0.x.y:port where nothing listens
    host, port = dead.removeprefix("http://").split(":")
    data = asyncio.run(observe_tls(f"http://{host}/", https_port=int(port), timeout_s=5))
    assert data["answered"] is False and "连接被拒绝" in data["error"]
    findings = _judge_tls(data)
    assert [(f.subject, f.evidence["problem"]) for f in findings] == [("https", "no_https")]
    assert "不支持 HTTPS" in findings[0].message


def test_unreadable_home_is_not_judged_for_https_ipv6_search():
    down = SiteArtifacts(target=TargetInfo("t", "门户", "县政府", "county_portal", "http://www.example.gov.cn/"),
                         as_of=dt.datetime.now(TZ),
                         home=PageObs(url="http://www.example.gov.cn/", error="连接被拒绝", error_kind="refused"))
    result = run_checks(down, Config.from_mapping({}))
    for check_id in ("site.https", "site.ipv6", "site.search"):
        assert check_id not in result.judged
    assert result.skipped["site.https"] == "本次扫描未检查 HTTPS（首页未能读取）"


# --- site.ipv6 ------------------------------------------------------------------------------------


def test_ipv6_host_answers_and_ipv4_only_host_is_flagged():
    with LoopbackServer({"/": Reply(body=html("<p>首页</p>"))}, host="::1") as v6, \
            LoopbackServer({"/": Reply(body=html("<p>首页</p>"))}) as v4:
        with_v6 = asyncio.run(observe_ipv6(f"http://[::1]:{v6.port}/", timeout_s=5))
        without = asyncio.run(observe_ipv6(v4.url("/"), timeout_s=5))
        assert v6.count("/") == 1  # one request over IPv6
    assert with_v6["addresses"] == ["::1"] and with_v6["answered"] is True and with_v6["status"] == 200
    assert site_ipv6.run(_site(ipv6=fact_obs("ipv6", with_v6)), _settings("site.ipv6")) == []
    assert without["addresses"] == [] and without["answered"] is False
    findings = site_ipv6.run(_site(ipv6=fact_obs("ipv6", without)), _settings("site.ipv6"))
    assert [(f.check_id, f.subject, f.severity) for f in findings] == [("site.ipv6", "ipv6", "notice")]
    assert "没有 IPv6（AAAA）地址" in findings[0].message and findings[0].evidence["ipv6_addresses"] == []


def test_ipv6_address_that_does_not_answer():
    with LoopbackServer({"/": Reply(body=html("<p>首页</p>"))}, host="::1") as v6:
        port = v6.port
    data = asyncio.run(observe_ipv6(f"http://[::1]:{port}/", timeout_s=5))  # closed: refused
    findings = site_ipv6.run(_site(ipv6=fact_obs("ipv6", data)), _settings("site.ipv6"))
    assert data["addresses"] == ["::1"] and data["answered"] is False
    assert len(findings) == 1 and "无应答" in findings[0].message and findings[0].evidence["tried"]


# --- site.search ----------------------------------------------------------------------------------

ARTICLE_TITLE = "示范县召开春季森林防火工作会议"


def _home_page(search_form: str) -> bytes:
    return html(f'{search_form}<ul><li><a href="/zwdt/c1.html" title="{ARTICLE_TITLE}">{ARTICLE_TITLE}</a>'
                f'<span>2023-06-01</span></li></ul>', title="示范县人民政府")


def _search(server: LoopbackServer) -> dict:
    home = extract_page(server.url("/"), server.routes["/"].body)  # type: ignore[union-attr]
    item = pick_search_item([(i.title, i.url) for i in home.items], server.host)
    return asyncio.run(observe_search(server.url("/"), home.search_forms, item, timeout_s=5))


def _judge_search(data: dict, category: str = "county_portal") -> list:
    return site_search.run(_site(category, search=fact_obs("search", data)), _settings("site.search"))


def test_working_search_is_no_finding():
    def results(hit):
        found = ARTICLE_TITLE in __import__("urllib.parse").parse.unquote(hit.path)
        rows = f'<li><a href="/zwdt/c1.html">{ARTICLE_TITLE}</a></li>' if found else ""
        return Reply(body=html(f"<ul>{rows}</ul><p>共 {int(found)} 条</p>"))

    form = '<form action="/search/" method="get"><input type="text" name="searchword"><input type="hidden" name="siteid" value="7"><input type="submit" value="搜索"></form>'
    with LoopbackServer({"/": Reply(body=_home_page(form)), "/search/": results}) as server:
        data = _search(server)
        assert sum(n for (_, path), n in server.hits.items() if path.startswith("/search/?")) == 1  # one query
    assert data["form"]["field"] == "searchword" and data["form"]["hidden"] == {"siteid": "7"}
    assert data["query"] == ARTICLE_TITLE and data["found"] is True
    assert _judge_search(data) == []


def test_portal_without_search_box():
    with LoopbackServer({"/": Reply(body=_home_page('<form action="/login"><input name="user"></form>'))}) as server:
        data = _search(server)
    assert data["form"] is None
    findings = _judge_search(data)
    assert [(f.check_id, f.subject, f.severity) for f in findings] == [("site.search", "box", "deduct")]
    assert findings[0].message == "首页没有站内搜索框"
    assert _judge_search(data, "department_site") == []  # only portals are asked for it


def test_search_that_finds_nothing():
    form = '<form action="/jsearch/"><input name="q"></form>'
    with LoopbackServer({"/": Reply(body=_home_page(form)),
                         "*": Reply(body=html("<p>没有找到相关结果</p><a href='/'>返回首页</a>"))}) as server:
        data = _search(server)
    assert data["status"] == 200 and data["found"] is False
    findings = _judge_search(data)
    assert [(f.subject, f.severity) for f in findings] == [("results", "deduct")]
    assert findings[0].evidence["query"] == ARTICLE_TITLE and findings[0].evidence["search_url"].startswith(server.url("/jsearch/"))


@pytest.mark.parametrize("down", ["error_status", "refused"])
def test_search_page_down_is_not_judged(down):
    routes = {"/search": Reply(503, "<h1>503</h1>")} if down == "error_status" else {}
    with LoopbackServer(routes) as server:
        action = server.url("/search") if down == "error_status" else dead_address() + "/search"
        server.routes["/"] = Reply(body=_home_page(f'<form action="{action}"><input name="keyword"></form>'))
        data = _search(server)
    assert data.get("found") is None
    assert _judge_search(data) == []
    assert site_search.scope(_site(search=fact_obs("search", data)), _settings("site.search")) == set()


def test_search_to_a_private_address_the_crawl_may_not_visit_is_not_requested():
    form = {"action": "http://10.0.0.1/search", "method": "GET", "field": "q", "hidden": {}}
    data = asyncio.run(observe_search("http://www.example.gov.cn/", [form], (ARTICLE_TITLE, "http://www.example.gov.cn/a.html"),
                                      may_request=lambda url: False))
    assert data["error"] == "搜索表单提交到内网地址，按抓取设置未检索" and "status" not in data
    assert _judge_search(data) == []

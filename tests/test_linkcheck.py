"""The link checker: outcomes, failure names, the registry, and the odd servers."""

from __future__ import annotations

import socket
import threading

import pytest
from scrapy import Request
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
)

from loopback import LoopbackServer, Reply, Sink, crawl_config, event_loop_runner, html, next_loopback_host  # noqa: F401
from test_politeness import NAV

from govmon.crawler.linkcheck import (
    LinkRegistry,
    PrivateAddressBlocked,
    RedirectLoop,
    describe_failure,
    failure_outcome,
    is_html_content_type,
    status_outcome,
)
from govmon.crawler.runner import SiteCrawlSpec, crawl_site


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, "ok"), (204, "ok"), (304, "ok"), (400, "broken"), (403, "broken"), (404, "broken"), (410, "broken"),
     (500, "broken"), (503, "broken"), (429, "inconclusive"), (412, "inconclusive")],
)
def test_status_outcome(status, outcome):
    assert status_outcome(status)[0] == outcome


def test_failures_are_named_in_chinese():
    request = Request("http://x.cn/a", meta={"redirect_urls": ["http://x.cn/b", "http://x.cn/a"]})
    cases = [
        (CannotResolveHostError("nope"), "dns", "域名解析失败", "broken"),
        (DownloadConnectionRefusedError("refused"), "refused", "连接被拒绝", "broken"),
        (DownloadTimeoutError("took longer"), "timeout", "请求超时", "broken"),
        (DownloadFailedError("[<twisted.python.failure.Failure OpenSSL.SSL.Error: certificate verify failed>]"), "tls", "HTTPS 证书", "broken"),
        (DownloadFailedError("[Failure instance: ConnectionLost]"), "connection_lost", "连接中断", "broken"),
        (IgnoreRequest("max redirections reached"), "redirect_loop", "重定向循环", "broken"),
        (RedirectLoop("http://x.cn/a", "http://x.cn/b", 302), "redirect_loop", "重定向循环", "broken"),
        (IgnoreRequest("Forbidden by robots.txt"), "robots", "robots.txt", "skipped"),
        (PrivateAddressBlocked("intranet", "10.0.0.1"), "private", "intranet（10.0.0.1）", "skipped"),
        (ValueError("odd"), "other", "请求失败", "inconclusive"),
    ]
    for exc, kind, reason, outcome in cases:
        got_kind, got_reason = describe_failure(exc, request)
        assert (got_kind, reason in got_reason, failure_outcome(got_kind)) == (kind, True, outcome), exc
    straight = Request("http://x.cn/6", meta={"redirect_urls": [f"http://x.cn/{i}" for i in range(1, 6)]})
    assert describe_failure(IgnoreRequest("max redirections reached"), straight) == ("too_many_redirects", "重定向次数过多")


def test_content_types():
    assert is_html_content_type(None)
    assert is_html_content_type(b"text/html; charset=gbk")
    assert is_html_content_type("application/xhtml+xml")
    assert not is_html_content_type("application/pdf")
    assert not is_html_content_type(b"application/octet-stream")
    assert not is_html_content_type("image/jpeg")


def test_registry_one_record_per_url():
    registry = LinkRegistry(found_on_cap=2, max_query_variants=2)
    a = registry.add("http://x.cn/a?utm_source=wx", "http://x.cn/", "甲", True, on_home=True)
    assert registry.add("http://X.cn/a", "http://x.cn/p1", "乙", False) is a
    registry.add("http://x.cn/a", "http://x.cn/p1", "乙", False)  # same page and text: once
    registry.add("http://x.cn/a", "http://x.cn/p2", "丙", True)  # over the cap
    assert a.url == "http://x.cn/a?utm_source=wx" and a.on_home
    assert a.found_on == [("http://x.cn/", "甲", True), ("http://x.cn/p1", "乙", False)]
    assert registry.add("mailto:a@x.cn", "http://x.cn/", "信", True).skip_reason.startswith("邮件地址链接")
    assert registry.add("ftp://x.cn/f", "http://x.cn/", "f", True).skip_reason.startswith("不是 http/https")
    assert registry.add("http://x.cn/c?d=1", "p", "", True).skip_reason is None
    assert registry.add("http://x.cn/c?d=2", "p", "", True).skip_reason is None
    assert "查询参数组合过多" in registry.add("http://x.cn/c?d=3", "p", "", True).skip_reason
    assert len(registry) == 6


class _DropsHead(threading.Thread):
    """A raw server that closes the connection on HEAD and answers GET (some gateways do)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.host = next_loopback_host()
        self.sock = socket.socket()
        self.sock.bind((self.host, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.methods: list[str] = []
        self.start()

    def run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                method = data.split(b" ", 1)[0].decode() if data else ""
                self.methods.append(method)
                if method == "GET":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    def close(self) -> None:
        self.sock.close()


def test_odd_servers(event_loop_runner):
    no_head = LoopbackServer({"/x": Reply(body=html("x"), head_status=501)})
    forbidden_head = LoopbackServer({"/x": Reply(body=html("x"), head_status=403)})
    gone = LoopbackServer({"/x": Reply(410, html("gone"), head_status=405)})
    drops = _DropsHead()
    links = [no_head.url("/x"), forbidden_head.url("/x"), gone.url("/x"), f"http://{drops.host}:{drops.port}/x"]
    home = html(NAV + "".join(f'<a href="{u}">链接{i}</a>' for i, u in enumerate(links)))
    with LoopbackServer({"/": Reply(body=home), "/list/": Reply(body=html(NAV))}) as site:
        try:
            sink = Sink()
            config = crawl_config(obey_robots=False)
            outcome = event_loop_runner.run(crawl_site(SiteCrawlSpec("odd", site.url("/")), config, sink))
            assert outcome.complete
            got = [(sink.link(u).outcome, sink.link(u).status, sink.link(u).method) for u in links]
            assert got == [("ok", 200, "GET"), ("ok", 200, "GET"), ("broken", 410, "GET"), ("ok", 200, "GET")]
            assert dict(no_head.hits) == {("HEAD", "/x"): 1, ("GET", "/x"): 1}
            assert dict(gone.hits) == {("HEAD", "/x"): 1, ("GET", "/x"): 1}
            assert drops.methods.count("GET") == 1
        finally:
            for server in (no_head, forbidden_head, gone, drops):
                server.close()


def test_a_redirect_into_a_private_network_is_refused(event_loop_runner):
    intranet = LoopbackServer({"/admin": Reply(body=html("admin"))})
    # a registered neighbour (trusted, so requested) that redirects to an unregistered private address
    neighbour = LoopbackServer({"/go": Reply(302, headers={"Location": intranet.url("/admin")})})
    home = html(f'{NAV}<a href="{neighbour.url("/go")}">跳转</a>')
    with LoopbackServer({"/": Reply(body=home), "/list/": Reply(body=html(NAV))}) as site:
        try:
            sink = Sink()
            spec = SiteCrawlSpec("redir", site.url("/"), registered_hosts=frozenset({neighbour.host}))
            config = crawl_config(allow_private_addresses=False, obey_robots=False)
            outcome = event_loop_runner.run(crawl_site(spec, config, sink))
            assert outcome.complete
            link = sink.link(neighbour.url("/go"))
            assert (link.outcome, link.status) == ("skipped", None)
            assert link.redirects == ((302, neighbour.url("/go")),)
            assert "内网地址" in link.error
            assert neighbour.count("/go", "HEAD") == 1
            assert sum(intranet.hits.values()) == 0
        finally:
            intranet.close()
            neighbour.close()

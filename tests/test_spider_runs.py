"""Scans as the scheduler runs them: sites that are down or slow, many scans in one loop,
stopping, budgets, configured columns, private addresses, odd pages."""

from __future__ import annotations

import asyncio
import time

from loopback import LoopbackServer, Reply, Sink, crawl_config, dead_address, event_loop_runner, html  # noqa: F401
from test_politeness import NAV, small_site

from govmon.crawler.runner import SiteCrawlSpec, crawl_site


def test_a_site_that_is_down_is_reported_as_down(event_loop_runner):
    url = dead_address() + "/"
    sink = Sink()
    outcome = event_loop_runner.run(crawl_site(SiteCrawlSpec("down", url), crawl_config(retries=1), sink))
    assert outcome.complete is False
    assert outcome.reason == "home_unreachable"
    assert outcome.stats.pages == 1 and outcome.stats.errors == 1
    (page,) = sink.pages
    assert (page.url, page.page_type, page.status, page.error_kind) == (url, "home", None, "refused")
    assert page.error.startswith("连接被拒绝")
    assert page.facts is None
    assert sink.columns == [] and sink.links == []


def test_a_slow_site_times_out(event_loop_runner):
    with LoopbackServer({"/": Reply(body=html("slow"), delay=1.5)}) as server:
        sink = Sink()
        config = crawl_config(timeout_s=0.4, retries=0, obey_robots=False)
        outcome = event_loop_runner.run(crawl_site(SiteCrawlSpec("slow", server.url("/")), config, sink))
        assert outcome.reason == "home_unreachable"
        (page,) = sink.pages
        assert page.error_kind == "timeout"
        assert page.error.startswith("请求超时")


def test_home_http_error_is_a_page_with_an_error(event_loop_runner):
    with LoopbackServer({"/": Reply(500, html("<h1>服务器错误</h1>"))}) as server:
        sink = Sink()
        config = crawl_config(retries=1, obey_robots=False)
        outcome = event_loop_runner.run(crawl_site(SiteCrawlSpec("err", server.url("/")), config, sink))
        assert (outcome.complete, outcome.reason) == (False, "home_unreachable")
        (page,) = sink.pages
        assert (page.status, page.error_kind, page.error) == (500, "http", "服务器内部错误（HTTP 500）")
        assert server.count("/", "GET") == 2  # RETRY_TIMES = 1


def test_two_scans_in_a_row_and_two_at_once(event_loop_runner):
    with LoopbackServer(small_site(4)) as one, LoopbackServer(small_site(6)) as two:
        config = crawl_config(articles_per_column=10)
        first, second = Sink(), Sink()
        for _ in range(2):
            first.items.clear()
            outcome = event_loop_runner.run(crawl_site(SiteCrawlSpec("one", one.url("/")), config, first))
            assert outcome.complete and len(first.pages) == 6
        assert one.count("/", "GET") == 2

        first.items.clear()

        async def both():
            return await asyncio.gather(
                crawl_site(SiteCrawlSpec("one", one.url("/")), config, first),
                crawl_site(SiteCrawlSpec("two", two.url("/")), config, second),
            )

        a, b = event_loop_runner.run(both())
        assert (a.target_id, a.complete, b.target_id, b.complete) == ("one", True, "two", True)
        assert len(first.pages) == 6 and len(second.pages) == 8
        assert all(p.url.startswith(one.base) for p in first.pages)
        assert all(p.url.startswith(two.base) for p in second.pages)


def test_stop_event_stops_a_scan_midway(event_loop_runner):
    with LoopbackServer(small_site(40, delay=0.2)) as server:
        config = crawl_config(concurrency_per_domain=1, articles_per_column=40)

        async def scan():
            stop = asyncio.Event()

            def sink(item):
                if type(item).__name__ == "PageObservation" and item.page_type == "article":
                    stop.set()
                seen.append(item)

            seen: list = []
            started = time.monotonic()
            outcome = await crawl_site(SiteCrawlSpec("stop", server.url("/")), config, sink, stop_event=stop)
            return outcome, seen, time.monotonic() - started

        outcome, seen, took = event_loop_runner.run(scan())
        assert (outcome.complete, outcome.reason) == (False, "stopped")
        articles = [i for i in seen if type(i).__name__ == "PageObservation" and i.page_type == "article"]
        assert 1 <= len(articles) <= 3
        assert server.count("/robots.txt") == 1
        assert sum(n for (_, p), n in server.hits.items() if "/t2024" in p) <= 3
        assert took < 3.0


def test_cancelling_the_scan_task_stops_the_crawl(event_loop_runner):
    with LoopbackServer(small_site(40, delay=0.2)) as server:
        config = crawl_config(concurrency_per_domain=1, articles_per_column=40)

        async def scan():
            task = asyncio.ensure_future(crawl_site(SiteCrawlSpec("cancel", server.url("/")), config, Sink()))
            await asyncio.sleep(0.8)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                return "cancelled"
            return "not cancelled"

        assert event_loop_runner.run(scan()) == "cancelled"
        hits = sum(server.hits.values())
        time.sleep(0.6)
        assert sum(server.hits.values()) == hits  # nothing more was requested after the stop


def test_configured_columns_and_page_budget(event_loop_runner):
    routes = small_site(10)
    routes["/other/"] = Reply(body=html(f"{NAV}<p>no list</p>"))
    with LoopbackServer(routes) as server:
        sink = Sink()
        spec = SiteCrawlSpec(
            "cfg",
            server.url("/"),
            columns=(("人事任免", server.url("/list/"), ""), ("网上调查", server.url("/other/"), "interaction")),
        )
        config = crawl_config(articles_per_column=10, max_pages_per_site=6)
        outcome = event_loop_runner.run(crawl_site(spec, config, sink))
        assert (outcome.complete, outcome.capped, outcome.reason) == (True, True, "finished")
        assert outcome.cap_reasons == ("pages",)
        assert [(c.name, c.kind, c.source) for c in sink.columns] == [
            ("人事任免", "personnel", "config"),
            ("网上调查", "interaction", "config"),
        ]
        assert len(sink.pages) == 6
        articles = [p for p in sink.pages if p.page_type == "article"]
        assert len(articles) == 3
        # the articles that fitted are the newest ones
        assert sorted(p.facts and p.listed_title for p in articles) == ["文章7的标题", "文章8的标题", "文章9的标题"]


def test_private_addresses_are_not_requested_unless_allowed(event_loop_runner):
    intranet = LoopbackServer({"/": Reply(body=html("intranet"))})
    neighbour = LoopbackServer({"/": Reply(body=html("registered"))})
    named = LoopbackServer({"/": Reply(body=html("named"))})
    event_loop_runner.resolver.names["intranet.test"] = named.host
    home = html(
        f'{NAV}<a href="{intranet.url("/")}">内网</a><a href="{neighbour.url("/")}">兄弟单位</a>'
        f'<a href="http://intranet.test:{named.port}/">内网域名</a>'
    )
    with LoopbackServer({"/": Reply(body=home), "/list/": Reply(body=html(NAV))}) as site:
        try:
            sink = Sink()
            spec = SiteCrawlSpec("priv", site.url("/"), registered_hosts=frozenset({neighbour.host}))
            config = crawl_config(allow_private_addresses=False)
            outcome = event_loop_runner.run(crawl_site(spec, config, sink))
            assert outcome.complete
            assert sink.page(site.url("/")).status == 200  # the registered site itself: loopback, requested
            blocked = sink.link(intranet.url("/"))
            assert (blocked.outcome, blocked.status, blocked.method) == ("skipped", None, None)
            assert "内网地址" in blocked.error
            assert sum(intranet.hits.values()) == 0
            by_name = sink.link(f"http://intranet.test:{named.port}/")
            assert by_name.outcome == "skipped" and sum(named.hits.values()) == 0
            assert sink.link(neighbour.url("/")).outcome == "ok"
            assert neighbour.count("/", "HEAD") == 1
        finally:
            for server in (intranet, neighbour, named):
                server.close()


def test_odd_pages_do_not_crash_the_scan(event_loop_runner):
    big = html("<p>" + "很长的内容。" * 1_000_000 + "</p>")  # 18 MB
    routes = small_site(0)
    routes["/list/"] = Reply(
        body=html(
            f"{NAV}<ul>"
            '<li><a href="/list/report.pdf">年度报告</a><span>2024-01-05</span></li>'
            '<li><a href="/list/t20240104_1.html">很长的文章</a><span>2024-01-04</span></li>'
            '<li><a href="/list/t20240103_2.html">空白文章</a><span>2024-01-03</span></li>'
            '<li><a href="/list/t20240102_3.html">乱码文章</a><span>2024-01-02</span></li>'
            "</ul>"
        )
    )
    routes["/list/report.pdf"] = Reply(stream_size=20 * 1024 * 1024, content_type="application/pdf")
    routes["/list/t20240104_1.html"] = Reply(body=big)
    routes["/list/t20240103_2.html"] = Reply(body=b"")
    routes["/list/t20240102_3.html"] = Reply(body=bytes(range(256)) * 40, content_type="text/html; charset=utf-8")
    with LoopbackServer(routes) as server:
        sink = Sink()
        config = crawl_config(articles_per_column=10, max_page_bytes=1_000_000)
        outcome = event_loop_runner.run(crawl_site(SiteCrawlSpec("odd", server.url("/")), config, sink))
        assert outcome.complete and outcome.reason == "finished"
        pdf = sink.page(server.url("/list/report.pdf"))
        assert (pdf.status, pdf.error_kind, pdf.facts) == (200, "not_html", None)
        assert "application/pdf" in pdf.error
        assert server.bytes_sent["/list/report.pdf"] < 10 * 1024 * 1024
        long_page = sink.page(server.url("/list/t20240104_1.html"))
        assert long_page.error is None and long_page.facts.truncated is True
        assert server.bytes_sent["/list/t20240104_1.html"] < len(big)
        empty = sink.page(server.url("/list/t20240103_2.html"))
        assert (empty.status, empty.error_kind) == (200, "empty")
        garbage = sink.page(server.url("/list/t20240102_3.html"))
        assert garbage.status == 200 and garbage.facts is not None
        assert sink.link(server.url("/list/report.pdf")).outcome == "ok"  # a working attachment


def test_sinks_may_fail_or_be_async(event_loop_runner):
    with LoopbackServer(small_site(2)) as server:
        got: list = []

        def failing(item):
            raise RuntimeError("storage is down")

        async def slow(item):
            await asyncio.sleep(0.001)
            got.append(item)

        config = crawl_config(articles_per_column=2)
        bad = event_loop_runner.run(crawl_site(SiteCrawlSpec("bad", server.url("/")), config, failing))
        assert bad.complete and bad.stats.pages == 4  # the scan goes on; the failures are logged
        good = event_loop_runner.run(crawl_site(SiteCrawlSpec("good", server.url("/")), config, slow))
        assert good.complete
        assert [type(i).__name__ for i in got].count("PageObservation") == 4


def test_the_reactor_belongs_to_one_loop(event_loop_runner):
    from govmon.crawler.runner import ensure_reactor

    async def elsewhere():
        ensure_reactor()

    try:
        asyncio.run(elsewhere())
    except RuntimeError as err:
        assert "another asyncio event loop" in str(err)
    else:  # pragma: no cover
        raise AssertionError("ensure_reactor accepted a second loop")


def test_thread_pool_dns_and_shutdown(event_loop_runner):
    """startRunning() is what starts Twisted's thread pool, which threaded DNS needs;
    shutdown_reactor() stops it, and a later lookup gets a fresh pool."""
    from scrapy.resolver import CachingThreadedResolver
    from scrapy.utils.defer import maybe_deferred_to_future
    from twisted.internet import reactor

    from govmon.crawler.runner import shutdown_reactor

    async def lookups():
        resolver = CachingThreadedResolver(reactor, 0, 5.0)  # 'localhost' comes from /etc/hosts
        first = await maybe_deferred_to_future(resolver.getHostByName("localhost"))
        pool = reactor.threadpool
        started = pool is not None and pool.started
        shutdown_reactor()
        stopped = reactor.threadpool is None and not pool.started
        second = await maybe_deferred_to_future(resolver.getHostByName("localhost"))
        return first, started, stopped, second, reactor.threadpool is not None

    assert event_loop_runner.run(lookups()) == ("127.0.0.1", True, True, "127.0.0.1", True)


def test_home_down_but_a_configured_column_elsewhere_is_read(event_loop_runner):
    home = dead_address() + "/"
    with LoopbackServer(small_site(2)) as channel:
        sink = Sink()
        spec = SiteCrawlSpec(
            "split",
            home,
            columns=(("工作动态", channel.url("/list/"), "news"), ("通知公告", home + "tzgg/", "notice")),
        )
        outcome = event_loop_runner.run(crawl_site(spec, crawl_config(articles_per_column=2, retries=0), sink))
        # the configured column on its own host is read; the scan is still incomplete
        assert (outcome.complete, outcome.reason) == (False, "home_unreachable")
        assert sink.page(home).error_kind == "refused"
        assert [c.name for c in sink.columns] == ["工作动态", "通知公告"]
        assert sorted(p.page_type for p in sink.pages) == ["article", "article", "home", "list"]
        assert all(not p.url.startswith(home + "tzgg") for p in sink.pages)  # same dead host: not tried


def test_depth_is_the_place_in_the_site_not_the_paging(event_loop_runner):
    def page(n, next_index):
        items = "".join(
            f'<li><a href="/list/t2024010{i}_{i}.html">文章{i}的标题</a><span>2024-01-0{i}</span></li>' for i in (2 * n + 1, 2 * n + 2)
        )
        return Reply(body=html(f'{NAV}<ul>{items}</ul><a href="/list/index_{next_index}.html">下一页</a>'))

    routes = small_site(0)  # a chain of list pages: /list/ → index_1 → index_2 → (index_3, beyond the limit)
    routes.update({"/list/": page(3, 1), "/list/index_1.html": page(2, 2), "/list/index_2.html": page(1, 3)})
    with LoopbackServer(routes) as server:
        for max_depth, articles, capped in ((2, 2, False), (1, 0, True)):
            sink = Sink()
            config = crawl_config(max_depth=max_depth, list_pages_per_column=3, articles_per_column=2)
            outcome = event_loop_runner.run(crawl_site(SiteCrawlSpec("depth", server.url("/")), config, sink))
            assert (outcome.complete, outcome.capped) == (True, capped)
            assert [p.depth for p in sink.pages if p.page_type == "list"] == [1, 1, 1]
            got = sorted(p.url.rsplit("/", 1)[1] for p in sink.pages if p.page_type == "article")
            assert len(got) == articles
            if articles:
                assert got == ["t20240107_7.html", "t20240108_8.html"]  # the newest, listed on page 1


def test_a_stop_asked_for_at_once_is_honoured(event_loop_runner):
    with LoopbackServer(small_site(10, delay=0.1)) as server:
        config = crawl_config(articles_per_column=10, concurrency_per_domain=1)

        async def scan(set_before: bool):
            stop = asyncio.Event()
            if set_before:
                stop.set()
            else:
                asyncio.get_running_loop().call_soon(stop.set)  # before the engine has started
            return await crawl_site(SiteCrawlSpec("now", server.url("/")), config, Sink(), stop_event=stop)

        before = event_loop_runner.run(scan(True))
        assert (before.complete, before.reason, before.stats.pages) == (False, "stopped", 0)
        assert sum(server.hits.values()) == 0
        started = time.monotonic()
        soon = event_loop_runner.run(scan(False))
        assert (soon.complete, soon.reason) == (False, "stopped")
        assert time.monotonic() - started < 1.5
        assert sum(server.hits.values()) <= 2  # robots.txt and perhaps the home page

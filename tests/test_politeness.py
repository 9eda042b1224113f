"""Politeness measured at the server: per-domain concurrency, robots Crawl-delay, Retry-After.

The concurrency tests guard the Scrapy ≥ 2.14 trap (DESIGN.md): on asyncio with a zero
DOWNLOAD_DELAY, CONCURRENT_REQUESTS_PER_DOMAIN is not enforced. The server counts requests in
flight (each one sleeps a little), and the scan of a 60-page site must never exceed the limit —
and must reach it, or the test would prove nothing.
"""

from __future__ import annotations

import email.utils
import time
from types import SimpleNamespace

import pytest

from loopback import CRAWL_DEFAULTS, LoopbackServer, Reply, Sink, crawl_config, event_loop_runner, html  # noqa: F401

from govmon.crawler.politeness import parse_retry_after
from govmon.crawler.runner import SiteCrawlSpec, build_settings, crawl_site

NAV = '<div class="nav"><a href="/">首页</a><a href="/list/">工作动态</a></div>'


def small_site(articles: int, *, delay: float = 0.0, robots: str = "User-agent: *\nAllow: /\n") -> dict:
    """Home → one column (工作动态) listing ``articles`` dated articles; every page sleeps ``delay``."""
    items = "".join(
        f'<li><a href="/list/t2024{1 + n // 28:02d}{1 + n % 28:02d}_{n}.html">文章{n}的标题</a>'
        f"<span>2024-{1 + n // 28:02d}-{1 + n % 28:02d}</span></li>"
        for n in range(articles)
    )
    return {
        "/robots.txt": Reply(body=robots, content_type="text/plain"),
        "/": Reply(body=html(NAV + "<p>首页</p>", title="首页"), delay=delay),
        "/list/": Reply(body=html(f'{NAV}<ul>{items}</ul>', title="工作动态"), delay=delay),
        "*": lambda hit: Reply(body=html(f"{NAV}<h1>文章</h1><p>发布日期：2024-01-01</p>"), delay=delay)
        if "/t2024" in hit.path
        else Reply(404, "<h1>404</h1>"),
    }


@pytest.mark.parametrize("limit", [2, 4])
def test_per_domain_concurrency_holds(event_loop_runner, limit):
    with LoopbackServer(small_site(58, delay=0.08)) as server:
        sink = Sink()
        config = crawl_config(concurrency_per_domain=limit, download_delay_s=0.01, articles_per_column=58)
        outcome = event_loop_runner.run(crawl_site(SiteCrawlSpec("c", server.url("/")), config, sink))
        assert outcome.complete and outcome.reason == "finished"
        assert len(sink.pages) == 60
        assert sum(n for (m, p), n in server.hits.items() if p != "/robots.txt") == 60
        assert server.max_inflight == limit  # never more, and the limit was reached


def test_zero_download_delay_is_refused():
    # With DOWNLOAD_DELAY = 0 Scrapy ≥ 2.14 lets 11–14 requests hit one host at a limit of 2.
    # (the config refuses it first; build_settings holds the line for any other settings object)
    with pytest.raises(AssertionError):
        build_settings(SimpleNamespace(**{**CRAWL_DEFAULTS, "download_delay_s": 0}), SiteCrawlSpec("x", "http://127.0.0.1/"))


def test_robots_crawl_delay_is_honoured_and_capped(event_loop_runner):
    # Crawl-delay: 100 asked; GOVMON_CRAWL_DELAY_MAX caps it (30 s in production, 0.4 s here).
    robots = "User-agent: *\nCrawl-delay: 100\nAllow: /\n"
    with LoopbackServer(small_site(3, robots=robots)) as server:
        sink = Sink()
        config = crawl_config(concurrency_per_domain=4, download_delay_s=0.01, articles_per_column=3)
        outcome = event_loop_runner.run(
            crawl_site(SiteCrawlSpec("d", server.url("/")), config, sink, settings_overrides={"GOVMON_CRAWL_DELAY_MAX": 0.4})
        )
        assert outcome.complete
        times = server.times()
        assert len(times) == 1 + 1 + 1 + 3  # robots.txt, home, list, 3 articles
        gaps = [b - a for a, b in zip(times, times[1:])]
        # Scrapy starts each download 0.4 s after the last; on a loaded machine one request can
        # arrive a little late and shorten the next gap, so the mean holds the line and no gap
        # comes near Scrapy's own 0.01 s.
        assert sum(gaps) / len(gaps) >= 0.38 and min(gaps) >= 0.3, gaps
        assert max(gaps) < 1.0, gaps


def test_robots_crawl_delay_of_our_agent(event_loop_runner):
    robots = "User-agent: otherbot\nCrawl-delay: 5\n\nUser-agent: govmon\nCrawl-delay: 0.3\n"
    with LoopbackServer(small_site(2, robots=robots)) as server:
        config = crawl_config(download_delay_s=0.01, articles_per_column=2)
        outcome = event_loop_runner.run(crawl_site(SiteCrawlSpec("e", server.url("/")), config, Sink()))
        assert outcome.complete
        times = server.times()
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert len(times) == 5
        assert sum(gaps) / len(gaps) >= 0.28 and min(gaps) >= 0.2, gaps  # arrival jitter: see above
        assert max(gaps) < 1.0, gaps


def test_retry_after_on_a_page_then_success(event_loop_runner):
    routes = small_site(1)
    routes["/list/"] = (
        lambda hit, ok=routes["/list/"]: Reply(503, headers={"Retry-After": "1"}) if hit.number == 1 else ok
    )
    with LoopbackServer(routes) as server:
        sink = Sink()
        config = crawl_config(download_delay_s=0.01, articles_per_column=1, retry_after_max_s=5.0)
        outcome = event_loop_runner.run(crawl_site(SiteCrawlSpec("f", server.url("/")), config, sink))
        assert outcome.complete
        hits = server.times("/list/")
        assert len(hits) == 2 and hits[1] - hits[0] >= 0.95
        page = sink.page(server.url("/list/"))
        assert page.status == 200 and page.error is None
        assert len([p for p in sink.pages if p.page_type == "article"]) == 1


def test_parse_retry_after():
    now = time.time()
    assert parse_retry_after("1") == 1.0
    assert parse_retry_after(b" 120 ") == 120.0
    assert parse_retry_after("-5") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    in_ten = email.utils.formatdate(now + 10, usegmt=True)
    assert 8.5 <= parse_retry_after(in_ten, now=now) <= 10.0
    assert parse_retry_after(email.utils.formatdate(now - 100, usegmt=True), now=now) == 0.0


@pytest.mark.parametrize("window", [3, 256])
def test_link_phase_keeps_a_bounded_window_of_link_checks(event_loop_runner, window):
    # 40 links on the home page, each answered slowly: with a window of 3 the server never
    # sees more than 3 link checks at once (and does see 3); with the default window the
    # per-domain limit (8) is what bounds them. Every link is checked either way.
    links = "".join(f'<a href="/doc/{n}.pdf">附件{n}</a>' for n in range(40))
    routes = {
        "/robots.txt": Reply(body="User-agent: *\nAllow: /\n", content_type="text/plain"),
        "/": Reply(body=html(f"<p>首页</p>{links}", title="首页")),
        "*": lambda hit: Reply(body=b"%PDF-1.4", content_type="application/pdf", delay=0.08),
    }
    with LoopbackServer(routes) as server:
        sink = Sink()
        config = crawl_config(concurrency_per_domain=8, download_delay_s=0.001)
        outcome = event_loop_runner.run(crawl_site(SiteCrawlSpec("w", server.url("/")), config, sink,
                                                   settings_overrides={"GOVMON_LINK_WINDOW": window}))
        assert outcome.complete
        checked = {link.url for link in sink.links if link.outcome == "ok"}
        assert checked == {server.url(f"/doc/{n}.pdf") for n in range(40)}
        assert server.max_inflight == min(window, 8)


class SchedulerDepth:
    """A Scrapy extension for the test below: the most requests Scrapy's scheduler held at once."""

    most = 0

    def __init__(self, crawler) -> None:
        self.crawler = crawler
        SchedulerDepth.most = 0

    @classmethod
    def from_crawler(cls, crawler):
        from scrapy import signals

        extension = cls(crawler)
        crawler.signals.connect(extension.scheduled, signal=signals.request_scheduled)
        return extension

    def scheduled(self, request, spider) -> None:
        scheduler = self.crawler.engine.scheduler
        SchedulerDepth.most = max(SchedulerDepth.most, len(scheduler) if scheduler is not None else 0)


def test_articles_wait_in_the_spider_not_in_scrapys_queue(event_loop_runner):  # noqa: F811
    # One column listing 150 articles, all to be read: Scrapy pulls them from start() only while
    # its downloader has room, so its scheduler never holds more than a handful at once (150
    # Request objects before the frontier). Every article is still read.
    items = "".join(f'<li><a href="/a/{n}.html">文章{n}</a><span>2026-11-{1 + n % 27:02d}</span></li>' for n in range(150))
    routes = {
        "/robots.txt": Reply(body="User-agent: *\nAllow: /\n", content_type="text/plain"),
        "/": Reply(body=html('<div class="nav"><a href="/list/">工作动态</a></div>', title="首页")),
        "/list/": Reply(body=html(f"<ul>{items}</ul>", title="工作动态")),
        "*": lambda hit: Reply(body=html("<h1>文章</h1><p>发布日期：2026-11-01</p>", title="文章"), delay=0.01),
    }
    with LoopbackServer(routes) as server:
        sink = Sink()
        config = crawl_config(concurrency_per_domain=4, download_delay_s=0.001, articles_per_column=150,
                              max_pages_per_site=500)
        spec = SiteCrawlSpec("f", server.url("/"), columns=(("工作动态", server.url("/list/"), "news"),))
        outcome = event_loop_runner.run(crawl_site(spec, config, sink, settings_overrides={
            "EXTENSIONS": {"test_politeness.SchedulerDepth": 0}}))
        assert outcome.complete
        articles = {p.url for p in sink.pages if p.page_type == "article"}
        assert articles == {server.url(f"/a/{n}.html") for n in range(150)}
        assert 1 <= SchedulerDepth.most <= 20

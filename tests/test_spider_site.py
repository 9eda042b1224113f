"""One full scan of a loopback site with everything a real government site throws at a crawler.

The site (host A) has a home page with navigation, three columns paged three different ways
(下一页 links, ``?page=N``, TRS ``createPageHTML``), dated articles (one GBK, one whose
declared charset lies), broken links, a redirect loop, a calendar trap, robots-disallowed links,
a 50 MB attachment (HEAD allowed) and another one whose server refuses HEAD and would stream
50 MB on GET. Its links point off-site to: an ordinary page (host B), a server that answers
HEAD with 405 (host C), a rate-limited server (host D: 429 once, always, and with a
Retry-After longer than the scan waits), a name that does not resolve and an address where
nothing listens. Every server counts its hits, so "requested exactly once" is measured, not
assumed. The scan runs once per module; each test checks one aspect of it.
"""

from __future__ import annotations

import pytest

from loopback import (  # noqa: F401 (event_loop_runner is a fixture)
    LoopbackServer,
    Reply,
    Sink,
    crawl_config,
    dead_address,
    event_loop_runner,
    html,
)

from govmon.crawler.runner import SiteCrawlSpec, crawl_site

FIFTY_MB = 50 * 1024 * 1024
QUERY_VARIANTS = 20
CALENDAR_DAYS = 60

NAV = (
    '<div class="nav"><a href="/">首页</a><a href="/ywdt/">要闻动态</a><a href="/tzgg/">通知公告</a>'
    '<a href="/zcwj/">政策文件</a><a href="/en/">English</a><a href="/wza/">无障碍</a><a href="/login">登录</a></div>'
)
FOOTER = '<div class="footer"><p>主办单位：测试市人民政府办公室</p><p>网站标识码 4400000001 粤ICP备0000001号</p></div>'


def _article_page(n: int, *, charset: str = "utf-8") -> bytes:
    body = (
        f"{NAV}<h1>测试文章{n}</h1><p>发布日期：2024-03-{n:02d}</p><p>正文内容第{n}篇。</p>"
        '<a href="/missing.html">一个坏链接</a>'
    )
    return html(body, title=f"测试文章{n}", charset=charset)


def _list_page(column: str, numbers: range, pager: str) -> Reply:
    items = "".join(
        f'<li><a href="/{column}/t202403{n:02d}_{n}.html" title="测试文章{n}">测试文章{n}</a><span>2024-03-{n:02d}</span></li>'
        for n in numbers
    )
    return Reply(body=html(f'{NAV}<ul class="list">{items}</ul>{pager}', title=column))


class World:
    def __init__(self) -> None:
        self.b = LoopbackServer({"/page.html": Reply(body=html("<p>B 站页面</p>"))})
        self.c = LoopbackServer({"/doc.html": Reply(body=html("<p>只接受 GET</p>"), head_status=405)})
        self.d = LoopbackServer(
            {
                "/once": lambda hit: Reply(429, headers={"Retry-After": "1"}) if hit.number == 1 else Reply(body=html("ok")),
                "/always": Reply(429, headers={"Retry-After": "1"}),
                "/long": Reply(429, headers={"Retry-After": "3600"}),
            }
        )
        self.dead = dead_address()
        self.a = LoopbackServer(self._site_routes())

    def _site_routes(self) -> dict:
        calendar = "".join(f'<a href="/calendar?date=2024-01-{d:02d}">{d}</a>' for d in range(1, CALENDAR_DAYS + 1))
        b, c, d = self.b, self.c, self.d
        home = (
            f"{NAV}<h2>今日要闻</h2>"
            f'<div class="calendar">{calendar}</div>'
            '<a href="/missing.html">坏链接</a>'
            '<a href="/files/big.pdf">附件一</a><a href="/files/big-nohead.pdf">附件二</a>'
            '<a href="/loop-a">来回跳转</a><a href="/moved">搬家了</a>'
            '<a href="/private/secret.html">内部</a>'
            '<a href="mailto:office@example.gov.cn">联系我们</a><a href="tel:12345">电话</a>'
            '<a href="javascript:void(0)">打印</a>'
            f'<a href="{b.url("/page.html")}">B 站</a><a href="{c.url("/doc.html")}">C 站</a>'
            f'<a href="{d.url("/once")}">限流一次</a><a href="{d.url("/always")}">一直限流</a>'
            f'<a href="{d.url("/long")}">限流很久</a>'
            '<a href="http://nonexistent.invalid/">不存在的域名</a>'
            f'<a href="{self.dead}/">关停的网站</a>'
            '<a href="/hidden.html" style="display:none">隐藏链接</a>'
            f"{FOOTER}"
        )

        def article(hit):
            path = hit.path.split("?")[0]
            n = int(path.rsplit("_", 1)[1].split(".")[0])
            if n == 30:  # GBK, declared in the header and the page
                return Reply(body=_article_page(n, charset="gbk"), content_type="text/html; charset=gbk")
            if n == 29:  # declares UTF-8, is GBK
                body = _article_page(n, charset="gbk").replace(b'charset="gbk"', b'charset="utf-8"')
                return Reply(body=body, content_type="text/html; charset=utf-8")
            return Reply(body=_article_page(n))

        routes = {
            "/robots.txt": Reply(body="User-agent: *\nDisallow: /private/\n", content_type="text/plain"),
            "/": Reply(body=html(home, title="测试市人民政府")),
            # 下一页 links
            "/ywdt/": _list_page("ywdt", range(30, 22, -1), '<a href="/ywdt/index_1.html">下一页</a>'),
            "/ywdt/index_1.html": _list_page("ywdt", range(22, 14, -1), '<a href="/ywdt/index_2.html">下一页</a>'),
            "/ywdt/index_2.html": _list_page("ywdt", range(14, 6, -1), '<a href="/ywdt/index_3.html">下一页</a>'),
            "/ywdt/index_3.html": _list_page("ywdt", range(6, 1, -1), ""),
            # ?page=N
            "/tzgg/": _list_page("tzgg", range(20, 15, -1), '<a href="/tzgg/?page=2">2</a>'),
            "/tzgg/?page=2": _list_page("tzgg", range(15, 10, -1), '<a href="/tzgg/">1</a>'),
            # TRS createPageHTML (no pager links in the HTML)
            "/zcwj/": _list_page("zcwj", range(12, 9, -1), '<script>createPageHTML(3, 0, "index", "html");</script>'),
            "/zcwj/index_1.html": _list_page("zcwj", range(9, 6, -1), '<script>createPageHTML(3, 1, "index", "html");</script>'),
            "/zcwj/index_2.html": _list_page("zcwj", range(6, 3, -1), '<script>createPageHTML(3, 2, "index", "html");</script>'),
            "/files/big.pdf": Reply(stream_size=FIFTY_MB, content_type="application/pdf"),
            "/files/big-nohead.pdf": Reply(stream_size=FIFTY_MB, content_type="application/pdf", head_status=405),
            "/loop-a": Reply(302, headers={"Location": "/loop-b"}),
            "/loop-b": Reply(302, headers={"Location": "/loop-a"}),
            "/moved": Reply(301, headers={"Location": "/ywdt/"}),
            "/calendar": Reply(body=html("<p>日历</p>")),
            "/en/": Reply(body=html("english")),
            "/wza/": Reply(body=html("wza")),
            "/login": Reply(body=html("login")),
            "/hidden.html": Reply(body=html("hidden")),
            "*": lambda hit: article(hit) if "/t2024" in hit.path else Reply(404, "<h1>404 页面不存在</h1>"),
        }
        return routes

    def close(self) -> None:
        for server in (self.a, self.b, self.c, self.d):
            server.close()


@pytest.fixture(scope="module")
def scan(event_loop_runner):
    world = World()
    sink = Sink()
    spec = SiteCrawlSpec("test-site", world.a.url("/"))
    config = crawl_config(articles_per_column=5, list_pages_per_column=3, retries=2, retry_after_max_s=5.0)
    outcome = event_loop_runner.run(
        crawl_site(spec, config, sink, settings_overrides={"GOVMON_MAX_QUERY_VARIANTS": QUERY_VARIANTS}), timeout=60
    )
    yield world, sink, outcome
    world.close()


def test_outcome_is_complete_and_counted(scan):
    world, sink, outcome = scan
    assert outcome.complete is True
    assert outcome.capped is False
    assert outcome.reason == "finished"
    assert outcome.stats.pages == len(sink.pages) == 1 + 8 + 15
    assert outcome.stats.errors == 0
    assert outcome.stats.columns == 3
    assert outcome.stats.links_broken == 4  # /missing.html, /loop-a, nonexistent.invalid, the dead host
    assert outcome.stats.links_checked == len([l for l in sink.links if l.outcome != "skipped"])
    assert outcome.stats.bytes > 0 and outcome.stats.requests > 0
    assert outcome.stats.duration_s > 0


def test_columns_are_discovered_from_the_navigation(scan):
    world, sink, _ = scan
    got = [(c.name, c.url, c.kind, c.source) for c in sink.columns]
    assert got == [
        ("要闻动态", world.a.url("/ywdt/"), "news", "discovered"),
        ("通知公告", world.a.url("/tzgg/"), "notice", "discovered"),
        ("政策文件", world.a.url("/zcwj/"), "policy", "discovered"),
    ]
    for path in ("/en/", "/wza/", "/login"):
        assert world.a.count(path, "GET") == 0


def test_lists_are_paged_three_ways_up_to_the_limit(scan):
    world, sink, _ = scan
    lists = sorted((p.column_url, p.list_index, p.url) for p in sink.pages if p.page_type == "list")
    a = world.a.url
    assert lists == sorted(
        [
            (a("/ywdt/"), 1, a("/ywdt/")),
            (a("/ywdt/"), 2, a("/ywdt/index_1.html")),
            (a("/ywdt/"), 3, a("/ywdt/index_2.html")),
            (a("/tzgg/"), 1, a("/tzgg/")),
            (a("/tzgg/"), 2, a("/tzgg/?page=2")),
            (a("/zcwj/"), 1, a("/zcwj/")),
            (a("/zcwj/"), 2, a("/zcwj/index_1.html")),
            (a("/zcwj/"), 3, a("/zcwj/index_2.html")),
        ]
    )
    assert world.a.count("/ywdt/index_3.html", "GET") == 0  # list_pages_per_column = 3: only link-checked
    assert world.a.count("/ywdt/index_3.html", "HEAD") == 1
    list_page = sink.page(a("/ywdt/"))
    assert [it.title for it in list_page.facts.items][:2] == ["测试文章30", "测试文章29"]


def test_newest_articles_of_each_column_are_read(scan):
    world, sink, _ = scan
    articles = {}
    for p in sink.pages:
        if p.page_type == "article":
            articles.setdefault(p.column_url, []).append(int(p.url.rsplit("_", 1)[1].split(".")[0]))
    a = world.a.url
    assert {k: sorted(v, reverse=True) for k, v in articles.items()} == {
        a("/ywdt/"): [30, 29, 28, 27, 26],
        a("/tzgg/"): [20, 19, 18, 17, 16],
        a("/zcwj/"): [12, 11, 10, 9, 8],
    }
    page = sink.page(a("/ywdt/t20240328_28.html"))
    assert page.listed_title == "测试文章28"
    assert page.facts.title == "测试文章28"
    assert page.facts.publish_date.iso() == "2024-03-28"
    assert page.status == 200 and page.error is None
    assert page.fetched_at.tzinfo is not None
    assert page.headers["content-type"].startswith("text/html")


def test_gbk_and_lying_charset_pages_are_read(scan):
    world, sink, _ = scan
    gbk = sink.page(world.a.url("/ywdt/t20240330_30.html"))
    assert gbk.error is None
    assert gbk.facts.title == "测试文章30"
    assert gbk.facts.publish_date.iso() == "2024-03-30"
    liar = sink.page(world.a.url("/ywdt/t20240329_29.html"))
    assert liar.status == 200
    assert liar.facts is not None and liar.facts.is_html
    assert liar.facts.publish_date.iso() == "2024-03-29"


def test_home_footer_is_recorded(scan):
    world, sink, _ = scan
    home = sink.page(world.a.url("/"))
    assert home.page_type == "home"
    assert home.footer_text == "主办单位：测试市人民政府办公室 网站标识码 4400000001 粤ICP备0000001号"
    assert all(p.footer_text is None for p in sink.pages if p.page_type != "home")


def test_every_url_is_requested_once(scan):
    world, sink, _ = scan
    repeated = {key: n for key, n in world.a.hits.items() if n != 1}
    assert repeated == {}
    # a page that is also linked (the column lists, the articles) is not checked again
    assert world.a.count("/ywdt/", "HEAD") == 0
    assert world.a.count("/ywdt/t20240330_30.html", "HEAD") == 0
    assert world.a.count("/robots.txt") == 1
    # off-site hosts: no robots.txt, one request per link (retries aside)
    for server in (world.b, world.c):
        assert server.count("/robots.txt") == 0
    assert dict(world.b.hits) == {("HEAD", "/page.html"): 1}
    assert dict(world.c.hits) == {("HEAD", "/doc.html"): 1, ("GET", "/doc.html"): 1}


def test_link_outcomes(scan):
    world, sink, _ = scan
    a = world.a.url
    got = {l.url: (l.outcome, l.status, l.method) for l in sink.links}
    expected = {
        a("/missing.html"): ("broken", 404, "HEAD"),
        a("/files/big.pdf"): ("ok", 200, "HEAD"),
        a("/files/big-nohead.pdf"): ("ok", 200, "GET"),
        a("/moved"): ("ok", 200, "HEAD"),
        a("/ywdt/"): ("ok", 200, "GET"),
        world.b.url("/page.html"): ("ok", 200, "HEAD"),
        world.c.url("/doc.html"): ("ok", 200, "GET"),
        world.d.url("/once"): ("ok", 200, "HEAD"),
        world.d.url("/always"): ("inconclusive", 429, "HEAD"),
        world.d.url("/long"): ("inconclusive", 429, "HEAD"),
        "http://nonexistent.invalid/": ("broken", None, "HEAD"),
        world.dead + "/": ("broken", None, "HEAD"),
        a("/loop-a"): ("broken", None, "HEAD"),
        a("/private/secret.html"): ("skipped", None, None),
        "mailto:office@example.gov.cn": ("skipped", None, None),
        "tel:12345": ("skipped", None, None),
        "javascript:void(0)": ("skipped", None, None),
    }
    assert {url: got.get(url) for url in expected} == expected
    reasons = {l.url: l.error for l in sink.links}
    assert reasons[a("/missing.html")] == "页面不存在（HTTP 404）"
    assert reasons["http://nonexistent.invalid/"].startswith("域名解析失败")
    assert reasons[world.dead + "/"].startswith("连接被拒绝")
    assert reasons[a("/loop-a")].startswith("重定向循环")
    assert reasons[a("/private/secret.html")].startswith("robots.txt")
    assert reasons["mailto:office@example.gov.cn"].startswith("邮件地址链接")
    assert sink.link(a("/moved")).redirects == ((301, a("/moved")),)
    assert sink.link(a("/loop-a")).redirects == ((302, a("/loop-a")), (302, a("/loop-b")))
    assert world.a.count("/private/secret.html") == 0


def test_big_attachments_are_never_downloaded(scan):
    world, _, _ = scan
    assert world.a.count("/files/big.pdf", "GET") == 0
    assert world.a.count("/files/big-nohead.pdf", "HEAD") == 1
    assert world.a.count("/files/big-nohead.pdf", "GET") == 1
    sent = world.a.bytes_sent["/files/big-nohead.pdf"]
    # what the kernel's socket buffers took before the connection was dropped (4 MiB here)
    assert sent < 10 * 1024 * 1024, sent


def test_retry_after_is_waited_and_bounded(scan):
    world, _, _ = scan
    once = world.d.times("/once")
    assert len(once) == 2
    assert once[1] - once[0] >= 0.95  # Retry-After: 1
    assert world.d.count("/always") == 3  # the first request and RETRY_TIMES = 2 retries
    assert world.d.count("/long") == 1  # Retry-After: 3600 > retry_after_max_s: not waited for


def test_calendar_trap_is_cut_off(scan):
    world, sink, _ = scan
    calendar_hits = sum(n for (m, p), n in world.a.hits.items() if p.startswith("/calendar"))
    assert calendar_hits == QUERY_VARIANTS
    calendar = [l for l in sink.links if "/calendar?" in l.url]
    assert len(calendar) == CALENDAR_DAYS
    skipped = [l for l in calendar if l.outcome == "skipped"]
    assert len(skipped) == CALENDAR_DAYS - QUERY_VARIANTS
    assert all("查询参数组合过多" in l.error for l in skipped)


def test_links_remember_where_they_were_found(scan):
    world, sink, _ = scan
    a = world.a.url
    missing = sink.link(a("/missing.html"))
    assert missing.on_home is True
    assert missing.found_on[0] == (a("/"), "坏链接", True)
    assert len(missing.found_on) == 16  # the home page and the 15 articles
    assert {text for _, text, _ in missing.found_on} == {"坏链接", "一个坏链接"}
    hidden = sink.link(a("/hidden.html"))
    assert hidden.found_on == ((a("/"), "隐藏链接", False),)
    only_on_articles = [l for l in sink.links if not l.on_home]
    assert all(l.found_on and l.found_on[0][0] != a("/") for l in only_on_articles)

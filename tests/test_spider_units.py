"""The spider's pure parts: column kinds and discovery, pagination, newest items, URLs, footers."""

from __future__ import annotations

import datetime
from types import SimpleNamespace as NS

import pytest

from govmon import __version__
from govmon.crawler.columns import classify_column, discover_columns, find_next_page, newest_items
from govmon.crawler.dates import PageDate
from govmon.crawler.extract import extract_page
from govmon.crawler.runner import SiteCrawlSpec, build_settings, user_agent
from govmon.crawler.spider import ObservationSink, footer_text
from govmon.crawler.urls import (
    QueryVariantLimiter,
    canonical_url,
    is_private_address,
    is_private_ip,
    request_url,
    site_hosts,
)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("要闻", "news"),
        ("工作动态", "news"),
        ("部门动态", "news"),
        ("乡镇动态", "news"),
        ("新闻中心", "news"),
        ("通知公告", "notice"),
        ("公示公告", "notice"),
        ("政策文件", "policy"),
        ("法规规章", "policy"),
        ("规范性文件", "policy"),
        ("政策解读", "policy"),
        ("人事任免", "personnel"),
        ("人事信息", "personnel"),
        ("招聘考录", "personnel"),
        ("规划计划", "planning"),
        ("工作总结", "planning"),
        ("政民互动", "interaction"),
        ("领导信箱", "interaction"),
        ("在线咨询", "interaction"),
        ("投诉举报", "interaction"),
        ("政策咨询", "interaction"),
        ("留言板", "interaction"),
        ("走进廉江", "other"),
        ("政务服务", "other"),
        ("", "other"),
    ],
)
def test_classify_column(name, kind):
    assert classify_column(name) == kind


def _link(url, text, visible=True):
    return NS(url=url, text=text, visible=visible, hidden_reason=None if visible else "display:none")


def test_discover_columns_picks_navigation_columns_on_the_site():
    home = "http://www.example.gov.cn/"
    facts = NS(
        url=home,
        items=[NS(url="http://www.example.gov.cn/zwdt/t20240101_1.html")],
        links=[
            _link("http://www.example.gov.cn/", "首页"),
            _link("http://www.example.gov.cn/zwdt/", "政务动态"),
            _link("http://example.gov.cn/tzgg/", "通知公告"),  # same site without www.
            _link("http://www.example.gov.cn/zwdt/", "政务动态"),  # repeated
            _link("http://www.example.gov.cn/zcwj/", "政策 文件"),
            _link("http://www.example.gov.cn/rsrm/", "人事任免"),
            _link("http://www.example.gov.cn/ghjh/", "规划计划", visible=False),
            _link("http://www.other.gov.cn/news/", "新闻"),  # another site
            _link("http://www.example.gov.cn/en/", "English"),
            _link("http://www.example.gov.cn/wza/", "无障碍"),
            _link("http://www.example.gov.cn/login.html", "登录"),
            _link("http://www.example.gov.cn/zwgk/", "政务公开"),  # a hub, not a column
            _link("http://www.example.gov.cn/zwdt/t20240101_1.html", "新闻"),  # an item
            _link("http://www.example.gov.cn/files/gz.pdf", "工作规划"),  # a file
            _link("http://www.example.gov.cn/hd/", "关于开展2024年度政务公开工作考核的通知公告"),  # too long
            _link("mailto:zx@example.gov.cn", "领导信箱"),
        ],
    )
    got = [(c.name, c.url, c.kind) for c in discover_columns(facts, home)]
    assert got == [
        ("政务动态", "http://www.example.gov.cn/zwdt/", "news"),
        ("通知公告", "http://example.gov.cn/tzgg/", "notice"),
        ("政策文件", "http://www.example.gov.cn/zcwj/", "policy"),
        ("人事任免", "http://www.example.gov.cn/rsrm/", "personnel"),
    ]


def _links(*pairs):
    return NS(links=[_link(u, t) for u, t in pairs])


def test_find_next_page():
    base = "http://x.gov.cn/col/"
    # a 下一页 link wins
    facts = _links((base + "index_1.html", "2"), (base + "index_5.html", "下一页"))
    assert find_next_page(facts, base) == base + "index_5.html"
    # index.html → index_1.html → index_2.html
    assert find_next_page(_links((base + "index_1.html", "2")), base) == base + "index_1.html"
    assert find_next_page(_links((base + "index_2.html", "3")), base + "index_1.html") == base + "index_2.html"
    # ?page=N
    assert find_next_page(_links((base + "list?page=2", "2")), base + "list") == base + "list?page=2"
    assert find_next_page(_links((base + "list?cid=3&page=3", "3")), base + "list?cid=3&page=2") == base + "list?cid=3&page=3"
    # TRS createPageHTML draws the pager in JavaScript: no link to find
    script = 'createPageHTML(4, 0, "index", "html");'
    assert find_next_page(_links(), base, script) == base + "index_1.html"
    assert find_next_page(_links(), base + "index_3.html", 'createPageHTML(4, 3, "index", "html")') is None
    # nothing
    assert find_next_page(_links((base + "about.html", "关于")), base) is None


def _item(url, date=None):
    return NS(title=url, url=url, date=date, text=url)


def test_newest_items_by_date_then_list_order():
    d = lambda y, m, day=None, t=None: PageDate(y, m, day, t)  # noqa: E731
    items = [
        _item("http://x/a", d(2024, 1, 5)),
        _item("http://x/b"),
        _item("http://x/c", d(2024, 3, 1)),
        _item("http://x/d", d(2024, 3, 1, datetime.time(9, 30))),
        _item("http://x/a", d(2024, 1, 5)),  # repeated
        _item("mailto:x@y"),
        _item("http://x/e", d(2024, 2)),  # month only
        _item("http://x/f"),
    ]
    assert [i.url for i in newest_items(items, 10)] == [
        "http://x/d",
        "http://x/c",
        "http://x/e",
        "http://x/a",
        "http://x/b",
        "http://x/f",
    ]
    assert [i.url for i in newest_items(items, 2)] == ["http://x/d", "http://x/c"]


def test_urls():
    assert canonical_url("http://Example.gov.cn/a;jsessionid=AB12?b=2&a=1&utm_source=wx&SID=9#top") == (
        "http://example.gov.cn/a?a=1&b=2"
    )
    assert canonical_url("http://x.cn/p?PHPSESSID=1") == canonical_url("http://x.cn/p")
    assert request_url("http://x.cn/p?b=2&a=1#frag") == "http://x.cn/p?b=2&a=1"
    assert site_hosts("http://www.x.gov.cn/") == {"www.x.gov.cn", "x.gov.cn"}
    assert site_hosts("http://x.gov.cn:8080/") == {"www.x.gov.cn", "x.gov.cn"}
    assert site_hosts("http://127.0.0.5:8000/") == {"127.0.0.5"}


@pytest.mark.parametrize(
    ("host", "private"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("10.2.3.4", True),
        ("172.16.0.1", True),
        ("172.31.255.255", True),
        ("172.32.0.1", False),
        ("192.168.1.1", True),
        ("169.254.169.254", True),
        ("100.64.0.1", True),
        ("0.0.0.0", True),
        ("::1", True),
        ("[::1]", True),
        ("fc00::1", True),
        ("fd12:3456::1", True),
        ("fe80::1", True),
        ("::ffff:10.0.0.1", True),
        ("localhost", True),
        ("db.localhost", True),
        ("202.96.128.86", False),
        ("2400:3200::1", False),
        ("www.gov.cn", False),  # names are resolved by the link checker
    ],
)
def test_is_private_address(host, private):
    assert is_private_address(host) is private


def test_is_private_ip_ignores_names():
    assert is_private_ip("www.gov.cn") is False


def test_query_variant_limiter():
    limiter = QueryVariantLimiter(3)
    urls = [f"http://x.cn/cal?date=2024-01-0{d}" for d in range(1, 6)]
    assert [limiter.allow(u) for u in urls] == [True, True, True, False, False]
    assert limiter.allow(urls[0]) is True  # seen before
    assert limiter.allow("http://x.cn/cal") is True  # no query
    assert limiter.allow("http://x.cn/other?date=1") is True  # another path
    assert limiter.trapped_paths == {"http://x.cn/cal"}


def test_footer_text():
    page = (
        "<html><body><div id='main'><p>正文</p></div>"
        "<div class='Footer-wrap'><div class='copyright'>版权所有：某市人民政府</div>"
        "<p>地址：某路1号</p><script>var x='not text';</script></div></body></html>"
    )
    assert footer_text(page) == "版权所有：某市人民政府 地址：某路1号"
    nested_last = "<body><div class='bottom'>A</div><footer>B <span>C</span></footer></body>"
    assert footer_text(nested_last) == "B C"
    plain = "<body><p>" + "字" * 2000 + "</p><p>联系电话：1234</p></body>"
    text = footer_text(plain)
    assert len(text) == 1500 and text.endswith("联系电话：1234")
    assert footer_text("", "可见文字") == "可见文字"


def test_footer_text_of_an_extracted_gbk_page():
    body = "<html><head><meta charset='gbk'></head><body><div class='foot'>主办：某县政府</div></body></html>".encode("gbk")
    facts = extract_page("http://x.cn/", body, {"content-type": "text/html; charset=gbk"})
    assert footer_text(body.decode(facts.encoding)) == "主办：某县政府"


def test_spec_and_settings():
    spec = SiteCrawlSpec(
        "lj",
        "http://www.lianjiang.gov.cn/",
        columns=[NS(name="政务动态", url="http://zwdt.lianjiang.gov.cn/", kind="news"), ("人事任免", "http://www.lianjiang.gov.cn/rs/", "")],
        registered_hosts=frozenset({"www.zhanjiang.gov.cn"}),
    )
    assert spec.columns == (
        ("政务动态", "http://zwdt.lianjiang.gov.cn/", "news"),
        ("人事任免", "http://www.lianjiang.gov.cn/rs/", "personnel"),
    )
    assert spec.allowed_hosts == {"www.lianjiang.gov.cn", "lianjiang.gov.cn", "zwdt.lianjiang.gov.cn"}
    crawl = NS(max_link_checks=20000, 
        allow_private_addresses=False, concurrency_per_domain=3, download_delay_s=0.5, timeout_s=15, retries=2,
        user_agent="", contact="https://example.gov.cn/govmon", max_pages_per_site=300, max_depth=6,
        articles_per_column=10, list_pages_per_column=3, max_page_bytes=5_000_000, max_redirects=5,
        retry_after_max_s=60, obey_robots=True,
    )
    settings = build_settings(crawl, spec, print)
    expected = {
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "REMOTE_CONTROL_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "WARNING",
        "CONCURRENT_REQUESTS_PER_DOMAIN": 3,
        "DOWNLOAD_DELAY": 0.5,
        "DOWNLOAD_DELAY_JITTER": 0.5,
        "DOWNLOAD_TIMEOUT": 15.0,
        "RETRY_TIMES": 2,
        "DOWNLOAD_MAXSIZE": 5_000_000,
        "DEPTH_LIMIT": 6,
        "GOVMON_MAX_DEPTH": 6,
        "ROBOTSTXT_OBEY": True,
        "REDIRECT_MAX_TIMES": 5,
        "COOKIES_ENABLED": False,
        "HTTPERROR_ALLOW_ALL": True,
        "GOVMON_ALLOW_PRIVATE_ADDRESSES": False,
        "GOVMON_TRUSTED_HOSTS": ["lianjiang.gov.cn", "www.lianjiang.gov.cn", "www.zhanjiang.gov.cn", "zwdt.lianjiang.gov.cn"],
    }
    assert {k: settings[k] for k in expected} == expected
    assert settings["USER_AGENT"] == f"govmon/{__version__} (+https://example.gov.cn/govmon)"
    assert isinstance(settings["GOVMON_OBSERVATION_SINK"], ObservationSink)
    assert user_agent(NS(user_agent="govmon/9 (+x)", contact="x")) == "govmon/9 (+x)"

"""The httpx adapters (rss, weibo, wechat) against the loopback platforms of
govmon/demo/account_platforms.py — real HTTP on 127.x, the platforms' real answer shapes."""

from __future__ import annotations

import asyncio
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from govmon.crawler.accounts.adapters import ADAPTERS, adapter_for
from govmon.crawler.accounts.base import AccountRef, AccountSnapshot, ReadContext
from govmon.crawler.accounts.feed_time import parse_feed_time, parse_weibo_time
from govmon.crawler.accounts.http import cookie_header, new_http_client
from govmon.crawler.accounts.pace import NoPace, PaceSettings, PlatformPace
from govmon.crawler.accounts.rss import RssAdapter
from govmon.crawler.accounts.wechat import WechatAdapter
from govmon.crawler.accounts.weibo import WeiboAdapter
from govmon.demo.account_platforms import SAVED_SESSION, SAVED_TOKEN, AccountPlatforms
from loopback import next_loopback_host

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
SINCE = NOW - dt.timedelta(days=7)
UA = "govmon/0.1.0 (+mailto:zwgk@example.gov.cn)"


@pytest.fixture(scope="module")
def platforms():
    with AccountPlatforms(NOW, host=next_loopback_host()) as server:
        yield server


def weibo_login(host: str) -> dict:
    return {"cookies": [{"name": "SUB", "value": SAVED_SESSION, "domain": host, "path": "/"}], "origins": []}


def wechat_login(host: str, session: str = SAVED_SESSION) -> dict:
    return {
        "cookies": [{"name": "slave_sid", "value": session, "domain": host, "path": "/"}],
        "origins": [{"origin": f"http://{host}", "localStorage": [{"name": "token", "value": SAVED_TOKEN}]}],
    }


def read(adapter, url: str, *, platform: str, login=None, max_pages: int = 5, pace=None) -> AccountSnapshot:
    async def run() -> AccountSnapshot:
        async with new_http_client(UA, 5.0) as client:
            ctx = ReadContext(http=client, pace=pace or NoPace(), timezone=SHANGHAI, now=NOW, since=SINCE, max_pages=max_pages, login_state=login)
            return await adapter.read(AccountRef("a1", "测试账号", platform, url), ctx)

    return asyncio.run(run())


def ages(snapshot: AccountSnapshot) -> list[tuple[float, bool]]:
    return [((NOW - p.published_at).total_seconds() / 86400, p.pinned) for p in snapshot.posts]


def test_registry_has_every_platform() -> None:
    assert sorted(ADAPTERS) == ["bilibili", "douyin", "kuaishou", "rss", "toutiao", "wechat", "weibo"]
    assert isinstance(adapter_for("weibo"), WeiboAdapter)
    with pytest.raises(KeyError, match="没有平台 'xhs'"):
        adapter_for("xhs")


# --- weibo ---------------------------------------------------------------------------------------


def test_weibo_fresh_by_visitor_cookie(platforms) -> None:
    before = platforms.count("/api/container/getIndex")
    snap = read(WeiboAdapter(), platforms.weibo_url("fresh"), platform="weibo")
    assert snap.coverage == "complete" and snap.reason == ""
    assert ages(snap) == [(1, False), (3, False), (10, False)]
    assert snap.posts[0].id == "4000000000000100"
    assert snap.posts[0].text == "#第100条 政务信息发布# 第100条 政务信息发布"
    assert snap.posts[0].url == f"{platforms.base}/status/Q100x"
    assert snap.requests == 3  # genvisitor, incarnate, one list page
    assert snap.evidence["login"] == "visitor" and snap.evidence["visitor"] == "ok"
    assert platforms.count("/api/container/getIndex") - before == 1


def test_weibo_stale(platforms) -> None:
    snap = read(WeiboAdapter(), platforms.weibo_url("stale"), platform="weibo")
    assert snap.coverage == "complete"
    assert ages(snap) == [(20, False), (25, False), (30, False)]


def test_weibo_pinned_old_first_reads_on(platforms) -> None:
    snap = read(WeiboAdapter(), platforms.weibo_url("pinned"), platform="weibo")
    assert snap.coverage == "complete"
    assert ages(snap) == [(200, True), (1, False), (2, False), (4, False), (9, False), (12, False)]
    assert [p["page"] for p in snap.evidence["pages"]] == [1, 2]


def test_weibo_paged_stops_at_since(platforms) -> None:
    snap = read(WeiboAdapter(), platforms.weibo_url("paged"), platform="weibo")
    assert snap.coverage == "complete"
    assert len(snap.posts) == 6
    assert not any("since_id=2" in hit for hit in platforms.hits)  # page 3 never asked for


def test_weibo_paged_max_pages_is_partial(platforms) -> None:
    snap = read(WeiboAdapter(), platforms.weibo_url("paged"), platform="weibo", max_pages=1)
    assert snap.coverage == "partial"
    assert snap.reason == "已读 1 页仍未到达检查起点，更早的微博未读取"
    assert len(snap.posts) == 3


@pytest.mark.parametrize(
    ("scenario", "reason"),
    [("blocked", "微博拒绝访问：ok:0，这里还没有内容"), ("blocked_alt", "微博拒绝访问：HTTP 432")],
)
def test_weibo_blocked_is_never_empty(platforms, scenario: str, reason: str) -> None:
    pace = PlatformPace(PaceSettings(interval_s=0, backoff_s=0))
    snap = read(WeiboAdapter(), platforms.weibo_url(scenario), platform="weibo", pace=pace)
    assert (snap.coverage, snap.reason, snap.posts, snap.login_expired) == ("blocked", reason, [], False)
    assert pace.blocks == 1


def test_weibo_saved_login_used_and_expired(platforms) -> None:
    login = weibo_login(platforms.host)
    before = platforms.count("/visitor/genvisitor")
    fresh = read(WeiboAdapter(), platforms.weibo_url("fresh"), platform="weibo", login=login)
    assert fresh.coverage == "complete" and fresh.evidence["login"] == "saved" and fresh.requests == 1
    assert platforms.count("/visitor/genvisitor") == before
    expired = read(WeiboAdapter(), platforms.weibo_url("expired"), platform="weibo", login=login)
    assert expired.coverage == "failed" and expired.login_expired is True
    assert expired.reason.startswith("微博登录已过期（ok:-100，https://passport.weibo.com/sso/signin")
    assert expired.reason.endswith("请运行 govmon login weibo 重新登录")


def test_weibo_url_without_uid() -> None:
    snap = read(WeiboAdapter(), "http://127.0.0.1:9/somebody", platform="weibo")
    assert snap.coverage == "failed" and snap.requests == 0
    assert "找不到用户编号" in snap.reason


# --- wechat --------------------------------------------------------------------------------------


def test_wechat_fresh(platforms) -> None:
    snap = read(WechatAdapter(), platforms.wechat_url("fresh"), platform="wechat", login=wechat_login(platforms.host))
    assert snap.coverage == "complete"
    assert ages(snap) == [(1, False), (3, False), (10, False)]
    assert snap.posts[0].id == "2650000100_1" and snap.posts[0].url == f"{platforms.base}/s/100"
    assert snap.requests == 1


def test_wechat_stale(platforms) -> None:
    snap = read(WechatAdapter(), platforms.wechat_url("stale"), platform="wechat", login=wechat_login(platforms.host))
    assert snap.coverage == "complete" and ages(snap) == [(20, False), (25, False), (30, False)]


def test_wechat_paged_stops_at_since(platforms) -> None:
    # 9 articles, 5 a page: page 1 (1,2,3,5,9 days) already passes the cut-off
    snap = read(WechatAdapter(), platforms.wechat_url("paged"), platform="wechat", login=wechat_login(platforms.host))
    assert snap.coverage == "complete" and [round(a) for a, _ in ages(snap)] == [1, 2, 3, 5, 9]
    assert snap.requests == 1
    # pinned scenario without the pinned post: 1,2,4,9,12 — also one page
    two = read(WechatAdapter(), platforms.wechat_url("pinned"), platform="wechat", login=wechat_login(platforms.host), max_pages=1)
    assert two.coverage == "complete" and len(two.posts) == 5


def test_wechat_article_time_from_ct(platforms) -> None:
    snap = read(WechatAdapter(), platforms.wechat_url("untimed"), platform="wechat", login=wechat_login(platforms.host))
    assert snap.coverage == "complete" and ages(snap) == [(2, False), (11, False)]
    assert snap.requests == 3  # the list and two article pages


def test_wechat_blocked(platforms) -> None:
    snap = read(WechatAdapter(), platforms.wechat_url("blocked"), platform="wechat", login=wechat_login(platforms.host))
    assert (snap.coverage, snap.reason, snap.login_expired) == ("blocked", "微信公众平台拒绝访问：ret 200013，操作太频繁（freq control）", False)
    alt = read(WechatAdapter(), platforms.wechat_url("blocked_alt"), platform="wechat", login=wechat_login(platforms.host))
    assert (alt.coverage, alt.reason) == ("blocked", "微信公众平台返回异常内容（HTTP 200）")


@pytest.mark.parametrize("session", [SAVED_SESSION, "old-session"])
def test_wechat_expired(platforms, session: str) -> None:
    scenario = "expired" if session == SAVED_SESSION else "fresh"
    snap = read(WechatAdapter(), platforms.wechat_url(scenario), platform="wechat", login=wechat_login(platforms.host, session))
    assert snap.coverage == "failed" and snap.login_expired is True and snap.posts == []
    assert snap.reason == "微信公众平台登录已过期：ret 200003，登录会话无效（invalid session）；请运行 govmon login wechat 用本单位公众号重新扫码登录"


def test_wechat_without_login(platforms) -> None:
    snap = read(WechatAdapter(), platforms.wechat_url("fresh"), platform="wechat")
    assert snap.coverage == "failed" and snap.requests == 0 and snap.login_expired is False
    assert snap.reason == "没有保存的公众平台登录，无法读取公众号文章列表；请运行 govmon login wechat 用本单位公众号重新扫码登录"


# --- rss -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["rss", "atom", "json"])
def test_feed_fresh_and_stale(platforms, kind: str) -> None:
    fresh = read(RssAdapter(), platforms.feed_url("fresh", kind), platform="rss")
    assert fresh.coverage == "complete" and ages(fresh) == [(1, False), (3, False), (10, False)]
    assert fresh.posts[0].id == f"{platforms.base}/a/100" and fresh.posts[0].text == "第100条 政务信息发布"
    stale = read(RssAdapter(), platforms.feed_url("stale", kind), platform="rss")
    assert stale.coverage == "complete" and [round(a) for a, _ in ages(stale)] == [20, 25, 30]


def test_feed_blocked(platforms) -> None:
    snap = read(RssAdapter(), platforms.feed_url("blocked"), platform="rss")
    assert (snap.coverage, snap.reason) == ("blocked", "订阅源拒绝访问（HTTP 403）")
    empty = read(RssAdapter(), platforms.feed_url("blocked_alt"), platform="rss")
    assert (empty.coverage, empty.reason) == ("blocked", "订阅源返回空内容（HTTP 200）")


def test_feed_redirect_followed_and_empty_feed_proves_nothing(platforms) -> None:
    moved = read(RssAdapter(), platforms.feed_url("moved"), platform="rss")
    assert moved.coverage == "complete" and ages(moved) == [(1, False), (3, False), (10, False)] and moved.requests == 2
    assert moved.evidence["redirects"] == [[301, platforms.feed_url("fresh")]]
    empty = read(RssAdapter(), platforms.feed_url("empty", "atom"), platform="rss")
    assert (empty.coverage, empty.posts) == ("failed", [])
    assert empty.reason == "订阅源没有任何条目（订阅地址或 RSSHub 路由可能已失效），无法判断更新情况"


def test_feed_not_found_and_down(platforms) -> None:
    missing = read(RssAdapter(), f"{platforms.base}/nothing.xml", platform="rss")
    assert (missing.coverage, missing.reason) == ("failed", "订阅源返回 HTTP 404")
    down = read(RssAdapter(), "http://127.0.0.1:9/feed.xml", platform="rss")
    assert down.coverage == "failed" and down.reason == "无法连接订阅源：ConnectError"


# --- helpers -------------------------------------------------------------------------------------


def test_time_parsing() -> None:
    assert parse_feed_time("Sat, 01 Jul 2023 02:00:00 GMT", SHANGHAI) == dt.datetime(2023, 7, 1, 10, 0, tzinfo=SHANGHAI)
    assert parse_feed_time("2023-07-01T02:00:00Z", SHANGHAI) == dt.datetime(2023, 7, 1, 10, 0, tzinfo=SHANGHAI)
    assert parse_feed_time("not a date", SHANGHAI) is None
    assert parse_weibo_time("Sat Jun 14 12:00:00 +0800 2025", SHANGHAI, NOW) == dt.datetime(2025, 6, 14, 12, 0, tzinfo=SHANGHAI)
    assert parse_weibo_time("5分钟前", SHANGHAI, NOW) == NOW - dt.timedelta(minutes=5)
    assert parse_weibo_time("昨天 08:30", SHANGHAI, NOW) == dt.datetime(2026, 11, 19, 8, 30, tzinfo=SHANGHAI)
    assert parse_weibo_time("12-27", SHANGHAI, NOW) == dt.datetime(2025, 12, 27, tzinfo=SHANGHAI)


def test_cookie_header_matches_domain() -> None:
    state = {"cookies": [{"name": "a", "value": "1", "domain": ".weibo.cn"}, {"name": "b", "value": "2", "domain": "qq.com"}]}
    assert cookie_header(state, "https://m.weibo.cn/api") == "a=1"
    assert cookie_header(None, "https://m.weibo.cn/api") == ""


def test_pace_spaces_requests_and_backs_off() -> None:
    clock = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    async def run() -> None:
        pace = PlatformPace(PaceSettings(interval_s=2.0, backoff_s=30.0), clock=lambda: clock[0], sleep=sleep)
        for _ in range(3):
            async with pace.slot():
                pass
        pace.blocked()
        async with pace.slot():
            pass
        pace.blocked()
        async with pace.slot():
            pass
        async with pace.slot():  # answered: the next refusal starts the back-off again
            pass
        pace.blocked()
        async with pace.slot():
            pass

    asyncio.run(run())
    assert slept == [2.0, 2.0, 30.0, 60.0, 2.0, 30.0]


def test_pace_settings_from_config() -> None:
    from govmon.config import Config, ConfigError
    from govmon.crawler.accounts.pace import Paces

    config = Config.from_mapping({"platforms": {"pace": {"interval_s": 3}, "pace_overrides": {"wechat": {"interval_s": 10, "backoff_s": 600}}}})
    paces = Paces.from_settings(config.platforms)
    assert paces.for_platform("wechat").settings.interval_s == 10.0
    assert paces.for_platform("wechat").settings.backoff_s == 600.0
    assert paces.for_platform("weibo").settings.interval_s == 3.0
    assert paces.for_platform("weibo") is paces.for_platform("weibo")
    assert Config.from_mapping({}).platforms.pace.interval_s == 2.0
    with pytest.raises(ConfigError, match="xhs"):
        Config.from_mapping({"platforms": {"pace_overrides": {"xhs": {"interval_s": 1}}}})

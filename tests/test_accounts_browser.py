"""The browser adapters (douyin, bilibili, kuaishou, toutiao) against the loopback platforms.

Real Chromium through Playwright, real HTTP on loopback: each account page signs nothing but
fetches its list endpoint with JavaScript, pages on scrolling or with its "下一页" button, and
answers in the platform's own shapes (tests/platforms/browser_platforms.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Iterator

import httpx
import pytest

from govmon.crawler.accounts.base import AccountRef, AccountSnapshot, ReadContext
from govmon.crawler.accounts.bilibili import BilibiliAdapter
from govmon.crawler.accounts.browser_adapters import BROWSER_ADAPTERS
from govmon.crawler.accounts.browser_page import BrowserAdapter, Timeouts, clean_text, from_epoch
from govmon.crawler.accounts.browser_session import CHROMIUM_ARGS, NoBrowserError, find_chromium, open_browser
from govmon.crawler.accounts.douyin import DouyinAdapter
from govmon.crawler.accounts.kuaishou import KuaishouAdapter
from govmon.crawler.accounts.toutiao import ToutiaoAdapter
from loopback import dead_address, event_loop_runner  # noqa: F401 (event_loop_runner is a fixture)
from platforms.browser_platforms import NOW, SHANGHAI, SINCE, VALID_SESSION, BrowserPlatform, login_state

CHROMIUM = "/usr/bin/chromium"
# "bilibili_dynamic": the Bilibili adapter on an account registered with its dynamics page.
PLATFORMS = ("douyin", "bilibili", "bilibili_dynamic", "kuaishou", "toutiao")
ADAPTERS: dict[str, type[BrowserAdapter]] = {
    "douyin": DouyinAdapter,
    "bilibili": BilibiliAdapter,
    "kuaishou": KuaishouAdapter,
    "toutiao": ToutiaoAdapter,
}
TEST_TIMEOUTS = Timeouts(navigation_s=20, first_list_s=12, next_page_s=12, wall_grace_s=1.0, extras_s=3.0)


# --- fixtures --------------------------------------------------------------------------------------


class LimiterPace:
    """A real per-platform limiter: ``concurrency`` slots, ``interval_s`` between slot starts."""

    def __init__(self, concurrency: int = 1, interval_s: float = 0.0) -> None:
        self.concurrency = concurrency
        self.interval_s = interval_s
        self._sem: asyncio.Semaphore | None = None
        self._last = 0.0
        self.slots = 0
        self.inflight = 0
        self.max_inflight = 0
        self.blocks = 0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.concurrency)
        async with self._sem:
            wait = self._last + self.interval_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self.slots += 1
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)
            try:
                yield
            finally:
                self.inflight -= 1
                self._last = time.monotonic()

    def blocked(self) -> None:
        self.blocks += 1


@pytest.fixture(scope="session")
def browser(event_loop_runner: Any) -> Iterator[Any]:  # noqa: F811
    """The system Chromium, launched once through ``open_browser``; ``.new_context`` is what the
    adapters get as ``ctx.new_browser_context``."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    manager = open_browser(CHROMIUM)
    session = event_loop_runner.run(manager.__aenter__())
    yield session
    event_loop_runner.run(manager.__aexit__(None, None, None))


@pytest.fixture(scope="module")
def platforms() -> Iterator[dict[str, BrowserPlatform]]:
    made = {name: BrowserPlatform(name) for name in PLATFORMS if name in ADAPTERS}
    made["bilibili_dynamic"] = BrowserPlatform("bilibili", dynamic=True)
    yield made
    for p in made.values():
        p.close()


def read(
    runner: Any,
    browser: Any,
    platform: BrowserPlatform | None,
    scenario: str,
    *,
    pace: LimiterPace | None = None,
    login: dict[str, Any] | None = None,
    max_pages: int = 5,
    url: str | None = None,
    platform_name: str | None = None,
    with_browser: bool = True,
) -> AccountSnapshot:
    name = platform_name or platform.platform  # type: ignore[union-attr]
    account = AccountRef(id=f"acc-{scenario}", name="市政务服务中心", platform=name, url=url or platform.account_url(scenario))  # type: ignore[union-attr]
    adapter = ADAPTERS[name](TEST_TIMEOUTS)

    async def go() -> AccountSnapshot:
        async with httpx.AsyncClient() as http:
            ctx = ReadContext(
                http=http,
                pace=pace or LimiterPace(),
                timezone=SHANGHAI,
                now=NOW,
                since=SINCE,
                max_pages=max_pages,
                login_state=login,
                new_browser_context=browser.new_context if with_browser else None,
            )
            return await adapter.read(account, ctx)

    return runner.run(go(), timeout=60)


def rows(snapshot: AccountSnapshot) -> list[tuple[str, str, dt.datetime, bool]]:
    return [(p.id, p.text, p.published_at, p.pinned) for p in snapshot.posts]


def days_ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


POST_URL = {
    "douyin": "{base}/video/{id}",
    "bilibili": "{base}/video/{id}",
    "bilibili_dynamic": "{base}/{id}",
    "kuaishou": "{base}/short-video/{id}",
    "toutiao": "{base}/article/{id}/",
}

# --- fresh / stale / pinned / paged ---------------------------------------------------------------


@pytest.mark.parametrize("name", PLATFORMS)
def test_fresh_account_complete_on_first_page(name: str, event_loop_runner: Any, browser: Any, platforms: Any) -> None:  # noqa: F811
    platform = platforms[name]
    pace = LimiterPace()
    snap = read(event_loop_runner, browser, platform, "fresh", pace=pace)
    assert snap.coverage == "complete", snap.reason
    assert snap.reason == ""
    assert rows(snap) == platform.expected_posts("fresh", 1)
    # the exact values, spelled out once
    first = snap.posts[0]
    assert first.text == "市政府常务会议召开&部署冬季安全生产"
    assert [p.text for p in snap.posts[1:]] == ["政务动态第2期", "政务动态第3期"]
    assert first.published_at == dt.datetime(2026, 11, 19, 10, 0, tzinfo=SHANGHAI)
    assert first.published_at.utcoffset() == dt.timedelta(hours=8)
    assert [p.published_at for p in snap.posts] == [days_ago(1), days_ago(3), days_ago(10)]
    assert [p.pinned for p in snap.posts] == [False, False, False]
    assert first.url == POST_URL[name].format(base=platform.base(), id=first.id)
    assert platform.pages_asked("fresh") == [0]  # the cut-off was on page 1: no second request
    assert snap.evidence["pages"] == 1 and snap.evidence["ended"] == "since"
    # the page and its list request (Bilibili's video page also asks for its pinned video)
    assert snap.requests == (3 if name == "bilibili" else 2)
    assert pace.slots == 1 and pace.blocks == 0


# Where the answer says whether a post is open to comments (Douyin, Toutiao), the adapter reads it;
# where no such field is documented (Bilibili, Kuaishou), it says nothing.
COMMENT_STATE = {
    "douyin": {"closed": [False] * 4, "half_open": [False, True, False, False], "unsaid": [None] * 4, "fresh": [True] * 3},
    "toutiao": {"closed": [False] * 4, "half_open": [False, True, False, False], "unsaid": [None] * 4, "fresh": [True] * 3},
    "bilibili": {"closed": [None] * 4, "half_open": [None] * 4, "fresh": [None] * 3},
    "bilibili_dynamic": {"closed": [None] * 4, "fresh": [None] * 3},
    "kuaishou": {"closed": [None] * 4, "fresh": [None] * 3},
}


@pytest.mark.parametrize("name,scenario", sorted((n, s) for n, by in COMMENT_STATE.items() for s in by))
def test_comment_state_only_where_the_answer_says_it(name: str, scenario: str, event_loop_runner: Any, browser: Any, platforms: Any) -> None:  # noqa: F811
    platform = platforms[name]
    snap = read(event_loop_runner, browser, platform, scenario)
    assert snap.coverage == "complete", snap.reason
    assert rows(snap) == platform.expected_posts(scenario, 1)
    assert [p.comments_open for p in snap.posts] == COMMENT_STATE[name][scenario]


@pytest.mark.parametrize("name", PLATFORMS)
def test_stale_account_complete_with_only_old_posts(name: str, event_loop_runner: Any, browser: Any, platforms: Any) -> None:  # noqa: F811
    platform = platforms[name]
    snap = read(event_loop_runner, browser, platform, "stale")
    assert snap.coverage == "complete", snap.reason
    assert rows(snap) == platform.expected_posts("stale", 1)
    assert [p.published_at for p in snap.posts] == [days_ago(20), days_ago(45)]
    assert max(p.published_at for p in snap.posts) < SINCE  # what makes it stale, provably
    assert platform.pages_asked("stale") == [0]


@pytest.mark.parametrize("name", PLATFORMS)
def test_pinned_old_post_first_does_not_end_the_list(name: str, event_loop_runner: Any, browser: Any, platforms: Any) -> None:  # noqa: F811
    platform = platforms[name]
    snap = read(event_loop_runner, browser, platform, "pinned")
    assert snap.coverage == "complete", snap.reason
    assert rows(snap) == platform.expected_posts("pinned", 2)
    assert [(p.published_at, p.pinned) for p in snap.posts] == [
        (days_ago(200), True),
        (days_ago(2), False),
        (days_ago(4), False),
        (days_ago(8), False),
        (days_ago(30), False),
    ]
    assert platform.pages_asked("pinned") == [0, 1]  # the old pinned post did not end the read
    assert snap.posts[0].text == "置顶：办事指南"
    if name == "bilibili":  # the pinned video comes from its own endpoint, answered after the list
        assert platform.top_calls.count("pinned") == 1
        assert snap.evidence["top_code"] == 0


@pytest.mark.parametrize("name", PLATFORMS)
def test_paged_reads_until_the_cutoff_and_no_further(name: str, event_loop_runner: Any, browser: Any, platforms: Any) -> None:  # noqa: F811
    platform = platforms[name]
    snap = read(event_loop_runner, browser, platform, "paged")
    assert snap.coverage == "complete", snap.reason
    assert rows(snap) == platform.expected_posts("paged", 2)
    assert [p.published_at for p in snap.posts] == [days_ago(d) for d in (1, 2, 3, 5, 9, 12)]
    assert platform.pages_asked("paged") == [0, 1]  # page 3 exists and was not asked for
    assert snap.evidence["pages"] == 2
    assert len(snap.evidence["list_requests"]) == 2


@pytest.mark.parametrize("name", PLATFORMS)
def test_slow_page_is_turned_again(name: str, event_loop_runner: Any, browser: Any, platforms: Any) -> None:  # noqa: F811
    platform = platforms[name]
    snap = read(event_loop_runner, browser, platform, "busy")
    assert snap.coverage == "complete", snap.reason
    assert rows(snap) == platform.expected_posts("busy", 2)
    assert platform.pages_asked("busy") == [0, 1]
    assert snap.evidence["page_turns_repeated"] >= 1


@pytest.mark.parametrize("name", PLATFORMS)
def test_page_limit_gives_partial(name: str, event_loop_runner: Any, browser: Any, platforms: Any) -> None:  # noqa: F811
    platform = platforms[name]
    before = len(platform.pages_asked("paged"))
    snap = read(event_loop_runner, browser, platform, "paged", max_pages=1)
    assert snap.coverage == "partial"
    assert snap.reason == "已读 1 页（上限 1 页），仍未读到监测起点之前的作品"
    assert rows(snap) == platform.expected_posts("paged", 1)
    assert platform.pages_asked("paged")[before:] == [0]


@pytest.mark.parametrize("name", PLATFORMS)
def test_empty_account_is_complete_and_empty(name: str, event_loop_runner: Any, browser: Any, platforms: Any) -> None:  # noqa: F811
    snap = read(event_loop_runner, browser, platforms[name], "empty")
    assert snap.coverage == "complete", snap.reason
    assert snap.posts == []
    assert snap.evidence["ended"] == "end_of_list"


# --- blocked / captcha / login ----------------------------------------------------------------------

BLOCKED_REASONS = {
    ("douyin", "blocked"): "抖音作品列表接口返回空内容（HTTP 200，疑似风控拦截）",
    ("douyin", "blocked_alt"): "抖音作品列表接口返回“blocked”（账号或 IP 被风控拦截）",
    ("bilibili", "blocked"): "哔哩哔哩返回 code -352（风控校验失败）",
    ("bilibili", "blocked_alt"): "哔哩哔哩返回 HTTP 412（请求被拦截，疑似访问过于频繁）",
    ("bilibili_dynamic", "blocked"): "哔哩哔哩返回 code -352（风控校验失败）",
    ("bilibili_dynamic", "blocked_alt"): "哔哩哔哩返回 HTTP 412（请求被拦截，疑似访问过于频繁）",
    ("kuaishou", "blocked"): "快手返回 result 50（签名验证失败）",
    ("kuaishou", "blocked_alt"): "快手返回 result 2（请求过于频繁被限流）",
    ("toutiao", "blocked"): "今日头条作品列表接口返回空内容（HTTP 200，疑似风控拦截）",
    ("toutiao", "blocked_alt"): "今日头条返回 error（未给出作品列表）",
    ("douyin", "misshapen"): "抖音返回的内容不是作品列表（缺少 aweme_list）",
    ("bilibili", "misshapen"): "哔哩哔哩返回的内容不是投稿列表（缺少 data.list）",
    ("bilibili_dynamic", "misshapen"): "哔哩哔哩返回的内容不是动态列表（缺少 data.items）",
    ("kuaishou", "misshapen"): "快手返回的内容不是作品列表（缺少 feeds）",
    ("toutiao", "misshapen"): "今日头条返回 success（未给出作品列表）",
}


@pytest.mark.parametrize("name,scenario", sorted(BLOCKED_REASONS))
def test_soft_failures_are_blocked_never_empty(name: str, scenario: str, event_loop_runner: Any, browser: Any, platforms: Any) -> None:  # noqa: F811
    pace = LimiterPace()
    snap = read(event_loop_runner, browser, platforms[name], scenario, pace=pace)
    assert snap.coverage == "blocked"
    assert snap.reason == BLOCKED_REASONS[(name, scenario)]
    assert snap.posts == []
    assert pace.blocks == 1
    assert snap.login_expired is False
    assert len(snap.evidence["list_requests"]) == 1
    assert "blocked_body" in snap.evidence


@pytest.mark.parametrize("name", PLATFORMS)
def test_empty_page_that_claims_more_is_blocked(name: str, event_loop_runner: Any, browser: Any, platforms: Any) -> None:  # noqa: F811
    pace = LimiterPace()
    snap = read(event_loop_runner, browser, platforms[name], "hollow", pace=pace)
    assert snap.coverage == "blocked"
    assert snap.reason == f"{PLATFORM_NAME[name]}返回空列表却标明还有更多作品（疑似风控拦截）"
    assert snap.posts == []
    assert pace.blocks == 1
    assert platforms[name].pages_asked("hollow") == [0]


@pytest.mark.parametrize("name", PLATFORMS)
def test_block_on_a_later_page_is_partial(name: str, event_loop_runner: Any, browser: Any, platforms: Any) -> None:  # noqa: F811
    platform = platforms[name]
    pace = LimiterPace()
    snap = read(event_loop_runner, browser, platform, "later_blocked", pace=pace)
    assert snap.coverage == "partial"
    assert snap.reason.startswith("已读 1 页，第 2 页被拦截：")
    assert rows(snap) == platform.expected_posts("later_blocked", 1)
    assert pace.blocks == 1


CAPTCHA_BY = {"douyin": "url", "toutiao": "url", "bilibili": "text", "bilibili_dynamic": "text", "kuaishou": "selector"}
PLATFORM_NAME = {"douyin": "抖音", "bilibili": "哔哩哔哩", "bilibili_dynamic": "哔哩哔哩", "kuaishou": "快手", "toutiao": "今日头条"}


@pytest.mark.parametrize("name", PLATFORMS)
def test_captcha_page_is_blocked(name: str, event_loop_runner: Any, browser: Any, platforms: Any) -> None:  # noqa: F811
    pace = LimiterPace()
    snap = read(event_loop_runner, browser, platforms[name], "captcha", pace=pace)
    assert snap.coverage == "blocked"
    assert snap.reason == f"{PLATFORM_NAME[name]}显示验证码页面（人机验证拦截），未能读取作品列表"
    assert snap.evidence["wall_by"] == CAPTCHA_BY[name]
    if CAPTCHA_BY[name] == "selector":
        assert snap.evidence["wall_selector"] == "#captcha_container"
    if CAPTCHA_BY[name] == "text":
        assert snap.evidence["wall_text"] == "滑块"  # the first of CAPTCHA_TEXT in "请完成下列验证后继续：按住滑块…"
    assert pace.blocks == 1
    assert snap.posts == []


@pytest.mark.parametrize("name", PLATFORMS)
def test_expired_login_is_failed_and_flagged(name: str, event_loop_runner: Any, browser: Any, platforms: Any) -> None:  # noqa: F811
    platform = platforms[name]
    pace = LimiterPace()
    snap = read(event_loop_runner, browser, platform, "member", pace=pace, login=login_state(platform, "expired-session-0000"))
    assert snap.coverage == "failed"
    assert snap.login_expired is True
    assert snap.reason.startswith(f"保存的{PLATFORM_NAME[name]}登录已失效，页面要求重新登录")
    assert snap.reason.endswith("请运行 govmon login 重新登录")
    assert snap.posts == []
    assert pace.blocks == 0  # a login wall is not a rate limit


@pytest.mark.parametrize("name", PLATFORMS)
def test_login_wall_without_saved_login(name: str, event_loop_runner: Any, browser: Any, platforms: Any) -> None:  # noqa: F811
    snap = read(event_loop_runner, browser, platforms[name], "member")
    assert snap.coverage == "failed"
    assert snap.login_expired is False
    assert f"{PLATFORM_NAME[name]}要求登录后才能查看该账号" in snap.reason


@pytest.mark.parametrize("name", PLATFORMS)
def test_valid_saved_login_reads_the_account(name: str, event_loop_runner: Any, browser: Any, platforms: Any) -> None:  # noqa: F811
    platform = platforms[name]
    snap = read(event_loop_runner, browser, platform, "member", login=login_state(platform, VALID_SESSION))
    assert snap.coverage == "complete", snap.reason
    assert rows(snap) == platform.expected_posts("member", 1)


def test_kuaishou_legacy_graphql_shape(event_loop_runner: Any, browser: Any, platforms: Any) -> None:  # noqa: F811
    platform = platforms["kuaishou"]
    snap = read(event_loop_runner, browser, platform, "legacy")
    assert snap.coverage == "complete", snap.reason
    assert rows(snap) == platform.expected_posts("legacy", 1)
    assert snap.evidence["list_requests"] == [platform.base() + "/graphql"]


# --- our own failures are "not measured" -------------------------------------------------------------


def test_no_browser_is_failed_not_measured(event_loop_runner: Any, platforms: Any) -> None:  # noqa: F811
    snap = read(event_loop_runner, None, platforms["douyin"], "fresh", with_browser=False)
    assert snap.coverage == "failed"
    assert snap.reason == "未配置浏览器，无法读取抖音账号（未监测）"


def test_unreachable_platform_is_failed(event_loop_runner: Any, browser: Any) -> None:  # noqa: F811
    snap = read(event_loop_runner, browser, None, "fresh", url=dead_address() + "/user/MS4wLjABAAAAx", platform_name="douyin")
    assert snap.coverage == "failed"
    assert snap.reason.startswith("打开抖音账号页面失败（未监测）：")
    assert "ERR_CONNECTION_REFUSED" in snap.reason


def test_page_without_list_request_is_failed(event_loop_runner: Any, browser: Any) -> None:  # noqa: F811
    from loopback import LoopbackServer, Reply, html

    with LoopbackServer({"/user/x": Reply(body=html("<h1>改版后的页面</h1>"))}) as server:
        adapter = DouyinAdapter(Timeouts(navigation_s=5, first_list_s=1.5, wall_grace_s=0.5))
        account = AccountRef("a", "x", "douyin", server.url("/user/x"))

        async def go() -> AccountSnapshot:
            async with httpx.AsyncClient() as http:
                ctx = ReadContext(http, LimiterPace(), SHANGHAI, NOW, SINCE, new_browser_context=browser.new_context)
                return await adapter.read(account, ctx)

        snap = event_loop_runner.run(go())
    assert snap.coverage == "failed"
    assert snap.reason == "抖音账号页面在 1.5 秒内没有请求作品列表（未监测）"


def read_douyin_page(runner: Any, browser: Any, routes: dict[str, Any]) -> AccountSnapshot:
    from loopback import LoopbackServer

    with LoopbackServer(routes) as server:
        account = AccountRef("a", "x", "douyin", server.url("/user/x"))

        async def go() -> AccountSnapshot:
            async with httpx.AsyncClient() as http:
                ctx = ReadContext(http, pace, SHANGHAI, NOW, SINCE, new_browser_context=browser.new_context)
                return await DouyinAdapter(TEST_TIMEOUTS).read(account, ctx)

        pace = LimiterPace()
        snap = runner.run(go())
        snap.evidence["pace_blocks"] = pace.blocks
        return snap


@pytest.mark.parametrize(
    "status,coverage,reason",
    [
        (412, "blocked", "抖音账号页面返回 HTTP 412（访问被拦截）"),
        (403, "blocked", "抖音账号页面返回 HTTP 403（访问被拦截）"),
        (404, "failed", "抖音账号页面返回 HTTP 404（未能读取）"),
        (502, "failed", "抖音账号页面返回 HTTP 502（未能读取）"),
    ],
)
def test_account_page_http_errors(status: int, coverage: str, reason: str, event_loop_runner: Any, browser: Any) -> None:  # noqa: F811
    from loopback import Reply, html

    snap = read_douyin_page(event_loop_runner, browser, {"/user/x": Reply(status, html("<h1>error</h1>"))})
    assert (snap.coverage, snap.reason) == (coverage, reason)
    assert snap.evidence["page_status"] == status
    assert snap.evidence["pace_blocks"] == (1 if coverage == "blocked" else 0)


def test_list_request_redirected_to_captcha_is_blocked(event_loop_runner: Any, browser: Any) -> None:  # noqa: F811
    from loopback import Reply, html

    page = html("<script>fetch('/aweme/v1/web/aweme/post/?sec_user_id=x&max_cursor=0').catch(() => 0)</script>")
    snap = read_douyin_page(
        event_loop_runner,
        browser,
        {
            "/user/x": Reply(body=page),
            "/aweme/v1/web/aweme/post/?sec_user_id=x&max_cursor=0": Reply(302, "", headers={"Location": "/captcha/verify?x=1"}),
            "/captcha/verify?x=1": Reply(body=html("验证码中间页")),
        },
    )
    assert snap.coverage == "blocked"
    assert snap.reason == "抖音作品列表请求失败（被重定向到验证或登录页面 /captcha/verify?x=1）"
    assert snap.evidence["pace_blocks"] == 1


def test_pace_is_held_one_at_a_time(event_loop_runner: Any, browser: Any, platforms: Any) -> None:  # noqa: F811
    platform = platforms["douyin"]
    pace = LimiterPace(concurrency=1)

    async def go() -> list[AccountSnapshot]:
        async with httpx.AsyncClient() as http:
            ctx = ReadContext(http, pace, SHANGHAI, NOW, SINCE, new_browser_context=browser.new_context)
            accounts = [AccountRef(s, s, "douyin", platform.account_url(s)) for s in ("fresh", "stale", "pinned")]
            adapter = DouyinAdapter(TEST_TIMEOUTS)
            return list(await asyncio.gather(*(adapter.read(a, ctx) for a in accounts)))

    snaps = event_loop_runner.run(go())
    assert [s.coverage for s in snaps] == ["complete", "complete", "complete"]
    assert pace.slots == 3 and pace.max_inflight == 1


def test_browser_session_contexts(event_loop_runner: Any, browser: Any) -> None:  # noqa: F811
    assert {"--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"} <= set(CHROMIUM_ARGS)
    assert BROWSER_ADAPTERS == ADAPTERS

    async def go() -> tuple[Any, Any]:
        context = await browser.new_context()
        page = await context.new_page()
        await page.set_content("<p>x</p>")
        got = await page.evaluate("() => [navigator.language, Intl.DateTimeFormat().resolvedOptions().timeZone]")
        await context.close()
        return got

    assert event_loop_runner.run(go()) == ["zh-CN", "Asia/Shanghai"]
    with pytest.raises(NoBrowserError, match="找不到浏览器程序：/no/such/chromium"):
        find_chromium("/no/such/chromium")
    assert find_chromium(None) == CHROMIUM


# --- helpers -------------------------------------------------------------------------------------------


def test_clean_text_and_epochs() -> None:
    assert clean_text("市政府<em>常务会议</em>召开&amp;部署") == "市政府常务会议召开&部署"
    assert clean_text("第一行<br>第二行\n\n  第三行") == "第一行 第二行 第三行"
    assert clean_text(None) == ""
    assert from_epoch(1763604000, SHANGHAI) == dt.datetime(2025, 11, 20, 10, 0, tzinfo=SHANGHAI)
    assert from_epoch(1763604000000, SHANGHAI, milliseconds=True) == dt.datetime(2025, 11, 20, 10, 0, tzinfo=SHANGHAI)
    assert from_epoch("1763604000", SHANGHAI) == dt.datetime(2025, 11, 20, 10, 0, tzinfo=SHANGHAI)
    assert from_epoch(None, SHANGHAI) is None
    assert from_epoch(0, SHANGHAI) is None
    assert from_epoch("abc", SHANGHAI) is None

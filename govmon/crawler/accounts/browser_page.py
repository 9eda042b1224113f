"""The shared mechanism of the browser-based adapters (douyin, toutiao, kuaishou, bilibili).

The account's own page is opened in a fresh browser context (with the saved login, if any); the
page signs and sends its own list requests, and we read their JSON answers as they arrive
(``page.on("response")``). To get older posts we do what a reader does — scroll to the bottom or
press the page's "next page" button — until the list reaches posts older than ``ctx.since``, the
platform says there is no more, or ``ctx.max_pages`` pages were read.

A :class:`BrowserAdapter` subclass says only what is platform-specific: which requests are the
list (and side requests such as Bilibili's pinned video), how one answer parses into posts, and
which soft failures it contains. The rest — coverage, captcha and login walls, timeouts, pacing,
evidence — is decided here, once:

* ``complete``: a list answer reached a non-pinned post older than ``since``, or the platform said
  the list ends (``has_more`` false).
* ``partial``: some pages were read but the cut-off was not reached (``max_pages``, the next page
  never came, or a later page was refused).
* ``blocked``: the first list answer was a soft failure (empty 200 body, ``code -352``,
  ``result 50`` …), the page was an HTTP error such as 403/412/429, or a captcha page appeared.
  The pace is told (:meth:`Pace.blocked`).
* ``failed``: no browser, a login wall (``login_expired`` when a saved login was used), the
  page never asked for its list, or the browser itself failed — never a finding about the account.

The first-page wall detection believes a URL at once (a redirect to a captcha or login address)
and the page's text only after ``Timeouts.wall_grace_s`` without a list answer, because the real
pages often show a login pop-up over a list that loads fine.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Mapping
from urllib.parse import urlsplit

from bs4 import BeautifulSoup

from govmon.crawler.accounts.base import AccountRef, AccountSnapshot, Post, ReadContext

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Page, Request, Response, Route

# Resource types a list reader never needs (saves memory and time; RSSHub's Kuaishou route does
# the same).
SKIPPED_RESOURCES = frozenset({"image", "media", "font", "stylesheet", "ping"})

# Walls, by URL and by the page's visible text.
CAPTCHA_URL = re.compile(r"captcha|verifycenter|/verify|security-check|risk_?control", re.I)
LOGIN_URL = re.compile(r"(^|[/.])passport\.|/login|/signin|/sso/", re.I)
CAPTCHA_TEXT = ("验证码", "安全验证", "滑块", "请完成下列验证", "人机验证", "拖动滑块", "请按住滑块")
LOGIN_TEXT = ("登录后查看", "请先登录", "登录后即可查看", "扫码登录", "登录已过期", "登录状态已失效", "请登录后")
# Captcha widgets that show no words of their own (the text is inside an iframe): Douyin/Toutiao's
# verify container, GeeTest (Bilibili), any frame from a captcha / verify centre address.
CAPTCHA_SELECTORS = (
    "#captcha_container",
    ".captcha_verify_container",
    ".geetest_panel",
    ".geetest_holder",
    "iframe[src*='captcha']",
    "iframe[src*='verifycenter']",
)
WALL_SCRIPT = """(selectors) => {
  const shown = (e) => { const r = e.getBoundingClientRect(); const st = getComputedStyle(e);
                         return r.width > 0 && r.height > 0 && st.visibility !== 'hidden' && st.display !== 'none'; };
  const hit = selectors.find((s) => Array.from(document.querySelectorAll(s)).some(shown)) || '';
  return {title: document.title || '', text: (document.body ? document.body.innerText : '').slice(0, 3000), selector: hit};
}"""

EVIDENCE_BODY_CHARS = 300
EVIDENCE_URLS = 8


@dataclass(frozen=True)
class Timeouts:
    """How long the reader waits for the page (seconds)."""

    navigation_s: float = 30.0  # the account page itself (domcontentloaded)
    first_list_s: float = 20.0  # from the page's load to the first list answer
    next_page_s: float = 15.0  # from scrolling / clicking "next" to the next list answer
    wall_grace_s: float = 3.0  # captcha / login text is believed after this long without a list answer
    extras_s: float = 3.0  # side requests (pinned) still in flight when the list is done
    retrigger_s: float = 1.0  # scroll / click again when no list request followed (the page was busy)
    poll_s: float = 0.1


@dataclass(frozen=True)
class Captured:
    """One answer of the page's own requests that we read."""

    kind: str  # "list" or the adapter's name of a side request ("top" …)
    url: str
    status: int
    body: str
    error: str = ""  # the body could not be read (the page navigated away) or the request failed

    def json(self) -> Any | None:
        try:
            return json.loads(self.body)
        except (ValueError, TypeError):
            return None

    def short_body(self) -> str:
        text = self.body if len(self.body) <= EVIDENCE_BODY_CHARS else self.body[:EVIDENCE_BODY_CHARS] + "…"
        return text


@dataclass
class ListPage:
    """What one list answer says, as the adapter parses it."""

    posts: list[Post] = field(default_factory=list)
    has_more: bool = False
    blocked: str = ""  # Chinese reason when the answer is a soft failure
    login_required: bool = False  # the answer says the visitor is not logged in
    evidence: dict[str, Any] = field(default_factory=dict)  # codes seen, cursor …


def clean_text(value: Any) -> str:
    """Plain text of a title or caption: HTML tags and entities removed, whitespace collapsed."""
    if value is None:
        return ""
    text = str(value)
    if "<" in text or "&" in text:
        soup = BeautifulSoup(text, "html.parser")
        for br in soup.find_all("br"):
            br.replace_with(" ")
        text = soup.get_text("")
    return " ".join(text.split())


def from_epoch(value: Any, tz: dt.tzinfo, *, milliseconds: bool = False) -> dt.datetime | None:
    """An epoch number (seconds, or milliseconds) as an aware datetime in ``tz``; None if absent."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number <= 0:
        return None
    if milliseconds:
        number /= 1000.0
    try:
        return dt.datetime.fromtimestamp(number, tz=tz)
    except (OverflowError, OSError, ValueError):
        return None


def site_base(url: str, *, host_prefix: tuple[str, str] | None = None) -> str:
    """``scheme://host[:port]`` of an account URL; ``host_prefix=("space.", "www.")`` swaps a
    leading host label (Bilibili's space pages link to videos on www)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if host_prefix and netloc.startswith(host_prefix[0]):
        netloc = host_prefix[1] + netloc[len(host_prefix[0]) :]
    return f"{parts.scheme}://{netloc}"


def first_json_error(captured: Captured, platform_name: str) -> str:
    """The soft failure every platform shares: HTTP error, empty body, not JSON. Empty if none."""
    if captured.error:
        return f"{platform_name}作品列表请求失败（{captured.error}）"
    if captured.status >= 400:
        return f"{platform_name}作品列表接口返回 HTTP {captured.status}"
    body = captured.body.strip()
    if body == "":
        return f"{platform_name}作品列表接口返回空内容（HTTP {captured.status}，疑似风控拦截）"
    if body.lower() == "blocked":
        return f"{platform_name}作品列表接口返回“blocked”（账号或 IP 被风控拦截）"
    if captured.json() is None:
        return f"{platform_name}作品列表接口返回的不是 JSON（疑似拦截页面）"
    return ""


WallKind = Literal["captcha", "login"]


class BrowserAdapter:
    """Base of the adapters that read an account through its own page in a browser."""

    platform: ClassVar[str] = ""
    platform_name: ClassVar[str] = ""  # Chinese name for messages
    needs_browser: ClassVar[bool] = True
    next_page_selector: ClassVar[str | None] = None  # a "next page" button; None: scroll

    def __init__(self, timeouts: Timeouts | None = None) -> None:
        self.timeouts = timeouts or Timeouts()

    # -- what a platform says ------------------------------------------------------------------

    def page_url(self, account: AccountRef) -> str:
        """The page to open (the account's URL unless the platform lists posts on a sub-page)."""
        return account.url

    def request_kind(self, url: str, method: str, post_data: str | None) -> str | None:
        """``"list"`` for the page's list requests, a side-request name, or None (not ours)."""
        raise NotImplementedError

    def parse_list(self, captured: Captured, account: AccountRef, ctx: ReadContext) -> ListPage:
        raise NotImplementedError

    def merge_side(
        self, posts: list[Post], side: list[Captured], account: AccountRef, ctx: ReadContext, evidence: dict[str, Any]
    ) -> list[Post]:
        """Fold side answers (pinned posts …) into the list; default: nothing to fold."""
        return posts

    # -- the read ------------------------------------------------------------------------------

    async def read(self, account: AccountRef, ctx: ReadContext) -> AccountSnapshot:
        page_url = self.page_url(account)
        if ctx.new_browser_context is None:
            return AccountSnapshot(
                "failed",
                reason=f"未配置浏览器，无法读取{self.platform_name}账号（未监测）",
                evidence={"page": page_url},
                ours=True,
            )
        started = time.monotonic()
        run = _Run(self, account, ctx, page_url)
        try:
            async with ctx.pace.slot():
                kwargs: dict[str, Any] = {}
                if ctx.login_state is not None:
                    kwargs["storage_state"] = dict(ctx.login_state)
                context = await ctx.new_browser_context(**kwargs)
                try:
                    snapshot = await run.go(context)
                finally:
                    await _quietly_close(context)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the browser failed: our side, not the account's
            snapshot = AccountSnapshot(
                "failed",
                posts=run.posts,
                reason=f"浏览器读取{self.platform_name}账号时出错（未监测）：{type(exc).__name__}: {_short(str(exc))}",
                requests=run.requests,
                evidence=run.evidence(),
                ours=True,
            )
        if snapshot.coverage == "blocked":
            ctx.pace.blocked()
        elif run.later_block:
            ctx.pace.blocked()
        snapshot.evidence.setdefault("seconds", round(time.monotonic() - started, 3))
        return snapshot


async def _quietly_close(context: BrowserContext) -> None:
    try:
        await context.close()
    except Exception:  # noqa: BLE001 — the browser may already be gone
        pass


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


class _Run:
    """One read of one account: the page, the answers collected, the decision."""

    def __init__(self, adapter: BrowserAdapter, account: AccountRef, ctx: ReadContext, page_url: str) -> None:
        self.adapter = adapter
        self.account = account
        self.ctx = ctx
        self.page_url = page_url
        self.t = adapter.timeouts
        self.queue: asyncio.Queue[Captured] = asyncio.Queue()
        self.side: list[Captured] = []
        self.pending: set[Request] = set()
        self.posts: list[Post] = []
        self.seen_ids: set[str] = set()
        self.list_urls: list[str] = []
        self.codes: list[dict[str, Any]] = []
        self.requests = 0
        self.final_url = page_url
        self.page_status: int | None = None
        self.later_block = False
        self.extra: dict[str, Any] = {}

    def evidence(self) -> dict[str, Any]:
        ev: dict[str, Any] = {"page": self.page_url, "final_url": self.final_url}
        if self.page_status is not None:
            ev["page_status"] = self.page_status
        if self.list_urls:
            ev["list_requests"] = self.list_urls[:EVIDENCE_URLS]
        if self.codes:
            ev["list_answers"] = self.codes[:EVIDENCE_URLS]
        ev.update(self.extra)
        return ev

    def snapshot(self, coverage: str, reason: str = "", **kw: Any) -> AccountSnapshot:
        return AccountSnapshot(
            coverage,  # type: ignore[arg-type]
            posts=list(self.posts),
            reason=reason,
            requests=self.requests,
            evidence=self.evidence(),
            **kw,
        )

    # -- page events -----------------------------------------------------------------------------

    def _kind(self, request: Request) -> str | None:
        try:
            post_data = request.post_data
        except Exception:  # noqa: BLE001 — binary bodies
            post_data = None
        return self.adapter.request_kind(request.url, request.method, post_data)

    def _on_request(self, request: Request) -> None:
        if request.resource_type not in SKIPPED_RESOURCES:  # those never leave the browser
            self.requests += 1
        if self._kind(request) is not None:
            self.pending.add(request)

    async def _on_response(self, response: Response) -> None:
        request = response.request
        kind = self._kind(request)
        if kind is None:
            return
        if 300 <= response.status < 400:  # the redirected request answers in its turn
            self.pending.discard(request)
            location = response.headers.get("location", "")
            if CAPTCHA_URL.search(location) or LOGIN_URL.search(location):
                self.queue.put_nowait(
                    Captured(kind, response.url, response.status, "", f"被重定向到验证或登录页面 {_short(location, 100)}")
                )
            return
        # Read the body at once: Chromium drops it when the page navigates (playwright #3617).
        try:
            body = await response.text()
            error = ""
        except Exception as exc:  # noqa: BLE001
            body, error = "", f"无法读取响应内容：{_short(str(exc), 80)}"
        self.queue.put_nowait(Captured(kind, response.url, response.status, body, error))
        self.pending.discard(request)

    def _on_request_failed(self, request: Request) -> None:
        kind = self._kind(request)
        self.pending.discard(request)
        if kind is None:
            return
        failure = request.failure or "请求失败"
        if "ERR_ABORTED" in failure:  # the page itself cancelled it (navigation, a newer request)
            return
        self.queue.put_nowait(Captured(kind, request.url, 0, "", _short(failure, 80)))

    @staticmethod
    async def _route(route: Route) -> None:
        if route.request.resource_type in SKIPPED_RESOURCES:
            await route.abort()
        else:
            await route.continue_()

    # -- the read --------------------------------------------------------------------------------

    async def go(self, context: BrowserContext) -> AccountSnapshot:
        page = await context.new_page()
        await page.route("**/*", self._route)
        page.on("request", self._on_request)
        page.on("response", self._on_response)
        page.on("requestfailed", self._on_request_failed)
        try:
            response = await page.goto(
                self.page_url, wait_until="domcontentloaded", timeout=self.t.navigation_s * 1000
            )
        except Exception as exc:  # noqa: BLE001
            name = type(exc).__name__
            self.final_url = page.url
            return self.snapshot(
                "failed", f"打开{self.adapter.platform_name}账号页面失败（未监测）：{name}: {_short(str(exc), 160)}"
            )
        self.final_url = page.url
        if response is not None:
            self.page_status = response.status
            if response.status in (403, 412, 429, 432, 461, 471):
                return self.snapshot(
                    "blocked", f"{self.adapter.platform_name}账号页面返回 HTTP {response.status}（访问被拦截）"
                )
            if response.status >= 400:
                return self.snapshot(
                    "failed", f"{self.adapter.platform_name}账号页面返回 HTTP {response.status}（未能读取）"
                )
        loaded = turned = time.monotonic()
        pages = 0
        deadline = loaded + self.t.first_list_s
        while True:
            captured, wall = await self._next_list(page, deadline, first=pages == 0, since=loaded if pages == 0 else turned)
            if wall is not None:
                return self._wall_snapshot(wall)
            if captured is None:
                if pages == 0:
                    return self.snapshot(
                        "failed",
                        f"{self.adapter.platform_name}账号页面在 {self.t.first_list_s:g} 秒内没有请求作品列表（未监测）",
                    )
                return await self._finish(
                    page, "partial", f"已读 {pages} 页，翻页后 {self.t.next_page_s:g} 秒内平台没有返回下一页，未读到监测起点"
                )
            self.list_urls.append(captured.url)
            parsed = self.adapter.parse_list(captured, self.account, self.ctx)
            self.codes.append({"status": captured.status, **parsed.evidence})
            if parsed.login_required:
                return self._wall_snapshot("login", detail=parsed.blocked)
            if not parsed.blocked and not parsed.posts and parsed.has_more:
                parsed.blocked = f"{self.adapter.platform_name}返回空列表却标明还有更多作品（疑似风控拦截）"
            if parsed.blocked:
                self.extra["blocked_body"] = captured.short_body()
                if pages == 0:
                    return self.snapshot("blocked", parsed.blocked)
                self.later_block = True
                return await self._finish(page, "partial", f"已读 {pages} 页，第 {pages + 1} 页被拦截：{parsed.blocked}")
            pages += 1
            for post in parsed.posts:
                if post.id not in self.seen_ids:
                    self.seen_ids.add(post.id)
                    self.posts.append(post)
            reached = any(not p.pinned and p.published_at < self.ctx.since for p in parsed.posts)
            if reached or not parsed.has_more:
                self.extra["pages"] = pages
                self.extra["ended"] = "since" if reached else "end_of_list"
                return await self._finish(page, "complete")
            if pages >= self.ctx.max_pages:
                self.extra["pages"] = pages
                return await self._finish(
                    page, "partial", f"已读 {pages} 页（上限 {self.ctx.max_pages} 页），仍未读到监测起点之前的作品"
                )
            await self._turn_page(page)
            turned = time.monotonic()
            deadline = turned + self.t.next_page_s

    async def _next_list(
        self, page: Page, deadline: float, *, first: bool, since: float
    ) -> tuple[Captured | None, WallKind | None]:
        """The next list answer (side answers are kept on the way), or a wall on the first page,
        or (None, None) at the deadline. ``since``: when the page loaded or was last turned."""
        while True:
            now = time.monotonic()
            left = deadline - now
            if left <= 0:
                return None, None
            try:
                captured = await asyncio.wait_for(self.queue.get(), timeout=min(left, self.t.poll_s))
            except asyncio.TimeoutError:
                captured = None
            if captured is not None:
                if captured.kind == "list":
                    return captured, None
                self.side.append(captured)
                continue
            if first:
                wall = await self._wall(page, believe_text=time.monotonic() - since >= self.t.wall_grace_s)
                if wall is not None:
                    return None, wall
            elif not self.pending and self.queue.empty() and time.monotonic() - since >= self.t.retrigger_s:
                # The page ignored the scroll (it was still rendering the last page): once more.
                self.extra["page_turns_repeated"] = self.extra.get("page_turns_repeated", 0) + 1
                await self._turn_page(page)
                since = time.monotonic()

    async def _wall(self, page: Page, *, believe_text: bool) -> WallKind | None:
        url = page.url
        self.final_url = url
        path = url.split("://", 1)[-1]
        if CAPTCHA_URL.search(path):
            self.extra["wall_by"] = "url"
            return "captcha"
        if LOGIN_URL.search(path):
            self.extra["wall_by"] = "url"
            return "login"
        if not believe_text:
            return None
        try:
            info = await page.evaluate(WALL_SCRIPT, list(CAPTCHA_SELECTORS))
        except Exception:  # noqa: BLE001 — navigating; look again at the next poll
            return None
        if info.get("selector"):
            self.extra["wall_by"] = "selector"
            self.extra["wall_selector"] = info["selector"]
            return "captcha"
        text = f"{info.get('title', '')}\n{info.get('text', '')}"
        for kind, words in (("captcha", CAPTCHA_TEXT), ("login", LOGIN_TEXT)):
            hit = next((w for w in words if w in text), None)
            if hit:
                self.extra["wall_by"] = "text"
                self.extra["wall_text"] = hit
                self.extra["page_title"] = _short(info.get("title", ""), 80)
                return kind  # type: ignore[return-value]
        return None

    def _wall_snapshot(self, wall: WallKind, detail: str = "") -> AccountSnapshot:
        name = self.adapter.platform_name
        if wall == "captcha":
            return self.snapshot("blocked", f"{name}显示验证码页面（人机验证拦截），未能读取作品列表")
        suffix = f"（{detail}）" if detail else ""
        if self.ctx.login_state is not None:
            return self.snapshot(
                "failed",
                f"保存的{name}登录已失效，页面要求重新登录{suffix}；请运行 govmon login 重新登录",
                login_expired=True,
            )
        return self.snapshot("failed", f"{name}要求登录后才能查看该账号{suffix}；请运行 govmon login 登录（未监测）")

    async def _turn_page(self, page: Page) -> None:
        selector = self.adapter.next_page_selector
        if selector:
            button = page.locator(selector).first
            try:
                if await button.count() and await button.is_visible():
                    await button.click(timeout=self.t.next_page_s * 1000)
                    return
            except Exception:  # noqa: BLE001 — fall back to scrolling
                pass
        # Up a little first: a page already at the bottom sees no scroll event from scrolling there.
        await page.evaluate("() => window.scrollBy(0, -400)")
        await page.mouse.wheel(0, 2400)
        await page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")

    async def _finish(self, page: Page, coverage: str, reason: str = "") -> AccountSnapshot:
        # Side requests (pinned …) still in flight get a short moment.
        deadline = time.monotonic() + self.t.extras_s
        while self.pending and time.monotonic() < deadline:
            await asyncio.sleep(self.t.poll_s / 2)
        while not self.queue.empty():
            captured = self.queue.get_nowait()
            if captured.kind != "list":
                self.side.append(captured)
        if self.side:
            self.posts = self.adapter.merge_side(self.posts, self.side, self.account, self.ctx, self.extra)
        return self.snapshot(coverage, reason)


def mapping(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a JSON object, else an empty one (answers drift: never KeyError)."""
    return value if isinstance(value, dict) else {}

"""Bilibili (哔哩哔哩): the space video page ``/{mid}/video`` and its own calls.

List (PLATFORMS.md §1.3): ``GET /x/space/wbi/arc/search`` (the page adds the WBI ``w_rid``/``wts``
signature) → ``{"code": 0, "data": {"list": {"vlist": [...]}, "page": {"pn", "ps", "count"}}}``;
each video has ``bvid``/``aid``, ``title``, ``created`` (epoch seconds). The page has a pager:
the next page comes from its "下一页" button. The pinned video is not in that list: the page
asks ``GET /x/space/top/arc?vmid=`` (``code 53016`` = none), and it is listed first, pinned.
Soft failures: ``code -352`` (风控校验失败), ``-412`` / HTTP 412 (request intercepted), ``-101``
(not logged in).

Many government accounts post text and pictures as dynamics (动态) rather than videos. An account
registered with its dynamics page (``/{mid}/dynamic``) is read from that page's own
``GET /x/polymer/web-dynamic/v1/feed/space`` calls → ``data.items[]`` with ``id_str``,
``modules.module_author.pub_ts`` (epoch seconds), the text in ``modules.module_dynamic``
(``desc.text``, or ``major.opus`` / ``major.archive`` / ``major.article``), pinned when
``modules.module_tag.text == "置顶"``; paging by ``data.has_more`` / ``data.offset`` on scrolling.
The dynamics include the video uploads, so that page is the better measure of "last update".
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping
from urllib.parse import urlsplit, urlunsplit

from govmon.crawler.accounts.base import AccountRef, Post, ReadContext
from govmon.crawler.accounts.browser_page import (
    BrowserAdapter,
    Captured,
    ListPage,
    clean_text,
    first_json_error,
    from_epoch,
    mapping,
    site_base,
)

LIST_PATHS = ("/x/space/wbi/arc/search", "/x/space/arc/search")
TOP_PATH = "/x/space/top/arc"
DYNAMIC_PATH = "/x/polymer/web-dynamic/v1/feed/space"
PINNED_TAG = "置顶"
NO_TOP_CODE = 53016
NOT_LOGGED_IN = -101
CODE_REASONS = {-352: "风控校验失败", -412: "请求被拦截", -799: "请求过于频繁", -509: "请求过于频繁"}


class BilibiliAdapter(BrowserAdapter):
    platform: ClassVar[str] = "bilibili"
    platform_name: ClassVar[str] = "哔哩哔哩"
    next_page_selector: ClassVar[str | None] = ".be-pager-next, .vui_pagenation--btn-side:has-text('下一页')"

    def page_url(self, account: AccountRef) -> str:
        parts = urlsplit(account.url)
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) == 1 and segments[0].isdigit():  # https://space.bilibili.com/{mid}
            return urlunsplit((parts.scheme, parts.netloc, f"/{segments[0]}/video", parts.query, ""))
        return account.url

    def request_kind(self, url: str, method: str, post_data: str | None) -> str | None:
        path = url.split("?", 1)[0]
        if any(path.endswith(p) for p in LIST_PATHS) or path.endswith(DYNAMIC_PATH):
            return "list"
        if path.endswith(TOP_PATH):
            return "top"
        return None

    def _video(self, item: Any, account: AccountRef, ctx: ReadContext, *, time_key: str, pinned: bool) -> Post | None:
        item = mapping(item)
        bvid = str(item.get("bvid") or item.get("aid") or "")
        published = from_epoch(item.get(time_key) or item.get("pubdate") or item.get("created"), ctx.timezone)
        if not bvid or published is None:
            return None
        base = site_base(account.url, host_prefix=("space.", "www."))
        return Post(
            id=bvid,
            text=clean_text(item.get("title") or item.get("description") or ""),
            url=f"{base}/video/{bvid}",
            published_at=published,
            pinned=pinned,
        )

    def parse_list(self, captured: Captured, account: AccountRef, ctx: ReadContext) -> ListPage:
        if captured.status == 412:
            return ListPage(blocked="哔哩哔哩返回 HTTP 412（请求被拦截，疑似访问过于频繁）", evidence={"http": 412})
        error = first_json_error(captured, self.platform_name)
        if error:
            return ListPage(blocked=error)
        data = mapping(captured.json())
        code = data.get("code")
        if code == NOT_LOGGED_IN:
            return ListPage(login_required=True, blocked="code -101 账号未登录", evidence={"code": code})
        if code != 0:
            message = clean_text(data.get("message") or CODE_REASONS.get(code, ""))  # type: ignore[arg-type]
            return ListPage(
                blocked=f"哔哩哔哩返回 code {code}" + (f"（{message}）" if message else ""), evidence={"code": code}
            )
        body = mapping(data.get("data"))
        if DYNAMIC_PATH in captured.url.split("?", 1)[0]:
            if "items" not in body:
                return ListPage(blocked="哔哩哔哩返回的内容不是动态列表（缺少 data.items）", evidence={"code": code})
            return self._dynamics(body, account, ctx)
        if "list" not in body:
            return ListPage(blocked="哔哩哔哩返回的内容不是投稿列表（缺少 data.list）", evidence={"code": code})
        posts: list[Post] = []
        untimed = 0
        for item in mapping(body.get("list")).get("vlist") or []:
            post = self._video(item, account, ctx, time_key="created", pinned=False)
            if post is None:
                untimed += 1
            else:
                posts.append(post)
        page = mapping(body.get("page"))
        try:
            has_more = int(page.get("pn", 0)) * int(page.get("ps", 0)) < int(page.get("count", 0))
        except (TypeError, ValueError):
            has_more = False
        evidence: dict[str, Any] = {"code": code, "items": len(posts), "page": dict(page)}
        if untimed:
            evidence["items_without_time"] = untimed
        return ListPage(posts=posts, has_more=has_more, evidence=evidence)

    def _dynamics(self, body: Mapping[str, Any], account: AccountRef, ctx: ReadContext) -> ListPage:
        base = site_base(account.url, host_prefix=("space.", "t."))
        posts: list[Post] = []
        untimed = 0
        for item in body.get("items") or []:
            item = mapping(item)
            modules = mapping(item.get("modules"))
            dynamic_id = str(item.get("id_str") or "")
            published = from_epoch(mapping(modules.get("module_author")).get("pub_ts"), ctx.timezone)
            if not dynamic_id or published is None:
                untimed += 1
                continue
            posts.append(
                Post(
                    id=dynamic_id,
                    text=clean_text(_dynamic_text(mapping(modules.get("module_dynamic")))),
                    url=f"{base}/{dynamic_id}",
                    published_at=published,
                    pinned=mapping(modules.get("module_tag")).get("text") == PINNED_TAG,
                )
            )
        evidence: dict[str, Any] = {"code": 0, "items": len(posts), "has_more": body.get("has_more"), "offset": body.get("offset")}
        if untimed:
            evidence["items_without_time"] = untimed
        return ListPage(posts=posts, has_more=bool(body.get("has_more")), evidence=evidence)

    def merge_side(
        self, posts: list[Post], side: list[Captured], account: AccountRef, ctx: ReadContext, evidence: dict[str, Any]
    ) -> list[Post]:
        pinned: Post | None = None
        for captured in side:
            if captured.kind != "top":
                continue
            data = mapping(captured.json())
            code = data.get("code")
            evidence["top_code"] = code if code is not None else f"HTTP {captured.status}"
            if code == 0:
                pinned = self._video(data.get("data"), account, ctx, time_key="pubdate", pinned=True)
        if pinned is None:
            return posts
        return [pinned, *(p for p in posts if p.id != pinned.id)]


def _dynamic_text(module: Mapping[str, Any]) -> str:
    """The words of a dynamic: its own text, else its opus summary / title, else the video or
    article title it announces."""
    desc = mapping(module.get("desc")).get("text")
    if desc:
        return str(desc)
    major = mapping(module.get("major"))
    opus = mapping(major.get("opus"))
    for value in (
        mapping(opus.get("summary")).get("text"),
        opus.get("title"),
        mapping(major.get("archive")).get("title"),
        mapping(major.get("article")).get("title"),
    ):
        if value:
            return str(value)
    return ""

"""Toutiao (今日头条): the user page ``/c/user/token/{token}/`` and its own ``/api/pc/list/feed`` calls.

Answer (PLATFORMS.md §1.6, RSSHub ``toutiao/types.ts``): ``{"message": "success", "data":
[...], "has_more": bool, "next": {"max_behot_time": …}}``; each item has ``id`` / ``item_id`` /
``group_id``, ``title``, ``abstract``, ``content`` (微头条 text), ``publish_time`` (epoch seconds),
``cell_type`` (0/49 video, 32 微头条, 60 article), ``ban_comment`` (true: comments are closed
on it; also ``itemCell.actionCtrl.banComment``) — read into ``Post.comments_open``, None when
absent. Pinned items are recognised by ``is_top`` / ``is_stick`` / a non-empty ``stick_label`` —
field names not confirmed in a public source, the recorded fixture pins them down. An empty
``data`` with ``has_more`` false is an account without posts (RSSHub: "暂未发表作品"); an empty
body, a non-``success`` message or no ``data`` is a refusal.
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

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

LIST_PATH = "/api/pc/list/feed"
LINK_BY_CELL = {32: "w", 0: "video", 49: "video", 60: "article"}


class ToutiaoAdapter(BrowserAdapter):
    platform: ClassVar[str] = "toutiao"
    platform_name: ClassVar[str] = "今日头条"

    def request_kind(self, url: str, method: str, post_data: str | None) -> str | None:
        return "list" if LIST_PATH in url.split("?", 1)[0] else None

    def parse_list(self, captured: Captured, account: AccountRef, ctx: ReadContext) -> ListPage:
        error = first_json_error(captured, self.platform_name)
        if error:
            return ListPage(blocked=error)
        data = mapping(captured.json())
        message = data.get("message")
        items = data.get("data")
        if (message is not None and message != "success") or not isinstance(items, list):
            shown = clean_text(message or "无 data 字段")
            return ListPage(blocked=f"今日头条返回 {shown}（未给出作品列表）", evidence={"message": message})
        base = site_base(account.url)
        posts: list[Post] = []
        untimed = 0
        for item in items:
            item = mapping(item)
            post_id = str(item.get("id") or item.get("item_id") or item.get("group_id") or "")
            published = from_epoch(item.get("publish_time"), ctx.timezone)
            if not post_id or published is None:
                untimed += 1
                continue
            text = item.get("title") or item.get("abstract") or item.get("content") or ""
            kind = LINK_BY_CELL.get(item.get("cell_type"), "article")  # type: ignore[arg-type]
            posts.append(
                Post(
                    id=post_id,
                    text=clean_text(text),
                    url=f"{base}/{kind}/{post_id}/",
                    published_at=published,
                    pinned=bool(item.get("is_top") or item.get("is_stick") or item.get("stick_label")),
                    comments_open=comments_open(item),
                )
            )
        evidence: dict[str, Any] = {"message": message, "items": len(posts), "has_more": data.get("has_more")}
        next_ = mapping(data.get("next"))
        if "max_behot_time" in next_:
            evidence["max_behot_time"] = next_["max_behot_time"]
        if untimed:
            evidence["items_without_time"] = untimed
        return ListPage(posts=posts, has_more=bool(data.get("has_more")), evidence=evidence)


def comments_open(item: Mapping[str, Any]) -> bool | None:
    """Whether a feed item is open to comments, as its own answer says (``ban_comment``, else
    ``itemCell.actionCtrl.banComment``); None when neither is a boolean."""
    banned = item.get("ban_comment")
    if not isinstance(banned, bool):
        banned = mapping(mapping(item.get("itemCell")).get("actionCtrl")).get("banComment")
    return (not banned) if isinstance(banned, bool) else None

"""Douyin (抖音): the user page ``/user/{sec_user_id}`` and its own ``/aweme/v1/web/aweme/post/`` calls.

Answer (PLATFORMS.md §1.2): ``{"status_code": 0, "aweme_list": [...], "has_more": 0|1,
"max_cursor": …}``; each aweme has ``aweme_id``, ``desc``, ``create_time`` (epoch seconds),
``is_top`` (1 = pinned, shown first whatever its age) and ``aweme_type`` (68 = image post), and
``aweme_control.can_comment`` (false: readers may not comment on it; ``comment_permission_info
.can_comment`` says the same) — read into ``Post.comments_open``, None when the item leaves it out.
Soft failures: HTTP 200 with an empty body or the word ``blocked``, a non-zero ``status_code``,
the "验证码中间页" captcha page.
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

LIST_PATH = "/aweme/v1/web/aweme/post/"
IMAGE_POST_TYPES = frozenset({68})


class DouyinAdapter(BrowserAdapter):
    platform: ClassVar[str] = "douyin"
    platform_name: ClassVar[str] = "抖音"

    def request_kind(self, url: str, method: str, post_data: str | None) -> str | None:
        return "list" if LIST_PATH in url.split("?", 1)[0] else None

    def parse_list(self, captured: Captured, account: AccountRef, ctx: ReadContext) -> ListPage:
        error = first_json_error(captured, self.platform_name)
        if error:
            return ListPage(blocked=error)
        data = mapping(captured.json())
        status = data.get("status_code", 0)
        if status not in (0, None):
            message = clean_text(data.get("status_msg") or data.get("message") or "")
            return ListPage(
                blocked=f"抖音返回 status_code {status}" + (f"（{message}）" if message else ""),
                evidence={"status_code": status},
            )
        if "aweme_list" not in data:
            return ListPage(blocked="抖音返回的内容不是作品列表（缺少 aweme_list）", evidence={"keys": sorted(data)[:10]})
        base = site_base(account.url)
        posts: list[Post] = []
        untimed = 0
        for item in data.get("aweme_list") or []:
            item = mapping(item)
            aweme_id = str(item.get("aweme_id") or "")
            published = from_epoch(item.get("create_time"), ctx.timezone)
            if not aweme_id or published is None:
                untimed += 1
                continue
            kind = "note" if item.get("aweme_type") in IMAGE_POST_TYPES else "video"
            text = item.get("desc") or item.get("item_title") or item.get("caption") or ""
            posts.append(
                Post(
                    id=aweme_id,
                    text=clean_text(text),
                    url=f"{base}/{kind}/{aweme_id}",
                    published_at=published,
                    pinned=bool(item.get("is_top")),
                    comments_open=can_comment(item),
                )
            )
        evidence: dict[str, Any] = {"status_code": status, "items": len(posts), "has_more": data.get("has_more")}
        if "max_cursor" in data:
            evidence["max_cursor"] = data.get("max_cursor")
        if untimed:
            evidence["items_without_time"] = untimed
        return ListPage(posts=posts, has_more=bool(data.get("has_more")), evidence=evidence)


def can_comment(item: Mapping[str, Any]) -> bool | None:
    """Whether an aweme is open to comments, as its own answer says (``aweme_control.can_comment``,
    else ``comment_permission_info.can_comment``); None when neither is a boolean."""
    for holder in ("aweme_control", "comment_permission_info"):
        value = mapping(item.get(holder)).get("can_comment")
        if isinstance(value, bool):
            return value
    return None

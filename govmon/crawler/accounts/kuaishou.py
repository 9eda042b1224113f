"""Kuaishou (快手): the profile page ``/profile/{user_id}`` and its own feed calls.

Two shapes (PLATFORMS.md §1.4): the REST ``POST /rest/v/profile/feed`` answer
``{"result": 1, "pcursor": "…", "feeds": [...]}`` and the older GraphQL ``POST /graphql``
(``operationName: visionProfilePhotoList``) answer ``{"data": {"visionProfilePhotoList":
{"result": 1, "pcursor": …, "feeds": [...]}}}``. Each feed has ``photo.id``, ``photo.caption``,
``photo.timestamp`` (epoch **milliseconds**) and ``photo.profileUserTopPhoto`` (pinned). Paging
ends at ``pcursor == "no_more"``. ``result`` must be 1: ``50`` is a signature refusal
("签名验证失败"), ``2`` rate limiting — both look like an empty list if unchecked.
"""

from __future__ import annotations

from typing import Any, ClassVar

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

REST_PATH = "/rest/v/profile/feed"
GRAPHQL_PATH = "/graphql"
GRAPHQL_OPERATION = "visionProfilePhotoList"
RESULT_REASONS = {50: "签名验证失败", 2: "请求过于频繁被限流"}


class KuaishouAdapter(BrowserAdapter):
    platform: ClassVar[str] = "kuaishou"
    platform_name: ClassVar[str] = "快手"

    def request_kind(self, url: str, method: str, post_data: str | None) -> str | None:
        path = url.split("?", 1)[0]
        if path.endswith(REST_PATH):
            return "list"
        if path.endswith(GRAPHQL_PATH) and GRAPHQL_OPERATION in (post_data or ""):
            return "list"
        return None

    def parse_list(self, captured: Captured, account: AccountRef, ctx: ReadContext) -> ListPage:
        error = first_json_error(captured, self.platform_name)
        if error:
            return ListPage(blocked=error)
        data = mapping(captured.json())
        if "data" in data and "result" not in data:  # GraphQL
            errors = data.get("errors")
            body = mapping(mapping(data.get("data")).get(GRAPHQL_OPERATION))
            if errors or not body:
                shown = clean_text(mapping((errors or [{}])[0]).get("message") or "无作品列表")
                return ListPage(blocked=f"快手返回错误（{shown}）", evidence={"errors": str(errors)[:120]})
            data = dict(body)
        result = data.get("result")
        if result != 1:
            message = clean_text(data.get("error_msg") or RESULT_REASONS.get(result, "") or "")  # type: ignore[arg-type]
            return ListPage(
                blocked=f"快手返回 result {result}" + (f"（{message}）" if message else ""),
                evidence={"result": result},
            )
        if "feeds" not in data:
            return ListPage(blocked="快手返回的内容不是作品列表（缺少 feeds）", evidence={"result": result})
        base = site_base(account.url)
        posts: list[Post] = []
        untimed = 0
        for feed in data.get("feeds") or []:
            photo = mapping(mapping(feed).get("photo"))
            photo_id = str(photo.get("id") or "")
            published = from_epoch(photo.get("timestamp"), ctx.timezone, milliseconds=True)
            if not photo_id or published is None:
                untimed += 1
                continue
            posts.append(
                Post(
                    id=photo_id,
                    text=clean_text(photo.get("caption") or photo.get("originCaption") or ""),
                    url=f"{base}/short-video/{photo_id}",
                    published_at=published,
                    pinned=bool(photo.get("profileUserTopPhoto")),
                )
            )
        pcursor = data.get("pcursor")
        evidence: dict[str, Any] = {"result": result, "items": len(posts), "pcursor": pcursor}
        if untimed:
            evidence["items_without_time"] = untimed
        return ListPage(posts=posts, has_more=bool(pcursor) and pcursor != "no_more", evidence=evidence)

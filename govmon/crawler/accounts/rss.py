"""Feeds: RSS 2.0, Atom and JSON Feed (also what RSSHub serves for many platforms).

The account URL is the feed URL (redirects followed, at most 5). A feed does not page: one
request, ``complete`` when the feed parses and its items carry times; a feed with no items at all
is ``failed`` (a dead route lists nothing, and nothing proves no post). HTTP 403/429/503 (and RSSHub's own refusals) are ``blocked``;
other errors, a body that is not a feed, or a feed whose items have no time (RSSHub's Kuaishou
route, PLATFORMS.md §0.9) are ``failed`` — a feed without times can never prove staleness.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar
from xml.etree import ElementTree

import httpx

from govmon.crawler.accounts.base import AccountRef, AccountSnapshot, Post, ReadContext
from govmon.crawler.accounts.browser_page import clean_text
from govmon.crawler.accounts.feed_time import parse_feed_time
from govmon.crawler.accounts.http import Fetcher, short

BLOCK_STATUSES = frozenset({403, 429, 503})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
ATOM = "{http://www.w3.org/2005/Atom}"


class FeedError(ValueError):
    """The body is not a feed this adapter understands."""


def _text(element: ElementTree.Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def parse_feed(body: bytes, content_type: str = "") -> list[dict[str, Any]]:
    """Raw items (``id``, ``title``, ``url``, ``time``) of an RSS 2.0, Atom or JSON Feed body."""
    stripped = body.lstrip()
    if stripped.startswith(b"{") or "json" in content_type:
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise FeedError("JSON 无法解析") from exc
        if not isinstance(data, dict) or not str(data.get("version", "")).startswith("https://jsonfeed.org/"):
            raise FeedError("不是 JSON Feed（缺少 version）")
        items = data.get("items")
        if not isinstance(items, list):
            raise FeedError("JSON Feed 缺少 items")
        return [
            {
                "id": str(it.get("id") or it.get("url") or ""),
                "title": it.get("title") or it.get("content_text") or it.get("content_html") or "",
                "url": it.get("url"),
                "time": it.get("date_published") or it.get("date_modified"),
            }
            for it in items
            if isinstance(it, dict)
        ]
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise FeedError(f"XML 无法解析（{exc}）") from exc
    if root.tag == "rss":
        channel = root.find("channel")
        if channel is None:
            raise FeedError("RSS 缺少 channel")
        return [
            {
                "id": _text(item.find("guid")) or _text(item.find("link")) or _text(item.find("title")),
                "title": _text(item.find("title")) or _text(item.find("description")),
                "url": _text(item.find("link")) or None,
                "time": _text(item.find("pubDate")) or _text(item.find("{http://purl.org/dc/elements/1.1/}date")),
            }
            for item in channel.findall("item")
        ]
    if root.tag == f"{ATOM}feed":
        items = []
        for entry in root.findall(f"{ATOM}entry"):
            link = None
            for candidate in entry.findall(f"{ATOM}link"):
                if candidate.get("rel", "alternate") == "alternate":
                    link = candidate.get("href")
                    break
            items.append(
                {
                    "id": _text(entry.find(f"{ATOM}id")) or link or "",
                    "title": _text(entry.find(f"{ATOM}title")),
                    "url": link,
                    "time": _text(entry.find(f"{ATOM}published")) or _text(entry.find(f"{ATOM}updated")),
                }
            )
        return items
    raise FeedError(f"不认识的根元素 <{root.tag}>")


class RssAdapter:
    platform: ClassVar[str] = "rss"
    needs_browser: ClassVar[bool] = False

    async def read(self, account: AccountRef, ctx: ReadContext) -> AccountSnapshot:
        fetch = Fetcher(ctx)
        evidence: dict[str, Any] = {"url": account.url}
        url, redirects = account.url, []
        try:
            while True:
                response = await fetch.get(url, headers={"Accept": "application/rss+xml, application/atom+xml, application/feed+json, */*"})
                location = response.headers.get("location")
                if response.status_code not in REDIRECTS or not location:
                    break
                if len(redirects) >= MAX_REDIRECTS:
                    return AccountSnapshot("failed", reason=f"订阅源重定向超过 {MAX_REDIRECTS} 次", requests=fetch.requests, evidence={**evidence, "redirects": redirects})
                url = str(response.url.join(location))
                redirects.append([response.status_code, url])
        except httpx.HTTPError as exc:
            return AccountSnapshot("failed", reason=f"无法连接订阅源：{type(exc).__name__}", requests=fetch.requests, evidence={**evidence, "error": str(exc)[:200]})
        if redirects:
            evidence["redirects"] = redirects
        evidence["status"] = response.status_code
        if response.status_code in BLOCK_STATUSES:
            ctx.pace.blocked()
            return AccountSnapshot("blocked", reason=f"订阅源拒绝访问（HTTP {response.status_code}）", requests=fetch.requests, evidence={**evidence, "body": short(response.text)})
        if response.status_code != 200:
            return AccountSnapshot("failed", reason=f"订阅源返回 HTTP {response.status_code}", requests=fetch.requests, evidence={**evidence, "body": short(response.text)})
        if not response.content.strip():
            ctx.pace.blocked()
            return AccountSnapshot("blocked", reason="订阅源返回空内容（HTTP 200）", requests=fetch.requests, evidence=evidence)
        try:
            raw = parse_feed(response.content, response.headers.get("content-type", ""))
        except FeedError as exc:
            return AccountSnapshot("failed", reason=f"订阅源内容无法解析：{exc}", requests=fetch.requests, evidence={**evidence, "body": short(response.text)})
        posts: list[Post] = []
        untimed = 0
        for item in raw:
            published = parse_feed_time(item["time"], ctx.timezone)
            if published is None or not item["id"]:
                untimed += 1
                continue
            posts.append(Post(id=item["id"], text=clean_text(item["title"]), url=item["url"], published_at=published))
        posts.sort(key=lambda p: p.published_at, reverse=True)
        evidence.update(items=len(raw))
        if untimed:
            evidence["items_without_time"] = untimed
        if not raw:  # a feed that lists nothing: more often a dead route than a silent account
            return AccountSnapshot("failed", reason="订阅源没有任何条目（订阅地址或 RSSHub 路由可能已失效），无法判断更新情况", requests=fetch.requests, evidence=evidence)
        if not posts:
            return AccountSnapshot("failed", reason=f"订阅源的 {untimed} 条内容都没有发布时间，无法判断更新情况", requests=fetch.requests, evidence=evidence)
        coverage = "partial" if untimed else "complete"
        reason = f"订阅源有 {untimed} 条内容没有发布时间" if untimed else ""
        return AccountSnapshot(coverage, posts=posts, reason=reason, requests=fetch.requests, evidence=evidence)

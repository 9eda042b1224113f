"""The one HTTP client of the httpx adapters (rss, weibo, wechat) and the helpers they share.

Every request carries the honest govmon User-Agent of ``crawl.user_agent`` (with the office's
contact, see config) and goes through the platform's :class:`Pace` slot.
"""

from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import urlsplit

import httpx

from govmon.crawler.accounts.base import ReadContext
from govmon.crawler.tls import verified_context


def new_http_client(user_agent: str, timeout_s: float = 15.0) -> httpx.AsyncClient:
    """The AsyncClient every httpx adapter reads with (one per scan)."""
    return httpx.AsyncClient(
        verify=verified_context(),
        headers={"User-Agent": user_agent, "Accept-Language": "zh-CN,zh;q=0.9"},
        timeout=httpx.Timeout(timeout_s),
        follow_redirects=False,
        trust_env=False,
    )


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def cookie_header(login_state: Mapping[str, Any] | None, url: str) -> str:
    """The ``Cookie`` header for ``url`` from a Playwright storage_state (domain-matched)."""
    if not login_state:
        return ""
    host = host_of(url)
    pairs: list[str] = []
    for cookie in login_state.get("cookies") or ():
        if not isinstance(cookie, Mapping) or not cookie.get("name"):
            continue
        domain = str(cookie.get("domain") or "").lstrip(".").lower()
        if domain and not (host == domain or host.endswith("." + domain)):
            continue
        pairs.append(f"{cookie['name']}={cookie.get('value', '')}")
    return "; ".join(pairs)


def local_storage_value(login_state: Mapping[str, Any] | None, name: str) -> str | None:
    """A localStorage value of any origin in a Playwright storage_state."""
    for origin in (login_state or {}).get("origins") or ():
        for item in (origin or {}).get("localStorage") or ():
            if isinstance(item, Mapping) and item.get("name") == name:
                return str(item.get("value"))
    return None


class Fetcher:
    """Requests of one read: paced, counted, and their URLs kept as evidence."""

    def __init__(self, ctx: ReadContext) -> None:
        self.ctx = ctx
        self.requests = 0
        self.urls: list[str] = []

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async with self.ctx.pace.slot():
            self.requests += 1
            self.urls.append(url)
            return await self.ctx.http.request(method, url, **kwargs)

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", url, **kwargs)


def short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"

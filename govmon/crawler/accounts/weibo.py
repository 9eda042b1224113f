"""Weibo (微博) through m.weibo.cn's ``/api/container/getIndex`` (PLATFORMS.md §1.1).

Account URL ``https://m.weibo.cn/u/{uid}`` (or ``/profile/{uid}``, ``weibo.com/u/{uid}``). The list
is ``getIndex?type=uid&value={uid}&containerid=107603{uid}&since_id=…``: ``{"ok":1, "data":
{"cardlistInfo": {"since_id": …}, "cards": [{"card_type": 9, "mblog": {…}}]}}``. Cookies: a saved
login (``govmon login weibo``) when there is one, otherwise the visitor flow (``genvisitor`` →
``visitor?a=incarnate`` sets ``SUB``/``SUBP``). ``ok`` other than 1, HTTP 432/403/418, an empty
body or a login redirect are refusals (``blocked``), never an account without posts; a refusal
with a saved login is a login that expired (``failed``, ``login_expired``).

Pinned posts (``mblogtype == 2``, ``profile_type_id`` starting ``proweibotop``, ``title.text ==
"置顶"``) are kept but do not end the paging: it stops at the first ordinary post older than
``ctx.since``.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit

import httpx

from govmon.crawler.accounts.base import AccountRef, AccountSnapshot, Post, ReadContext
from govmon.crawler.accounts.browser_page import clean_text, mapping, site_base
from govmon.crawler.accounts.feed_time import parse_weibo_time
from govmon.crawler.accounts.http import Fetcher, cookie_header, short

REAL_HOSTS = ("m.weibo.cn", "weibo.com", "www.weibo.com", "weibo.cn")
REAL_VISITOR_BASE = "https://visitor.passport.weibo.cn"
BLOCK_STATUSES = frozenset({403, 418, 429, 432})


def weibo_uid(url: str) -> str | None:
    match = re.search(r"/(?:u|profile)/(\d+)", urlsplit(url).path) or re.fullmatch(r"/(\d+)/?", urlsplit(url).path)
    return match[1] if match else None


def is_pinned(card: dict[str, Any], mblog: dict[str, Any]) -> bool:
    title = mapping(mblog.get("title"))
    return (
        mblog.get("mblogtype") == 2
        or str(card.get("profile_type_id") or "").startswith("proweibotop")
        or title.get("text") == "置顶"
    )


class WeiboAdapter:
    platform: ClassVar[str] = "weibo"
    needs_browser: ClassVar[bool] = False

    async def read(self, account: AccountRef, ctx: ReadContext) -> AccountSnapshot:
        fetch = Fetcher(ctx)
        uid = weibo_uid(account.url)
        if uid is None:
            return AccountSnapshot("failed", reason=f"微博账号地址中找不到用户编号（uid）：{account.url}；请填写形如 https://m.weibo.cn/u/1234567890 的地址")
        host = (urlsplit(account.url).hostname or "").lower()
        real = host in REAL_HOSTS
        base = "https://m.weibo.cn" if real else site_base(account.url)
        saved = cookie_header(ctx.login_state, base + "/")
        evidence: dict[str, Any] = {"uid": uid, "login": "saved" if saved else "visitor"}
        try:
            cookies = saved or await self._visitor_cookies(fetch, REAL_VISITOR_BASE if real else base, evidence)
        except httpx.HTTPError as exc:
            return AccountSnapshot("failed", reason=f"无法连接微博：{type(exc).__name__}", requests=fetch.requests, evidence={**evidence, "error": str(exc)[:200]})
        headers = {"Referer": base + "/", "MWeibo-Pwa": "1", "X-Requested-With": "XMLHttpRequest"}
        if cookies:
            headers["Cookie"] = cookies
        posts: list[Post] = []
        since_id: Any = None
        pages: list[dict[str, Any]] = []
        for page in range(1, ctx.max_pages + 1):
            params = {"type": "uid", "value": uid, "containerid": f"107603{uid}"}
            if since_id:
                params["since_id"] = str(since_id)
            url = f"{base}/api/container/getIndex?{urlencode(params)}"
            try:
                response = await fetch.get(url, headers=headers)
            except httpx.HTTPError as exc:
                reason = f"无法连接微博：{type(exc).__name__}"
                return self._stopped(posts, "failed", reason, fetch, evidence, pages, login_expired=False)
            refusal = self._refusal(response)
            if refusal:
                ctx.pace.blocked()
                pages.append({"page": page, "status": response.status_code, "body": short(response.text)})
                if saved:
                    reason = f"微博登录已过期（{refusal}）；请运行 govmon login weibo 重新登录"
                    return self._stopped(posts, "failed", reason, fetch, evidence, pages, login_expired=True)
                return self._stopped(posts, "blocked", f"微博拒绝访问：{refusal}", fetch, evidence, pages, login_expired=False)
            data = mapping(response.json().get("data"))
            cards = data.get("cards") or []
            page_posts = []
            for card in cards:
                card = mapping(card)
                if card.get("card_type") != 9:
                    continue
                mblog = mapping(card.get("mblog"))
                post_id = str(mblog.get("idstr") or mblog.get("id") or mblog.get("mid") or "")
                published = parse_weibo_time(mblog.get("created_at"), ctx.timezone, ctx.now)
                if not post_id or published is None:
                    continue
                bid = mblog.get("bid") or ""
                page_posts.append(
                    Post(
                        id=post_id,
                        text=clean_text(mblog.get("text")),
                        url=f"{base}/status/{bid or post_id}",
                        published_at=published,
                        pinned=is_pinned(dict(card), dict(mblog)),
                    )
                )
            since_id = mapping(data.get("cardlistInfo")).get("since_id")
            pages.append({"page": page, "status": 200, "ok": 1, "posts": len(page_posts), "since_id": since_id})
            posts.extend(page_posts)
            ordinary = [p for p in page_posts if not p.pinned]
            if any(p.published_at < ctx.since for p in ordinary) or not since_id:
                evidence["pages"] = pages
                return AccountSnapshot("complete", posts=posts, requests=fetch.requests, evidence=evidence)
        evidence["pages"] = pages
        return AccountSnapshot("partial", posts=posts, reason=f"已读 {ctx.max_pages} 页仍未到达检查起点，更早的微博未读取", requests=fetch.requests, evidence=evidence)

    @staticmethod
    def _refusal(response: httpx.Response) -> str:
        if response.status_code in BLOCK_STATUSES:
            return f"HTTP {response.status_code}"
        if 300 <= response.status_code < 400:
            return f"跳转到 {response.headers.get('location', '')[:120]}（登录或验证页面）"
        if response.status_code != 200:
            return f"HTTP {response.status_code}"
        if not response.content.strip():
            return "返回空内容（HTTP 200）"
        try:
            body = response.json()
        except (ValueError, json.JSONDecodeError):
            return "返回的不是 JSON（可能是验证码或登录页面）"
        if not isinstance(body, dict):
            return "返回内容格式异常"
        if body.get("ok") != 1:
            msg = clean_text(body.get("msg") or body.get("url") or "")
            return f"ok:{body.get('ok')}" + (f"，{msg}" if msg else "")
        if not isinstance(mapping(body.get("data")).get("cards"), list):
            return "返回内容缺少 cards 列表"
        return ""

    @staticmethod
    async def _visitor_cookies(fetch: Fetcher, visitor_base: str, evidence: dict[str, Any]) -> str:
        """Anonymous ``SUB``/``SUBP`` cookies from the visitor flow; empty if it did not give any."""
        gen = await fetch.request("POST", f"{visitor_base}/visitor/genvisitor", data={"cb": "gen_callback"})
        try:
            tid = mapping(mapping(unwrap_jsonp(gen.text)).get("data")).get("tid")
        except ValueError:
            tid = None
        if gen.status_code != 200 or not tid:
            evidence["visitor"] = f"genvisitor HTTP {gen.status_code}"
            return ""
        incarnate = await fetch.get(f"{visitor_base}/visitor/visitor?{urlencode({'a': 'incarnate', 't': tid})}")
        cookies = {name: value for name, value in incarnate.cookies.items() if name in ("SUB", "SUBP")}
        evidence["visitor"] = "ok" if cookies else f"incarnate HTTP {incarnate.status_code}, 无 SUB"
        return "; ".join(f"{k}={v}" for k, v in cookies.items())

    @staticmethod
    def _stopped(posts, coverage, reason, fetch, evidence, pages, *, login_expired):  # type: ignore[no-untyped-def]
        evidence["pages"] = pages
        if posts and coverage == "blocked":
            return AccountSnapshot("partial", posts=posts, reason=f"第 {len(pages)} 页：{reason}", requests=fetch.requests, evidence=evidence)
        return AccountSnapshot(coverage, posts=posts, reason=reason, login_expired=login_expired, requests=fetch.requests, evidence=evidence)


_JSONP = re.compile(r"^[\w.$&\s]*?\(\s*(\{.*\})\s*\)\s*;?\s*$", re.S)


def unwrap_jsonp(text: str) -> Any:
    """The JSON of a body, whether bare or wrapped as the visitor service answers it with ``cb``
    (``window.gen_callback && gen_callback({...});``); ValueError when it is neither."""
    match = _JSONP.match(text.strip())
    return json.loads(match.group(1) if match else text)

"""WeChat official accounts (微信公众号) through the 公众平台 backend (PLATFORMS.md §1.7 A).

There is no public list of an account's articles. The office logs in to its *own* 公众平台
account (``govmon login wechat``, QR code); with that session's cookies and ``token`` the backend
lists any account's articles: ``/cgi-bin/appmsg?action=list_ex&fakeid={fakeid}&begin=&count=5
&type=9&token=…&f=json&ajax=1`` → ``{"app_msg_cnt", "app_msg_list": [{"aid", "title", "link",
"create_time", "update_time"}], "base_resp": {"ret", "err_msg"}}``.

The account URL carries the account's id: ``https://mp.weixin.qq.com/mp/profile_ext?action=home
&__biz={fakeid}`` (``__biz`` == ``fakeid``). ``base_resp.ret``: 0 fine; 200013 frequency control
→ ``blocked``; 200003 / 200040 / an HTML login page → the login expired (``failed``,
``login_expired``). An item without a time has its article page read for ``var ct = "…"``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from govmon.crawler.accounts.base import AccountRef, AccountSnapshot, Post, ReadContext
from govmon.crawler.accounts.browser_page import clean_text, from_epoch, mapping, site_base
from govmon.crawler.accounts.http import Fetcher, cookie_header, local_storage_value, short

PAGE_SIZE = 5
EXPIRED_RETS = {200003: "登录会话无效（invalid session）", 200040: "登录会话无效", -1: "登录会话无效"}
BLOCKED_RETS = {200013: "操作太频繁（freq control）", 200002: "参数错误或被限制"}
CT_PATTERN = re.compile(r"""\bct\s*=\s*["'](\d{9,11})["']""")
RENEW = "请运行 govmon login wechat 用本单位公众号重新扫码登录"


def wechat_fakeid(url: str) -> str | None:
    query = parse_qs(urlsplit(url).query)
    for key in ("__biz", "fakeid"):
        if query.get(key):
            return query[key][0]
    return None


def wechat_token(login_state: Any) -> str | None:
    token = local_storage_value(login_state, "token")
    if token:
        return token
    value = mapping(login_state).get("token") if login_state else None
    return str(value) if value else None


class WechatAdapter:
    platform: ClassVar[str] = "wechat"
    needs_browser: ClassVar[bool] = False

    async def read(self, account: AccountRef, ctx: ReadContext) -> AccountSnapshot:
        fetch = Fetcher(ctx)
        fakeid = wechat_fakeid(account.url)
        if not fakeid:
            return AccountSnapshot("failed", reason=f"公众号地址中找不到 __biz（账号编号）：{account.url}；请填写形如 https://mp.weixin.qq.com/mp/profile_ext?action=home&__biz=… 的地址")
        base = site_base(account.url)
        cookies = cookie_header(ctx.login_state, base + "/")
        token = wechat_token(ctx.login_state)
        if not cookies or not token:
            return AccountSnapshot("failed", reason=f"没有保存的公众平台登录，无法读取公众号文章列表；{RENEW}", login_expired=False)
        headers = {"Cookie": cookies, "Referer": f"{base}/cgi-bin/home?t=home/index&lang=zh_CN&token={token}"}
        evidence: dict[str, Any] = {"fakeid": fakeid}
        pages: list[dict[str, Any]] = []
        posts: list[Post] = []
        for page in range(ctx.max_pages):
            params = {"action": "list_ex", "fakeid": fakeid, "begin": page * PAGE_SIZE, "count": PAGE_SIZE, "type": 9, "query": "", "token": token, "lang": "zh_CN", "f": "json", "ajax": 1}
            url = f"{base}/cgi-bin/appmsg?{urlencode(params)}"
            try:
                response = await fetch.get(url, headers=headers)
                body: Any = response.json() if response.status_code == 200 and response.content.strip() else None
            except httpx.HTTPError as exc:
                return self._end(posts, "failed", f"无法连接微信公众平台：{type(exc).__name__}", fetch, evidence, pages)
            except ValueError:
                body = None
            if not isinstance(body, dict):
                shown = short(response.text, 120)
                pages.append({"page": page + 1, "status": response.status_code, "body": shown})
                if response.status_code == 200 and ("使用账号登录" in response.text or "扫码登录" in response.text or 300 <= response.status_code < 400):
                    return self._end(posts, "failed", f"微信公众平台登录已过期（返回登录页面）；{RENEW}", fetch, evidence, pages, login_expired=True)
                if 300 <= response.status_code < 400:
                    return self._end(posts, "failed", f"微信公众平台登录已过期（跳转到 {response.headers.get('location', '')[:80]}）；{RENEW}", fetch, evidence, pages, login_expired=True)
                ctx.pace.blocked()
                return self._end(posts, "blocked", f"微信公众平台返回异常内容（HTTP {response.status_code}）", fetch, evidence, pages)
            ret = mapping(body.get("base_resp")).get("ret")
            pages.append({"page": page + 1, "status": 200, "ret": ret, "err_msg": mapping(body.get("base_resp")).get("err_msg")})
            if ret in EXPIRED_RETS:
                return self._end(posts, "failed", f"微信公众平台登录已过期：ret {ret}，{EXPIRED_RETS[ret]}；{RENEW}", fetch, evidence, pages, login_expired=True)
            if ret != 0 or not isinstance(body.get("app_msg_list"), list):
                ctx.pace.blocked()
                why = BLOCKED_RETS.get(ret, "未给出文章列表") if isinstance(ret, int) else "未给出文章列表"
                return self._end(posts, "blocked", f"微信公众平台拒绝访问：ret {ret}，{why}", fetch, evidence, pages)
            items = body["app_msg_list"]
            page_posts: list[Post] = []
            for item in items:
                item = mapping(item)
                published = from_epoch(item.get("create_time") or item.get("update_time"), ctx.timezone)
                link = item.get("link")
                if published is None and link:
                    published = await self._article_time(fetch, str(link), ctx)
                post_id = str(item.get("aid") or item.get("appmsgid") or link or "")
                if not post_id or published is None:
                    continue
                page_posts.append(Post(id=post_id, text=clean_text(item.get("title")), url=link, published_at=published))
            posts.extend(page_posts)
            total = body.get("app_msg_cnt")
            done = isinstance(total, int) and (page + 1) * PAGE_SIZE >= total
            if any(p.published_at < ctx.since for p in page_posts) or done or not items:
                evidence.update(pages=pages, app_msg_cnt=total)
                return AccountSnapshot("complete", posts=posts, requests=fetch.requests, evidence=evidence)
        evidence["pages"] = pages
        return AccountSnapshot("partial", posts=posts, reason=f"已读 {ctx.max_pages} 页仍未到达检查起点，更早的文章未读取", requests=fetch.requests, evidence=evidence)

    @staticmethod
    async def _article_time(fetch: Fetcher, link: str, ctx: ReadContext) -> Any:
        """The ``ct`` (epoch seconds) of an article page; None if it cannot be read."""
        try:
            response = await fetch.get(link.replace("&amp;", "&"))
        except httpx.HTTPError:
            return None
        match = CT_PATTERN.search(response.text) if response.status_code == 200 else None
        return from_epoch(match[1], ctx.timezone) if match else None

    @staticmethod
    def _end(posts, coverage, reason, fetch, evidence, pages, *, login_expired=False):  # type: ignore[no-untyped-def]
        evidence["pages"] = pages
        if posts and coverage == "blocked":
            return AccountSnapshot("partial", posts=posts, reason=f"第 {len(pages)} 页：{reason}", requests=fetch.requests, evidence=evidence)
        return AccountSnapshot(coverage, posts=posts, reason=reason, login_expired=login_expired, requests=fetch.requests, evidence=evidence)

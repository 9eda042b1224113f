"""A loopback Weibo, WeChat 公众平台, Douyin and feed server in the platforms' real answer shapes.

Used by the demo and by the tests of the httpx adapters (rss, weibo, wechat) and of the comment
state read by the Douyin browser adapter. One HTTP server answers all four; the scenario is the
account id in the URL:

* Weibo: ``/u/{uid}`` with ``uid = WEIBO_UIDS[scenario]``; visitor flow ``POST
  /visitor/genvisitor`` → ``GET /visitor/visitor?a=incarnate&t=`` (sets ``SUB``); list
  ``/api/container/getIndex?…&containerid=107603{uid}&since_id=``. Without ``SUB`` (or the saved
  login cookie ``SUB=SAVED_SESSION``) the list answers ``{"ok":-100,"url":…}`` as the real one does.
* WeChat: ``/mp/profile_ext?action=home&__biz={scenario}``; list ``/cgi-bin/appmsg?action=list_ex
  &fakeid=&begin=&count=5&token=`` needs the cookie ``slave_sid=SAVED_SESSION`` and the token
  ``SAVED_TOKEN``; articles ``/s/{aid}`` carry ``var ct = "…"``.
* Douyin: the user page ``/user/{sec_uid}`` (``sec_uid = DOUYIN_UIDS[scenario]``) fetches its
  list with JavaScript, ``/aweme/v1/web/aweme/post/?sec_user_id=…&max_cursor=0…``, one page with
  ``has_more: 0``; each aweme carries ``aweme_control`` and ``comment_permission_info`` with
  ``can_comment`` (false on a post whose comments are closed), as the real answer does.
* Feeds: ``/feeds/{scenario}.rss`` / ``.atom`` / ``.json``; ``moved`` redirects (301) to the fresh
  feed, ``empty`` is a valid feed without items.

Scenarios: ``fresh`` (newest 1 day old), ``stale`` (newest 20 days), ``quiet`` (newest 9 days),
``errata`` (a post with the demo lexicon's serious error), ``pinned`` (an old pinned
post first, recent ones after; the cut-off of 7 days is reached on page 2 only), ``paged``
(three pages; the cut-off reached on page 2; page 3 must not be asked for), ``blocked`` (the
platform's refusal: Weibo ``{"ok":0}``, WeChat ``ret 200013``, feed HTTP 403), ``blocked_alt``
(Weibo HTTP 432, WeChat an empty body, feed an empty 200 body), ``expired`` (WeChat ``ret
200003``; Weibo ``ok:-100`` with the saved login), ``untimed`` (WeChat items without
``create_time``: read from the article page's ``ct``), ``closed`` (four posts within two weeks,
comments closed on every one), ``half_open`` (recent posts, one of them open to comments),
``reopened`` (old posts closed, the recent ones open). Only Douyin says whether a post is open;
Weibo, WeChat and feeds answer these scenarios without any comment state.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from govmon.demo.province import SERIOUS_TERM

SAVED_SESSION = "saved-session-0001"
SAVED_TOKEN = "1234567"
VISITOR_SUB = "visitor-sub-0001"
PAGE = 3  # Weibo posts per page
WECHAT_PAGE = 5


@dataclass(frozen=True)
class FakePost:
    n: int
    title: str
    days: float
    pinned: bool = False
    comments: bool = True  # open to comments (said only where the platform says it: Douyin)


def _pages(*pages: list[tuple[float, bool]], start: int) -> list[list[FakePost]]:
    out, n = [], start
    for page in pages:
        out.append([FakePost(n + i, f"第{n + i}条 政务信息发布", days, pinned) for i, (days, pinned) in enumerate(page)])
        n += len(page)
    return out


SCENARIOS: dict[str, list[list[FakePost]]] = {
    "fresh": _pages([(1, False), (3, False), (10, False)], start=100),
    "stale": _pages([(20, False), (25, False), (30, False)], start=200),
    "pinned": _pages([(200, True), (1, False), (2, False)], [(4, False), (9, False), (12, False)], start=300),
    "paged": _pages([(1, False), (2, False), (3, False)], [(5, False), (9, False), (12, False)], [(15, False), (16, False), (17, False)], start=400),
    "untimed": _pages([(2, False), (11, False)], start=500),
    "quiet": _pages([(9, False), (12, False), (20, False)], start=600),  # newest 9 days old
    "errata": [[FakePost(700, f"热烈庆祝{SERIOUS_TERM}成立77周年", 2), FakePost(701, "第701条 政务信息发布", 5)]],
    "closed": [[FakePost(800 + i, f"第{800 + i}条 政务信息发布", days, comments=False) for i, days in enumerate((1, 4, 8, 12))]],
    "half_open": [[FakePost(810, "第810条 政务信息发布", 2, comments=False), FakePost(811, "第811条 政务信息发布", 5),
                   FakePost(812, "第812条 政务信息发布", 9, comments=False)]],
    "reopened": [[FakePost(820 + i, f"第{820 + i}条 政务信息发布", days, comments=days < 14)
                  for i, days in enumerate((1, 3, 6, 20, 30, 40))]],
}
REFUSALS = ("blocked", "blocked_alt", "expired")
WEIBO_UIDS = {name: str(5000000000 + i) for i, name in enumerate((*SCENARIOS, *REFUSALS))}
SCENARIO_BY_UID = {uid: name for name, uid in WEIBO_UIDS.items()}
DOUYIN_UIDS = {name: f"MS4wLjABAAAAgovmonDemo{i:03d}" for i, name in enumerate(SCENARIOS)}
SCENARIO_BY_SEC_UID = {uid: name for name, uid in DOUYIN_UIDS.items()}
DOUYIN_LIST = "/aweme/v1/web/aweme/post/"
DOUYIN_PAGE_SCRIPT = """
const list = document.getElementById('list');
fetch('%(list)s?device_platform=webapp&aid=6383&channel=channel_pc_web&sec_user_id=%(uid)s&max_cursor=0'
      + '&locate_query=false&count=18&publish_video_strategy_type=2&msToken=demoToken&a_bogus=demoSign',
      {credentials: 'include'})
  .then((r) => r.json())
  .then((j) => { for (const a of j.aweme_list || []) { const li = document.createElement('li'); li.textContent = a.desc; list.appendChild(li); } });
"""
PLATFORM_PATHS = (("/feeds/", "rss"), ("/visitor/", "weibo"), ("/api/container/", "weibo"), ("/u/", "weibo"),
                  ("/cgi-bin/", "wechat"), ("/mp/", "wechat"), ("/s/", "wechat"), ("/user/", "douyin"),
                  ("/aweme/", "douyin"))


def platform_of(path: str) -> str:
    """Which platform a request of this server is to (its pace is that platform's)."""
    return next((platform for prefix, platform in PLATFORM_PATHS if path.startswith(prefix)), "other")


class AccountPlatforms:
    """The fake platforms on ``host`` (a 127.x address), answering relative to ``now``."""

    def __init__(self, now: dt.datetime, host: str = "127.0.0.1", *, delay: float = 0.0) -> None:
        self.now = now
        self.delay = delay  # seconds each answer takes (so that requests a client lets overlap do)
        self.hits: list[str] = []
        # Per platform: when each request arrived (monotonic) and how many were in flight at
        # once. A request is in flight from its arrival until its answer starts: the client
        # cannot be done with it earlier, and once the first byte is out it may rightly send
        # its next request on another connection while this thread still writes.
        self.arrivals: list[tuple[float, str]] = []
        self.inflight: Counter[str] = Counter()
        self.max_inflight: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, 0), self._handler())
        self._httpd.daemon_threads = True
        self.host, self.port = host, self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def weibo_url(self, scenario: str) -> str:
        return f"{self.base}/u/{WEIBO_UIDS[scenario]}"

    def wechat_url(self, scenario: str) -> str:
        return f"{self.base}/mp/profile_ext?action=home&__biz={scenario}"

    def douyin_url(self, scenario: str) -> str:
        return f"{self.base}/user/{DOUYIN_UIDS[scenario]}"

    def feed_url(self, scenario: str, kind: str = "rss") -> str:
        return f"{self.base}/feeds/{scenario}.{kind}"

    def weibo_login(self, session: str = SAVED_SESSION) -> dict[str, Any]:
        """The storage_state of a saved Weibo login on this fake platform."""
        return {"cookies": [{"name": "SUB", "value": session, "domain": self.host, "path": "/"}], "origins": []}

    def wechat_login(self, session: str = SAVED_SESSION) -> dict[str, Any]:
        """The storage_state of the office's saved 公众平台 login (cookie and backend token)."""
        return {
            "cookies": [{"name": "slave_sid", "value": session, "domain": self.host, "path": "/"}],
            "origins": [{"origin": self.base, "localStorage": [{"name": "token", "value": SAVED_TOKEN}]}],
        }

    def count(self, path_part: str) -> int:
        with self._lock:
            return sum(1 for hit in self.hits if path_part in hit)

    def arrival_times(self, platform: str) -> list[float]:
        with self._lock:
            return sorted(at for at, p in self.arrivals if p == platform)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> AccountPlatforms:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- answers --
    def time_of(self, post: FakePost) -> dt.datetime:
        return self.now - dt.timedelta(days=post.days)

    def weibo(self, query: dict[str, str], cookies: dict[str, str]) -> tuple[int, Any]:
        scenario = SCENARIO_BY_UID.get(query.get("value", ""))
        if scenario is None or query.get("containerid") != f"107603{query.get('value')}":
            return 200, {"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}}
        sub = cookies.get("SUB")
        if scenario == "expired" or sub not in (VISITOR_SUB, SAVED_SESSION):
            return 200, {"ok": -100, "url": "https://passport.weibo.com/sso/signin?entry=wapsso"}
        if scenario == "blocked":
            return 200, {"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}}
        if scenario == "blocked_alt":
            return 432, ""
        pages = SCENARIOS[scenario]
        index = int(query.get("since_id") or 0)
        cards = []
        for post in pages[index]:
            mblog: dict[str, Any] = {
                "created_at": self.time_of(post).strftime("%a %b %d %H:%M:%S %z %Y"),
                "id": str(4000000000000000 + post.n),
                "idstr": str(4000000000000000 + post.n),
                "bid": f"Q{post.n}x",
                "text": f"<a href='/n/政务'>#{post.title}#</a> {post.title}",
                "source": "微博 weibo.com",
            }
            card: dict[str, Any] = {"card_type": 9, "itemid": f"1076035_-_{post.n}", "mblog": mblog}
            if post.pinned:
                mblog["mblogtype"] = 2
                mblog["title"] = {"text": "置顶", "base_color": 1}
                card["profile_type_id"] = "proweibotop_"
            cards.append(card)
        info: dict[str, Any] = {"containerid": f"107603{query['value']}", "v_p": 42, "page_type": "03"}
        if index + 1 < len(pages):
            info["since_id"] = index + 1
        return 200, {"ok": 1, "data": {"cardlistInfo": info, "cards": cards, "scheme": ""}}

    def wechat(self, query: dict[str, str], cookies: dict[str, str]) -> tuple[int, Any]:
        if cookies.get("slave_sid") != SAVED_SESSION or query.get("token") != SAVED_TOKEN:
            return 200, {"base_resp": {"ret": 200003, "err_msg": "invalid session"}}
        scenario = query.get("fakeid", "")
        if scenario == "expired":
            return 200, {"base_resp": {"ret": 200003, "err_msg": "invalid session"}}
        if scenario == "blocked":
            return 200, {"base_resp": {"ret": 200013, "err_msg": "freq control"}}
        if scenario == "blocked_alt":
            return 200, ""
        if scenario not in SCENARIOS:
            return 200, {"base_resp": {"ret": 200002, "err_msg": "invalid args"}}
        posts = [p for page in SCENARIOS[scenario] for p in page if not p.pinned]  # no pinned in the backend list
        begin = int(query.get("begin") or 0)
        items = []
        for post in posts[begin : begin + WECHAT_PAGE]:
            item: dict[str, Any] = {"aid": f"{2650000000 + post.n}_1", "appmsgid": 2650000000 + post.n, "itemidx": 1, "title": post.title, "link": f"{self.base}/s/{post.n}", "cover": "", "digest": ""}
            if scenario != "untimed":
                stamp = int(self.time_of(post).timestamp())
                item.update(create_time=stamp, update_time=stamp)
            items.append(item)
        return 200, {"app_msg_cnt": len(posts), "app_msg_list": items, "base_resp": {"ret": 0, "err_msg": "ok"}}

    def douyin_page(self, sec_uid: str) -> tuple[int, str]:
        if sec_uid not in SCENARIO_BY_SEC_UID:
            return 404, "<h1>404</h1>"
        script = DOUYIN_PAGE_SCRIPT % {"list": DOUYIN_LIST, "uid": sec_uid}
        return 200, f"<html><head><title>示范账号的抖音 - 抖音</title></head><body><h1>示范账号</h1><ul id='list'></ul><script>{script}</script></body></html>"

    def douyin(self, query: dict[str, str]) -> tuple[int, Any]:
        scenario = SCENARIO_BY_SEC_UID.get(query.get("sec_user_id", ""))
        if scenario is None:
            return 200, {"status_code": 2053, "status_msg": "用户不存在"}
        posts = [p for page in SCENARIOS[scenario] for p in page]
        awemes = []
        for post in posts:
            aweme_id = f"76{post.n:017d}"
            awemes.append({
                "aweme_id": aweme_id, "desc": post.title, "create_time": int(self.time_of(post).timestamp()),
                "is_top": 1 if post.pinned else 0, "aweme_type": 0, "media_type": 4,
                "aweme_control": {"can_comment": post.comments, "can_forward": True, "can_share": True,
                                  "can_show_comment": True},
                "comment_permission_info": {"can_comment": post.comments, "comment_permission_status": 0 if post.comments else 1,
                                            "item_detail_entry": False, "press_entry": False, "toast_guide": False},
                "statistics": {"aweme_id": aweme_id, "comment_count": 3 if post.comments else 0, "digg_count": 25,
                               "share_count": 1, "collect_count": 2},
                "status": {"is_delete": False, "private_status": 0, "in_reviewing": False},
            })
        cursor = int(self.time_of(posts[-1]).timestamp()) * 1000 if posts else 0
        return 200, {"status_code": 0, "min_cursor": 0, "max_cursor": cursor, "has_more": 0, "aweme_list": awemes,
                     "time_list": [], "log_pb": {"impr_id": "20261120100000DEMO"}, "post_serial": 1}

    def article(self, n: int) -> str:
        post = next(p for pages in SCENARIOS.values() for page in pages for p in page if p.n == n)
        stamp = int(self.time_of(post).timestamp())
        return f'<html><head><meta property="og:title" content="{post.title}"></head><body><div id="js_content">{post.title}</div><script>var ct = "{stamp}";</script></body></html>'

    def feed(self, scenario: str, kind: str) -> tuple[int, str, str]:
        if scenario == "blocked":
            return 403, "text/html; charset=utf-8", "<h1>403 Forbidden</h1>"
        if scenario == "blocked_alt":
            return 200, "application/rss+xml", ""
        posts = sorted((p for page in SCENARIOS.get(scenario, []) for p in page), key=lambda p: p.days)  # "empty": none
        if kind == "json":
            items = [{"id": f"{self.base}/a/{p.n}", "url": f"{self.base}/a/{p.n}", "title": p.title, "date_published": self.time_of(p).isoformat()} for p in posts]
            return 200, "application/feed+json", json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "测试订阅", "items": items}, ensure_ascii=False)
        if kind == "atom":
            entries = "".join(f'<entry><id>{self.base}/a/{p.n}</id><title>{escape(p.title)}</title><link href="{self.base}/a/{p.n}"/><updated>{self.time_of(p).isoformat()}</updated></entry>' for p in posts)
            return 200, "application/atom+xml", f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>测试订阅</title>{entries}</feed>'
        items = "".join(f"<item><title>{escape(p.title)}</title><link>{self.base}/a/{p.n}</link><guid>{self.base}/a/{p.n}</guid><pubDate>{format_datetime(self.time_of(p).astimezone(dt.timezone.utc), usegmt=True)}</pubDate></item>" for p in posts)
        return 200, "application/rss+xml; charset=utf-8", f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>测试订阅</title><link>{self.base}/</link>{items}</channel></rss>'

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        platforms = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:  # noqa: N802
                self._serve()

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                self._serve()

            def _serve(self) -> None:
                platform = platform_of(self.path)
                with platforms._lock:
                    platforms.hits.append(f"{self.command} {self.path}")
                    platforms.arrivals.append((time.monotonic(), platform))
                    platforms.inflight[platform] += 1
                    platforms.max_inflight[platform] = max(platforms.max_inflight[platform], platforms.inflight[platform])
                try:
                    if platforms.delay:
                        time.sleep(platforms.delay)
                    status, ctype, body, headers = self._answer()
                finally:
                    with platforms._lock:
                        platforms.inflight[platform] -= 1
                raw = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(raw)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(raw)

            def _answer(self) -> tuple[int, str, str, dict[str, str]]:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                cookies = {}
                for pair in (self.headers.get("Cookie") or "").split(";"):
                    if "=" in pair:
                        key, value = pair.strip().split("=", 1)
                        cookies[key] = value
                headers: dict[str, str] = {}
                path = parts.path
                if path == "/visitor/genvisitor" and self.command == "POST":
                    answer = json.dumps({"retcode": 20000000, "msg": "succ", "data": {"tid": "tid-0001", "new_tid": True}})
                    # with cb=gen_callback the real service wraps its answer as JSONP
                    status, ctype, body = 200, "application/javascript", f"window.gen_callback && gen_callback({answer});"
                elif path == "/visitor/visitor" and query.get("a") == "incarnate" and query.get("t") == "tid-0001":
                    status, ctype, body = 200, "application/json", json.dumps({"retcode": 20000000, "msg": "succ", "data": {"sub": VISITOR_SUB}})
                    headers["Set-Cookie"] = f"SUB={VISITOR_SUB}; Path=/"
                elif path == "/api/container/getIndex":
                    status, data = platforms.weibo(query, cookies)
                    ctype, body = "application/json; charset=utf-8", data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
                elif path == "/cgi-bin/appmsg":
                    status, data = platforms.wechat(query, cookies)
                    ctype, body = "application/json; charset=utf-8", data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
                elif path.startswith("/user/"):
                    status, body = platforms.douyin_page(path[len("/user/") :])
                    ctype = "text/html; charset=utf-8"
                elif path == DOUYIN_LIST:
                    status, data = platforms.douyin(query)
                    ctype, body = "application/json; charset=utf-8", json.dumps(data, ensure_ascii=False)
                elif path.startswith("/s/") and path[3:].isdigit():
                    status, ctype, body = 200, "text/html; charset=utf-8", platforms.article(int(path[3:]))
                elif path.startswith("/feeds/") and "." in path:
                    name, kind = path[len("/feeds/") :].rsplit(".", 1)
                    if name == "moved":  # the feed moved: a permanent redirect to the fresh one
                        status, ctype, body = 301, "text/html; charset=utf-8", ""
                        headers["Location"] = f"/feeds/fresh.{kind}"
                    else:
                        status, ctype, body = platforms.feed(name, kind)
                else:
                    status, ctype, body = 404, "text/html; charset=utf-8", "<h1>404</h1>"
                return status, ctype, body, headers

        return Handler

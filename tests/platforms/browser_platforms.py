"""A loopback Douyin, Bilibili, Kuaishou and Toutiao for the browser adapters' tests.

Each platform is a real HTTP server on its own 127.0.x.y address. It serves an account page whose
JavaScript fetches the platform's list endpoint, in the real answer shape (PLATFORMS.md §1.2–1.6),
and renders the posts; older posts come on scrolling (Douyin, Kuaishou, Toutiao) or from the
pager's "下一页" button (Bilibili), as on the real pages. The scenario is chosen by the account id
in the URL (``BrowserPlatform.account_url("paged")``):

* ``fresh`` — newest post 1 day old; the cut-off (7 days) is passed on page 1.
* ``stale`` — newest post 20 days old.
* ``pinned`` — an old pinned post (200 days) comes first, then recent ones: the cut-off is
  reached on page 2 only (a reader that took the pinned post for the newest would stop at once).
* ``paged`` — three pages of three; page 1 is all recent, the cut-off is reached on page 2,
  page 3 exists and must not be asked for.
* ``empty`` — an account that has never posted (a genuine, well-formed empty list).
* ``blocked`` / ``blocked_alt`` — the platform's own soft failures (see ``BLOCKS``).
* ``misshapen`` — a "success" answer without the list field (``{"status_code": 0}`` …).
* ``later_blocked`` — page 1 fine, page 2 refused.
* ``hollow`` — a well-formed but empty first page that says more follow (a filtered answer).
* ``captcha`` — a captcha page instead of the account: a redirect (Douyin, Toutiao), a GeeTest
  panel with its words (Bilibili), a verify-centre frame without words of its own (Kuaishou).
* ``member`` — needs a login: with the cookie ``VALID_SESSION`` it is ``fresh``, otherwise a
  login wall (a redirect to a login page, a login overlay, or Bilibili's ``code -101``).
* ``busy`` — ``paged`` on a page that ignores scrolling and its "next" button for 1.5 s after
  showing a page (a slow page): the reader must turn the page again.
* ``legacy`` (Kuaishou only) — ``fresh`` through the older GraphQL ``visionProfilePhotoList``.
* ``closed`` — four recent posts, comments closed on every one; ``half_open`` — recent posts, one
  of them open; ``unsaid`` — recent posts whose answer leaves the comment state out.

Comment state, as the real answers carry it (govmon/checks/account_no_interaction.py lists the
sources): Douyin ``aweme_control.can_comment`` and ``comment_permission_info.can_comment`` on
every aweme; Toutiao ``ban_comment`` and ``itemCell.actionCtrl.banComment`` on every item. Bilibili
and Kuaishou answer no comment state (none is documented), whatever the scenario.

``BrowserPlatform("bilibili", dynamic=True)`` serves the same scenarios on Bilibili's dynamics
page (``/{mid}/dynamic`` → ``/x/polymer/web-dynamic/v1/feed/space``, pinned by ``module_tag``).

Times are relative to the fixed ``NOW`` so the expectations are exact.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import parse_qs, quote, urlsplit
from zoneinfo import ZoneInfo

from loopback import Hit, LoopbackServer, Reply, html

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
SINCE = NOW - dt.timedelta(days=7)
VALID_SESSION = "valid-session-0001"


@dataclass(frozen=True)
class FakePost:
    n: int  # a number unique over all scenarios (ids derive from it)
    title: str
    days: float  # age at NOW
    pinned: bool = False
    comments: bool | None = True  # open to comments; None: the answer leaves the state out

    @property
    def at(self) -> dt.datetime:
        return NOW - dt.timedelta(days=self.days)

    @property
    def epoch(self) -> int:
        return int(self.at.timestamp())


def _p(n: int, days: float, title: str = "", pinned: bool = False, comments: bool | None = True) -> FakePost:
    return FakePost(n, title or f"政务动态第{n}期", days, pinned, comments)


# Pages of posts per scenario, in the order the platform lists them.
SCENARIOS: dict[str, list[list[FakePost]]] = {
    "fresh": [
        [_p(1, 1, "市政府<em>常务会议</em>召开&amp;部署冬季安全生产"), _p(2, 3), _p(3, 10)],
        [_p(4, 15)],
    ],
    "stale": [[_p(11, 20), _p(12, 45)], [_p(13, 60)]],
    "pinned": [[_p(21, 200, "置顶：办事指南", pinned=True), _p(22, 2), _p(23, 4)], [_p(24, 8), _p(25, 30)], [_p(26, 40)]],
    "paged": [[_p(31, 1), _p(32, 2), _p(33, 3)], [_p(34, 5), _p(35, 9), _p(36, 12)], [_p(37, 14), _p(38, 20), _p(39, 30)]],
    "empty": [[]],
    "later_blocked": [[_p(41, 1), _p(42, 2), _p(43, 3)], [_p(44, 5)]],
    "hollow": [[], [_p(51, 1)]],
    "closed": [[_p(61, 1, comments=False), _p(62, 3, comments=False), _p(63, 6, comments=False), _p(64, 10, comments=False)]],
    "half_open": [[_p(71, 1, comments=False), _p(72, 3), _p(73, 6, comments=False), _p(74, 10, comments=False)]],
    "unsaid": [[_p(81, 1, comments=None), _p(82, 3, comments=None), _p(83, 6, comments=None), _p(84, 10, comments=None)]],
}
SCENARIOS["member"] = SCENARIOS["fresh"]
SCENARIOS["legacy"] = SCENARIOS["fresh"]
SCENARIOS["busy"] = SCENARIOS["paged"]
SPECIAL = ("blocked", "blocked_alt", "misshapen", "captcha")
ALL_SCENARIOS = (*SCENARIOS, *SPECIAL)
SCENARIO_NUMBER = {name: 900 + i for i, name in enumerate(ALL_SCENARIOS)}
NUMBER_SCENARIO = {v: k for k, v in SCENARIO_NUMBER.items()}

# Each platform's soft failures: scenario -> (HTTP status, body).
BLOCKS: dict[str, dict[str, tuple[int, str]]] = {
    "douyin": {"blocked": (200, ""), "blocked_alt": (200, "blocked"), "misshapen": (200, '{"status_code": 0}')},
    "bilibili": {
        "blocked": (200, json.dumps({"code": -352, "message": "风控校验失败", "ttl": 1, "data": {"v_voucher": "voucher_7c1e2f0a-demo"}}, ensure_ascii=False)),
        "blocked_alt": (412, json.dumps({"code": -412, "message": "请求被拦截", "ttl": 1, "data": None}, ensure_ascii=False)),
        "misshapen": (200, '{"code": 0, "message": "0", "ttl": 1, "data": {}}'),
    },
    "kuaishou": {
        "blocked": (200, json.dumps({"result": 50, "ab8d": True, "error_msg": "签名验证失败"}, ensure_ascii=False)),
        "blocked_alt": (200, json.dumps({"result": 2, "error_msg": None})),
        "misshapen": (200, '{"result": 1}'),
    },
    "toutiao": {
        "blocked": (200, ""),
        "blocked_alt": (200, json.dumps({"message": "error", "data": None, "has_more": False})),
        "misshapen": (200, '{"message": "success"}'),
    },
}
SESSION_COOKIE = {"douyin": "sessionid", "bilibili": "SESSDATA", "kuaishou": "kuaishou.server.web_st", "toutiao": "sessionid"}


# --- ids and links per platform -------------------------------------------------------------------


def post_id(platform: str, post: FakePost) -> str:
    return {
        "douyin": f"73{post.n:017d}",
        "bilibili": f"BV1gv{post.n:05d}Gz",
        "kuaishou": f"3x{post.n:04d}qkzm8ke",
        "toutiao": f"74{post.n:017d}",
        "bilibili_dynamic": f"10{post.n:017d}",
    }[platform]


def account_id(platform: str, scenario: str) -> str:
    n = SCENARIO_NUMBER[scenario]
    return {
        "douyin": f"MS4wLjABAAAAgovmon{n}",
        "bilibili": f"{3546000000 + n}",
        "kuaishou": f"3xgovmon{n}",
        "toutiao": f"MS4wLjABAAAAtoutiao{n}",
    }[platform]


def scenario_of(identifier: str) -> str:
    match = re.search(r"(\d{3})$", identifier)
    if not match or int(match.group(1)) not in NUMBER_SCENARIO:
        raise KeyError(identifier)
    return NUMBER_SCENARIO[int(match.group(1))]


# --- the page ----------------------------------------------------------------------------------------

PAGE_SCRIPT = """
const UID = %(uid)s;
let cursor = %(first_cursor)s, more = true, loading = false, busyUntil = 0;
const BUSY_MS = %(busy_ms)d;  // after rendering a page, ignore scrolls and clicks this long
%(platform_js)s
function render(items, replace) {
  const list = document.getElementById('list');
  if (replace) list.innerHTML = '';
  for (const it of items) {
    const li = document.createElement('li');
    li.className = 'item';
    li.style.height = '420px';
    li.textContent = (it.top ? '[置顶] ' : '') + it.text;
    list.appendChild(li);
  }
}
function drawPager() {
  const pager = document.getElementById('pager');
  pager.innerHTML = '';
  if (!more) return;
  const b = document.createElement('button');
  b.className = 'be-pager-next';
  b.textContent = '下一页';
  b.onclick = () => load(true);
  pager.appendChild(b);
}
async function load(replace) {
  if (loading || !more || Date.now() < busyUntil) return;
  loading = true;
  try {
    const r = await fetch(reqUrl(cursor), reqOpts(cursor));
    const t = await r.text();
    let j = null;
    try { j = JSON.parse(t); } catch (e) {}
    const res = j && take(j);
    if (!res) { more = false; document.getElementById('state').textContent = '加载失败，请稍后再试'; return; }
    render(res.items, replace);
    more = res.more;
    cursor = res.cursor;
    busyUntil = Date.now() + BUSY_MS;
    if (PAGER) drawPager();
  } catch (e) {
    more = false;
  } finally {
    loading = false;
  }
}
window.addEventListener('scroll', () => {
  if (!PAGER && window.innerHeight + window.scrollY >= document.body.scrollHeight - 200) load(false);
});
if (typeof beforeLoad === 'function') beforeLoad();
load(false);
"""

PLATFORM_JS = {
    "douyin": """
const PAGER = false;
function reqUrl(c) {
  return '/aweme/v1/web/aweme/post/?device_platform=webapp&aid=6383&channel=channel_pc_web&sec_user_id=' + UID +
    '&max_cursor=' + c + '&locate_query=false&show_live_replay_strategy=1&need_time_list=1&time_list_query=0' +
    '&count=18&publish_video_strategy_type=2&pc_client_type=1&version_code=290100&version_name=29.1.0' +
    '&cookie_enabled=true&platform=PC&msToken=fakeMsToken&a_bogus=fakeABogus';
}
function reqOpts(c) { return {credentials: 'include'}; }
function take(j) {
  if (j.status_code !== 0) return null;
  return {items: (j.aweme_list || []).map(a => ({text: a.desc, top: a.is_top})), more: j.has_more === 1, cursor: j.max_cursor};
}
""",
    "toutiao": """
const PAGER = false;
function reqUrl(c) {
  return '/api/pc/list/feed?category=profile_all&token=' + UID + '&max_behot_time=' + c +
    '&entrance_gid=&aid=24&app_name=toutiao_web&msToken=fakeMsToken&a_bogus=fakeABogus';
}
function reqOpts(c) { return {credentials: 'include'}; }
function take(j) {
  if (j.message !== 'success' || !Array.isArray(j.data)) return null;
  return {items: j.data.map(a => ({text: a.title || a.abstract, top: a.is_stick})), more: j.has_more, cursor: (j.next || {}).max_behot_time};
}
""",
    "kuaishou": """
const PAGER = false;
const LEGACY = %(legacy)s;
function reqUrl(c) { return LEGACY ? '/graphql' : '/rest/v/profile/feed?__NS_hxfalcon=fakeSign&caver=2'; }
function reqOpts(c) {
  const body = LEGACY
    ? {operationName: 'visionProfilePhotoList', variables: {userId: UID, pcursor: c, page: 'profile'},
       query: 'fragment photoContent on PhotoEntity { id caption timestamp profileUserTopPhoto } query visionProfilePhotoList($pcursor: String, $userId: String, $page: String) { visionProfilePhotoList(pcursor: $pcursor, userId: $userId, page: $page) { result llsid pcursor feeds { type photo { ...photoContent } } } }'}
    : {user_id: UID, pcursor: c, page: 'profile'};
  return {method: 'POST', credentials: 'include', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)};
}
function take(j) {
  const d = LEGACY ? (j.data || {}).visionProfilePhotoList : j;
  if (!d || d.result !== 1) return null;
  return {items: (d.feeds || []).map(f => ({text: f.photo.caption, top: f.photo.profileUserTopPhoto})), more: d.pcursor !== 'no_more', cursor: d.pcursor};
}
""",
    "bilibili_dynamic": """
const PAGER = false;
function reqUrl(c) {
  return '/x/polymer/web-dynamic/v1/feed/space?offset=' + c + '&host_mid=' + UID + '&timezone_offset=-480' +
    '&platform=web&features=itemOpusStyle,listOnlyfans,opusBigCover,onlyfansVote&web_location=333.1387' +
    '&dm_img_list=%5B%5D&dm_img_str=V2ViR0wgMS4w&w_rid=0f3b1d2c4e5a69788796a5b4c3d2e1f0&wts=1763600000';
}
function reqOpts(c) { return {credentials: 'include'}; }
function take(j) {
  if (j.code !== 0) return null;
  const d = j.data;
  return {items: (d.items || []).map(it => ({text: it.id_str, top: !!it.modules.module_tag})), more: d.has_more, cursor: d.offset};
}
""",
    "bilibili": """
const PAGER = true;
function reqUrl(c) {
  return '/x/space/wbi/arc/search?mid=' + UID + '&ps=3&tid=0&pn=' + c + '&keyword=&order=pubdate&platform=web' +
    '&web_location=1550101&order_avoided=true&dm_img_list=%5B%5D&dm_img_str=V2ViR0wgMS4w' +
    '&dm_cover_img_str=QU5HTEUgKEludGVsKQ&w_rid=0f3b1d2c4e5a69788796a5b4c3d2e1f0&wts=1763600000';
}
function reqOpts(c) { return {credentials: 'include'}; }
function take(j) {
  if (j.code !== 0) return null;
  const d = j.data, p = d.page;
  return {items: (d.list.vlist || []).map(v => ({text: v.title})), more: p.pn * p.ps < p.count, cursor: p.pn + 1};
}
async function beforeLoad() {
  const r = await fetch('/x/space/top/arc?vmid=' + UID + '&web_location=333.999', {credentials: 'include'});
  const j = await r.json();
  if (j.code === 0) document.getElementById('pinned').textContent = '置顶视频：' + j.data.title;
}
""",
}

FIRST_CURSOR = {"douyin": "0", "toutiao": "0", "kuaishou": "''", "bilibili": "1", "bilibili_dynamic": "''"}
PAGE_TITLE = {"douyin": "{}的抖音 - 抖音", "toutiao": "{} - 今日头条", "kuaishou": "{}的个人主页 - 快手", "bilibili": "{}的个人空间-哔哩哔哩视频"}
DISPLAY_NAME = "市政务服务中心"


def account_page(platform: str, uid: str, *, legacy: bool = False, dynamic: bool = False, busy_ms: int = 0) -> bytes:
    js_key = "bilibili_dynamic" if dynamic else platform
    js = PLATFORM_JS[js_key] % {"legacy": "true" if legacy else "false"} if platform == "kuaishou" else PLATFORM_JS[js_key]
    script = PAGE_SCRIPT % {"uid": json.dumps(uid), "first_cursor": FIRST_CURSOR[js_key], "platform_js": js, "busy_ms": busy_ms}
    body = (
        '<header><span class="logo">LOGO</span><a class="login-button">登录</a></header>'
        f"<h1>{DISPLAY_NAME}</h1><div id='pinned'></div><ul id='list'></ul><div id='pager'></div>"
        f"<p id='state'></p><script>{script}</script>"
    )
    return html(body, title=PAGE_TITLE[platform].format(DISPLAY_NAME))


CAPTCHA_PAGE = html(
    "<div id='captcha_container'><p>请完成下列验证后继续</p><div class='slider'>拖动滑块完成拼图</div></div>",
    title="验证码中间页",
)
LOGIN_PAGE = html("<div class='login-panel'><h2>扫码登录</h2><p>打开手机App扫一扫</p></div>", title="登录")
LOGIN_OVERLAY = html(
    "<header><a>登录</a></header><div class='mask'><div class='login-modal'>请先登录，登录后查看更多作品<br>扫码登录</div></div>",
    title=DISPLAY_NAME,
)
IFRAME_CAPTCHA_OVERLAY = html(  # the widget's words are inside the frame: only its element shows
    "<header><a>登录</a></header><div id='captcha_container'>"
    "<iframe src='/verifycenter/captcha/v2?embedded=1' width='380' height='300'></iframe></div>",
    title=DISPLAY_NAME,
)
DOM_CAPTCHA_OVERLAY = html(
    "<header><a>登录</a></header><div class='risk-verify-panel'>请完成下列验证后继续：按住滑块，拖动到最右边</div>",
    title=DISPLAY_NAME,
)


# --- the answers --------------------------------------------------------------------------------------


def _json(value: Any, status: int = 200, delay: float = 0.0) -> Reply:
    return Reply(status, json.dumps(value, ensure_ascii=False), content_type="application/json; charset=utf-8", delay=delay)


class PlatformServer(LoopbackServer):
    """A LoopbackServer that also answers POST (the body is handed to the route as ``body_of``)."""

    def __init__(self, routes: dict[str, Any]) -> None:
        self._local = threading.local()
        super().__init__(routes)

    def body_of(self) -> bytes:
        return getattr(self._local, "body", b"")

    def _handler_class(self) -> type:
        base = super()._handler_class()
        server = self

        class Handler(base):  # type: ignore[misc, valid-type]
            def do_GET(self) -> None:  # noqa: N802
                server._local.body = b""
                self._serve("GET")

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                server._local.body = self.rfile.read(length) if length else b""
                self._serve("POST")

        return Handler


class BrowserPlatform:
    """One fake platform on its own loopback host (see the module docstring)."""

    def __init__(self, platform: str, *, dynamic: bool = False) -> None:
        self.platform = platform
        self.dynamic = dynamic  # Bilibili only: the dynamics page instead of the video list
        self.id_kind = "bilibili_dynamic" if dynamic else platform
        self.list_calls: list[tuple[str, int]] = []  # (scenario, page index 0-based) the page asked for
        self.top_calls: list[str] = []
        self._lock = threading.Lock()
        self.server = PlatformServer({"*": self._dispatch})

    # -- addresses --
    @property
    def host(self) -> str:
        return self.server.host

    def account_url(self, scenario: str) -> str:
        uid = account_id(self.platform, scenario)
        path = {
            "douyin": f"/user/{uid}",
            "bilibili": f"/{uid}/dynamic" if self.dynamic else f"/{uid}",
            "kuaishou": f"/profile/{uid}",
            "toutiao": f"/c/user/token/{uid}/",
        }[self.platform]
        return self.server.url(path)

    def base(self) -> str:
        return self.server.base

    def close(self) -> None:
        self.server.close()

    def pages_asked(self, scenario: str) -> list[int]:
        with self._lock:
            return [i for s, i in self.list_calls if s == scenario]

    # -- expected outcome --
    def expected_posts(self, scenario: str, pages: int) -> list[tuple[str, str, dt.datetime, bool]]:
        """(id, text, time, pinned) of the posts on the first ``pages`` pages, as listed."""
        out = []
        for page in SCENARIOS[scenario][:pages]:
            for post in page:
                out.append((post_id(self.id_kind, post), _plain(post.title), post.at, post.pinned))
        return out

    # -- serving --
    def _logged_in(self, hit: Hit) -> bool:
        cookie = hit.headers.get("Cookie") or hit.headers.get("cookie") or ""
        return f"{SESSION_COOKIE[self.platform]}={VALID_SESSION}" in cookie

    def _dispatch(self, hit: Hit) -> Reply:
        parts = urlsplit(hit.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        path = parts.path
        try:
            if path in ("/captcha/verify", "/verifycenter/captcha/v2"):
                return Reply(body=CAPTCHA_PAGE)
            if path in ("/login", "/auth/login/"):
                return Reply(body=LOGIN_PAGE)
            handler: Callable[[Hit, str, dict[str, str]], Reply] = getattr(self, f"_{self.platform}")
            return handler(hit, path, query)
        except KeyError:
            return Reply(404, "<h1>404</h1>")

    def _page(self, hit: Hit, uid: str, wall: str, *, dynamic: bool = False) -> Reply:
        """The account page, or its captcha / login wall (``wall``: how this platform shows it)."""
        scenario = scenario_of(uid)
        if scenario == "captcha":
            if wall == "redirect":
                target = "/captcha/verify" if self.platform == "douyin" else "/verifycenter/captcha/v2"
                return Reply(302, "", headers={"Location": f"{target}?from={quote(hit.path)}"})
            return Reply(body=IFRAME_CAPTCHA_OVERLAY if self.platform == "kuaishou" else DOM_CAPTCHA_OVERLAY)
        if scenario == "member" and not self._logged_in(hit) and self.platform != "bilibili":
            if wall == "redirect":
                target = "/login" if self.platform == "douyin" else "/auth/login/"
                return Reply(302, "", headers={"Location": f"{target}?next={quote(hit.path)}"})
            return Reply(body=LOGIN_OVERLAY)
        busy_ms = 1500 if scenario == "busy" else 0
        return Reply(body=account_page(self.platform, uid, legacy=scenario == "legacy", dynamic=dynamic, busy_ms=busy_ms))

    def _answer_page(self, scenario: str, index: int, *, pinned_apart: bool = False) -> tuple[list[FakePost], bool] | Reply:
        """Posts of page ``index`` and whether more follow, or the platform's refusal."""
        with self._lock:
            self.list_calls.append((scenario, index))
        if scenario in ("blocked", "blocked_alt", "misshapen"):
            status, body = BLOCKS[self.platform][scenario]
            return Reply(status, body, content_type="application/json; charset=utf-8")
        if scenario == "later_blocked" and index >= 1:
            status, body = BLOCKS[self.platform]["blocked"]
            return Reply(status, body, content_type="application/json; charset=utf-8")
        pages = SCENARIOS[scenario]
        if pinned_apart:  # Bilibili's video list: the pinned video is served by top/arc
            pages = [[p for p in page if not p.pinned] for page in pages]
        if index >= len(pages):
            return [], False
        return pages[index], index + 1 < len(pages)

    @staticmethod
    def _cursor_index(pages: list[list[FakePost]], cursor: str, key: Callable[[FakePost], str]) -> int:
        """Page index of a cursor: the cursor of page i+1 is ``key`` of the last post of page i."""
        if cursor in ("", "0"):
            return 0
        for i, page in enumerate(pages):
            if page and key(page[-1]) == cursor:
                return i + 1
        raise KeyError(cursor)

    # Douyin: cursor = create_time of the last post, in milliseconds.
    def _douyin(self, hit: Hit, path: str, q: dict[str, str]) -> Reply:
        if path.startswith("/user/"):
            return self._page(hit, path.rsplit("/", 1)[-1], "redirect")
        if path == "/aweme/v1/web/aweme/post/":
            scenario = scenario_of(q["sec_user_id"])
            index = self._cursor_index(SCENARIOS.get(scenario, [[]]), q["max_cursor"], lambda p: str(p.epoch * 1000))
            got = self._answer_page(scenario, index)
            if isinstance(got, Reply):
                return got
            posts, more = got
            return _json(
                {
                    "status_code": 0,
                    "min_cursor": posts[0].epoch * 1000 if posts else 0,
                    "max_cursor": posts[-1].epoch * 1000 if posts else 0,
                    "has_more": 1 if more else 0,
                    "aweme_list": [
                        {
                            "aweme_id": post_id("douyin", p),
                            "desc": p.title,
                            "create_time": p.epoch,
                            "is_top": 1 if p.pinned else 0,
                            "aweme_type": 0,
                            "media_type": 4,
                            "author": {"nickname": DISPLAY_NAME, "sec_uid": q["sec_user_id"], "is_gov_media_vip": True},
                            "statistics": {"aweme_id": post_id("douyin", p), "comment_count": 3, "digg_count": 25, "share_count": 1},
                            "status": {"is_delete": False, "private_status": 0, "in_reviewing": False},
                            **_douyin_comment_state(p),
                        }
                        for p in posts
                    ],
                    "time_list": [],
                    "log_pb": {"impr_id": "20261120100000DEMO"},
                    "request_item_cursor": 0,
                    "post_serial": 1,
                }
            )
        raise KeyError(path)

    # Toutiao: cursor = publish_time (behot_time) of the last post, epoch seconds.
    def _toutiao(self, hit: Hit, path: str, q: dict[str, str]) -> Reply:
        if path.startswith("/c/user/token/"):
            return self._page(hit, path.rstrip("/").rsplit("/", 1)[-1], "redirect")
        if path == "/api/pc/list/feed":
            scenario = scenario_of(q["token"])
            index = self._cursor_index(SCENARIOS.get(scenario, [[]]), q["max_behot_time"], lambda p: str(p.epoch))
            got = self._answer_page(scenario, index)
            if isinstance(got, Reply):
                return got
            posts, more = got
            return _json(
                {
                    "data": [
                        {
                            "cell_type": 60,
                            "id": post_id("toutiao", p),
                            "item_id": post_id("toutiao", p),
                            "group_id": post_id("toutiao", p),
                            "title": p.title,
                            "abstract": "",
                            "publish_time": p.epoch,
                            "behot_time": p.epoch,
                            "cursor": p.epoch * 1000,
                            "is_stick": p.pinned,
                            "comment_count": 2,
                            "digg_count": 9,
                            "read_count": 321,
                            "user_info": {"name": DISPLAY_NAME, "user_verified": True},
                            **_toutiao_comment_state(p),
                        }
                        for p in posts
                    ],
                    "has_more": more,
                    "message": "success",
                    "next": {"max_behot_time": posts[-1].epoch if posts else 0},
                }
            )
        raise KeyError(path)

    # Kuaishou: POST bodies; pcursor = timestamp (ms) of the last post, "no_more" at the end.
    def _kuaishou(self, hit: Hit, path: str, q: dict[str, str]) -> Reply:
        if path.startswith("/profile/"):
            return self._page(hit, path.rsplit("/", 1)[-1], "overlay")
        if path in ("/rest/v/profile/feed", "/graphql"):
            if hit.method != "POST":
                raise KeyError(path)
            body = json.loads(self.server.body_of() or b"{}")
            legacy = path == "/graphql"
            variables = body.get("variables", {}) if legacy else body
            uid = variables.get("userId" if legacy else "user_id", "")
            scenario = scenario_of(uid)
            index = self._cursor_index(SCENARIOS.get(scenario, [[]]), variables.get("pcursor", ""), lambda p: str(p.epoch * 1000))
            got = self._answer_page(scenario, index)
            if isinstance(got, Reply):
                return got
            posts, more = got
            answer = {
                "result": 1,
                "llsid": "2009876543210123456",
                "pcursor": (str(posts[-1].epoch * 1000) if posts else "1763600000000") if more else "no_more",
                "feeds": [
                    {
                        "type": 1,
                        "author": {"id": uid, "name": DISPLAY_NAME},
                        "photo": {
                            "id": post_id("kuaishou", p),
                            "caption": p.title,
                            "originCaption": p.title,
                            "timestamp": p.epoch * 1000,
                            "duration": 31000,
                            "likeCount": "12",
                            "viewCount": "1034",
                            "profileUserTopPhoto": p.pinned,
                        },
                    }
                    for p in posts
                ],
                "hostName": "public-bjx-c24-kce-node1200.idcyz.hb1.kwaidc.com",
            }
            return _json({"data": {"visionProfilePhotoList": answer}} if legacy else answer)
        raise KeyError(path)

    # Bilibili: page numbers; the pinned video from /x/space/top/arc (answered a little later).
    def _bilibili(self, hit: Hit, path: str, q: dict[str, str]) -> Reply:
        segments = [s for s in path.split("/") if s]
        if segments and segments[0].isdigit():
            if len(segments) == 1:
                return Reply(302, "", headers={"Location": f"/{segments[0]}/video"})
            return self._page(hit, segments[0], "overlay", dynamic=segments[1:] == ["dynamic"])
        if path == "/x/polymer/web-dynamic/v1/feed/space":
            return self._bilibili_dynamics(hit, q)
        if path == "/x/space/top/arc":
            scenario = scenario_of(q["vmid"])
            with self._lock:
                self.top_calls.append(scenario)
            pinned = [p for page in SCENARIOS.get(scenario, []) for p in page if p.pinned]
            if not pinned:
                return _json({"code": 53016, "message": "没有置顶视频", "ttl": 1, "data": None}, delay=0.2)
            p = pinned[0]
            return _json(
                {
                    "code": 0,
                    "message": "0",
                    "ttl": 1,
                    "data": {
                        "aid": 1000000 + p.n,
                        "bvid": post_id("bilibili", p),
                        "title": p.title,
                        "pubdate": p.epoch,
                        "ctime": p.epoch,
                        "desc": "",
                        "reason": "",
                        "owner": {"mid": int(q["vmid"]), "name": DISPLAY_NAME},
                    },
                },
                delay=0.3,
            )
        if path == "/x/space/wbi/arc/search":
            scenario = scenario_of(q["mid"])
            if scenario == "member" and not self._logged_in(hit):
                return _json({"code": -101, "message": "账号未登录", "ttl": 1})
            pn, ps = int(q["pn"]), int(q["ps"])
            got = self._answer_page(scenario, pn - 1, pinned_apart=True)
            if isinstance(got, Reply):
                return got
            posts, _ = got
            pages = SCENARIOS[scenario]
            count = sum(len([p for p in page if not p.pinned]) for page in pages)
            if scenario == "hollow":  # an empty page of a list that claims 30 videos
                count = 30
            return _json(
                {
                    "code": 0,
                    "message": "0",
                    "ttl": 1,
                    "data": {
                        "list": {
                            "tlist": {"160": {"tid": 160, "count": count, "name": "生活"}},
                            "vlist": [
                                {
                                    "comment": 4,
                                    "typeid": 21,
                                    "play": 1834,
                                    "pic": "http://i0.hdslb.com/bfs/archive/demo.jpg",
                                    "description": "",
                                    "title": p.title,
                                    "author": DISPLAY_NAME,
                                    "mid": int(q["mid"]),
                                    "created": p.epoch,
                                    "length": "03:21",
                                    "aid": 1000000 + p.n,
                                    "bvid": post_id("bilibili", p),
                                    "is_union_video": 0,
                                    "is_live_playback": 0,
                                    "meta": None,
                                    "season_id": 0,
                                }
                                for p in posts
                            ],
                            "slist": [],
                        },
                        "page": {"pn": pn, "ps": ps, "count": count},
                        "episodic_button": {"text": "播放全部", "uri": ""},
                        "is_risk": False,
                        "gaia_res_type": 0,
                        "gaia_data": None,
                    },
                }
            )
        raise KeyError(path)


    # Bilibili dynamics: offset = id_str of the last dynamic.
    def _bilibili_dynamics(self, hit: Hit, q: dict[str, str]) -> Reply:
        mid = q["host_mid"]
        scenario = scenario_of(mid)
        if scenario == "member" and not self._logged_in(hit):
            return _json({"code": -101, "message": "账号未登录", "ttl": 1, "data": None})
        pages = SCENARIOS.get(scenario, [[]])
        index = self._cursor_index(pages, q["offset"], lambda p: post_id("bilibili_dynamic", p))
        got = self._answer_page(scenario, index)
        if isinstance(got, Reply):
            return got
        posts, more = got
        return _json(
            {
                "code": 0,
                "message": "0",
                "ttl": 1,
                "data": {
                    "has_more": more,
                    "items": [_dynamic_item(p, int(mid)) for p in posts],
                    "offset": post_id("bilibili_dynamic", posts[-1]) if posts else "1000000000000000000",
                    "update_baseline": "",
                    "update_num": 0,
                },
            }
        )


def _dynamic_item(p: FakePost, mid: int) -> dict[str, Any]:
    """One dynamic: even numbers announce a video (text in major.archive), odd ones are text
    posts in the opus style (text in major.opus.summary)."""
    if p.n % 2 == 0:
        kind, dynamic = "DYNAMIC_TYPE_AV", {
            "desc": None,
            "major": {"type": "MAJOR_TYPE_ARCHIVE", "archive": {"bvid": post_id("bilibili", p), "title": p.title, "desc": ""}},
        }
    else:
        kind, dynamic = "DYNAMIC_TYPE_DRAW", {
            "desc": None,
            "major": {"type": "MAJOR_TYPE_OPUS", "opus": {"summary": {"text": p.title, "rich_text_nodes": []}, "title": None, "pics": []}},
        }
    item: dict[str, Any] = {
        "basic": {"comment_id_str": str(p.n), "comment_type": 11, "rid_str": str(p.n)},
        "id_str": post_id("bilibili_dynamic", p),
        "type": kind,
        "visible": True,
        "modules": {
            "module_author": {"mid": mid, "name": DISPLAY_NAME, "pub_ts": p.epoch, "pub_time": "", "pub_action": "投稿了视频" if kind == "DYNAMIC_TYPE_AV" else ""},
            "module_dynamic": dynamic,
            "module_stat": {"comment": {"count": 1}, "forward": {"count": 0}, "like": {"count": 7}},
        },
    }
    if p.pinned:
        item["modules"]["module_tag"] = {"text": "置顶"}
    return item


def _douyin_comment_state(p: FakePost) -> dict[str, Any]:
    if p.comments is None:
        return {}
    return {
        "aweme_control": {"can_comment": p.comments, "can_forward": True, "can_share": True, "can_show_comment": True},
        "comment_permission_info": {"can_comment": p.comments, "comment_permission_status": 0 if p.comments else 1,
                                    "item_detail_entry": False, "press_entry": False, "toast_guide": False},
    }


def _toutiao_comment_state(p: FakePost) -> dict[str, Any]:
    if p.comments is None:
        return {}
    return {
        "ban_comment": not p.comments,
        "itemCell": {"actionCtrl": {"banBury": False, "banComment": not p.comments, "banDigg": False}},
    }


def _plain(title: str) -> str:
    """What the adapters must make of a fixture title (tags and entities removed)."""
    return re.sub(r"<[^>]+>", "", title).replace("&amp;", "&")


def login_state(platform: BrowserPlatform, value: str) -> dict[str, Any]:
    """A Playwright ``storage_state`` holding the platform's session cookie for the fake host."""
    return {
        "cookies": [
            {
                "name": SESSION_COOKIE[platform.platform],
                "value": value,
                "domain": platform.host,
                "path": "/",
                "expires": -1,
                "httpOnly": True,
                "secure": False,
                "sameSite": "Lax",
            }
        ],
        "origins": [],
    }


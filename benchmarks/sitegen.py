"""A generated government website for the crawl benchmark, served on loopback from its own process.

:class:`GovSite` describes a site of about ``pages`` pages carrying about ``links`` links in
all, the way a city portal is built:

* a home page (``/``): navigation to every column, the newest entries of four columns, a
  footer with 友情链接 to other government sites, 网站标识码 and ICP 备案号;
* ``columns`` columns (default 20: 政务动态, 通知公告, 政策文件 …), each a paginated list —
  ``/zwdt/`` (= ``index.html``), ``/zwdt/index_1.html`` … — of ``li > a[title] + span`` entries
  with ``YYYY-MM-DD`` dates and a 首页 / 上一页 / 下一页 / 尾页 pager;
* article pages ``/zwdt/202405/t20240512_1000123.html``: a 信息公开 metadata table
  (索引号 / 发文机关 / 成文日期 / 发文字号 / 发布日期) and a signature in Chinese numerals on policy
  columns, a 发布时间：… 来源：… line on the others; a breadcrumb, 2–3 related articles of the
  same column, references to pages on a second government host, now and then an attachment
  (``.pdf`` / ``.docx`` / ``.xls``, served with its own type) and, on about 1 % of all links,
  a link that is broken (404, on the site or on the other host).

Every page is generated on the fly and deterministically from its path (nothing is stored);
the sizes are chosen so that the whole site is exactly what an inspector's walk reaches:
home → columns → every list page → every listed article → every link seen.

:class:`SiteServer` serves it from a separate process (asyncio streams, HTTP/1.1 keep-alive,
GET and HEAD) on two loopback addresses: the site on ``127.0.0.1`` and the "other
government sites" on ``127.0.0.2``. It counts the requests it answers (per method, unique
URLs, pages, bytes) so every tool is measured by the same yardstick; :meth:`SiteServer.stats`
and :meth:`SiteServer.reset` talk to it over a pipe. It stops by itself after ``max_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
import multiprocessing as mp
import random
import re
import signal
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import format_datetime

# --- text ---------------------------------------------------------------------------------

COLUMNS: tuple[tuple[str, str], ...] = (
    ("zwdt", "政务动态"), ("tzgg", "通知公告"), ("zcwj", "政策文件"), ("zcjd", "政策解读"),
    ("rsxx", "人事信息"), ("ghjh", "规划计划"), ("bmdt", "部门动态"), ("gsgg", "公示公告"),
    ("gfxwj", "规范性文件"), ("zkly", "招考录用"), ("gzzj", "工作总结"), ("jcdt", "基层动态"),
    ("zcfg", "政策法规"), ("tpxw", "图片新闻"), ("ggtg", "公告通告"), ("zwxw", "政务新闻"),
    ("tjxx", "统计信息"), ("czzj", "财政资金"), ("zdly", "重点领域"), ("hdjl", "咨询投诉"),
)
POLICY_DIRS = frozenset({"zcwj", "gfxwj", "zcfg", "zcjd", "ghjh", "gzzj"})
ORGANS = ["市人民政府办公室", "市发展和改革委员会", "市教育局", "市科学技术局", "市工业和信息化局", "市民政局", "市司法局", "市财政局", "市人力资源和社会保障局", "市自然资源局", "市生态环境局", "市住房和城乡建设局", "市交通运输局", "市水利局", "市农业农村局", "市商务局", "市文化广电旅游局", "市卫生健康委员会", "市应急管理局", "市审计局", "市市场监督管理局", "市统计局"]
WORDS = ["推进", "落实", "加强", "完善", "建设", "服务", "管理", "发展", "保障", "改革", "创新", "优化", "营商环境", "政务公开", "民生", "项目", "基层", "治理", "安全", "生产", "乡村振兴", "数字政府", "便民", "审批", "监督", "检查", "工作", "方案", "意见", "办法", "实施", "全市", "各县区", "有关部门", "统筹", "协调", "扎实", "有序", "高质量", "重点", "任务", "目标", "机制", "制度", "考核", "评估", "生态", "文明", "教育", "医疗", "就业", "养老", "住房", "交通", "水利", "农业"]
TOPICS = ("综合政务", "国民经济管理", "财政金融", "城乡建设", "农业农村", "教育", "卫生健康", "劳动就业", "安全生产", "民政")
FRIENDS = ("中国政府网", "省人民政府", "省发展和改革委员会", "省政务服务数据管理局", "市政务服务网",
           "市公共资源交易中心", "市信用网", "市人大常委会", "市政协", "市纪委监委")
_rng = random.Random(20240628)
SENTENCES = tuple("".join(_rng.choice(WORDS) for _ in range(_rng.randint(8, 22))) + "。" for _ in range(400))
TITLES = tuple(
    ("关于" + "".join(_rng.choice(WORDS) for _ in range(_rng.randint(3, 6))) + _rng.choice(("的通知", "的通告", "的实施意见", "的公示", "工作方案")))
    if k % 2 else ("".join(_rng.choice(WORDS) for _ in range(_rng.randint(4, 8))) + _rng.choice(("工作会议召开", "取得新进展", "现场推进会举行", "专题调研")))
    for k in range(997)
)
_CN_DIGITS = "〇一二三四五六七八九"


def _cn_number(n: int) -> str:
    if n < 10:
        return _CN_DIGITS[n] if n else ""
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _CN_DIGITS[tens]) + "十" + (_CN_DIGITS[ones] if ones else "")


def cn_date(d: dt.date) -> str:
    return "".join(_CN_DIGITS[int(c)] for c in str(d.year)) + f"年{_cn_number(d.month)}月{_cn_number(d.day)}日"


ATTACHMENT_TYPES = (("pdf", "application/pdf"), ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
                    ("xls", "application/vnd.ms-excel"))
STYLE = ("<style>body{font:14px/1.8 'Microsoft YaHei',SimSun;margin:0}.top,.nav,.main,.footer{width:1200px;margin:0 auto}"
         ".nav li{float:left;padding:0 12px}.list li{border-bottom:1px dashed #ccc}.list span{float:right;color:#999}"
         ".xxgk td,.xxgk th{border:1px solid #ddd;padding:4px}.hide{display:none}.footer{background:#f5f5f5;color:#666}</style>"
         "<script>var _hmt=_hmt||[];(function(){var d=new Date();document.getElementById&&0;})();</script>"
         "<script>" + "".join(f"function tab{k}(n){{var t=document.getElementById('tab{k}_'+n);if(t){{t.className='on';}}"
                              f"for(var i=0;i<5;i++){{if(i!=n){{var o=document.getElementById('tab{k}_'+i);if(o)o.className='hide';}}}}}}"
                              for k in range(12)) + "</script>")


# --- the site -----------------------------------------------------------------------------


def _mix(n: int) -> int:
    """A cheap deterministic hash of an int (splitmix64's finaliser)."""
    n = (n + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    n = ((n ^ (n >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    n = ((n ^ (n >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return n ^ (n >> 31)


@dataclass
class GovSite:
    """The generated site (see the module docstring). ``base``/``other`` are the two hosts' base
    URLs without the trailing slash (``http://127.0.0.1:8000``)."""

    pages: int = 5000
    links: int = 50_000
    base: str = "http://127.0.0.1:8000"
    other: str = "http://127.0.0.2:8000"
    columns: int = 20
    items_per_list: int = 20
    as_of: dt.date = dt.date(2024, 6, 28)
    attachment_share: float = 0.2  # articles with one attachment
    broken_share: float = 0.01  # of all links
    derived: dict = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        if not 1 <= self.columns <= len(COLUMNS):
            raise ValueError(f"columns must be 1..{len(COLUMNS)}")
        per_column = max(2, round((self.pages - 1) / self.columns))
        self.list_pages = math.ceil(per_column / (self.items_per_list + 1))
        self.articles_per_column = per_column - self.list_pages
        self.dirs = [d for d, _ in COLUMNS[: self.columns]]
        self.names = {d: n for d, n in COLUMNS[: self.columns]}
        self.dir_index = {d: i for i, d in enumerate(self.dirs)}
        # Article links: home + column (crumb) + 2 friend sites (footer) are fixed; attachments and
        # broken links come at their shares; related articles and off-site references fill the
        # rest of the link budget.
        home_links = 1 + self.columns + 4 + 20 + len(FRIENDS)  # nav, box headings, entries, friends
        list_links = 1 + self.columns + 2 + self.items_per_list + 3.5 + 2  # nav, crumb, items, pager, friends
        articles = self.columns * self.articles_per_column
        fixed_lists = home_links + self.columns * self.list_pages * list_links
        self.broken_per_article = min(1.0, self.broken_share * self.links / max(articles, 1))
        mean = (self.links - fixed_lists) / max(articles, 1)
        self.extra_per_article = max(0.0, mean - 5 - self.attachment_share - self.broken_per_article)
        self.ref_pool = max(100, articles)
        self._article_re = re.compile(r"^/([a-z]+)/(\d{6})/t(\d{8})_(\d+)\.html$")
        self._attach_re = re.compile(r"^/([a-z]+)/(\d{6})/P020(\d+)\.(pdf|docx|xls)$")
        self._list_re = re.compile(r"^/([a-z]+)/(?:index(?:_(\d+))?\.html)?$")
        self.derived = {
            "list_pages_per_column": self.list_pages,
            "articles_per_column": self.articles_per_column,
            "total_pages": 1 + self.columns * (self.list_pages + self.articles_per_column),
        }

    # -- structure --

    def article_id(self, c: int, i: int) -> int:
        return (c + 1) * 1_000_000 + i

    def article_date(self, c: int, i: int) -> dt.date:
        # news-like columns update daily, policy ones weekly; a few columns are stale
        step = 7 if self.dirs[c] in POLICY_DIRS else 1
        lag = 40 if c % 9 == 8 else c % 3
        return self.as_of - dt.timedelta(days=lag + i * step + (_mix(self.article_id(c, i)) % step))

    def article_path(self, c: int, i: int) -> str:
        d = self.article_date(c, i)
        return f"/{self.dirs[c]}/{d:%Y%m}/t{d:%Y%m%d}_{self.article_id(c, i)}.html"

    def list_path(self, c: int, n: int) -> str:
        return f"/{self.dirs[c]}/" if n == 0 else f"/{self.dirs[c]}/index_{n}.html"

    def page_paths(self) -> Iterator[str]:
        """Every page of the site: home, every list page, every article."""
        yield "/"
        for c in range(self.columns):
            for n in range(self.list_pages):
                yield self.list_path(c, n)
            for i in range(self.articles_per_column):
                yield self.article_path(c, i)

    def column_urls(self) -> list[tuple[str, str]]:
        return [(self.names[d], f"{self.base}/{d}/") for d in self.dirs]

    def _title(self, c: int, i: int) -> str:
        return TITLES[_mix(self.article_id(c, i)) % len(TITLES)]

    # -- rendering --

    def _html(self, title: str, body: str, *, pubdate: str | None = None) -> bytes:
        meta = f'<meta name="PubDate" content="{pubdate}">' if pubdate else ""
        return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}_示范市人民政府门户网站</title>'
                f'<meta name="SiteName" content="示范市人民政府门户网站">{meta}{STYLE}</head><body>'
                f'<div class="top"><span>欢迎访问示范市人民政府门户网站</span></div>{body}</body></html>').encode()

    def _nav(self) -> str:
        return ('<div class="nav"><ul><li><a href="/">网站首页</a></li>'
                + "".join(f'<li><a href="/{d}/">{self.names[d]}</a></li>' for d in self.dirs) + "</ul></div>")

    def _footer(self, friends: int) -> str:
        links = "".join(f'<a href="{self.other}/site{j}/" target="_blank">{FRIENDS[j]}</a> ' for j in range(friends))
        return (f'<div class="footer"><div class="yqlj">友情链接：{links}</div>'
                '<p>主办：示范市人民政府办公室　承办：示范市政务服务数据管理局　联系电话：0759-1234567</p>'
                '<p>网站标识码：4408000001　<span>粤ICP备05001234号</span>　粤公网安备 44080202000123号</p></div>')

    def _entry(self, c: int, i: int) -> str:
        title = self._title(c, i)
        return (f'<li><a href="{self.article_path(c, i)}" title="{title}" target="_blank">{title[:24]}</a>'
                f'<span>{self.article_date(c, i):%Y-%m-%d}</span></li>')

    def home(self) -> bytes:
        blocks = "".join(
            f'<div class="box"><h3><a href="/{self.dirs[c]}/">{self.names[self.dirs[c]]}</a></h3><ul class="list">'
            + "".join(self._entry(c, i) for i in range(min(5, self.articles_per_column))) + "</ul></div>"
            for c in range(min(4, self.columns))
        )
        return self._html("首页", f'{self._nav()}<div class="main">{blocks}</div>{self._footer(len(FRIENDS))}')

    def list_page(self, c: int, n: int) -> bytes:
        d = self.dirs[c]
        first = n * self.items_per_list
        items = "".join(self._entry(c, i) for i in range(first, min(first + self.items_per_list, self.articles_per_column)))
        last = self.list_pages - 1
        pager = [f'<a href="{self.list_path(c, 0)}">首页</a>']
        if n > 0:
            pager.append(f'<a href="{self.list_path(c, n - 1)}">上一页</a>')
        if n < last:
            pager.append(f'<a href="{self.list_path(c, n + 1)}">下一页</a>')
        pager.append(f'<a href="{self.list_path(c, last)}">尾页</a>')
        body = (f'{self._nav()}<div class="main"><div class="crumb">当前位置：<a href="/">首页</a> &gt; '
                f'<a href="/{d}/">{self.names[d]}</a></div><ul class="list">{items}</ul>'
                f'<div class="page">共{self.list_pages}页　{"　".join(pager)}</div></div>{self._footer(2)}')
        return self._html(self.names[d], body)

    def _article_links(self, c: int, i: int) -> tuple[list[str], list[str]]:
        """(related entries, reference/attachment/broken lines) of article ``i`` of column ``c``."""
        aid = self.article_id(c, i)
        h = _mix(aid)
        extra = int(self.extra_per_article) + (1 if (h % 1000) / 1000 < self.extra_per_article % 1 else 0)
        n_related = min((extra + 1) // 2, max(self.articles_per_column - 1, 0))
        related = []
        for k in range(n_related):
            j = (i + 1 + k * 7) % self.articles_per_column
            if j == i:
                j = (j + 1) % self.articles_per_column
            related.append(self._entry(c, j))
        refs = []
        for k in range(extra - n_related):
            ref = _mix(aid * 31 + k) % self.ref_pool
            refs.append(f'<p>参考：<a href="{self.other}/ref/{ref}.html">{TITLES[ref % len(TITLES)]}</a></p>')
        if (h >> 20) % 1000 < self.attachment_share * 1000:
            ext, _ = ATTACHMENT_TYPES[(h >> 40) % len(ATTACHMENT_TYPES)]
            d = self.article_date(c, i)
            refs.append(f'<p>附件：<a href="/{self.dirs[c]}/{d:%Y%m}/P020{aid}.{ext}">附件1.{ext}</a></p>')
        if (h >> 30) % 10000 < self.broken_per_article * 10000:
            if h % 2:
                refs.append(f'<p>相关链接：<a href="/{self.dirs[c]}/del/{aid}.html">已删除的页面</a></p>')
            else:
                refs.append(f'<p>相关链接：<a href="{self.other}/gone/{aid}.html">外部失效页面</a></p>')
        return related, refs

    def article(self, c: int, i: int) -> bytes:
        d = self.dirs[c]
        aid = self.article_id(c, i)
        h = _mix(aid)
        title = self._title(c, i)
        published = self.article_date(c, i)
        organ = ORGANS[h % len(ORGANS)]
        paragraphs = "".join(
            f'<p style="text-indent:2em">{"".join(SENTENCES[(h >> (k % 50)) % 395 + s] for s in range(5))}</p>'
            for k in range(8 + h % 13)
        )
        related, refs = self._article_links(c, i)
        if d in POLICY_DIRS:
            written = published - dt.timedelta(days=2 + h % 5)
            doc_no = f"示府办〔{written.year}〕{h % 90 + 1}号"
            head = (f'<table class="xxgk"><tr><th>索 引 号：</th><td>11440800MB2C12345X/{published.year}-{aid % 100000:05d}</td>'
                    f'<th>主题分类：</th><td>{TOPICS[h % len(TOPICS)]}</td></tr>'
                    f'<tr><th>发文机关：</th><td>{organ}</td><th>成文日期：</th><td>{written.year}年{written.month:02d}月{written.day:02d}日</td></tr>'
                    f'<tr><th>标　　题：</th><td colspan="3">{title}</td></tr>'
                    f'<tr><th>发文字号：</th><td>{doc_no}</td><th>发布日期：</th><td>{published.year}年{published.month:02d}月{published.day:02d}日</td></tr></table>'
                    f'<h1>{title}</h1>')
            tail = f'<p style="text-align:right">{organ}</p><p style="text-align:right">{cn_date(written)}</p>'
        else:
            head = (f'<h1>{title}</h1><div class="info">发布时间：{published:%Y-%m-%d} {8 + h % 10:02d}:{h % 60:02d}　'
                    f'来源：{organ}　浏览次数：<span id="hits">{h % 5000}</span></div>')
            tail = ""
        body = (f'<div class="nav"><a href="/">首页</a></div><div class="main"><div class="crumb">当前位置：<a href="/">首页</a> &gt; '
                f'<a href="/{d}/">{self.names[d]}</a></div>{head}<div id="zoom" class="article-content">{paragraphs}{tail}'
                f'{"".join(refs)}</div><div class="related"><h3>相关文章</h3><ul class="list">{"".join(related)}</ul></div>'
                f'</div>{self._footer(2)}')
        return self._html(title, body, pubdate=f"{published:%Y-%m-%d} 09:30")

    def other_page(self, path: str) -> tuple[int, str, bytes]:
        if path.startswith("/gone/"):
            return 404, "text/html; charset=utf-8", "<h1>404 页面不存在</h1>".encode()
        title = "友情链接站点" if path.startswith("/site") else "参考资料"
        body = f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head><body><h1>{title}</h1><p>{SENTENCES[len(path) % 400]}</p></body></html>'
        return 200, "text/html; charset=utf-8", body.encode()

    def respond(self, host: int, path: str) -> tuple[int, str, bytes, bool]:
        """(status, content type, body, is_page) for a GET of ``path`` on host 0 (the site) or 1."""
        path = path.split("#", 1)[0].split("?", 1)[0]
        if path == "/robots.txt":
            return 200, "text/plain", b"User-agent: *\nDisallow: /search/\n", False
        if host == 1:
            status, ctype, body = self.other_page(path)
            return status, ctype, body, False
        if path in ("/", "/index.html"):
            return 200, "text/html; charset=utf-8", self.home(), True
        m = self._list_re.match(path)
        if m and m.group(1) in self.dir_index:
            n = int(m.group(2) or 0)
            if n < self.list_pages and m.group(2) != "0":
                return 200, "text/html; charset=utf-8", self.list_page(self.dir_index[m.group(1)], n), True
        m = self._article_re.match(path)
        if m and m.group(1) in self.dir_index:
            c, aid = self.dir_index[m.group(1)], int(m.group(4))
            i = aid - self.article_id(c, 0)
            if aid // 1_000_000 == c + 1 and 0 <= i < self.articles_per_column and self.article_path(c, i) == path:
                return 200, "text/html; charset=utf-8", self.article(c, i), True
        m = self._attach_re.match(path)
        if m and m.group(1) in self.dir_index:
            c, aid = self.dir_index[m.group(1)], int(m.group(3))
            i = aid - self.article_id(c, 0)
            if 0 <= i < self.articles_per_column:
                _, refs = self._article_links(c, i)
                if any(path in r for r in refs):
                    ctype = dict(ATTACHMENT_TYPES)[m.group(4)]
                    return 200, ctype, b"%PDF-1.4\n" + bytes(range(256)) * 24, False
        return 404, "text/html; charset=utf-8", "<html><body><h1>404 您访问的页面不存在</h1><a href=\"/\">返回首页</a></body></html>".encode(), False


# --- the server ---------------------------------------------------------------------------

_REASONS = {200: "OK", 404: "Not Found", 400: "Bad Request", 405: "Method Not Allowed"}


class _Counters:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.started = time.monotonic()
        self.requests = 0
        self.by_method: dict[str, int] = {}
        self.by_status: dict[int, int] = {}
        self.urls: set[tuple[int, str]] = set()
        self.pages: set[str] = set()  # site pages answered 200 to a GET
        self.bytes = 0
        self.first = self.last = None
        self.first_head = None  # when the first HEAD came (govmon's link-check phase starts)

    def snapshot(self) -> dict:
        return {
            "requests": self.requests,
            "by_method": dict(self.by_method),
            "by_status": {str(k): v for k, v in self.by_status.items()},
            "unique_urls": len(self.urls),
            "unique_urls_site": sum(1 for h, _ in self.urls if h == 0),
            "unique_urls_other": sum(1 for h, _ in self.urls if h == 1),
            "pages": len(self.pages),
            "bytes": self.bytes,
            "active_s": (self.last - self.first) if self.first is not None else 0.0,
            "first_head_s": (self.first_head - self.started) if self.first_head is not None else None,
        }


def _serve(site: GovSite, socks: list[socket.socket], conn, max_seconds: float) -> None:  # in the child
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    counters = _Counters()
    now_header = format_datetime(dt.datetime.now(dt.UTC), usegmt=True)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: int) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                end = head.find(b"\r\n")
                parts = head[:end].split(b" ")
                if len(parts) != 3:
                    writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    break
                method, target, version = parts[0].decode("latin-1"), parts[1].decode("latin-1"), parts[2]
                if target.startswith(("http://", "https://")):
                    target = "/" + target.split("/", 3)[-1] if target.count("/") >= 3 else "/"
                lower = head.lower()
                close = b"connection: close" in lower or (version == b"HTTP/1.0" and b"keep-alive" not in lower)
                if method in ("GET", "HEAD"):
                    status, ctype, body, is_page = site.respond(host, target)
                else:
                    status, ctype, body, is_page = 405, "text/plain", b"", False
                t = time.monotonic()
                counters.requests += 1
                counters.by_method[method] = counters.by_method.get(method, 0) + 1
                counters.by_status[status] = counters.by_status.get(status, 0) + 1
                counters.urls.add((host, target.split("#", 1)[0]))
                if is_page and status == 200 and method == "GET":
                    counters.pages.add(target.split("?", 1)[0])
                if counters.first is None:
                    counters.first = t
                if method == "HEAD" and counters.first_head is None:
                    counters.first_head = t
                counters.last = t
                payload = body if method == "GET" else b""
                counters.bytes += len(payload)
                header = (f"HTTP/1.1 {status} {_REASONS.get(status, 'OK')}\r\nServer: sitegen\r\nDate: {now_header}\r\n"
                          f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                          + ("Connection: close\r\n" if close else "Connection: keep-alive\r\n") + "\r\n")
                writer.write(header.encode("latin-1") + payload)
                if writer.transport.get_write_buffer_size() > 1 << 20:
                    await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        done = asyncio.Event()

        def on_command() -> None:
            try:
                command = conn.recv()
            except EOFError:
                done.set()
                return
            if command == "stats":
                conn.send(counters.snapshot())
            elif command == "reset":
                counters.reset()
                conn.send(True)
            elif command == "stop":
                conn.send(True)
                done.set()

        loop.add_reader(conn.fileno(), on_command)
        servers = []
        for host, sock in enumerate(socks):
            servers.append(await asyncio.start_server(lambda r, w, h=host: handle(r, w, h), sock=sock, backlog=1024))
        try:
            await asyncio.wait_for(done.wait(), timeout=max_seconds)
        except TimeoutError:
            pass
        for server in servers:
            server.close()

    asyncio.run(main())


class SiteServer:
    """Serve ``site`` on 127.0.0.1 and 127.0.0.2 (one port) from a child process.

    ``with SiteServer(pages=…, links=…) as server:`` → ``server.site`` (a :class:`GovSite` whose
    base URLs point at the server), ``server.stats()``, ``server.reset()``.
    """

    def __init__(self, *, max_seconds: float = 3600.0, **site_args) -> None:
        self.max_seconds = max_seconds
        self.site_args = site_args
        self.process: mp.Process | None = None
        self.site: GovSite | None = None

    def __enter__(self) -> SiteServer:  # noqa: PYI034
        socks = []
        for _ in range(20):  # find one port free on both addresses
            a = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
            b = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                b.bind(("127.0.0.2", port))
            except OSError:
                a.close()
                b.close()
                continue
            socks = [a, b]
            break
        if not socks:
            raise RuntimeError("no port free on both 127.0.0.1 and 127.0.0.2")
        for s in socks:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.listen(1024)
        self.port = port
        self.site = GovSite(base=f"http://127.0.0.1:{port}", other=f"http://127.0.0.2:{port}", **self.site_args)
        self._conn, child_conn = mp.Pipe()
        ctx = mp.get_context("fork")
        self.process = ctx.Process(target=_serve, args=(self.site, socks, child_conn, self.max_seconds), daemon=True)
        self.process.start()
        for s in socks:
            s.close()  # the child has them
        return self

    def _ask(self, command: str, timeout: float = 30.0):
        self._conn.send(command)
        if not self._conn.poll(timeout):
            raise RuntimeError(f"site server did not answer {command!r}")
        return self._conn.recv()

    def stats(self) -> dict:
        return self._ask("stats")

    def reset(self) -> None:
        self._ask("reset")

    def __exit__(self, *exc: object) -> None:
        if self.process is None:
            return
        with contextlib.suppress(Exception):  # it stops by itself in any case
            self._ask("stop", timeout=5)
        self.process.join(5)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5)
        self.process = None


if __name__ == "__main__":  # a quick look: serve a small site for a minute
    import sys

    with SiteServer(pages=int(sys.argv[1]) if len(sys.argv) > 1 else 200, links=2000, max_seconds=60) as srv:
        print(f"serving {srv.site.derived} at {srv.site.base}/ (other host {srv.site.other}/) for 60 s", flush=True)
        try:
            time.sleep(60)
        except KeyboardInterrupt:
            pass
        print(srv.stats())

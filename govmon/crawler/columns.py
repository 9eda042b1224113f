"""Columns (栏目) of a government site: what kind a column is, finding them, paging through them.

* :func:`classify_column` names the kind of a column from its name (news, notice, policy,
  personnel, planning, interaction, other) — the kinds the official indicators distinguish.
* :func:`discover_columns` picks the columns out of a home page's navigation when the config
  lists none: visible links on the site's own host whose text is a column-like name.
* :func:`find_next_page` finds the next page of a column list: a 下一页 link, the
  ``index_N.html`` / ``?page=N`` patterns among the page's links, or the TRS
  ``createPageHTML(total, current, "index", "html")`` script that many county sites use
  to draw the pager with JavaScript.
* :func:`newest_items` orders a column's list entries newest first by their date.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any, Iterable, Sequence
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from govmon.crawler.urls import canonical_url, host_of, is_http_url, site_hosts

__all__ = [
    "COLUMN_KINDS",
    "DiscoveredColumn",
    "classify_column",
    "discover_columns",
    "find_next_page",
    "newest_items",
]

COLUMN_KINDS = ("news", "notice", "policy", "personnel", "planning", "interaction", "other")

# Checked in this order: the first kind whose word the name contains wins, so 工作总结 is
# planning (not news: 工作), 政策咨询 is interaction (not policy), 人事任免 is personnel.
_KIND_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("personnel", ("人事", "任免", "招聘", "招考", "录用")),
    ("interaction", ("互动", "留言", "信箱", "咨询", "投诉", "意见征集", "征集", "网上调查", "访谈", "问答")),
    ("planning", ("规划", "计划", "总结")),
    ("policy", ("政策", "文件", "法规", "规章", "规范性", "解读")),
    ("notice", ("通知", "公告", "公示", "通告")),
    ("news", ("要闻", "动态", "新闻", "资讯", "快讯", "头条", "图片新闻")),
)

# Navigation entries that are never columns.
_NOT_COLUMNS = (
    "首页", "主页", "网站首页", "english", "无障碍", "长者", "关怀", "适老", "登录", "登陆", "注册",
    "繁體", "繁体", "简体", "手机版", "移动版", "网站地图", "联系我们", "关于我们", "设为首页",
    "加入收藏", "收藏本站", "返回", "更多", "more", "rss", "网站声明", "隐私", "帮助", "搜索",
    "高级搜索", "纠错", "我要纠错", "上一页", "下一页", "尾页", "末页",
)
_FILE_SUFFIX = re.compile(r"\.(?:pdf|docx?|xlsx?|pptx?|wps|zip|rar|7z|jpe?g|png|gif|mp4|mp3|txt|ofd)$", re.I)
# Article URLs: /t20230714_123.html, /art/2023/7/14/art_1_2.html, /content/post_123.html …
_ARTICLE_URL = re.compile(r"(?:/t\d{8}_\d+|/art_\d+|/post_\d+|/content_\d+|/\d{6,}/t\d+|/20\d{2}[-/]?\d{2}[-/]?\d{2}/)", re.I)
_COLUMN_NAME = re.compile(r"^[\u4e00-\u9fffA-Za-z·（）()、]{2,10}$")


def classify_column(name: str) -> str:
    """The kind of column a name says it is: news | notice | policy | personnel | planning |
    interaction | other."""
    text = re.sub(r"\s+", "", name or "")
    for kind, words in _KIND_WORDS:
        if any(w in text for w in words):
            return kind
    return "other"


@dataclass(frozen=True, slots=True)
class DiscoveredColumn:
    name: str
    url: str
    kind: str


def _is_column_name(text: str) -> bool:
    text = re.sub(r"\s+", "", text)
    if not _COLUMN_NAME.match(text):
        return False
    low = text.lower()
    return not any(low == w or (len(w) > 2 and w in low) for w in _NOT_COLUMNS)


def discover_columns(home_facts: Any, home_url: str, *, limit: int = 12) -> list[DiscoveredColumn]:
    """Columns found in the home page's navigation, in page order.

    A link is a column when it is visible, on the site's own host (with or without ``www.``),
    not a file or an article, not one of the home page's dated list items, and its text is a
    short column-like name of a known kind (要闻 / 通知公告 / 政策文件 / 人事任免 …). Names of
    kind ``other`` (政务公开, 走进XX …) are hubs rather than columns and are left out. At most
    ``limit`` columns, one per URL.
    """
    hosts = site_hosts(home_url) | {host_of(getattr(home_facts, "url", "") or home_url)}
    home_key = canonical_url(home_url)
    item_keys = {canonical_url(it.url) for it in getattr(home_facts, "items", None) or ()}
    found: list[DiscoveredColumn] = []
    seen: set[str] = set()
    for link in getattr(home_facts, "links", None) or ():
        url = getattr(link, "url", "")
        text = re.sub(r"\s+", "", getattr(link, "text", "") or "")
        if not getattr(link, "visible", True) or not is_http_url(url) or host_of(url) not in hosts:
            continue
        key = canonical_url(url)
        if key == home_key or key in seen or key in item_keys:
            continue
        path = urlsplit(url).path
        if _FILE_SUFFIX.search(path) or _ARTICLE_URL.search(path):
            continue
        if not _is_column_name(text):
            continue
        kind = classify_column(text)
        if kind == "other":
            continue
        seen.add(key)
        found.append(DiscoveredColumn(text, url, kind))
        if len(found) >= limit:
            break
    return found


# --- pagination -------------------------------------------------------------------------

_NEXT_TEXTS = {"下一页", "下页", "下一页>", "下一页>>", "下一页»", "后一页", ">", "›", "»", ">>", "next", "next>", "下一页›"}
_INDEX_N = re.compile(r"^(?P<stem>.*/(?:index|list|default))(?:_(?P<n>\d+))?\.(?P<ext>s?html?|jsp|php|aspx?)$", re.I)
_PAGE_KEYS = ("page", "pageno", "pagenum", "pageindex", "p", "pn", "curpage", "currentpage", "page_no")
_CREATE_PAGE_HTML = re.compile(
    r"createPageHTML\(\s*['\"]?(\d+)['\"]?\s*,\s*['\"]?(\d+)['\"]?\s*,\s*['\"]([\w\-]+)['\"]\s*,\s*['\"](\w+)['\"]"
)


def _expected_next(url: str) -> list[str]:
    """Next-page URLs that the common patterns predict for ``url``."""
    out: list[str] = []
    parts = urlsplit(url)
    path = parts.path
    if path.endswith("/"):
        path_index = path + "index.html"
    else:
        path_index = path
    m = _INDEX_N.match(path_index)
    if m:
        n = int(m.group("n")) if m.group("n") else 0
        out.append(urlunsplit((parts.scheme, parts.netloc, f"{m.group('stem')}_{n + 1}.{m.group('ext')}", parts.query, "")))
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    keys = [k.lower() for k, _ in pairs]
    for page_key in _PAGE_KEYS:
        if page_key in keys:
            i = keys.index(page_key)
            try:
                n = int(pairs[i][1] or "1")
            except ValueError:
                continue
            new_pairs = list(pairs)
            new_pairs[i] = (pairs[i][0], str(n + 1))
            out.append(urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(new_pairs), "")))
            break
    else:
        # page 1 without a page parameter: ?page=2 among the links
        for page_key in ("page", "pageNo", "pageIndex", "p"):
            joiner = "&" if parts.query else ""
            out.append(urlunsplit((parts.scheme, parts.netloc, parts.path, f"{parts.query}{joiner}{page_key}=2", "")))
    return out


def find_next_page(facts: Any, url: str, body_text: str | None = None) -> str | None:
    """The URL of the list page after ``url``, or None.

    In order: a visible link whose text is 下一页 (or 下页, >, » …); a link matching the
    ``index_N.html`` / ``?page=N`` successor of ``url``; the successor drawn by a TRS
    ``createPageHTML(total, current, "index", "html")`` script in ``body_text``.
    """
    current = canonical_url(url)
    links = [l for l in (getattr(facts, "links", None) or ()) if is_http_url(getattr(l, "url", ""))]
    for link in links:
        text = re.sub(r"\s+", "", getattr(link, "text", "") or "").lower()
        if text in _NEXT_TEXTS and canonical_url(link.url) != current:
            return link.url
    by_key = {canonical_url(l.url): l.url for l in links}
    for candidate in _expected_next(url):
        found = by_key.get(canonical_url(candidate))
        if found:
            return found
    if body_text:
        m = _CREATE_PAGE_HTML.search(body_text)
        if m:
            total, cur, stem, ext = int(m.group(1)), int(m.group(2)), m.group(3), m.group(4)
            if cur + 1 < total:
                return urljoin(url, f"{stem}_{cur + 1}.{ext}")
    return None


# --- column items ------------------------------------------------------------------------


def _date_key(date: Any) -> tuple[int, int, int, datetime.time] | None:
    if date is None:
        return None
    time = getattr(date, "time", None) or datetime.time.min
    return (date.year, date.month, date.day or 0, time)


def newest_items(items: Iterable[Any], count: int) -> list[Any]:
    """The ``count`` newest entries (by ``.date``; dated ones first, newest first, then the
    undated ones in list order), one per canonical URL."""
    seen: set[str] = set()
    unique: list[tuple[int, Any]] = []
    for order, item in enumerate(items):
        url = getattr(item, "url", "")
        if not is_http_url(url):
            continue
        key = canonical_url(url)
        if key in seen:
            continue
        seen.add(key)
        unique.append((order, item))
    dated = [(k, o, it) for o, it in unique if (k := _date_key(getattr(it, "date", None))) is not None]
    undated = [(o, it) for o, it in unique if _date_key(getattr(it, "date", None)) is None]
    dated.sort(key=lambda t: (t[0], -t[1]), reverse=True)
    ordered: Sequence[Any] = [it for _, _, it in dated] + [it for _, it in undated]
    return list(ordered[: max(count, 0)])

"""Read one fetched page: its title, dates, source, column items and links.

This is the most consequential judgement in the product: a misread date accuses a
government office of a defect it does not have. So the rules are conservative and every
date records how it was found (``publish_date_how``, ``written_date_how``).

The page is decoded (``encoding.py``), parsed once with lxml, and walked once to build the
*visible* text: script, style, comments, attributes and anything hidden (inline
``display:none`` and the like, the ``hidden`` attribute, classes and ids that the page's own
``<style>`` blocks hide) are not text a reader sees. The visible text is a list of segments:
one per block element, table cell or ``<br>``-separated line.

Publish date, in order of trust:
  1. a visible label — 发布日期 / 发布时间 / 发布于 / 发表日期 / 生成日期 … (also in the 信息公开
     metadata table, letter-spaced labels like 发 布 日 期, full- or half-width colon);
     发文日期 when there is no 发布… label (how 宜春's table names the publish date);
     the generic 时间 / 日期 only outside the article body (a 时间：line in the body is
     an event's time) and never for a date followed by 星期X (a clock widget);
  2. a ``<publishtime>`` tag;
  3. Guangdong gkmlpt's ``window._CONFIG.DETAIL`` JSON;
  4. an unlabelled date on a short line right under the article heading (a byline);
  5. ``<meta name="PubDate">`` and its relatives — only when nothing visible gives a date;
  6. 更新时间 / 修改时间 — last resort.

Written date (成文日期): the table's 成文日期 label, then gkmlpt, then the signature that
closes the document's own body — a short line that is only a date (often in Chinese
numerals, sometimes in parentheses), preferably right after an organisation line, before
any 附件 / 抄送 section and after the body text has begun; then a parenthesised date-only
line under the in-body heading (统计公报 style: ``（2023年4月12日）``). A month-only date
stays month-only. News items usually have none: null.

Labels sit in a table cell, a ``<label>``, or inline before a colon; a label in a table
cell takes its value from the same row (a list table's column header is not a field), and a
发布时间 inside a list entry that links to another article dates that article, not the page.
The unlabelled byline is looked for only between the heading and the first sentence of the
body, and never in a list entry (a list page has no publish date).

Column items: a link whose entry (``li``, table row, ``dd``/``dt``, or a ``p``/``div`` repeated
with the same class) carries a date outside the link text (``<span>``, ``[…]``, ``(…)``,
another cell, the following ``dd``), or whose link text ends with one. An entry may hold
short category links (``[通知]``) besides its title link. Undated entries count as items only
inside a list (same parent) where at least two entries, and at least half of them, are dated
— a column list with a missing date; navigation lists without dates are not items. Entries
in hidden tab panels are items too (a reader opens the tab); their links are marked hidden.
Year-less ``MM-DD`` dates take their year from the page's publish date, else the newest full
date among the items, else the HTTP ``Date`` / ``Last-Modified`` header, else today (the
year that puts the date nearest to, on or before, that day — 12-30 seen on 2024-01-03 is
2023-12-30).

Speed: one lxml parse (plain ``lxml.etree`` elements, cheaper than ``lxml.html``'s), one
walk, label search anchored on colons and years rather than a scan of every position, and
links pre-filtered by whether anything date-like is written near them. BeautifulSoup is not
used on this path.
"""

from __future__ import annotations

import datetime
import email.utils
import functools
import json
import logging
import bisect
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urldefrag, urljoin

import lxml.etree

from govmon.crawler.dates import PageDate, find_date_spans, parse_date
from govmon.crawler.encoding import content_type, decode_html
from govmon.crawler.portal_features import read_message, search_forms

__all__ = ["ListItem", "Link", "PageFacts", "extract_page"]

log = logging.getLogger(__name__)

# Set to True (tests do) to let unexpected errors propagate instead of becoming a warning.
RAISE_ERRORS = False


@dataclass(slots=True)
class ListItem:
    title: str
    url: str
    date: PageDate | None
    text: str


@dataclass(slots=True)
class Link:
    url: str
    text: str
    visible: bool
    hidden_reason: str | None


@dataclass(slots=True)
class PageFacts:
    url: str
    encoding: str | None = None
    encoding_declared: str | None = None
    is_html: bool = False
    truncated: bool = False
    title: str | None = None
    publish_date: PageDate | None = None
    publish_date_how: str | None = None
    written_date: PageDate | None = None
    written_date_how: str | None = None
    source: str | None = None
    issuer: str | None = None
    index_no: str | None = None
    doc_no: str | None = None
    items: list[ListItem] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    text: str = ""  # the visible text, one block a line (not in to_dict: it can be long)
    search_forms: list[dict[str, Any]] = field(default_factory=list)  # see portal_features.search_forms
    message: dict[str, Any] | None = None  # a message page's dates (portal_features.read_message)

    def to_dict(self) -> dict[str, Any]:
        pub, wri = self.publish_date, self.written_date
        return {
            "url": self.url,
            "status": None,
            "title": self.title,
            "publish_date": pub.iso() if pub else None,
            "publish_time": pub.time_iso() if pub else None,
            "publish_date_how": self.publish_date_how,
            "written_date": wri.iso() if wri else None,
            "written_date_precision": wri.precision if wri else None,
            "written_date_how": self.written_date_how,
            "source": self.source,
            "issuer": self.issuer,
            "index_no": self.index_no,
            "doc_no": self.doc_no,
            "items": [
                {"title": it.title, "url": it.url, "date": it.date.iso() if it.date else None, "text": it.text}
                for it in self.items
            ],
            "links": [link.url for link in self.links],
            "link_details": [
                {"url": link.url, "text": link.text, "visible": link.visible, "hidden_reason": link.hidden_reason}
                for link in self.links
            ],
            "encoding": self.encoding,
            "encoding_declared": self.encoding_declared,
            "is_html": self.is_html,
            "truncated": self.truncated,
            "warnings": list(self.warnings),
            "search_forms": list(self.search_forms),
            "message": self.message,
        }


# ---------------------------------------------------------------------------
# content sniffing

_HTML_MIMES = {"text/html", "application/xhtml+xml", "application/vnd.wap.xhtml+xml"}
_MAGIC = [
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"PK\x03\x04", "application/zip"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/msword"),
    (b"\x1f\x8b", "application/gzip"),
    (b"Rar!", "application/x-rar-compressed"),
    (b"7z\xbc\xaf", "application/x-7z-compressed"),
    (b"BM", None),  # too short to trust alone; checked below
    (b"ID3", "audio/mpeg"),
    (b"OggS", "audio/ogg"),
    (b"\x00\x00\x00", None),
]
_HTML_START = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta|title|div|table|p|script|link|style|!--|center|span|a\s|h[1-6]|form|ul|iframe|frameset)",
    re.I | re.S,
)


def _sniff_binary(body: bytes) -> str | None:
    head = body[:16]
    for magic, mime in _MAGIC:
        if mime and head.startswith(magic):
            return mime
    if head[:4] == b"RIFF" and body[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"\x00\x00\x00") and body[4:8] == b"ftyp":
        return "video/mp4"
    # many NUL bytes: binary
    sample = body[:1024]
    if sample.count(b"\x00") > 8:
        return "application/octet-stream"
    return None


def _looks_like_html(body: bytes) -> bool:
    head = body[:2048]
    if _HTML_START.match(head):
        return True
    lowered = head.lower()
    return b"<html" in lowered or b"<body" in lowered or b"<!doctype html" in lowered


def _looks_like_json(body: bytes) -> bool:
    first = body[:64].lstrip()[:1]
    if first not in (b"{", b"["):
        return False
    try:
        json.loads(body.decode("utf-8", errors="strict"))
    except (ValueError, UnicodeDecodeError):
        return False
    return True


def _non_html_type(body: bytes, mime: str | None) -> str | None:
    """The type to report when the body is not an HTML page, else None."""
    binary = _sniff_binary(body)
    if binary:
        return binary
    if mime and mime not in _HTML_MIMES:
        if _looks_like_html(body):
            return None
        return mime
    if _looks_like_json(body):  # an API answer, whatever the header says
        return "application/json"
    return None


# ---------------------------------------------------------------------------
# visibility

_DISPLAY_NONE = re.compile(r"(?:^|[;{\s])display\s*:\s*none", re.I)
_DISPLAY_SET = re.compile(r"(?:^|[;{\s])display\s*:\s*(?!none)[a-z]", re.I)
_VIS_HIDDEN = re.compile(r"(?:^|[;{\s])visibility\s*:\s*(?:hidden|collapse)", re.I)
_OFFSCREEN = re.compile(
    r"(?:^|[;{\s])(left|top|right|text-indent|margin-left|margin-top)\s*:\s*-\s*(\d+(?:\.\d+)?)\s*(px|em|rem|pt)?",
    re.I,
)
_ZERO_VALUE = r"\s*:\s*0(?:\.0+)?\s*(?:px|pt|em|rem|%)?\s*(?:!important\s*)?(?:;|$)"
_FONT_ZERO = re.compile(r"(?:^|[;{\s])font-size" + _ZERO_VALUE, re.I)
_SIZE_ZERO = re.compile(r"(?:^|[;{\s])(width|height|max-width|max-height)" + _ZERO_VALUE, re.I)
_OVERFLOW_HIDDEN = re.compile(r"overflow(?:-[xy])?\s*:\s*hidden", re.I)
_COLOR = re.compile(r"(?:^|[;{\s])color\s*:\s*([^;!]+)", re.I)
_BACKGROUND = re.compile(r"(?:^|[;{\s])background(?:-color)?\s*:\s*([^;!]+)", re.I)


def _same_colour(style: str) -> bool:
    """The text colour equals the background colour of the same declaration block."""
    fg, bg = _COLOR.search(style), _BACKGROUND.search(style)
    if fg is None or bg is None:
        return False
    colour = "".join(fg.group(1).split()).lower()
    background = "".join(bg.group(1).split()).lower()
    if colour in ("", "inherit", "transparent", "currentcolor"):
        return False
    return background == colour


_OPACITY_ZERO = re.compile(r"(?:^|[;{\s])opacity\s*:\s*0(?:\.0+)?\s*(?:!important\s*)?(?:;|$)", re.I)


@functools.lru_cache(maxsize=4096)
def _style_hidden(style: str) -> str | None:
    """Why a CSS declaration block hides its element, or None."""
    if ":" not in style:
        return None
    if _DISPLAY_NONE.search(style):
        return "display:none"
    if _VIS_HIDDEN.search(style):
        return "visibility:hidden"
    for m in _OFFSCREEN.finditer(style):
        value = float(m.group(2))
        if (m.group(3) or "px").lower() in ("em", "rem"):
            value *= 16
        if value >= 999:
            return "text-indent" if m.group(1).lower() == "text-indent" else "off-screen"
    if _FONT_ZERO.search(style):
        return "font-size:0"
    if _SIZE_ZERO.search(style) and _OVERFLOW_HIDDEN.search(style):
        return "zero-size"
    if _OPACITY_ZERO.search(style):
        return "opacity:0"
    if _same_colour(style):
        return "color=background"
    return None


_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_CSS_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_SIMPLE_CLASS = re.compile(r"^[a-zA-Z0-9]*\.(-?[_a-zA-Z][\w-]*)$")
_SIMPLE_ID = re.compile(r"^[a-zA-Z0-9]*#(-?[_a-zA-Z][\w-]*)$")
_COMPOUND_CLASS = re.compile(r"^[a-zA-Z0-9]*((?:\.-?[_a-zA-Z][\w-]*){2,})$")


def _strip_at_blocks(css: str) -> str:
    """Drop @media / @supports / @keyframes … blocks (nested braces), keep plain rules."""
    out = []
    i, n = 0, len(css)
    while i < n:
        at = css.find("@", i)
        if at < 0:
            out.append(css[i:])
            break
        out.append(css[i:at])
        brace = css.find("{", at)
        semi = css.find(";", at)
        if brace < 0 or (0 <= semi < brace):
            i = (semi + 1) if semi >= 0 else n
            continue
        depth, j = 0, brace
        while j < n:
            c = css[j]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        i = j + 1
    return "".join(out)


@dataclass(slots=True)
class _CssHiding:
    classes: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    shown_class_sets: list[frozenset[str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.classes or self.ids)


def _parse_style_blocks(css_texts: list[str]) -> _CssHiding:
    hiding = _CssHiding()
    for css in css_texts:
        if "{" not in css:
            continue
        css = _strip_at_blocks(_CSS_COMMENT.sub("", css))
        for m in _CSS_RULE.finditer(css):
            decl = m.group(2)
            reason = _style_hidden(decl.strip())
            for selector in m.group(1).split(","):
                sel = selector.strip()
                if not sel:
                    continue
                if reason:
                    cm = _SIMPLE_CLASS.match(sel)
                    if cm:
                        hiding.classes.setdefault(cm.group(1), f"{reason} (.{cm.group(1)})")
                        continue
                    im = _SIMPLE_ID.match(sel)
                    if im:
                        hiding.ids.setdefault(im.group(1), f"{reason} (#{im.group(1)})")
                elif _DISPLAY_SET.search(decl):
                    # .tab.active{display:block}: an element with all these classes is shown
                    cm = _COMPOUND_CLASS.match(sel)
                    if cm:
                        hiding.shown_class_sets.append(frozenset(c for c in cm.group(1).split(".") if c))
    return hiding


# ---------------------------------------------------------------------------
# the visible-text walk

_BLOCK_TAGS = frozenset(
    "address article aside blockquote body br caption center dd details dialog dir div dl dt "
    "fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hr html legend li main menu "
    "nav ol p pre section summary table tbody td tfoot th thead tr ul ucapcontent ucaptitle "
    "publishtime".split()
)
_SKIP_TAGS = frozenset(
    "script style template head title select textarea option optgroup iframe object embed svg math canvas audio video"
    .split()
)
_PARA_TAGS = frozenset("p h1 h2 h3 h4 h5 h6 blockquote pre center".split())
_HEADING_TAGS = frozenset(("h1", "h2", "h3"))
_WS = re.compile(r"[\s\u200b\u200c\u200d\ufeff]+")
_TITLEISH = re.compile(r"title|biaoti|bt\b|headline|tit\b|art_tit|articletitle", re.I)
_MAX_DEPTH = 250


def _text(el: Any) -> str:
    """All the text inside an element (like lxml.html's text_content, for plain etree elements)."""
    if not len(el):
        return el.text or ""
    return "".join(el.itertext())


def _clean(text: str | None) -> str:
    """Collapse all whitespace (incl. \u3000 and &nbsp;) to single spaces; drop zero-width marks."""
    if not text:
        return ""
    if "\u200b" in text or "\ufeff" in text or "\u200c" in text or "\u200d" in text:
        text = text.replace("\u200b", "").replace("\ufeff", "").replace("\u200c", "").replace("\u200d", "")
    return " ".join(text.split())


class _Page:
    """The result of one walk over the parsed document: the visible text as segments."""

    __slots__ = ("segs", "seg_owner", "seg_cell", "block_range", "para_chars", "links", "headings", "publishtime")

    def __init__(self) -> None:
        self.segs: list[str] = []                 # visible text, one entry per block / cell / line
        self.seg_owner: list[Any] = []            # the innermost block element of each segment
        self.seg_cell: list[bool] = []            # the segment is a cell of a multi-cell table row
        self.block_range: dict[Any, tuple[int, int]] = {}   # block element -> [first, end) segments
        self.para_chars: dict[Any, int] = {}      # element -> characters of paragraph text it holds
        # (a/area element, hidden reason, the block element it sits in when visible)
        self.links: list[tuple[Any, str | None, Any]] = []
        self.headings: list[tuple[Any, int]] = []           # (heading-like element, first segment)
        self.publishtime: list[Any] = []


_TITLEISH_MEMO: dict[str, bool] = {}


def _titleish(ident: str) -> bool:
    got = _TITLEISH_MEMO.get(ident)
    if got is None:
        got = bool(_TITLEISH.search(ident))
        if len(_TITLEISH_MEMO) < 10_000:
            _TITLEISH_MEMO[ident] = got
    return got


def _walk_document(root: Any, css: _CssHiding) -> _Page:
    """Walk the tree once, collecting visible text segments, links, headings."""
    page = _Page()
    segs, seg_owner, seg_cell = page.segs, page.seg_owner, page.seg_cell
    block_range, para_chars = page.block_range, page.para_chars
    links, headings, publishtime = page.links, page.headings, page.publishtime
    buf: list[str] = []
    # open block elements: (element, is a multi-cell table cell, element that gets paragraph credit)
    stack: list[tuple[Any, bool, Any]] = []
    css_ids = css.ids
    css_classes = css.classes
    shown_sets = css.shown_class_sets
    clean = _clean
    style_hidden = _style_hidden
    block_tags, skip_tags, para_tags, heading_tags = _BLOCK_TAGS, _SKIP_TAGS, _PARA_TAGS, _HEADING_TAGS

    def flush() -> None:
        text = clean("".join(buf))
        buf.clear()
        if not text:
            return
        if stack:
            owner, cell, credit = stack[-1]
        else:
            owner, cell, credit = None, False, None
        segs.append(text)
        seg_owner.append(owner)
        seg_cell.append(cell)
        if credit is not None:
            # running text (sentences) counts fully; footers, menus and bare data a quarter
            n = len(text)
            if not ("，" in text or "。" in text or "；" in text or "、" in text):
                n //= 4
            para_chars[credit] = para_chars.get(credit, 0) + n

    def hidden_links(el: Any, reason: str) -> None:
        for a in el.iter("a", "area"):
            links.append((a, reason, None))

    def walk(el: Any, depth: int) -> None:
        tag = el.tag
        if tag in skip_tags:
            if tag not in ("head", "title", "option", "select"):
                hidden_links(el, f"inside <{tag}>")
            return
        if not isinstance(tag, str):
            return
        # -- is it hidden? inline style, hidden attribute, classes/ids hidden by <style> --
        style = cls = ident = None
        reason = None
        inline_display = False
        attrs = el.items()
        if attrs:
            for name, value in attrs:
                if name == "class":
                    cls = value
                elif name == "style":
                    style = value
                elif name == "id":
                    ident = value
                elif name == "hidden":
                    reason = "hidden attribute"
        if style and reason is None:
            reason = style_hidden(style)
            inline_display = reason is None and "display" in style and bool(_DISPLAY_SET.search(style))
        if reason is None and not inline_display:
            if ident and css_ids and ident in css_ids:
                reason = css_ids[ident]
            elif cls and css_classes:
                names = cls.split()
                for name in names:
                    if name in css_classes:
                        if shown_sets and any(s.issubset(names) for s in shown_sets):
                            continue
                        reason = css_classes[name]
                        break
        if reason is None and tag == "noscript":
            reason = "noscript"
        if reason is not None:
            if tag in block_tags and buf:
                flush()
            hidden_links(el, reason)
            return
        if tag == "a" or tag == "area":
            links.append((el, None, stack[-1][0] if stack else None))
        block = tag in block_tags
        if block:
            if buf:
                flush()
            if tag == "br" or tag == "hr":
                return
            cell = False
            if tag == "td" or tag == "th":
                row = el.getparent()
                cell = row is not None and len(row) > 1
            if tag in para_tags:
                credit = el.getparent()
            else:
                credit = el
            stack.append((el, cell, credit))
            start = len(segs)
        if tag in heading_tags:
            headings.append((el, len(segs)))
        elif tag == "publishtime":
            publishtime.append(el)
        elif (cls or ident) and len(headings) < 60 and tag not in ("a", "li", "ul", "ol", "body", "html"):
            if (cls and _titleish(cls)) or (ident and _titleish(ident)):
                headings.append((el, len(segs)))
        text = el.text
        if text:
            buf.append(text)
        if depth < _MAX_DEPTH:
            for child in el:
                walk(child, depth + 1)
                tail = child.tail
                if tail:
                    buf.append(tail)
        else:
            buf.append(" ".join(el.itertext()))
            for a in el.iter("a", "area"):
                if a is not el:
                    links.append((a, None, None))
        if block:
            if buf:
                flush()
            stack.pop()
            block_range[el] = (start, len(segs))

    walk(root, 0)
    if buf:
        flush()
    return page


# ---------------------------------------------------------------------------
# labels

_LABEL_GROUPS: dict[str, list[str]] = {
    "publish": ["发布日期", "发布时间", "发布于", "发表日期", "发表时间", "发稿日期", "发稿时间", "公开日期",
                "公布日期", "生成日期", "上线时间", "上传时间", "录入时间", "信息发布日期", "信息发布时间",
                "发布日", "刊发日期", "刊发时间"],
    "fawen": ["发文日期", "发文时间"],
    "generic": ["时间", "日期"],
    "update": ["更新时间", "更新日期", "修改时间", "修改日期", "最后更新", "最后更新时间"],
    "written": ["成文日期", "成文时间", "签发日期", "印发日期"],
    "source": ["来源", "信息来源", "文章来源", "稿件来源", "新闻来源", "消息来源", "来源单位", "内容来源"],
    "issuer": ["发布机构", "发文机关", "发布单位", "发文单位", "发文机构", "发布部门", "发布机关", "制发机关",
               "发文部门", "制发单位", "发布主体"],
    "index_no": ["索引号", "索 引"],
    "doc_no": ["发文字号", "文号", "发文文号", "文件编号", "文件字号"],
    "title": ["标题", "名称", "文件名称", "信息名称", "文件标题"],
    "stop": ["作者", "编辑", "责任编辑", "编者", "浏览次数", "浏览量", "浏览", "访问量", "访问次数", "阅读",
             "阅读量", "阅读数", "阅读次数", "点击", "点击数", "点击量", "点击率", "字号", "字体", "打印", "分享",
             "主题分类", "分类", "公开方式", "公开时限", "公开范围", "公开形式", "有效性", "生效日期", "废止日期",
             "失效日期", "实施日期", "体裁分类", "组配分类", "服务对象分类", "服务对象", "主题词", "关键词",
             "关键字", "摄影", "供稿", "审核", "通讯员", "记者", "撰稿", "发布人", "信息类别", "所属主题",
             "文种", "备注", "状态", "效力状态", "时效", "信息分类", "所属机构", "主题", "体裁", "载体类型",
             "语种", "责任人", "联系电话", "保存", "关闭", "收藏", "统一编号", "登记号"],
}
# Short labels that are also the tail of ordinary words (会议时间, 资料来源, 文件标题): they
# count after another CJK character only when an earlier label on the same line shows that
# the line is a run of fields (<span>发布者：张三</span><span>来源：本网</span>).
_LOOKBEHIND_LABELS = {"时间", "日期", "来源", "标题", "名称", "文号", "发布日"}
_LABEL_KEY: dict[str, str] = {}
for _key, _names in _LABEL_GROUPS.items():
    for _name in _names:
        _LABEL_KEY[_name.replace(" ", "")] = _key


def _label_pattern(name: str) -> str:
    return "[ \t]*".join(re.escape(ch) for ch in name.replace(" ", ""))


def _build_label_regexes() -> tuple[re.Pattern[str], re.Pattern[str], str]:
    names = sorted(_LABEL_KEY, key=len, reverse=True)
    strict = [n for n in names if n in _LOOKBEHIND_LABELS]
    loose = [n for n in names if n not in _LOOKBEHIND_LABELS]
    first = "".join(sorted({n[0] for n in names}))
    alt_loose = "|".join(_label_pattern(n) for n in loose)
    alt_strict = "|".join(_label_pattern(n) for n in strict)
    label = rf"(?P<label>(?:{alt_loose})|(?<![\u4e00-\u9fff])(?:{alt_strict}))"
    label_any = rf"(?P<label>(?:{alt_loose})|(?:{alt_strict}))"
    # a label that ends where the search window ends (just before a colon or a date)
    ending = re.compile(rf"(?=[{first}]){label}[ \t]*$")
    ending_any = re.compile(rf"(?=[{first}]){label_any}[ \t]*$")
    # a segment that is nothing but a label: a table cell, <label>…</label>
    alone = re.compile(rf"[\[【]?[ \t]*{label}[ \t]*[\]】]?[ \t]*[:：]?[ \t]*$")
    return ending, ending_any, alone, first


_LABEL_ENDING, _LABEL_ENDING_ANY, _LABEL_ALONE, _LABEL_FIRST = _build_label_regexes()
_YEAR_AHEAD = re.compile(r"[12一二][0-9〇○零O一二三四五六七八九]{3}\s?[-/.年]")
_VALUE_TRIM = " \t|｜丨/\\【】[]<>《》:：;；,，、·•"
_DATE_KEYS = frozenset(("publish", "fawen", "generic", "update", "written"))
_VALUE_MAX = 300  # a field's value is short; never copy more of a line than this
_WEEKDAY_AFTER = re.compile(r"^\s*[（(]?\s*(?:星期|礼拜|周)[一二三四五六日天]")


@dataclass(slots=True)
class _LabelHit:
    key: str
    label: str
    seg: int
    value: str
    after: str  # text following the value on the same segment (for the 星期 check)


def _label_occurrences(page_text: str, seg_starts: list[int], segs: list[str]) -> list[tuple[int, int, str, bool]]:
    """(start, end, label, colon) for every label the page shows, in order.

    Found three ways, all cheap: a label right before a colon; a segment that is only a
    label (its value is in the next cell); a label right before a date (no colon)."""
    found: dict[int, tuple[int, int, str, bool]] = {}
    search = _LABEL_ENDING.search
    colons: list[int] = []
    for ch in ":：":
        pos = page_text.find(ch)
        while pos >= 0:
            colons.append(pos)
            pos = page_text.find(ch, pos + 1)
    colons.sort()
    last_line = -1
    for pos in colons:
        line_start = seg_starts[bisect.bisect_right(seg_starts, pos) - 1]
        window = max(line_start, pos - 16)
        m = search(page_text, window, pos)
        if m is None and last_line == line_start:
            m = _LABEL_ENDING_ANY.search(page_text, window, pos)
        if m:
            found[m.start()] = (m.start(), pos + 1, m.group("label"), True)
            last_line = line_start
    first = _LABEL_FIRST
    for i, seg in enumerate(segs):
        if len(seg) <= 14 and (seg[0] in first or seg[0] in "[【"):
            m = _LABEL_ALONE.match(seg)
            if m:
                start = seg_starts[i] + m.start("label")
                if start not in found:
                    found[start] = (start, seg_starts[i] + len(seg), m.group("label"), ":" in seg or "：" in seg)
    for ym in _YEAR_AHEAD.finditer(page_text):
        pos = ym.start()
        line_start = seg_starts[bisect.bisect_right(seg_starts, pos) - 1]
        if pos == line_start:
            continue
        m = search(page_text, max(line_start, pos - 16), pos)
        if m and m.start() not in found:
            found[m.start()] = (m.start(), m.end(), m.group("label"), False)
    return [found[k] for k in sorted(found)]


def _cell_row(el: Any) -> Any:
    """The table row of the cell that holds el (el itself, or up to two levels up), or None."""
    for _ in range(3):
        if el is None:
            return None
        if el.tag in ("td", "th"):
            return el.getparent()
        el = el.getparent()
    return None


def _find_labels(page_text: str, seg_starts: list[int], segs: list[str], owners: list[Any]) -> list[_LabelHit]:
    hits: list[_LabelHit] = []
    occurrences = _label_occurrences(page_text, seg_starts, segs)
    for i, (start, end, raw_label, colon) in enumerate(occurrences):
        label = raw_label.replace(" ", "").replace("\t", "")
        key = _LABEL_KEY.get(label)
        if key is None or key == "stop":
            continue
        seg = bisect.bisect_right(seg_starts, start) - 1
        seg_end = seg_starts[seg] + len(segs[seg])
        # the value runs to the next label on the same segment, else to the segment's end
        nxt = occurrences[i + 1][0] if i + 1 < len(occurrences) else len(page_text)
        value_end = min(nxt, seg_end, end + _VALUE_MAX)
        raw_value = page_text[end:value_end]
        before = page_text[seg_starts[seg]:start].strip(_VALUE_TRIM)
        value = raw_value.strip(_VALUE_TRIM)
        if not value and value_end >= seg_end:
            # label alone at the end of its segment (a table cell, <label>…</label>): the
            # value is the next segment, unless that is itself a label
            if seg + 1 < len(segs) and (colon or not before):
                candidate = segs[seg + 1]
                nxt_start = seg_starts[seg + 1]
                starts_with_label = i + 1 < len(occurrences) and occurrences[i + 1][0] <= nxt_start + 2
                # a label in a table cell takes its value from the same row: a column header
                # (标题 | 发布日期 over rows of entries) is not a field of this page
                label_row = _cell_row(owners[seg])
                other_row = label_row is not None and _cell_row(owners[seg + 1]) is not label_row
                if not starts_with_label and not other_row and len(candidate) <= 200:
                    hits.append(_LabelHit(key, label, seg + 1, candidate.strip(_VALUE_TRIM), ""))
                    continue
            if colon or not before:
                hits.append(_LabelHit(key, label, seg, "", ""))
            continue
        if not colon and key not in _DATE_KEYS:
            continue
        hits.append(_LabelHit(key, label, seg, value, page_text[value_end:min(seg_end, value_end + 20)]))
    return hits


# ---------------------------------------------------------------------------
# gkmlpt (Guangdong government information disclosure platform)

_GKMLPT_START = re.compile(r"_CONFIG\s*\.\s*DETAIL\s*=\s*")


def _balanced_object(text: str, start: int) -> str | None:
    if start >= len(text) or text[start] != "{":
        return None
    depth = 0
    quote = None
    escaped = False
    for i in range(start, min(len(text), start + 2_000_000)):
        c = text[i]
        if quote:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == quote:
                quote = None
            continue
        if c in "\"'":
            quote = c
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
    return None


_JS_FIELD = re.compile(r"""["']?(\w+)["']?\s*:\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|(-?\d+(?:\.\d+)?))""")


def _parse_gkmlpt(script_texts: list[str]) -> dict[str, Any] | None:
    for text in script_texts:
        m = _GKMLPT_START.search(text)
        if not m:
            continue
        obj = _balanced_object(text, m.end())
        if obj is None:
            continue
        try:
            data = json.loads(obj)
            if isinstance(data, dict):
                return data
        except ValueError:
            pass
        data = {}
        for fm in _JS_FIELD.finditer(obj):
            key = fm.group(1)
            if key in data:
                continue
            if fm.group(4) is not None:
                num = fm.group(4)
                data[key] = float(num) if "." in num else int(num)
            else:
                val = fm.group(2) if fm.group(2) is not None else fm.group(3)
                try:
                    val = json.loads(f'"{val}"')
                except ValueError:
                    pass
                data[key] = val
        return data or None
    return None


_SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def _value_date(value: Any) -> PageDate | None:
    """A gkmlpt/meta field value as a date: a string, or a Unix time in seconds or ms."""
    if value is None or value == "" or value is False:
        return None
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if is_number or (isinstance(value, str) and value.isdigit() and len(value) in (10, 13)):
        num = float(value)
        if num <= 0:
            return None
        if num > 1e11:
            num /= 1000
        try:
            moment = datetime.datetime.fromtimestamp(num, _SHANGHAI)
        except (OverflowError, OSError, ValueError):
            return None
        if not 1990 <= moment.year <= 2100:
            return None
        tm = moment.time().replace(microsecond=0)
        return PageDate(moment.year, moment.month, moment.day, tm if tm != datetime.time(0) else None, str(value))
    if isinstance(value, str):
        return parse_date(value[:80])
    return None


def _first_field(data: dict[str, Any], names: tuple[str, ...]) -> tuple[str, Any] | None:
    lowered = {k.lower(): k for k in data}
    for name in names:
        key = lowered.get(name)
        if key is not None:
            val = data[key]
            if val not in (None, "", 0, "0"):
                return key, val
    return None


# gkmlpt's own API names the written date (成文日期) "date" and the publish time
# "first_publish_time" / "display_publish_time" / "created_at"
_GK_PUBLISH = ("first_publish_time", "display_publish_time", "publish_time", "pub_time", "publishtime", "pubtime",
               "release_time", "publish_date", "pub_date", "fbrq", "created_at")
_GK_WRITTEN = ("written_date", "write_date", "written_time", "cwrq", "chengwen_date", "doc_date", "document_date",
               "date")
_GK_TITLE = ("title", "name")
_GK_ISSUER = ("publisher", "publisher_name", "issuer", "fwjg", "organ", "fbjg")
_GK_DOCNO = ("document_number", "doc_number", "document_no", "doc_no", "wh", "fwzh")
_GK_INDEX = ("identifier", "index_no", "index_number", "syh")
_GK_SOURCE = ("source", "source_name", "ly")


# ---------------------------------------------------------------------------
# title

_TITLE_SPLIT = re.compile(r"\s*(?:[_|｜]|——|--|—|–|::|\s-\s|\s－\s)\s*")
_SITE_NAMEISH = re.compile(
    r"(?:门户网站|政府网站|官方网站|官网|网站|政府网|人民政府|人民政府办公室|政务网|信息网|^中国[\u4e00-\u9fff]{2,3}$|"
    r"^[\u4e00-\u9fff]{2,8}(?:市|县|区|省|旗|州)(?:政府)?$|\.gov\.cn|\.com|首页)$|^首页$"
)


def _is_site_name(segment: str, site_names: set[str]) -> bool:
    return segment in site_names or bool(_SITE_NAMEISH.search(segment))


def _title_segments(title: str) -> list[str]:
    parts = [p.strip() for p in _TITLE_SPLIT.split(title) if p and p.strip()]
    if len(parts) <= 1 and "-" in title:
        dash_parts = [p.strip() for p in title.split("-") if p.strip()]
        if len(dash_parts) > 1 and any(_SITE_NAMEISH.search(p) for p in dash_parts):
            return dash_parts
    return parts or [title.strip()]


def _heading_matches(heading: str, segments: list[str], full: str) -> bool:
    if len(heading) < 2:
        return False
    for seg in segments:
        if heading == seg:
            return True
        if len(seg) >= 4 and heading in seg and len(heading) >= 0.6 * len(seg):
            return True
        if len(seg) >= 6 and seg in heading and len(seg) >= 0.6 * len(heading):
            return True
        stem = seg.rstrip("…. ")
        if len(stem) >= 8 and stem != seg and heading.startswith(stem):
            return True
    return len(heading) >= 6 and heading in full and len(heading) >= 0.5 * len(full)


# ---------------------------------------------------------------------------
# written date helpers

_ORG_SUFFIX = re.compile(
    r"(?:政府|办公厅|办公室|委员会|委|局|厅|部|办|院|会|中心|公司|队|所|站|处|署|府|组|小组|指挥部|学校|大学|银行|馆|社|"
    r"集团|协会|党委|党组|总局|法院|检察院|街道|乡|镇|村|区|县|市|省|联合会|研究室|管委会|工作领导小组|分局|支队|大队|"
    r"调查队|办事处|监狱|医院|园|科)$"
)
_SENTENCE_END = re.compile(r"[。；;，,！!？?：:]")
_APPENDIX_START = re.compile(
    r"^(?:附\s*件\s*[0-9０-９一二三四五六七八九十]*\s*[:：]?|附\s*表\s*[0-9０-９一二三四五六七八九十]*\s*[:：]?|附件下载[:：]?.*|相关附件[:：]?.*|附件列表.*)$"
)
_AFTER_SIGNATURE = re.compile(r"^(?:抄送|抄报|主送|印发|分送|发送)\s*[:：]")
_BRACKETS = "（）()[]【】〔〕 \t"
_TAIL_NOTE = re.compile(r"^[（(].{0,30}[)）]$")


_FULL_STOP = re.compile(r"[。！？；!?;]")


def _is_running_text(text: str) -> bool:
    """A sentence of the body (not a heading, a label line, a name or a date)."""
    n = len(text)
    if n >= 10 and _FULL_STOP.search(text):
        return True
    return n >= 30 and ("，" in text or "," in text or "、" in text)


_ENTRY_TAGS = frozenset(("li", "dd", "dt"))


def _in_list_entry(el: Any, levels: int = 3) -> bool:
    """Is the element (or one of its nearest ancestors) an entry of a list?"""
    for _ in range(levels + 1):
        if el is None:
            return False
        if el.tag in _ENTRY_TAGS:
            return True
        el = el.getparent()
    return False


def _entry_with_title_link(el: Any) -> bool:
    """Is the element inside a list entry that links to an article (a title of 6+ characters)?
    A 发布时间 label there dates that article, not this page."""
    for _ in range(4):
        if el is None:
            return False
        if el.tag in _ENTRY_TAGS or el.tag == "tr":
            return any(len(_clean(_text(a))) >= 6 for a in el.iter("a") if a.get("href") is not None)
        el = el.getparent()
    return False


def _date_only(text: str) -> PageDate | None:
    """The date when a segment is nothing but a date (optionally in parentheses)."""
    stripped = text.strip(_BRACKETS)
    if not stripped or len(stripped) > 24:
        return None
    spans = find_date_spans(stripped)
    if len(spans) != 1:
        return None
    start, end, found = spans[0]
    rest = (stripped[:start] + stripped[end:]).strip(_BRACKETS + "日号")
    if rest:
        return None
    return found


def _org_then_date(text: str) -> PageDate | None:
    """``国务院办公厅 二〇〇五年七月十四日`` on one line: an organisation then a date."""
    if len(text) > 60:
        return None
    spans = find_date_spans(text)
    if len(spans) != 1:
        return None
    start, end, found = spans[0]
    if text[end:].strip(_BRACKETS + "日号"):
        return None
    org = text[:start].strip(_BRACKETS)
    if not org or _SENTENCE_END.search(org) or not _ORG_SUFFIX.search(org):
        return None
    return found


def _is_org_line(text: str) -> bool:
    t = text.strip()
    if not t or len(t) > 40 or _SENTENCE_END.search(t):
        return False
    last = t.split()[-1]
    return bool(_ORG_SUFFIX.search(last)) or bool(_ORG_SUFFIX.search(t))


# ---------------------------------------------------------------------------
# items

_ITEM_CONTAINERS = frozenset("li tr dd dt dl p div td span h3 h4 h5 em font".split())
_LIST_STOP = frozenset("ul ol table tbody thead body html form".split())
_ITEM_REST_MAX = 40
_CATEGORY_LINK_MAX = 8


@dataclass(slots=True)
class _ItemCandidate:
    order: int
    el: Any
    container: Any
    title: str
    url: str
    text: str
    date_raw: str | None
    date_full: PageDate | None


def _link_text(el: Any) -> str:
    if el.tag == "area":
        return _clean(el.get("alt") or el.get("title"))
    text = _clean(_text(el))
    if not text:
        for img in el.iter("img"):
            text = _clean(img.get("alt") or img.get("title"))
            if text:
                break
    if not text:
        text = _clean(el.get("title"))
    return text


_DATEISH = re.compile(r"\d[-/.月年]|[〇○零]")
_HAS_YEAR = re.compile(r"\d{4}|[〇○零一二三四五六七八九]年")


def _rest_date(rest: str, today: datetime.date) -> tuple[str, PageDate | None] | None:
    """A date in an item's non-link text: (raw span, full date or None when year-less)."""
    if not rest or not _DATEISH.search(rest):
        return None
    spans = find_date_spans(rest) or find_date_spans(rest, context=today)
    if not spans:
        return None
    start, end, found = spans[0]
    leftover = "".join((rest[:start] + rest[end:]).split()).strip(_BRACKETS + "·•|-—:：发布时间日期更新")
    if len(leftover) > _ITEM_REST_MAX:
        return None
    if found.day is None:
        return None
    raw = rest[start:end]
    return raw, (found if _HAS_YEAR.search(raw) else None)


# ---------------------------------------------------------------------------
# the extraction


def _mb(n: int) -> str:
    if n >= 1_000_000:
        value = n / 1_000_000
        return f"{value:g} MB"
    if n >= 1000:
        return f"{n / 1000:g} KB"
    return f"{n} 字节"


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    for key, val in headers.items():
        if key.lower() == name:
            return val.decode("latin-1") if isinstance(val, bytes) else str(val)
    return None


def _header_date(headers: Mapping[str, str] | None) -> datetime.date | None:
    for name in ("date", "last-modified"):
        value = _header(headers, name)
        if value:
            try:
                moment = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                continue
            if moment is not None:
                if moment.tzinfo is not None:
                    moment = moment.astimezone(_SHANGHAI)
                return moment.date()
    return None


_XML_DECL_TEXT = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_PARSER = lxml.etree.HTMLParser(remove_comments=True, remove_pis=True, huge_tree=True, no_network=True)


def extract_page(
    url: str,
    body: bytes,
    headers: Mapping[str, str] | None = None,
    *,
    max_bytes: int = 5_000_000,
) -> PageFacts:
    """Everything a reader can see on one page that the checks need (see module docstring)."""
    facts = PageFacts(url=url)
    try:
        _extract(facts, url, body, headers, max_bytes)
    except Exception as err:  # bad input must never crash a crawl
        if RAISE_ERRORS:
            raise
        log.exception("extract_page failed for %s", url)
        facts.warnings.append(f"读取页面时出错（{type(err).__name__}），部分内容未能读取")
    return facts


def _extract(facts: PageFacts, url: str, body: bytes, headers: Mapping[str, str] | None, max_bytes: int) -> None:
    if body is None:
        body = b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    if max_bytes and len(body) > max_bytes:
        body = body[:max_bytes]
        facts.truncated = True
        facts.warnings.append(f"页面超过 {_mb(max_bytes)}，只读取了前 {_mb(max_bytes)}")
    mime, _ = content_type(headers)
    if not body.strip():
        facts.warnings.append("页面内容为空")
        return
    other = _non_html_type(body, mime)
    if other:
        facts.warnings.append(f"不是 HTML 页面（{other}）")
        return

    decoded = decode_html(body, headers)
    facts.encoding = decoded.encoding
    facts.encoding_declared = decoded.declared
    facts.warnings.extend(decoded.warnings)
    text = decoded.text
    if text.startswith("<?xml") or text.lstrip().startswith("<?xml"):
        text = _XML_DECL_TEXT.sub("", text, count=1)
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        doc = lxml.etree.fromstring(text, parser=_PARSER)
    except (lxml.etree.ParserError, lxml.etree.XMLSyntaxError, ValueError) as err:
        facts.warnings.append(f"无法解析为 HTML（{err}）")
        return
    if doc is None:
        facts.warnings.append("页面没有可读取的内容")
        return
    facts.is_html = True

    # -- one pass over the few element kinds read from the head and scripts --
    base = url
    page_title: str | None = None
    metas: dict[str, str] = {}
    css_texts: list[str] = []
    gk_scripts: list[str] = []
    for el in doc.iter("title", "meta", "base", "style", "script"):
        tag = el.tag
        if tag == "meta":
            name = el.get("name") or el.get("property") or el.get("itemprop") or el.get("http-equiv")
            content = el.get("content")
            if name and content is not None:
                metas.setdefault(name.strip().lower(), content)
        elif tag == "script":
            st = el.text
            if st and "_CONFIG" in st and "DETAIL" in st:
                gk_scripts.append(st)
        elif tag == "style":
            if el.text:
                css_texts.append(el.text)
        elif tag == "title":
            parent = el.getparent()
            if page_title is None and parent is not None and parent.tag in ("head", "html", "body"):
                page_title = _clean(_text(el))
        elif tag == "base" and base == url:
            href = el.get("href")
            if href and href.strip():
                base = urljoin(url, href.strip())

    css = _parse_style_blocks(css_texts) if css_texts else _CssHiding()
    body_el = doc.find("body")
    if body_el is None:
        page = _walk_document(doc, css)
    else:
        page = _walk_document(body_el, css)
        # frameset pages, or content the parser left outside <body>
        for sibling in doc:
            if sibling is not body_el and isinstance(sibling.tag, str) and sibling.tag != "head":
                extra = _walk_document(sibling, css)
                _append_page(page, extra)

    segs = page.segs
    seg_starts: list[int] = []
    pos = 0
    for s in segs:
        seg_starts.append(pos)
        pos += len(s) + 1
    page_text = "\n".join(segs)
    facts.text = page_text
    labels = _find_labels(page_text, seg_starts, segs, page.seg_owner) if segs else []
    gk = _parse_gkmlpt(gk_scripts) if gk_scripts else None

    content_el, body_range = _content_range(page)
    has_table_meta = any(h.key in ("index_no", "doc_no", "written", "issuer") for h in labels)

    # -- title --
    facts.title, title_seg = _pick_title(page, labels, gk, metas, page_title, has_table_meta)

    # -- text fields --
    facts.source = _text_field(labels, "source", max_len=40)
    facts.issuer = _text_field(labels, "issuer", max_len=80)
    facts.index_no = _text_field(labels, "index_no", max_len=60)
    facts.doc_no = _text_field(labels, "doc_no", max_len=60)
    if gk:
        gk_fields = (("issuer", _GK_ISSUER), ("index_no", _GK_INDEX), ("doc_no", _GK_DOCNO), ("source", _GK_SOURCE))
        for attr, names in gk_fields:
            if getattr(facts, attr) is None:
                hit = _first_field(gk, names)
                if hit and isinstance(hit[1], str) and _clean(hit[1]):
                    setattr(facts, attr, _clean(hit[1])[:120])
    if facts.source is None:
        meta_source = _clean(metas.get("contentsource"))
        if meta_source:
            facts.source = meta_source
    if facts.source:
        facts.source = _cut_runon(facts.source)

    # -- publish date --
    facts.publish_date, facts.publish_date_how = _pick_publish(
        page, labels, gk, metas, body_range, title_seg, facts.warnings
    )

    # -- written date --
    facts.written_date, facts.written_date_how = _pick_written(page, labels, gk, body_range, title_seg)

    # -- links and items --
    _collect_links_and_items(facts, page, base, headers)

    # -- portal features: search forms, a message's dates --
    facts.search_forms = search_forms(doc, base)
    facts.message = read_message(page_text)


def _append_page(page: _Page, extra: _Page) -> None:
    offset = len(page.segs)
    page.segs.extend(extra.segs)
    page.seg_owner.extend(extra.seg_owner)
    page.seg_cell.extend(extra.seg_cell)
    for el, (a, b) in extra.block_range.items():
        page.block_range[el] = (a + offset, b + offset)
    for el, n in extra.para_chars.items():
        page.para_chars[el] = page.para_chars.get(el, 0) + n
    page.links.extend(extra.links)
    page.headings.extend((el, seg + offset) for el, seg in extra.headings)
    page.publishtime.extend(extra.publishtime)


def _content_range(page: _Page) -> tuple[Any, tuple[int, int] | None]:
    """The element holding the article's paragraphs, and the segments from where its running
    text begins (the first sentence-like segment; headings and bylines above it in the same
    element are not body text) to its end."""
    if not page.para_chars:
        return None, None
    ranked = sorted(page.para_chars.items(), key=lambda kv: kv[1], reverse=True)[:3]
    el, chars = ranked[0]
    for cand, cand_chars in ranked:
        ident = f"{cand.get('class') or ''} {cand.get('id') or ''}".lower()
        if not any(word in ident for word in ("foot", "bottom", "copyright", "banquan")):
            el, chars = cand, cand_chars
            break
    if chars < 40:
        return None, None
    rng = page.block_range.get(el)
    if rng is None:
        return None, None
    return el, rng


def _text_start(segs: list[str], rng: tuple[int, int]) -> int:
    """The first segment of running text (a sentence) in a range; the range end when none."""
    for i in range(rng[0], rng[1]):
        if _is_running_text(segs[i]):
            return i
    return rng[1]


_RUNON = re.compile(r"\s+(?:作者|编辑|责任编辑|记者|通讯员|摄影|浏览|点击|阅读|发布|时间|日期|字号|【|\[).*$")


_BRACKET_RUNON = re.compile(r"[【\[|｜丨].*$")


def _cut_runon(value: str) -> str:
    """A source value without what follows it on the line: 作者…, 【字号】, a date."""
    value = _BRACKET_RUNON.sub("", value)
    value = _RUNON.sub("", value).strip(_VALUE_TRIM)
    spans = find_date_spans(value)
    if spans:
        value = value[: spans[0][0]].strip(_VALUE_TRIM)
    return value


def _text_field(labels: list[_LabelHit], key: str, *, max_len: int) -> str | None:
    for hit in labels:
        if hit.key != key:
            continue
        value = hit.value
        if not value:
            continue
        if key == "source":
            value = _cut_runon(value)
        if value and len(value) <= max_len:
            return value
    return None


def _pick_title(
    page: _Page,
    labels: list[_LabelHit],
    gk: dict[str, Any] | None,
    metas: dict[str, str],
    page_title: str | None,
    has_table_meta: bool,
) -> tuple[str | None, int | None]:
    segs = page.segs

    def seg_of(title: str) -> int | None:
        for i, s in enumerate(segs):
            if s == title or (len(title) >= 6 and s.startswith(title)):
                return i
        return None

    if has_table_meta:
        for hit in labels:
            if hit.key == "title" and hit.value and 2 <= len(hit.value) <= 300:
                return hit.value, _heading_seg(page, hit.value) or seg_of(hit.value)
    if gk:
        hit = _first_field(gk, _GK_TITLE)
        if hit and isinstance(hit[1], str) and _clean(hit[1]):
            title = _clean(hit[1])
            return title, _heading_seg(page, title) or seg_of(title)
    meta_title = _clean(metas.get("articletitle"))
    if meta_title:
        return meta_title, _heading_seg(page, meta_title) or seg_of(meta_title)

    headings: list[tuple[int, str, Any, int]] = []
    for el, seg in page.headings:
        text = _clean(_text(el))
        if 2 <= len(text) <= 300:
            rank = 0 if el.tag == "h1" else 1 if el.tag in ("h2", "h3") else 2
            headings.append((rank, text, el, seg))

    site_names = {n for n in (_clean(metas.get("sitename")), _clean(metas.get("og:site_name"))) if n}
    # an article heading: an h1 (the only one) or a title-classed element, long enough not to
    # be a column name, not the site's name
    h1s = [h for h in headings if h[0] == 0]
    good = [h for h in headings if len(h[1]) >= 6 and not _is_site_name(h[1], site_names)
            and (h[0] != 0 or len(h1s) == 1)]
    good.sort(key=lambda h: (h[0], h[3]))
    if page_title:
        segments = _title_segments(page_title)
        article_segments = [seg for seg in segments if not _is_site_name(seg, site_names)] or segments
        matching = [h for h in headings if not _is_site_name(h[1], site_names)
                    and _heading_matches(h[1], article_segments, page_title)]
        if matching:
            # the site's name is often a heading too (a logo h1) and one of <title>'s
            # segments: the article's own title is the longest heading that matches
            matching.sort(key=lambda h: (-len(h[1]), h[0]))
            best = matching[0]
            return best[1], best[3]
        candidates = [s for s in segments if not _is_site_name(s, site_names)]
        sure = [h for h in good if h[0] == 0] or (good if len(good) == 1 else [])
        if sure and (not candidates or max(len(c) for c in candidates) < 8):
            # <title> is only the site's or the column's name: the page's one heading is the title
            return sure[0][1], sure[0][3]
        title = max(candidates or segments, key=len)
        return title, _heading_seg(page, title) or seg_of(title)
    og = _clean(metas.get("og:title"))
    if og:
        return og, seg_of(og)
    if good:
        return good[0][1], good[0][3]
    return None, None


def _heading_seg(page: _Page, title: str) -> int | None:
    for el, seg in page.headings:
        text = _clean(_text(el))
        if text and (text == title or (len(text) >= 6 and (text in title or title in text))):
            return seg
    return None


def _weekday_follows(hit: _LabelHit, found: PageDate) -> bool:
    """A date followed by 星期X: a clock widget, not a publish date."""
    value = hit.value
    idx = value.find(found.raw) if found.raw else -1
    after = value[idx + len(found.raw):] if idx >= 0 else ""
    return bool(_WEEKDAY_AFTER.match(after + " " + hit.after))


def _pick_publish(
    page: _Page,
    labels: list[_LabelHit],
    gk: dict[str, Any] | None,
    metas: dict[str, str],
    body_range: tuple[int, int] | None,
    title_seg: int | None,
    warnings: list[str],
) -> tuple[PageDate | None, str | None]:
    text_start = _text_start(page.segs, body_range) if body_range is not None else None

    def in_body(seg: int) -> bool:
        return body_range is not None and text_start <= seg < body_range[1]

    unreadable: list[str] = []

    def best_for(keys: tuple[str, ...], *, generic: bool = False) -> tuple[PageDate, str] | None:
        outside: list[tuple[PageDate, str]] = []
        inside: list[tuple[PageDate, str]] = []
        for hit in labels:
            if hit.key not in keys or not hit.value:
                continue
            found = parse_date(hit.value[:60])
            if found is None or found.day is None or hit.value.find(found.raw) > 4:
                if not generic and any(ch.isdigit() for ch in hit.value[:12]):
                    unreadable.append(f"{hit.label}：{hit.value[:30]}")
                continue
            if generic and _weekday_follows(hit, found):
                continue
            owner = page.seg_owner[hit.seg]
            if owner is not None and _entry_with_title_link(owner):
                continue
            if in_body(hit.seg):
                if generic:
                    continue
                inside.append((found, f"label:{hit.label}"))
            else:
                outside.append((found, f"label:{hit.label}"))
        if outside:
            return outside[0]
        if inside:
            return inside[0]
        return None

    for keys, generic in ((("publish",), False), (("fawen",), False), (("generic",), True)):
        hit = best_for(keys, generic=generic)
        if hit:
            return hit
    for shown in unreadable[:1]:
        warnings.append(f"页面上的日期无法识别（{shown}），发布日期改从其他依据读取")

    for el in page.publishtime:
        found = parse_date(_clean(_text(el))[:60])
        if found and found.day is not None:
            return found, "publishtime-tag"

    if gk:
        field_hit = _first_field(gk, _GK_PUBLISH)
        if field_hit:
            found = _value_date(field_hit[1])
            if found and found.day is not None:
                return found, "gkmlpt-config"

    anchor = title_seg
    if anchor is None:
        h1 = [seg for el, seg in page.headings if el.tag == "h1"]
        anchor = h1[0] if len(h1) == 1 else None
    byline = _byline_date(page, anchor, body_range)
    if byline:
        return byline, "byline"

    for name in ("pubdate", "publishdate", "publish_date", "publishtime", "pubtime", "article:published_time",
                 "og:article:published_time", "og:release_date", "datepublished", "dc.date.issued", "dcterms.issued",
                 "dc.date", "firstpublishedtime", "releasedate"):
        value = metas.get(name)
        if value:
            found = parse_date(value[:60])
            if found and found.day is not None:
                label = {"pubdate": "PubDate"}.get(name, name)
                return found, f"meta:{label}"

    hit = best_for(("update",))
    if hit:
        return hit
    return None, None


def _byline_date(page: _Page, title_seg: int | None, body_range: tuple[int, int] | None) -> PageDate | None:
    """An unlabelled date on a short line just under the article heading."""
    if title_seg is None:
        return None
    segs, owners = page.segs, page.seg_owner
    for i in range(title_seg + 1, min(len(segs), title_seg + 5)):
        text = segs[i]
        if _is_running_text(text):
            break  # the body has begun: a date in it is not a byline
        if len(text) > 80:
            continue
        owner = owners[i]
        if owner is not None and _in_list_entry(owner):
            continue  # an entry of a list under a column heading, not the page's byline
        if text[:1] in "（(" and _date_only(text):
            continue  # a dateline under an in-body heading (统计公报): the written date
        spans = find_date_spans(text)
        if not spans:
            continue
        start, end, found = spans[0]
        if found.day is None or _WEEKDAY_AFTER.match(text[end:]):
            continue
        if text[:start].rstrip().endswith((":", "：")):
            continue  # a labelled date (更新时间：…, 生效日期：…): the label rules decide
        return found
    return None


def _pick_written(
    page: _Page,
    labels: list[_LabelHit],
    gk: dict[str, Any] | None,
    body_range: tuple[int, int] | None,
    title_seg: int | None,
) -> tuple[PageDate | None, str | None]:
    for hit in labels:
        if hit.key == "written" and hit.value:
            found = parse_date(hit.value[:60])
            if found:
                return found, f"label:{hit.label}"
    if gk:
        field_hit = _first_field(gk, _GK_WRITTEN)
        if field_hit:
            found = _value_date(field_hit[1])
            if found:
                return found, "gkmlpt-config"
    segs = page.segs
    if body_range is not None:
        start, end = body_range
    elif title_seg is not None:
        start, end = title_seg + 1, len(segs)
    else:
        return None, None
    signature = _signature_date(page, start, end)
    if signature:
        return signature, "signature"
    dateline = _dateline_date(page, start, end)
    if dateline:
        return dateline, "dateline"
    return None, None


def _signature_date(page: _Page, start: int, end: int) -> PageDate | None:
    """The date that closes the document's own body (see the module docstring).

    Scans the body's segments (and a few after it, for a signature block set apart from the
    text); candidates are date-only segments after the running text has begun, before any
    附件 / 抄送 section; list entries and multi-cell table rows are never signatures."""
    segs, cells, owners = page.segs, page.seg_cell, page.seg_owner
    scan_end = min(len(segs), end + 4)
    body_started = False
    candidates: list[tuple[int, PageDate, bool]] = []  # (seg, date, right after an organisation line)
    cut = scan_end
    prev_text = ""
    for i in range(start, scan_end):
        text = segs[i]
        if body_started and (_APPENDIX_START.match(text) or _AFTER_SIGNATURE.match(text)):
            cut = i
            break
        owner = owners[i]
        if cells[i] or (owner is not None and _in_list_entry(owner)):
            prev_text = ""
            continue
        found = _date_only(text)
        if found is not None:
            if body_started:
                candidates.append((i, found, _is_org_line(prev_text)))
        else:
            org_date = _org_then_date(text)
            if org_date is not None and body_started:
                candidates.append((i, org_date, True))
            elif _is_running_text(text):
                body_started = True
        prev_text = text
    for _seg, found, after_org in candidates:
        if after_org:
            return found
    # no organisation line: a date-only line that ends the body (at most two short lines after)
    inside = [c for c in candidates if c[0] < end]
    if inside:
        seg, found, _ = inside[-1]
        trailing = [segs[j] for j in range(seg + 1, min(cut, end)) if not cells[j]]
        if len(trailing) <= 2 and all(len(t) <= 40 for t in trailing):
            return found
    return None


def _dateline_date(page: _Page, start: int, end: int) -> PageDate | None:
    """``（2023年4月12日）`` under the in-body heading, before the text begins."""
    segs = page.segs
    for i in range(start, min(end, start + 6)):
        text = segs[i]
        if _is_running_text(text):
            return None
        if text[:1] in "（(" and text[-1:] in "）)":
            found = _date_only(text)
            if found:
                return found
    return None


class _UrlResolver:
    """urljoin + fragment removal, with a fast path for the common absolute and root-relative hrefs."""

    __slots__ = ("base", "origin", "cache")

    def __init__(self, base: str) -> None:
        self.base = base
        m = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*)", base)
        self.origin = m.group(1) if m else None
        self.cache: dict[str, str] = {}

    def __call__(self, href: str) -> str:
        got = self.cache.get(href)
        if got is not None:
            return got
        plain = "./" not in href and "\\" not in href and " " not in href
        if plain and href.startswith(("http://", "https://")) and "/" in href[8:] and "/." not in href:
            result = href.split("#", 1)[0]
        elif plain and self.origin and href.startswith("/") and not href.startswith("//") and "/." not in href:
            result = self.origin + href.split("#", 1)[0]
        else:
            try:
                result = urldefrag(urljoin(self.base, href))[0]
            except ValueError:
                result = href
        self.cache[href] = result
        return result


class _ItemFinder:
    """Finds the column entry (and its date) that a link belongs to; caches per container."""

    __slots__ = ("today", "text_cache", "anchor_cache", "segs", "block_range", "sibling_memo")

    def __init__(self, today: datetime.date, page: _Page | None = None) -> None:
        self.today = today
        self.text_cache: dict[Any, str] = {}
        self.anchor_cache: dict[Any, list[Any]] = {}
        self.segs = page.segs if page is not None else []
        self.block_range = page.block_range if page is not None else {}
        self.sibling_memo: dict[Any, dict[tuple[Any, Any], int]] = {}

    def container_text(self, el: Any) -> str:
        """The visible text of a block already walked (from its segments), else its DOM text."""
        rng = self.block_range.get(el)
        if rng is not None:
            a, b = rng
            if b - a == 1:
                return self.segs[a]
            return " ".join(self.segs[a:b])
        return _clean(_text(el))

    def link_text(self, el: Any) -> str:
        t = self.text_cache.get(el)
        if t is None:
            t = _link_text(el)
            self.text_cache[el] = t
        return t

    def anchors(self, container: Any) -> list[Any]:
        got = self.anchor_cache.get(container)
        if got is None:
            got = [a for a in container.iter("a") if a.get("href") is not None]
            self.anchor_cache[container] = got
        return got

    def find(self, el: Any, order: int, url: str, text: str) -> _ItemCandidate | None:
        today = self.today
        title_attr = _clean(el.get("title"))
        # a date inside the link itself, in a child element: <a><span>标题</span><span>05-10</span></a>
        if len(el):
            for child in el:
                if not isinstance(child.tag, str):
                    continue
                child_text = _clean(_text(child))
                if not child_text or child_text == text or len(child_text) > 24:
                    continue
                if _date_only(child_text) is not None or _date_only_yearless(child_text, today):
                    found = _rest_date(child_text, today)
                    if found:
                        title = title_attr or _clean(text.replace(child_text, " ", 1)) or text
                        return _ItemCandidate(order, el, el, title, url, text, found[0], found[1])
        anc = el.getparent()
        steps = 0
        while anc is not None and steps < 4:
            tag = anc.tag
            if not isinstance(tag, str) or tag in _LIST_STOP:
                break
            if tag in _ITEM_CONTAINERS:
                anchors = self.anchors(anc)
                if len(anchors) > 1:
                    if len(anchors) > 4:
                        break
                    others = [a for a in anchors if a is not el]
                    if any(len(self.link_text(a)) > _CATEGORY_LINK_MAX for a in others):
                        break
                    if any(len(self.link_text(a)) > len(text) for a in others):
                        break
                    parts = [self.link_text(a) for a in anchors]
                else:
                    parts = [text]
                rest = self.container_text(anc)
                for part in parts:
                    if part:
                        rest = rest.replace(part, " ", 1)
                found = _rest_date(rest, today)
                if found and tag in _LONE_CONTAINERS and not _repeated(anc, self.sibling_memo):
                    found = None  # a single <div>/<p> with a link and a date (a byline), not a list entry
                if found:
                    return _ItemCandidate(order, el, anc, title_attr or text, url, text, found[0], found[1])
                if tag == "dt":
                    # <dt><a/></dt><dd>date</dd>: the date in the following dd
                    sib = anc.getnext()
                    if sib is not None and sib.tag == "dd":
                        sib_text = _clean(_text(sib))
                        if sib_text and len(sib_text) <= 30:
                            found = _rest_date(sib_text, today)
                            if found:
                                return _ItemCandidate(order, el, anc, title_attr or text, url, text, found[0], found[1])
                if tag in ("li", "tr", "dd", "dt"):
                    break
            anc = anc.getparent()
            steps += 1
        # "标题 2023-05-10" / "标题（05-10）" as the link's own text
        if _DATEISH.search(text, max(0, len(text) - 14)):
            spans = find_date_spans(text, context=today)
            if spans:
                start, end, found = spans[-1]
                tail = text[end:].strip(_BRACKETS)
                head = text[:start].strip(_BRACKETS + " -—|")
                if not tail and len(head) >= 4 and found.day is not None:
                    raw = text[start:end]
                    full = found if _HAS_YEAR.search(raw) else None
                    return _ItemCandidate(order, el, el, title_attr or head, url, text, raw, full)
        return None


def _today() -> datetime.date:
    """Today in Beijing time (the last fallback for year-less list dates)."""
    return datetime.datetime.now(_SHANGHAI).date()


def _collect_links_and_items(facts: PageFacts, page: _Page, base: str, headers: Mapping[str, str] | None) -> None:
    today = _today()
    resolve = _UrlResolver(base)
    finder = _ItemFinder(today, page)
    candidates: list[_ItemCandidate] = []
    container_of: dict[Any, _ItemCandidate] = {}
    order_of: dict[Any, int] = {}

    segs, block_range = page.segs, page.block_range
    dateish_cache: dict[Any, bool] = {}

    def dateish_near(block: Any) -> bool:
        """Cheap pre-check: is anything date-like written in (the parent of) the block the
        link sits in? Most links (menus, footers) fail it and are never looked at again."""
        if block is None:
            return True
        parent = block.getparent()
        area = parent if parent is not None and parent in block_range else block
        hit = dateish_cache.get(area)
        if hit is None:
            rng = block_range.get(area)
            if rng is None:
                hit = True
            else:
                search = _DATEISH.search
                hit = any(search(segs[i]) for i in range(rng[0], rng[1]))
            dateish_cache[area] = hit
        return hit

    add_link = facts.links.append
    link_text = finder.link_text
    not_pages = ("javascript:", "mailto:", "tel:")
    for order, (el, reason, block) in enumerate(page.links):
        href = el.get("href")
        if href is None:
            continue
        absolute = resolve(href.strip())
        text = link_text(el)
        add_link(Link(absolute, text, reason is None, reason))
        order_of[el] = order
        if not text or absolute.startswith(not_pages) or not dateish_near(block):
            continue
        cand = finder.find(el, order, absolute, text)
        if cand is not None and cand.container not in container_of:
            container_of[cand.container] = cand
            candidates.append(cand)

    if not candidates:
        return
    # year-less dates: the page's publish date, else the newest full item date, else the
    # HTTP Date / Last-Modified header, else today
    context = facts.publish_date.as_date() if facts.publish_date else None
    if context is None:
        full = [c.date_full.as_date() for c in candidates if c.date_full is not None]
        full = [d for d in full if d is not None]
        context = max(full) if full else (_header_date(headers) or today)

    # undated entries inside a list where most entries are dated
    by_parent: dict[Any, list[_ItemCandidate]] = {}
    for c in candidates:
        parent = c.container.getparent()
        if parent is not None and c.container is not c.el:
            by_parent.setdefault(parent, []).append(c)
    extra: list[_ItemCandidate] = []
    for parent, group in by_parent.items():
        if len(group) < 2:
            continue
        tag = group[0].container.tag
        siblings = [child for child in parent if child.tag == tag]
        if len(group) * 2 < len(siblings):
            continue
        for child in siblings:
            if child in container_of:
                continue
            anchors = finder.anchors(child)
            if len(anchors) != 1:
                continue
            a = anchors[0]
            text = finder.link_text(a)
            if not text or a not in order_of:
                continue
            url = resolve(a.get("href").strip())
            if url.startswith(("javascript:", "mailto:", "tel:")):
                continue
            title = _clean(a.get("title")) or text
            extra.append(_ItemCandidate(order_of[a], a, child, title, url, text, None, None))
    items = candidates + extra
    items.sort(key=lambda c: c.order)
    for c in items:
        date = None
        if c.date_raw is not None:
            date = c.date_full if c.date_full is not None else parse_date(c.date_raw, context=context)
        facts.items.append(ListItem(c.title, c.url, date, c.text))


_LONE_CONTAINERS = frozenset("div p span em font h3 h4 h5".split())


def _repeated(el: Any, memo: dict[Any, dict[tuple[Any, Any], int]]) -> bool:
    """Has the element a sibling of the same tag and class (entries of a list of divs / ps)?"""
    parent = el.getparent()
    if parent is None:
        return False
    counts = memo.get(parent)
    if counts is None:
        counts = {}
        for child in parent:
            key = (child.tag, child.get("class"))
            counts[key] = counts.get(key, 0) + 1
        memo[parent] = counts
    return counts.get((el.tag, el.get("class")), 0) > 1


def _date_only_yearless(text: str, today: datetime.date) -> bool:
    stripped = text.strip(_BRACKETS)
    if not stripped or len(stripped) > 16:
        return False
    spans = find_date_spans(stripped, context=today)
    return len(spans) == 1 and not (stripped[: spans[0][0]] + stripped[spans[0][1]:]).strip(_BRACKETS + "日号")

"""content.title_mismatch — the title a list shows names a different subject (文不对题).

Both titles are normalised (NFKC, which also turns full-width forms half-width; case
folded; leading tags such as 【转载】 or [置顶] and leading/trailing dates removed; only
letters and digits kept) and the article's own title is also tried without what follows
a separator (``标题_栏目_站点名``). They match when one contains the other, or when the
Dice coefficient of their character bigrams reaches the threshold, or when most of the
shorter title's bigrams occur in the longer one (a list's shortened wording of the same
news: overlap coefficient ≥ 0.6, or the threshold if higher). A list title ending
in … / ... / .. is truncated: only its prefix is compared. Titles too short to compare
give no finding — a false accusation costs more than a miss.

The second half of the 指标 (an article that does not belong to its column) needs a
reader and is not judged here.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Any

from govmon.checks.artifacts import ArticleObs, SiteArtifacts
from govmon.findings import NewFinding

id = "content.title_mismatch"
title = "文不对题"
description = (
    "列表中显示的文章标题与文章页本身的标题指向不同内容即单项否决（标题被截断并以“…”结尾的不算）。"
    "依据《政府网站与政务新媒体检查指标》（国办秘函〔2019〕19号）“内容发布审核不严”中的文不对题。"
)
required_artifacts = ("articles",)
severity = "veto"

DEFAULT_MIN_SIMILARITY = 0.5
MIN_OVERLAP = 0.6  # share of the shorter title's bigrams found in the longer one
MIN_COMPARABLE_CHARS = 4  # fewer letters/digits than this: too little to accuse
# Link texts that are not titles at all.
_NOT_TITLES = frozenset({"更多", "详细", "详情", "查看详情", "点击查看", "阅读全文", "查看全文", "more", "详细内容"})
# Pages whose own title is shared by this many different articles: the gatherer read the
# site's or column's name, not the article's title; no comparison can be trusted.
SHARED_TITLE_LIMIT = 3

_ELLIPSIS = re.compile(r"(?:\.{2,}|…+|⋯+|。{2,}|·{3,})\s*$")
_LEADING_TAG = re.compile(
    r"^\s*(?:【[^】]{0,12}】|\[[^\]]{0,12}\]|〔[^〕]{0,12}〕|<[^>]{0,12}>|"
    r"\((?:置顶|转载|原创|图文?|视频|新|荐|推荐|热|NEW|new|Top|TOP|头条|专题)\)|"
    r"(?:置顶|NEW|new|图文|视频)(?=\s|:))\s*:?\s*"
)
_DATE = r"(?:\d{4}\s*[-/.年]\s*\d{1,2}(?:\s*[-/.月]\s*\d{1,2}\s*日?)?|\d{1,2}\s*[-/]\s*\d{1,2})"
_LEADING_DATE = re.compile(rf"^\s*[\[(]?{_DATE}[\])]?(?=\s|[\]):]|$)\s*:?\s*")
_TRAILING_DATE = re.compile(rf"\s*[\[(]?{_DATE}(?:\s+\d{{1,2}}:\d{{2}}(?::\d{{2}})?)?[\])]?\s*$")
_SEPARATORS = re.compile(r"\s*(?:_|\||｜|\s-+\s|\s[—–]+\s|--+|——)\s*")


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _core(text: str) -> str:
    """Letters and digits only, case folded."""
    return "".join(ch for ch in text.casefold() if unicodedata.category(ch)[0] in "LN")


def _strip_decorations(text: str) -> str:
    previous = None
    while previous != text:
        previous = text
        text = _LEADING_TAG.sub("", text, count=1)
        text = _LEADING_DATE.sub("", text, count=1)
        text = _TRAILING_DATE.sub("", text, count=1)
    return text


def split_truncation(raw: str) -> tuple[str, bool]:
    """The text without a trailing ellipsis, and whether it had one."""
    text = _nfkc(raw).strip()
    stripped = _ELLIPSIS.sub("", text)
    return stripped, stripped != text


def title_forms(raw: str, *, split_site_suffix: bool = False) -> list[str]:
    """The comparable forms of a title (letters and digits only), longest first."""
    text = _nfkc(raw).strip()
    forms = [text, _strip_decorations(text)]
    if split_site_suffix:
        for candidate in list(forms):
            parts = [p for p in _SEPARATORS.split(candidate) if p.strip()]
            if len(parts) > 1:
                forms.append(parts[0])
                forms.append(_strip_decorations(parts[0]))
    result: list[str] = []
    for form in forms:
        core = _core(form)
        if core and core not in result:
            result.append(core)
    return sorted(result, key=len, reverse=True)


def _bigrams(text: str) -> Counter[str]:
    return Counter(text[i : i + 2] for i in range(len(text) - 1))


def dice(a: str, b: str) -> float:
    """Dice coefficient of the character bigram multisets of ``a`` and ``b``."""
    if a == b:
        return 1.0
    ga, gb = _bigrams(a), _bigrams(b)
    total = sum(ga.values()) + sum(gb.values())
    if total == 0:
        return 0.0
    return 2 * sum((ga & gb).values()) / total


def overlap(a: str, b: str) -> float:
    """Share of the shorter string's bigrams that occur in the longer one."""
    ga, gb = _bigrams(a), _bigrams(b)
    smaller = min(sum(ga.values()), sum(gb.values()))
    if smaller == 0:
        return 0.0
    return sum((ga & gb).values()) / smaller


@dataclass(frozen=True)
class Comparison:
    comparable: bool  # both titles long enough to judge
    match: bool
    similarity: float
    truncated: bool


def compare_titles(listed: str, own: str, min_similarity: float = DEFAULT_MIN_SIMILARITY) -> Comparison:
    """Compare a list's title of an article with the article's own title."""
    listed_text, truncated = split_truncation(listed)
    listed_forms = title_forms(listed_text)
    own_forms = title_forms(own, split_site_suffix=True)
    if not listed_forms or not own_forms:
        return Comparison(False, True, 0.0, truncated)
    if max(map(len, listed_forms)) < MIN_COMPARABLE_CHARS or max(map(len, own_forms)) < MIN_COMPARABLE_CHARS:
        return Comparison(False, True, 0.0, truncated)
    if set(listed_forms) & _NOT_TITLES:
        return Comparison(False, True, 0.0, truncated)
    best = 0.0
    covered = 0.0
    for a in listed_forms:
        if len(a) < MIN_COMPARABLE_CHARS:
            continue
        for b in own_forms:
            if len(b) < MIN_COMPARABLE_CHARS:
                continue
            if a in b or (not truncated and b in a):
                return Comparison(True, True, 1.0, truncated)
            score = dice(a, b)
            if truncated:
                score = max(score, dice(a, b[: len(a)]))
            best = max(best, score)
            covered = max(covered, overlap(a, b))
    # Overlap is never below Dice; a stricter configured threshold applies to both.
    match = best >= min_similarity or covered >= max(MIN_OVERLAP, min_similarity)
    return Comparison(True, match, round(best, 3), truncated)


def _min_similarity(settings: Any) -> float:
    value = getattr(settings, "min_similarity", None)
    return DEFAULT_MIN_SIMILARITY if value is None else float(value)


def _head(title: str) -> str:
    """A page title up to its first separator, comparable (``政务动态_廉江市人民政府`` → 政务动态)."""
    parts = [p for p in _SEPARATORS.split(_nfkc(title)) if p.strip()]
    return _core(_strip_decorations(parts[0])) if parts else ""


def _examined(artifacts: SiteArtifacts) -> list[ArticleObs]:
    """Articles with both titles, whose own title is really the article's.

    When the title read from a page is the site's or a column's name, or is shared by
    several different articles, the gatherer did not find the article's title: no
    comparison with it can be trusted.
    """
    candidates = [
        article
        for article in artifacts.articles
        if article.page.ok and article.page.is_html and article.page.title and article.listed_title
    ]
    urls_by_title: dict[str, set[str]] = {}
    for article in candidates:
        urls_by_title.setdefault(_core(_nfkc(article.page.title or "")), set()).add(article.page.url)
    names = [artifacts.target.name, artifacts.target.organizer, *(c.name for c in artifacts.columns)]
    not_titles = {_core(_nfkc(name)) for name in names if name}
    result = []
    for article in candidates:
        title_text = article.page.title or ""
        own = _core(_nfkc(title_text))
        if len(urls_by_title[own]) >= SHARED_TITLE_LIMIT or own in not_titles or _head(title_text) in not_titles:
            continue
        result.append(article)
    return result


def scope(artifacts: SiteArtifacts, settings: Any) -> set[str]:
    return {article.page.url for article in _examined(artifacts)}


def run(artifacts: SiteArtifacts, settings: Any) -> list[NewFinding]:
    threshold = _min_similarity(settings)
    findings: list[NewFinding] = []
    reported: set[str] = set()
    for article in _examined(artifacts):
        page = article.page
        if page.url in reported:
            continue
        assert page.title is not None and article.listed_title is not None
        shown = [article.listed_title]
        if article.listed_text and article.listed_text.strip() != article.listed_title.strip():
            shown.append(article.listed_text)
        comparisons = [compare_titles(text, page.title, threshold) for text in shown]
        # Any one of the list's texts matching, or too short to judge: no finding.
        if any(c.match or not c.comparable for c in comparisons):
            continue
        comparison = comparisons[0]
        reported.add(page.url)
        findings.append(
            NewFinding(
                check_id=id,
                subject=page.url,
                severity=severity,
                message=(
                    f"文不对题：列表中的标题“{article.listed_title}”与文章页标题“{page.title}”不符"
                    f"（相似度 {comparison.similarity:.2f}，低于 {threshold:.2f}）"
                ),
                url=page.url,
                evidence={
                    "listed_title": article.listed_title,
                    "listed_text": article.listed_text,
                    "article_title": page.title,
                    "list_url": article.column_url,
                    "article_url": page.url,
                    "article_final_url": page.final_url,
                    "similarity": comparison.similarity,
                    "threshold": threshold,
                    "listed_title_truncated": comparison.truncated,
                },
            )
        )
    return findings

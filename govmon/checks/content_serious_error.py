"""content.serious_error — a hit of the serious-error lexicon in a page's title or text.

The lexicon (wrong names and titles of leaders, politically wrong phrasing, names of
fallen officials) is matched with one Aho-Corasick automaton, built once per distinct
term list and cached, so thousands of terms cost one pass over each text. Terms and
texts are compared after NFKC normalisation (full-width → half-width), case folding and
removal of whitespace, so “习 近 平” in a page still matches. One finding per (term,
page): subject ``term@url``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import ahocorasick

from govmon.checks.artifacts import PageObs, SiteArtifacts
from govmon.findings import VOLATILE_EVIDENCE_KEYS, NewFinding

id = "content.serious_error"
title = "严重表述错误"
description = (
    "网页标题或正文出现所配置词库中的严重表述错误（领导人姓名职务错误、政治性表述错误、落马官员姓名等）"
    "即单项否决。依据《政府网站与政务新媒体检查指标》（国办秘函〔2019〕19号）“严重表述错误”。"
)
required_artifacts = ("home", "columns", "articles", "lexicon")
severity = "veto"

CONTEXT_CHARS = 30
# Edits elsewhere on the page change the surroundings, not the error.
VOLATILE_KEYS = VOLATILE_EVIDENCE_KEYS | {"context_before", "context_after", "occurrences", "page_title"}

# One normalised string per character: NFKC, case folded, whitespace removed.
_CHAR_FORMS: dict[int, str] = {}


def _char_form(ch: str) -> str:
    if ch.isspace():
        return ""
    return unicodedata.normalize("NFKC", ch).casefold().replace(" ", "")


def _table_for(text: str) -> dict[int, str]:
    for ch in set(text):
        code = ord(ch)
        if code not in _CHAR_FORMS:
            _CHAR_FORMS[code] = _char_form(ch)
    return _CHAR_FORMS


def normalise(text: str) -> str:
    """The form texts and terms are matched in."""
    return text.translate(_table_for(text))


def _original_offsets(text: str) -> list[int]:
    """For each character of ``normalise(text)``, the index of the original character."""
    table = _table_for(text)
    offsets: list[int] = []
    for index, ch in enumerate(text):
        offsets.extend([index] * len(table[ord(ch)]))
    return offsets


@lru_cache(maxsize=8)
def build_matcher(terms: tuple[str, ...]) -> ahocorasick.Automaton | None:
    """The automaton over ``terms`` (None for an empty lexicon); cached by the term tuple."""
    automaton = ahocorasick.Automaton()
    for term in terms:
        key = normalise(term)
        if key and key not in automaton:
            automaton.add_word(key, (term, len(key)))
    if len(automaton) == 0:
        return None
    automaton.make_automaton()
    return automaton


@dataclass(frozen=True)
class Hit:
    term: str
    where: str  # 'title' | 'text'
    start: int  # in the original text
    end: int
    count: int


def find_hits(automaton: ahocorasick.Automaton, text: str, where: str) -> dict[str, Hit]:
    """The first occurrence (and the number of occurrences) of each term in ``text``."""
    if not text:
        return {}
    norm = normalise(text)
    first: dict[str, tuple[int, int]] = {}
    counts: dict[str, int] = {}
    for end, (term, length) in automaton.iter(norm):
        counts[term] = counts.get(term, 0) + 1
        if term not in first:
            first[term] = (end - length + 1, end)
    if not first:
        return {}
    offsets = _original_offsets(text)
    return {
        term: Hit(term, where, offsets[start], offsets[end] + 1, counts[term])
        for term, (start, end) in first.items()
    }


def _examined(artifacts: SiteArtifacts) -> list[PageObs]:
    return artifacts.pages()


def scope(artifacts: SiteArtifacts, settings: Any) -> set[str]:
    return {page.url for page in _examined(artifacts)}


def scope_key(subject: str) -> str:
    """``term@url`` → ``url``."""
    return subject.partition("@")[2]


def run(artifacts: SiteArtifacts, settings: Any) -> list[NewFinding]:
    automaton = build_matcher(tuple(artifacts.lexicon or ()))
    if automaton is None:
        return []
    findings: list[NewFinding] = []
    for page, text in artifacts.page_texts():
        title_text = page.title or ""
        hits = find_hits(automaton, title_text, "title")
        for term, hit in find_hits(automaton, text, "text").items():
            if term in hits:
                hits[term] = Hit(term, "title", hits[term].start, hits[term].end, hits[term].count + hit.count)
            else:
                hits[term] = hit
        for term, hit in hits.items():
            source = title_text if hit.where == "title" else text
            before = source[max(0, hit.start - CONTEXT_CHARS) : hit.start]
            matched = source[hit.start : hit.end]
            after = source[hit.end : hit.end + CONTEXT_CHARS]
            place = "标题" if hit.where == "title" else "正文"
            findings.append(
                NewFinding(
                    check_id=id,
                    subject=f"{term}@{page.url}",
                    severity=severity,
                    message=(
                        f"网页“{page.title or page.url}”{place}出现严重表述错误“{term}”："
                        f"……{before}【{matched}】{after}……"
                    ),
                    url=page.url,
                    evidence={
                        "term": term,
                        "matched": matched,
                        "context_before": before,
                        "context_after": after,
                        "where": hit.where,
                        "occurrences": hit.count,
                        "url": page.url,
                        "page_title": page.title,
                        "page_type": page.page_type,
                    },
                    volatile_keys=VOLATILE_KEYS,
                )
            )
    return findings

"""links.external_unsafe — hidden off-site links (暗链) and off-site links to bad content.

Judged from every sighting of a link leading off the site (``offsite_links``: the gatherer
recorded each link with whether readers can see it — display:none, visibility:hidden,
off-screen positioning, zero size, … from inline styles and the page's <style> blocks):

- a hidden link to another site is a 暗链 (SEO spam planted on hacked sites) — unless it leads
  to a trusted site (a government site: *.gov.cn, or a configured news site): hidden drop-down
  menus that list other government sites are everyday navigation, not spam;
- an off-site link whose text or target contains a word of the bad-link lexicon
  (``lexicon.bad_links``: gambling, adult, game promotion…) — visible or not.

Links to trusted sites are never reported. One finding per off-site URL, with every page it
was seen on (up to ``MAX_PAGES``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from govmon.checks.artifacts import OffsiteLinkObs, SiteArtifacts
from govmon.checks.content_serious_error import build_matcher, find_hits
from govmon.findings import VOLATILE_EVIDENCE_KEYS, NewFinding

id = "links.external_unsafe"
title = "不良外链与暗链"
description = (
    "网站页面不得含有隐藏的站外链接（暗链），也不得链接到赌博、色情、游戏推广等不良网站；"
    "发现即单项否决。链接到政府网站（gov.cn 等）和配置的新闻网站的可见链接不报。"
    "依据《政府网站与政务新媒体检查指标》（国办秘函〔2019〕19号）。"
)
required_artifacts = ("offsite_links",)
severity = "veto"

MAX_PAGES = 10
DEFAULT_TRUSTED_SUFFIXES: tuple[str, ...] = ("gov.cn",)


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def trusted_suffixes(settings: Any) -> tuple[str, ...]:
    configured = tuple(getattr(settings, "trusted_domains", ()) or ())
    return tuple(s.lower().lstrip(".") for s in DEFAULT_TRUSTED_SUFFIXES + configured)


def is_trusted(url: str, suffixes: tuple[str, ...]) -> bool:
    host = _host(url)
    return any(host == suffix or host.endswith("." + suffix) for suffix in suffixes)


def _bad_terms(link: OffsiteLinkObs, terms: tuple[str, ...] | None) -> list[str]:
    automaton = build_matcher(terms) if terms else None
    if automaton is None:
        return []
    hits = find_hits(automaton, link.text or "", "text")
    hits.update(find_hits(automaton, unquote(link.url), "url"))
    return sorted(hits)


def run(artifacts: SiteArtifacts, settings: Any) -> list[NewFinding]:
    sightings = artifacts.offsite_links
    assert sightings is not None
    suffixes = trusted_suffixes(settings)
    by_url: dict[str, dict[str, Any]] = {}
    for link in sightings:
        if is_trusted(link.url, suffixes):
            continue
        terms = _bad_terms(link, artifacts.bad_link_terms)
        if link.visible and not terms:
            continue
        entry = by_url.setdefault(link.url, {"hidden": False, "terms": set(), "pages": []})
        entry["hidden"] = entry["hidden"] or not link.visible
        entry["terms"].update(terms)
        seen_on = {"page": link.page_url, "text": link.text, "visible": link.visible}
        if link.hidden_reason:
            seen_on["hidden_reason"] = link.hidden_reason
        if len(entry["pages"]) < MAX_PAGES and seen_on not in entry["pages"]:
            entry["pages"].append(seen_on)
    findings = []
    for url, entry in by_url.items():
        reasons = []
        if entry["hidden"]:
            reasons.append("读者看不到的隐藏链接（暗链）")
        if entry["terms"]:
            reasons.append(f"含不良词语“{'、'.join(sorted(entry['terms']))}”")
        first = entry["pages"][0]["page"] if entry["pages"] else None
        findings.append(NewFinding(
            check_id=id,
            subject=url,
            severity=severity,
            message=f"页面含站外链接 {url}：{'，'.join(reasons)}",
            url=first,
            evidence={
                "link_url": url,
                "hidden": entry["hidden"],
                "bad_terms": sorted(entry["terms"]),
                "found_on": entry["pages"],
            },
            volatile_keys=VOLATILE_EVIDENCE_KEYS,
        ))
    return findings

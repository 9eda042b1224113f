"""site.zhaocuo_entry — a county portal's home page has no entry to 我为政府网站找错.

The national platform (国务院办公厅 政府网站找错, run at pucha.kaipuyun.cn and
zfwzzc.www.gov.cn) asks every portal to show its entry on the home page: a link (usually the
image "我为政府网站找错") to the platform. A home-page link counts as the entry when

- it leads to one of the platform's hosts (``ENTRY_HOSTS``, or a subdomain of one), or
- its text (or image alt) says 找错 (我为政府网站找错, 政府网站找错, 网站找错…).

A hidden link is no entry a reader can use, so only visible links count. Only county portals
(``category == "county_portal"``) are judged: department sites and channels are not asked to
show it. Nothing is judged when the home page or its links were not recorded.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from govmon.checks.artifacts import HomeLinkObs, SiteArtifacts
from govmon.findings import VOLATILE_EVIDENCE_KEYS, NewFinding

id = "site.zhaocuo_entry"
title = "我为政府网站找错入口"
description = (
    "县区政府门户网站首页应设置“我为政府网站找错”监督举报平台入口（链接至国务院办公厅政府网站找错平台），"
    "首页找不到该入口即扣分。只检查县区政府门户网站，部门网站和子频道不检查；"
    "隐藏的链接不算入口。依据《政府网站与政务新媒体检查指标》（国办秘函〔2019〕19号）及《政府网站发展指引》。"
)
required_artifacts = ("home", "home_links")
severity = "deduct"

JUDGED_CATEGORIES = frozenset({"county_portal"})
ENTRY_HOSTS = ("pucha.kaipuyun.cn", "zfwzzc.www.gov.cn")
_ENTRY_TEXT = re.compile(r"找错")


def _host(url: str) -> str:
    try:
        return (urlsplit(url.strip()).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def is_entry(link: HomeLinkObs) -> bool:
    """Does this home-page link lead to the 找错 platform (by its target or its words)?"""
    if not link.visible:
        return False
    host = _host(link.url)
    if any(host == entry or host.endswith("." + entry) for entry in ENTRY_HOSTS):
        return True
    return bool(_ENTRY_TEXT.search(link.text or ""))


def scope(artifacts: SiteArtifacts, settings: Any) -> set[str] | None:
    # Sites of other categories are never asked for the entry: nothing of theirs is judged.
    return set() if artifacts.target.category not in JUDGED_CATEGORIES else None


def run(artifacts: SiteArtifacts, settings: Any) -> list[NewFinding]:
    if artifacts.target.category not in JUDGED_CATEGORIES:
        return []
    home, links = artifacts.home, artifacts.home_links
    assert home is not None and links is not None
    if any(is_entry(link) for link in links):
        return []
    hidden_entries = [link.url for link in links if not link.visible and is_entry(
        HomeLinkObs(url=link.url, text=link.text, visible=True))]
    evidence: dict[str, Any] = {
        "home_url": home.url,
        "links_on_home": len(links),
        "entry_hosts": list(ENTRY_HOSTS),
    }
    if hidden_entries:
        evidence["hidden_entries"] = hidden_entries[:5]
    return [
        NewFinding(
            check_id=id,
            subject="home",
            severity=severity,
            message=(
                f"首页未设置“我为政府网站找错”入口（首页 {len(links)} 个链接中没有指向找错平台"
                f"或含“找错”字样的可见链接）"
            ),
            url=home.url,
            evidence=evidence,
            volatile_keys=VOLATILE_EVIDENCE_KEYS | {"links_on_home"},
        )
    ]

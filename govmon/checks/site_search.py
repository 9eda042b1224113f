"""site.search — a portal without a search box, or whose search finds nothing of its own home page.

The crawl records the home page's search forms (a form with a query-like text input — q, query,
keyword, searchword… — or an action naming a search). The scan submits the first one once with
the title of one of the home page's own articles and records the result page
(crawler/site_features.py). Judged for the categories in ``categories`` (county portals):

- no search form on the home page → deduct;
- the search answered (HTTP 2xx) but its result page neither links to that article nor shows
  its title as a link → deduct;
- the search page could not be reached (down, HTTP error) or there was no article title to try:
  not judged — a notice is no accusation, and an unreachable search is not "no result".
"""

from __future__ import annotations

from typing import Any

from govmon.checks.artifacts import SiteArtifacts
from govmon.findings import VOLATILE_EVIDENCE_KEYS, NewFinding

id = "site.search"
title = "站内搜索"
description = (
    "县区政府门户网站应在首页提供站内搜索，并能检索到本站发布的信息。首页没有搜索框，"
    "或用首页一篇文章的标题检索却没有结果的，扣分；搜索页面打不开时不作判断。"
    "依据：《政府网站与政务新媒体检查指标》（国办秘函〔2019〕19号）功能设计指标及《政府网站发展指引》（国办发〔2017〕47号）搜索功能要求。"
)
required_artifacts = ("search",)
severity = "deduct"

DEFAULT_CATEGORIES = ("county_portal",)


def _judged(artifacts: SiteArtifacts, settings: Any) -> bool:
    search = artifacts.search
    categories = tuple(getattr(settings, "categories", DEFAULT_CATEGORIES))
    if artifacts.target.category not in categories or search is None:
        return False
    if search.form is None:
        return True
    return search.error is None and search.status is not None and 200 <= search.status < 300 \
        and search.found is not None


def scope(artifacts: SiteArtifacts, settings: Any) -> set[str] | None:
    # A search that could not be tried judged nothing: an earlier finding stays open.
    return None if _judged(artifacts, settings) else set()


def run(artifacts: SiteArtifacts, settings: Any) -> list[NewFinding]:
    if not _judged(artifacts, settings):
        return []
    search = artifacts.search
    assert search is not None
    if search.form is None:
        return [NewFinding(check_id=id, subject="box", severity=severity,
                           message="首页没有站内搜索框", url=search.home_url,
                           evidence={"home_url": search.home_url})]
    if search.found:
        return []
    evidence = {"home_url": search.home_url, "query": search.query, "article_url": search.article_url,
                "search_url": search.result_url, "status": search.status, "form_action": search.form.get("action"),
                "result_links": search.result_links}
    return [NewFinding(check_id=id, subject="results", severity=severity,
                       message=f"站内搜索检索首页文章标题“{search.query}”没有结果",
                       url=search.result_url, evidence=evidence, volatile_keys=VOLATILE_EVIDENCE_KEYS | {"result_links"})]

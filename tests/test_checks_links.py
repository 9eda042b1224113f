"""links.broken on hand-made link-check results."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from govmon.checks import links_broken
from govmon.checks.artifacts import LinkObs, PageObs, SiteArtifacts, TargetInfo
from govmon.config import Config

AS_OF = dt.datetime(2023, 6, 30, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
SITE = "http://www.lianjiang.gov.cn/"


def settings():
    return Config.from_mapping({}).check_settings("links.broken")


def site(*links: LinkObs) -> SiteArtifacts:
    return SiteArtifacts(
        target=TargetInfo("lianjiang", "廉江市政府门户网站", "廉江市政府", "county_portal", SITE),
        as_of=AS_OF,
        home=PageObs(url=SITE, final_url=SITE, status=200, page_type="home"),
        links=links,
    )


def link(path: str, outcome: str, status: int | None = None, *, error: str | None = None, on_home: bool = False,
         found_on=None, method: str = "GET", redirects=()) -> LinkObs:
    return LinkObs(
        url=f"{SITE}{path}",
        outcome=outcome,
        status=status,
        method=method,
        error=error,
        redirects=redirects,
        found_on=found_on if found_on is not None else [(SITE if on_home else f"{SITE}zwdt/", "链接文字")],
        on_home=on_home,
    )


def summary(findings):
    return [(f.check_id, f.subject, f.severity) for f in findings]


def test_only_broken_links_are_findings():
    artifacts = site(
        link("ok.html", "ok", 200),
        link("404.html", "broken", 404),
        link("slow.html", "inconclusive", None, error="请求超时，站点没有在限定时间内响应"),
        link("busy.html", "inconclusive", 429),
        link("mailto", "skipped"),
    )
    findings = links_broken.run(artifacts, settings())
    assert summary(findings) == [("links.broken", f"{SITE}404.html", "deduct")]
    assert links_broken.scope(artifacts, settings()) == {f"{SITE}ok.html", f"{SITE}404.html"}


def test_home_links_are_listed_apart_and_first():
    artifacts = site(
        link("other.pdf", "broken", 404, on_home=False),
        link("home.html", "broken", 500, on_home=True),
    )
    findings = links_broken.run(artifacts, settings())
    assert summary(findings) == [
        ("links.broken", f"{SITE}home.html", "deduct"),
        ("links.broken", f"{SITE}other.pdf", "deduct"),
    ]
    assert findings[0].message.startswith(f"首页链接不可用：{SITE}home.html（HTTP 500）")
    assert findings[0].evidence["on_home"] is True
    assert findings[0].evidence["group"] == "home"
    assert findings[1].message.startswith(f"其他页面链接不可用：{SITE}other.pdf（HTTP 404）")
    assert findings[1].evidence["on_home"] is False


def test_evidence_lets_an_office_check_it():
    pages = [(f"{SITE}page{i}.html", f"附件{i}") for i in range(7)]
    artifacts = site(
        link("gone.doc", "broken", 404, method="GET", found_on=pages, redirects=[(301, f"{SITE}old.doc")]),
        link("dns", "broken", None, error="域名解析失败（DNS 查不到该域名）", found_on=[]),
    )
    findings = links_broken.run(artifacts, settings())
    evidence = findings[0].evidence
    assert evidence["status"] == 404
    assert evidence["method"] == "GET"
    assert evidence["redirects"] == [[301, f"{SITE}old.doc"]]
    assert evidence["found_on"] == [{"page": p, "text": t} for p, t in pages[:5]]
    assert evidence["found_on_count"] == 7
    assert f"见于 {SITE}page0.html“附件0” 等 7 个页面" in findings[0].message
    assert findings[1].evidence["error"] == "域名解析失败（DNS 查不到该域名）"
    assert findings[1].message == f"其他页面链接不可用：{SITE}dns（域名解析失败（DNS 查不到该域名））"


def test_429_is_never_broken():
    artifacts = site(link("busy.html", "broken", 429))
    assert links_broken.run(artifacts, settings()) == []
    assert links_broken.scope(artifacts, settings()) == set()


def test_same_url_twice_is_one_finding_with_pages_merged():
    artifacts = site(
        link("x.html", "broken", 404, on_home=False, found_on=[(f"{SITE}a.html", "甲")]),
        link("x.html", "broken", 404, on_home=True, found_on=[(SITE, "乙")]),
    )
    findings = links_broken.run(artifacts, settings())
    assert summary(findings) == [("links.broken", f"{SITE}x.html", "deduct")]
    assert findings[0].evidence["on_home"] is True
    assert findings[0].evidence["found_on"] == [{"page": f"{SITE}a.html", "text": "甲"}, {"page": SITE, "text": "乙"}]


def test_which_pages_link_is_volatile():
    findings = links_broken.run(site(link("x.html", "broken", 404)), settings())
    assert {"found_on", "found_on_count"} <= findings[0].volatile_keys

"""links.external_unsafe on hand-made artifacts: hidden and visible off-site links, bad words."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from govmon.checks import links_external_unsafe
from govmon.checks.artifacts import OffsiteLinkObs, PageObs, SiteArtifacts, TargetInfo
from govmon.checks.registry import get_check
from govmon.config import DEFAULT_BAD_LINK_TERMS, Config

TZ = ZoneInfo("Asia/Shanghai")
AS_OF = dt.datetime(2023, 6, 30, 9, 30, tzinfo=TZ)
SITE = "http://www.lianjiang.gov.cn/"
ARTICLE = f"{SITE}zwdt/1.html"


def settings(**overrides):
    data = {"checks": {"links.external_unsafe": overrides}} if overrides else {}
    return Config.from_mapping(data).check_settings("links.external_unsafe")


def site(links, terms=DEFAULT_BAD_LINK_TERMS) -> SiteArtifacts:
    return SiteArtifacts(
        target=TargetInfo("lianjiang", "廉江市政府门户网站", "廉江市政府", "county_portal", SITE),
        as_of=AS_OF,
        home=PageObs(url=SITE, final_url=SITE, status=200, page_type="home"),
        offsite_links=None if links is None else tuple(links),
        bad_link_terms=terms,
    )


def summary(findings):
    return [(f.check_id, f.subject, f.severity, f.url, f.evidence["hidden"], f.evidence["bad_terms"])
            for f in findings]


TRAPS = (
    OffsiteLinkObs("http://www.gov.cn/", SITE, "中国政府网"),
    OffsiteLinkObs("http://www.gd.gov.cn/", SITE, "广东省人民政府", visible=False),  # hidden drop-down menu
    OffsiteLinkObs("http://www.people.com.cn/", ARTICLE, "人民网"),
    OffsiteLinkObs("https://www.xuexi.cn/", SITE, "学习强国", visible=False),  # hidden carousel slide
    OffsiteLinkObs("http://www.example-bank.com/", SITE, "网上银行"),
)


def test_visible_links_to_government_news_and_ordinary_sites_are_not_reported():
    assert links_external_unsafe.run(site(TRAPS), settings()) == []


def test_hidden_offsite_link_is_a_veto_with_where_it_was_seen():
    hidden = OffsiteLinkObs("http://spam.example.com/p/1", SITE, "药品", visible=False)
    findings = links_external_unsafe.run(site(TRAPS + (hidden,)), settings())
    assert summary(findings) == [
        ("links.external_unsafe", "http://spam.example.com/p/1", "veto", SITE, True, [])
    ]
    assert findings[0].message == "页面含站外链接 http://spam.example.com/p/1：读者看不到的隐藏链接（暗链）"
    assert findings[0].evidence["found_on"] == [{"page": SITE, "text": "药品", "visible": False}]


def test_visible_offsite_link_with_a_bad_word_in_text_or_target():
    by_text = OffsiteLinkObs("http://a.example.net/", ARTICLE, "澳门赌场在线")
    by_target = OffsiteLinkObs("http://b.example.net/%E8%80%81%E8%99%8E%E6%9C%BA/", ARTICLE, "点击进入")
    findings = links_external_unsafe.run(site(TRAPS + (by_text, by_target)), settings())
    assert summary(findings) == [
        ("links.external_unsafe", "http://a.example.net/", "veto", ARTICLE, False, ["澳门赌场", "赌场"]),
        ("links.external_unsafe", "http://b.example.net/%E8%80%81%E8%99%8E%E6%9C%BA/", "veto", ARTICLE, False,
         ["老虎机"]),
    ]
    assert findings[0].message == "页面含站外链接 http://a.example.net/：含不良词语“澳门赌场、赌场”"


def test_one_finding_per_url_listing_every_page():
    pages = [OffsiteLinkObs("http://spam.example.com/", f"{SITE}p{i}.html", "博彩", visible=False) for i in range(12)]
    findings = links_external_unsafe.run(site(pages), settings())
    assert len(findings) == 1
    assert findings[0].evidence["bad_terms"] == ["博彩"] and findings[0].evidence["hidden"] is True
    assert [p["page"] for p in findings[0].evidence["found_on"]] == [f"{SITE}p{i}.html" for i in range(10)]


def test_without_a_lexicon_only_hidden_links_are_reported():
    bad = OffsiteLinkObs("http://a.example.net/", ARTICLE, "澳门赌场在线")
    assert links_external_unsafe.run(site((bad,), terms=None), settings()) == []


def test_trusted_domains_are_configurable():
    hidden = OffsiteLinkObs("http://partner.example.org/x", SITE, "合作单位", visible=False)
    assert len(links_external_unsafe.run(site((hidden,)), settings())) == 1
    assert links_external_unsafe.run(site((hidden,)), settings(trusted_domains=["example.org"])) == []


def test_lookalike_of_a_government_domain_is_not_trusted():
    fake = OffsiteLinkObs("http://www.gov.cn.example.com/", SITE, "政府", visible=False)
    assert len(links_external_unsafe.run(site((fake,)), settings())) == 1


def test_not_judged_when_offsite_links_were_not_recorded():
    assert get_check("links.external_unsafe").missing_artifacts(site(None)) == ["offsite_links"]

"""site.zhaocuo_entry on hand-made artifacts: portals with and without the 找错 entry."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from govmon.checks import site_zhaocuo_entry
from govmon.checks.artifacts import HomeLinkObs, PageObs, SiteArtifacts, TargetInfo
from govmon.checks.registry import get_check
from govmon.config import Config

TZ = ZoneInfo("Asia/Shanghai")
AS_OF = dt.datetime(2023, 6, 30, 9, 30, tzinfo=TZ)
SITE = "http://www.lianjiang.gov.cn/"
HOME = PageObs(url=SITE, final_url=SITE, status=200, page_type="home", title="廉江市人民政府门户网站")
GOV_LINKS = (
    HomeLinkObs("http://www.gov.cn/", "中国政府网"),
    HomeLinkObs("http://www.lianjiang.gov.cn/xxgk/", "信息公开"),
)


def settings():
    return Config.from_mapping({}).check_settings("site.zhaocuo_entry")


def site(links, category: str = "county_portal", home: PageObs | None = HOME) -> SiteArtifacts:
    return SiteArtifacts(
        target=TargetInfo("lianjiang", "廉江市政府门户网站", "廉江市政府", category, SITE),
        as_of=AS_OF,
        home=home,
        home_links=None if links is None else tuple(links),
    )


@pytest.mark.parametrize("entry", [
    HomeLinkObs("https://pucha.kaipuyun.cn/exposure/jiucuo.html?site_code=4408810001", ""),
    HomeLinkObs("https://zfwzzc.www.gov.cn/check_web/errorInfo_querySiteInfo.action?webSiteCode=4408810001", "图片"),
    HomeLinkObs("http://www.lianjiang.gov.cn/zhaocuo/", "我为政府网站找错"),
    HomeLinkObs("javascript:void(0)", "政府网站找错"),
])
def test_portal_with_the_entry_is_no_finding(entry):
    assert site_zhaocuo_entry.run(site(GOV_LINKS + (entry,)), settings()) == []


def test_portal_without_the_entry_is_deducted():
    findings = site_zhaocuo_entry.run(site(GOV_LINKS), settings())
    assert [(f.check_id, f.subject, f.severity, f.url) for f in findings] == [
        ("site.zhaocuo_entry", "home", "deduct", SITE)
    ]
    assert findings[0].message == (
        "首页未设置“我为政府网站找错”入口（首页 2 个链接中没有指向找错平台或含“找错”字样的可见链接）"
    )
    assert findings[0].evidence == {
        "home_url": SITE,
        "links_on_home": 2,
        "entry_hosts": ["pucha.kaipuyun.cn", "zfwzzc.www.gov.cn"],
    }


def test_hidden_entry_does_not_count_and_is_named_in_evidence():
    hidden = HomeLinkObs("https://pucha.kaipuyun.cn/exposure/jiucuo.html", "我为政府网站找错", visible=False)
    findings = site_zhaocuo_entry.run(site(GOV_LINKS + (hidden,)), settings())
    assert len(findings) == 1
    assert findings[0].evidence["hidden_entries"] == ["https://pucha.kaipuyun.cn/exposure/jiucuo.html"]


def test_lookalike_host_is_not_the_entry():
    fake = HomeLinkObs("https://pucha.kaipuyun.cn.example.com/", "监督")
    assert len(site_zhaocuo_entry.run(site(GOV_LINKS + (fake,)), settings())) == 1


@pytest.mark.parametrize("category", ["department_site", "department_channel", None])
def test_other_categories_are_not_judged(category):
    artifacts = site(GOV_LINKS, category=category)
    assert site_zhaocuo_entry.run(artifacts, settings()) == []
    assert site_zhaocuo_entry.scope(artifacts, settings()) == set()


def test_not_judged_without_recorded_home_links_or_home():
    check = get_check("site.zhaocuo_entry")
    assert check.missing_artifacts(site(None)) == ["home_links"]
    failed = PageObs(url=SITE, status=None, error="连接被拒绝", error_kind="refused", page_type="home")
    assert check.missing_artifacts(site(GOV_LINKS, home=failed)) == ["home", "home_links"]
    assert check.missing_artifacts(site(GOV_LINKS)) == []

"""site.unreachable, site.homepage_stale and site.identifiers on hand-made artifacts."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from govmon.checks import site_homepage_stale, site_identifiers, site_unreachable
from govmon.checks.artifacts import ItemObs, PageObs, SiteArtifacts, TargetInfo
from govmon.config import Config

TZ = ZoneInfo("Asia/Shanghai")
AS_OF = dt.datetime(2023, 6, 30, 9, 30, tzinfo=TZ)
FETCHED = dt.datetime(2023, 6, 30, 9, 12, tzinfo=TZ)
SITE = "http://www.lianjiang.gov.cn/"

GOOD_FOOTER = (
    "主办单位：廉江市人民政府办公室 承办：廉江市政务服务数据管理局 "
    "联系电话：0759-6612345 网站标识码：4408810001 粤ICP备05081234号-1 粤公网安备 44088102000123号"
)


def settings(check_id: str, **overrides):
    data = {"checks": {check_id: overrides}} if overrides else {}
    return Config.from_mapping(data).check_settings(check_id)


def home(status: int | None = 200, error: str | None = None, error_kind: str | None = None, *,
         footer: str = "", text: str = "", marks: tuple[str, ...] | None = None) -> PageObs:
    return PageObs(url=SITE, final_url=SITE, status=status, error=error, error_kind=error_kind,
                   page_type="home", title="廉江市人民政府门户网站", text=text, footer_text=footer,
                   fetched_at=FETCHED, footer_marks=marks)


def site(home_page: PageObs | None, items=()) -> SiteArtifacts:
    return SiteArtifacts(
        target=TargetInfo("lianjiang", "廉江市政府门户网站", "廉江市政府", "county_portal", SITE),
        as_of=AS_OF,
        home=home_page,
        home_items=tuple(items),
    )


def item(day: dt.date | None, title: str = "要闻", precision: str | None = None) -> ItemObs:
    return ItemObs(title=title, text=title, url=f"{SITE}{title}.html", date=day,
                   date_raw=None if day is None else day.isoformat(), date_precision=precision)


def days_before(n: int) -> dt.date:
    return AS_OF.date() - dt.timedelta(days=n)


def summary(findings):
    return [(f.check_id, f.subject, f.severity) for f in findings]


# --- site.unreachable ----------------------------------------------------------------------


def test_unreachable_on_network_error():
    artifacts = site(home(None, "域名解析失败（DNS 查不到该域名）", "dns"))
    findings = site_unreachable.run(artifacts, settings("site.unreachable"))
    assert summary(findings) == [("site.unreachable", "home", "notice")]
    assert findings[0].url == SITE
    assert findings[0].evidence["error"] == "域名解析失败（DNS 查不到该域名）"
    assert findings[0].evidence["error_kind"] == "dns"
    assert findings[0].evidence["fetched_at"] == FETCHED.isoformat()
    assert findings[0].message == f"2023-06-30 09:12 扫描时首页 {SITE} 无法访问：域名解析失败（DNS 查不到该域名）"


@pytest.mark.parametrize("status", [403, 404, 500, 502, 503])
def test_unreachable_on_http_error(status):
    findings = site_unreachable.run(site(home(status)), settings("site.unreachable"))
    assert summary(findings) == [("site.unreachable", "home", "notice")]
    assert findings[0].evidence["status"] == status
    assert f"返回 HTTP {status}" in findings[0].message


@pytest.mark.parametrize("status", [200, 204])
def test_reachable_home_is_no_finding(status):
    artifacts = site(home(status))
    assert site_unreachable.run(artifacts, settings("site.unreachable")) == []
    assert site_unreachable.scope(artifacts, settings("site.unreachable")) == {"home"}  # judged: the home notice only


def test_no_home_record_judges_nothing():
    artifacts = site(None)
    assert site_unreachable.run(artifacts, settings("site.unreachable")) == []
    assert site_unreachable.scope(artifacts, settings("site.unreachable")) == set()


# --- site.homepage_stale -------------------------------------------------------------------


def test_homepage_fresh_at_exactly_14_days():
    artifacts = site(home(), [item(days_before(14)), item(days_before(20))])
    assert site_homepage_stale.run(artifacts, settings("site.homepage_stale")) == []


def test_homepage_stale_at_15_days():
    artifacts = site(home(), [item(days_before(20), "旧"), item(days_before(15), "最新"), item(None, "无日期")])
    findings = site_homepage_stale.run(artifacts, settings("site.homepage_stale"))
    assert summary(findings) == [("site.homepage_stale", "home", "veto")]
    evidence = findings[0].evidence
    assert evidence["newest_title"] == "最新"
    assert evidence["newest_url"] == f"{SITE}最新.html"
    assert evidence["newest_date"] == "2023-06-15"
    assert evidence["days_since"] == 15
    assert evidence["threshold_days"] == 14
    assert evidence["as_of"] == AS_OF.isoformat()
    assert findings[0].message == "首页最新信息“最新”的日期为 2023-06-15，距监测时间点 2023-06-30 已 15 天未更新（要求 14 天内）"


def test_homepage_days_from_settings():
    artifacts = site(home(), [item(days_before(8))])
    assert site_homepage_stale.run(artifacts, settings("site.homepage_stale", days=7))
    assert not site_homepage_stale.run(artifacts, settings("site.homepage_stale", days=8))


def test_homepage_month_precision_counts_as_month_end():
    # "2023年6月" may be 2023-06-30: never accuse with an earlier made-up day.
    fresh = site(home(), [item(dt.date(2023, 6, 1), precision="month")])
    assert site_homepage_stale.run(fresh, settings("site.homepage_stale")) == []
    # "2023年5月" is at the latest 2023-05-31: 30 days.
    stale = site(home(), [item(dt.date(2023, 5, 1), precision="month")])
    findings = site_homepage_stale.run(stale, settings("site.homepage_stale"))
    assert summary(findings) == [("site.homepage_stale", "home", "veto")]
    assert findings[0].evidence["newest_date"] == "2023-05"
    assert findings[0].evidence["days_since"] == 30
    assert "按该月最后一天计" in findings[0].message


def test_month_date_does_not_hide_a_later_day_date():
    artifacts = site(home(), [item(dt.date(2023, 5, 1), precision="month"), item(days_before(2), "新")])
    assert site_homepage_stale.run(artifacts, settings("site.homepage_stale")) == []


def test_homepage_with_only_undated_items_is_stale():
    artifacts = site(home(), [item(None, "甲"), item(None, "乙")])
    findings = site_homepage_stale.run(artifacts, settings("site.homepage_stale"))
    assert summary(findings) == [("site.homepage_stale", "home", "veto")]
    assert findings[0].evidence["newest_date"] is None
    assert findings[0].evidence["item_count"] == 2
    assert findings[0].evidence["dated_item_count"] == 0
    assert "2 条信息均未注明发布日期" in findings[0].message


def test_homepage_without_items_is_stale():
    findings = site_homepage_stale.run(site(home(), []), settings("site.homepage_stale"))
    assert summary(findings) == [("site.homepage_stale", "home", "veto")]
    assert "首页未发现带日期的信息条目" in findings[0].message


def test_future_dated_item_counts_as_fresh():
    artifacts = site(home(), [item(AS_OF.date() + dt.timedelta(days=3))])
    assert site_homepage_stale.run(artifacts, settings("site.homepage_stale")) == []


# --- site.identifiers ----------------------------------------------------------------------


def test_complete_footer_is_no_finding():
    artifacts = site(home(footer=GOOD_FOOTER))
    assert site_identifiers.run(artifacts, settings("site.identifiers")) == []


def test_missing_identifiers_are_listed():
    footer = "主办：廉江市人民政府办公室  联系我们  粤ICP备05081234号"
    findings = site_identifiers.run(site(home(footer=footer)), settings("site.identifiers"))
    assert summary(findings) == [("site.identifiers", "home", "deduct")]
    evidence = findings[0].evidence
    assert evidence["missing"] == ["网站标识码", "公安机关备案号"]
    assert evidence["present"] == ["主办单位", "联系方式", "ICP备案号"]
    assert evidence["not_observed"] == ["党政机关网站标识"]
    assert evidence["source"] == "footer"
    assert findings[0].message == "首页页脚缺少网站标识：网站标识码、公安机关备案号"


@pytest.mark.parametrize(
    "footer",
    [
        # letter-spaced labels, full-width colon and digits, e-mail as the contact
        "主 办 单 位：廉江市政府办公室 邮箱：ljzw@163.com 网站标识码：４４０８８１０００１ "
        "粤ICP备05081234号 粤公网安备44088102000123号",
        # department code (bm + 8 digits), 识别码 spelling, phone number only
        "廉江市政府主办 0759-6612345 网站识别码 bm09000001 京ICP备05070218号-1 "
        "公安机关备案号：11010202000001",
    ],
)
def test_identifier_variants_are_recognised(footer):
    assert site_identifiers.run(site(home(footer=footer)), settings("site.identifiers")) == []


def test_site_code_needs_ten_characters_after_its_label():
    footer = GOOD_FOOTER.replace("网站标识码：4408810001", "网站标识码：440881")
    findings = site_identifiers.run(site(home(footer=footer)), settings("site.identifiers"))
    assert findings[0].evidence["missing"] == ["网站标识码"]


def test_fallback_to_the_end_of_the_page_text():
    text = "首页 要闻 " + "正文" * 3000 + GOOD_FOOTER
    assert site_identifiers.run(site(home(text=text)), settings("site.identifiers")) == []
    # Identifiers further than 2,000 characters from the end are not in a footer.
    text = GOOD_FOOTER + "正文" * 3000
    findings = site_identifiers.run(site(home(text=text)), settings("site.identifiers"))
    assert findings[0].evidence["source"] == "page_end"
    assert "首页页面底部缺少网站标识" in findings[0].message


def test_page_without_any_text_is_not_judged():
    artifacts = site(home())
    assert site_identifiers.run(artifacts, settings("site.identifiers")) == []
    assert site_identifiers.scope(artifacts, settings("site.identifiers")) == set()


def test_party_government_mark_judged_only_when_footer_images_were_recorded():
    conac = "党政机关|https://dcs.conac.cn/image/red.png|https://bszs.conac.cn/sitename?method=show&id=1"
    shown = site(home(footer=GOOD_FOOTER, marks=(conac,)))
    assert site_identifiers.run(shown, settings("site.identifiers")) == []
    # The 我为政府网站找错 entry (jiucuo) is another thing, not the 党政机关 mark.
    jiucuo = "|/images/jiucuo.png|https://zfwzzc.www.gov.cn/check_web/errorInfo_querySiteInfo.action"
    absent = site(home(footer=GOOD_FOOTER, marks=(jiucuo,)))
    findings = site_identifiers.run(absent, settings("site.identifiers"))
    assert summary(findings) == [("site.identifiers", "home", "deduct")]
    assert findings[0].evidence["missing"] == ["党政机关网站标识"]


def test_required_identifiers_from_settings():
    footer = "主办单位：廉江市人民政府办公室 电话：0759-6612345"
    configured = settings("site.identifiers", required=["主办单位", "联系方式"])
    assert site_identifiers.run(site(home(footer=footer)), configured) == []

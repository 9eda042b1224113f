"""The check registry and run_checks: what is judged, skipped, found."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from zoneinfo import ZoneInfo

import pytest

from govmon.checks import registry
from govmon.checks.artifacts import (
    ARTIFACT_NAMES,
    BrowserPageObs,
    ArticleObs,
    HomeLinkObs,
    ColumnObs,
    ItemObs,
    Ipv6Obs,
    LinkObs,
    MessageObs,
    PageObs,
    SearchObs,
    SiteArtifacts,
    AccountArtifacts,
    TargetInfo,
    TlsObs,
)
from govmon.checks.registry import CHECKS, Check, JudgeResult, get_check, run_checks
from govmon.config import CHECK_IDS, Config
from govmon.findings import normalize_evidence

TZ = ZoneInfo("Asia/Shanghai")
AS_OF = dt.datetime(2023, 6, 30, 9, 30, tzinfo=TZ)
SITE = "http://www.lianjiang.gov.cn/"
FOOTER = "主办单位：廉江市人民政府办公室 联系电话：0759-6612345 网站标识码：4408810001 粤ICP备05081234号 粤公网安备44088102000123号"

TEN = {
    "site.unreachable",
    "site.homepage_stale",
    "column.stale",
    "column.empty",
    "content.date_order",
    "content.title_mismatch",
    "content.undated",
    "content.serious_error",
    "links.broken",
    "links.external_unsafe",
    "site.identifiers",
    "site.zhaocuo_entry",
}
BROWSER = {"page.slow", "page.render", "site.mobile", "site.elderly"}
ACCOUNT = {"account.stale", "account.unreachable", "account.serious_error", "account.no_interaction"}
PORTAL = {"interaction.missing", "interaction.unanswered", "site.search", "site.https", "site.ipv6"}
ALL = TEN | BROWSER | PORTAL | ACCOUNT


def config(checks=None, lexicon=None) -> Config:
    data = {}
    if checks:
        data["checks"] = checks
    if lexicon is not None:
        data["lexicon"] = {"serious_errors": lexicon}
    return Config.from_mapping(data)


def healthy_home(**changes) -> PageObs:
    page = PageObs(url=SITE, final_url=SITE, status=200, page_type="home", title="廉江市人民政府门户网站",
                   text="首页", footer_text=FOOTER, fetched_at=AS_OF)
    return dataclasses.replace(page, **changes)


def artifacts(**changes) -> SiteArtifacts:
    fresh = AS_OF.date() - dt.timedelta(days=1)
    article_page = PageObs(url=f"{SITE}zwdt/1.html", final_url=f"{SITE}zwdt/1.html", status=200, page_type="article",
                           title="市长调研农业工作", publish_date=fresh, text="正文", fetched_at=AS_OF)
    column_page = PageObs(url=f"{SITE}zwdt/", final_url=f"{SITE}zwdt/", status=200, page_type="list", title="政务动态",
                          fetched_at=AS_OF)
    mailbox_page = PageObs(url=f"{SITE}ldxx/", final_url=f"{SITE}ldxx/", status=200, page_type="list", title="领导信箱",
                           fetched_at=AS_OF)
    message_page = PageObs(url=f"{SITE}ldxx/1.html", final_url=f"{SITE}ldxx/1.html", status=200, page_type="article",
                           title="咨询农村公路维修", fetched_at=AS_OF)
    base = SiteArtifacts(
        target=TargetInfo("lianjiang", "廉江市政府门户网站", "廉江市政府", "county_portal", SITE),
        as_of=AS_OF,
        home=healthy_home(),
        home_items=(ItemObs("市长调研农业工作", None, f"{SITE}zwdt/1.html", fresh),),
        columns=(ColumnObs("政务动态", f"{SITE}zwdt/", "news", "config", column_page,
                           (ItemObs("市长调研农业工作", None, f"{SITE}zwdt/1.html", fresh),), True),
                 ColumnObs("领导信箱", f"{SITE}ldxx/", "interaction", "config", mailbox_page,
                           (ItemObs("咨询农村公路维修", None, f"{SITE}ldxx/1.html", fresh),), True)),
        articles=(ArticleObs(article_page, f"{SITE}zwdt/", "市长调研农业工作"),
                  ArticleObs(message_page, f"{SITE}ldxx/", "咨询农村公路维修",
                             message=MessageObs(asked=fresh - dt.timedelta(days=20), answered=fresh, state="已回复"))),
        tls=TlsObs(url="https://www.lianjiang.gov.cn:443/", answered=True, valid=True,
                   not_after=AS_OF + dt.timedelta(days=200), days_left=200),
        ipv6=Ipv6Obs(host="www.lianjiang.gov.cn", addresses=("2001:db8::1",), answered=True, status=200),
        search=SearchObs(home_url=SITE, form={"action": f"{SITE}search", "method": "GET", "field": "q", "hidden": {}},
                         query="市长调研农业工作", article_url=f"{SITE}zwdt/1.html", status=200, found=True),
        links=(LinkObs(f"{SITE}zwdt/1.html", "ok", 200, "HEAD", found_on=[(SITE, "市长调研农业工作")], on_home=True),),
        offsite_links=(),
        home_links=(HomeLinkObs(f"{SITE}zhaocuo/", "我为政府网站找错"),),
        lexicon=None,
        browser_audits=(BrowserPageObs(url=SITE, page_type="home", load_ms=800, loads_ms=(790, 800, 850),
                                       home_inspected=True, viewport_meta="width=device-width", phone_overflow_px=0,
                                       phone_width=375, elderly_entry={"word": "长者模式", "text": "长者模式", "href": "/z/"},
                                       axe={}),),
    )
    return dataclasses.replace(base, **changes)


# --- the registry -------------------------------------------------------------------------


def test_all_checks_are_registered_with_their_declarations():
    assert set(CHECKS) == ALL
    assert set(CHECKS) <= set(CHECK_IDS)
    site_fields = {f.name for f in dataclasses.fields(SiteArtifacts)}
    account_fields = {f.name for f in dataclasses.fields(AccountArtifacts)}
    for check_id, check in CHECKS.items():
        assert check.target_kind == ("account" if check_id in ACCOUNT else "site"), check_id
        field_names = account_fields if check.target_kind == "account" else site_fields
        assert check.id == check_id
        assert re.search(r"[\u4e00-\u9fff]", check.title), check_id
        assert re.search(r"[\u4e00-\u9fff]", check.description) and "国办秘函〔2019〕19号" in check.description
        assert check.severity in ("veto", "deduct", "notice")
        assert check.required_artifacts, check_id
        assert set(check.required_artifacts) <= field_names, check_id
        assert set(check.required_artifacts) <= ARTIFACT_NAMES, check_id
        assert callable(check.run)
        # One check, one module, named after its id.
        assert check.run.__module__ == "govmon.checks." + check_id.replace(".", "_")


def test_titles_are_the_indicator_names():
    assert get_check("column.stale").title == "栏目不更新"
    assert get_check("content.title_mismatch").title == "文不对题"
    assert get_check("content.date_order").title == "发布日期早于成文日期"
    assert get_check("links.broken").title == "不可用链接"


def test_get_check_unknown_id():
    with pytest.raises(KeyError, match="unknown check id"):
        get_check("column.nonsense")


def test_register_refuses_duplicates_and_unknown_artifacts():
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(CHECKS["column.stale"])
    with pytest.raises(ValueError, match="unknown artifacts"):
        Check("x.y", "测试", "测试", ("pages_seen",), "notice", lambda a, s: [])
    with pytest.raises(ValueError, match="unknown severity"):
        Check("x.y", "测试", "测试", ("home",), "fatal", lambda a, s: [])


# --- availability ------------------------------------------------------------------------


def test_available_artifacts():
    ok = artifacts()
    assert all(ok.available(name) for name in ("home", "home_items", "columns", "articles", "links", "target"))
    assert not ok.available("lexicon")
    assert artifacts(lexicon=()).available("lexicon")
    down = artifacts(home=healthy_home(status=None, error="连接被拒绝（服务器未在该端口提供服务）"))
    assert not down.available("home") and not down.available("home_items")
    assert not artifacts(home=healthy_home(status=503)).available("home")
    assert not artifacts(home=None).available("home")
    assert not artifacts(missing=frozenset({"links"})).available("links")
    with pytest.raises(KeyError):
        ok.available("screenshots")


# --- run_checks -----------------------------------------------------------------------------


def test_healthy_site_judges_everything_and_finds_nothing():
    result = run_checks(artifacts(), config())
    assert result.findings == []
    assert result.judged == ALL - ACCOUNT  # the account checks are not for sites
    assert result.skipped == {}


def test_unreachable_home_is_not_judged_as_stale():
    down = artifacts(home=healthy_home(status=None, error="请求超时，站点没有在限定时间内响应", error_kind="timeout",
                                       text="", footer_text=""), home_items=())
    result = run_checks(down, config())
    assert [(f.check_id, f.subject, f.severity) for f in result.findings] == [("site.unreachable", "home", "notice")]
    assert "site.homepage_stale" not in result.judged
    assert "site.identifiers" not in result.judged
    assert "content.serious_error" not in result.judged
    assert result.skipped["site.homepage_stale"] == "首页未能读取"
    assert result.skipped["site.identifiers"] == "首页未能读取"
    assert {"site.unreachable", "column.stale", "content.date_order", "links.broken"} <= result.judged
    # Stored findings of unjudged checks stay open.
    assert not result.covers("site.homepage_stale", "home")
    assert result.covers("site.unreachable", "home")


def test_missing_links_artifact_is_not_judged():
    result = run_checks(artifacts(missing=frozenset({"links"})), config())
    assert "links.broken" not in result.judged
    assert result.skipped["links.broken"] == "本次扫描未检查链接"


def test_disabled_checks_are_skipped():
    stale_home = artifacts(home_items=(ItemObs("旧闻", None, f"{SITE}old.html", dt.date(2023, 1, 1)),))
    result = run_checks(stale_home, config({"site.homepage_stale": {"enabled": False}}))
    assert "site.homepage_stale" not in result.judged
    assert result.skipped == {"site.homepage_stale": "配置中已停用"}
    assert result.findings == []


def test_severity_override_from_config():
    stale_home = artifacts(home_items=(ItemObs("旧闻", None, f"{SITE}old.html", dt.date(2023, 1, 1)),))
    result = run_checks(stale_home, config({"site.homepage_stale": {"severity": "deduct"}}))
    assert [(f.check_id, f.severity) for f in result.findings] == [("site.homepage_stale", "deduct")]
    result = run_checks(stale_home, config())
    assert [(f.check_id, f.severity) for f in result.findings] == [("site.homepage_stale", "veto")]


def test_only_selected_checks_run():
    result = run_checks(artifacts(), config(), only={"links.broken", "column.stale"})
    assert result.judged == {"links.broken", "column.stale"}
    assert set(result.skipped) == ALL - ACCOUNT - {"links.broken", "column.stale"}
    with pytest.raises(KeyError):
        run_checks(artifacts(), config(), only={"column.nonsense"})


def test_lexicon_comes_from_config_when_artifacts_carry_none():
    with_term = artifacts(articles=(ArticleObs(
        dataclasses.replace(artifacts().articles[0].page, text="会议由错误说法甲主持"), f"{SITE}zwdt/", "市长调研农业工作"),))
    result = run_checks(with_term, config(lexicon=["错误说法甲"]))
    assert [(f.check_id, f.subject) for f in result.findings] == [
        ("content.serious_error", f"错误说法甲@{SITE}zwdt/1.html")
    ]
    # An empty configured lexicon is still a judgement (old hits of removed terms resolve).
    assert "content.serious_error" in run_checks(with_term, config()).judged


def test_scopes_limit_what_a_judgement_resolves():
    result = run_checks(artifacts(), config())
    # The article read this time was judged; an article not read this time was not.
    assert result.covers("content.date_order", f"{SITE}zwdt/1.html")
    assert not result.covers("content.date_order", f"{SITE}zwdt/old.html")
    assert result.covers("content.serious_error", f"某词@{SITE}zwdt/1.html")
    assert not result.covers("content.serious_error", f"某词@{SITE}elsewhere.html")
    assert result.covers("column.stale", f"{SITE}zwdt/")
    assert not result.covers("column.stale", f"{SITE}unread/")
    assert result.covers("links.broken", f"{SITE}zwdt/1.html")
    assert not result.covers("links.broken", f"{SITE}unchecked.html")
    # Site-level checks cover their one subject.
    assert result.covers("site.homepage_stale", "home")
    assert result.covers("site.identifiers", "home")


def test_a_failing_check_is_skipped_and_the_others_run(monkeypatch):
    def broken(artifacts, settings):
        raise RuntimeError("boom")

    monkeypatch.setitem(CHECKS, "column.empty", dataclasses.replace(CHECKS["column.empty"], run=broken))
    result = run_checks(artifacts(), config())
    assert "column.empty" not in result.judged
    assert result.skipped["column.empty"].startswith("检查出错：RuntimeError: boom")
    assert result.judged == ALL - ACCOUNT - {"column.empty"}


def test_findings_are_unique_per_check_and_subject_and_json_ready():
    many = artifacts(
        home_items=(),
        columns=tuple(
            ColumnObs(f"栏目{i}", f"{SITE}c{i}/", "news", "config",
                      PageObs(url=f"{SITE}c{i}/", status=200, page_type="list"),
                      (ItemObs("旧", None, f"{SITE}c{i}/1.html", dt.date(2022, 1, 1)),), True)
            for i in range(6)
        ),
        links=(LinkObs(f"{SITE}x.html", "broken", 404, "GET", found_on=[(SITE, "x")], on_home=True),),
    )
    result = run_checks(many, config())
    keys = [(f.check_id, f.subject) for f in result.findings]
    assert len(keys) == len(set(keys))
    assert ("site.homepage_stale", "home") in keys
    assert sum(1 for f in result.findings if f.check_id == "column.stale" and f.severity == "veto") == 6
    for finding in result.findings:
        json.dumps(normalize_evidence(finding.evidence), ensure_ascii=False)
        assert re.search(r"[\u4e00-\u9fff]", finding.message)


def test_judge_result_covers_only_judged_checks():
    result = JudgeResult(judged={"links.broken"}, scopes={"links.broken": frozenset({"a"})})
    assert result.covers("links.broken", "a")
    assert not result.covers("links.broken", "b")
    assert not result.covers("column.stale", "a")

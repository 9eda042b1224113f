"""column.stale and column.empty on hand-made artifacts."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from govmon.checks import column_empty, column_stale
from govmon.checks.artifacts import ColumnObs, ItemObs, PageObs, SiteArtifacts, TargetInfo
from govmon.config import Config

TZ = ZoneInfo("Asia/Shanghai")
AS_OF = dt.datetime(2023, 6, 30, 9, 30, tzinfo=TZ)
SITE = "http://www.lianjiang.gov.cn/"


def settings(check_id: str, **overrides):
    data = {"checks": {check_id: overrides}} if overrides else {}
    return Config.from_mapping(data).check_settings(check_id)


def item(day: dt.date | None, title: str = "信息", precision: str | None = None) -> ItemObs:
    return ItemObs(
        title=title,
        text=title,
        url=f"{SITE}art/{title}.html",
        date=day,
        date_raw=None if day is None else day.isoformat(),
        date_precision=precision,
    )


def list_page(url: str, status: int = 200, error: str | None = None, page_type: str = "list") -> PageObs:
    return PageObs(url=url, final_url=url, status=status, error=error, page_type=page_type, title="列表",
                   fetched_at=AS_OF)


def column(name: str, kind: str, items=(), *, url: str | None = None, complete: bool = True,
           status: int = 200, error: str | None = None, source: str = "config", page_type: str = "list",
           page: bool = True) -> ColumnObs:
    url = url or f"{SITE}{name}/"
    return ColumnObs(
        name=name,
        url=url,
        kind=kind,
        source=source,
        page=list_page(url, status, error, page_type) if page else None,
        items=tuple(items),
        complete=complete,
    )


def site(*columns: ColumnObs) -> SiteArtifacts:
    return SiteArtifacts(
        target=TargetInfo("lianjiang", "廉江市政府门户网站", "廉江市政府", "county_portal", SITE),
        as_of=AS_OF,
        home=PageObs(url=SITE, final_url=SITE, status=200, page_type="home", fetched_at=AS_OF),
        columns=columns,
    )


def days_before(n: int) -> dt.date:
    return AS_OF.date() - dt.timedelta(days=n)


def summary(findings):
    return [(f.check_id, f.subject, f.severity) for f in findings]


# --- column.stale ------------------------------------------------------------------------


def test_news_column_stale_after_14_days_boundary():
    artifacts = site(
        column("fourteen", "news", [item(days_before(14)), item(days_before(40))]),
        column("fifteen", "news", [item(days_before(15), "旧闻"), item(days_before(30))]),
    )
    findings = column_stale.run(artifacts, settings("column.stale"))
    assert summary(findings) == [("column.stale", f"{SITE}fifteen/", "deduct")]
    evidence = findings[0].evidence
    assert evidence["newest_date"] == days_before(15).isoformat()
    assert evidence["newest_title"] == "旧闻"
    assert evidence["days_since"] == 15
    assert evidence["threshold_days"] == 14
    assert evidence["column_kind"] == "news"
    assert evidence["veto_rule"] is None
    assert evidence["as_of"] == AS_OF.isoformat()
    assert "栏目“fifteen”最新信息为 2023-06-15，距监测时间点 2023-06-30 已 15 天未更新" in findings[0].message
    assert "要求 14 天内" in findings[0].message


def test_thresholds_per_kind():
    artifacts = site(
        column("notice-ok", "notice", [item(days_before(180))]),
        column("notice-old", "notice", [item(days_before(181))]),
        column("policy-old", "policy", [item(days_before(200))]),
        column("personnel-ok", "personnel", [item(days_before(365))]),
        column("planning-old", "planning", [item(days_before(366))]),
    )
    findings = column_stale.run(artifacts, settings("column.stale"))
    assert summary(findings) == [
        ("column.stale", f"{SITE}notice-old/", "deduct"),
        ("column.stale", f"{SITE}policy-old/", "deduct"),
        ("column.stale", f"{SITE}planning-old/", "deduct"),
    ]
    assert [f.evidence["threshold_days"] for f in findings] == [180, 180, 365]


def test_interaction_and_other_not_judged_unless_configured():
    columns = (
        column("hudong", "interaction", [item(days_before(400))]),
        column("qita", "other", [item(days_before(400))]),
    )
    assert column_stale.run(site(*columns), settings("column.stale")) == []
    assert column_stale.scope(site(*columns), settings("column.stale")) == set()
    configured = settings("column.stale", days={"interaction": 30})
    assert summary(column_stale.run(site(*columns), configured)) == [
        ("column.stale", f"{SITE}hudong/", "deduct")
    ]


def test_month_precision_counts_as_last_day_of_month():
    # 2023-06 (month only) counts as 2023-06-30: not stale on 2023-06-30 even for news.
    artifacts = site(column("yue", "news", [item(dt.date(2023, 6, 1), precision="month")]))
    assert column_stale.run(artifacts, settings("column.stale")) == []
    # 2023-05 counts as 2023-05-31: 30 days before as_of → stale, shown as 2023-05.
    artifacts = site(column("yue", "news", [item(dt.date(2023, 5, 1), precision="month")]))
    findings = column_stale.run(artifacts, settings("column.stale"))
    assert summary(findings) == [("column.stale", f"{SITE}yue/", "deduct")]
    assert findings[0].evidence["days_since"] == 30
    assert findings[0].evidence["newest_date"] == "2023-05"
    assert findings[0].evidence["newest_date_precision"] == "month"


def test_newest_item_is_found_whatever_the_order():
    artifacts = site(column("mixed", "news", [item(days_before(90)), item(None), item(days_before(3))]))
    assert column_stale.run(artifacts, settings("column.stale")) == []


def test_five_core_columns_veto():
    stale = [column(f"core{i}", kind, [item(days_before(400))]) for i, kind in
             enumerate(["news", "news", "notice", "policy", "policy"])]
    fresh = column("fresh", "news", [item(days_before(1))])
    findings = column_stale.run(site(*stale, fresh), settings("column.stale"))
    assert summary(findings) == [("column.stale", c.url, "veto") for c in stale]
    assert all(f.evidence["veto_rule"] == "core" for f in findings)
    assert all(f.evidence["stale_core_count"] == 5 for f in findings)
    assert "5 个不更新（达到 5 个即单项否决）" in findings[0].message


def test_four_core_columns_deduct():
    stale = [column(f"core{i}", "news", [item(days_before(400))]) for i in range(4)]
    findings = column_stale.run(site(*stale), settings("column.stale"))
    assert {f.severity for f in findings} == {"deduct"}
    assert len(findings) == 4
    assert "未达单项否决标准" in findings[0].message


def test_ten_columns_of_any_kind_veto_nine_deduct():
    kinds = ["news", "news", "notice", "notice"] + ["personnel"] * 3 + ["planning"] * 3
    ten = [column(f"c{i}", kind, [item(days_before(400))]) for i, kind in enumerate(kinds)]
    findings = column_stale.run(site(*ten), settings("column.stale"))
    assert len(findings) == 10
    assert {f.severity for f in findings} == {"veto"}
    assert {f.evidence["veto_rule"] for f in findings} == {"any"}
    assert findings[0].evidence["stale_core_count"] == 4
    assert findings[0].evidence["stale_any_count"] == 10
    assert "本站共 10 个栏目不更新（达到 10 个即单项否决）" in findings[0].message

    findings = column_stale.run(site(*ten[:9]), settings("column.stale"))
    assert len(findings) == 9
    assert {f.severity for f in findings} == {"deduct"}


def test_veto_thresholds_come_from_settings():
    stale = [column(f"core{i}", "news", [item(days_before(400))]) for i in range(2)]
    findings = column_stale.run(site(*stale), settings("column.stale", veto_core_stale=2))
    assert {f.severity for f in findings} == {"veto"}


def test_unreadable_columns_are_not_judged():
    old = [item(days_before(400))]
    artifacts = site(
        column("incomplete", "news", old, complete=False),
        column("error", "news", old, error="请求超时，站点没有在限定时间内响应", status=None),
        column("notfound", "news", old, status=404),
        column("never", "news", old, page=False),
    )
    assert column_stale.run(artifacts, settings("column.stale")) == []
    assert column_stale.scope(artifacts, settings("column.stale")) == set()


def test_empty_and_undated_columns_are_not_stale():
    artifacts = site(
        column("empty", "news", []),
        column("undated", "news", [item(None), item(None)]),
    )
    assert column_stale.run(artifacts, settings("column.stale")) == []
    # The empty column was judged (its list was read), the undated one was not.
    assert column_stale.scope(artifacts, settings("column.stale")) == {f"{SITE}empty/"}


def test_same_column_listed_twice_is_one_finding():
    twice = column("dup", "news", [item(days_before(100))])
    findings = column_stale.run(site(twice, twice), settings("column.stale"))
    assert summary(findings) == [("column.stale", twice.url, "deduct")]


def test_counts_are_volatile_evidence():
    findings = column_stale.run(site(column("x", "news", [item(days_before(100))])), settings("column.stale"))
    assert {"as_of", "days_since", "stale_core_count", "stale_any_count"} <= findings[0].volatile_keys


# --- column.empty ------------------------------------------------------------------------


def test_empty_column_deduct():
    artifacts = site(
        column("kong", "notice", []),
        column("full", "notice", [item(days_before(1))]),
    )
    findings = column_empty.run(artifacts, settings("column.empty"))
    assert summary(findings) == [("column.empty", f"{SITE}kong/", "deduct")]
    evidence = findings[0].evidence
    assert evidence["column_name"] == "kong"
    assert evidence["status"] == 200
    assert evidence["empty_count"] == 1
    assert "栏目“kong”" in findings[0].message and "没有任何信息" in findings[0].message


@pytest.mark.parametrize(("count", "expected"), [(4, "deduct"), (5, "veto"), (6, "veto")])
def test_empty_veto_at_five(count, expected):
    empties = [column(f"k{i}", "other", []) for i in range(count)]
    findings = column_empty.run(site(*empties), settings("column.empty"))
    assert summary(findings) == [("column.empty", c.url, expected) for c in empties]


def test_empty_veto_count_from_settings():
    empties = [column(f"k{i}", "other", []) for i in range(2)]
    findings = column_empty.run(site(*empties), settings("column.empty", veto_count=2))
    assert {f.severity for f in findings} == {"veto"}


def test_unreadable_column_is_not_empty():
    artifacts = site(
        column("incomplete", "news", [], complete=False),
        column("error", "news", [], error="连接被拒绝（服务器未在该端口提供服务）", status=None),
        column("gone", "news", [], status=404),
        column("server", "news", [], status=503),
        column("never", "news", [], page=False),
    )
    assert column_empty.run(artifacts, settings("column.empty")) == []
    assert column_empty.scope(artifacts, settings("column.empty")) == set()


def test_discovered_column_needs_a_list_page():
    artifacts = site(
        column("jigou", "other", [], source="discovered", page_type="article"),
        column("found", "other", [], source="discovered", page_type="list"),
    )
    findings = column_empty.run(artifacts, settings("column.empty"))
    assert summary(findings) == [("column.empty", f"{SITE}found/", "deduct")]

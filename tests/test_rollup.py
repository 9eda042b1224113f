"""The quarterly rollup: verdicts, pass rates and annexes (CHECKS.md's worked example)."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from govmon.config import Config
from govmon.findings import parse_quarter
from govmon.models import Finding, FindingEvent, Scan, Target
from govmon.rollup import build_rollup, date_range_period, pass_rates, sampling_text

TZ = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC


def at(month: int, day: int, year: int = 2023) -> dt.datetime:
    return dt.datetime(year, month, day, 9, 30, tzinfo=TZ)


def add_target(session: Session, target_id: str, name: str, *, kind: str = "site", category: str | None = None,
               organizer: str | None = None, scanned: bool = True) -> Target:
    target = Target(id=target_id, kind=kind, name=name, organizer=organizer or f"{name}主办单位",
                    category=category if kind == "site" else None,
                    platform="wechat" if kind == "account" else None, url=f"http://{target_id}.example.gov.cn/")
    session.add(target)
    if scanned:
        session.add(Scan(target_id=target_id, kind=kind, status="complete", started_at=at(6, 20),
                         finished_at=at(6, 20), as_of=at(6, 20)))
    return target


def add_finding(session: Session, target_id: str, check_id: str, severity: str, *, subject: str = "s",
                message: str = "问题", first_seen: dt.datetime | None = None, last_seen: dt.datetime | None = None,
                status: str = "open", resolved_at: dt.datetime | None = None, evidence: dict | None = None,
                url: str | None = None) -> Finding:
    first_seen = first_seen or at(5, 12)
    finding = Finding(target_id=target_id, check_id=check_id, subject=subject, severity=severity, message=message,
                      url=url, evidence=evidence or {}, evidence_hash="0" * 64, status=status,
                      first_seen=first_seen, last_seen=last_seen or first_seen, resolved_at=resolved_at,
                      dismissed_at=at(6, 1) if status == "dismissed" else None,
                      dismissed_reason="误报" if status == "dismissed" else None)
    session.add(finding)
    return finding


def build_worked_example(session: Session) -> None:
    """湛江 2023 Q2: 11 portals, 6 department sites, 31 channels, 241 accounts."""
    add_target(session, "lianjiang", "廉江市政府门户网站", category="county_portal", organizer="廉江市政府")
    for i in range(10):
        add_target(session, f"county-{i}", f"县区门户{i:02d}", category="county_portal")
    add_target(session, "zj-agri", "湛江农业信息港", category="department_site", organizer="湛江市农业农村局")
    for i in range(5):
        add_target(session, f"dept-{i}", f"部门网站{i:02d}", category="department_site")
    for i in range(31):
        add_target(session, f"channel-{i}", f"部门子频道{i:02d}", category="department_channel")
    add_target(session, "zhanjiang-jindu", "湛江禁毒", kind="account", organizer="湛江市禁毒委员会办公室")
    add_target(session, "meili-xiashan", "魅力霞山", kind="account", organizer="霞山区政府")
    for i in range(239):
        add_target(session, f"account-{i}", f"政务账号{i:03d}", kind="account")
    session.flush()
    add_finding(session, "lianjiang", "content.date_order", "veto", subject="http://lianjiang/post_123.html",
                message="发布日期（2023-05-08）早于成文日期（2023-05-10）", url="http://lianjiang/post_123.html")
    add_finding(session, "lianjiang", "content.title_mismatch", "veto", subject="http://lianjiang/post_9.html",
                message="列表标题与正文标题不符")
    add_finding(session, "zj-agri", "site.homepage_stale", "veto", message="首页 30 天没有新的信息")
    add_finding(session, "zhanjiang-jindu", "account.serious_error", "veto", message="严重表述错误：某某")
    add_finding(session, "meili-xiashan", "account.stale", "deduct", message="监测时间点前 9 天无更新",
                evidence={"days_since": 9})
    # notices never count and are no 突出问题
    add_finding(session, "county-3", "content.undated", "notice", message="未注明发布时间")


def test_worked_example(session_factory: sessionmaker[Session]) -> None:
    config = Config.from_mapping({})
    with session_factory.begin() as session:
        build_worked_example(session)
    with session_factory() as session:
        rollup = build_rollup(session, config, parse_quarter("2023Q2", TZ))
        assert pass_rates(session, config, parse_quarter("2023Q2", TZ)) == rollup.rates  # the overview's fast path

    rates = rollup.rates
    assert (rates["county_portal"].passed, rates["county_portal"].total) == (10, 11)
    assert rates["county_portal"].value == Fraction(10, 11)
    assert rates["county_portal"].text == "91%"
    assert rates["department_site"].value == Fraction(5, 6)
    assert rates["department_site"].text == "83%"
    assert rates["department_channel"].value == Fraction(1)
    assert rates["department_channel"].text == "100%"
    assert rates["websites"].value == Fraction(46, 48)
    assert rates["websites"].text == "96%"
    assert rates["new_media"].value == Fraction(240, 241)
    assert rates["new_media"].text == "99.5%"
    assert rollup.sampling == "2023年4月1日至6月30日"
    assert not rollup.unchecked

    annex1 = [(v.name, v.organizer, v.problems_text) for v in rollup.annex_sites]
    assert annex1 == [
        ("廉江市政府门户网站", "廉江市政府", "内容发布审核不严，存在发布日期早于成文日期、文不对题问题"),
        ("湛江农业信息港", "湛江市农业农村局", "首页长期未更新"),
    ]
    annex2 = {v.name: (v.verdict, v.problems_text) for v in rollup.annex_accounts}
    assert annex2 == {
        "湛江禁毒": ("不合格", "存在严重表述错误"),
        "魅力霞山": ("合格", "监测时间点前1周内无更新"),
    }
    by_id = {v.target_id: v for v in rollup.verdicts}
    assert by_id["lianjiang"].verdict == "不合格"
    assert by_id["county-3"].verdict == "合格" and by_id["county-3"].problems == []
    assert len(by_id["county-3"].findings) == 1  # listed in the detail sheet all the same
    assert len(rollup.findings()) == 6


def test_unchecked_target_is_reported_apart_not_passed(session_factory: sessionmaker[Session]) -> None:
    config = Config.from_mapping({})
    with session_factory.begin() as session:
        add_target(session, "a", "甲网站", category="county_portal")
        add_target(session, "b", "乙网站", category="county_portal", scanned=False)
        # a scan outside the quarter, or an incomplete one, does not make it checked
        session.add(Scan(target_id="b", kind="site", status="complete", as_of=at(3, 30), started_at=at(3, 30)))
        session.add(Scan(target_id="b", kind="site", status="incomplete", as_of=at(5, 1), started_at=at(5, 1)))
        add_target(session, "c", "丙网站", category="county_portal", scanned=False)
        session.flush()
        add_finding(session, "c", "site.unreachable", "veto", message="站点无法访问")
    with session_factory() as session:
        rollup = build_rollup(session, config, parse_quarter("2023Q2", TZ))
        assert pass_rates(session, config, parse_quarter("2023Q2", TZ)) == rollup.rates  # the overview's fast path
    by_id = {v.target_id: v for v in rollup.verdicts}
    assert by_id["a"].verdict == "合格"
    assert by_id["b"].verdict == "未检查"
    assert by_id["c"].verdict == "不合格"  # a found problem proves itself
    rate = rollup.rates["county_portal"]
    assert (rate.passed, rate.total, rate.unchecked, rate.text) == (1, 2, 1, "50%")
    assert [v.target_id for v in rollup.unchecked] == ["b"]


def test_nothing_checked_prints_a_dash(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        add_target(session, "b", "乙网站", category="county_portal", scanned=False)
    with session_factory() as session:
        rollup = build_rollup(session, Config.from_mapping({}), parse_quarter("2023Q2", TZ))
        assert pass_rates(session, Config.from_mapping({}), parse_quarter("2023Q2", TZ)) == rollup.rates
    assert rollup.rates["county_portal"].text == "—"
    assert rollup.rates["county_portal"].value is None


def test_which_findings_count(session_factory: sessionmaker[Session]) -> None:
    config = Config.from_mapping({})
    with session_factory.begin() as session:
        for name in ("dismissed", "resolved-before", "open-early", "resolved-inside", "later", "reopened-after"):
            add_target(session, name, name, category="county_portal")
        session.flush()
        add_finding(session, "dismissed", "site.unreachable", "veto", status="dismissed")
        add_finding(session, "resolved-before", "site.unreachable", "veto", first_seen=at(1, 5),
                    last_seen=at(3, 20), status="resolved", resolved_at=at(3, 25))
        # open since last year and still open: open at some time in the range
        add_finding(session, "open-early", "site.unreachable", "veto", first_seen=at(11, 1, 2022),
                    last_seen=at(7, 20))
        add_finding(session, "resolved-inside", "site.unreachable", "veto", first_seen=at(3, 1),
                    last_seen=at(4, 2), status="resolved", resolved_at=at(4, 3))
        add_finding(session, "later", "site.unreachable", "veto", first_seen=at(7, 2))
        # resolved in March, reopened in August: resolved_at is forgotten, the events tell
        finding = add_finding(session, "reopened-after", "site.unreachable", "veto", first_seen=at(1, 5),
                              last_seen=at(8, 5))
        session.flush()
        session.add_all([
            FindingEvent(finding_id=finding.id, event="opened", at=at(1, 5)),
            FindingEvent(finding_id=finding.id, event="resolved", at=at(3, 1)),
            FindingEvent(finding_id=finding.id, event="reopened", at=at(8, 1)),
        ])
    with session_factory() as session:
        rollup = build_rollup(session, config, parse_quarter("2023Q2", TZ))
        assert pass_rates(session, config, parse_quarter("2023Q2", TZ)) == rollup.rates  # the overview's fast path
    verdicts = {v.target_id: v.verdict for v in rollup.verdicts}
    assert verdicts == {
        "dismissed": "合格",
        "resolved-before": "合格",
        "open-early": "不合格",
        "resolved-inside": "不合格",
        "later": "合格",
        "reopened-after": "合格",
    }
    by_id = {v.target_id: v for v in rollup.verdicts}
    assert by_id["dismissed"].findings == []
    assert by_id["open-early"].reasons == ["站点无法访问"]


def test_deduction_score_below_fail_below(session_factory: sessionmaker[Session]) -> None:
    config = Config.from_mapping({"checks": {"column.empty": {"max_points": 20.0}}})
    with session_factory.begin() as session:
        add_target(session, "low", "低分网站", category="department_site")
        add_target(session, "capped", "封顶网站", category="department_site")
        add_target(session, "links", "链接网站", category="department_site")
        session.flush()
        # 9 stale columns × 5 = 45 → 55 < 60 → 不合格
        for i in range(9):
            add_finding(session, "low", "column.stale", "deduct", subject=f"col{i}")
        # 9 empty columns × 5 = 45, capped at 20 → 80: 合格 but listed
        for i in range(9):
            add_finding(session, "capped", "column.empty", "deduct", subject=f"col{i}")
        # 2 home links (1 point) + 3 other links (0.1) = 2.3 → 97.7
        for i in range(2):
            add_finding(session, "links", "links.broken", "deduct", subject=f"h{i}", evidence={"on_home": True})
        for i in range(3):
            add_finding(session, "links", "links.broken", "deduct", subject=f"o{i}", evidence={"on_home": False})
    with session_factory() as session:
        rollup = build_rollup(session, config, parse_quarter("2023Q2", TZ))
        assert pass_rates(session, config, parse_quarter("2023Q2", TZ)) == rollup.rates  # the overview's fast path
    by_id = {v.target_id: v for v in rollup.verdicts}
    assert by_id["low"].score == 55
    assert by_id["low"].verdict == "不合格"
    assert by_id["low"].reasons == ["得分55分，低于60分"]
    assert by_id["low"].problems == ["栏目不更新（9个）"]
    assert by_id["capped"].score == 80 and by_id["capped"].verdict == "合格"
    assert by_id["links"].score == Fraction(977, 10) and by_id["links"].score_text == "97.7"
    assert sorted(v.target_id for v in rollup.annex_sites) == ["capped", "links", "low"]
    assert rollup.rates["department_site"].text == "67%"


def test_account_stale_wording(session_factory: sessionmaker[Session]) -> None:
    config = Config.from_mapping({})
    with session_factory.begin() as session:
        add_target(session, "two-weeks", "两周账号", kind="account")
        add_target(session, "ten-days", "十天账号", kind="account")
        session.flush()
        add_finding(session, "two-weeks", "account.stale", "veto", subject="a")
        add_finding(session, "two-weeks", "account.stale", "deduct", subject="b")
        add_finding(session, "ten-days", "account.stale", "deduct", evidence={"threshold_days": 10})
    with session_factory() as session:
        rollup = build_rollup(session, config, parse_quarter("2023Q2", TZ))
        assert pass_rates(session, config, parse_quarter("2023Q2", TZ)) == rollup.rates  # the overview's fast path
    by_id = {v.target_id: v for v in rollup.verdicts}
    assert by_id["two-weeks"].problems == ["监测时间点前2周内无更新"]
    assert by_id["two-weeks"].verdict == "不合格"
    assert by_id["ten-days"].problems == ["监测时间点前10天内无更新"]
    assert by_id["ten-days"].verdict == "合格"


def test_date_range_period() -> None:
    period = date_range_period(dt.date(2023, 4, 1), dt.date(2023, 6, 30), TZ)
    assert period.start == dt.datetime(2023, 4, 1, tzinfo=TZ)
    assert period.end == dt.datetime(2023, 7, 1, tzinfo=TZ)
    assert sampling_text(period, TZ) == "2023年4月1日至6月30日"
    assert sampling_text(date_range_period(dt.date(2022, 12, 1), dt.date(2023, 1, 31), TZ), TZ) == (
        "2022年12月1日至2023年1月31日"
    )
    with pytest.raises(ValueError):
        date_range_period(dt.date(2023, 6, 30), dt.date(2023, 4, 1), TZ)

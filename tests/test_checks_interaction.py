"""interaction.missing / interaction.unanswered: message pages read by a real scan of loopback portals.

Portal A (county): 领导信箱 with an answered message, one unanswered for 30 days, one unanswered for
120 days (the veto), one unanswered but older than the year looked back on; 网上信访 with a message
unanswered for 200 days (excluded by the rule); 在线访谈 (no question awaits an answer there).
Portal B (county): only 网上信访 and 纪检举报 — no consultation channel (the veto).
Portal C (county): 咨询投诉 whose messages were all answered more than 2 months ago (the deduction).
Both databases; the exact findings are asserted.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from loopback import LoopbackServer, Reply, event_loop_runner, html  # noqa: F401 (fixture)
from sqlalchemy import select

from govmon.checks.interaction_channels import channel_role
from govmon.config import Config
from govmon.crawler.portal_features import read_message
from govmon.models import Finding
from govmon.scan import scan_sites

TZ = ZoneInfo("Asia/Shanghai")
AS_OF = dt.datetime.now(TZ)


def day(ago: int) -> str:
    return (AS_OF.date() - dt.timedelta(days=ago)).isoformat()


# --- what a message page shows ---------------------------------------------------------------------


def test_read_message_dates_and_state():
    assert read_message("来信人：张某\n留言时间：2023-03-02 10:12\n办理状态：已回复\n回复时间：2023年3月9日") == {
        "asked": "2023-03-02", "answered": "2023-03-09", "state": "已回复"}
    assert read_message("提问时间：2023/05/01\n状态：未回复") == {"asked": "2023-05-01", "answered": None, "state": "未回复"}
    assert read_message("发布时间：2023-05-01\n正文") is None  # an article, not a message


@pytest.mark.parametrize(("name", "kind", "role"), [
    ("领导信箱", "interaction", "consultation"),
    ("县长信箱", None, "consultation"),
    ("咨询投诉", "other", "consultation"),
    ("网上信访", "interaction", "excluded"),
    ("纪检举报", None, "excluded"),
    ("在线访谈", "interaction", "other"),
    ("征集调查", "interaction", "other"),
    ("政务动态", "news", None),
])
def test_channel_roles(name, kind, role):
    assert channel_role(name, kind, ("网上信访", "纪检举报")) == role


# --- the portals ------------------------------------------------------------------------------------


def _page(title: str, body: str) -> Reply:
    return Reply(body=html(f"<h1>{title}</h1>{body}", title=title))


def _list(name: str, entries: list[tuple[str, str, int]]) -> Reply:
    rows = "".join(f'<li><a href="{href}" title="{title}">{title}</a><span>{day(ago)}</span></li>'
                   for href, title, ago in entries)
    return _page(name, f"<ul class='list'>{rows}</ul>")


def _message(title: str, asked: int, answered: int | None) -> Reply:
    reply = (f"<p>办理状态：已回复</p><p>回复时间：{day(answered)}</p><div class='reply'>您好，已转交有关部门办理。</div>"
             if answered is not None else "<p>办理状态：未回复</p>")
    return _page(title, f"<p>来信人：群众</p><p>留言时间：{day(asked)}</p><div class='ask'>{title}，请予解答。</div>{reply}")


def _portal(columns: dict[str, tuple[str, list[tuple[str, str, int, int | None]]]]) -> LoopbackServer:
    """A portal: path → (column name, [(href, title, asked days ago, answered days ago)])."""
    nav = "".join(f'<a href="{path}">{name}</a>' for path, (name, _) in columns.items())
    routes: dict[str, Reply] = {"/": _page("首页", f"<div class='nav'>{nav}</div>")}
    for path, (name, messages) in columns.items():
        routes[path] = _list(name, [(href, title, asked) for href, title, asked, _ in messages])
        for href, title, asked, answered in messages:
            routes[href] = _message(title, asked, answered)
    return LoopbackServer(routes)


def _config(servers: dict[str, tuple[LoopbackServer, dict]]) -> Config:
    sites = []
    for site_id, (server, columns) in servers.items():
        sites.append({"id": site_id, "name": f"{site_id}门户", "organizer": "县政府", "category": "county_portal",
                      "url": server.url("/"),
                      "columns": [{"name": name, "url": server.url(path), "kind": kind}
                                  for path, (name, kind) in columns.items()]})
    return Config.from_mapping({
        "sites": sites,
        "crawl": {"allow_private_addresses": True, "download_delay_s": 0.005, "timeout_s": 5, "retries": 0},
        "browser": {"enabled": False},
        "tls": {"timeout_s": 2},
    })


def test_interaction_findings_from_a_scan(session_factory, event_loop_runner):  # noqa: F811
    a = _portal({
        "/ldxx/": ("领导信箱", [("/ldxx/m1.html", "咨询农村公路维修进度", 40, 35),
                            ("/ldxx/m2.html", "反映小区路灯不亮", 30, None),
                            ("/ldxx/m3.html", "咨询低保申请条件", 120, None),
                            ("/ldxx/m4.html", "咨询老年证办理", 400, None)]),
        "/wsxf/": ("网上信访", [("/wsxf/x1.html", "反映征地补偿问题", 200, None)]),
        "/zxft/": ("在线访谈", [("/zxft/f1.html", "县长谈营商环境", 150, None)]),
    })
    b = _portal({
        "/wsxf/": ("网上信访", [("/wsxf/x1.html", "反映噪音扰民", 10, None)]),
        "/jjjb/": ("纪检举报", []),
    })
    c = _portal({
        "/zxts/": ("咨询投诉", [("/zxts/t1.html", "咨询社保转移", 110, 100),
                            ("/zxts/t2.html", "咨询公积金提取", 130, 125)]),
    })
    with a, b, c:
        config = _config({
            "a": (a, {"/ldxx/": ("领导信箱", "interaction"), "/wsxf/": ("网上信访", "interaction"),
                      "/zxft/": ("在线访谈", "interaction")}),
            "b": (b, {"/wsxf/": ("网上信访", "interaction"), "/jjjb/": ("纪检举报", "other")}),
            "c": (c, {"/zxts/": ("咨询投诉", "interaction")}),
        })
        results = event_loop_runner.run(scan_sites(config, session_factory, list(config.sites), as_of=AS_OF),
                                        timeout=120)
        assert {r.target_id: r.status for r in results} == {"a": "complete", "b": "complete", "c": "complete"}
        with session_factory() as session:
            found = {(f.target_id, f.check_id, f.subject): f for f in session.scalars(select(Finding))
                     if f.check_id.startswith("interaction.") or f.check_id == "content.undated"}

        assert set(found) == {
            ("a", "interaction.unanswered", a.url("/ldxx/m3.html")),
            ("b", "interaction.missing", "consultation"),
            ("c", "interaction.unanswered", "no_recent_reply"),
        }
        veto = found[("a", "interaction.unanswered", a.url("/ldxx/m3.html"))]
        assert veto.severity == "veto"
        assert veto.evidence["asked"] == day(120) and veto.evidence["days_unanswered"] == 120
        assert veto.evidence["column"] == "领导信箱" and veto.evidence["message_url"] == a.url("/ldxx/m3.html")
        assert "已 120 天未回复" in veto.message

        missing = found[("b", "interaction.missing", "consultation")]
        assert missing.severity == "veto"
        assert sorted(c["name"] for c in missing.evidence["excluded_channels"]) == ["纪检举报", "网上信访"]

        deduct = found[("c", "interaction.unanswered", "no_recent_reply")]
        assert deduct.severity == "deduct" and deduct.evidence["latest_reply"] == day(100)
        assert deduct.evidence["days_since_reply"] == 100


# --- interaction.missing on hand-made artifacts ------------------------------------------------------

SITE = "http://www.example.gov.cn/"


def _artifacts(columns=(), home_links=(), category="county_portal", links=()):
    from govmon.checks.artifacts import PageObs, SiteArtifacts, TargetInfo

    return SiteArtifacts(target=TargetInfo("t", "门户", "县政府", category, SITE), as_of=AS_OF,
                         home=PageObs(url=SITE, status=200, page_type="home"), columns=tuple(columns),
                         home_links=tuple(home_links), links=tuple(links))


def _column(name, readable=True):
    from govmon.checks.artifacts import ColumnObs, PageObs

    page = PageObs(url=SITE + "c/", status=200 if readable else 503, page_type="list")
    return ColumnObs(name, SITE + "c/", "interaction", "config", page, (), readable)


def _missing(artifacts):
    from govmon.checks import interaction_missing

    settings = Config.from_mapping({}).check_settings("interaction.missing")
    return interaction_missing.run(artifacts, settings), interaction_missing.scope(artifacts, settings)


def test_missing_channel_judgements():
    from govmon.checks.artifacts import HomeLinkObs, LinkObs

    # a 领导信箱 on a city-wide platform, linked from the home page, is a channel
    offsite = HomeLinkObs("http://12345.city.gov.cn/ldxx/", "县长信箱")
    assert _missing(_artifacts(home_links=[offsite])) == ([], None)
    # ... unless its link is broken
    broken = LinkObs(offsite.url, "broken", 404)
    findings, _ = _missing(_artifacts(home_links=[offsite], links=[broken]))
    assert [(f.subject, f.severity) for f in findings] == [("consultation", "veto")]
    # a consultation column that could not be read this time: no proof either way
    assert _missing(_artifacts(columns=[_column("领导信箱", readable=False)])) == ([], set())
    # only 网上信访: no channel; department sites are not judged
    findings, _ = _missing(_artifacts(columns=[_column("网上信访")]))
    assert len(findings) == 1 and findings[0].evidence["excluded_channels"] == [{"name": "网上信访", "url": SITE + "c/"}]
    assert _missing(_artifacts(category="department_site")) == ([], set())


def test_unanswered_judges_the_state_shown_and_leaves_other_columns_out():
    from govmon.checks import interaction_unanswered
    from govmon.checks.artifacts import ArticleObs, MessageObs, PageObs

    def message(column: str, name: str, asked: int, state: str | None, answered: int | None = None):
        page = PageObs(url=f"{SITE}{column}/{name}.html", status=200, page_type="article", title=name)
        reply = AS_OF.date() - dt.timedelta(days=answered) if answered is not None else None
        return ArticleObs(page, SITE + "c/" if column == "ldxx" else SITE + "zxft/", name,
                          message=MessageObs(asked=AS_OF.date() - dt.timedelta(days=asked), state=state,
                                             answered=reply))

    from govmon.checks.artifacts import ColumnObs

    interview = ColumnObs("在线访谈", SITE + "zxft/", "interaction", "config",
                          PageObs(url=SITE + "zxft/", status=200, page_type="list"), (), True)
    artifacts = _artifacts(columns=[_column("领导信箱"), interview])
    artifacts = artifacts.__class__(**{**artifacts.__dict__, "articles": (
        message("ldxx", "done", 150, "已办结"),  # answered by its state, no reply date shown
        message("ldxx", "waiting", 100, "办理中"),  # in progress is not answered
        message("zxft", "talk", 200, None),  # 在线访谈: no question awaits an answer
        message("ldxx", "late", 200, "已回复", answered=80),  # answered 120 days after: a notice
        message("ldxx", "slow", 150, "已回复", answered=61),  # answered after 89 days: in time
    )})
    settings = Config.from_mapping({}).check_settings("interaction.unanswered")
    findings = interaction_unanswered.run(artifacts, settings)
    assert [(f.subject, f.severity) for f in findings] == [
        (f"{SITE}ldxx/waiting.html", "veto"),
        (f"{SITE}ldxx/late.html#answered_late", "notice"),
    ]  # no deduction: the answered letter does not say when, so a recent reply is not ruled out
    late = findings[1]
    assert (late.evidence["asked"], late.evidence["answered"], late.evidence["days_to_answer"]) == (
        (AS_OF.date() - dt.timedelta(days=200)).isoformat(), (AS_OF.date() - dt.timedelta(days=80)).isoformat(), 120)
    assert "间隔 120 天" in late.message
    assert interaction_unanswered.scope(artifacts, settings) == {
        url + suffix for name in ("done", "waiting", "late", "slow")
        for url in (f"{SITE}ldxx/{name}.html",) for suffix in ("", "#answered_late")} | {"no_recent_reply"}

"""Account scans end to end: the loopback platforms (govmon/demo/account_platforms.py) read
through the real adapters, stored, judged and kept, on SQLite and PostgreSQL; the checks on
hand-made observations; saved logins."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from loopback import event_loop_runner, next_loopback_host  # noqa: F401 (fixture)
from sqlalchemy import select

from govmon.account_scan import AccountScanner
from govmon.checks import account_no_interaction, account_serious_error, account_stale, account_unreachable
from govmon.checks.artifacts import AccountArtifacts, AccountInfo, AccountReadObs, PostObs
from govmon.checks.registry import run_checks
from govmon.config import Config
from govmon.demo.account_platforms import AccountPlatforms
from govmon.logins import LoginError, LoginStore, read_cookie_file
from govmon.models import AccountPost, AccountRead, Finding, Scan

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
FAST_PACE = {"pace": {"interval_s": 0.0, "backoff_s": 0.0}}

# ------------------------------------------------------------------ the checks, on observations


def _artifacts(coverage: str, posts: list[tuple[float, bool]], *, reason: str = "", expired: bool = False,
               lexicon: tuple[str, ...] | None = None) -> AccountArtifacts:
    read = AccountReadObs(coverage=coverage, reason=reason or None, login_expired=expired, requests=2,  # type: ignore[arg-type]
                          url="http://127.0.0.1/u/1", evidence={"list": "http://127.0.0.1/api"}, read_at=NOW)
    obs = [PostObs(id=f"p{i}", text=f"第{i}条 政务信息", url=f"http://127.0.0.1/p{i}",
                   published_at=NOW - dt.timedelta(days=days), pinned=pinned) for i, (days, pinned) in enumerate(posts)]
    return AccountArtifacts(target=AccountInfo("a1", "魅力霞山", "霞山区政府", "douyin", "http://127.0.0.1/u/1"),
                            as_of=NOW, read=read, posts=obs, lexicon=lexicon)


def _config(**extra) -> Config:
    return Config.from_mapping({"sites": [], **extra})


STALE = Config.from_mapping({"sites": []}).checks.account_stale


def test_stale_two_levels_pinned_ignored() -> None:
    assert account_stale.run(_artifacts("complete", [(3, False)]), STALE) == []
    [flag] = account_stale.run(_artifacts("complete", [(200, True), (9, False)]), STALE)
    assert (flag.severity, flag.subject, flag.evidence["threshold_days"], flag.evidence["days_since"]) == (
        "deduct", "no_recent_post", 7, 9)
    assert flag.message.startswith("监测时间点（2026-11-20）前7天内无更新：最新一条发布于 2026-11-11")
    assert flag.message.endswith("；置顶的 1 条不计")
    assert flag.evidence["pinned_ignored"][0]["published_at"] == (NOW - dt.timedelta(days=200)).isoformat()
    [veto] = account_stale.run(_artifacts("complete", [(1, True), (15, False)]), STALE)  # a fresh pinned post
    assert (veto.severity, veto.evidence["threshold_days"], veto.evidence["days_since"]) == ("veto", 14, 15)
    [empty] = account_stale.run(_artifacts("complete", []), STALE)
    assert empty.severity == "veto" and "未读取到任何发布" in empty.message


def test_stale_only_on_what_a_read_can_prove() -> None:
    for coverage in ("blocked", "failed"):
        artifacts = _artifacts(coverage, [], reason="平台拒绝访问")
        assert account_stale.run(artifacts, STALE) == [] and account_stale.scope(artifacts, STALE) == set()
    partial_old = _artifacts("partial", [(20, False)], reason="只读了 5 页")
    assert account_stale.run(partial_old, STALE) == [] and account_stale.scope(partial_old, STALE) == set()
    partial_fresh = _artifacts("partial", [(2, False)], reason="只读了 5 页")  # a recent post disproves it
    assert account_stale.run(partial_fresh, STALE) == [] and account_stale.scope(partial_fresh, STALE) == {"no_recent_post"}
    future = _artifacts("complete", [(-2, False), (30, False)])  # posted after the monitoring time point
    [finding] = account_stale.run(future, STALE)
    assert finding.evidence["days_since"] == 30


def test_unreachable_says_why_and_serious_error_names_the_post() -> None:
    settings = _config().checks.account_unreachable
    assert account_unreachable.run(_artifacts("complete", [(1, False)]), settings) == []
    assert account_unreachable.run(_artifacts("partial", [(1, False)], reason="x"), settings) == []
    [blocked] = account_unreachable.run(_artifacts("blocked", [], reason="微博拒绝访问：ok 0"), settings)
    assert (blocked.severity, blocked.message) == ("notice", "平台拒绝访问：微博拒绝访问：ok 0")
    [expired] = account_unreachable.run(_artifacts("failed", [], reason="请运行 govmon login wechat", expired=True), settings)
    assert expired.message == "登录已过期：请运行 govmon login wechat" and expired.evidence["login_expired"] is True

    artifacts = _artifacts("complete", [(1, False), (2, False)], lexicon=("第1条",))
    [hit] = account_serious_error.run(artifacts, _config().checks.account_serious_error)
    assert (hit.subject, hit.severity, hit.url) == ("第1条@p1", "veto", "http://127.0.0.1/p1")
    assert hit.message == f"{(NOW - dt.timedelta(days=2)).date().isoformat()} 发布的内容出现严重表述错误“第1条”：……【第1条】 政务信息……"
    assert account_serious_error.scope(artifacts, None) == {"p0", "p1"}


NO_INTERACTION = Config.from_mapping({"sites": []}).checks.account_no_interaction


def _commented(coverage: str, posts: list[tuple[float, bool | None]], platform: str = "douyin",
               pinned: int | None = None) -> AccountArtifacts:
    """An account read whose posts carry a comment state: (age in days, comments_open)."""
    base = _artifacts(coverage, [(days, i == pinned) for i, (days, _) in enumerate(posts)], reason="只读了 1 页")
    obs = [PostObs(id=p.id, text=p.text, url=p.url, published_at=p.published_at, pinned=p.pinned, comments_open=state)
           for p, (_, state) in zip(base.posts, posts)]
    target = AccountInfo("a1", "魅力霞山", "霞山区政府", platform, "http://127.0.0.1/u/1")
    return AccountArtifacts(target=target, as_of=NOW, read=base.read, posts=obs)


def test_no_interaction_when_every_recent_post_is_closed() -> None:
    closed = _commented("complete", [(1, False), (5, False), (9, False), (13, False), (40, True)])
    [notice] = account_no_interaction.run(closed, NO_INTERACTION)
    assert (notice.check_id, notice.subject, notice.severity) == ("account.no_interaction", "comments_closed", "notice")
    assert notice.message == (f"监测时间点前14天内的 4 条发布（{(NOW - dt.timedelta(days=13)).date()} 至 "
                              f"{(NOW - dt.timedelta(days=1)).date()}）全部关闭了评论，平台显示不允许评论，账号未提供互动渠道")
    assert notice.url == "http://127.0.0.1/u/1"
    assert notice.evidence["platform_field"] == "aweme_control.can_comment = false"
    assert [(p["id"], p["url"], p["comments_open"]) for p in notice.evidence["posts"]] == [
        (f"p{i}", f"http://127.0.0.1/p{i}", False) for i in range(4)]  # the open post 40 days back is out of the window
    assert notice.evidence["window_days"] == 14 and notice.evidence["posts_in_window"] == 4
    assert account_no_interaction.scope(closed, NO_INTERACTION) == {"comments_closed"}
    # Toutiao says it through ban_comment
    toutiao = _commented("complete", [(1, False), (2, False), (3, False)], platform="toutiao")
    assert account_no_interaction.run(toutiao, NO_INTERACTION)[0].evidence["platform_field"] == "ban_comment = true"


def test_no_interaction_never_guessed() -> None:
    def judged(artifacts: AccountArtifacts) -> tuple[list, set[str]]:
        return account_no_interaction.run(artifacts, NO_INTERACTION), account_no_interaction.scope(artifacts, NO_INTERACTION)

    # one recent post open: judged, nothing found (an older notice is resolved)
    assert judged(_commented("complete", [(1, False), (4, True), (8, False)])) == ([], {"comments_closed"})
    # an open pinned post in the window is an interaction entry too
    assert judged(_commented("complete", [(2, True), (4, False), (8, False), (9, False)], pinned=0))[0] == []
    # the platform did not say for one post, or for any (Weibo, Kuaishou, Bilibili): not judged
    assert judged(_commented("complete", [(1, False), (4, None), (8, False)])) == ([], set())
    assert judged(_commented("complete", [(1, None), (4, None), (8, None)], platform="weibo")) == ([], set())
    # a read that is not complete proves nothing
    for coverage in ("partial", "blocked", "failed"):
        assert judged(_commented(coverage, [(1, False), (4, False), (8, False)])) == ([], set())
    # closed long ago, open lately
    assert judged(_commented("complete", [(1, True), (3, True), (6, True), (20, False), (30, False)])) == (
        [], {"comments_closed"})
    # too few recent posts to judge; posts after the monitoring time point do not count
    assert judged(_commented("complete", [(1, False), (4, False), (30, False)])) == ([], set())
    assert judged(_commented("complete", [(-3, False), (1, False), (4, False)])) == ([], set())
    # the window and the minimum are settings
    wide = _config(checks={"account.no_interaction": {"window_days": 35, "min_posts": 2}}).checks.account_no_interaction
    assert len(account_no_interaction.run(_commented("complete", [(4, False), (30, False)]), wide)) == 1


def test_run_checks_runs_only_the_account_checks_on_an_account() -> None:
    judged = run_checks(_artifacts("blocked", [], reason="被拒绝"), _config())
    assert judged.judged == {"account.stale", "account.unreachable", "account.serious_error", "account.no_interaction"}
    assert judged.skipped == {}  # the site checks are neither run nor listed
    assert [f.check_id for f in judged.findings] == ["account.unreachable"]
    assert judged.covers("account.unreachable", "unreadable") and not judged.covers("account.stale", "no_recent_post")


# ------------------------------------------------------------------ logins


def test_login_store_modes_and_cookie_imports(tmp_path: Path) -> None:
    store = LoginStore(tmp_path / "logins")
    assert store.load("wechat") is None
    path = store.save("wechat", {"cookies": [{"name": "slave_sid", "value": "s", "domain": "x", "path": "/"}], "token": "9"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(store.root.stat().st_mode) == 0o700
    assert store.load("wechat")["token"] == "9"
    os.chmod(path, 0o644)
    with pytest.raises(LoginError, match="权限过宽.*chmod 600"):
        store.load("wechat")

    netscape = tmp_path / "cookies.txt"
    netscape.write_text("# Netscape HTTP Cookie File\n#HttpOnly_.weibo.cn\tTRUE\t/\tFALSE\t0\tSUB\tabc\n", encoding="utf-8")
    state = read_cookie_file(netscape)
    assert state["cookies"] == [{"name": "SUB", "value": "abc", "domain": ".weibo.cn", "path": "/", "expires": -1,
                                 "httpOnly": True, "secure": False, "sameSite": "Lax"}]
    listed = tmp_path / "cookies.json"
    listed.write_text(json.dumps([{"name": "SESSDATA", "value": "v", "domain": ".bilibili.com", "expirationDate": 2e9}]))
    assert read_cookie_file(listed, token="7")["cookies"][0]["expires"] == 2e9
    bad = tmp_path / "bad.txt"
    bad.write_text("just one field\n")
    with pytest.raises(LoginError, match="第 1 行不是 Netscape"):
        read_cookie_file(bad)


# ------------------------------------------------------------------ scans over the loopback platforms


@pytest.fixture(scope="module")
def platforms():
    with AccountPlatforms(NOW, host=next_loopback_host()) as server:
        yield server


def _province(fake: AccountPlatforms, tmp_path: Path, accounts: list[dict], pace: dict | None = None,
              **extra) -> Config:
    secrets = tmp_path / "logins"
    LoginStore(secrets).save("wechat", fake.wechat_login())
    return Config.from_mapping({
        "sites": [], "accounts": accounts, "browser": {"enabled": False},
        "platforms": {**FAST_PACE, **(pace or {}), "secrets_dir": str(secrets)}, **extra,
    })


def _accounts(platforms: AccountPlatforms) -> list[dict]:
    def account(id: str, platform: str, url: str) -> dict:
        return {"id": id, "name": id, "organizer": "示范县", "platform": platform, "url": url}

    return [
        account("weibo-fresh", "weibo", platforms.weibo_url("fresh")),
        account("weibo-stale", "weibo", platforms.weibo_url("stale")),
        account("weibo-pinned", "weibo", platforms.weibo_url("pinned")),
        account("weibo-blocked", "weibo", platforms.weibo_url("blocked")),
        account("wechat-stale", "wechat", platforms.wechat_url("stale")),
        account("wechat-paged", "wechat", platforms.wechat_url("paged")),
        account("wechat-expired", "wechat", platforms.wechat_url("expired")),
        account("rss-stale", "rss", platforms.feed_url("stale", "atom")),
        account("rss-blocked", "rss", platforms.feed_url("blocked")),
        account("douyin-no-browser", "douyin", "http://127.0.0.1:9/user/x"),
    ]


def _scan(config: Config, sessions, runner, as_of: dt.datetime = NOW):
    scanner = AccountScanner(config, sessions, as_of=as_of)
    return runner.run(scanner.scan(list(config.accounts)), timeout=120)


def _open(sessions) -> dict[tuple[str, str, str], Finding]:
    with sessions() as session:
        rows = session.scalars(select(Finding).where(Finding.status == "open"))
        return {(f.target_id, f.check_id, f.subject): f for f in rows}


def test_account_scan_finds_exactly_the_planted_problems(platforms, tmp_path, session_factory, event_loop_runner):  # noqa: F811
    config = _province(platforms, tmp_path, _accounts(platforms), lexicon={"serious_errors": ["第301条"]})
    results = {r.target_id: r for r in _scan(config, session_factory, event_loop_runner)}

    assert {k: (r.status, r.coverage) for k, r in results.items()} == {
        "weibo-fresh": ("complete", "complete"), "weibo-stale": ("complete", "complete"),
        "weibo-pinned": ("complete", "complete"), "weibo-blocked": ("incomplete", "blocked"),
        "wechat-stale": ("complete", "complete"), "wechat-paged": ("complete", "complete"),
        "wechat-expired": ("incomplete", "failed"), "rss-stale": ("complete", "complete"),
        "rss-blocked": ("incomplete", "blocked"), "douyin-no-browser": ("incomplete", "failed"),
    }
    found = _open(session_factory)
    with session_factory() as session:
        pinned_post = session.scalar(select(AccountPost.post_id).join(Scan).where(
            Scan.target_id == "weibo-pinned", AccountPost.text.contains("第301条")))
    assert {(k, f.severity) for k, f in found.items()} == {
        (("weibo-stale", "account.stale", "no_recent_post"), "veto"),
        (("wechat-stale", "account.stale", "no_recent_post"), "veto"),
        (("rss-stale", "account.stale", "no_recent_post"), "veto"),
        (("weibo-blocked", "account.unreachable", "unreadable"), "notice"),
        (("wechat-expired", "account.unreachable", "unreadable"), "notice"),
        (("rss-blocked", "account.unreachable", "unreadable"), "notice"),
        (("weibo-pinned", "account.serious_error", f"第301条@{pinned_post}"), "veto"),
    }
    stale = found[("weibo-stale", "account.stale", "no_recent_post")]
    assert stale.evidence["days_since"] == 20 and stale.evidence["coverage"] == "complete"
    assert stale.evidence["last_post_at"] == (NOW - dt.timedelta(days=20)).isoformat()
    expired = found[("wechat-expired", "account.unreachable", "unreadable")]
    assert expired.message.startswith("登录已过期：微信公众平台登录已过期") and "govmon login wechat" in expired.message
    # our missing browser is not the account's problem: kept with its reason, nothing judged
    assert results["douyin-no-browser"].reason == "未配置浏览器，无法读取抖音账号（未监测）"
    assert not [k for k in found if k[0] == "douyin-no-browser"]
    with session_factory() as session:
        read = session.scalar(select(AccountRead).join(Scan).where(Scan.target_id == "weibo-pinned"))
        assert read.coverage == "complete" and read.requests >= 2
        pinned = session.scalars(select(AccountPost).where(AccountPost.scan_id == read.scan_id, AccountPost.pinned)).all()
        assert len(pinned) == 1 and (NOW - pinned[0].published_at).days == 200


def test_flag_level_and_the_lifecycle_of_one_account(platforms, tmp_path, session_factory, event_loop_runner):  # noqa: F811
    def one(url: str) -> Config:
        return _province(platforms, tmp_path, [{"id": "feed", "name": "示范发布", "platform": "rss", "url": url}])

    key = ("feed", "account.stale", "no_recent_post")
    # the fresh feed's newest post is 1 day before NOW: 10 days before a point 9 days later
    _scan(one(platforms.feed_url("fresh")), session_factory, event_loop_runner, as_of=NOW + dt.timedelta(days=9))
    flagged = _open(session_factory)[key]
    assert (flagged.severity, flagged.evidence["threshold_days"]) == ("deduct", 7)

    _scan(one(platforms.feed_url("stale")), session_factory, event_loop_runner)
    assert _open(session_factory)[key].severity == "veto"

    _scan(one(platforms.feed_url("blocked")), session_factory, event_loop_runner)  # blocked: proves nothing
    found = _open(session_factory)
    assert set(found) == {key, ("feed", "account.unreachable", "unreadable")}

    _scan(one(platforms.feed_url("fresh")), session_factory, event_loop_runner)  # fixed: both resolved
    assert _open(session_factory) == {}
    with session_factory() as session:
        statuses = [s.status for s in session.scalars(select(Scan).where(Scan.target_id == "feed").order_by(Scan.id))]
    assert statuses == ["complete", "complete", "incomplete", "complete"]


def test_a_saved_login_that_others_can_read_is_refused_not_used(platforms, tmp_path, session_factory, event_loop_runner):  # noqa: F811
    config = _province(platforms, tmp_path, [{"id": "wx", "name": "示范公众号", "platform": "wechat",
                                              "url": platforms.wechat_url("fresh")}])
    os.chmod(tmp_path / "logins" / "wechat.json", 0o644)
    [result] = _scan(config, session_factory, event_loop_runner)
    assert result.status == "incomplete" and "权限过宽" in result.reason
    assert _open(session_factory) == {}  # our configuration problem accuses no account


def _govmon(*args: str, cwd: Path, env: dict | None = None):
    import subprocess
    import sys

    exe = str(Path(sys.executable).with_name("govmon"))
    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def test_govmon_login_imports_cookies_into_the_secrets_folder(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("platforms:\n  secrets_dir: secrets\n", encoding="utf-8")
    exported = tmp_path / "wx.json"
    exported.write_text(json.dumps([{"name": "slave_sid", "value": "s3cr3t", "domain": "mp.weixin.qq.com"}]))
    no_token = _govmon("login", "wechat", "--cookies", str(exported), cwd=tmp_path)
    assert no_token.returncode == 1 and "--token" in no_token.stderr
    assert not (tmp_path / "secrets" / "wechat.json").exists()

    saved = _govmon("login", "wechat", "--cookies", str(exported), "--token", "4321", cwd=tmp_path)
    assert saved.returncode == 0, saved.stderr
    path = tmp_path / "secrets" / "wechat.json"
    assert saved.stdout.strip() == f"已保存 wechat 的登录：{path}（1 个 cookie，权限 0600）"
    assert "s3cr3t" not in saved.stdout + saved.stderr  # never printed
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert LoginStore(tmp_path / "secrets").load("wechat")["token"] == "4321"

    unknown = _govmon("login", "rss", cwd=tmp_path)
    assert unknown.returncode == 2 and "可登录的平台" in unknown.stderr
    headless = _govmon("login", "weibo", cwd=tmp_path, env={"DISPLAY": "", "WAYLAND_DISPLAY": ""})
    assert headless.returncode == 1 and "没有图形界面" in headless.stderr and "--cookies" in headless.stderr


def test_a_platform_backing_off_holds_up_no_other_platform(platforms, tmp_path, session_factory, event_loop_runner):  # noqa: F811
    """Weibo refuses first and backs off 3 s; the feeds queued after it are read meanwhile."""
    weibo = [{"id": f"wb{i}", "name": f"微博{i}", "platform": "weibo", "url": platforms.weibo_url(s)}
             for i, s in enumerate(("blocked", "fresh", "stale"))]
    feeds = [{"id": f"rss{i}", "name": f"订阅{i}", "platform": "rss", "url": platforms.feed_url("fresh")} for i in range(4)]
    config = _province(platforms, tmp_path, weibo + feeds,
                       pace={"pace": {"interval_s": 0.0, "backoff_s": 3.0}, "concurrent_reads": 2})
    results = _scan(config, session_factory, event_loop_runner)
    assert [r.target_id for r in results] == ["wb0", "wb1", "wb2", "rss0", "rss1", "rss2", "rss3"]  # config order
    with session_factory() as session:
        finished = {target: at for target, at in session.execute(select(Scan.target_id, Scan.finished_at))}
    assert max(finished[f"rss{i}"] for i in range(4)) < finished["wb1"]  # read during Weibo's back-off


def test_comments_closed_on_douyin_found_and_never_guessed(platforms, tmp_path, session_factory, event_loop_runner):  # noqa: F811
    """Douyin says per post whether it is open (aweme_control.can_comment): the account whose recent
    posts are all closed gets one notice; one open post, old closed posts with recent open ones, and a
    platform that never says (Weibo) get none. Read with Chromium, stored, judged."""
    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("no Chromium at /usr/bin/chromium")

    def account(id: str, platform: str, url: str) -> dict:
        return {"id": id, "name": id, "organizer": "示范县", "platform": platform, "url": url}

    accounts = [
        account("dy-closed", "douyin", platforms.douyin_url("closed")),
        account("dy-half-open", "douyin", platforms.douyin_url("half_open")),
        account("dy-reopened", "douyin", platforms.douyin_url("reopened")),
        account("wb-closed", "weibo", platforms.weibo_url("closed")),  # Weibo answers no comment state
    ]
    config = _province(platforms, tmp_path, accounts, browser={"enabled": True})
    results = {r.target_id: r for r in _scan(config, session_factory, event_loop_runner)}
    assert {k: r.coverage for k, r in results.items()} == dict.fromkeys(results, "complete")
    assert set(results) == {a["id"] for a in accounts}
    found = _open(session_factory)
    assert set(found) == {("dy-closed", "account.no_interaction", "comments_closed")}
    notice = found[("dy-closed", "account.no_interaction", "comments_closed")]
    assert notice.severity == "notice" and notice.url == platforms.douyin_url("closed")
    base = platforms.base
    assert [(p["id"], p["url"], p["comments_open"]) for p in notice.evidence["posts"]] == [
        (f"76{n:017d}", f"{base}/video/76{n:017d}", False) for n in (800, 801, 802, 803)]
    states: dict[str, list[bool | None]] = {}
    with session_factory() as session:
        for target, state in session.execute(select(Scan.target_id, AccountPost.comments_open)
                                             .join_from(AccountPost, Scan).order_by(AccountPost.id)):
            states.setdefault(target, []).append(state)
    assert states["dy-closed"] == [False] * 4
    assert states["dy-half-open"] == [False, True, False]
    assert states["dy-reopened"] == [True, True, True, False, False, False]
    assert states["wb-closed"] == [None] * 4  # the platform did not say: stored as unknown

"""Browser checks with the real Chromium over loopback pages made to be slow, to overflow, to
throw, to miss alt text and contrast, to lack a viewport; and the checks on hand-made
measurements with exact expectations."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from loopback import LoopbackServer, Reply, event_loop_runner  # noqa: F401 (fixture)

from govmon.browser_audits import CRASHED, NO_BROWSER_NOTICE, audit_site, load_browser_audits, pages_to_audit
from govmon.checks import page_render, page_slow, site_elderly, site_mobile
from govmon.checks.artifacts import BrowserPageObs, SiteArtifacts, TargetInfo
from govmon.checks.registry import run_checks
from govmon.config import Config
from govmon.crawler.browser import (
    NETWORK_PROFILES,
    BrowserPool,
    NoBrowserError,
    find_chromium,
    measure_page,
)
from govmon.models import Page, Scan, TargetSpec, sync_targets, utcnow

try:
    CHROMIUM: str | None = find_chromium()
except NoBrowserError:
    CHROMIUM = None
needs_browser = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine (Debian package chromium)")

GOOD_HEAD = '<meta name="viewport" content="width=device-width, initial-scale=1">'


def page(body: str, *, head: str = GOOD_HEAD, lang: str = "zh-CN", title: str = "测试") -> bytes:
    lang_attr = f' lang="{lang}"' if lang else ""
    return (f'<!DOCTYPE html><html{lang_attr}><head><meta charset="utf-8"><title>{title}</title>{head}</head>'
            f'<body style="margin:0">{body}</body></html>').encode()


@pytest.fixture(scope="module")
def pool(event_loop_runner):  # noqa: F811
    if CHROMIUM is None:
        pytest.skip("no Chromium on this machine (Debian package chromium)")
    browser_pool = BrowserPool(CHROMIUM)
    yield browser_pool
    event_loop_runner.run(browser_pool.close())


def measure(runner, pool: BrowserPool, url: str, **kwargs: Any):
    async def go():
        async with pool.context("t") as context:
            return await measure_page(context, url, page_type=kwargs.pop("page_type", "article"),
                                      profile=NETWORK_PROFILES[kwargs.pop("profile", "none")], **kwargs)
    return runner.run(go(), timeout=120)


# --- the gatherer -------------------------------------------------------------------------------


@needs_browser
def test_fast_page_three_loads_and_nothing_wrong(event_loop_runner, pool):  # noqa: F811
    with LoopbackServer({"/": Reply(body=page("<p>正常网页</p>"))}) as server:
        m = measure(event_loop_runner, pool, server.url("/"))
        assert server.count("/", "GET") == 3  # three loads, the cache off
    assert m.measured and len(m.loads_ms) == 3 and all(v is not None and v < 1000 for v in m.loads_ms)
    assert m.load_ms == sorted(m.loads_ms)[1]
    assert m.js_errors == [] and m.failed_resources == [] and m.overflows == []
    assert m.bytes is not None and m.bytes > 0 and m.ttfb_ms is not None


@needs_browser
def test_server_delay_is_the_load_time(event_loop_runner, pool):  # noqa: F811
    with LoopbackServer({"/slow": Reply(body=page("<p>慢</p>"), delay=1.2)}) as server:
        m = measure(event_loop_runner, pool, server.url("/slow"), loads=1)
    assert m.loads_ms[0] is not None and 1200 <= m.loads_ms[0] < 5000
    assert m.ttfb_ms is not None and m.ttfb_ms >= 1200


@needs_browser
def test_large_page_is_slow_only_under_the_mobile_profile(event_loop_runner, pool):  # noqa: F811
    big = page("<p>" + "政务公开" * 100_000 + "</p>")  # 1.2 MB: about 6 s at 1.6 Mbit/s
    with LoopbackServer({"/big": Reply(body=big)}) as server:
        plain = measure(event_loop_runner, pool, server.url("/big"), loads=1)
        mobile = measure(event_loop_runner, pool, server.url("/big"), loads=1, profile="mobile", timeout_s=30)
    assert plain.loads_ms[0] is not None and plain.loads_ms[0] < 3000
    assert mobile.profile == "mobile"
    assert mobile.loads_ms[0] is not None and mobile.loads_ms[0] >= 5000  # 1.2 MB × 8 / 1.6 Mbit/s = 6 s


@needs_browser
def test_a_load_past_the_time_limit_counts_as_the_limit(event_loop_runner, pool):  # noqa: F811
    with LoopbackServer({"/hang": Reply(body=page("<p>x</p>"), delay=3)}) as server:
        m = measure(event_loop_runner, pool, server.url("/hang"), loads=1, timeout_s=1)
    assert m.measured and m.loads_ms == [None] and m.load_ms == 1000 and m.timed_out == 1


@needs_browser
def test_rendering_problems_are_named(event_loop_runner, pool):  # noqa: F811
    body = ('<script>throw new Error("栏目脚本出错")</script>'
            '<img src="/missing.png" alt="图"><script src="/gone.js"></script>'
            '<div id="box" style="width:300px"><table class="wide" style="width:800px"><tr><td>表格</td></tr></table></div>'
            '<div class="scroll" style="width:300px;overflow-x:auto"><table id="fine" style="width:800px">'
            '<tr><td>可滚动</td></tr></table></div>'
            '<div id="cell" style="width:100px;white-space:nowrap">这是一段很长很长很长很长很长的文字</div>'
            '<p style="width:100px">会换行的文字会换行的文字会换行的文字</p>')
    with LoopbackServer({"/r": Reply(body=page(body)), "/missing.png": Reply(status=404, body=b"")}) as server:
        m = measure(event_loop_runner, pool, server.url("/r"), loads=1)
        assert len(m.js_errors) == 1 and "栏目脚本出错" in m.js_errors[0]
        assert sorted((r["type"], r["url"], r["error"]) for r in m.failed_resources) == [
            ("image", server.url("/missing.png"), "HTTP 404"), ("script", server.url("/gone.js"), "HTTP 404")]
    by_kind = {(o["kind"], o["element"]): o for o in m.overflows}
    assert set(by_kind) == {("table", "table.wide"), ("text", "div#cell")}  # the scrolling table and the wrapping text are fine
    assert by_kind[("table", "table.wide")]["path"] == "div#box > table"
    assert by_kind[("table", "table.wide")]["width"] == 800 and by_kind[("table", "table.wide")]["container"] == 300
    assert by_kind[("text", "div#cell")]["text"] == "这是一段很长很长很长很长很长的文字"


@needs_browser
def test_home_facts_viewport_phone_overflow_entry_and_axe(event_loop_runner, pool):  # noqa: F811
    bad = page('<div style="width:600px"><img src="/logo.png"><p style="color:#777;background:#888">低对比度文字</p>'
               '<input type="text" name="q"></div>', head="", lang="")
    good = page('<a href="/elder/">长者模式</a><img src="/logo.png" alt="示范县"><p>正文</p>'
                '<label>搜索 <input type="text" name="q"></label>')
    png = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")
    home_checks = {"entry_words": ["长者模式", "适老化", "无障碍", "关怀版"], "phone_width": 375}
    with LoopbackServer({"/bad": Reply(body=bad), "/good": Reply(body=good),
                         "/logo.png": Reply(body=png, content_type="image/png")}) as server:
        b = measure(event_loop_runner, pool, server.url("/bad"), loads=1, page_type="home", home_checks=home_checks)
        g = measure(event_loop_runner, pool, server.url("/good"), loads=1, page_type="home", home_checks=home_checks)
    assert b.home is not None and g.home is not None
    assert b.home["mobile"]["viewport_meta"] is None and b.home["mobile"]["overflow_px"] == 600 - 375
    assert g.home["mobile"]["viewport_meta"] == "width=device-width, initial-scale=1" and g.home["mobile"]["overflow_px"] == 0
    assert b.home["entry"] is None
    assert g.home["entry"] == {"word": "长者模式", "text": "长者模式", "href": "/elder/"}
    assert sorted(b.home["axe"]) == ["color-contrast", "html-has-lang", "image-alt", "label"]
    assert b.home["axe"]["image-alt"]["count"] == 1
    assert b.home["axe"]["color-contrast"]["elements"][0]["ratio"] < 4.5
    assert g.home["axe"] == {}


@needs_browser
def test_a_page_that_cannot_open_is_not_measured(event_loop_runner, pool):  # noqa: F811
    server = LoopbackServer({})
    url = server.url("/")
    server.close()
    m = measure(event_loop_runner, pool, url, loads=3)
    assert not m.measured and m.load_ms is None and m.reason.startswith("浏览器无法打开该网页：")


def _chromium_pids() -> list[int]:
    """Chromium processes started by this test process (through Playwright's driver)."""
    me = os.getpid()
    children: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            names[int(entry.name)] = (entry / "comm").read_text().strip()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], list(children.get(me, []))
    while todo:
        pid = todo.pop()
        if "chrom" in names.get(pid, ""):
            found.append(pid)
        todo.extend(children.get(pid, []))
    return found


@needs_browser
def test_crash_mid_page_is_not_measured_and_the_browser_restarts(event_loop_runner, session_factory):  # noqa: F811
    config = Config.from_mapping({"sites": [{"id": "s", "name": "测试站", "category": "county_portal",
                                             "url": "http://127.0.0.1/"}],
                                  "browser": {"loads": 1, "articles": 1}}, source="<test>")
    with LoopbackServer({"/": Reply(body=page("<p>首页</p>"), delay=2.0),
                         "/a1.html": Reply(body=page("<p>文章</p>"))}) as server:
        scan_id = _stored_scan(session_factory, [("home", server.url("/")), ("article", server.url("/a1.html"))])

        async def go():
            pool = BrowserPool(CHROMIUM)
            try:
                async def kill_soon():
                    while server.count("/") == 0:  # the home page is loading (its answer takes 2 s)
                        await asyncio.sleep(0.05)
                    for pid in _chromium_pids():
                        os.kill(pid, signal.SIGKILL)
                killer = asyncio.ensure_future(kill_soon())
                outcome = await audit_site(pool, config, session_factory, scan_id, config.sites[0])
                await killer
                return outcome, pool.launches
            finally:
                await pool.close()

        outcome, launches = event_loop_runner.run(go(), timeout=120)
    assert launches == 2 and outcome.measured == 1 and outcome.not_measured == 1
    with session_factory() as session:
        audits = load_browser_audits(session, scan_id)
    assert [(a.page_type, a.measured, a.reason) for a in audits] == [("home", False, CRASHED), ("article", True, None)]
    findings = page_slow.run(_artifacts(audits), SimpleNamespace(load_ms=1))
    assert [f.subject for f in findings] == [server.url("/a1.html")]  # the crashed page is never called slow


@needs_browser
def test_no_browser_skips_with_one_notice(event_loop_runner, session_factory):  # noqa: F811
    config = Config.from_mapping({"sites": [{"id": "s", "name": "测试站", "category": "county_portal",
                                             "url": "http://127.0.0.1/"}]}, source="<test>")
    scan_id = _stored_scan(session_factory, [("home", "http://127.0.0.9/")])

    async def go():
        pool = BrowserPool("/no/such/chromium")
        try:
            return await audit_site(pool, config, session_factory, scan_id, config.sites[0])
        finally:
            await pool.close()

    outcome = event_loop_runner.run(go(), timeout=60)
    assert outcome.notice == NO_BROWSER_NOTICE and outcome.measured == outcome.not_measured == 0
    with session_factory() as session:
        assert load_browser_audits(session, scan_id) is None
    judged = run_checks(_artifacts(None), config)
    for check_id in ("page.slow", "page.render", "site.mobile", "site.elderly"):
        assert judged.skipped[check_id] == "本次扫描未用浏览器检查（未找到浏览器或已停用）"


def _stored_scan(session_factory, pages: list[tuple[str, str]]) -> int:
    with session_factory.begin() as session:
        sync_targets(session, [TargetSpec(id="s", kind="site", name="测试站", organizer=None, category="county_portal",
                                          platform=None, url="http://127.0.0.1/")])
        scan = Scan(target_id="s", kind="site", status="running", started_at=utcnow(), as_of=utcnow())
        session.add(scan)
        session.flush()
        for kind, url in pages:
            session.add(Page(scan_id=scan.id, url=url, page_type=kind, status_code=200, content_type="text/html"))
        session.flush()
        return scan.id


def test_pages_to_audit_home_first_list_per_column_and_a_sample(session_factory):
    scan_id = _stored_scan(session_factory, [
        ("article", "http://h/a1"), ("home", "http://h/"), ("article", "http://h/a2"), ("article", "http://h/a3"),
    ])
    with session_factory.begin() as session:
        session.add(Page(scan_id=scan_id, url="http://h/broken", page_type="article", status_code=404))
        session.add(Page(scan_id=scan_id, url="http://h/file.pdf", page_type="article", status_code=200,
                         content_type="application/pdf"))
    with session_factory() as session:
        assert pages_to_audit(session, scan_id, 2) == [("http://h/", "home"), ("http://h/a1", "article"),
                                                      ("http://h/a2", "article")]
        assert pages_to_audit(session, scan_id, 0) == [("http://h/", "home")]


# --- the checks, on hand-made measurements ------------------------------------------------------------

AS_OF = dt.datetime(2026, 11, 28, 10, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def _artifacts(audits) -> SiteArtifacts:
    return SiteArtifacts(target=TargetInfo(id="s", name="测试站", organizer=None, category="county_portal",
                                           url="http://h/"), as_of=AS_OF, browser_audits=audits)


def _home(**kwargs: Any) -> BrowserPageObs:
    base: dict[str, Any] = dict(url="http://h/", page_type="home", load_ms=500, loads_ms=(480, 500, 520),
                                home_inspected=True, viewport_meta="width=device-width", phone_overflow_px=0,
                                phone_width=375, elderly_entry={"word": "长者模式", "text": "长者模式", "href": "/z/"},
                                axe={})
    base.update(kwargs)
    return BrowserPageObs(**base)


def test_page_slow_exact():
    audits = (
        _home(load_ms=3000, loads_ms=(2900, 3000, 3100)),  # at the limit: not slow
        BrowserPageObs(url="http://h/list/", page_type="list", load_ms=3001, loads_ms=(3001, 2000, 4000),
                       ttfb_ms=2800, lcp_ms=2950, bytes=120_000, profile="mobile", timeout_ms=15000),
        BrowserPageObs(url="http://h/a1", page_type="article", load_ms=15000, loads_ms=(None, None, 400), timeout_ms=15000),
        BrowserPageObs(url="http://h/a2", page_type="article", measured=False, reason=CRASHED),
    )
    findings = page_slow.run(_artifacts(audits), SimpleNamespace(load_ms=3000))
    assert [(f.subject, f.severity) for f in findings] == [("http://h/list/", "deduct"), ("http://h/a1", "deduct")]
    first = findings[0]
    assert first.message == ("栏目列表页加载用时 3001 毫秒，超过 3000 毫秒（3 次加载：3001、2000、4000 毫秒；"
                             "网络条件：移动网络（Lighthouse：往返 150 毫秒，下行 1.6 Mbps，上行 750 kbps））")
    assert first.evidence["loads_ms"] == [3001, 2000, 4000] and first.evidence["ttfb_ms"] == 2800
    assert first.evidence["lcp_ms"] == 2950 and first.evidence["bytes"] == 120_000
    assert "其中 2 次超过 15 秒仍未加载完成" in findings[1].message
    assert page_slow.scope(_artifacts(audits), None) == {"http://h/", "http://h/list/", "http://h/a1"}


def test_page_render_exact():
    audits = (
        _home(),
        BrowserPageObs(url="http://h/a1", page_type="article", js_errors=("TypeError: x is undefined",),
                       failed_resources=({"type": "image", "url": "http://h/p.png", "error": "HTTP 404"},),
                       overflows=({"kind": "table", "element": "table#t", "path": "div#m > table#t", "text": "表",
                                   "width": 900, "container": 600},)),
        BrowserPageObs(url="http://h/a2", page_type="article", measured=False, reason=CRASHED,
                       js_errors=("never judged",)),
    )
    findings = page_render.run(_artifacts(audits), None)
    assert [f.subject for f in findings] == ["http://h/a1"]
    assert findings[0].message == ("文章页显示有问题：1 个脚本错误（TypeError: x is undefined）；1 个文件加载失败"
                                   "（图片 http://h/p.png：HTTP 404）；1 个表格超出所在区域（div#m > table#t，宽 900 像素，区域 600 像素）")
    assert findings[0].evidence["overflows"][0]["path"] == "div#m > table#t"


def test_site_mobile_exact():
    assert site_mobile.run(_artifacts((_home(),)), None) == []
    no_meta = site_mobile.run(_artifacts((_home(viewport_meta=None, phone_overflow_px=233),)), None)
    assert [(f.subject, f.message) for f in no_meta] == [(
        "home", "首页未适配移动端：没有 viewport 设置（<meta name=\"viewport\">），手机上按电脑页面缩小显示；"
                "在 375 像素宽的手机屏幕上页面宽出 233 像素，需要左右滚动")]
    assert no_meta[0].evidence["scroll_width"] == 608
    # the home page not measured, or measured without the phone facts: not judged
    assert site_mobile.scope(_artifacts((_home(measured=False, reason=CRASHED, viewport_meta=None),)), None) == set()
    assert site_mobile.run(_artifacts((_home(home_inspected=False, viewport_meta=None),)), None) == []


def test_site_elderly_exact():
    settings = SimpleNamespace(entry_words=("长者模式", "适老化"), min_contrast=4.5)
    assert site_elderly.run(_artifacts((_home(),)), settings) == []
    axe = {"image-alt": {"count": 2, "help": "Images must have alternate text",
                         "elements": [{"element": "img.logo", "html": "<img>"}, {"element": "img.b", "html": "<img>"}]},
           "color-contrast": {"count": 2, "help": "contrast",
                              "elements": [{"element": "p.a", "html": "<p>", "ratio": 2.1},
                                           {"element": "p.b", "html": "<p>", "ratio": 4.2}]}}
    findings = site_elderly.run(_artifacts((_home(elderly_entry=None, axe=axe),)), settings)
    assert [(f.subject, f.message) for f in findings] == [
        ("entry", "首页没有适老化入口（未找到“长者模式”“适老化”字样的链接或按钮）"),
        ("accessibility", "首页存在无障碍问题：图片缺少替代文字 2 处；文字对比度不足 2 处"),
    ]
    # a lower contrast setting forgives the 4.2:1 text
    lenient = site_elderly.run(_artifacts((_home(axe=axe),)), SimpleNamespace(entry_words=("长者模式",), min_contrast=3.0))
    assert lenient[0].evidence["violations"]["color-contrast"]["count"] == 1
    only_contrast = {"color-contrast": {"count": 1, "help": "", "elements": [{"element": "p.b", "ratio": 4.2}]}}
    assert site_elderly.run(_artifacts((_home(axe=only_contrast),)), SimpleNamespace(entry_words=(), min_contrast=4.0)) == []


@needs_browser
def test_one_context_per_target_at_a_time(event_loop_runner):  # noqa: F811
    async def go(targets: list[str]) -> int:
        pool = BrowserPool(CHROMIUM, contexts=2)
        most = 0

        async def use(target: str) -> None:
            nonlocal most
            async with pool.context(target):
                most = max(most, pool.open_contexts)
                await asyncio.sleep(0.3)

        try:
            await asyncio.gather(*(use(t) for t in targets))
            assert pool.launches == 1 and pool.contexts_opened == len(targets)
            return most
        finally:
            await pool.close()

    assert event_loop_runner.run(go(["a", "a", "a"]), timeout=60) == 1  # the same target: one after another
    assert event_loop_runner.run(go(["a", "b", "c"]), timeout=60) == 2  # others: up to the pool's limit

"""The web console end to end: the demo province scanned for real, the console served on
loopback in the scan's own event loop, and the real Chromium (Playwright) driving it.

Runs on SQLite and PostgreSQL. Screenshots of the overview and a target page at 1366 and
375 px are written to /tmp/govmon-web-*.png (looked at by hand; the test checks that the
page itself never scrolls sideways — wide tables scroll inside their own box).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import os
import re
import socket
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import httpx
import pytest
from conftest import POSTGRES_ENV, POSTGRES_SKIP_REASON, _postgres_admin_engine
from loopback import event_loop_runner  # noqa: F401 (fixture)
from sqlalchemy import func, select, text

from govmon.config import Config
from govmon.crawler.accounts.browser_session import CHROMIUM_ARGS, NoBrowserError, find_chromium
from govmon.db import make_engine, migrate, normalize_url
from govmon.demo.run import serving_province
from govmon.demo.server import DemoResponse, DemoServer
from govmon.models import AuditEntry, Finding, Scan
from govmon.probes import probe_sites
from govmon.scan import scan_sites
from govmon.web import create_app, server
from govmon.web.auth import create_user

SHANGHAI = ZoneInfo("Asia/Shanghai")
PASSWORD = "correct-horse-9"
XSS_TITLE = "<script>alert(1)</script>"
SCREENSHOTS = "/tmp/govmon-web-{name}-{width}.png"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _xss_site() -> dict[str, DemoResponse]:
    """A site whose home page title is the text <script>alert(1)</script> (entity-escaped in its HTML)."""
    body = ("<html><head><title>&lt;script&gt;alert(1)&lt;/script&gt;</title></head><body>"
            "<h1>&lt;img src=x onerror=alert(2)&gt;</h1><ul><li><a href=\"/a.html\">新闻</a><span>2020-01-01</span></li></ul>"
            "<div class=\"footer\">主办单位：示范街道办事处</div></body></html>")
    return {"/": DemoResponse(body.encode()),
            "/a.html": DemoResponse("<html><head><title>新闻</title></head><body><h1>新闻</h1></body></html>".encode())}


@dataclass
class Console:
    base: str
    sessions: object
    province: object
    config: Config
    as_of: dt.datetime
    db_kind: str


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('web') / 'govmon.db'}"
        return
    base_url = os.environ.get(POSTGRES_ENV)
    if not base_url:
        pytest.skip(POSTGRES_SKIP_REASON)
    schema = f"govmon_web_{uuid.uuid4().hex[:12]}"
    admin = _postgres_admin_engine(base_url)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield normalize_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text("SET lock_timeout = '10s'"))
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="module")
def console(database: str, event_loop_runner) -> Iterator[Console]:  # noqa: F811
    from sqlalchemy.orm import sessionmaker

    as_of = dt.datetime.now(SHANGHAI)
    engine = make_engine(database)
    migrate(engine)
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    xss = DemoServer(["xss"], first_octet=120)
    xss.mount("xss", _xss_site())
    with xss, serving_province(as_of.date()) as province:
        mapping = dict(province.mapping)
        mapping["sites"] = [*mapping["sites"], {"id": "xss-street", "name": "示范街道办事处网站", "organizer": "示范街道办事处",
                                                "category": "department_channel", "url": xss.base_urls["xss"] + "/"}]
        config = Config.from_mapping(mapping, source="<测试配置>")
        sites = list(config.sites)
        # A few availability probe rounds over the last days (the target page's chart), then the scan.
        for hours in (72, 48, 24, 1):
            event_loop_runner.run(probe_sites(config, sessions, sites, now=as_of - dt.timedelta(hours=hours)), timeout=60)
        event_loop_runner.run(scan_sites(config, sessions, sites, as_of=as_of), timeout=400)
        with sessions.begin() as session:
            create_user(session, "admin", "admin", PASSWORD, actor="test")
            create_user(session, "op", "operator", PASSWORD, actor="test")
            create_user(session, "viewer", "viewer", PASSWORD, actor="test")
        app = create_app(config, sessions)
        port = _free_port()
        uvicorn_server = server(app, host="127.0.0.1", port=port)
        running = asyncio.run_coroutine_threadsafe(uvicorn_server.serve(), event_loop_runner.loop)
        for _ in range(200):
            if uvicorn_server.started:
                break
            if running.done():
                running.result()
            event_loop_runner.run(asyncio.sleep(0.05))
        try:
            yield Console(f"http://127.0.0.1:{port}", sessions, province, config, as_of,
                          engine.dialect.name)
        finally:
            uvicorn_server.should_exit = True
            running.result(timeout=90)  # rescans in flight stop through their crawls first (up to 30 s)
            engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    try:
        executable = find_chromium()
    except NoBrowserError as err:
        pytest.skip(str(err))
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))
        try:
            yield chromium
        finally:
            chromium.close()


def login(browser, console: Console, name: str, *, width: int = 1366, height: int = 900):
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", accept_downloads=True)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs  # type: ignore[attr-defined]
    page.goto(console.base + "/")
    assert "/login" in page.url  # nothing readable without logging in
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert page.url == console.base + "/"
    return context, page


def no_sideways_scroll(page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the window"


def api_token(console: Console, name: str) -> str:
    from govmon.models import User
    from govmon.web.auth import issue_token

    with console.sessions.begin() as session:
        user = session.scalar(select(User).where(User.name == name))
        secret, _ = issue_token(session, user, "api", name="test")
    return secret


def open_findings(console: Console, **where: str) -> list[Finding]:
    with console.sessions() as session:
        stmt = select(Finding).where(Finding.status == "open")
        for key, value in where.items():
            stmt = stmt.where(getattr(Finding, key) == value)
        return list(session.scalars(stmt))


# --------------------------------------------------------------------------- the tests


def test_nothing_is_readable_without_logging_in(console: Console) -> None:
    with httpx.Client(base_url=console.base) as client:
        for path in ("/", "/sites", "/findings", "/targets/shifan-county", "/reports/download?format=xlsx"):
            response = client.get(path)
            assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")
        for path in ("/api/findings", "/api/overview", "/api/targets/shifan-county", "/api/reports/2026Q1"):
            assert client.get(path).status_code == 401
        assert client.get("/api/findings", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert client.get("/openapi.json").json()["info"]["title"] == "govmon 控制台 API"


def test_overview_shows_this_quarters_rates_and_open_vetoes(console: Console, browser) -> None:
    context, page = login(browser, console, "viewer")
    try:
        assert page.title().startswith("总览")
        vetoes = len(open_findings(console, severity="veto"))
        assert page.inner_text("#open-vetoes") == str(vetoes)
        rows = page.locator("#rates tbody tr").all_inner_texts()
        county = next(r for r in rows if r.startswith("县区门户"))
        # shifan-county fails (date_order veto), shifan-district passes: 1 of 2 checked county portals
        assert county.split("\t") == ["县区门户", "2", "1", "1", "0", "50%"]
        assert page.locator("#vetoes tbody tr").count() == min(vetoes, 20)
        assert page.locator("svg.chart").count() == 2
        no_sideways_scroll(page)
        for width in (1366, 375):
            page.set_viewport_size({"width": width, "height": 900})
            no_sideways_scroll(page)
            page.screenshot(path=SCREENSHOTS.format(name=f"overview-{console.db_kind}", width=width), full_page=True)
    finally:
        context.close()


def test_flagged_site_shows_its_evidence(console: Console, browser) -> None:
    context, page = login(browser, console, "viewer")
    try:
        page.click("nav.main >> text=网站")
        page.click("#targets >> text=示范县人民政府门户网站")
        page.wait_for_load_state()
        assert page.inner_text("#target-name") == "示范县人民政府门户网站"
        base = console.province.server.base_urls["shifan-county"]
        finding = open_findings(console, target_id="shifan-county", check_id="content.date_order")[0]
        card = page.locator(f"#finding-{finding.id}")
        evidence = card.locator("table.evidence").inner_text()
        published = (console.as_of.date() - dt.timedelta(days=20)).isoformat()
        written = (console.as_of.date() - dt.timedelta(days=18)).isoformat()
        assert f"发布日期\t{published}" in evidence and f"成文日期\t{written}" in evidence
        link = card.locator("header + p.meta + p a.url")
        assert link.get_attribute("href") == base + "/zcwj/202305/t1042.html"
        assert link.get_attribute("rel") == "noopener noreferrer" and link.get_attribute("target") == "_blank"
        broken = open_findings(console, target_id="shifan-county", check_id="links.broken")[0]
        assert "状态码\t404" in page.locator(f"#finding-{broken.id} table.evidence").inner_text()
        # the probe history chart: one point per stored probe of the last 7 days
        assert page.locator("svg.chart circle").count() == 4
        assert page.locator("#scans tbody tr").count() >= 1
        assert page.locator("#load-times tbody tr").count() >= 1  # the browser's load times of the last scan
        page.goto(console.base + "/targets/shifan-water")
        slow = page.locator("#load-times tbody tr").first.inner_text()  # slowest first: the planted slow list
        assert console.province.server.base_urls["shifan-water"] + "/tzgg/" in slow and "栏目列表页" in slow
        assert int(slow.split("\t")[2].split()[0]) >= 3300
        page.goto(console.base + "/targets/shifan-county")
        for width in (1366, 375):
            page.set_viewport_size({"width": width, "height": 900})
            no_sideways_scroll(page)
            page.screenshot(path=SCREENSHOTS.format(name=f"target-{console.db_kind}", width=width), full_page=True)
        assert page.dialogs == []
    finally:
        context.close()


def test_rescan_runs_the_scan_and_shows_the_result(console: Console, browser) -> None:
    broken = open_findings(console, target_id="shifan-county", check_id="links.broken")
    assert len(broken) == 1
    with console.sessions() as session:
        scans_before = session.scalar(select(func.count()).select_from(Scan).where(Scan.target_id == "shifan-county"))
    # the county fixes its broken link; the operator asks for a rescan
    console.province.server.sites["shifan-county"]["/zt/2019/index.html"] = DemoResponse("<h1>专题</h1>".encode())
    context, page = login(browser, console, "op")
    try:
        page.goto(console.base + "/targets/shifan-county")
        page.click("#rescan")
        page.wait_for_selector("#rescan-result", timeout=120_000)
        result = page.inner_text("#rescan-result")
        assert "重新检查已完成" in result and "扫描完成" in result and "已解决 1 个" in result and "新发现 0 个" in result
        assert page.inner_text(f"#finding-{broken[0].id} header .st") == "已解决"
        assert page.locator("#scans tbody tr").count() == scans_before + 1
    finally:
        context.close()
    with console.sessions() as session:
        assert session.scalar(select(Finding.status).where(Finding.id == broken[0].id)) == "resolved"
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "target.rescan")).one()
        assert (entry.username, entry.object_id) == ("op", "shifan-county")


def _report_finding_ids(console: Console, page) -> set[str]:
    """The 问题明细 of this quarter's xlsx as downloaded through the page: (target, check title) pairs."""
    import openpyxl

    page.goto(console.base + "/reports")
    with page.expect_download() as download:
        page.click("#dl-xlsx")
    book = openpyxl.load_workbook(io.BytesIO(open(download.value.path(), "rb").read()))
    sheet = next(ws for ws in book.worksheets if ws.title == "问题明细")
    rows = list(sheet.iter_rows(values_only=True))
    start = next(i for i, row in enumerate(rows) if "对象名称" in row)  # under the sheet's title line
    name, url = rows[start].index("对象名称"), rows[start].index("证据网址")
    return {f"{row[name]}|{row[url]}" for row in rows[start + 1 :] if row[name]}


def test_dismissed_finding_is_gone_from_the_report(console: Console, browser) -> None:
    mismatch = open_findings(console, check_id="content.title_mismatch")[0]
    key = f"示范市水务局|{mismatch.url}"
    context, page = login(browser, console, "op")
    try:
        assert key in _report_finding_ids(console, page)
        page.goto(console.base + "/findings?check=content.title_mismatch")
        row = page.locator(f"#finding-{mismatch.id}")
        row.locator("summary").click()
        row.locator("input[name=reason]").fill("列表标题为栏目编辑所加，内容一致")
        row.locator("button[type=submit]").click()
        page.wait_for_load_state()
        assert page.locator(f"#finding-{mismatch.id}").count() == 0  # gone from the open findings
        assert key not in _report_finding_ids(console, page)
        page.goto(console.base + f"/targets/shifan-water#finding-{mismatch.id}")
        assert "op 于" in page.inner_text(f"#finding-{mismatch.id} .meta")
    finally:
        context.close()
    with console.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "finding.dismiss")).one()
        assert (entry.username, entry.object_id, entry.detail["reason"]) == (
            "op", str(mismatch.id), "列表标题为栏目编辑所加，内容一致")


def test_every_report_format_downloads_and_opens(console: Console, browser) -> None:
    import docx
    import openpyxl

    quarter = f"{console.as_of.year}Q{(console.as_of.month - 1) // 3 + 1}"
    context, page = login(browser, console, "op")
    files = {}
    try:
        page.goto(console.base + "/reports")
        for fmt in ("xlsx", "docx", "csv", "html", "json"):
            with page.expect_download() as download:
                page.click(f"#dl-{fmt}")
            files[fmt] = (download.value.suggested_filename, open(download.value.path(), "rb").read())
    finally:
        context.close()
    assert {fmt: name for fmt, (name, _) in files.items()} == {
        "xlsx": f"govmon-{quarter}.xlsx", "docx": f"govmon-{quarter}.docx", "csv": f"govmon-{quarter}.zip",
        "html": f"govmon-{quarter}.html", "json": f"govmon-{quarter}.json"}
    book = openpyxl.load_workbook(io.BytesIO(files["xlsx"][1]))
    assert "问题明细" in book.sheetnames
    document = docx.Document(io.BytesIO(files["docx"][1]))
    assert any("季度" in p.text for p in document.paragraphs)
    with zipfile.ZipFile(io.BytesIO(files["csv"][1])) as bundle:
        names = sorted(bundle.namelist())
        assert names == sorted([f"govmon-{quarter}.csv", f"govmon-{quarter}_合格率.csv", f"govmon-{quarter}_问题明细.csv"])
        rates = bundle.read(f"govmon-{quarter}_合格率.csv").decode("utf-8-sig")
        assert rates.splitlines()[0] == "类别,检查总数,合格,不合格,未检查,合格率"
    assert "<html" in files["html"][1].decode("utf-8")
    data = json.loads(files["json"][1])
    assert data["period"]["label"] == quarter and data["rates"]["county_portal"]["text"] == "50%"


def test_viewer_cannot_rescan_or_dismiss(console: Console, browser) -> None:
    finding = open_findings(console, check_id="column.empty")[0]
    context, page = login(browser, console, "viewer")
    try:
        page.goto(console.base + "/targets/shifan-water")
        assert page.locator("#rescan").count() == 0
        assert page.locator("details.dismiss").count() == 0
        # even a hand-made form post with the viewer's own valid CSRF token is refused
        csrf = page.locator("form.who input[name=csrf_token]").get_attribute("value")
        cookies = {c["name"]: c["value"] for c in context.cookies()}
    finally:
        context.close()
    with httpx.Client(base_url=console.base, cookies=cookies) as client:
        response = client.post(f"/findings/{finding.id}/dismiss", data={"reason": "试试", "csrf_token": csrf})
        assert response.status_code == 403
        assert client.post("/targets/shifan-water/rescan", data={"csrf_token": csrf}).status_code == 403
        assert client.get("/reports/download?format=xlsx").status_code == 403
    token = api_token(console, "viewer")
    with httpx.Client(base_url=console.base, headers={"Authorization": f"Bearer {token}"}) as client:
        assert client.get("/api/me").json() == {"name": "viewer", "role": "viewer", "permissions": ["read"]}
        response = client.post(f"/api/findings/{finding.id}/dismiss", json={"reason": "试试"})
        assert response.status_code == 403 and "只读用户" in response.json()["detail"]
        assert client.post("/api/targets/shifan-water/rescan").status_code == 403
        assert client.get("/api/reports/2026Q1?format=json").status_code == 403
    assert open_findings(console, check_id="column.empty")[0].status == "open"


def test_scraped_script_title_renders_as_text(console: Console, browser) -> None:
    context, page = login(browser, console, "viewer")
    try:
        page.goto(console.base + "/targets/xss-street")
        assert XSS_TITLE in page.locator("#slow-pages").inner_text()
        assert page.locator("#slow-pages script").count() == 0
        assert page.locator("main script, main img").count() == 0
        page.wait_for_timeout(300)
        assert page.dialogs == []
    finally:
        context.close()
    with httpx.Client(base_url=console.base, headers={"Authorization": f"Bearer {api_token(console, 'viewer')}"}) as c:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" not in c.get("/api/targets/xss-street").text  # JSON is not HTML


def test_api_tokens_pull_findings(console: Console, browser) -> None:
    context, page = login(browser, console, "admin")
    try:
        page.goto(console.base + "/tokens")
        page.fill("input[name=name]", "省平台")
        page.click("form.filters button[type=submit]")
        token = page.inner_text("#new-token")
    finally:
        context.close()
    with httpx.Client(base_url=console.base, headers={"Authorization": f"Bearer {token}"}) as client:
        data = client.get("/api/findings", params={"status": "all", "per_page": 1000}).json()
        with console.sessions() as session:
            assert data["total"] == session.scalar(select(func.count()).select_from(Finding))
        first = data["items"][0]
        assert set(first) == {"id", "target", "target_id", "kind", "organizer", "category", "check", "severity",
                              "message", "url", "evidence", "first_seen", "last_seen", "status"}
        county = client.get("/api/targets/shifan-county").json()
        assert county["target"]["name"] == "示范县人民政府门户网站"
        assert len(county["probes"]) == 4


def test_changes_need_the_csrf_token(console: Console, browser) -> None:
    finding = open_findings(console, check_id="site.identifiers")[0]
    context, page = login(browser, console, "op")
    try:
        cookies = {c["name"]: c["value"] for c in context.cookies()}
        for cookie in context.cookies():
            assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    finally:
        context.close()
    with httpx.Client(base_url=console.base, cookies=cookies) as client:
        assert client.post(f"/findings/{finding.id}/dismiss", data={"reason": "x"}).status_code == 403
        assert client.post(f"/findings/{finding.id}/dismiss", data={"reason": "x", "csrf_token": "0" * 64}).status_code == 403
        assert client.post(f"/api/findings/{finding.id}/dismiss", json={"reason": "x"}).status_code == 403
    assert open_findings(console, check_id="site.identifiers")[0].status == "open"


def test_login_is_rate_limited(console: Console) -> None:
    with httpx.Client(base_url=console.base) as client:
        def attempt(password: str) -> httpx.Response:
            page = client.get("/login")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
            return client.post("/login", data={"username": "admin", "password": password, "csrf_token": csrf})

        assert [attempt("wrong").status_code for _ in range(5)] == [401] * 5
        locked = attempt(PASSWORD)
        assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    with console.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "login.failed", AuditEntry.object_id == "admin")) == 5


def test_feedback_import_and_handling_rate(console: Console, browser, tmp_path) -> None:
    today = console.as_of.date()
    quarter_start = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    rows = [
        ("收到时间", "网站", "留言内容", "办理期限", "办结时间"),
        (quarter_start, "示范市水务局", "栏目链接打不开", quarter_start + dt.timedelta(days=5), quarter_start + dt.timedelta(days=3)),
        (quarter_start, "示范县人民政府门户网站", "<b>页面</b>错别字", quarter_start + dt.timedelta(days=5), quarter_start + dt.timedelta(days=9)),
        (quarter_start + dt.timedelta(days=1), "示范市教育局信息公开专栏", "附件无法下载", quarter_start + dt.timedelta(days=6), ""),
        (quarter_start + dt.timedelta(days=1), "示范区人民政府门户网站", "咨询无回复", quarter_start + dt.timedelta(days=6), quarter_start + dt.timedelta(days=6)),
    ]
    upload = tmp_path / "找错留言.csv"
    upload.write_text("\n".join(",".join(str(c) for c in row) for row in rows), encoding="utf-8")
    context, page = login(browser, console, "op")
    try:
        page.goto(console.base + "/feedback")
        page.set_input_files("input[type=file]", str(upload))
        page.click("form[action='/feedback/import'] button[type=submit]")
        page.wait_for_load_state()
        assert page.locator("p.notice").count() == 1, page.inner_text("main")
        assert "共 4 条，新增 4 条，更新 0 条" in page.inner_text("p.notice")
        assert page.inner_text("#feedback-rate") == "50%"  # 2 of 4 handled by their deadline
        assert page.locator("#feedback tbody tr").count() == 4
        assert "<b>页面</b>错别字" in page.inner_text("#feedback")  # shown as text
    finally:
        context.close()


def test_schemathesis_finds_no_server_errors(console: Console, tmp_path) -> None:
    """Property-based calls of every API operation (as an admin, so none stops at 403): no 5xx.

    Last in this module: it may dismiss findings with generated reasons.
    """
    import subprocess
    import sys
    from pathlib import Path

    token = api_token(console, "admin")
    schemathesis = str(Path(sys.executable).with_name("schemathesis"))
    result = subprocess.run(
        [schemathesis, "run", console.base + "/openapi.json", "-H", f"Authorization: Bearer {token}",
         "--checks", "not_a_server_error", "--max-examples", "25", "--seed", "20261128",
         "--request-timeout", "60", "--generation-allow-x00", "true"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,  # its example cache stays out of the tree
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"Tested: 10\b", result.stdout), result.stdout[-3000:]
    generated = re.search(r"(\d+) generated, (\d+) passed", result.stdout)
    assert generated and generated[1] == generated[2] and int(generated[1]) > 100, result.stdout[-3000:]

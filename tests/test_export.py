"""Exports of the quarterly rollup, reopened and read back (openpyxl, csv, json)."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker
from test_rollup import add_finding, add_target, build_worked_example

from govmon.config import Config
from govmon.export import write_report
from govmon.findings import parse_quarter
from govmon.rollup import Rollup, build_rollup

TZ = ZoneInfo("Asia/Shanghai")
GOVMON = str(Path(sys.executable).with_name("govmon"))
HOSTILE = '=HYPERLINK("http://x","y")'
SCRIPT = "<script>alert(1)</script>"


def add_hostile(session: Session) -> None:
    add_target(session, "evil", "-2+3 县门户", category="county_portal", organizer="@某单位")
    session.flush()
    add_finding(session, "evil", "content.title_mismatch", "veto", subject="http://evil/1",
                message=HOSTILE, url="http://evil/1")
    add_finding(session, "evil", "content.serious_error", "veto", subject="http://evil/2",
                message=SCRIPT, url="http://evil/2?a=<b>")


@pytest.fixture
def rollup(session_factory: sessionmaker[Session]) -> Rollup:
    with session_factory.begin() as session:
        build_worked_example(session)
        add_hostile(session)
    with session_factory() as session:
        return build_rollup(session, Config.from_mapping({}), parse_quarter("2023Q2", TZ))


def test_xlsx_sheets_annexes_and_print_setup(rollup: Rollup, tmp_path: Path) -> None:
    [path] = write_report(rollup, "xlsx", tmp_path / "2023Q2.xlsx", TZ)
    book = load_workbook(path)
    assert book.sheetnames == ["汇总", "附件1", "附件2", "问题明细"]

    summary = book["汇总"]
    values = [tuple(row) for row in summary.iter_rows(values_only=True)]
    assert values[0][0] == "2023年第二季度全市政府网站与政务新媒体检查情况汇总"
    assert values[1][0] == "检查采样时间：2023年4月1日至6月30日"
    rates = {row[0]: row for row in values if row and row[0] in ("县区门户", "政务新媒体", "政府网站合计")}
    assert rates["县区门户"][1:] == (12, 10, 2, 0, "83%")  # the hostile portal fails too
    assert rates["政务新媒体"][1:] == (241, 240, 1, 0, "99.5%")

    annex1 = book["附件1"]
    assert annex1["A4"].value == "序号" and annex1["D4"].value == "存在的突出问题"
    assert annex1["B4"].value == "网站名称"
    assert annex1.freeze_panes == "A5"
    assert annex1.print_title_rows == "$4:$4"
    rows = list(annex1.iter_rows(min_row=5, values_only=True))
    names = [r[1] for r in rows]
    assert set(names) == {"廉江市政府门户网站", "湛江农业信息港", "-2+3 县门户"}
    assert [r[0] for r in rows] == [1, 2, 3]
    assert annex1["A3"].value == "检查采样时间：2023年4月1日至6月30日"
    lianjiang = next(r for r in rows if r[1] == "廉江市政府门户网站")
    assert lianjiang[2] == "廉江市政府"
    assert "内容发布审核不严" in lianjiang[3]

    annex2 = book["附件2"]
    assert annex2["B4"].value == "政务新媒体名称"
    rows = {r[1]: r for r in annex2.iter_rows(min_row=5, values_only=True)}
    assert rows["湛江禁毒"][2:] == ("湛江市禁毒委员会办公室", "存在严重表述错误")
    assert rows["魅力霞山"][2:] == ("霞山区政府", "监测时间点前1周内无更新")

    detail = book["问题明细"]
    assert detail.page_setup.orientation == "landscape"
    assert detail.sheet_properties.pageSetUpPr.fitToPage
    assert detail.page_setup.fitToWidth == 1
    assert detail.freeze_panes == "A3"
    assert detail.column_dimensions["H"].width > 20
    header = [c.value for c in detail[2]]
    assert header[:9] == ["序号", "对象名称", "对象类型", "主办单位", "类别", "检查项", "性质", "问题描述", "证据网址"]
    body = list(detail.iter_rows(min_row=3))
    assert len(body) == 8
    messages = {row[7].value: row for row in body}
    hostile = messages[HOSTILE]
    assert hostile[7].data_type == "s"  # text, not a formula
    assert hostile[7].quotePrefix
    assert hostile[1].value == "-2+3 县门户" and hostile[1].data_type == "s"
    assert hostile[3].value == "@某单位" and hostile[3].data_type == "s"
    assert hostile[8].value == "http://evil/1"
    assert hostile[9].value.startswith("2023-05-12 09:30")
    assert hostile[11].value == "未解决"
    assert messages[SCRIPT][8].value == "http://evil/2?a=<b>"
    # no cell anywhere is a formula
    for sheet in book:
        for row in sheet.iter_rows():
            assert all(cell.data_type != "f" for cell in row)


def test_csv_cells_are_inert(rollup: Rollup, tmp_path: Path) -> None:
    paths = write_report(rollup, "csv", tmp_path / "report.csv", TZ)
    assert [p.name for p in paths] == ["report.csv", "report_合格率.csv", "report_问题明细.csv"]
    with paths[0].open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:6] == ["序号", "名称", "对象类型", "主办单位", "类别", "检查结论"]
    evil = next(r for r in rows if "县门户" in r[1])
    assert evil[1] == "'-2+3 县门户"
    assert evil[3] == "'@某单位"
    assert evil[5] == "不合格"
    with paths[1].open(encoding="utf-8-sig", newline="") as handle:
        rates = {r[0]: r for r in csv.reader(handle)}
    assert rates["政务新媒体"][5] == "99.5%"
    with paths[2].open(encoding="utf-8-sig", newline="") as handle:
        findings = list(csv.reader(handle))
    assert any(r[7] == "'" + HOSTILE for r in findings)
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in findings[1:] for cell in r)


def test_json_has_rollup_and_findings(rollup: Rollup, tmp_path: Path) -> None:
    [path] = write_report(rollup, "json", tmp_path / "r.json", TZ)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["period"]["sampling"] == "2023年4月1日至6月30日"
    assert data["rates"]["new_media"] == {
        "label": "政务新媒体", "passed": 240, "failed": 1, "total": 241, "unchecked": 0,
        "rate": "240/241", "text": "99.5%",
    }
    assert {v["target"] for v in data["annex2"]} == {"湛江禁毒", "魅力霞山"}
    assert len(data["findings"]) == 8
    first = data["findings"][0]
    assert set(first) >= {"target", "target_id", "kind", "organizer", "category", "check", "severity", "message",
                          "url", "evidence", "first_seen", "last_seen", "status"}
    assert any(f["message"] == HOSTILE for f in data["findings"])


def test_report_command(db_url: str, session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    with session_factory.begin() as session:
        build_worked_example(session)
    config = tmp_path / "config.yaml"
    config.write_text("timezone: Asia/Shanghai\n", encoding="utf-8")
    out = tmp_path / "out" / "2023Q2.xlsx"
    run = subprocess.run([GOVMON, "report", "--quarter", "2023Q2", "--format", "xlsx", "--out", str(out),
                          "--config", str(config), "--db", db_url], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert "政务新媒体 99.5%" in run.stdout
    assert "县区门户 91%" in run.stdout
    assert load_workbook(out)["附件2"]["B5"].value in ("湛江禁毒", "魅力霞山")

    out_json = tmp_path / "range.json"
    run = subprocess.run([GOVMON, "report", "--from", "2023-04-01", "--to", "2023-06-30", "--format", "json",
                          "--out", str(out_json), "--config", str(config), "--db", db_url],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert json.loads(out_json.read_text(encoding="utf-8"))["rates"]["websites"]["text"] == "96%"

    for args in (["--quarter", "2023Q5"], ["--quarter", "2023Q2", "--format", "pdf"], ["--quarter", "2023Q2"],
                 ["--from", "2023-04-01"], ["--quarter", "2023Q2", "--from", "2023-04-01", "--to", "2023-05-01"]):
        if "--format" not in args:
            args = [*args, "--format", "xlsx"]
        if "--out" not in args and args != ["--quarter", "2023Q2", "--format", "xlsx"]:
            args = [*args, "--out", str(tmp_path / "x.xlsx")]
        run = subprocess.run([GOVMON, "report", *args, "--config", str(config), "--db", db_url],
                             capture_output=True, text=True, check=False)
        assert run.returncode == 2, (args, run.stdout, run.stderr)
        assert run.stderr.strip()


def test_docx_notice_draft(rollup: Rollup, tmp_path: Path) -> None:
    from docx import Document

    [path] = write_report(rollup, "docx", tmp_path / "notice.docx", TZ)
    document = Document(str(path))
    text = [p.text for p in document.paragraphs]
    assert text[0] == "关于2023年第二季度全市政府网站与政务新媒体检查情况的通报"
    body = "\n".join(text)
    assert "检查采样时间：2023年4月1日至6月30日" in body
    for heading in ("一、总体情况", "二、存在的问题", "三、工作要求", "附件1", "附件2"):
        assert heading in text
    overview = next(t for t in text if t.startswith("本次共检查政府网站"))
    assert "政府网站49个，总体合格率为94%" in overview  # 46 of 48 plus the hostile failing portal
    assert "县（市、区）政府门户网站12个，合格率为83%" in overview
    assert "市直部门独立站点6个，合格率为83%" in overview
    assert "市直部门子频道31个，合格率为100%" in overview
    assert "政务新媒体241个，合格率为99.5%" in overview
    problems = next(t for t in text if t.startswith("（一）政府网站方面"))
    assert "廉江市政府门户网站" in problems and "湛江农业信息港" in problems
    media = next(t for t in text if t.startswith("（二）政务新媒体方面"))
    assert "湛江禁毒检查不合格" in media
    assert "魅力霞山（监测时间点前1周内无更新）" in media
    assert "【请填写：整改期限" in body and "【请填写：发文单位】" in body
    assert "找错" in body

    annex1, annex2 = document.tables
    assert [c.text for c in annex1.rows[0].cells] == ["序号", "网站名称", "主办单位", "存在的突出问题"]
    rows1 = [[c.text for c in row.cells] for row in annex1.rows[1:]]
    assert {r[1] for r in rows1} == {"廉江市政府门户网站", "湛江农业信息港", "-2+3 县门户"}
    assert ["1", "2", "3"] == [r[0] for r in rows1]
    assert [c.text for c in annex2.rows[0].cells] == ["序号", "政务新媒体名称", "主办单位", "存在的突出问题"]
    rows2 = {row.cells[1].text: [c.text for c in row.cells] for row in annex2.rows[1:]}
    assert rows2["湛江禁毒"][2:] == ["湛江市禁毒委员会办公室", "存在严重表述错误"]
    assert rows2["魅力霞山"][2:] == ["霞山区政府", "监测时间点前1周内无更新"]


def test_html_is_self_contained_and_escaped(rollup: Rollup, tmp_path: Path) -> None:
    import re

    [path] = write_report(rollup, "html", tmp_path / "r.html", TZ)
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "<td>政务新媒体</td>" in page and "<td>99.5%</td>" in page
    # a scraped <script> stays text; only the page's own script element exists
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert SCRIPT not in page
    assert page.count("<script") == 1
    assert "http://evil/2?a=&lt;b&gt;" in page
    assert "=HYPERLINK(&quot;http://x&quot;,&quot;y&quot;)" in page
    # nothing is loaded from anywhere
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    # the charts: one bar per check with findings, one column group per week
    assert page.count("<svg") == 2
    assert "<title>account.serious_error</title>" in page
    assert page.count('text-anchor="middle" transform="rotate') == 13  # 13 weeks in 2023Q2
    for name in ("廉江市政府门户网站", "湛江农业信息港", "湛江禁毒", "魅力霞山"):
        assert name in page


@pytest.mark.skipif(not (shutil.which("chromium") or shutil.which("chromium-browser")), reason="no Chromium")
def test_html_loads_in_headless_chromium_without_console_errors(rollup: Rollup, tmp_path: Path) -> None:
    [path] = write_report(rollup, "html", tmp_path / "r.html", TZ)
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    run = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
         "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
    assert 'data-ready="1"' in run.stdout  # the page's own script ran (its CSP hash is right)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in run.stdout

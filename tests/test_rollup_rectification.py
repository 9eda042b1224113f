"""整改: each flagged target's state against the deadline, and the overdue listing."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker
from test_rollup import add_finding, add_target, at

from govmon.config import Config
from govmon.export import write_report
from govmon.findings import parse_quarter
from govmon.rollup import build_rollup

TZ = ZoneInfo("Asia/Shanghai")
GOVMON = str(Path(sys.executable).with_name("govmon"))


def build(session: Session) -> None:
    for name in ("done", "late", "open", "clean", "notice-only"):
        add_target(session, name, f"网站-{name}", category="county_portal")
    add_target(session, "acct", "账号", kind="account")
    session.flush()
    add_finding(session, "done", "site.unreachable", "veto", last_seen=at(6, 1), status="resolved",
                resolved_at=at(7, 20))
    add_finding(session, "late", "column.stale", "deduct", last_seen=at(6, 1), status="resolved",
                resolved_at=dt.datetime(2023, 8, 1, 0, 30, tzinfo=TZ))
    add_finding(session, "open", "site.homepage_stale", "veto")
    add_finding(session, "open", "column.stale", "deduct", subject="b", status="resolved", resolved_at=at(6, 2))
    add_finding(session, "notice-only", "content.undated", "notice")
    add_finding(session, "acct", "account.stale", "deduct")


def test_states_against_the_deadline(session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    with session_factory.begin() as session:
        build(session)
    config = Config.from_mapping({})
    period = parse_quarter("2023Q2", TZ)
    with session_factory() as session:
        before = build_rollup(session, config, period, deadline=dt.date(2023, 7, 31),
                              now=dt.datetime(2023, 7, 25, tzinfo=TZ))
        after = build_rollup(session, config, period, deadline=dt.date(2023, 7, 31),
                             now=dt.datetime(2023, 8, 2, tzinfo=TZ))
        plain = build_rollup(session, config, period)
    assert plain.rectification is None and plain.overdue == []
    states = {r.verdict.target_id: (r.state, r.open_count) for r in before.rectification}
    assert states == {"done": ("已整改", 0), "late": ("逾期整改", 0), "open": ("整改中", 1), "acct": ("整改中", 1)}
    assert [r.verdict.target_id for r in before.overdue] == ["late"]
    states = {r.verdict.target_id: r.state for r in after.rectification}
    assert states["open"] == "逾期未整改" and states["acct"] == "逾期未整改"
    assert [r.state for r in after.rectification][:2] == ["逾期未整改", "逾期未整改"]  # overdue first
    assert {r.verdict.target_id for r in after.overdue} == {"open", "acct", "late"}

    tmp = tmp_path
    [xlsx] = write_report(after, "xlsx", tmp / "r.xlsx", TZ)
    sheet = load_workbook(xlsx)["整改情况"]
    assert [c.value for c in sheet[2]][:7] == ["序号", "名称", "对象类型", "主办单位", "存在的突出问题", "整改期限", "整改状态"]
    assert {row[6] for row in sheet.iter_rows(min_row=3, values_only=True)} == {"逾期未整改", "逾期整改", "已整改"}
    [docx] = write_report(after, "docx", tmp / "n.docx", TZ)
    from docx import Document

    assert any("于2023年7月31日前完成整改" in p.text for p in Document(str(docx)).paragraphs)
    paths = write_report(after, "csv", tmp / "r.csv", TZ)
    assert paths[-1].name == "r_整改情况.csv"
    [html] = write_report(after, "html", tmp / "r.html", TZ)
    assert "逾期 3 个" in html.read_text(encoding="utf-8")


def test_report_deadline_option(db_url: str, session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    with session_factory.begin() as session:
        build(session)
    config = tmp_path / "config.yaml"
    config.write_text("timezone: Asia/Shanghai\n", encoding="utf-8")
    out = tmp_path / "r.json"
    run = subprocess.run([GOVMON, "report", "--quarter", "2023Q2", "--format", "json", "--out", str(out),
                          "--deadline", "2023-07-31", "--config", str(config), "--db", db_url],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert "整改期限 2023-07-31：问题对象 4 个，逾期 3 个" in run.stdout  # today is long after July 2023
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["rectification"]["deadline"] == "2023-07-31"
    assert len(data["rectification"]["targets"]) == 4
    run = subprocess.run([GOVMON, "report", "--quarter", "2023Q2", "--format", "json", "--out", str(out),
                          "--deadline", "July", "--config", str(config), "--db", db_url],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 2

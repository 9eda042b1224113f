"""我为政府网站找错 messages: reading the export, 办结率 in the rollup and the report."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook
from sqlalchemy.orm import Session, sessionmaker
from test_rollup import build_worked_example

from govmon.config import Config
from govmon.feedback import (
    FeedbackError,
    FeedbackMessage,
    feedback_stats,
    read_feedback_file,
)
from govmon.findings import parse_quarter
from govmon.rollup import build_rollup

TZ = ZoneInfo("Asia/Shanghai")
GOVMON = str(Path(sys.executable).with_name("govmon"))


def write_csv(path: Path, text: str, encoding: str = "utf-8-sig") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_csv_with_english_headers(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "f.csv", "received,site,content,deadline,handled\n"
                     "2023-04-03,廉江市政府门户网站,链接打不开,2023-04-06,2023-04-05\n"
                     "2023/5/8,湛江农业信息港,错别字,2023/5/11,\n"
                     "\n")
    messages = read_feedback_file(path)
    assert messages == [
        FeedbackMessage(dt.date(2023, 4, 3), "廉江市政府门户网站", "链接打不开", dt.date(2023, 4, 6), dt.date(2023, 4, 5)),
        FeedbackMessage(dt.date(2023, 5, 8), "湛江农业信息港", "错别字", dt.date(2023, 5, 11), None),
    ]


def test_xlsx_with_chinese_headers_and_date_cells(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["留言时间", "网站名称", "留言内容", "办理期限", "办结时间"])
    sheet.append([dt.datetime(2023, 6, 1, 10, 0), "雷州市人民政府网站", "页面无法打开", dt.date(2023, 6, 6), "未办结"])
    sheet.append(["2023年6月2日", "雷州市人民政府网站", "-cmd", "2023年6月7日", "2023年6月9日"])
    book.save(tmp_path / "f.xlsx")
    messages = read_feedback_file(tmp_path / "f.xlsx")
    assert [(m.received, m.handled) for m in messages] == [
        (dt.date(2023, 6, 1), None), (dt.date(2023, 6, 2), dt.date(2023, 6, 9)),
    ]
    assert messages[1].content == "-cmd"


def test_gbk_csv(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "f.csv", "收到时间,网站,内容,期限,办结时间\n2023-04-03,某网站,内容,2023-04-06,2023-04-06\n",
                     encoding="gb18030")
    assert read_feedback_file(path)[0].site == "某网站"


@pytest.mark.parametrize(("text", "words"), [
    ("site,content\nx,y\n", "缺少列"),
    ("received,site,deadline\n2023-13-01,x,2023-04-01\n", "第 2 行"),
    ("received,site,deadline\nyesterday,x,2023-04-01\n", "不是日期"),
    ("received,site,deadline\n2023-04-01,,2023-04-01\n", "缺少“网站”"),
    ("received,site,deadline\n2023-04-01,x,\n", "缺少“办理期限”"),
])
def test_errors_name_row_and_column(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(FeedbackError, match=words):
        read_feedback_file(write_csv(tmp_path / "f.csv", text))


def test_unsupported_or_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FeedbackError, match="只支持"):
        read_feedback_file(write_csv(tmp_path / "f.json", "{}"))
    with pytest.raises(FeedbackError, match="找不到"):
        read_feedback_file(tmp_path / "none.csv")


def test_stats_count_the_period_only() -> None:
    config = Config.from_mapping({})
    d = dt.date
    messages = [
        FeedbackMessage(d(2023, 3, 30), "a", "", d(2023, 4, 2), None),  # before the quarter
        FeedbackMessage(d(2023, 4, 3), "a", "", d(2023, 4, 6), d(2023, 4, 6)),  # on time (deadline day)
        FeedbackMessage(d(2023, 5, 3), "a", "", d(2023, 5, 6), d(2023, 5, 8)),  # late
        FeedbackMessage(d(2023, 6, 20), "a", "", d(2023, 6, 25), None),  # open past deadline
        FeedbackMessage(d(2023, 6, 29), "a", "", d(2023, 7, 4), None),  # open, not yet due
    ]
    stats = feedback_stats(messages, parse_quarter("2023Q2", TZ), config.report.websites, TZ)
    assert stats["received"] == 4
    assert stats["handled_on_time"] == 1
    assert stats["rate"] == "1/4" and stats["rate_text"] == "25%"
    assert stats["overdue"] == 2
    assert [m["received"] for m in stats["overdue_messages"]] == ["2023-05-03", "2023-06-20"]


def test_report_with_feedback(db_url: str, session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    with session_factory.begin() as session:
        build_worked_example(session)
    config = tmp_path / "config.yaml"
    config.write_text("timezone: Asia/Shanghai\n", encoding="utf-8")
    feedback = write_csv(tmp_path / "f.csv", "received,site,content,deadline,handled\n"
                         "2023-04-03,廉江市政府门户网站,链接打不开,2023-04-06,2023-04-05\n"
                         "2023-05-08,湛江农业信息港,错别字,2023-05-11,2023-05-10\n")
    out = tmp_path / "r.json"
    run = subprocess.run([GOVMON, "report", "--quarter", "2023Q2", "--format", "json", "--out", str(out),
                          "--feedback", str(feedback), "--config", str(config), "--db", db_url],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert "收到 2 条，按期办结 2 条，办结率 100%" in run.stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["feedback"]["rate_text"] == "100%"

    with session_factory() as session:
        rollup = build_rollup(session, Config.from_mapping({}), parse_quarter("2023Q2", TZ),
                              feedback=read_feedback_file(feedback))
    from docx import Document

    from govmon.export import write_report

    [path] = write_report(rollup, "docx", tmp_path / "n.docx", TZ)
    text = "\n".join(p.text for p in Document(str(path)).paragraphs)
    assert "共收到网民有效留言2条，按期办结2条，办结率为100%" in text

    bad = write_csv(tmp_path / "bad.csv", "site\nx\n")
    run = subprocess.run([GOVMON, "report", "--quarter", "2023Q2", "--format", "json", "--out", str(out),
                          "--feedback", str(bad), "--config", str(config), "--db", db_url],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 2 and "缺少列" in run.stderr


def test_import_and_list_commands(db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("timezone: Asia/Shanghai\n", encoding="utf-8")
    feedback = write_csv(tmp_path / "f.csv", "received,site,content,deadline,handled\n"
                         "2023-04-03,廉江市政府门户网站,链接打不开,2023-04-06,2023-04-05\n"
                         "2023-05-08,湛江农业信息港,错别字,2023-05-11,\n")
    common = ["--config", str(config), "--db", db_url]
    run = subprocess.run([GOVMON, "feedback", "import", str(feedback), *common], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert "新增 2 条" in run.stdout
    # a later export: the open message was handled late; importing again adds nothing
    write_csv(feedback, "received,site,content,deadline,handled\n"
              "2023-04-03,廉江市政府门户网站,链接打不开,2023-04-06,2023-04-05\n"
              "2023-05-08,湛江农业信息港,错别字,2023-05-11,2023-05-12\n")
    run = subprocess.run([GOVMON, "feedback", "import", str(feedback), *common], capture_output=True, text=True, check=False)
    assert "新增 0 条，更新 1 条" in run.stdout
    run = subprocess.run([GOVMON, "feedback", "list", "--quarter", "2023Q2", *common], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert "逾期办结" in run.stdout and "按期办结" in run.stdout
    assert "收到 2 条，按期办结 1 条，办结率 50%" in run.stdout
    out = tmp_path / "r.json"
    run = subprocess.run([GOVMON, "report", "--quarter", "2023Q2", "--format", "json", "--out", str(out), *common],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["feedback"]["rate_text"] == "50%"
    run = subprocess.run([GOVMON, "feedback", "import", str(tmp_path / "none.csv"), *common],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 2 and "找不到" in run.stderr

"""`govmon inspect`, help and exit codes, through the installed console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from govmon.demo.server import DemoResponse, DemoServer, unused_url

GOVMON = str(Path(sys.executable).with_name("govmon"))

ARTICLE = """<html><head><meta charset="gb2312"><title>示范县关于做好2023年防汛工作的通知_示范县人民政府</title>
<meta name="PubDate" content="2023-07-20 08:00"></head><body>
<div class="top">示范县人民政府 2023年10月11日 星期三</div>
<table><tr><td>索 引 号：</td><td>007000001/2023-00077</td><td>发文机关：</td><td>示范县人民政府办公室</td></tr>
<tr><td>成文日期：</td><td>2023年07月10日</td><td>发布日期：</td><td>2023年07月14日</td></tr>
<tr><td>发文字号：</td><td>示府办〔2023〕21号</td><td>标　　题：</td><td>示范县关于做好2023年防汛工作的通知</td></tr></table>
<h1>示范县关于做好2023年防汛工作的通知</h1>
<p>各镇人民政府：现将有关事项通知如下。</p><p>示范县人民政府办公室</p><p>二〇二三年七月十日</p>
<p>来源：示范县应急管理局</p>
<ul><li><a href="/a/1.html" title="相关新闻一">相关新闻一</a><span>07-13</span></li></ul>
<a href="/hidden.html" style="display:none">隐藏</a>
</body></html>"""


@pytest.fixture(scope="module")
def site():
    server = DemoServer(["inspect"], first_octet=80)
    server.mount("inspect", {
        "/article.html": DemoResponse(ARTICLE.encode("gb18030"), "text/html"),
        "/report.pdf": DemoResponse(b"%PDF-1.4 binary", "application/pdf"),
    })
    with server:
        yield server.base_urls["inspect"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GOVMON, *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def test_inspect_json_follows_the_interface(site, tmp_path):
    result = run("inspect", site + "/article.html", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {k: data[k] for k in ("url", "status", "title", "publish_date", "written_date", "source")} == {
        "url": site + "/article.html",
        "status": 200,
        "title": "示范县关于做好2023年防汛工作的通知",
        "publish_date": "2023-07-14",
        "written_date": "2023-07-10",
        "source": "示范县应急管理局",
    }
    assert data["doc_no"] == "示府办〔2023〕21号" and data["index_no"] == "007000001/2023-00077"
    assert data["items"] == [{"title": "相关新闻一", "url": site + "/a/1.html", "date": "2023-07-13",
                              "text": "相关新闻一"}]
    assert site + "/hidden.html" in data["links"]
    hidden = [d for d in data["link_details"] if d["url"] == site + "/hidden.html"]
    assert hidden[0]["visible"] is False
    assert data["encoding"] == "gb18030"


def test_inspect_text_says_where_each_date_came_from(site, tmp_path):
    result = run("inspect", site + "/article.html", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "发布日期：2023-07-14" in result.stdout and "成文日期：2023-07-10" in result.stdout
    assert "依据：label:发布日期" in result.stdout
    assert "读者看不到的 1 个" in result.stdout


def test_inspect_a_pdf_is_reported_not_invented(site, tmp_path):
    data = json.loads(run("inspect", site + "/report.pdf", "--format", "json", cwd=tmp_path).stdout)
    assert data["is_html"] is False and data["publish_date"] is None and data["title"] is None
    assert any("不是 HTML" in w for w in data["warnings"])


def test_inspect_unreachable_url_is_one_clear_line_and_exit_1(tmp_path):
    result = run("inspect", unused_url("127.0.0.79"), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "连接被拒绝" in result.stderr


def test_bad_usage_and_bad_config_exit_2(site, tmp_path):
    assert run("inspect", site + "/article.html", "--format", "xml", cwd=tmp_path).returncode == 2
    bad = tmp_path / "config.yaml"
    bad.write_text("sites:\n  - name: 示范\n    category: county_portal\n    url: www.example.gov.cn\n",
                   encoding="utf-8")
    result = run("inspect", site + "/article.html", "--config", str(bad), cwd=tmp_path)
    assert result.returncode == 2
    assert "config.yaml:4" in result.stderr and "sites[0].url" in result.stderr
    missing = run("scan", "--config", str(tmp_path / "nope.yaml"), cwd=tmp_path)
    assert missing.returncode == 2 and "nope.yaml" in missing.stderr


def test_help_is_chinese_and_lists_the_commands(tmp_path):
    result = run("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("scan", "findings", "inspect", "demo", "run"):
        assert command in result.stdout
    assert "政府网站" in result.stdout


def test_demo_finds_every_planted_defect_and_writes_the_notice(tmp_path):
    result = subprocess.run([GOVMON, "demo"], capture_output=True, text=True, timeout=400, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("[已发现]") == 35 and "[未发现]" not in result.stdout
    assert "共 35 条" in result.stdout
    # the simulated week of probe rounds: the flaky transport bureau and the dead town are vetoed
    assert "模拟 7 天的可用性监测" in result.stdout
    transport = next(line for line in result.stdout.splitlines() if line.startswith("示范市交通运输局  "))
    assert "7.86%（11/140）" in transport and "单项否决" in transport
    town = next(line for line in result.stdout.splitlines() if line.startswith("示范镇人民政府网站  "))
    assert "100.00%（140/140）" in town and "单项否决" in town
    for name in ("示范县人民政府门户网站", "示范市水务局", "示范市教育局信息公开专栏", "示范区人民政府门户网站"):
        line = next(line for line in result.stdout.splitlines() if line.startswith(name + "  "))
        assert "0.00%（0/140）" in line
    assert "县区门户" in result.stdout and "50%" in result.stdout  # 1 of the 2 checked county portals fails
    # 8 accounts read in full, 2 of them failing (a 2-week silence, a serious error); the 1-week flag and
    # the notice of a Douyin account with every recent post closed to comments pass
    assert next(line for line in result.stdout.splitlines() if line.startswith("政务新媒体")).split() == [
        "政务新媒体", "6", "2", "75.0%"]
    assert (tmp_path / "demo-report" / "通报.xlsx").stat().st_size > 0
    assert (tmp_path / "demo-report" / "通报.html").stat().st_size > 0

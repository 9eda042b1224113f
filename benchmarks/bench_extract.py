"""How fast is page extraction? ``python benchmarks/bench_extract.py [--rounds N] [--seconds S]``

Generates (never copies) a typical ~70 KB government article page — navigation, a 信息公开
metadata table, a long body closing with a signature, side lists of dated items, a footer,
about 150 links — and runs, in one process and several rounds:

* ``extract_page`` (the product's extraction),
* ``lxml.html.fromstring`` alone (the floor: parsing only),
* ``BeautifulSoup(html, "lxml")`` alone (what a BeautifulSoup-based extractor starts with),
* ``htmldate.find_date`` and ``trafilatura.extract`` when installed (``pip install .[bench]``).

Prints the median pages/s of each and its ratio to ``extract_page``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ORGANS = (
    "市人民政府办公室 市发展和改革委员会 市教育局 市科学技术局 市工业和信息化局 市公安局 市民政局 市司法局 市财政局 "
    "市人力资源和社会保障局 市自然资源局 市生态环境局 市住房和城乡建设局 市交通运输局 市水利局 市农业农村局 市商务局 "
    "市文化广电旅游局 市卫生健康委员会 市应急管理局 市审计局 市市场监督管理局 市统计局 市医疗保障局"
).split()
WORDS = ("推进 落实 加强 完善 建设 服务 管理 发展 保障 改革 创新 优化 营商环境 政务公开 民生 项目 "
         "基层 治理 安全 生产 乡村振兴 数字政府 便民 审批 监督 检查 工作 方案 通知 意见 办法 实施 "
         "全市 各县区 有关部门 统筹 协调 扎实 有序 高质量 重点 任务 目标 机制 制度 考核 评估").split()


def sentence(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(WORDS) for _ in range(n)) + "。"


def generate_page(seed: int = 7) -> str:
    rng = random.Random(seed)
    nav = "".join(f'<li><a href="/col{i}/index.html">栏目{i}{rng.choice(WORDS)}</a></li>' for i in range(40))
    side = "".join(
        f'<li><a href="/xwdt/2023{m:02d}/t2023{m:02d}{d:02d}_{i}.html" title="{sentence(rng, 6)[:-1]}">'
        f'{sentence(rng, 4)[:-1]}</a><span>2023-{m:02d}-{d:02d}</span></li>'
        for i, (m, d) in enumerate((rng.randint(1, 12), rng.randint(1, 28)) for _ in range(30))
    )
    yearless = "".join(
        f'<li><a href="/tzgg/{i}.html" title="关于{sentence(rng, 5)[:-1]}的通知">关于{sentence(rng, 3)[:-1]}…</a>'
        f'<span class="date">[{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}]</span></li>'
        for i in range(20)
    )
    def paragraph() -> str:
        return "".join(sentence(rng, rng.randint(8, 20)) for _ in range(rng.randint(3, 6)))

    paragraphs = "".join(f'<p style="text-indent:2em;">{paragraph()}</p>' for _ in range(110))
    footer = "".join(
        f'<a href="http://www.{i}.gov.cn/" target="_blank">{ORGANS[i % len(ORGANS)]}</a> ' for i in range(45)
    )
    related = "".join(f'<li><a href="/zcjd/{i}.html">{sentence(rng, 5)[:-1]}解读</a></li>' for i in range(10))
    title = "关于印发某市2023年数字政府建设工作要点的通知"
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}_某市人民政府门户网站</title>
<meta name="SiteName" content="某市人民政府门户网站"><meta name="PubDate" content="2023-05-16 09:30:00">
<style>.hide{{display:none}} .tab .on{{display:block}} body{{font-size:14px}}</style>
<script>var _hmt = _hmt || []; function tab(n){{ return n; }}</script>
</head><body>
<div class="top"><span class="today">2023年10月11日 星期三</span><a href="/">首页</a> <a href="/wza/">无障碍</a></div>
<div class="nav"><ul>{nav}</ul></div>
<div class="crumb">您当前的位置：<a href="/">首页</a> &gt; <a href="/zwgk/">政务公开</a> &gt; <a href="/zcwj/">政策文件</a></div>
<div class="main"><div class="left">
<table class="xxgk"><tr><th>索 引 号：</th><td>11000000MB0000000X/2023-00123</td><th>主题分类：</th><td>综合政务</td></tr>
<tr><th>发文机关：</th><td>某市人民政府办公室</td><th>成文日期：</th><td>2023年05月10日</td></tr>
<tr><th>标　　题：</th><td colspan="3">{title}</td></tr>
<tr><th>发文字号：</th><td>某府办发〔2023〕12号</td><th>发布日期：</th><td>2023年05月12日</td></tr></table>
<h1 class="title">{title}</h1>
<div class="info">发布时间：2023-05-12 10:20　来源：某市人民政府办公室　浏览次数：<span id="hits">1234</span></div>
<div id="zoom" class="article-content">
<p style="text-align:center">某府办发〔2023〕12号</p><p>各县（市、区）人民政府，市政府各部门：</p>
{paragraphs}
<p>附件：某市2023年数字政府建设工作要点</p>
<p style="text-align:right">某市人民政府办公室</p><p style="text-align:right">2023年5月10日</p>
<p>（此件公开发布）</p>
</div>
<div class="related"><h3>相关解读</h3><ul>{related}</ul></div>
</div>
<div class="right"><div class="tab"><h3>政务动态</h3><ul>{side}</ul></div>
<div class="tab hide"><h3>通知公告</h3><ul>{yearless}</ul></div></div></div>
<div class="footer"><div class="links">{footer}</div>
<p>主办：某市人民政府办公室 承办：某市大数据中心 网站标识码：0000000000</p></div>
</body></html>"""


def measure(fn: Callable[[], object], seconds: float) -> float:
    """Pages per second over one round of about ``seconds``."""
    fn()
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        fn()
        n += 1
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one round")
    args = parser.parse_args(argv)

    import lxml.html

    from govmon.crawler.extract import extract_page

    html = generate_page()
    body = html.encode("utf-8")
    headers = {"Content-Type": "text/html; charset=utf-8"}
    facts = extract_page("http://www.example.gov.cn/zwgk/zcwj/202305/t20230512_1.html", body, headers)
    print(f"page: {len(body) / 1000:.0f} KB, {len(facts.links)} links, {len(facts.items)} items; "
          f"title={facts.title!r} publish={facts.publish_date and facts.publish_date.iso()} "
          f"written={facts.written_date and facts.written_date.iso()}")

    cases: dict[str, Callable[[], object]] = {
        "extract_page": lambda: extract_page("http://www.example.gov.cn/a.html", body, headers),
        "lxml.html.fromstring": lambda: lxml.html.fromstring(body),
    }
    try:
        from bs4 import BeautifulSoup

        cases["BeautifulSoup(lxml)"] = lambda: BeautifulSoup(body, "lxml")
    except ImportError:
        print("beautifulsoup4 not installed: skipped")
    try:
        from htmldate import find_date

        cases["htmldate.find_date"] = lambda: find_date(html)
    except ImportError:
        print("htmldate not installed (pip install '.[bench]'): skipped")
    try:
        import trafilatura

        cases["trafilatura.extract"] = lambda: trafilatura.extract(html)
    except ImportError:
        print("trafilatura not installed (pip install '.[bench]'): skipped")

    results: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, fn in cases.items():
            results[name].append(measure(fn, args.seconds))

    base = statistics.median(results["extract_page"])
    print(f"\n{'what':<24}{'median pages/s':>16}{'vs extract_page':>18}")
    for name, values in results.items():
        med = statistics.median(values)
        print(f"{name:<24}{med:>16.0f}{med / base:>17.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

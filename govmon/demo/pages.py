"""The bundled demonstration pages (invented content, real-looking templates).

A county portal in GBK with a 信息公开 metadata table whose 发布日期 precedes its
成文日期, a department news page whose meta PubDate disagrees with the visible date,
and a column list with year-less dates across New Year.
"""

from __future__ import annotations

from govmon.demo.server import DemoResponse, Site

_FOOTER = """
<div class="footer">
  <p>主办单位：示范县人民政府办公室　承办单位：示范县政务服务数据管理局</p>
  <p>联系电话：0759-0000000　网站标识码：4408000001　粤ICP备00000001号　粤公网安备 44080002000001号</p>
</div>"""

COUNTY_POLICY = f"""<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>示范县人民政府关于印发示范县农村人居环境整治实施方案的通知_示范县人民政府门户网站</title>
<meta name="PubDate" content="2023-05-08 16:20">
</head><body>
<div class="top">示范县人民政府门户网站 <span id="today">2023年6月30日 星期五</span></div>
<div class="nav"><a href="/">首页</a> <a href="/zwgk/">政务公开</a> <a href="/zwdt/">政务动态</a></div>
<table class="xxgk">
<tr><td>索 引 号：</td><td>007000001/2023-00042</td><td>主题分类：</td><td>城乡建设、环境保护</td></tr>
<tr><td>发文机关：</td><td>示范县人民政府</td><td>成文日期：</td><td>2023年05月10日</td></tr>
<tr><td>标　　题：</td><td colspan="3">示范县人民政府关于印发示范县农村人居环境整治实施方案的通知</td></tr>
<tr><td>发文字号：</td><td>示府〔2023〕12号</td><td>发布日期：</td><td>2023年05月08日</td></tr>
</table>
<div class="article">
<h1>示范县人民政府关于印发示范县农村人居环境整治实施方案的通知</h1>
<p>各镇人民政府，县府直属各单位：</p>
<p>现将《示范县农村人居环境整治实施方案》印发给你们，请认真贯彻执行。2022年全县完成改厕1200户。</p>
<p style="text-align:right">示范县人民政府</p>
<p style="text-align:right">二〇二三年五月十日</p>
<p>附件：示范县农村人居环境整治任务分解表（2023年6月1日更新）</p>
</div>
{_FOOTER}
</body></html>"""

DEPARTMENT_NEWS = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8">
<title>示范县召开2023年防汛工作部署会 - 工作动态 - 示范县水务局</title>
<meta name="PubDate" content="2023-06-20 10:00:00">
</head><body>
<div class="nav"><a href="/">首页</a> <a href="/gzdt/">工作动态</a> <a href="/tzgg/">通知公告</a></div>
<div class="detail">
<h2 class="title">示范县召开2023年防汛工作部署会</h2>
<div class="info"><span alt="时间：2017-11-08 20:26">发布时间：2023-06-12 09:30</span>
<span>来源：示范县水务局 作者：办公室</span></div>
<div class="content"><p>6月12日上午，县水务局召开防汛工作部署会。会议回顾了2022年汛期工作……</p></div>
</div>
{_FOOTER}
</body></html>"""

NEWS_LIST = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>工作动态 - 示范县水务局</title></head><body>
<div class="nav"><a href="/">首页</a> <a href="/gzdt/">工作动态</a> <a href="/tzgg/">通知公告</a></div>
<div class="position">当前位置：首页 &gt; 工作动态　更新日期：2024-01-05</div>
<ul class="list">
<li><a href="./202401/t20240103_11.html" title="示范县水务局开展新年第一次安全生产检查">示范县水务局开展新年第一次安全生产检查</a><span>01-03</span></li>
<li><a href="./202401/t20240102_10.html" title="县水务局召开2024年度重点工作谋划会">县水务局召开2024年度重点工作谋划会</a><span>01-02</span></li>
<li><a href="./202312/t20231230_9.html" title="示范县完成2023年度农村饮水安全巩固提升工程建设任务">示范县完成2023年度农村饮水安全巩固提升…</a><span>12-30</span></li>
<li><a href="./202312/t20231228_8.html" title="县水务局开展冬季水利工程巡查">县水务局开展冬季水利工程巡查</a><span>12-28</span></li>
</ul>
<div class="page"><a href="index_1.html">下一页</a></div>
<a href="http://www.example-bet.com/" style="display:none">在线娱乐</a>
{_FOOTER}
</body></html>"""


def demo_pages() -> dict[str, Site]:
    """Host label → site served by :class:`govmon.demo.server.DemoServer`."""
    return {
        "county": {
            "/zwgk/content/post_42.html": DemoResponse(
                COUNTY_POLICY.encode("gb18030"), "text/html"
            ),
        },
        "water": {
            "/gzdt/202306/t20230612_5.html": DemoResponse(DEPARTMENT_NEWS.encode("utf-8")),
            "/gzdt/": DemoResponse(NEWS_LIST.encode("utf-8")),
        },
    }

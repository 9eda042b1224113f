"""The demonstration province: six registered sites and ten new-media accounts, every check planted.

All content is invented. Dates are relative to the monitoring time point (``as_of``),
so the demo shows the same findings on any day. Each site has its own template, as
real county and department sites do:

* 示范县人民政府门户网站 (county portal, GBK, table layout, columns found from the nav)
* 示范市水务局 (department site, UTF-8, div layout, year-less MM-DD list dates)
* 示范市教育局信息公开专栏 (department channel, gkmlpt-style page config)
* 示范区人民政府门户网站 (county portal, ``<publishtime>`` tags, table lists; clean; served on
  IPv6, ``[::1]``, with a 领导信箱 whose letters are answered and a working search)
* 示范市交通运输局 (department site, clean pages, but its server is unreachable at times:
  during the demo's simulated week of availability probes every 12th visit gets a 503)
* 示范镇人民政府网站 (registered but down: nothing listens on its address)

The accounts (:data:`ACCOUNTS`) live on the loopback Weibo, 公众平台, Douyin and feed server of
govmon/demo/account_platforms.py. :data:`PLANTED` lists what a correct scan must find;
:data:`TRAPS` what it must not.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Callable

from govmon.demo.server import DemoResponse, Site

# The serious-error lexicon the demo config registers (a wrongly written country name).
SERIOUS_TERM = "中国人民共和国"


@dataclass(frozen=True, slots=True)
class Planted:
    site: str  # site id
    check: str
    subject: str  # path relative to the site's base URL, or a literal subject
    why: str
    by: str = "scan"  # what finds it: "scan" (a site scan), "probes" (the availability probe rounds), "accounts"


SITE_PLANTED: tuple[Planted, ...] = (
    Planted("shifan-county", "content.date_order", "/zcwj/202305/t1042.html", "信息公开元数据表中发布日期比成文日期早 2 天"),
    Planted("shifan-county", "column.stale", "/zwdt/", "政务动态 40 天未更新"),
    Planted("shifan-county", "links.broken", "/zt/2019/index.html", "首页专题链接 404"),
    Planted("shifan-water", "content.title_mismatch", "/gzdt/0612/c2.html", "列表写的是河湖“清四乱”，文章讲的是义务植树"),
    Planted("shifan-water", "column.empty", "/ztzl/", "专题专栏没有任何信息"),
    Planted("shifan-water", "content.undated", "/tzgg/c7.html", "文章没有发布日期"),
    Planted("shifan-water", "content.serious_error", SERIOUS_TERM + "@/gzdt/0605/c3.html", "正文把国名写成“中国人民共和国”"),
    Planted("shifan-water", "site.identifiers", "home", "页脚缺网站标识码和公安备案号"),
    Planted("shifan-water", "links.external_unsafe", "@helper/seo/", "首页藏着一个移到屏幕外（left:-9999px）的站外链接（暗链）"),
    Planted("shifan-edu", "site.homepage_stale", "home", "首页 30 天没有新信息"),
    Planted("shifan-edu", "column.stale", "/xxgk/gzdt/", "工作动态 30 天未更新"),
    Planted("shifan-edu", "links.broken", "@offline", "链向一个无法连接的站外地址"),
    Planted("shifan-county", "site.mobile", "home", "首页没有 viewport 设置，手机上需左右滚动"),
    Planted("shifan-county", "site.elderly", "entry", "首页没有长者模式/适老化入口"),
    Planted("shifan-county", "site.zhaocuo_entry", "home", "县门户首页没有“我为政府网站找错”入口"),
    Planted("shifan-county", "site.search", "results", "首页有搜索框，但用首页文章的标题检索没有结果"),
    Planted("shifan-county", "interaction.missing", "consultation", "县门户只有网上信访，没有领导信箱、咨询投诉等咨询渠道"),
    Planted("shifan-water", "interaction.unanswered", "/zxts/m3.html", "咨询投诉栏目一条留言 120 天未回复（超过 3 个月）"),
    Planted("shifan-water", "site.https", "https", "HTTPS 证书 12 天后到期"),
    Planted("shifan-edu", "site.https", "https", "不支持 HTTPS（HTTPS 端口上没有服务）"),
    Planted("shifan-county", "site.ipv6", "ipv6", "只有 IPv4 地址，没有 IPv6 地址"),
    Planted("shifan-water", "site.ipv6", "ipv6", "只有 IPv4 地址，没有 IPv6 地址"),
    Planted("shifan-edu", "site.ipv6", "ipv6", "只有 IPv4 地址，没有 IPv6 地址"),
    Planted("shifan-transport", "site.ipv6", "ipv6", "只有 IPv4 地址，没有 IPv6 地址"),
    Planted("shifan-water", "page.slow", "/tzgg/", "通知公告列表页服务器 3.3 秒才应答"),
    Planted("shifan-edu", "page.render", "/xxgk/zcfg/", "政策法规列表页的表格宽 900 像素，超出 560 像素的区域"),
    Planted("shifan-town", "site.unreachable", "home", "登记的地址上没有服务（连接被拒绝）"),
    Planted("shifan-town", "site.unreachable", "probes", "近 7 天的可用性探测全部失败（连接被拒绝）", by="probes"),
    Planted("shifan-transport", "site.unreachable", "probes",
            "首页时常打不开：每 12 次访问有 1 次返回 503，近 7 天失败率 7.86%，超过 5%", by="probes"),
)
# What one scan alone finds (the probe verdicts need the simulated week of probe rounds).
SCAN_PLANTED: tuple[Planted, ...] = tuple(p for p in SITE_PLANTED if p.by == "scan")
# The availability probe rounds the demo simulates: 20 a day for 7 days, the minimum sample.
PROBE_ROUNDS = 140
FLAKY_EVERY = 12  # the transport bureau's server fails every 12th visit while probed

SITE_TRAPS: tuple[str, ...] = (
    "meta PubDate 与页面发布日期不同：以页面可见日期为准，不报日期问题",
    "附件日期晚于落款：成文日期取落款，不报发布日期早于成文日期",
    "列表标题被截断（…）：不算文不对题",
    "列表标题带【转载】前缀：不算文不对题",
    "通知公告 100 天未更新：未超过 180 天，不报",
    "人事信息 200 天未更新：未超过 365 天，不报",
    "“中华人民共和国”：不是严重表述错误",
    "HEAD 返回 405、GET 正常的链接：不算不可用链接",
    "先返回 429（Retry-After: 1）再正常的链接：不算不可用链接",
    "示范区门户：各项正常，没有任何问题",
    "其他网站近 7 天的可用性探测全部成功：不报站点无法访问",
    "部门网站（水务局、交通运输局）和教育局子频道首页没有“我为政府网站找错”入口：只要求县区门户，不报",
    "水务局首页链向站外数据开放平台、示范区页脚链向找错平台的可见链接：不算暗链或不良外链",
    "示范区首页的宽表格放在可左右滚动的区域里：不算表格错位，也不算手机上需左右滚动",
    "水务局咨询投诉中 30 天未回复的留言、400 天前（一年以外）的未回复留言、已回复的留言：不报互动回应差",
    "示范县网上信访中 200 天未回复的来信：网上信访不在互动回应差的范围内，不报",
    "示范区领导信箱的来信都已回复，站内搜索能搜到首页文章：不报",
    "示范区网站在 IPv6 地址（::1）上提供服务：不报 IPv6",
    "示范县、示范区、交通运输局的 HTTPS 证书有效（演示 CA 签发，一年后到期）：不报 HTTPS",
    "部门网站和子频道没有站内搜索框：只要求县区门户，不报",
)
# Where each live site's HTTPS stands: days until its certificate expires; None: no HTTPS at all.
HTTPS_DAYS_LEFT: dict[str, int | None] = {
    "shifan-county": 365, "shifan-water": 12, "shifan-edu": None, "shifan-district": 365, "shifan-transport": 365,
}
IPV6_SITES = ("shifan-district",)  # served on ::1; the others only on 127.0.0.x

_FULL_FOOTER = """<div class="footer">
<p>主办单位：{org}　联系电话：0759-{phone}　网站标识码：{code}</p>
<p><span class="icp">粤ICP备{icp}号</span>　<span class="psb">粤公网安备 {psb}号</span></p>
</div>"""


def _footer(org: str, seed: int) -> str:
    return _FULL_FOOTER.format(
        org=org, phone=f"{3300000 + seed:07d}", code=f"44080{seed:05d}",
        icp=f"{10000000 + seed:08d}", psb=f"440800020{seed:05d}",
    )


class _Once429:
    """Answers 429 with Retry-After: 1 the first time, then 200: a rate-limited link."""

    def __init__(self) -> None:
        self._calls = itertools.count()
        self._lock = threading.Lock()

    def __call__(self) -> DemoResponse:
        with self._lock:
            first = next(self._calls) == 0
        if first:
            return DemoResponse(b"too many requests", "text/plain", 429, {"Retry-After": "1"})
        return DemoResponse("<html><body>数据开放平台</body></html>".encode())


class _Days:
    """Date strings relative to the monitoring time point."""

    def __init__(self, as_of: date) -> None:
        self.as_of = as_of

    def day(self, ago: int) -> date:
        return self.as_of - timedelta(days=ago)

    def iso(self, ago: int) -> str:
        return self.day(ago).isoformat()

    def md(self, ago: int) -> str:
        return self.day(ago).strftime("%m-%d")

    def cn(self, ago: int) -> str:
        d = self.day(ago)
        return f"{d.year}年{d.month:02d}月{d.day:02d}日"

    def numerals(self, ago: int) -> str:
        """二〇二三年五月十日 — the way signatures are written."""
        digits = "〇一二三四五六七八九"
        d = self.day(ago)
        year = "".join(digits[int(c)] for c in str(d.year))

        def number(n: int) -> str:
            if n < 10:
                return digits[n]
            tens, ones = divmod(n, 10)
            return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")

        return f"{year}年{number(d.month)}月{number(d.day)}日"


VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'


def _html(body: str, title: str, *, charset: str = "utf-8", head: str = "", viewport: bool = True) -> str:
    return (f'<!DOCTYPE html>\n<html lang="zh-CN"><head>'
            f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">'
            f"{VIEWPORT if viewport else ''}<title>{title}</title>{head}</head>\n<body>\n{body}\n</body></html>")


def _utf8(text: str) -> DemoResponse:
    return DemoResponse(text.encode("utf-8"))


def _message_body(title: str, asked: str, answered: str | None) -> str:
    """A message page as 领导信箱 / 咨询投诉 systems show one: who, when, the question, the reply."""
    reply = (f'<tr><td>办理状态：</td><td>已回复</td></tr><tr><td>回复时间：</td><td>{answered}</td></tr>'
             '<tr><td>回复内容：</td><td>您好！您反映的问题已转交有关部门办理，感谢您的关注。</td></tr>'
             if answered else '<tr><td>办理状态：</td><td>未回复</td></tr>')
    return (f'<div class="message"><h1>{title}</h1><table class="xx">'
            f'<tr><td>来信人：</td><td>群众</td></tr><tr><td>留言时间：</td><td>{asked}</td></tr>'
            f'<tr><td>留言内容：</td><td>{title}，请予解答。</td></tr>{reply}</table></div>')


# --- 示范县人民政府门户网站: county portal, GBK, old table layout -------------------------

def _county(t: _Days, links: dict[str, str]) -> Site:
    site_name = "示范县人民政府门户网站"
    org = "示范县人民政府"
    nav = ('<table class="nav" width="100%"><tr>'
           '<td><a href="/">首页</a></td><td><a href="/zwdt/">政务动态</a></td>'
           '<td><a href="/tzgg/">通知公告</a></td><td><a href="/zcwj/">政策文件</a></td>'
           '<td><a href="/rsxx/">人事信息</a></td><td><a href="/wsxf/">网上信访</a></td>'
           '<td><a href="/english/">English</a></td></tr></table>'
           # a search box whose search finds nothing, not even the home page's own articles
           '<form action="/search/" method="get"><input type="text" name="searchword" title="站内搜索">'
           '<input type="hidden" name="siteid" value="1"><input type="submit" value="搜索"></form>')
    header = f'<table width="100%"><tr><td class="logo">{site_name}</td><td align="right">{t.cn(0)} 星期{"一二三四五六日"[t.day(0).weekday()]}</td></tr></table>'

    def page(title: str, content: str, head: str = "") -> DemoResponse:
        # an old table layout, never adapted to phones: no viewport, no 适老化 entry
        html = _html(header + nav + content + _footer(org, 1), f"{title}_{site_name}", charset="gb2312", head=head,
                     viewport=False)
        return DemoResponse(html.encode("gb18030"), "text/html")

    def rows(entries: list[tuple[str, str, int]]) -> str:
        return "".join(
            f'<tr><td class="bt"><a href="{href}" title="{title}" target="_blank">{title}</a></td>'
            f'<td class="rq">{t.iso(ago)}</td></tr>' for href, title, ago in entries)

    def column(name: str, entries: list[tuple[str, str, int]], more: str = "") -> DemoResponse:
        return page(name, f'<table class="list"><tr><td class="lm">当前位置：首页 &gt; {name}</td></tr>'
                          f'{rows(entries)}</table>{more}')

    news = [(f"/zwdt/c{i}.html", title, ago) for i, (title, ago) in enumerate([
        ("示范县召开春季森林防火工作会议", 40), ("县领导调研乡村振兴示范带建设", 44),
        ("示范县举办“民法典进乡村”宣传活动", 51), ("示范县开展城乡环境卫生大检查", 58),
        ("示范县召开2023年度安全生产工作会议", 63)], start=1)]
    news_older = [("/zwdt/c6.html", "示范县推进高标准农田建设", 70), ("/zwdt/c7.html", "示范县举行重点项目集中开工仪式", 75)]
    notices = [("/tzgg/c1.html", "关于2023年度示范县公开招聘教师的公告", 100),
               ("/tzgg/c2.html", "示范县关于开展2023年度统计执法检查的通知", 130)]
    policies = [("/zcwj/202305/t1042.html", "示范县人民政府关于印发示范县农村人居环境整治实施方案的通知", 20),
                ("/zcwj/202304/t1039.html", "示范县人民政府办公室关于做好2023年春耕生产工作的通知", 35)]
    personnel = [("/rsxx/c1.html", "示范县人民政府关于陈某某等同志职务任免的通知", 200)]
    # The home page's picture news is fresh, so the home page itself is updated.
    pictures = [("/tpxw/c1.html", "示范县第十届农民丰收节开幕", 1)]

    def article(title: str, ago: int, body: str) -> DemoResponse:
        return page(title, f'<div class="article"><h1>{title}</h1>'
                           f'<div class="info">发布日期：{t.iso(ago)}　来源：{org}</div>'
                           f'<div class="content">{body}</div></div>')

    def policy(title: str, published: int, written: int, doc_no: str, index_no: str, tail: str) -> DemoResponse:
        table = ('<table class="xxgk">'
                 f'<tr><td>索 引 号：</td><td>{index_no}</td><td>主题分类：</td><td>城乡建设</td></tr>'
                 f'<tr><td>发文机关：</td><td>示范县人民政府</td><td>成文日期：</td><td>{t.cn(written)}</td></tr>'
                 f'<tr><td>标　　题：</td><td colspan="3">{title}</td></tr>'
                 f'<tr><td>发文字号：</td><td>{doc_no}</td><td>发布日期：</td><td>{t.cn(published)}</td></tr></table>')
        body = (f'<div class="article"><h1>{title}</h1><div class="content">'
                '<p>各镇人民政府，县府直属各单位：</p><p>现将有关事项通知如下，请认真贯彻执行。</p>'
                f'<p align="right">示范县人民政府</p><p align="right">{t.numerals(written)}</p>{tail}</div></div>')
        # The meta PubDate is a later re-publication time: a trap, the visible date wins.
        return page(title, table + body, head=f'<meta name="PubDate" content="{t.iso(published - 3)} 10:00">')

    site: dict[str, DemoResponse | Callable[[], DemoResponse]] = {
        "/": page("首页", '<table class="home"><tr><td><b>政务动态</b></td></tr>'
                        f'{rows(pictures + news[:2] + policies[:1])}</table>'
                        '<p><a href="/zt/2019/index.html">不忘初心、牢记使命主题教育专题</a></p>'
                        f'<p><a href="{links["head405"]}">示范县政务服务网</a></p>'),
        "/zwdt/": column("政务动态", news[:5], '<a href="/zwdt/index_1.html">下一页</a>'),
        "/zwdt/index_1.html": column("政务动态", news_older),
        "/tzgg/": column("通知公告", notices),
        "/zcwj/": column("政策文件", policies),
        "/rsxx/": column("人事信息", personnel),
        "/english/": page("English", "<p>Shifan County</p>"),
        "/search/": page("搜索结果", "<p>没有找到相关结果，请更换关键词。</p>"),
        # 网上信访 is no consultation channel (the rule leaves it out): its old unanswered letter is
        # not judged, and the county still has no working consultation channel.
        "/wsxf/": page("网上信访", f'<table class="list">{rows([("/wsxf/x1.html", "反映征地补偿款发放问题", 200)])}</table>'),
        "/wsxf/x1.html": page("反映征地补偿款发放问题", _message_body("反映征地补偿款发放问题", t.iso(200), None)),
        "/zcwj/202305/t1042.html": policy(policies[0][1], 20, 18, "示府〔2023〕12号", "007000001/2023-00042",
                                          "<p>附件：示范县农村人居环境整治任务分解表</p>"),
        # Written 40 days ago, published 35 days ago; an attachment dated later is a trap.
        "/zcwj/202304/t1039.html": policy(policies[1][1], 35, 40, "示府办〔2023〕8号", "007000001/2023-00039",
                                          f"<p>附件：春耕生产物资储备情况表（{t.cn(30)}更新）</p>"),
    }
    for href, title, ago in pictures + news + news_older + notices + personnel:
        site[href] = article(title, ago, f"<p>{title}。有关情况报道如下。</p>")
    return site


# --- 示范市水务局: department site, UTF-8, div/ul layout with MM-DD dates ------------------

def _water(t: _Days, links: dict[str, str]) -> Site:
    site_name = "示范市水务局"
    nav = ('<div class="nav"><ul><li><a href="/">网站首页</a></li><li><a href="/gzdt/">工作动态</a></li>'
           '<li><a href="/tzgg/">通知公告</a></li><li><a href="/ztzl/">专题专栏</a></li>'
           '<li><a href="/zxts/">咨询投诉</a></li></ul></div>')
    footer = ('<div class="footer"><p><a href="/zhzx/">长者模式</a></p><p>主办单位：示范市水务局　地址：示范市人民大道100号</p>'
              '<p>联系电话：0759-3300002　<span class="icp">粤ICP备10000002号</span></p></div>')

    def page(title: str, content: str) -> DemoResponse:
        return _utf8(_html(f'<div class="header"><h1 class="logo">{site_name}</h1></div>{nav}'
                           f'<div class="main">{content}</div>{footer}', f"{title} - {site_name}"))

    def items(entries: list[tuple[str, str, str, int]]) -> str:
        return "".join(f'<li><a href="{href}" title="{title}">{text}</a><span class="date">{t.md(ago)}</span></li>'
                       for href, title, text, ago in entries)

    news = [
        ("/gzdt/0620/c1.html", "示范市水务局召开2023年防汛工作部署会", "示范市水务局召开2023年防汛工作部署会", 2),
        ("/gzdt/0612/c2.html", "示范市水务局开展河湖“清四乱”专项行动", "示范市水务局开展河湖“清四乱”专项行动", 4),
        ("/gzdt/0605/c3.html", "示范市举办节约用水宣传周活动", "示范市举办节约用水宣传周活动", 6),
        ("/gzdt/0601/c4.html", "示范市水务局关于做好2023年汛期水库安全度汛工作的情况报告",
         "示范市水务局关于做好2023年汛期水库安全度汛…", 8),
        ("/gzdt/0528/c5.html", "【转载】全省水利工作会议在广州召开", "【转载】全省水利工作会议在广州召开", 9),
    ]
    notices = [("/tzgg/c6.html", "示范市水务局关于2023年水利工程质量检测的公示", "示范市水务局关于2023年水利工程质量检测的公示", 3),
               ("/tzgg/c7.html", "示范市水务局2023年政府信息公开工作年度报告", "示范市水务局2023年政府信息公开工作年度报告", 12)]

    def article(title: str, ago: int | None, body: str) -> DemoResponse:
        when = f'<span>发布时间：{t.iso(ago)} 09:30</span>' if ago is not None else ""
        return page(title, f'<div class="detail"><h2 class="title">{title}</h2>'
                           f'<div class="info">{when}<span>来源：示范市水务局</span></div>'
                           f'<div class="content">{body}</div></div>')

    # 咨询投诉: (page, title, asked days ago, answered days ago or None). One letter waits 120 days
    # (over 3 months: the veto); one waits 30 days (not yet); one was left 400 days ago (outside
    # the year looked back on); one was answered 5 days after it came.
    messages = [("/zxts/m1.html", "咨询汛期水库泄洪预警发布方式", 40, 35),
                ("/zxts/m2.html", "反映小区二次供水水压不足", 30, None),
                ("/zxts/m3.html", "咨询农村自来水管网改造进度", 120, None),
                ("/zxts/m4.html", "咨询取水许可证办理流程", 400, None)]
    # Published under the title of another story: 文不对题.
    bodies = {
        "/gzdt/0612/c2.html": article("示范市开展2023年义务植树活动", 4, "<p>3月12日，全市机关干部参加义务植树活动。</p>"),
        "/gzdt/0605/c3.html": article(news[2][1], 6,
                                      f"<p>为贯彻落实《{SERIOUS_TERM}水法》，示范市举办节约用水宣传周活动。</p>"),
        "/gzdt/0601/c4.html": article(news[3][1], 8, "<p>根据《中华人民共和国防洪法》，现将情况报告如下。</p>"),
        "/gzdt/0528/c5.html": article("全省水利工作会议在广州召开", 9, "<p>全省水利工作会议召开。</p>"),
        "/tzgg/c7.html": article(notices[1][1], None, "<p>本报告依据《中华人民共和国政府信息公开条例》编制。</p>"),
    }
    site: dict[str, DemoResponse | Callable[[], DemoResponse]] = {
        "/": page("首页", f'<div class="box"><h3>工作动态</h3><ul>{items(news[:3])}</ul></div>'
                        f'<div class="box"><h3>通知公告</h3><ul>{items(notices[:1])}</ul></div>'
                        f'<div class="links"><a href="{links["once429"]}">示范市数据开放平台</a></div>'
                        f'<div class="date">更新时间：{t.iso(2)}</div>'
                        f'<div style="position:absolute;left:-9999px"><a href="{links["spam"]}">快速提升排名</a></div>'),
        "/gzdt/": page("工作动态", f'<div class="list"><ul>{items(news)}</ul></div>'),
        "/tzgg/": SlowPage(page("通知公告", f'<div class="list"><ul>{items(notices)}</ul></div>'), SLOW_SECONDS),
        "/ztzl/": page("专题专栏", '<div class="list"><ul></ul><p class="empty">暂无信息</p></div>'),
        "/zhzx/": page("长者模式", "<p>长者模式</p>"),
        "/zxts/": page("咨询投诉", '<div class="list"><ul>' + "".join(
            f'<li><a href="{href}" title="{title}">{title}</a><span class="date">{t.iso(asked)}</span></li>'
            for href, title, asked, _ in messages) + "</ul></div>"),
    }
    for href, title, asked, answered in messages:
        site[href] = page(title, _message_body(title, t.iso(asked), t.iso(answered) if answered is not None else None))
    for href, title, _text, ago in news + notices:
        site[href] = bodies.get(href) or article(title, ago, f"<p>{title}。</p>")
    return site


# --- 示范市教育局信息公开专栏: department channel, gkmlpt-style page config -----------------

def _education(t: _Days, links: dict[str, str]) -> Site:
    site_name = "示范市教育局"
    org = "示范市教育局"

    def page(title: str, content: str, detail: str = "") -> DemoResponse:
        script = f"<script>window._CONFIG = {{}}; window._CONFIG.DETAIL = {detail};</script>" if detail else ""
        return _utf8(_html(f'<div id="gkmlpt"><div class="gk-head">{site_name} 政府信息公开</div>'
                           '<div class="gk-menu"><a href="/xxgk/">信息公开首页</a> <a href="/xxgk/gzdt/">工作动态</a> '
                           '<a href="/xxgk/zcfg/">政策法规</a> <a href="/wza/">无障碍</a></div>'
                           f'<div class="gk-main">{content}</div>{_footer(org, 3)}</div>', f"{title}-{site_name}",
                           head=script))

    def dl(entries: list[tuple[str, str, int]]) -> str:
        return "".join(f'<dl><dt><a href="{href}" title="{title}">{title}</a></dt><dd>{t.iso(ago)}</dd></dl>'
                       for href, title, ago in entries)

    news = [("/xxgk/gzdt/c1.html", "示范市教育局召开全市中小学安全工作会议", 30),
            ("/xxgk/gzdt/c2.html", "示范市教育局部署2023年中考招生工作", 38)]
    policies = [("/xxgk/zcfg/c3.html", "示范市教育局关于规范校外培训机构管理的通知", 60)]

    def article(title: str, ago: int) -> DemoResponse:
        detail = (f'{{"title": "{title}", "publisher": "{org}", "first_publish_time": "{t.iso(ago)} 10:00:00"}}')
        return page(title, f'<h1 class="gk-title">{title}</h1><p class="gk-info">发布日期：{t.iso(ago)}　'
                           f'发布机构：{org}</p><div class="gk-content"><p>{title}。</p></div>', detail)

    site: dict[str, DemoResponse | Callable[[], DemoResponse]] = {
        "/": page("首页", f'<div class="gk-list">{dl(news[:2])}</div>'
                        f'<p><a href="{links["offline"]}">示范市教育考试院</a></p>'),
        "/xxgk/": page("信息公开首页", f'<div class="gk-list">{dl(news + policies)}</div>'),
        "/xxgk/gzdt/": page("工作动态", f'<div class="gk-list">{dl(news)}</div>'),
        "/wza/": page("无障碍", "<p>无障碍浏览</p>"),
        # a table wider than its box: 表格错位
        "/xxgk/zcfg/": page("政策法规", f'<div class="gk-list">{dl(policies)}</div>'
                                    '<div class="gk-box" style="width:560px"><table class="gk-table" style="width:900px">'
                                    '<tr><th>文件名称</th><th>发文字号</th><th>成文日期</th><th>有效性</th></tr>'
                                    f'<tr><td>{policies[0][1]}</td><td>示教〔2023〕12号</td><td>{t.iso(62)}</td>'
                                    '<td>有效</td></tr></table></div>'),
    }
    for href, title, ago in news + policies:
        site[href] = article(title, ago)
    return site


# --- 示范区人民政府门户网站: county portal, <publishtime> tags, clean ----------------------

def _district(t: _Days, links: dict[str, str]) -> Site:
    site_name = "示范区人民政府门户网站"
    org = "示范区人民政府办公室"

    def page(title: str, content: str) -> DemoResponse:
        return _utf8(_html(f'<header class="site-head"><span class="site-name">{site_name}</span>'
                           f'<a href="/zhzx/" class="elder">长者模式</a></header>'
                           '<nav><a href="/">首页</a><a href="/qzyw/">区政要闻</a><a href="/tzgg/">通知公告</a>'
                           '<a href="/ldxx/">领导信箱</a></nav>'
                           '<form class="search" action="/search/"><input type="search" name="q" aria-label="站内搜索" placeholder="站内搜索">'
                           '<button>搜索</button></form>'
                           f'<main>{content}</main>{_footer(org, 4)}'
                           f'<div class="zhaocuo"><a href="{links["zhaocuo"]}">我为政府网站找错</a></div>',
                           f"{site_name}-{title}"))

    def table(entries: list[tuple[str, str, int]]) -> str:
        return "<table class='news'>" + "".join(
            f"<tr><td><a href='{href}'>{title}</a></td><td>[{t.iso(ago)}]</td></tr>" for href, title, ago in entries
        ) + "</table>"

    news = [("/qzyw/c1.html", "示范区召开区委常委会会议", 1), ("/qzyw/c2.html", "示范区举行招商引资项目签约仪式", 5)]
    notices = [("/tzgg/c3.html", "示范区关于2023年城乡居民医保集中缴费的通告", 20)]
    # 领导信箱: every letter answered within days
    letters = [("/ldxx/x1.html", "建议增设社区老年食堂", 12, 6), ("/ldxx/x2.html", "咨询新生儿医保参保办理", 70, 66)]

    def article(title: str, ago: int) -> DemoResponse:
        return page(title, f"<article><h1>{title}</h1><div class='meta'>"
                           f"<publishtime>{t.iso(ago)} 08:00</publishtime> 来源：{org}</div>"
                           f"<p>{title}，会议强调要认真贯彻《中华人民共和国宪法》。</p></article>")

    site: dict[str, DemoResponse | Callable[[], DemoResponse]] = {
        # a wide table in a box that scrolls sideways: neither 表格错位 nor a page too wide for phones
        "/": page("首页", table(news + notices) + '<div class="scroll-box" style="max-width:100%;overflow-x:auto">'
                        '<table class="stats" style="width:900px"><tr><th>指标</th><th>一季度</th><th>二季度</th>'
                        '</tr><tr><td>地区生产总值（亿元）</td><td>85.2</td><td>91.7</td></tr></table></div>'),
        "/qzyw/": page("区政要闻", table(news)),
        "/tzgg/": page("通知公告", table(notices)),
        "/zhzx/": page("长者模式", "<p>长者模式</p>"),
        # the search finds the home page's articles
        "/search/": page("搜索结果", "<p>共找到 3 条结果</p>" + table(news + notices)),
        "/ldxx/": page("领导信箱", table([(href, title, asked) for href, title, asked, _ in letters])),
    }
    for href, title, asked, answered in letters:
        site[href] = page(title, _message_body(title, t.iso(asked), t.iso(answered)))
    for href, title, ago in news + notices:
        site[href] = article(title, ago)
    return site


# --- 示范市交通运输局: department site, clean pages, server unreachable at times ----------


class FlakyHome:
    """A home page whose server fails every ``every``-th visit with 503 while :attr:`flaky`.

    The demo turns the failures on for its simulated week of probe rounds, and off for the
    scan (the scan's visit must not depend on where the counter stands).
    """

    def __init__(self, page: DemoResponse, every: int = FLAKY_EVERY) -> None:
        self.page = page
        self.every = every
        self.flaky = False
        self.visits = 0
        self.failures = 0
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            self.flaky, self.visits, self.failures = True, 0, 0

    def stop(self) -> None:
        with self._lock:
            self.flaky = False

    def __call__(self) -> DemoResponse:
        with self._lock:
            if not self.flaky:
                return self.page
            self.visits += 1
            failing = self.visits % self.every == 0
            self.failures += failing
        if failing:
            return DemoResponse("<h1>503 Service Unavailable</h1>".encode(), status=503)
        return self.page


SLOW_SECONDS = 3.3  # the water bureau's notice list: slower than page.slow's 3000 ms, within the crawl's 5 s


class SlowPage:
    """A page whose server takes ``seconds`` to answer (each visit)."""

    def __init__(self, page: DemoResponse, seconds: float) -> None:
        self.page, self.seconds = page, seconds

    def __call__(self) -> DemoResponse:
        time.sleep(self.seconds)
        return self.page


def _transport(t: _Days, links: dict[str, str]) -> Site:
    site_name = "示范市交通运输局"
    org = "示范市交通运输局办公室"

    def page(title: str, content: str) -> DemoResponse:
        return _utf8(_html(f'<div class="top"><span class="site-name">{site_name}</span></div>'
                           '<div class="nav"><a href="/">首页</a><a href="/jtyw/">交通要闻</a>'
                           '<a href="/tzgg/">通知公告</a><a href="/ghb/">关怀版</a></div>'
                           f'<div class="main">{content}</div>{_footer(org, 5)}', f"{title}_{site_name}"))

    def ul(entries: list[tuple[str, str, int]]) -> str:
        return "<ul class='list'>" + "".join(
            f"<li><a href='{href}' title='{title}'>{title}</a><span class='date'>{t.iso(ago)}</span></li>"
            for href, title, ago in entries
        ) + "</ul>"

    news = [("/jtyw/c1.html", "示范市召开交通运输安全生产工作会议", 2),
            ("/jtyw/c2.html", "示范市农村公路提质改造工程全面开工", 6)]
    notices = [("/tzgg/c3.html", "示范市交通运输局关于春运期间道路客运安排的通告", 25)]

    def article(title: str, ago: int) -> DemoResponse:
        return page(title, f"<div class='article'><h1>{title}</h1>"
                           f"<div class='info'>发布日期：{t.iso(ago)} 来源：{org}</div>"
                           f"<p>{title}。会议要求各单位压实责任，确保群众安全便捷出行。</p></div>")

    site: dict[str, DemoResponse | Callable[[], DemoResponse]] = {
        "/": FlakyHome(page("首页", ul(news + notices))),
        "/jtyw/": page("交通要闻", ul(news)),
        "/tzgg/": page("通知公告", ul(notices)),
        "/ghb/": page("关怀版", "<p>关怀版</p>"),
    }
    for href, title, ago in news + notices:
        site[href] = article(title, ago)
    return site


@dataclass(frozen=True, slots=True)
class DemoSite:
    id: str
    name: str
    organizer: str
    category: str
    columns: tuple[tuple[str, str, str], ...]  # (name, path, kind) declared in config; empty = discover


SITES: tuple[DemoSite, ...] = (
    DemoSite("shifan-county", "示范县人民政府门户网站", "示范县人民政府", "county_portal", ()),
    DemoSite("shifan-water", "示范市水务局", "示范市水务局", "department_site",
             (("工作动态", "/gzdt/", "news"), ("通知公告", "/tzgg/", "notice"), ("专题专栏", "/ztzl/", "other"),
              ("咨询投诉", "/zxts/", "interaction"))),
    DemoSite("shifan-edu", "示范市教育局信息公开专栏", "示范市教育局", "department_channel",
             (("工作动态", "/xxgk/gzdt/", "news"), ("政策法规", "/xxgk/zcfg/", "policy"))),
    DemoSite("shifan-district", "示范区人民政府门户网站", "示范区人民政府", "county_portal",
             (("区政要闻", "/qzyw/", "news"), ("通知公告", "/tzgg/", "notice"), ("领导信箱", "/ldxx/", "interaction"))),
    DemoSite("shifan-transport", "示范市交通运输局", "示范市交通运输局", "department_site",
             (("交通要闻", "/jtyw/", "news"), ("通知公告", "/tzgg/", "notice"))),
    DemoSite("shifan-town", "示范镇人民政府网站", "示范镇人民政府", "department_channel", ()),
)


@dataclass(frozen=True, slots=True)
class DemoAccount:
    id: str
    name: str
    organizer: str
    platform: str  # weibo | wechat | douyin | rss
    scenario: str  # the loopback platform's scenario (govmon/demo/account_platforms.py)


# The new-media accounts of the demo province, read on the loopback platforms.
ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("shifan-fabu", "示范县发布", "示范县人民政府", "weibo", "fresh"),
    DemoAccount("meili-shifan", "魅力示范", "示范区人民政府", "weibo", "stale"),
    DemoAccount("shifan-jiaotong", "示范交通", "示范市交通运输局", "weibo", "quiet"),
    DemoAccount("shifan-shuiwu", "示范水务", "示范市水务局", "wechat", "pinned"),
    DemoAccount("shifan-jindu", "示范禁毒", "示范市公安局", "wechat", "errata"),
    DemoAccount("shifan-wenlv", "示范文旅", "示范市文化广电旅游局", "wechat", "expired"),
    DemoAccount("shifan-jiaoyu", "示范教育", "示范市教育局", "weibo", "blocked"),
    DemoAccount("shifan-qixiang", "示范气象", "示范市气象局", "rss", "moved"),
    DemoAccount("shifan-zhengwu", "示范政务", "示范县人民政府办公室", "douyin", "closed"),
    DemoAccount("shifan-wenming", "示范文明", "示范县委宣传部", "douyin", "half_open"),
)
# The serious error of 示范禁毒 is in the post the fake 公众平台 lists as article 700.
ERRATA_POST_ID = "2650000700_1"

ACCOUNT_PLANTED: tuple[Planted, ...] = (
    Planted("meili-shifan", "account.stale", "no_recent_post", "微博最新一条发布于 20 天前：超过 2 周，单项否决",
            by="accounts"),
    Planted("shifan-jiaotong", "account.stale", "no_recent_post", "微博最新一条发布于 9 天前：1 周内无更新，列为突出问题（不否决）",
            by="accounts"),
    Planted("shifan-jindu", "account.serious_error", f"{SERIOUS_TERM}@{ERRATA_POST_ID}", "公众号文章标题把国名写成“中国人民共和国”",
            by="accounts"),
    Planted("shifan-wenlv", "account.unreachable", "unreadable", "公众平台登录已过期（ret 200003）：提示重新登录，不判定更新",
            by="accounts"),
    Planted("shifan-jiaoyu", "account.unreachable", "unreadable", "微博拒绝访问（ok 0）：提示平台拒绝，不判定更新",
            by="accounts"),
    Planted("shifan-zhengwu", "account.no_interaction", "comments_closed",
            "抖音最近 2 周的 4 条作品全部关闭评论（aweme_control.can_comment 为 false）：提示未开放互动", by="accounts"),
)
ACCOUNT_TRAPS: tuple[str, ...] = (
    "示范水务：置顶的是 200 天前的旧文，后面有 1 天前的新文：不算不更新",
    "示范教育、示范文旅：读不到内容（被拒绝、登录过期）：只提示无法访问，不报不更新",
    "示范气象：订阅源地址已迁移（301 重定向）：跟随到新地址读取，不报无法访问",
    "示范文明：抖音最近 3 条作品中有 1 条开放评论：不报未开放互动",
)

PLANTED: tuple[Planted, ...] = SITE_PLANTED + ACCOUNT_PLANTED
TRAPS: tuple[str, ...] = SITE_TRAPS + ACCOUNT_TRAPS

_BUILDERS = {"shifan-county": _county, "shifan-water": _water, "shifan-edu": _education,
             "shifan-district": _district, "shifan-transport": _transport}


def _helper_site() -> Site:
    """Off-site pages the demo sites link to: a HEAD-refusing portal and a rate-limited one."""
    return {
        "/portal/": DemoResponse("<html><body>示范县政务服务网</body></html>".encode(), head_allowed=False),
        "/open/": _Once429(),
        "/seo/": DemoResponse("<html><body>快速提升排名</body></html>".encode()),
        "/zhaocuo/": DemoResponse("<html><body>我为政府网站找错</body></html>".encode()),
    }


def province_sites(as_of: date, *, helper_base: str, offline_url: str) -> dict[str, Site]:
    """Site id → site for the five live demo sites, plus ``"helper"`` for off-site links.

    ``helper_base`` is where the helper site will be served and ``offline_url`` an address
    where nothing listens (the demo server is built knowing its addresses in advance).
    """
    t = _Days(as_of)
    links = {"head405": f"{helper_base}/portal/", "once429": f"{helper_base}/open/", "offline": offline_url,
             "zhaocuo": f"{helper_base}/zhaocuo/", "spam": f"{helper_base}/seo/"}
    sites: dict[str, Site] = {site_id: build(t, links) for site_id, build in _BUILDERS.items()}
    sites["helper"] = _helper_site()
    return sites

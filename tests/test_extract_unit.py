"""extract_page on small hand-written pages: each trap the real pages set, one test each."""

from __future__ import annotations

import datetime
import json

import pytest

from govmon.crawler import extract as extract_module
from govmon.crawler.extract import PageFacts, extract_page

URL = "http://www.example.gov.cn/zwgk/tzgg/202305/t20230512_1.html"
HTML = {"Content-Type": "text/html; charset=utf-8"}


@pytest.fixture(autouse=True)
def _raise_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    # a bug must fail the test, not turn into a warning
    monkeypatch.setattr(extract_module, "RAISE_ERRORS", True)


def page(body: str, head: str = "", *, title: str = "测试页面") -> bytes:
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title>{head}</head>'
        f"<body>{body}</body></html>"
    ).encode("utf-8")


def run(html: bytes | str, headers: dict[str, str] | None = None, url: str = URL, **kw) -> PageFacts:
    if isinstance(html, str):
        html = html.encode("utf-8")
    return extract_page(url, html, HTML if headers is None else headers, **kw)


PARAS = "".join(
    f"<p>第{i}段：为进一步推进政务公开工作，提高政府信息公开质量，现就有关事项通知如下，请各单位认真贯彻落实。</p>"
    for i in range(1, 5)
)


# --- publish date -------------------------------------------------------------------


def test_visible_label_beats_meta_pubdate() -> None:
    facts = run(page(
        '<h1>万载县统计公报</h1><div class="info">来源： 访问量：199 发布日期：2017-05-15 10:49:00</div>'
        f'<div id="zoom">{PARAS}</div>',
        '<meta name="PubDate" content="2022-04-24 10:00:43">',
    ))
    assert facts.publish_date.iso() == "2017-05-15"
    assert facts.publish_date.time_iso() == "10:49:00"
    assert facts.publish_date_how == "label:发布日期"


def test_attribute_text_is_not_visible() -> None:
    facts = run(page(
        '<h1>山西品牌丝路行正式启动</h1>'
        '<ul class="infos"><li><span alt="时间：2017-11-08 20:26"><i>时间：</i>2019-09-18 06:23</span>'
        '<span alt="来源：省政府办公厅"><i>来源：</i> 山西日报 </span></li></ul>'
        f'<div class="TRS_Editor">{PARAS}</div>'
    ))
    assert facts.publish_date.iso() == "2019-09-18"
    assert facts.publish_date.time_iso() == "06:23"
    assert facts.publish_date_how == "label:时间"
    assert facts.source == "山西日报"


def test_meta_only_when_nothing_visible() -> None:
    facts = run(page(f'<h1>标题</h1><div id="zoom">{PARAS}</div>', '<meta name="PubDate" content="2022-04-24 10:00:43">'))
    assert facts.publish_date.iso() == "2022-04-24"
    assert facts.publish_date_how == "meta:PubDate"


def test_article_published_time_meta() -> None:
    facts = run(page("<p>正文</p>", '<meta property="article:published_time" content="2023-06-01T08:00:00+08:00">'))
    assert facts.publish_date.iso() == "2023-06-01"
    assert facts.publish_date_how == "meta:article:published_time"


@pytest.mark.parametrize(
    "line, iso",
    [
        ("发布日期：2023-05-12", "2023-05-12"),
        ("发布日期:2023-05-12", "2023-05-12"),
        ("发 布 日 期：2023-05-12", "2023-05-12"),
        ("发布时间： 2023年05月12日 09:30", "2023-05-12"),
        ("发布于 2023-05-12", "2023-05-12"),
        ("【发布时间：2023-05-12】【字体：大 中 小】", "2023-05-12"),
        ("时间：2023/5/12 来源：市政府办公室", "2023-05-12"),
        ("生成日期：2023-05-12", "2023-05-12"),
        ("发布日期：２０２３年５月１２日", "2023-05-12"),
    ],
)
def test_byline_labels(line: str, iso: str) -> None:
    facts = run(page(f'<h1>关于开展专项检查的通知</h1><div class="info">{line}</div><div id="zoom">{PARAS}</div>'))
    assert facts.publish_date is not None and facts.publish_date.iso() == iso


def test_metadata_table_letter_spaced() -> None:
    facts = run(page(
        '<table class="bd1"><tr><td><b>索 引 号：</b></td><td>000014349/2005-00155</td>'
        "<td><b>主题分类：</b></td><td>其他</td></tr>"
        "<tr><td><b>发文机关：</b></td><td>国务院办公厅</td><td><b>成文日期：</b></td><td>2005年07月14日</td></tr>"
        "<tr><td><b>标　　题：</b></td><td colspan=3>国务院办公厅对第2741号提案的答复</td></tr>"
        "<tr><td><b>发文字号：</b></td><td>国办函〔2005〕69号</td><td><b>发布日期：</b></td><td>2018年12月24日</td></tr>"
        f'</table><div id="UCAP-CONTENT">{PARAS}<p>国务院办公厅</p><p>二〇〇五年七月十四日</p></div>',
        title="国务院办公厅对第2741号提案的答复_政府信息公开专栏",
    ))
    assert facts.title == "国务院办公厅对第2741号提案的答复"
    assert facts.publish_date.iso() == "2018-12-24"
    assert facts.publish_date_how == "label:发布日期"
    assert facts.written_date.iso() == "2005-07-14"
    assert facts.written_date_how == "label:成文日期"
    assert facts.index_no == "000014349/2005-00155"
    assert facts.issuer == "国务院办公厅"
    assert facts.doc_no == "国办函〔2005〕69号"


def test_th_td_table_without_colons() -> None:
    facts = run(page(
        "<table><tr><th>索引号</th><td>11440000/2023-001</td><th>发布机构</th><td>某市统计局</td></tr>"
        "<tr><th>成文日期</th><td>2023-05-08</td><th>发布日期</th><td>2023-05-10</td></tr>"
        "<tr><th>文号</th><td>某统〔2023〕3号</td><th>标题</th><td>某市统计公报</td></tr></table>"
        f"<div>{PARAS}</div>"
    ))
    assert facts.publish_date.iso() == "2023-05-10"
    assert facts.written_date.iso() == "2023-05-08"
    assert facts.index_no == "11440000/2023-001"
    assert facts.issuer == "某市统计局"
    assert facts.doc_no == "某统〔2023〕3号"
    assert facts.title == "某市统计公报"


def test_fawen_riqi_is_the_publish_date() -> None:
    facts = run(page(
        '<dl><dd><label><font>索 引 号：</font></label><div>014717475N/2023-0040295</div></dd>'
        '<dd><label><font>发布机构：</font></label><div>宜春市统计局</div></dd>'
        '<dd><label><font>发文日期：</font></label><div>2023-04-18</div></dd></dl>'
        '<h1 class="article-title">宜春市2022年统计公报</h1>'
        f'<div id="zoomcon"><p>宜春市2022年统计公报</p><p>宜春市统计局</p><p>（2023年4月12日）</p>{PARAS}</div>',
        '<meta name="PubDate" content="2023-05-16 12:34:05">',
        title="宜春市2022年统计公报 | 中国宜春",
    ))
    assert facts.publish_date.iso() == "2023-04-18"
    assert facts.publish_date_how == "label:发文日期"
    assert facts.written_date.iso() == "2023-04-12"
    assert facts.written_date_how == "dateline"
    assert facts.issuer == "宜春市统计局"
    assert facts.index_no == "014717475N/2023-0040295"
    assert facts.title == "宜春市2022年统计公报"


def test_fabu_riqi_wins_over_fawen_riqi() -> None:
    facts = run(page("<div>发文日期：2023-04-01</div><div>发布日期：2023-04-18</div>" + PARAS))
    assert facts.publish_date.iso() == "2023-04-18"


def test_publishtime_tag() -> None:
    facts = run(page(f"<h1>标题</h1><div><publishtime>2023-03-02 08:00:00</publishtime></div><div>{PARAS}</div>"))
    assert facts.publish_date.iso() == "2023-03-02"
    assert facts.publish_date_how == "publishtime-tag"


def test_clock_widget_is_not_a_publish_date() -> None:
    facts = run(page(
        '<div class="top">2023年10月11日 星期三</div><div class="top2">日期：2023年10月11日 星期三</div>'
        f'<h1>某县统计公报</h1><div id="zoom">{PARAS}</div>'
    ))
    assert facts.publish_date is None


def test_today_header_loses_to_labelled_date() -> None:
    facts = run(page(
        '<div class="top">今天是：2023年10月11日 星期三</div>'
        f'<h1>某县统计公报</h1><div>发布日期：2017-05-15</div><div id="zoom">{PARAS}</div>'
    ))
    assert facts.publish_date.iso() == "2017-05-15"


def test_hidden_script_style_and_comment_text_is_not_read() -> None:
    facts = run(page(
        '<div style="display:none">发布日期：2001-01-01</div>'
        '<script>document.write("发布日期：2002-02-02")</script><style>/* 发布日期：2003-03-03 */</style>'
        "<!-- 发布日期：2004-04-04 -->"
        '<div class="hide">发布日期：2005-05-05</div><div hidden>发布日期：2006-06-06</div>'
        f'<h1>标题</h1><div>发布日期：2023-05-12</div><div id="zoom">{PARAS}</div>',
        "<style>.hide{display:none}</style>",
    ))
    assert facts.publish_date.iso() == "2023-05-12"


def test_many_body_dates_do_not_become_a_publish_date() -> None:
    body = "".join(f"<p>{y}年{m}月{d}日，召开第{m}次会议，研究部署有关工作，会议强调要抓好落实。</p>" for y, m, d in
                   [(2021, 3, 4), (2022, 5, 6), (2020, 7, 8), (2019, 9, 10)] * 3)
    facts = run(page(f'<div id="zoom">{body}</div>'))
    assert facts.publish_date is None
    assert facts.written_date is None


def test_generic_time_label_in_body_is_an_event_not_publish_date() -> None:
    facts = run(page(
        f'<h1>关于举办培训班的通知</h1><div id="zoom">{PARAS}<p>一、时间：2023年6月1日</p>'
        f"<p>二、地点：市政府会议室</p>{PARAS}</div>"
    ))
    assert facts.publish_date is None


def test_unlabelled_byline_under_title() -> None:
    facts = run(page(f'<h1>全市召开安全生产工作会议</h1><div class="date">2023-05-12 10:20</div><div id="zoom">{PARAS}</div>'))
    assert facts.publish_date.iso() == "2023-05-12"
    assert facts.publish_date_how == "byline"


def test_update_time_is_last_resort() -> None:
    facts = run(page(f"<h1>标题</h1><div>更新时间：2023-05-20</div><div>{PARAS}</div>"))
    assert facts.publish_date.iso() == "2023-05-20"
    assert facts.publish_date_how == "label:更新时间"
    facts = run(page(f"<h1>标题</h1><div>更新时间：2023-05-20 发布时间：2023-05-12</div><div>{PARAS}</div>"))
    assert facts.publish_date.iso() == "2023-05-12"


# --- gkmlpt --------------------------------------------------------------------------


def test_gkmlpt_config() -> None:
    detail = {
        "id": 123, "title": "廉江市关于做好2023年防汛工作的通知", "publisher": "廉江市人民政府办公室",
        "identifier": "007024937/2023-00045", "document_number": "廉府办〔2023〕12号",
        "first_publish_time": 1683705600, "created_at": "2023-05-08 00:00:00", "source": "本网",
    }
    html = page(
        '<div id="app"></div><script>window._CONFIG = {"SID": "755"};'
        f"window._CONFIG.DETAIL = {json.dumps(detail, ensure_ascii=False)};</script>",
        title="廉江市人民政府门户网站",
    )
    facts = run(html)
    assert facts.title == "廉江市关于做好2023年防汛工作的通知"
    assert facts.publish_date.iso() == "2023-05-10"  # 1683705600 = 2023-05-10 16:00 Beijing
    assert facts.publish_date_how == "gkmlpt-config"
    assert facts.issuer == "廉江市人民政府办公室"
    assert facts.index_no == "007024937/2023-00045"
    assert facts.doc_no == "廉府办〔2023〕12号"


def test_gkmlpt_js_object_literal() -> None:
    html = page(
        "<script>window._CONFIG.DETAIL = {title: '关于公布名单的公告', publisher: '某局', "
        "first_publish_time: '2023-01-09 10:00:00'};</script>"
    )
    facts = run(html)
    assert facts.title == "关于公布名单的公告"
    assert facts.publish_date.iso() == "2023-01-09"
    assert facts.issuer == "某局"


# --- written date ---------------------------------------------------------------------


def test_signature_in_chinese_numerals() -> None:
    facts = run(page(f'<div id="zoom">{PARAS}<p>国务院办公厅</p><p>二〇〇五年七月十四日</p><p>（本文有删减）</p></div>'))
    assert facts.written_date.iso() == "2005-07-14"
    assert facts.written_date_how == "signature"


def test_signature_then_attachment_with_its_own_date() -> None:
    facts = run(page(
        f'<div id="zoom">{PARAS}<p>附件：关于有关情况的报告</p><p>某市人民政府办公室</p><p>2023年5月10日</p>'
        "<p>（此件公开发布）</p><p>附件</p><p>关于有关情况的报告</p>"
        f"{PARAS}<p>某市发展和改革委员会</p><p>2023年4月1日</p></div>"
    ))
    assert facts.written_date.iso() == "2023-05-10"


def test_signature_before_chaosong() -> None:
    facts = run(page(
        f'<div id="zoom">{PARAS}<p>某县人民政府</p><p>2023年3月3日</p>'
        "<p>抄送：县委办公室，县人大常委会办公室。</p><p>某县人民政府办公室 2023年3月5日印发</p></div>"
    ))
    assert facts.written_date.iso() == "2023-03-03"


def test_signature_on_one_line_with_organisation() -> None:
    facts = run(page(f'<div id="zoom">{PARAS}<p>国务院办公厅 中央军委办公厅 一九九六年六月二十九日</p></div>'))
    assert facts.written_date.iso() == "1996-06-29"


def test_signature_in_parentheses_and_month_only() -> None:
    facts = run(page(f'<div id="zoom">{PARAS}<p>某市统计局</p><p>（2023年5月）</p></div>'))
    assert facts.written_date.iso() == "2023-05"
    assert facts.written_date.day is None
    assert facts.written_date.precision == "month"
    assert facts.to_dict()["written_date_precision"] == "month"


def test_last_body_date_in_a_data_table_is_not_a_signature() -> None:
    facts = run(page(
        f'<div id="zoom">{PARAS}<table><tr><td>项目</td><td>完成时间</td></tr>'
        "<tr><td>道路改造</td><td>2023年12月30日</td></tr></table></div>"
    ))
    assert facts.written_date is None


def test_news_has_no_written_date() -> None:
    facts = run(page(
        '<h1>天宫一号与神舟九号第二场新闻发布会</h1><div class="pubDate">发布日期: <span>2012-06-24</span></div>'
        f'<div class="article"><p><strong>2012年6月24日</strong></p><p>中国载人航天工程新闻发言人 武平</p>{PARAS}'
        "<p>（责任编辑：系统管理员）</p></div>"
    ))
    assert facts.publish_date.iso() == "2012-06-24"
    assert facts.written_date is None


def test_table_written_date_beats_signature() -> None:
    facts = run(page(
        f"<table><tr><td>成文日期：</td><td>2023年05月08日</td></tr></table>"
        f'<div id="zoom">{PARAS}<p>某市人民政府</p><p>2023年5月9日</p></div>'
    ))
    assert facts.written_date.iso() == "2023-05-08"
    assert facts.written_date_how == "label:成文日期"


# --- title ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "title, heading, expected",
    [
        ("天宫一号第二场新闻发布会_中国载人航天官方网站", '<div class="title">天宫一号第二场新闻发布会</div>', "天宫一号第二场新闻发布会"),
        ("万载县人民政府 | 万载县2015年统计公报", "", "万载县2015年统计公报"),
        ("关于印发《某某办法》的通知 - 某市人民政府门户网站", "", "关于印发《某某办法》的通知"),
        ("关于2021-2025年规划的通知", "", "关于2021-2025年规划的通知"),
        ("通知公告-某县人民政府", "<h1>关于开展普查的通知</h1>", "关于开展普查的通知"),  # <title> names the column
        ("关于开展普查的通知 - 某县人民政府", '<h2 class="title">通知公告</h2>', "关于开展普查的通知"),
        ("关于开展普查的通知——某县人民政府", "<h2>关于开展普查的通知</h2>", "关于开展普查的通知"),
        ("某县人民政府", "<h1>关于开展普查的通知</h1>", "关于开展普查的通知"),  # <title> is only the site
        ("某县人民政府", "", "某县人民政府"),
    ],
)
def test_title(title: str, heading: str, expected: str) -> None:
    facts = run(page(f"{heading}<div>{PARAS}</div>", title=title))
    assert facts.title == expected


def test_title_from_article_title_meta_and_whitespace() -> None:
    facts = run(page("<h1>别的</h1>", '<meta name="ArticleTitle" content=" 山西品牌\u3000丝路行&nbsp;正式启动 ">',
                     title="山西品牌丝路行 - 山西省人民政府门户网站"))
    assert facts.title == "山西品牌 丝路行 正式启动"


def test_title_heading_truncated_title_tag() -> None:
    facts = run(page("<h1>关于进一步加强和改进全市政务公开工作的实施意见</h1>", title="关于进一步加强和改进全市政务公开…_某市政府"))
    assert facts.title == "关于进一步加强和改进全市政务公开工作的实施意见"


# --- source / issuer / numbers -------------------------------------------------------


def test_source_runon_is_cut() -> None:
    facts = run(page(f"<h1>标题</h1><div>来源：山西日报 作者：张三 责任编辑：李四</div>{PARAS}"))
    assert facts.source == "山西日报"
    facts = run(page(f"<h1>标题</h1><div>信息来源：市统计局　发布时间：2023-05-12</div>{PARAS}"))
    assert facts.source == "市统计局"
    assert facts.publish_date.iso() == "2023-05-12"


def test_empty_source_label_is_none() -> None:
    facts = run(page(f"<h1>标题</h1><div>来源：</div><div>访问量：199</div><div>发布日期：2017-05-15</div>{PARAS}"))
    assert facts.source is None


def test_data_source_note_in_body_is_not_the_source() -> None:
    facts = run(page(f'<div id="zoom">{PARAS}<p>资料来源：本公报中财政数据来自市财政局，其余数据来自市统计局。</p></div>'))
    assert facts.source is None


# --- list items ----------------------------------------------------------------------


def test_list_items_with_title_attribute_and_span_date() -> None:
    facts = run(page(
        '<ul class="list">'
        '<li><a href="./202305/t1.html" title="关于开展2023年度安全生产大检查的通知">关于开展2023年度安全生产…</a><span>2023-05-10</span></li>'
        '<li><a href="/zwgk/t2.html" title="公告二">公告二</a><span>2023-05-08</span></li>'
        '<li><a href="http://other.gov.cn/t3.html">第三条</a> <span>[2023-04-30]</span></li>'
        "</ul>"
    ))
    assert [(i.title, i.url, i.date.iso(), i.text) for i in facts.items] == [
        ("关于开展2023年度安全生产大检查的通知", "http://www.example.gov.cn/zwgk/tzgg/202305/202305/t1.html", "2023-05-10",
         "关于开展2023年度安全生产…"),
        ("公告二", "http://www.example.gov.cn/zwgk/t2.html", "2023-05-08", "公告二"),
        ("第三条", "http://other.gov.cn/t3.html", "2023-04-30", "第三条"),
    ]


def test_yearless_items_across_new_year_from_http_date() -> None:
    facts = run(
        page('<ul><li><a href="a.html">一</a><span>01-02</span></li><li><a href="b.html">二</a><span>12-30</span></li>'
             '<li><a href="c.html">三</a><span>(12-28)</span></li></ul>'),
        {"Content-Type": "text/html; charset=utf-8", "Date": "Wed, 03 Jan 2024 02:00:00 GMT"},
    )
    assert [i.date.iso() for i in facts.items] == ["2024-01-02", "2023-12-30", "2023-12-28"]


def test_yearless_items_use_newest_full_date_on_page() -> None:
    facts = run(page('<ul><li><a href="a.html">一</a><span>2024-01-03</span></li><li><a href="b.html">二</a><span>12-30</span></li></ul>'))
    assert [i.date.iso() for i in facts.items] == ["2024-01-03", "2023-12-30"]


def test_table_rows_and_dl_items() -> None:
    facts = run(page(
        "<table><tr><th>标题</th><th>日期</th></tr>"
        '<tr><td><a href="r1.html">行一</a></td><td>2023-05-01</td></tr>'
        '<tr><td><a href="r2.html">行二</a></td><td>2023-04-01</td></tr></table>'
        '<dl><dt><a href="d1.html">条目一</a></dt><dd>2023-03-01</dd><dt><a href="d2.html">条目二</a></dt><dd>2023-02-01</dd></dl>'
    ))
    assert [(i.title, i.date.iso()) for i in facts.items] == [
        ("行一", "2023-05-01"), ("行二", "2023-04-01"), ("条目一", "2023-03-01"), ("条目二", "2023-02-01"),
    ]


def test_date_inside_the_link() -> None:
    facts = run(page('<ul><li><a href="x.html"><span class="t">某某通知</span><span class="d">2023-05-10</span></a></li>'
                     '<li><a href="y.html">另一通知 2023-05-09</a></li></ul>'))
    assert [(i.title, i.date.iso()) for i in facts.items] == [("某某通知", "2023-05-10"), ("另一通知", "2023-05-09")]


def test_navigation_is_not_items_but_undated_entries_in_a_dated_list_are() -> None:
    facts = run(page(
        '<ul class="nav"><li><a href="/">首页</a></li><li><a href="/zwgk/">政务公开</a></li></ul>'
        '<ul class="list"><li><a href="1.html">一</a><span>2023-05-10</span></li>'
        '<li><a href="2.html">二</a><span>2023-05-09</span></li><li><a href="3.html">三（无日期）</a></li></ul>'
    ))
    assert [(i.title, i.date.iso() if i.date else None) for i in facts.items] == [
        ("一", "2023-05-10"), ("二", "2023-05-09"), ("三（无日期）", None),
    ]


def test_category_tag_link_in_entry() -> None:
    facts = run(page('<ul><li><a href="/c/">[通知]</a><a href="n1.html" title="关于做好防汛工作的通知">关于做好防汛工作的通知</a>'
                     "<span>2023-06-01</span></li></ul>"))
    assert [(i.title, i.url.rsplit("/", 1)[-1]) for i in facts.items] == [("关于做好防汛工作的通知", "n1.html")]


def test_base_href() -> None:
    facts = run(page('<a href="x/y.html">链接</a>', '<base href="http://cdn.example.gov.cn/site/">'))
    assert facts.links[0].url == "http://cdn.example.gov.cn/site/x/y.html"


# --- links ---------------------------------------------------------------------------


def test_links_visibility() -> None:
    facts = run(page(
        '<a href="/v#top">看得见</a>'
        '<a href="/h1" style="display: none">隐藏一</a>'
        '<div style="visibility:hidden"><a href="/h2">隐藏二</a></div>'
        '<a href="/h3" style="position:absolute;left:-9999px">隐藏三</a>'
        '<a href="/h4" style="text-indent:-9999px">隐藏四</a>'
        '<div style="width:0;height:0;overflow:hidden"><a href="/h5">隐藏五</a></div>'
        '<a href="/h6" style="font-size:0">隐藏六</a>'
        '<a href="/h7" hidden>隐藏七</a>'
        '<div class="gone"><a href="/h8">隐藏八</a></div>'
        '<span id="secret"><a href="/h9">隐藏九</a></span>'
        '<a href="/v2" style="left:-10px;font-size:14px">看得见二</a>'
        '<map><area href="/area" alt="区域"></map>',
        "<style>.gone{display:none} #secret {visibility: hidden} @media print{.x{display:none}}</style>",
    ))
    got = {link.url.rsplit("/", 1)[-1]: (link.visible, link.hidden_reason, link.text) for link in facts.links}
    assert got["v"] == (True, None, "看得见")
    assert got["v2"] == (True, None, "看得见二")
    assert got["area"] == (True, None, "区域")
    for name in ("h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8", "h9"):
        assert got[name][0] is False and got[name][1], name
    assert got["h1"][1] == "display:none"
    assert got["h2"][1] == "visibility:hidden"
    assert got["h3"][1] == "off-screen"
    assert got["h7"][1] == "hidden attribute"
    assert "gone" in got["h8"][1]
    assert len(facts.links) == 12
    assert facts.links[0].url == "http://www.example.gov.cn/v"  # fragment dropped


def test_text_coloured_like_its_background_is_hidden() -> None:
    facts = run(page(
        '<div style="color:#FFF; background-color: #fff"><a href="/c1">同色一</a></div>'
        '<p class="ghost"><a href="/c2">同色二</a></p>'
        '<div style="color:#333;background:#fff"><a href="/c3">看得见</a></div>'
        '<div style="color:inherit;background:inherit"><a href="/c4">继承</a></div>',
        "<style>.ghost{color:#f0f0f0;background:#f0f0f0}</style>",
    ))
    got = {link.url.rsplit("/", 1)[-1]: (link.visible, link.hidden_reason) for link in facts.links}
    assert got == {
        "c1": (False, "color=background"),
        "c2": (False, "color=background (.ghost)"),
        "c3": (True, None),
        "c4": (True, None),
    }


def test_tab_shown_by_compound_class_rule_is_visible() -> None:
    facts = run(page('<div class="tab on"><a href="/a">甲</a></div><div class="tab"><a href="/b">乙</a></div>',
                     "<style>.tab{display:none}.tab.on{display:block}</style>"))
    assert [(link.text, link.visible) for link in facts.links] == [("甲", True), ("乙", False)]


def test_link_text_from_image_alt() -> None:
    facts = run(page('<a href="/i"><img src="x.png" alt="无障碍"></a>'))
    assert facts.links[0].text == "无障碍"


# --- encodings -----------------------------------------------------------------------


def _gbk_page() -> str:
    return (f'<html><head><title>关于开展检查的通知_某县人民政府</title></head><body><h1>关于开展检查的通知</h1>'
            f"<div>发布日期：2023-05-12</div><div>{PARAS}</div></body></html>")


def test_gbk_declared_in_meta() -> None:
    html = _gbk_page().replace("<head>", '<head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">')
    facts = run(html.encode("gbk"), {"Content-Type": "text/html"})
    assert facts.encoding == "gb18030"
    assert facts.encoding_declared == "gb2312"
    assert facts.title == "关于开展检查的通知"
    assert facts.publish_date.iso() == "2023-05-12"
    assert not any("编码" in w for w in facts.warnings)


def test_gbk_bytes_declared_utf8() -> None:
    facts = run(_gbk_page().encode("gbk"), {"Content-Type": "text/html; charset=utf-8"})
    assert facts.encoding == "gb18030"
    assert facts.encoding_declared == "utf-8"
    assert facts.title == "关于开展检查的通知"
    assert "声明的编码 utf-8 与内容不符，按 gb18030 解码" in facts.warnings


def test_utf8_bytes_declared_gbk() -> None:
    html = _gbk_page().replace("<head>", '<head><meta charset="gbk">')
    facts = run(html.encode("utf-8"), {"Content-Type": "text/html"})
    assert facts.encoding == "utf-8"
    assert facts.title == "关于开展检查的通知"
    assert "声明的编码 gbk 与内容不符，按 utf-8 解码" in facts.warnings


def test_no_declaration_gbk_detected() -> None:
    facts = run(_gbk_page().encode("gb18030"), {"Content-Type": "text/html"})
    assert facts.encoding == "gb18030"
    assert facts.encoding_declared is None
    assert facts.publish_date.iso() == "2023-05-12"


def test_undecodable_bytes_replaced() -> None:
    body = _gbk_page().encode("utf-8").replace(b"<h1>", b"<h1>\xff\xfe\x80")
    facts = run(body, {"Content-Type": "text/html; charset=utf-8"})
    assert facts.is_html
    assert facts.publish_date.iso() == "2023-05-12"
    assert any("无法按" in w for w in facts.warnings)


# --- bad input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, headers, kind",
    [
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj", {"Content-Type": "application/pdf"}, "application/pdf"),
        (b"%PDF-1.4\n1 0 obj", {"Content-Type": "text/html"}, "application/pdf"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", {}, "image/png"),
        (b'{"title": "x", "publish_date": "2023-05-10"}', {"Content-Type": "application/json"}, "application/json"),
        (b'{"title": "x", "publish_date": "2023-05-10"}', {}, "application/json"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", {"Content-Type": "image/jpeg"}, "image/jpeg"),
    ],
)
def test_not_html(body: bytes, headers: dict[str, str], kind: str) -> None:
    facts = run(body, headers)
    assert facts.is_html is False
    assert f"不是 HTML 页面（{kind}）" in facts.warnings
    assert facts.title is None and facts.publish_date is None and facts.items == [] and facts.links == []


def test_html_served_as_octet_stream_is_read() -> None:
    facts = run(page("<div>发布日期：2023-05-12</div>"), {"Content-Type": "application/octet-stream"})
    assert facts.is_html and facts.publish_date.iso() == "2023-05-12"


@pytest.mark.parametrize("body", [b"", b"   \n  "])
def test_empty_body(body: bytes) -> None:
    facts = run(body)
    assert facts.is_html is False
    assert facts.warnings == ["页面内容为空"]
    assert facts.to_dict()["title"] is None


def test_huge_page_is_capped() -> None:
    filler = "<p>" + "政务公开" * 2500 + "</p>"
    body = page("<h1>标题</h1><div>发布日期：2023-05-12</div>" + filler * 1100)
    assert len(body) > 10_000_000
    facts = run(body)
    assert facts.truncated is True
    assert "页面超过 5 MB，只读取了前 5 MB" in facts.warnings
    assert facts.publish_date.iso() == "2023-05-12"


def test_max_bytes_mid_character() -> None:
    body = page("<h1>标题</h1><div>发布日期：2023-05-12</div>" + PARAS * 3)
    facts = run(body, max_bytes=len(body) - 200 + 1)
    assert facts.truncated and facts.publish_date.iso() == "2023-05-12"


@pytest.mark.parametrize(
    "body",
    [
        b"\x00\x01\x02garbage",
        b"<",
        b"<html>",
        b"<?xml version='1.0' encoding='utf-8'?><html><body><p>x</p></body></html>",
        b"<html><body>" + b"<div>" * 3000 + b"deep" + b"</div>" * 3000 + b"</body></html>",
        "<p>发布日期：2023-02-30</p>".encode(),
        b"<frameset><frame src='a.html'></frameset>",
        b"<table><tr><td>\xe5\x8f\x91\xe5\xb8\x83\xe6\x97\xa5\xe6\x9c\x9f</td></tr></table>",
    ],
)
def test_bad_input_never_crashes(body: bytes) -> None:
    facts = run(body, {"Content-Type": "text/html"})
    assert isinstance(facts.to_dict(), dict)
    assert facts.publish_date is None


def test_page_without_dates_gives_nulls() -> None:
    facts = run(page(f"<h1>机构职能</h1><div>{PARAS}</div>"))
    assert (facts.publish_date, facts.written_date, facts.source, facts.issuer, facts.index_no, facts.doc_no) == (
        None, None, None, None, None, None)


def test_to_dict_shape() -> None:
    facts = run(page(
        '<h1>标题</h1><div>发布时间：2023-05-12 09:30 来源：本网</div>'
        '<ul><li><a href="a.html" title="甲">甲</a><span>2023-05-11</span></li></ul>' + PARAS
    ))
    data = facts.to_dict()
    assert set(data) == {
        "url", "status", "title", "publish_date", "publish_time", "publish_date_how", "written_date",
        "written_date_precision", "written_date_how", "source", "issuer", "index_no", "doc_no", "items", "links",
        "link_details", "encoding", "encoding_declared", "is_html", "truncated", "warnings", "search_forms", "message",
    }
    assert data["status"] is None
    assert data["publish_date"] == "2023-05-12" and data["publish_time"] == "09:30"
    assert data["items"] == [{"title": "甲", "url": "http://www.example.gov.cn/zwgk/tzgg/202305/a.html",
                              "date": "2023-05-11", "text": "甲"}]
    assert data["links"] == ["http://www.example.gov.cn/zwgk/tzgg/202305/a.html"]
    assert data["link_details"] == [{"url": data["links"][0], "text": "甲", "visible": True, "hidden_reason": None}]
    json.dumps(data, ensure_ascii=False)


def test_today_is_only_a_fallback_context(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extract_module, "_today", lambda: datetime.date(2024, 1, 3))
    facts = run(page('<ul><li><a href="a.html">一</a><span>12-30</span></li>'
                     '<li><a href="b.html">二</a><span>01-02</span></li></ul>'))
    assert [i.date.iso() for i in facts.items] == ["2023-12-30", "2024-01-02"]


# --- more traps: forwarded documents, lists on article pages, bylines ---------------


def test_forwarded_document_keeps_the_notice_signature_and_no_invented_publish_date() -> None:
    facts = run(page(
        '<h1>转发通知</h1><div id="zoom"><p>各乡镇人民政府：</p>'
        "<p>现将《关于做好防汛工作的意见》转发给你们，请认真贯彻执行。</p>"
        "<p>某县人民政府办公室</p><p>2023年5月10日</p><p>关于做好防汛工作的意见</p><p>县水利局</p>"
        f"{PARAS}<p>县水利局</p><p>2023年4月28日</p></div>"
    ))
    assert facts.written_date.iso() == "2023-05-10"
    assert facts.publish_date is None  # the body's dates are not a byline


def test_joint_issuers_on_two_lines() -> None:
    facts = run(page(f'<div id="zoom">{PARAS}<p>某县人民政府</p><p>某县人民武装部</p><p>2023年6月1日</p></div>'))
    assert facts.written_date.iso() == "2023-06-01"


def test_related_list_dates_are_not_a_signature() -> None:
    facts = run(page(
        f'<h1>某某新闻</h1><div>发布时间：2023-05-10</div><div id="zoom">{PARAS}<div class="related">'
        '<p>相关新闻</p><ul><li><a href="a.html">某某工作会议召开</a><div>2023-05-01</div></li></ul></div></div>'
    ))
    assert facts.written_date is None
    assert [(i.title, i.date.iso()) for i in facts.items] == [("某某工作会议召开", "2023-05-01")]


def test_list_page_has_no_publish_date() -> None:
    facts = run(page(
        '<h1>通知公告</h1><ul><li><a href="a.html">关于召开全县安全生产会</a><div class="d">2023-05-01</div></li>'
        '<li><a href="b.html">关于开展检查的通知</a> 2023-04-01</li></ul>'
    ))
    assert facts.publish_date is None and facts.written_date is None
    assert [i.date.iso() for i in facts.items] == ["2023-05-01", "2023-04-01"]


def test_publish_label_of_a_sidebar_entry_is_not_the_page_date() -> None:
    facts = run(page(
        f'<h1>标题甲</h1><div id="zoom">{PARAS}</div>'
        '<div class="side"><ul><li><a href="a.html">某某会议召开情况</a>发布时间：2023-01-01</li></ul></div>'
    ))
    assert facts.publish_date is None


def test_byline_link_is_not_an_item() -> None:
    facts = run(page(f'<h1>全县召开会议</h1><div class="info">2023-05-12 <a href="http://x.cn/">新华网</a></div>'
                     f'<div id="zoom">{PARAS}</div>'))
    assert facts.publish_date.iso() == "2023-05-12"
    assert facts.items == []


def test_block_elements_inside_the_link() -> None:
    facts = run(page('<ul><li><a href="a.html"><p class="t">关于召开会议</p><p class="d">2023-05-01</p></a></li>'
                     '<li><a href="b.html"><div class="t">关于开展检查</div><div class="d">04-30</div></a></li></ul>'))
    assert [(i.title, i.date.iso()) for i in facts.items] == [("关于召开会议", "2023-05-01"), ("关于开展检查", "2023-04-30")]


def test_signature_without_organisation_line_must_end_the_body() -> None:
    facts = run(page(f'<h1>公告</h1><div id="zoom">{PARAS}<p>特此公告。</p><p>2023年5月10日</p></div>'))
    assert facts.written_date.iso() == "2023-05-10"
    facts = run(page(f'<h1>大事记</h1><div id="zoom">{PARAS}<p>2023年5月10日</p>{PARAS}{PARAS}</div>'))
    assert facts.written_date is None


def test_footer_is_not_the_article_body() -> None:
    facts = run(page(
        '<div class="article"><h1>关于印发行动计划的通知</h1><div class="content" id="zoom">'
        "<p>各县（市、区）人民政府，市政府各部门：</p><p>《行动计划》已经市政府同意，现印发给你们，请认真贯彻执行。</p>"
        '<p class="sign">某市人民政府办公室</p><p class="sign">2023年6月7日</p></div></div>'
        '<div class="footer"><p><a href="/a">网站地图</a> | <a href="/b">联系我们</a> | <a href="/c">使用帮助</a></p>'
        "<p>主办单位：某市人民政府办公室　承办单位：某市数据管理中心　联系电话：0578-2097100</p>"
        "<p>网站标识码：3311000012　浙ICP备05031544号　浙公网安备 33110202000342号</p></div>"
    ))
    assert facts.written_date.iso() == "2023-06-07"


def test_unreadable_visible_date_is_reported() -> None:
    facts = run(page(f"<h1>标题</h1><div>发布日期：2023-02-30</div><div>{PARAS}</div>",
                     '<meta name="PubDate" content="2023-03-01">'))
    assert facts.publish_date.iso() == "2023-03-01"
    assert facts.publish_date_how == "meta:PubDate"
    assert any("无法识别" in w and "2023-02-30" in w for w in facts.warnings)


def test_utf8_bom_outranks_a_gbk_header() -> None:
    body = b"\xef\xbb\xbf" + _gbk_page().encode("utf-8")
    facts = run(body, {"Content-Type": "text/html; charset=gbk"})
    assert facts.encoding == "utf-8"
    assert facts.encoding_declared == "gbk"
    assert facts.title == "关于开展检查的通知"
    assert "声明的编码 gbk 与内容不符，按 utf-8 解码" in facts.warnings


def test_json_served_as_html_is_not_html() -> None:
    facts = run(b'[{"title": "x"}]', {"Content-Type": "text/html; charset=utf-8"})
    assert facts.is_html is False
    assert "不是 HTML 页面（application/json）" in facts.warnings


def test_svg_title_is_not_the_page_title() -> None:
    facts = run(b'<html><body><svg><title>icon</title></svg><h1>\xe6\xa0\x87\xe9\xa2\x98\xe6\x96\x87\xe5\xad\x97\xe5\x86\x85\xe5\xae\xb9</h1></body></html>')
    assert facts.title == "标题文字内容"


# --- encoding.py directly ------------------------------------------------------------

from govmon.crawler.encoding import decode_html, declared_charset, normalise_charset  # noqa: E402


@pytest.mark.parametrize(
    "label, codec",
    [("GBK", "gb18030"), ("gb2312", "gb18030"), ("x-gbk", "gb18030"), ("GB_2312-80", "gb18030"), ("cp936", "gb18030"),
     ("GB18030", "gb18030"), ("UTF8", "utf-8"), ("utf-8", "utf-8"), ("big5", "big5hkscs"), ("no-such", None), (None, None)],
)
def test_normalise_charset(label: str | None, codec: str | None) -> None:
    assert normalise_charset(label) == codec


def test_declared_charset_order() -> None:
    body = b'<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"></head></html>'
    assert declared_charset(body, {"Content-Type": "text/html; charset=UTF-8"}) == ("utf-8", "header")
    assert declared_charset(body, {"content-type": "text/html"}) == ("gb2312", "meta")
    assert declared_charset(b'<meta charset="GBK">', None) == ("gbk", "meta")
    assert declared_charset(b"<html></html>", None) == (None, None)


def test_decode_truncated_in_the_middle_of_a_character() -> None:
    body = "发布日期：2023年5月12日".encode()[:-2]
    decoded = decode_html(body, {"Content-Type": "text/html; charset=utf-8"})
    assert decoded.encoding == "utf-8" and not decoded.declaration_wrong
    assert decoded.text.startswith("发布日期：2023年5月12")


def test_decode_latin1_declared_gbk_bytes() -> None:
    body = "<p>关于开展政务公开检查的通知，请各单位认真落实。</p>".encode("gbk")
    decoded = decode_html(body, {"Content-Type": "text/html; charset=iso-8859-1"})
    assert decoded.encoding == "gb18030" and decoded.declaration_wrong
    assert "政务公开" in decoded.text


def test_decode_big5_declared() -> None:
    body = "<p>政府資訊公開</p>".encode("big5")
    decoded = decode_html(body, {"Content-Type": "text/html; charset=big5"})
    assert decoded.text == "<p>政府資訊公開</p>" and not decoded.declaration_wrong


def test_decode_ascii_only() -> None:
    decoded = decode_html(b"<p>hello</p>", None)
    assert decoded.text == "<p>hello</p>" and decoded.encoding == "utf-8" and decoded.warnings == []


def test_column_header_of_a_list_table_is_not_a_field() -> None:
    facts = run(page(
        "<table><tr><th>发布日期</th><th>标题</th></tr>"
        '<tr><td>2023-05-01</td><td><a href="r1.html">行一</a></td></tr>'
        '<tr><td>2023-04-01</td><td><a href="r2.html">行二</a></td></tr></table>'
    ))
    assert facts.publish_date is None
    assert [(i.title, i.date.iso()) for i in facts.items] == [("行一", "2023-05-01"), ("行二", "2023-04-01")]

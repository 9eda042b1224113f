"""content.date_order, content.title_mismatch, content.undated and content.serious_error."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest

from govmon.checks import content_date_order, content_serious_error, content_title_mismatch, content_undated
from govmon.checks.artifacts import ArticleObs, ColumnObs, PageObs, SiteArtifacts, TargetInfo
from govmon.config import Config

TZ = ZoneInfo("Asia/Shanghai")
AS_OF = dt.datetime(2023, 6, 30, 9, 30, tzinfo=TZ)
SITE = "http://www.lianjiang.gov.cn/"
COLUMN = f"{SITE}zwdt/"


def settings(check_id: str, **overrides):
    data = {"checks": {check_id: overrides}} if overrides else {}
    return Config.from_mapping(data).check_settings(check_id)


def page(name: str = "post_1", *, title: str | None = "市政府召开常务会议", status: int | None = 200,
         error: str | None = None, publish: dt.date | None = dt.date(2023, 5, 10), publish_raw: str | None = None,
         written: dt.date | None = None, written_precision: str | None = None, written_raw: str | None = None,
         text: str = "", page_type: str = "article", content_type: str | None = "text/html; charset=utf-8") -> PageObs:
    return PageObs(
        url=f"{SITE}zwdt/{name}.html",
        final_url=f"{SITE}zwdt/{name}.html",
        status=status,
        error=error,
        page_type=page_type,
        title=title,
        publish_date=publish,
        publish_date_raw=publish_raw or (publish.isoformat() if publish else None),
        publish_date_how="标题下方" if publish else None,
        written_date=written,
        written_date_precision=written_precision if written else None,
        written_date_raw=written_raw,
        written_date_how="落款" if written else None,
        text=text,
        fetched_at=AS_OF,
        content_type=content_type,
    )


def article(p: PageObs, listed: str | None = None, listed_text: str | None = None) -> ArticleObs:
    return ArticleObs(page=p, column_url=COLUMN, listed_title=listed, listed_text=listed_text)


def site(*articles: ArticleObs, home: PageObs | None = None, columns=(), lexicon=None) -> SiteArtifacts:
    home = home or PageObs(url=SITE, final_url=SITE, status=200, page_type="home", title="廉江市人民政府门户网站",
                           fetched_at=AS_OF)
    return SiteArtifacts(
        target=TargetInfo("lianjiang", "廉江市人民政府门户网站", "廉江市人民政府", "county_portal", SITE),
        as_of=AS_OF,
        home=home,
        columns=tuple(columns),
        articles=articles,
        lexicon=lexicon,
    )


def summary(findings):
    return [(f.check_id, f.subject, f.severity) for f in findings]


# --- content.date_order ------------------------------------------------------------------


def test_publish_before_written_is_veto():
    p = page(publish=dt.date(2023, 5, 8), publish_raw="发布日期：2023-05-08",
             written=dt.date(2023, 5, 10), written_precision="day", written_raw="二〇二三年五月十日")
    findings = content_date_order.run(site(article(p)), settings("content.date_order"))
    assert summary(findings) == [("content.date_order", p.url, "veto")]
    evidence = findings[0].evidence
    assert evidence["publish_date"] == "2023-05-08"
    assert evidence["written_date"] == "2023-05-10"
    assert evidence["publish_date_raw"] == "发布日期：2023-05-08"
    assert evidence["written_date_raw"] == "二〇二三年五月十日"
    assert evidence["publish_date_how"] == "标题下方"
    assert evidence["written_date_how"] == "落款"
    assert evidence["url"] == p.url
    assert evidence["days_earlier"] == 2
    assert "发布日期（2023-05-08）早于成文日期（2023-05-10）" in findings[0].message


@pytest.mark.parametrize(
    ("publish", "written"),
    [
        (dt.date(2023, 5, 10), dt.date(2023, 5, 10)),  # same day is fine
        (dt.date(2023, 5, 12), dt.date(2023, 5, 10)),  # normal order
    ],
)
def test_same_day_or_later_publish_is_fine(publish, written):
    p = page(publish=publish, written=written, written_precision="day")
    assert content_date_order.run(site(article(p)), settings("content.date_order")) == []


def test_month_only_written_date():
    # 落款“2023年5月”: publishing on 2023-05-03 may be after writing — no finding.
    inside = page("a", publish=dt.date(2023, 5, 3), written=dt.date(2023, 5, 1), written_precision="month",
                  written_raw="2023年5月")
    # Published 2023-04-28, before the month even began: certainly earlier.
    before = page("b", publish=dt.date(2023, 4, 28), written=dt.date(2023, 5, 1), written_precision="month",
                  written_raw="2023年5月")
    findings = content_date_order.run(site(article(inside), article(before)), settings("content.date_order"))
    assert summary(findings) == [("content.date_order", before.url, "veto")]
    assert findings[0].evidence["written_date"] == "2023-05"
    assert findings[0].evidence["written_date_precision"] == "month"
    assert findings[0].evidence["days_earlier"] == 3
    assert "成文日期只注明到月" in findings[0].message


def test_missing_date_or_failed_page_is_no_finding():
    no_written = page("a", publish=dt.date(2023, 5, 8))
    no_publish = page("b", publish=None, written=dt.date(2023, 5, 10), written_precision="day")
    failed = page("c", status=404, publish=dt.date(2023, 5, 8), written=dt.date(2023, 5, 10), written_precision="day")
    artifacts = site(article(no_written), article(no_publish), article(failed))
    assert content_date_order.run(artifacts, settings("content.date_order")) == []
    assert content_date_order.scope(artifacts, settings("content.date_order")) == {no_written.url, no_publish.url}


def test_article_listed_twice_is_one_finding():
    p = page(publish=dt.date(2023, 5, 8), written=dt.date(2023, 5, 10), written_precision="day")
    findings = content_date_order.run(site(article(p), article(p)), settings("content.date_order"))
    assert len(findings) == 1


# --- content.title_mismatch --------------------------------------------------------------

NOT_MISMATCHES = [
    ("关于开展2023年安全生产大检查的通知", "开展2023年安全生产大检查的通知"),  # 关于 missing
    ("【转载】省政府召开常务会议", "省政府召开常务会议"),  # tag
    ("[置顶] 市政府召开常务会议", "市政府召开常务会议"),
    ("2023-05-02 市长调研农业工作", "市长调研农业工作"),  # date prefix
    ("[05-02] 市长调研农业工作", "市长调研农业工作"),
    ("市长调研农业工作 2023-05-02", "市长调研农业工作"),  # date suffix
    ("市长调研农业工作。", "市长调研农业工作"),  # punctuation
    ("市政府召开第十次常务会议", "市政府召开第10次常务会议"),  # minor edit
    ("ＸＸ市召开常务会议（图）", "XX市召开常务会议"),  # full-width
    ("廉江市召开全市安全生产工作会议", "廉江市召开全市安全生产工作会议_政务动态_廉江市人民政府门户网站"),  # site suffix
    ("廉江市召开全市安全生产工作会议", "廉江市召开全市安全生产工作会议 - 廉江市人民政府"),
    ("廉江市召开全市安全生产工...", "廉江市召开全市安全生产工作会议"),  # truncated
    ("廉江市召开全市安全生…", "廉江市召开全市安全工作会议"),  # truncated, with a minor edit
    ("关于印发《廉江市防汛应急预案》的通知", "廉江市人民政府办公室关于印发廉江市防汛应急预案的通知"),
    ("市领导调研乡村振兴工作", "市领导到石城镇调研乡村振兴工作"),
    ("我市举办2023年农民丰收节", "湛江市2023年中国农民丰收节活动在廉江举行"),  # shortened wording
    ("关于印发《廉江市2023年政务公开工作要点》的通知", "廉江市2023年政务公开工作要点"),
    ("通知", "关于防汛的通知"),  # too short to judge
    ("更多", "市长调研农业工作"),  # not a title
]

MISMATCHES = [
    ("市政府召开常务会议", "关于公布2023年度考试录用公务员名单的公告"),
    ("关于做好2023年防汛工作的通知", "关于公布廉江市第一批历史建筑名录的通知"),
    ("廉江市人民政府关于调整城区停车收费标准的批复", "廉江市人民政府关于同意设立安铺镇中心幼儿园的批复"),
    ("廉江市召开全市安全生...", "湛江市举办农民丰收节活动"),  # truncated, different subject
]


@pytest.mark.parametrize(("listed", "own"), NOT_MISMATCHES)
def test_title_variants_are_not_mismatches(listed, own):
    p = page(title=own)
    assert content_title_mismatch.run(site(article(p, listed)), settings("content.title_mismatch")) == []


@pytest.mark.parametrize(("listed", "own"), MISMATCHES)
def test_different_subjects_are_mismatches(listed, own):
    p = page(title=own)
    findings = content_title_mismatch.run(site(article(p, listed)), settings("content.title_mismatch"))
    assert summary(findings) == [("content.title_mismatch", p.url, "veto")]
    evidence = findings[0].evidence
    assert evidence["listed_title"] == listed
    assert evidence["article_title"] == own
    assert evidence["list_url"] == COLUMN
    assert evidence["article_url"] == p.url
    assert evidence["similarity"] < 0.5
    assert f"列表中的标题“{listed}”与文章页标题“{own}”不符" in findings[0].message


def test_truncation_is_reported_in_evidence():
    p = page(title="湛江市举办农民丰收节活动")
    findings = content_title_mismatch.run(site(article(p, "廉江市召开全市安全生...")), settings("content.title_mismatch"))
    assert findings[0].evidence["listed_title_truncated"] is True


def test_threshold_from_settings():
    p = page(title="市委书记调研工业园区")
    listed = "市长调研工业园区"  # Dice 0.625
    assert content_title_mismatch.run(site(article(p, listed)), settings("content.title_mismatch")) == []
    strict = settings("content.title_mismatch", min_similarity=0.9)
    assert content_title_mismatch.run(site(article(p, listed)), strict)


def test_either_list_text_matching_is_enough():
    p = page(title="市政府召开常务会议")
    a = article(p, listed="点击查看详情内容", listed_text="市政府召开常务会议")
    assert content_title_mismatch.run(site(a), settings("content.title_mismatch")) == []


def test_missing_titles_or_failed_pages_are_skipped():
    artifacts = site(
        article(page("a", title=None), "市政府召开常务会议"),
        article(page("b", title="市政府召开常务会议"), None),
        article(page("c", title="市政府召开常务会议", status=500), "关于公布考试录用公务员名单的公告"),
    )
    assert content_title_mismatch.run(artifacts, settings("content.title_mismatch")) == []
    assert content_title_mismatch.scope(artifacts, settings("content.title_mismatch")) == set()


def test_title_shared_by_many_articles_is_not_trusted():
    # The gatherer read the site's name as every article's title: comparing proves nothing.
    articles = [article(page(f"p{i}", title="廉江市人民政府门户网站"), f"第{i}条新闻的标题内容") for i in range(3)]
    assert content_title_mismatch.run(site(*articles), settings("content.title_mismatch")) == []
    shared = [article(page(f"q{i}", title="政务动态"), f"第{i}条新闻的标题内容") for i in range(3)]
    assert content_title_mismatch.run(site(*shared), settings("content.title_mismatch")) == []


def test_title_that_is_a_column_or_site_name_is_not_trusted():
    col = ColumnObs(name="政务动态", url=COLUMN, kind="news")
    artifacts = site(
        article(page("a", title="政务动态_廉江市人民政府门户网站"), "市长调研农业工作情况"),
        article(page("b", title="廉江市人民政府"), "市长调研农业工作情况"),
        columns=[col],
    )
    assert content_title_mismatch.run(artifacts, settings("content.title_mismatch")) == []
    assert content_title_mismatch.scope(artifacts, settings("content.title_mismatch")) == set()


def test_one_finding_per_article():
    p = page(title="关于公布2023年度考试录用公务员名单的公告")
    findings = content_title_mismatch.run(
        site(article(p, "市政府召开常务会议"), article(p, "市长调研农业工作情况")), settings("content.title_mismatch")
    )
    assert summary(findings) == [("content.title_mismatch", p.url, "veto")]
    assert findings[0].evidence["listed_title"] == "市政府召开常务会议"


# --- content.undated ----------------------------------------------------------------------


def test_undated_article_is_a_notice():
    p = page("nodate", publish=None, title="市长调研农业工作")
    dated = page("dated")
    findings = content_undated.run(site(article(p, "市长调研农业工作"), article(dated)), settings("content.undated"))
    assert summary(findings) == [("content.undated", p.url, "notice")]
    assert findings[0].evidence["url"] == p.url
    assert findings[0].message == f"文章“市长调研农业工作”（{p.url}）未注明发布时间"


def test_undated_skips_failed_non_html_and_non_article_pages():
    artifacts = site(
        article(page("err", publish=None, status=None, error="请求超时，站点没有在限定时间内响应")),
        article(page("gone", publish=None, status=404)),
        article(page("pdf", publish=None, content_type="application/pdf")),
        article(page("sub", publish=None, page_type="list")),
        article(page("other", publish=None, page_type="other")),
    )
    assert content_undated.run(artifacts, settings("content.undated")) == []
    assert content_undated.scope(artifacts, settings("content.undated")) == set()


# --- content.serious_error ----------------------------------------------------------------


def test_lexicon_hit_in_article_text():
    text = "本网讯 6月28日，" + "某某某" * 5 + "错误说法甲出席会议并讲话。会议强调，要认真贯彻落实。"
    p = page(text=text)
    findings = content_serious_error.run(site(article(p), lexicon=("错误说法甲", "不存在的词")),
                                         settings("content.serious_error"))
    assert summary(findings) == [("content.serious_error", f"错误说法甲@{p.url}", "veto")]
    evidence = findings[0].evidence
    assert evidence["term"] == "错误说法甲"
    assert evidence["url"] == p.url
    assert evidence["where"] == "text"
    assert evidence["context_before"] == text[: text.index("错误说法甲")][-30:]
    assert evidence["context_after"] == "出席会议并讲话。会议强调，要认真贯彻落实。"
    assert evidence["occurrences"] == 1


def test_texts_left_in_storage_are_streamed_in_batches():
    # Read back from storage, articles carry no text: the check asks texts_source for them,
    # a batch of row ids at a time, and finds the same hits as with the texts in hand.
    stored = {n: ("正文" + ("错误说法甲" if n % 7 == 0 else "没有问题") + "。") for n in range(1, 451)}
    pages = [dataclasses.replace(page(f"p{n}", text=""), row_id=n) for n in stored]
    calls: list[list[int]] = []

    def texts_source(row_ids):
        calls.append(list(row_ids))
        return [(row_id, stored[row_id]) for row_id in row_ids]

    artifacts = dataclasses.replace(site(*map(article, pages), lexicon=("错误说法甲",)), texts_source=texts_source)
    findings = content_serious_error.run(artifacts, settings("content.serious_error"))
    assert sorted(f.subject for f in findings) == sorted(f"错误说法甲@{SITE}zwdt/p{n}.html" for n in stored if n % 7 == 0)
    assert [len(c) for c in calls] == [199, 200, 51]  # 200 pages a batch; the home page (first) keeps its own text
    in_hand = site(*(article(dataclasses.replace(p, text=stored[p.row_id])) for p in pages), lexicon=("错误说法甲",))
    assert summary(content_serious_error.run(in_hand, settings("content.serious_error"))) == summary(findings)


def test_lexicon_hits_on_home_list_title_and_each_page():
    home = PageObs(url=SITE, final_url=SITE, status=200, page_type="home", title="首页",
                   text="首页要闻：错误说法甲。另一条：错误说法甲。", fetched_at=AS_OF)
    list_page = PageObs(url=COLUMN, final_url=COLUMN, status=200, page_type="list", title="政务动态",
                        text="列表中有错误说法乙", fetched_at=AS_OF)
    col = ColumnObs(name="政务动态", url=COLUMN, kind="news", page=list_page, complete=True)
    p = page(title="关于错误说法乙的通知", text="正文没有问题")
    failed = page("failed", status=500, text="错误说法甲")
    artifacts = site(article(p), article(failed), home=home, columns=[col], lexicon=("错误说法甲", "错误说法乙"))
    findings = content_serious_error.run(artifacts, settings("content.serious_error"))
    assert summary(findings) == [
        ("content.serious_error", f"错误说法甲@{SITE}", "veto"),
        ("content.serious_error", f"错误说法乙@{COLUMN}", "veto"),
        ("content.serious_error", f"错误说法乙@{p.url}", "veto"),
    ]
    assert findings[0].evidence["occurrences"] == 2
    assert findings[2].evidence["where"] == "title"
    assert "标题出现严重表述错误“错误说法乙”" in findings[2].message
    assert content_serious_error.scope(artifacts, None) == {SITE, COLUMN, p.url}
    assert content_serious_error.scope_key(findings[2].subject) == p.url


def test_matching_ignores_spacing_and_full_width_forms():
    text = "会议由 错 误 说 法 甲 主持，ＡＢＣ　Ｄ同志参加。"
    p = page(text=text)
    findings = content_serious_error.run(site(article(p), lexicon=("错误说法甲", "abcd")),
                                         settings("content.serious_error"))
    assert [f.evidence["term"] for f in findings] == ["错误说法甲", "abcd"]
    assert findings[0].evidence["matched"] == "错 误 说 法 甲"
    assert findings[0].evidence["context_before"] == "会议由 "
    assert findings[1].evidence["matched"] == "ＡＢＣ　Ｄ"


def test_empty_lexicon_finds_nothing():
    p = page(text="错误说法甲")
    assert content_serious_error.run(site(article(p), lexicon=()), settings("content.serious_error")) == []


def test_five_thousand_terms_find_the_one_hit_and_build_the_automaton_once():
    """5,000 terms over 1 MB of text: the one planted term is found, and a second run reuses the
    automaton (its speed is measured in benchmarks/, not asserted here)."""
    rng = random.Random(7)
    alphabet = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经"
    words = ("".join(rng.choice(alphabet) for _ in range(rng.randint(4, 8))) for _ in range(5200))
    terms = tuple(dict.fromkeys(words))[:5000]
    assert len(terms) == 5000
    target = terms[4321]
    pages = [page(f"p{i}", text="".join(rng.choice("，。甲乙丙丁戊己庚辛壬癸") for _ in range(5000))) for i in range(200)]
    pages.append(page("hit", text="前文" * 20 + target + "后文" * 20))
    artifacts = site(*(article(p) for p in pages), lexicon=terms)
    content_serious_error.build_matcher.cache_clear()
    findings = content_serious_error.run(artifacts, settings("content.serious_error"))
    assert summary(findings) == [("content.serious_error", f"{target}@{SITE}zwdt/hit.html", "veto")]
    again = content_serious_error.run(artifacts, settings("content.serious_error"))
    assert summary(again) == summary(findings)
    info = content_serious_error.build_matcher.cache_info()
    assert (info.misses, info.hits) == (1, 1)

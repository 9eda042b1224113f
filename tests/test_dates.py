"""Chinese date parsing: every format the pages use, and the dates that must not be read."""

from __future__ import annotations

import datetime

import pytest

from govmon.crawler.dates import PageDate, find_dates, parse_date, resolve_yearless

D = datetime.date
T = datetime.time


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2023-05-10", (2023, 5, 10)),
        ("2023/5/10", (2023, 5, 10)),
        ("2023.05.10", (2023, 5, 10)),
        ("2023年5月10日", (2023, 5, 10)),
        ("2023年05月10日", (2023, 5, 10)),
        ("2023 年 5 月 10 日", (2023, 5, 10)),
        ("２０２３年５月１０日", (2023, 5, 10)),
        ("２０２３－０５－１０", (2023, 5, 10)),
        ("二〇二三年七月十四日", (2023, 7, 14)),
        ("二○○四年十一月四日", (2004, 11, 4)),  # ○ (U+25CB), not 〇
        ("二OO四年十一月四日", (2004, 11, 4)),  # Latin capital O
        ("二零零四年十一月四日", (2004, 11, 4)),
        ("二0二三年三月三十一日", (2023, 3, 31)),  # a digit zero among numerals
        ("一九九六年六月二十九日", (1996, 6, 29)),
        ("二〇一八年十二月七日", (2018, 12, 7)),
        ("二〇二三年十月三十一日", (2023, 10, 31)),
        ("二〇〇五年七月二十日", (2005, 7, 20)),
        ("发布日期：2018年12月24日", (2018, 12, 24)),
        ("（2023年4月12日）", (2023, 4, 12)),
        ("2024年2月29日", (2024, 2, 29)),
        ("May 10, 2023", (2023, 5, 10)),
    ],
)
def test_day_precision_formats(text: str, expected: tuple[int, int, int]) -> None:
    found = parse_date(text)
    assert found is not None
    assert (found.year, found.month, found.day) == expected
    assert found.precision == "day"
    assert found.as_date() == D(*expected)
    assert found.iso() == "%04d-%02d-%02d" % expected


def test_raw_is_the_exact_span() -> None:
    assert parse_date("发布时间：２０２３年５月１０日 来源：本网").raw == "２０２３年５月１０日"
    assert parse_date("（二〇〇五年七月十四日）").raw == "二〇〇五年七月十四日"
    assert parse_date("时间：2019-09-18 06:23").raw == "2019-09-18 06:23"


@pytest.mark.parametrize(
    "text, expected_time, shown",
    [
        ("2023-05-10 10:49", T(10, 49), "10:49"),
        ("2023-05-10 10:49:00", T(10, 49), "10:49:00"),
        ("2023-05-10 10:49:07", T(10, 49, 7), "10:49:07"),
        ("2023年5月10日 10时49分", T(10, 49), "10:49"),
        ("2023年5月10日10时49分30秒", T(10, 49, 30), "10:49:30"),
        ("2023-05-10T08:05:00+08:00", T(8, 5), "08:05:00"),
        ("2023-05-10 １０：４９", T(10, 49), "10:49"),
    ],
)
def test_times(text: str, expected_time: datetime.time, shown: str) -> None:
    found = parse_date(text)
    assert found is not None and found.as_date() == D(2023, 5, 10)
    assert found.time == expected_time
    assert found.time_iso() == shown


def test_no_time_when_not_shown() -> None:
    found = parse_date("2023-05-10")
    assert found.time is None and found.time_iso() is None


def test_an_invalid_time_is_dropped_not_the_date() -> None:
    found = parse_date("2023-05-10 25:61")
    assert found is not None and found.as_date() == D(2023, 5, 10) and found.time is None


@pytest.mark.parametrize(
    "text",
    [
        "2023-02-30",
        "2023-13-01",
        "2023年13月1日",
        "2023年2月29日",  # not a leap year
        "2023-04-31",
        "二〇二三年二月三十日",
        "2023-00-10",
        "2023-05-00",
        "1850-01-01",
        "",
        "没有日期的文字",
        "第2023号",
        "12345678",
        "2023-5/10",  # mixed separators
    ],
)
def test_not_dates(text: str) -> None:
    assert parse_date(text) is None


def test_month_only_keeps_day_none() -> None:
    for text in ("（2023年5月）", "2023年5月", "二〇二三年五月", "（二〇二三年五月）"):
        found = parse_date(text)
        assert found == PageDate(2023, 5, None, None, found.raw), text
        assert found.precision == "month"
        assert found.iso() == "2023-05"
        assert found.as_date() is None


def test_month_only_is_not_a_prefix_of_a_full_date() -> None:
    assert parse_date("2023年5月10日").day == 10
    assert parse_date("二〇二三年五月十日").day == 10


def test_yearless_needs_context() -> None:
    assert parse_date("05-10") is None
    assert parse_date("5月10日") is None
    assert find_dates("05-10 标题") == []


@pytest.mark.parametrize(
    "text, context, expected",
    [
        ("12-30", D(2024, 1, 3), D(2023, 12, 30)),  # across New Year
        ("01-02", D(2024, 1, 3), D(2024, 1, 2)),
        ("01-03", D(2024, 1, 3), D(2024, 1, 3)),
        ("05-10", D(2023, 6, 1), D(2023, 5, 10)),
        ("07-10", D(2023, 6, 1), D(2022, 7, 10)),  # later in the year than the context: last year
        ("5月10日", D(2023, 6, 1), D(2023, 5, 10)),
        ("12月31日", D(2024, 1, 1), D(2023, 12, 31)),
        ("[12-28]", D(2024, 1, 5), D(2023, 12, 28)),
        ("(01-04)", D(2024, 1, 5), D(2024, 1, 4)),
        ("02-29", D(2023, 3, 1), D(2020, 2, 29)),  # nearest year on or before that has the day
        ("５－１０", D(2023, 6, 1), D(2023, 5, 10)),
    ],
)
def test_yearless_resolution(text: str, context: datetime.date, expected: datetime.date) -> None:
    found = parse_date(text, context=context)
    assert found is not None and found.as_date() == expected


def test_yearless_invalid() -> None:
    assert parse_date("02-30", context=D(2024, 1, 3)) is None
    assert parse_date("13-01", context=D(2024, 1, 3)) is None


def test_full_dates_ignore_context() -> None:
    assert parse_date("2021-05-10", context=D(2024, 1, 3)).as_date() == D(2021, 5, 10)


def test_resolve_yearless_grace_day_for_time_zones() -> None:
    # the HTTP Date header is GMT; a Beijing page can be dated the next day
    assert resolve_yearless(1, 4, D(2024, 1, 3)) == 2024
    assert resolve_yearless(1, 5, D(2024, 1, 3)) == 2023


def test_find_dates_in_order() -> None:
    text = "于2023年5月10日发布，2022-01-01 至 2022年3月，落款 二〇〇五年七月十四日，非法 2023-02-30。"
    assert [d.iso() for d in find_dates(text)] == ["2023-05-10", "2022-01-01", "2022-03", "2005-07-14"]


def test_find_dates_yearless_with_context() -> None:
    found = find_dates("[12-30] 通知 [01-02] 公告", context=D(2024, 1, 3))
    assert [d.iso() for d in found] == ["2023-12-30", "2024-01-02"]


def test_dateparser_fallback_never_fills_in() -> None:
    assert parse_date("May 2023") is None
    assert parse_date("3 days ago") is None
    assert parse_date("yesterday") is None
    assert parse_date("10 May") is None


def test_version_numbers_and_phone_numbers_are_not_dates() -> None:
    assert parse_date("版本 1.2023.05") is None
    assert parse_date("电话 0795-3221234") is None


def test_pagedate_is_hashable_and_frozen() -> None:
    d = PageDate(2023, 5, 10)
    assert {d: 1}[PageDate(2023, 5, 10)] == 1
    with pytest.raises(AttributeError):
        d.year = 2024  # type: ignore[misc]

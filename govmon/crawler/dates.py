"""Chinese date parsing for government pages.

Government pages write dates as ``2023-05-10``, ``2023/5/10``, ``2023.05.10``,
``2023年5月10日``, ``二〇二三年七月十四日`` (with 〇, ○, O or 零 for zero),
with full-width digits (``２０２３年``), sometimes with a time (``10:49``,
``10:49:00``, ``10时49分``), sometimes with the month only (``（2023年5月）``) and,
in column lists, without the year (``05-10``).

The rules here never invent a part of a date: a month-only date stays month-only
(``day is None``), a year-less date is given a year only when the caller passes a
context date, and an impossible date (2023-02-30, month 13) is no date at all.
Regular expressions do the work; cn2an converts only a matched Chinese-numeral span;
dateparser is a last resort for short spans the expressions do not recognise (English
month names) and only when it finds a day, a month and a year written in the text.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["PageDate", "parse_date", "find_dates", "resolve_yearless"]

MIN_YEAR = 1900
MAX_YEAR = 2100


@dataclass(frozen=True, slots=True)
class PageDate:
    """A date as a page shows it: day may be missing (month precision), time is optional."""

    year: int
    month: int
    day: int | None
    time: datetime.time | None = None
    raw: str = ""

    def iso(self) -> str:
        """``2023-05-10``, or ``2023-05`` for a month-only date."""
        if self.day is None:
            return f"{self.year:04d}-{self.month:02d}"
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"

    @property
    def precision(self) -> Literal["day", "month"]:
        return "month" if self.day is None else "day"

    def as_date(self) -> datetime.date | None:
        """The calendar date, or None for a month-only date."""
        if self.day is None:
            return None
        return datetime.date(self.year, self.month, self.day)

    def time_iso(self) -> str | None:
        """``HH:MM`` or ``HH:MM:SS`` as shown, or None."""
        if self.time is None:
            return None
        shown_seconds = self.time.second or _normalise(self.raw).count(":") >= 2 or "秒" in self.raw
        return self.time.strftime("%H:%M:%S" if shown_seconds else "%H:%M")


# --- text normalisation (length-preserving, so match offsets index the original) ---

_FULLWIDTH = {ord("０") + i: ord("0") + i for i in range(10)}
_FULLWIDTH.update(
    {
        ord("－"): ord("-"),
        ord("／"): ord("/"),
        ord("．"): ord("."),
        ord("："): ord(":"),
        ord("Ｏ"): ord("O"),
        ord("ｏ"): ord("o"),
        ord("Ｔ"): ord("T"),
        ord("\u3000"): ord(" "),
        ord("\xa0"): ord(" "),
        ord("\u2010"): ord("-"),
        ord("\u2011"): ord("-"),
        ord("\u2012"): ord("-"),
        ord("\u2013"): ord("-"),
        ord("\u2212"): ord("-"),
        ord("\ufe63"): ord("-"),
    }
)


def _normalise(text: str) -> str:
    return text.translate(_FULLWIDTH)


# --- the patterns ---

_TIME = (
    r"(?:(?:\s{0,3}|T)(?:"
    r"(?P<H>[01]?\d|2[0-3])\s?:\s?(?P<M>[0-5]\d)(?:\s?:\s?(?P<S>[0-5]\d))?(?![\d:])"
    r"|(?P<cH>[01]?\d|2[0-3])\s?[时點点]\s?(?P<cM>[0-5]?\d)\s?分(?:\s?(?P<cS>[0-5]?\d)\s?秒)?"
    r"))?"
)

# 2023-05-10, 2023/5/10, 2023.05.10, 2023年5月10日 (separator pairs checked in code)
_YMD = (
    r"(?P<ymd>(?<![\d.])(?P<y>(?:19|20|21)\d\d)\s?(?P<s1>[-/.年])\s?(?P<m>\d{1,2})"
    r"\s?(?P<s2>[-/.月])\s?(?P<d>\d{1,2})(?!\d)(?:\s?[日号])?" + _TIME + r")"
)
_CN_ZERO = "〇○零Oo0"
_CN_DIGIT = "〇○零Oo0一二三四五六七八九"
_CN_SMALL = "一二三四五六七八九十廿卅"
# 二〇二三年七月十四日 (month and day may also be Arabic: 二〇二三年7月14日)
_CN_YMD = (
    rf"(?P<cymd>(?P<cy>[{_CN_DIGIT}]{{4}})\s?年\s?(?P<cm>[{_CN_SMALL}]{{1,3}}|\d{{1,2}})\s?月"
    rf"\s?(?P<cd>[{_CN_SMALL}]{{1,3}}|\d{{1,2}})\s?[日号])"
)
# month only: 2023年5月 / 二〇二三年五月 — not followed by a day
_YM = (
    r"(?P<ym>(?<![\d.])(?P<my>(?:19|20|21)\d\d)\s?年\s?(?P<mm>\d{1,2})\s?月"
    r"(?!\s?\d)(?!\s?[一二三四五六七八九十廿卅]))"
)
_CN_YM = (
    rf"(?P<cym>(?P<cmy>[{_CN_DIGIT}]{{4}})\s?年\s?(?P<cmm>[{_CN_SMALL}]{{1,3}})\s?月"
    rf"(?!\s?[{_CN_SMALL}\d]))"
)
# year-less: 05-10, 5/10, 5月10日 (only with a context date)
_MD = (
    r"(?P<md>(?<![\d./\-:])(?P<om>\d{1,2})(?P<os>[-/])(?P<od>\d{1,2})(?![\d/\-])" + _TIME.replace("?P<", "?P<o") + r")"
    r"|(?P<cnmd>(?<![\d年.])(?P<nm>\d{1,2})\s?月\s?(?P<nd>\d{1,2})\s?[日号])"
)

_DATES = re.compile("|".join([_YMD, _CN_YMD, _YM, _CN_YM]))
_DATES_YEARLESS = re.compile("|".join([_YMD, _CN_YMD, _YM, _CN_YM, _MD]))

_SEPARATOR_PAIRS = {("-", "-"), ("/", "/"), (".", "."), ("年", "月")}
_ZERO_TABLE = str.maketrans({c: "〇" for c in _CN_ZERO})


def _cn_number(span: str) -> int | None:
    """A Chinese numeral span (〇/○/O/零 for zero, 十/廿/卅) as an int, via cn2an."""
    if span.isdigit():
        return int(span)
    span = span.translate(_ZERO_TABLE).replace("廿", "二十").replace("卅", "三十")
    import cn2an  # imported lazily: it is slow to import and rarely needed

    try:
        value = cn2an.cn2an(span, "normal")
    except Exception:  # cn2an rejects malformed numerals in several ways; none is a number
        return None
    return int(value) if value == int(value) else None


def _cn_year(span: str) -> int | None:
    """A year written digit by digit: 二〇〇五, 一九九六, 二0二三."""
    digits = []
    for ch in span.translate(_ZERO_TABLE):
        idx = "〇一二三四五六七八九".find(ch)
        if idx < 0:
            return None
        digits.append(str(idx))
    return int("".join(digits))


def _make_time(h: str | None, m: str | None, s: str | None) -> datetime.time | None:
    if h is None or m is None:
        return None
    try:
        return datetime.time(int(h), int(m), int(s) if s else 0)
    except ValueError:
        return None


_MONTH_DAYS = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _valid(year: int, month: int, day: int | None) -> bool:
    if not (MIN_YEAR <= year <= MAX_YEAR and 1 <= month <= 12):
        return False
    if day is None:
        return True
    if not 1 <= day <= _MONTH_DAYS[month]:
        return False
    if month == 2 and day == 29:
        return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return True


def resolve_yearless(month: int, day: int, context: datetime.date) -> int | None:
    """The year that puts month-day nearest to, and on or before, ``context``.

    One day of grace after the context is allowed, because the HTTP ``Date`` header is in
    GMT while the pages are dated in Beijing time. Returns None when month-day never
    exists (e.g. 02-30)."""
    limit = context + datetime.timedelta(days=1)
    for year in range(limit.year, limit.year - 9, -1):
        try:
            candidate = datetime.date(year, month, day)
        except ValueError:
            continue
        if candidate <= limit:
            return year
    return None


def _from_match(m: re.Match[str], original: str, context: datetime.date | None) -> PageDate | None:
    raw = original[m.start() : m.end()].strip()
    kind = m.lastgroup
    if kind == "ymd":
        y, s1, mo, s2, d, h, ch = m.group("y", "s1", "m", "s2", "d", "H", "cH")
        if (s1, s2) not in _SEPARATOR_PAIRS:
            return None
        year, month, day = int(y), int(mo), int(d)
        if not _valid(year, month, day):
            return None
        tm = None
        if h is not None:
            tm = _make_time(h, m.group("M"), m.group("S"))
        elif ch is not None:
            tm = _make_time(ch, m.group("cM"), m.group("cS"))
        return PageDate(year, month, day, tm, raw)
    if kind == "cymd":
        year = _cn_year(m["cy"])
        month = _cn_number(m["cm"])
        day = _cn_number(m["cd"])
        if year is None or month is None or day is None or not _valid(year, month, day):
            return None
        return PageDate(year, month, day, None, raw)
    if kind == "ym":
        year, month = int(m["my"]), int(m["mm"])
        return PageDate(year, month, None, None, raw) if _valid(year, month, None) else None
    if kind == "cym":
        year = _cn_year(m["cmy"])
        month = _cn_number(m["cmm"])
        if year is None or month is None or not _valid(year, month, None):
            return None
        return PageDate(year, month, None, None, raw)
    if kind in ("md", "cnmd") and context is not None:
        if kind == "md":
            month, day = int(m["om"]), int(m["od"])
            tm = _make_time(m["oH"] or m["ocH"], m["oM"] or m["ocM"], m["oS"] or m["ocS"])
        else:
            month, day, tm = int(m["nm"]), int(m["nd"]), None
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return None
        year = resolve_yearless(month, day, context)
        if year is None:
            return None
        return PageDate(year, month, day, tm, raw)
    return None


def _iter_dates(text: str, context: datetime.date | None) -> list[tuple[int, int, PageDate]]:
    normal = text.translate(_FULLWIDTH)
    pattern = _DATES_YEARLESS if context is not None else _DATES
    out = []
    for m in pattern.finditer(normal):
        found = _from_match(m, text, context)
        if found is not None:
            out.append((m.start(), m.end(), found))
    return out


def find_dates(text: str, *, context: datetime.date | None = None) -> list[PageDate]:
    """Every valid date in ``text``, in order. Year-less dates only when ``context`` is given."""
    if not text:
        return []
    return [d for _, _, d in _iter_dates(text, context)]


def find_date_spans(text: str, *, context: datetime.date | None = None) -> list[tuple[int, int, PageDate]]:
    """Like :func:`find_dates`, with each date's start and end offsets in ``text``."""
    if not text:
        return []
    return _iter_dates(text, context)


_DATEPARSER_OK = re.compile(r"(?<!\d)(?:19|20|21)\d\d(?!\d)")
_HAS_LETTERS = re.compile(r"[A-Za-z]{3,}")
_RELATIVE = re.compile(r"(?i)\b(?:ago|today|yesterday|tomorrow|now|next|last)\b|前|昨|今|明|后")


def _dateparser_fallback(text: str) -> PageDate | None:
    """English month names and the like; never fills in a missing day or year."""
    if len(text) > 64 or not _DATEPARSER_OK.search(text) or not _HAS_LETTERS.search(text):
        return None
    if _RELATIVE.search(text):
        return None
    try:
        import dateparser

        parsed = dateparser.parse(
            text,
            languages=["en"],
            settings={
                "REQUIRE_PARTS": ["day", "month", "year"],
                "STRICT_PARSING": True,
                "RETURN_AS_TIMEZONE_AWARE": False,
            },
        )
    except Exception:  # dateparser raises a variety of errors on odd input
        return None
    if parsed is None or str(parsed.year) not in text or not _valid(parsed.year, parsed.month, parsed.day):
        return None
    tm = None
    if ":" in text and (parsed.hour or parsed.minute or parsed.second):
        tm = datetime.time(parsed.hour, parsed.minute, parsed.second)
    return PageDate(parsed.year, parsed.month, parsed.day, tm, text.strip())


def parse_date(text: str, *, context: datetime.date | None = None) -> PageDate | None:
    """The first valid date in a short span of text, or None.

    Year-less dates (``05-10``, ``5月10日``) are read only when ``context`` is given, and
    take the year that puts them nearest to, on or before, the context."""
    if not text:
        return None
    m = (_DATES_YEARLESS if context is not None else _DATES).search(text.translate(_FULLWIDTH))
    if m is not None:
        found = _from_match(m, text, context)
        if found is not None:
            return found
        for _, _, found in _iter_dates(text, context):
            return found
        return None
    return _dateparser_fallback(text)

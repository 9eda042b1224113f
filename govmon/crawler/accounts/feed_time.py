"""Parsing of the time strings feeds and platforms show (RFC 822, ISO 8601, Weibo's forms)."""

from __future__ import annotations

import datetime as dt
import email.utils
import re

_WEIBO_FORMAT = "%a %b %d %H:%M:%S %z %Y"


def parse_feed_time(text: str | None, tz: dt.tzinfo) -> dt.datetime | None:
    """RFC 822 (RSS ``pubDate``) or ISO 8601 (Atom, JSON Feed) as an aware datetime in ``tz``."""
    if not text or not text.strip():
        return None
    text = text.strip()
    value: dt.datetime | None = None
    try:
        value = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        value = None
    if value is None:
        iso = text.replace("Z", "+00:00") if text.endswith("Z") else text
        try:
            value = dt.datetime.fromisoformat(iso)
        except ValueError:
            return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(tz)


def parse_weibo_time(text: str | None, tz: dt.tzinfo, now: dt.datetime) -> dt.datetime | None:
    """m.weibo.cn ``created_at``: ``Sat Jun 14 12:00:00 +0800 2025`` and the legacy relative forms."""
    if not text or not text.strip():
        return None
    text = text.strip()
    now = now.astimezone(tz)
    try:
        return dt.datetime.strptime(text, _WEIBO_FORMAT).astimezone(tz)
    except ValueError:
        pass
    if text == "刚刚":
        return now
    if m := re.fullmatch(r"(\d+)\s*分钟前", text):
        return now - dt.timedelta(minutes=int(m[1]))
    if m := re.fullmatch(r"(\d+)\s*小时前", text):
        return now - dt.timedelta(hours=int(m[1]))
    if m := re.fullmatch(r"(昨天|今天)\s*(\d{1,2}):(\d{2})", text):
        day = now.date() - dt.timedelta(days=1 if m[1] == "昨天" else 0)
        return dt.datetime(day.year, day.month, day.day, int(m[2]), int(m[3]), tzinfo=tz)
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text):
        return dt.datetime(int(m[1]), int(m[2]), int(m[3]), tzinfo=tz)
    if m := re.fullmatch(r"(\d{1,2})-(\d{1,2})", text):
        candidate = dt.datetime(now.year, int(m[1]), int(m[2]), tzinfo=tz)
        return candidate if candidate <= now else candidate.replace(year=now.year - 1)
    return None

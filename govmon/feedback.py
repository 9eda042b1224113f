"""我为政府网站找错 messages: read the platform's export (xlsx or csv), report 办结率.

The file has one message a row with the columns received (收到/留言时间), site (网站),
content (留言内容), deadline (办理期限) and handled (办结时间; empty while open). Headers
may be written in English or Chinese. For a period the rollup reports the messages
received in it, those handled by their deadline, the 办结率 (handled on time over
received) and the overdue ones.

Errors name the file, the row and the column, in Chinese.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from govmon.findings import Period

__all__ = ["FeedbackError", "FeedbackMessage", "feedback_stats", "load_messages", "read_feedback_file", "store_messages"]

COLUMNS: dict[str, tuple[str, ...]] = {
    "received": ("received", "收到时间", "留言时间", "收到日期", "留言日期", "提交时间", "接收时间"),
    "site": ("site", "网站", "网站名称", "被留言网站", "网站名"),
    "content": ("content", "留言内容", "内容", "问题描述"),
    "deadline": ("deadline", "办理期限", "期限", "截止时间", "办结期限", "应办结时间"),
    "handled": ("handled", "办结时间", "办理时间", "办结日期", "答复时间", "回复时间"),
}
REQUIRED = ("received", "site", "deadline")
LABELS = {"received": "收到时间", "site": "网站", "content": "留言内容", "deadline": "办理期限", "handled": "办结时间"}
_OPEN_WORDS = {"", "未办结", "办理中", "未处理", "否", "无", "-", "—", "null", "none"}


class FeedbackError(ValueError):
    """A feedback file that cannot be read; the message names file, row and column."""


@dataclass(frozen=True)
class FeedbackMessage:
    received: dt.date
    site: str
    content: str
    deadline: dt.date
    handled: dt.date | None

    @property
    def handled_on_time(self) -> bool:
        return self.handled is not None and self.handled <= self.deadline

    def overdue(self, as_of: dt.date) -> bool:
        """Not handled by the deadline: handled late, or still open after it."""
        if self.handled is not None:
            return self.handled > self.deadline
        return as_of > self.deadline


def _parse_date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if text.lower() in _OPEN_WORDS:
        return None
    match = re.match(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?", text)
    if not match:
        raise ValueError(text)
    return dt.date(int(match[1]), int(match[2]), int(match[3]))


def _header_map(header: Sequence[Any], source: str) -> dict[str, int]:
    names = [str(h or "").strip().lower() for h in header]
    found: dict[str, int] = {}
    for key, aliases in COLUMNS.items():
        for index, name in enumerate(names):
            if name in {a.lower() for a in aliases}:
                found[key] = index
                break
    missing = [LABELS[k] + f"（{k}）" for k in REQUIRED if k not in found]
    if missing:
        raise FeedbackError(f"{source}：第 1 行缺少列 {'、'.join(missing)}；表头应包含 received、site、content、deadline、handled（或中文列名）")
    return found


def _rows(path: Path) -> Iterable[Sequence[Any]]:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True, data_only=True)
        try:
            yield from book.worksheets[0].iter_rows(values_only=True)
        finally:
            book.close()
    elif suffix in (".csv", ".txt"):
        raw = path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:  # pragma: no cover - gb18030 decodes anything
            raise FeedbackError(f"{path}：无法识别文件编码，请另存为 UTF-8")
        yield from csv.reader(io.StringIO(text))
    else:
        raise FeedbackError(f"{path}：只支持 .xlsx 或 .csv 文件")


def read_feedback_file(path: str | Path) -> list[FeedbackMessage]:
    """Every message of an xlsx or csv export; FeedbackError names the bad row and column."""
    file = Path(path)
    if not file.is_file():
        raise FeedbackError(f"{file}：找不到文件")
    rows = iter(_rows(file))
    try:
        header = next(rows)
    except StopIteration:
        raise FeedbackError(f"{file}：文件是空的") from None
    columns = _header_map(header, str(file))
    messages = []
    for number, row in enumerate(rows, start=2):
        if not any(str(c or "").strip() for c in row):
            continue

        def cell(key: str, row: Sequence[Any] = row) -> Any:
            index = columns.get(key)
            return row[index] if index is not None and index < len(row) else None

        values: dict[str, Any] = {}
        for key in ("received", "deadline", "handled"):
            try:
                values[key] = _parse_date(cell(key))
            except ValueError:
                raise FeedbackError(
                    f"{file}：第 {number} 行“{LABELS[key]}”不是日期：{str(cell(key))[:40]!r}（应为 2023-06-30 这样的格式）"
                ) from None
        for key in ("received", "deadline"):
            if values[key] is None:
                raise FeedbackError(f"{file}：第 {number} 行缺少“{LABELS[key]}”")
        site = str(cell("site") or "").strip()
        if not site:
            raise FeedbackError(f"{file}：第 {number} 行缺少“网站”")
        messages.append(FeedbackMessage(
            received=values["received"], site=site, content=str(cell("content") or "").strip(),
            deadline=values["deadline"], handled=values["handled"],
        ))
    return messages


def feedback_stats(messages: Iterable[FeedbackMessage], period: Period, rate_format: Any, tz: Any) -> dict[str, Any]:
    """Received in the period, handled on time, 办结率, and the overdue ones."""
    first = period.start.astimezone(tz).date()
    end = period.end.astimezone(tz).date()  # exclusive
    last = end - dt.timedelta(days=1)
    received = [m for m in messages if first <= m.received < end]
    on_time = [m for m in received if m.handled_on_time]
    overdue = [m for m in received if m.overdue(last)]
    return {
        "received": len(received),
        "handled_on_time": len(on_time),
        "rate": f"{len(on_time)}/{len(received)}" if received else None,
        "rate_text": rate_format.format(len(on_time), len(received)),
        "overdue": len(overdue),
        "overdue_messages": [
            {"received": m.received.isoformat(), "site": m.site, "content": m.content,
             "deadline": m.deadline.isoformat(), "handled": m.handled.isoformat() if m.handled else None}
            for m in overdue
        ],
    }


# --------------------------------------------------------------------------- storage


def _content_hash(content: str) -> str:
    import hashlib

    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def store_messages(session: Any, messages: Iterable[FeedbackMessage], source: str | None = None) -> tuple[int, int]:
    """Insert new messages, update deadline/handled of known ones; (added, updated). Flushes."""
    from sqlalchemy import select

    from govmon.db import write_lock
    from govmon.models import FeedbackMessage as Row

    write_lock(session, "feedback")
    added = updated = 0
    pending: dict[tuple[dt.date, str, str], FeedbackMessage] = {}
    for message in messages:
        pending[(message.received, message.site, _content_hash(message.content))] = message
    days = {key[0] for key in pending}
    existing: dict[tuple[dt.date, str, str], Any] = {}
    day_list = sorted(days)
    for start in range(0, len(day_list), 500):
        for row in session.scalars(select(Row).where(Row.received.in_(day_list[start : start + 500]))):
            existing[(row.received, row.site, row.content_hash)] = row
    for key, message in pending.items():
        row = existing.get(key)
        if row is None:
            session.add(Row(received=message.received, site=message.site, content=message.content,
                            content_hash=key[2], deadline=message.deadline, handled=message.handled,
                            source_file=source))
            added += 1
        elif (row.deadline, row.handled) != (message.deadline, message.handled):
            row.deadline, row.handled, row.source_file = message.deadline, message.handled, source
            updated += 1
    session.flush()
    return added, updated


def load_messages(session: Any, period: Period | None = None, tz: Any = None) -> list[FeedbackMessage]:
    """Stored messages (received in ``period`` when given), oldest first."""
    from sqlalchemy import select

    from govmon.models import FeedbackMessage as Row

    stmt = select(Row).order_by(Row.received, Row.id)
    if period is not None:
        stmt = stmt.where(
            Row.received >= period.start.astimezone(tz).date(), Row.received < period.end.astimezone(tz).date()
        )
    return [FeedbackMessage(r.received, r.site, r.content, r.deadline, r.handled) for r in session.scalars(stmt)]

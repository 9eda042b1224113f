"""What a page shows of a portal's features: its search forms and, on a message page, the message.

* :func:`search_forms` — the forms a reader can search the site with: a form holding a text
  input named like a query (q, query, keyword, searchword…) or whose action names a search
  (search, so, jsearch…). Recorded with the absolute action, the method, the query field and
  the form's hidden fields, so the scan can submit a query the way the form would.
* :func:`read_message` — on a 领导信箱 / 咨询投诉 message page: when the message was left
  (留言时间 / 提问时间 / 来信时间…), when it was answered (回复时间 / 答复时间…) and the state
  the page shows (已回复 / 未回复 / 办理中…). None when the page shows no 留言 date.

Both record what the page shows; nothing here judges.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin

from govmon.crawler.dates import parse_date

SEARCH_FIELD_NAMES = frozenset({
    "q", "query", "keyword", "keywords", "searchword", "searchwords", "kw", "wd", "key", "word", "words",
    "search", "searchkey", "searchtext", "text", "qt", "sw", "title",
})
_SEARCH_ACTION = re.compile(r"search|(?:^|[/._?=-])so(?:$|[/._?=-])|jsearch|sousuo|ssjg", re.I)
_TEXT_INPUT_TYPES = frozenset({"", "text", "search"})


def search_forms(doc: Any, base_url: str) -> list[dict[str, Any]]:
    """The search forms of a parsed page (lxml element tree), in page order."""
    found: list[dict[str, Any]] = []
    for form in doc.iter("form"):
        action = (form.get("action") or "").strip()
        text_fields: list[str] = []
        hidden: dict[str, str] = {}
        for field in form.iter("input"):
            name = (field.get("name") or "").strip()
            kind = (field.get("type") or "").strip().lower()
            if not name:
                continue
            if kind == "hidden":
                hidden[name] = field.get("value") or ""
            elif kind in _TEXT_INPUT_TYPES:
                text_fields.append(name)
        named = [name for name in text_fields if name.lower() in SEARCH_FIELD_NAMES]
        if not named and not (text_fields and _SEARCH_ACTION.search(action)):
            continue
        found.append({
            "action": urljoin(base_url, action) if action else base_url,
            "method": "POST" if (form.get("method") or "").strip().upper() == "POST" else "GET",
            "field": (named or text_fields)[0],
            "hidden": hidden,
        })
    return found


_ASKED = re.compile(r"(?:留言|提问|来信|咨询|投诉|提交|写信)(?:时间|日期)\s*[:：]?\s*(.{0,24})")
_ANSWERED = re.compile(r"(?:回复|答复|办理|处理|办结|反馈)(?:时间|日期)\s*[:：]?\s*(.{0,24})")
_STATE = re.compile(r"(?:办理|处理|回复|答复)?状\s*态\s*[:：]?\s*(已回复|已答复|已办结|已处理|未回复|未答复|待回复|待处理|办理中|处理中|受理中)")
ANSWERED_STATES = frozenset({"已回复", "已答复", "已办结", "已处理"})


def read_message(text: str) -> dict[str, Any] | None:
    """A message page's 留言 date, reply date and shown state (ISO dates), or None."""
    asked_match = _ASKED.search(text)
    asked = parse_date(asked_match.group(1)) if asked_match else None
    if asked is None or asked.as_date() is None:
        return None
    answered_match = _ANSWERED.search(text)
    answered = parse_date(answered_match.group(1)) if answered_match else None
    state_match = _STATE.search(text)
    return {
        "asked": asked.iso(),
        "answered": answered.iso() if answered is not None and answered.as_date() is not None else None,
        "state": state_match.group(1) if state_match else None,
    }

"""Plain-text tables and CSV for the terminal: CJK-aware column widths, no colours in pipes."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from typing import Any, Sequence

SEVERITY_LABELS = {"veto": "单项否决", "deduct": "扣分", "notice": "提示"}
STATUS_LABELS = {"open": "未解决", "resolved": "已解决", "dismissed": "已忽略"}


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


def table(head: Sequence[str], rows: Sequence[Sequence[str]], *, max_width: int = 60) -> str:
    """Columns padded to their widest cell (cells longer than ``max_width`` are cut with …)."""

    def cut(cell: str) -> str:
        cell = " ".join(str(cell).split())
        if display_width(cell) <= max_width:
            return cell
        out, width = "", 0
        for ch in cell:
            width += display_width(ch)
            if width > max_width - 1:
                return out + "…"
            out += ch
        return out

    cells = [[cut(c) for c in head]] + [[cut(c) for c in row] for row in rows]
    widths = [max(display_width(row[i]) for row in cells) for i in range(len(head))]
    lines = ["  ".join(_pad(c, w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def check_title(check_id: str) -> str:
    """The check's Chinese title (指标) from the registry, or its id when unknown."""
    from govmon.checks.registry import CHECKS

    check = CHECKS.get(check_id)
    return check.title if check is not None else check_id


def findings_as_table(findings: Sequence[dict[str, Any]]) -> str:
    if not findings:
        return "没有发现问题。"
    rows = [
        [str(f["id"]), f["target"], SEVERITY_LABELS.get(f["severity"], f["severity"]), check_title(f["check"]),
         f["message"],
         f.get("url") or "", f["first_seen"][:10], f["last_seen"][:10], STATUS_LABELS.get(f["status"], f["status"])]
        for f in findings
    ]
    head = ["编号", "对象", "性质", "检查项", "问题", "网址", "首次发现", "最近发现", "状态"]
    return table(head, rows) + f"\n共 {len(findings)} 条"


def findings_as_csv(findings: Sequence[dict[str, Any]]) -> str:
    """CSV with a BOM-free UTF-8 header; evidence as a JSON cell (Excel: import as UTF-8)."""
    out = io.StringIO()
    fields = ["id", "target", "target_id", "kind", "organizer", "category", "check", "severity", "message",
              "url", "evidence", "first_seen", "last_seen", "status"]
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for f in findings:
        writer.writerow({**f, "evidence": json.dumps(f.get("evidence") or {}, ensure_ascii=False)})
    return out.getvalue()

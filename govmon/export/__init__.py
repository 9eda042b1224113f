"""Writers of the quarterly rollup: xlsx, docx, csv, json and html (INTERFACE.md ``report``).

Every writer takes a :class:`govmon.rollup.Rollup` and a path and returns the paths it
wrote. Scraped text (titles, messages, URLs) is untrusted everywhere: spreadsheet cells
never become formulas, HTML is escaped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from govmon.rollup import Rollup

FORMATS: tuple[str, ...] = ("xlsx", "docx", "csv", "json", "html")


def write_report(rollup: Rollup, output_format: str, path: str | Path, tz: Any) -> list[Path]:
    """Write ``rollup`` as ``output_format`` to ``path``; the files written."""
    target = Path(path)
    if output_format == "xlsx":
        from govmon.export.xlsx import write_xlsx

        return [write_xlsx(rollup, target, tz)]
    if output_format == "docx":
        from govmon.export.docx import write_docx

        return [write_docx(rollup, target, tz)]
    if output_format == "csv":
        from govmon.export.csv_json import write_csv

        return write_csv(rollup, target, tz)
    if output_format == "json":
        from govmon.export.csv_json import write_json

        return [write_json(rollup, target, tz)]
    if output_format == "html":
        from govmon.export.html import write_html

        return [write_html(rollup, target, tz)]
    raise ValueError(f"不支持的格式 {output_format!r}；可选：{'、'.join(FORMATS)}")

"""The rollup as CSV (three files: verdicts, pass rates, findings) and as one JSON document.

CSV files are UTF-8 with a BOM so Excel shows the Chinese correctly; every cell that a
spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@``…) is prefixed with ``'``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from govmon.export.common import (
    FINDING_HEADER,
    RATE_HEADER,
    RECTIFICATION_HEADER,
    category_label,
    finding_row,
    inert_csv,
    rate_rows,
    rectification_rows,
)
from govmon.rollup import Rollup

VERDICT_HEADER = ["序号", "名称", "对象类型", "主办单位", "类别", "检查结论", "得分", "不合格原因", "存在的突出问题", "检查采样时间"]


def _write(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([v if isinstance(v, (int, float)) else inert_csv(v) for v in row])
    return path


def companion(path: Path, suffix: str) -> Path:
    """``report.csv`` → ``report_问题明细.csv``."""
    return path.with_name(f"{path.stem}_{suffix}{path.suffix or '.csv'}")


def write_csv(rollup: Rollup, path: Path, tz: Any) -> list[Path]:
    verdicts = (
        [
            n,
            v.name,
            "政府网站" if v.kind == "site" else "政务新媒体",
            v.organizer or "",
            category_label(v),
            v.verdict,
            v.score_text,
            "；".join(v.reasons),
            v.problems_text,
            rollup.sampling,
        ]
        for n, v in enumerate(rollup.verdicts, start=1)
    )
    written = [_write(path, VERDICT_HEADER, verdicts)]
    written.append(_write(companion(path, "合格率"), RATE_HEADER, rate_rows(rollup)))
    findings = (finding_row(n, v, f, tz) for n, (v, f) in enumerate(rollup.findings(), start=1))
    written.append(_write(companion(path, "问题明细"), FINDING_HEADER, findings))
    if rollup.rectification is not None:
        written.append(_write(companion(path, "整改情况"), RECTIFICATION_HEADER, rectification_rows(rollup, tz)))
    return written


def write_json(rollup: Rollup, path: Path, tz: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        json.dump(rollup.as_json(tz), handle, ensure_ascii=False, indent=1)
        handle.write("\n")
    return path

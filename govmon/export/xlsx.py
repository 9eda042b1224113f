"""The rollup as an Excel workbook (openpyxl, streamed): 汇总, 附件1, 附件2, 问题明细.

Sheets are written in write-only mode so a rollup of 165,000 targets stays small in
memory. Every text cell is stored as a string (a scraped title ``=HYPERLINK(...)`` stays
text, with Excel's quote prefix so editing it does not turn it into a formula either).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from copy import copy
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties

from govmon.export.common import (
    FINDING_HEADER,
    RATE_HEADER,
    RECTIFICATION_HEADER,
    category_label,
    clean_text,
    feedback_rows,
    finding_row,
    is_formula_like,
    period_title,
    rate_rows,
    rectification_rows,
)
from govmon.rollup import Rollup, TargetVerdict

_THIN = Side(style="thin", color="808080")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_FONT = Font(name="宋体", bold=True, size=11)
_HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
_TITLE_FONT = Font(name="黑体", bold=True, size=14)
_BODY_FONT = Font(name="宋体", size=10.5)
_WRAP = Alignment(wrap_text=True, vertical="top")
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)


class _Sheet:
    """A write-only sheet with the notice's layout: heading lines, a header row, rows.

    Styling a cell through openpyxl's attributes costs a registry lookup per attribute;
    body cells copy the style array of one template cell instead (10x faster).
    """

    def __init__(
        self,
        workbook: Workbook,
        title: str,
        widths: Sequence[float],
        *,
        landscape: bool = False,
    ) -> None:
        self.ws = workbook.create_sheet(title)
        self.row = 0
        for index, width in enumerate(widths, start=1):
            self.ws.column_dimensions[get_column_letter(index)].width = width
        setup = self.ws.page_setup
        setup.orientation = "landscape" if landscape else "portrait"
        setup.paperSize = "9"  # A4
        setup.fitToWidth = 1
        setup.fitToHeight = 0
        self.ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        self.ws.print_options.horizontalCentered = True
        self.ws.page_margins.left = self.ws.page_margins.right = 0.5
        self.ws.page_margins.top = self.ws.page_margins.bottom = 0.6
        self.ws.oddFooter.center.text = "第 &P 页，共 &N 页"
        self._text_style = self.cell("", font=_BODY_FONT, alignment=_WRAP, border=True)._style
        self._number_style = self.cell(0, font=_BODY_FONT, alignment=_CENTER, border=True)._style

    def cell(self, value: Any, *, font: Font | None = None, fill: PatternFill | None = None,
             alignment: Alignment | None = None, border: bool = False) -> WriteOnlyCell:
        if isinstance(value, str):
            value = clean_text(value)
        cell = WriteOnlyCell(self.ws, value=value)
        if isinstance(value, str):
            cell.data_type = "s"  # never a formula, whatever the text starts with
            if is_formula_like(value):
                cell.quotePrefix = True
        if font is not None:
            cell.font = font
        if fill is not None:
            cell.fill = fill
        if alignment is not None:
            cell.alignment = alignment
        if border:
            cell.border = _BORDER
        return cell

    def line(self, text: str, *, font: Font | None = None) -> None:
        self.append([self.cell(text, font=font)])

    def header(self, names: Sequence[str]) -> None:
        self.append([self.cell(n, font=_HEADER_FONT, fill=_HEADER_FILL, alignment=_CENTER, border=True) for n in names])

    def body(self, rows: Iterable[Sequence[Any]]) -> None:
        for values in rows:
            cells = []
            for value in values:
                cell = self.cell(value)
                quote = cell.quotePrefix
                cell._style = copy(self._text_style if isinstance(value, str) else self._number_style)
                if quote:
                    cell.quotePrefix = True
                cells.append(cell)
            self.append(cells)

    def append(self, cells: list[Any]) -> None:
        self.ws.append(cells)
        self.row += 1


def _freeze_and_titles(sheet: _Sheet, header_row: int) -> None:
    sheet.ws.freeze_panes = f"A{header_row + 1}"
    sheet.ws.print_title_rows = f"{header_row}:{header_row}"


def _annex_rows(verdicts: Sequence[TargetVerdict]) -> Iterable[list[Any]]:
    for number, verdict in enumerate(verdicts, start=1):
        yield [number, verdict.name, verdict.organizer or "", verdict.problems_text]


def write_xlsx(rollup: Rollup, path: Path, tz: Any) -> Path:
    workbook = Workbook(write_only=True)
    title = period_title(rollup)
    sampling = f"检查采样时间：{rollup.sampling}"

    # -- 汇总
    summary = _Sheet(workbook, "汇总", [24, 12, 10, 10, 10, 12])
    summary.ws.freeze_panes = "A5"
    summary.line(f"{title}全市政府网站与政务新媒体检查情况汇总", font=_TITLE_FONT)
    summary.line(sampling)
    summary.line(f"网站得分低于{rollup.fail_below:g}分或存在单项否决问题的判为不合格；未检查的对象不计入合格率。")
    summary.header(RATE_HEADER)
    summary.body(rate_rows(rollup))
    summary.append([])
    fb = feedback_rows(rollup)
    if fb:
        summary.line("“我为政府网站找错”平台留言办理情况", font=_HEADER_FONT)
        summary.body(fb)
        summary.append([])
    unchecked = rollup.unchecked
    summary.line(f"存在突出问题的政府网站 {len(rollup.annex_sites)} 个（见附件1），政务新媒体 {len(rollup.annex_accounts)} 个（见附件2）。")
    if rollup.rectification is not None:
        summary.line(f"整改期限 {rollup.deadline}：逾期 {len(rollup.overdue)} 个（见“整改情况”工作表）。")
    if unchecked:
        summary.line(f"本期未完成检查的对象 {len(unchecked)} 个（见“未检查”工作表），未计入合格率。")
    generated = dt.datetime.now(tz).strftime("%Y-%m-%d %H:%M")
    summary.line(f"生成时间：{generated}（govmon）")

    # -- 附件1 / 附件2
    for name, heading, label, verdicts in (
        ("附件1", "存在突出问题的政府网站名单", "网站名称", rollup.annex_sites),
        ("附件2", "存在突出问题的政务新媒体名单", "政务新媒体名称", rollup.annex_accounts),
    ):
        sheet = _Sheet(workbook, name, [7, 34, 28, 60])
        _freeze_and_titles(sheet, 4)
        sheet.line(name, font=_HEADER_FONT)
        sheet.line(f"{title}{heading}", font=_TITLE_FONT)
        sheet.line(sampling)
        sheet.header(["序号", label, "主办单位", "存在的突出问题"])
        sheet.body(_annex_rows(verdicts))

    # -- 问题明细
    detail = _Sheet(workbook, "问题明细", [7, 26, 11, 22, 14, 16, 10, 48, 40, 17, 17, 9, 9], landscape=True)
    _freeze_and_titles(detail, 2)
    detail.line(f"{title}问题明细（{sampling}；不含已忽略的误报）", font=_HEADER_FONT)
    detail.header(FINDING_HEADER)
    detail.body(finding_row(n, v, f, tz) for n, (v, f) in enumerate(rollup.findings(), start=1))

    # -- 整改情况
    if rollup.rectification is not None:
        sheet = _Sheet(workbook, "整改情况", [7, 30, 11, 24, 48, 12, 12, 10, 17], landscape=True)
        _freeze_and_titles(sheet, 2)
        overdue = len(rollup.overdue)
        sheet.line(f"整改期限：{rollup.deadline.isoformat() if rollup.deadline else ''}；逾期 {overdue} 个（排在最前）",
                   font=_HEADER_FONT)
        sheet.header(RECTIFICATION_HEADER)
        sheet.body(rectification_rows(rollup, tz))

    # -- 未检查
    if unchecked:
        sheet = _Sheet(workbook, "未检查", [7, 34, 12, 28, 18])
        _freeze_and_titles(sheet, 2)
        sheet.line(f"本期没有完成检查的对象（{sampling}），不计入合格率", font=_HEADER_FONT)
        sheet.header(["序号", "名称", "类型", "主办单位", "类别"])
        sheet.body(
            [n, v.name, "政府网站" if v.kind == "site" else "政务新媒体", v.organizer or "", category_label(v)]
            for n, v in enumerate(unchecked, start=1)
        )

    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path

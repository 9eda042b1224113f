"""A draft of the quarterly notice (通报) as a Word document, in the real one's structure.

Title; the addressees; the opening with the sampling period; 一、总体情况 with every
figure filled in; 二、存在的问题 naming the flagged sites and accounts; 三、工作要求 with
the deadlines and the issuing office as editable placeholders (【请填写…】); the list of
annexes; then 附件1 and 附件2 as tables. The office edits the wording, not the figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from copy import deepcopy
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from govmon.export.common import clean_text, period_title
from govmon.rollup import Rollup, TargetVerdict

PLACEHOLDER = "【请填写{}】"
MAX_NAMED = 30  # names listed in the text; the annexes list them all

_TITLE_FONT = "方正小标宋简体"
_BODY_FONT = "仿宋_GB2312"
_H1_FONT = "黑体"
_H2_FONT = "楷体_GB2312"
_TABLE_FONT = "宋体"


def placeholder(what: str) -> str:
    return PLACEHOLDER.format(f"：{what}" if what else "")


def _font(run: Any, name: str, size: float, *, bold: bool = False) -> None:
    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    r_pr = run._element.get_or_add_rPr()
    fonts = r_pr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = r_pr.makeelement(qn("w:rFonts"), {})
        r_pr.append(fonts)
    fonts.set(qn("w:eastAsia"), name)


def _para(document: Any, text: str, *, font: str = _BODY_FONT, size: float = 16, bold: bool = False,
          align: Any = None, indent: bool = True) -> Any:
    paragraph = document.add_paragraph()
    if align is not None:
        paragraph.alignment = align
    fmt = paragraph.paragraph_format
    fmt.line_spacing = Pt(28)
    fmt.space_after = Pt(0)
    if indent:
        fmt.first_line_indent = Pt(size * 2)
    _font(paragraph.add_run(clean_text(text)), font, size, bold=bold)
    return paragraph


def _names(verdicts: Sequence[TargetVerdict]) -> str:
    shown = [v.name for v in verdicts[:MAX_NAMED]]
    text = "、".join(shown)
    if len(verdicts) > MAX_NAMED:
        text += f"等{len(verdicts)}个"
    return text


def _described(verdicts: Sequence[TargetVerdict]) -> str:
    """``廉江市政府门户网站（内容发布审核不严……）；湛江农业信息港（首页长期未更新）``"""
    parts = [f"{v.name}（{v.problems_text}）" for v in verdicts[:MAX_NAMED]]
    text = "；".join(parts)
    if len(verdicts) > MAX_NAMED:
        text += f"；等{len(verdicts)}个"
    return text


def _overview(rollup: Rollup) -> list[str]:
    rates = rollup.rates
    sites, portals, dept, channels, media = (
        rates["websites"], rates["county_portal"], rates["department_site"], rates["department_channel"],
        rates["new_media"],
    )
    lines = [
        f"本次共检查政府网站{sites.total}个，总体合格率为{sites.text}。其中，县（市、区）政府门户网站"
        f"{portals.total}个，合格率为{portals.text}；市直部门独立站点{dept.total}个，合格率为{dept.text}；"
        f"市直部门子频道{channels.total}个，合格率为{channels.text}。"
        f"共检查政务新媒体{media.total}个，合格率为{media.text}。"
    ]
    unchecked = rollup.unchecked
    if unchecked:
        n_sites = sum(1 for v in unchecked if v.kind == "site")
        lines.append(
            f"另有政府网站{n_sites}个、政务新媒体{len(unchecked) - n_sites}个本期未完成检查，未计入合格率。"
        )
    fb = rollup.feedback
    if fb:
        lines.append(
            f"本季度全市通过“我为政府网站找错”平台共收到网民有效留言{fb.get('received', 0)}条，"
            f"按期办结{fb.get('handled_on_time', 0)}条，办结率为{fb.get('rate_text', '—')}。"
        )
    else:
        lines.append(
            f"本季度全市通过“我为政府网站找错”平台共收到网民有效留言{placeholder('条数')}条，"
            f"按期办结{placeholder('条数')}条，办结率为{placeholder('百分比')}。"
        )
    return lines


def _problems(rollup: Rollup) -> list[tuple[str, str]]:
    """(heading, text) pairs of 二、存在的问题."""
    sections = []
    sites = rollup.annex_sites
    failed = [v for v in sites if v.failed]
    if sites:
        text = ""
        if failed:
            text += f"{_names(failed)}检查不合格。"
        text += f"存在突出问题的网站及问题如下：{_described(sites)}。具体名单见附件1。"
    else:
        text = "本期检查未发现政府网站存在突出问题。"
    sections.append(("（一）政府网站方面。", text))
    accounts = rollup.annex_accounts
    failed = [v for v in accounts if v.failed]
    if accounts:
        text = ""
        if failed:
            text += f"{_names(failed)}检查不合格。"
        text += f"存在突出问题的政务新媒体及问题如下：{_described(accounts)}。具体名单见附件2。"
    else:
        text = "本期检查未发现政务新媒体存在突出问题。"
    sections.append(("（二）政务新媒体方面。", text))
    return sections


_REQUIREMENTS = (
    ("（一）抓好问题整改。",
     "请附件所列网站和政务新媒体的主办单位对照问题逐项整改，于{deadline}前完成整改，并将整改情况报送{office}"
     "（联系人：{contact}，邮箱：{email}）。逾期未整改的，将在下一季度通报中予以说明。"),
    ("（二）严格内容审核。",
     "各单位要落实信息发布“三审三校”制度，重点核对标题与正文、发布日期与成文日期，杜绝严重表述错误。"),
    ("（三）加强日常监测。",
     "各单位要落实专人负责，常态化开展自查，及时更新栏目和账号内容，确保监测时间点前2周内有更新。"),
)


def _add_table(document: Any, label: str, verdicts: Sequence[TargetVerdict]) -> Any:
    table = document.add_table(rows=1, cols=4)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    widths = (Cm(1.4), Cm(4.8), Cm(4.2), Cm(5.2))
    for column, width in zip(table.columns, widths):
        column.width = width
    for cell, text, width in zip(table.rows[0].cells, ("序号", label, "主办单位", "存在的突出问题"), widths):
        cell.width = width
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        _font(cell.paragraphs[0].add_run(text), _H1_FONT, 11)
    # repeat the header row on every page
    tr_pr = table.rows[0]._tr.get_or_add_trPr()
    tr_pr.append(tr_pr.makeelement(qn("w:tblHeader"), {qn("w:val"): "true"}))
    template = None
    for number, verdict in enumerate(verdicts, start=1):
        texts = (str(number), verdict.name, verdict.organizer or "", verdict.problems_text)
        if template is None:
            cells = table.add_row().cells
            for cell, text, width in zip(cells, texts, widths):
                cell.width = width
                _font(cell.paragraphs[0].add_run(clean_text(text)), _TABLE_FONT, 10.5)
            cells[0].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
            template = table.rows[-1]._tr
            continue
        # Later rows copy the first one's XML and change its texts: python-docx's cell API
        # is far too slow for the tens of thousands of rows a province can have.
        row = deepcopy(template)
        for t, text in zip(row.iter(qn("w:t")), texts):
            t.text = clean_text(text)
            t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
        table._tbl.append(row)
    if not verdicts:
        cells = table.add_row().cells
        merged = cells[0].merge(cells[3])
        _font(merged.paragraphs[0].add_run("无"), _TABLE_FONT, 10.5)
    return table


def write_docx(rollup: Rollup, path: Path, tz: Any) -> Path:
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)

    title = period_title(rollup)
    _para(document, f"关于{title}全市政府网站与政务新媒体检查情况的通报", font=_TITLE_FONT, size=22,
          align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    _para(document, "", indent=False)
    _para(document, f"{placeholder('主送单位，如：各县（市、区）人民政府，市政府各部门、各直属机构')}：", indent=False)
    _para(document,
          "根据《政府网站与政务新媒体检查指标》（国办秘函〔2019〕19号）和我市政府网站与政务新媒体监管工作要求，"
          f"{placeholder('发文单位')}对全市政府网站和政务新媒体进行了检查（检查采样时间：{rollup.sampling}）。"
          "现将有关情况通报如下：")

    _para(document, "一、总体情况", font=_H1_FONT)
    for line in _overview(rollup):
        _para(document, line)

    _para(document, "二、存在的问题", font=_H1_FONT)
    for heading, text in _problems(rollup):
        paragraph = _para(document, heading, font=_H2_FONT)
        _font(paragraph.add_run(clean_text(text)), _BODY_FONT, 16)

    _para(document, "三、工作要求", font=_H1_FONT)
    values = {
        "deadline": (f"{rollup.deadline.year}年{rollup.deadline.month}月{rollup.deadline.day}日"
                     if rollup.deadline else placeholder("整改期限，如2023年7月31日")),
        "office": placeholder("报送单位"),
        "contact": placeholder("联系人及电话"),
        "email": placeholder("邮箱"),
    }
    for heading, text in _REQUIREMENTS:
        paragraph = _para(document, heading, font=_H2_FONT)
        _font(paragraph.add_run(text.format(**values)), _BODY_FONT, 16)

    _para(document, "", indent=False)
    _para(document, "附件：1. 存在突出问题的政府网站名单")
    _para(document, "      2. 存在突出问题的政务新媒体名单")
    _para(document, "", indent=False)
    _para(document, placeholder("发文单位"), align=WD_ALIGN_PARAGRAPH.RIGHT, indent=False)
    _para(document, placeholder("成文日期"), align=WD_ALIGN_PARAGRAPH.RIGHT, indent=False)

    for number, heading, label, verdicts in (
        (1, "存在突出问题的政府网站名单", "网站名称", rollup.annex_sites),
        (2, "存在突出问题的政务新媒体名单", "政务新媒体名称", rollup.annex_accounts),
    ):
        document.paragraphs[-1].add_run().add_break(WD_BREAK.PAGE)
        _para(document, f"附件{number}", font=_H1_FONT, indent=False)
        _para(document, heading, font=_TITLE_FONT, size=18, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
        _para(document, f"（检查采样时间：{rollup.sampling}）", size=14, align=WD_ALIGN_PARAGRAPH.CENTER,
              indent=False)
        _add_table(document, label, verdicts)
        document.add_paragraph()

    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path

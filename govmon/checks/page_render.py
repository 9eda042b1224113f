"""page.render — what goes wrong when the page is shown: script errors, resources that fail,
text and tables spilling out of their containers (文字错行、表格错位、功能和控件不可用).

Judged on the pages the browser measured (see page.slow), from the first load: uncaught
JavaScript errors; images, scripts and style sheets that failed to load (network error or HTTP
≥ 400); elements whose own text is wider than their box, and tables wider than a container
that does not scroll. Each offending element is named (tag, id, classes, a CSS path and the
start of its text) so the site's maintainer can find it.
"""

from __future__ import annotations

from typing import Any

from govmon.checks.artifacts import SiteArtifacts
from govmon.checks.page_slow import PAGE_NAMES
from govmon.findings import VOLATILE_EVIDENCE_KEYS, NewFinding

id = "page.render"
title = "兼容性"
description = (
    "网页在浏览器中出现脚本错误、图片/脚本/样式文件加载失败、文字超出所在区域（文字错行）或表格超出页面（表格错位）。"
    "依据：国办秘函〔2019〕19号 实用性指标；湛江市季度通报“文字错行、表格错位、功能和控件不可用”。"
)
required_artifacts = ("browser_audits",)
severity = "deduct"

VOLATILE_KEYS = VOLATILE_EVIDENCE_KEYS | {"measured_at"}
RESOURCE_NAMES = {"image": "图片", "script": "脚本", "stylesheet": "样式表"}


def scope(artifacts: SiteArtifacts, settings: Any) -> set[str]:
    return {page.url for page in artifacts.browser_audits or () if page.measured}


def run(artifacts: SiteArtifacts, settings: Any) -> list[NewFinding]:
    findings = []
    for page in artifacts.browser_audits or ():
        if not page.measured or not (page.js_errors or page.failed_resources or page.overflows):
            continue
        parts = []
        if page.js_errors:
            parts.append(f"{len(page.js_errors)} 个脚本错误（{page.js_errors[0][:60]}）")
        if page.failed_resources:
            first = page.failed_resources[0]
            parts.append(f"{len(page.failed_resources)} 个文件加载失败（{RESOURCE_NAMES.get(first.get('type'), '文件')} "
                         f"{first.get('url')}：{first.get('error')}）")
        tables = [o for o in page.overflows if o.get("kind") == "table"]
        texts = [o for o in page.overflows if o.get("kind") != "table"]
        if tables:
            parts.append(f"{len(tables)} 个表格超出所在区域（{tables[0].get('path')}，宽 {tables[0].get('width')} 像素，"
                         f"区域 {tables[0].get('container')} 像素）")
        if texts:
            parts.append(f"{len(texts)} 处文字超出所在区域（{texts[0].get('path')}：“{texts[0].get('text')}”）")
        findings.append(NewFinding(
            check_id=id,
            subject=page.url,
            severity=severity,
            message=f"{PAGE_NAMES.get(page.page_type, '网页')}显示有问题：" + "；".join(parts),
            url=page.url,
            evidence={
                "url": page.url,
                "page_type": page.page_type,
                "js_errors": list(page.js_errors),
                "failed_resources": [dict(r) for r in page.failed_resources],
                "overflows": [dict(o) for o in page.overflows],
                "measured_at": page.measured_at,
            },
            volatile_keys=VOLATILE_KEYS,
        ))
    return findings

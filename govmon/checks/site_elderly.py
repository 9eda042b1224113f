"""site.elderly — 适老化与无障碍: no 长者模式/适老化/无障碍 entry on the home page, or axe-core
accessibility violations there.

Two findings, each with its own subject: ``entry`` when no link, button or image on the home
page names one of ``entry_words``; ``accessibility`` when axe-core (run in the browser, from the
copy shipped with the axe-playwright-python package) reports images without alt text, text
below ``min_contrast`` against its background, form controls without labels or a page without
a language — counted and listed by rule, with the elements.
"""

from __future__ import annotations

from typing import Any

from govmon.checks.artifacts import SiteArtifacts
from govmon.checks.site_mobile import inspected_home
from govmon.findings import VOLATILE_EVIDENCE_KEYS, NewFinding

id = "site.elderly"
title = "适老化与无障碍"
description = (
    "首页没有长者模式、适老化、无障碍或关怀版入口；或首页存在图片缺少替代文字、文字与背景对比度低于 4.5:1、"
    "表单控件没有标签、页面未声明语言等无障碍问题。依据：国办秘函〔2019〕19号 实用性指标；工业和信息化部《互联网网站适老化通用设计规范》。"
)
required_artifacts = ("browser_audits",)
severity = "deduct"

VOLATILE_KEYS = VOLATILE_EVIDENCE_KEYS | {"measured_at", "violations"}
RULE_NAMES = {
    "image-alt": "图片缺少替代文字",
    "color-contrast": "文字对比度不足",
    "label": "表单控件缺少标签",
    "html-has-lang": "页面未声明语言",
}


def scope(artifacts: SiteArtifacts, settings: Any) -> set[str] | None:
    return None if inspected_home(artifacts) is not None else set()


def _violations(axe: Any, min_contrast: float) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for rule, found in (axe or {}).items():
        elements = list(found.get("elements") or [])
        if rule == "color-contrast":  # axe's own limit is WCAG's 4.5:1; a lower setting forgives more
            elements = [e for e in elements if e.get("ratio") is None or e["ratio"] < min_contrast]
        if elements:
            result[rule] = {"count": len(elements) if rule == "color-contrast" else int(found.get("count") or len(elements)),
                            "help": found.get("help", ""), "elements": elements}
    return result


def run(artifacts: SiteArtifacts, settings: Any) -> list[NewFinding]:
    home = inspected_home(artifacts)
    if home is None:
        return []
    words = list(getattr(settings, "entry_words", ()))
    findings = []
    if home.elderly_entry is None:
        findings.append(NewFinding(
            check_id=id,
            subject="entry",
            severity=severity,
            message=f"首页没有适老化入口（未找到“{'”“'.join(words)}”字样的链接或按钮）",
            url=home.url,
            evidence={"url": home.url, "entry_words": words, "measured_at": home.measured_at},
            volatile_keys=VOLATILE_KEYS,
        ))
    if home.axe is not None:
        violations = _violations(home.axe, float(getattr(settings, "min_contrast", 4.5)))
        if violations:
            summary = "；".join(f"{RULE_NAMES.get(rule, rule)} {v['count']} 处" for rule, v in violations.items())
            findings.append(NewFinding(
                check_id=id,
                subject="accessibility",
                severity=severity,
                message=f"首页存在无障碍问题：{summary}",
                url=home.url,
                evidence={"url": home.url, "rules": sorted(violations), "violations": violations,
                          "measured_at": home.measured_at},
                volatile_keys=VOLATILE_KEYS,
            ))
    return findings

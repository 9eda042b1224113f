"""site.mobile — the home page is not made for phones: no viewport meta, or wider than a phone.

Judged on the home page as the browser saw it in a window ``viewport_px`` wide (default 375,
a common phone): a page without ``<meta name="viewport">`` is shown by phones at desktop width,
shrunk; a page wider than the window makes the reader scroll sideways (the overflow in pixels
is in the evidence).
"""

from __future__ import annotations

from typing import Any

from govmon.checks.artifacts import BrowserPageObs, SiteArtifacts
from govmon.findings import VOLATILE_EVIDENCE_KEYS, NewFinding

id = "site.mobile"
title = "移动端适配"
description = "首页没有 viewport 设置，或在 375 像素宽的手机屏幕上需要左右滚动。依据：国办秘函〔2019〕19号 移动端适配。"
required_artifacts = ("browser_audits",)
severity = "deduct"

VOLATILE_KEYS = VOLATILE_EVIDENCE_KEYS | {"overflow_px", "scroll_width", "measured_at"}


def inspected_home(artifacts: SiteArtifacts) -> BrowserPageObs | None:
    """The home page's browser measurement, if the phone and accessibility facts were taken."""
    for page in artifacts.browser_audits or ():
        if page.page_type == "home" and page.measured and page.home_inspected:
            return page
    return None


def scope(artifacts: SiteArtifacts, settings: Any) -> set[str] | None:
    return None if inspected_home(artifacts) is not None else set()


def run(artifacts: SiteArtifacts, settings: Any) -> list[NewFinding]:
    home = inspected_home(artifacts)
    if home is None:
        return []
    problems = []
    if home.viewport_meta is None:
        problems.append("没有 viewport 设置（<meta name=\"viewport\">），手机上按电脑页面缩小显示")
    overflow = home.phone_overflow_px or 0
    if overflow > 0:
        problems.append(f"在 {home.phone_width} 像素宽的手机屏幕上页面宽出 {overflow} 像素，需要左右滚动")
    if not problems:
        return []
    return [NewFinding(
        check_id=id,
        subject="home",
        severity=severity,
        message="首页未适配移动端：" + "；".join(problems),
        url=home.url,
        evidence={
            "url": home.url,
            "viewport_meta": home.viewport_meta,
            "phone_width": home.phone_width,
            "overflow_px": overflow,
            "scroll_width": (home.phone_width or 0) + overflow,
            "measured_at": home.measured_at,
        },
        volatile_keys=VOLATILE_KEYS,
    )]

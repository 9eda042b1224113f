"""site.identifiers — the home page footer lacks one of the required site identifiers.

Read from the footer text (when the gatherer found no footer, from the last 2,000
characters of the home page's text):

- 主办单位: the word 主办 (主办单位：…, …主办);
- 联系方式: 电话 / 联系我们 / 联系方式 / 邮箱 / 传真 / 热线, an e-mail address or a phone
  number;
- 网站标识码: the label followed by a 10-character code (4400000045, bm01000001);
- ICP备案号: ICP备 followed by digits;
- 公安机关备案号: 公网安备 (or 公安机关备案号) followed by digits;
- 党政机关网站标识: an image, not text. It is judged only when the gatherer recorded the
  footer's images and links (``footer_marks``): an alt/src/href naming 党政机关, conac
  (the 开办者标识 service) or dzjg. Otherwise it cannot be observed and is never reported
  missing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

from govmon.checks.artifacts import PageObs, SiteArtifacts
from govmon.findings import VOLATILE_EVIDENCE_KEYS, NewFinding

id = "site.identifiers"
title = "网站标识"
description = (
    "首页页脚应注明主办单位、联系方式、网站标识码、ICP备案号、公安机关备案号并展示党政机关网站标识，"
    "缺少任何一项即扣分。依据《政府网站与政务新媒体检查指标》（国办秘函〔2019〕19号）“网站标识”"
    "及《政府网站发展指引》。党政机关网站标识为图片，只有记录了页脚图片和链接时才检查。"
)
required_artifacts = ("home",)
severity = "deduct"

PAGE_END_CHARS = 2000
VOLATILE_KEYS = VOLATILE_EVIDENCE_KEYS | {"footer_excerpt"}

ORGANIZER = "主办单位"
CONTACT = "联系方式"
SITE_CODE = "网站标识码"
ICP = "ICP备案号"
PUBLIC_SECURITY = "公安机关备案号"
PARTY_GOV_MARK = "党政机关网站标识"
ALL_IDENTIFIERS = (ORGANIZER, CONTACT, SITE_CODE, ICP, PUBLIC_SECURITY, PARTY_GOV_MARK)
# What is checked when the settings name nothing: what text shows. The 党政机关网站标识
# is an image (often inserted by a script) and is checked only when configured.
DEFAULT_REQUIRED = (ORGANIZER, CONTACT, SITE_CODE, ICP, PUBLIC_SECURITY)

_TEXT_PATTERNS: dict[str, re.Pattern[str]] = {
    ORGANIZER: re.compile(r"主办"),
    CONTACT: re.compile(
        r"电话|联系我们|联系方式|邮箱|信箱|传真|热线|e-?mail|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
        r"|(?<!\d)(?:0\d{2,3}-|\(0\d{2,3}\))\d{7,8}(?!\d)|(?<!\d)1[3-9]\d{9}(?!\d)|(?<!\d)12345(?!\d)",
        re.IGNORECASE,
    ),
    SITE_CODE: re.compile(r"(?:网站)?(?:标识|识别)码:?(?:[a-z]{2}\d{8}|\d{10})(?![0-9a-z])", re.IGNORECASE),
    ICP: re.compile(r"ICP备\d{4,}", re.IGNORECASE),
    PUBLIC_SECURITY: re.compile(r"公网安备\d{6,}|公安(?:机关)?备案号?:?(?:[^\d\s]{0,6})\d{6,}"),
}
_MARK_PATTERN = re.compile(r"党政机关|conac|dzjg", re.IGNORECASE)

# The settings may name the identifiers in Chinese or by these keys.
_ALIASES = {
    "organizer": ORGANIZER,
    "contact": CONTACT,
    "site_code": SITE_CODE,
    "site_id": SITE_CODE,
    "icp": ICP,
    "public_security": PUBLIC_SECURITY,
    "police": PUBLIC_SECURITY,
    "gongan": PUBLIC_SECURITY,
    "party_gov_mark": PARTY_GOV_MARK,
    "dzjg": PARTY_GOV_MARK,
    "conac": PARTY_GOV_MARK,
}


def _compact(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"\s+", "", text).replace("：", ":")


def footer_of(page: PageObs) -> tuple[str, str]:
    """The text the identifiers are looked for in, and where it came from."""
    if page.footer_text.strip():
        return page.footer_text, "footer"
    return page.text[-PAGE_END_CHARS:], "page_end"


def present_in_text(identifier: str, footer: str) -> bool:
    return bool(_TEXT_PATTERNS[identifier].search(_compact(footer)))


def _mark_present(page: PageObs) -> bool | None:
    """Is the 党政机关网站标识 shown? None when the footer's images were not recorded."""
    if page.footer_marks is None:
        return None
    return any(_MARK_PATTERN.search(mark) for mark in page.footer_marks)


def required_identifiers(settings: Any) -> tuple[str, ...]:
    configured = getattr(settings, "required", None)
    if configured is None:
        return DEFAULT_REQUIRED
    result = []
    for item in configured:
        name = _ALIASES.get(str(item).strip().lower(), str(item).strip())
        if name not in ALL_IDENTIFIERS:
            raise ValueError(f"site.identifiers: unknown identifier {item!r}")
        if name not in result:
            result.append(name)
    return tuple(result)


def scope(artifacts: SiteArtifacts, settings: Any) -> set[str] | None:
    home = artifacts.home
    # A home page with no text at all (rendered by script) shows nothing to judge.
    return set() if home is None or not footer_of(home)[0].strip() else None


def run(artifacts: SiteArtifacts, settings: Any) -> list[NewFinding]:
    home = artifacts.home
    assert home is not None
    footer, source = footer_of(home)
    if not footer.strip():
        return []
    checks: dict[str, Callable[[], bool | None]] = {
        name: (lambda name=name: present_in_text(name, footer)) for name in _TEXT_PATTERNS
    }
    checks[PARTY_GOV_MARK] = lambda: _mark_present(home)
    missing, present, not_observed = [], [], []
    for name in required_identifiers(settings):
        seen = checks[name]()
        if seen is None:
            not_observed.append(name)
        elif seen:
            present.append(name)
        else:
            missing.append(name)
    if not missing:
        return []
    where = "页脚" if source == "footer" else "页面底部"
    return [
        NewFinding(
            check_id=id,
            subject="home",
            severity=severity,
            message=f"首页{where}缺少网站标识：{'、'.join(missing)}",
            url=home.url,
            evidence={
                "home_url": home.url,
                "missing": missing,
                "present": present,
                "not_observed": not_observed,
                "source": source,
                "footer_excerpt": footer.strip()[-500:],
            },
            volatile_keys=VOLATILE_KEYS,
        )
    ]

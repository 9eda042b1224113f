"""site.https — the site's HTTPS: missing, an invalid or expired certificate, or one expiring soon.

The scan makes one TLS handshake with the site's host on its HTTPS port (``tls.https_port``,
or the port of an https:// address) and verifies the certificate for that host against the
system's CAs plus ``tls.extra_ca_file`` (crawler/site_features.py). A notice when

- https:// does not answer at all (no HTTPS),
- the certificate does not verify (expired, self-signed, issued for another host…), or
- it verifies but expires within ``expiry_warn_days`` (30) days — days left in the evidence.

A site whose home page could not be read is not observed and not judged (``site.unreachable``).
"""

from __future__ import annotations

from typing import Any

from govmon.checks.artifacts import SiteArtifacts
from govmon.findings import VOLATILE_EVIDENCE_KEYS, NewFinding

id = "site.https"
title = "HTTPS 安全访问"
description = (
    "网站应支持 HTTPS 访问，证书应有效（由受信任的机构签发、与域名相符、未过期），且不在 30 天内到期。"
    "不支持 HTTPS、证书无效或已过期、证书即将到期的给出提示（剩余天数见证据）。"
    "依据：《政府网站与政务新媒体检查指标》（国办秘函〔2019〕19号）安全防护要求及《政府网站发展指引》（国办发〔2017〕47号）。"
)
required_artifacts = ("tls",)
severity = "notice"

SUBJECT = "https"
VOLATILE_KEYS = VOLATILE_EVIDENCE_KEYS | {"days_left"}


def run(artifacts: SiteArtifacts, settings: Any) -> list[NewFinding]:
    tls = artifacts.tls
    assert tls is not None
    warn_days = int(getattr(settings, "expiry_warn_days", 30))
    evidence: dict[str, Any] = {"https_url": tls.url}
    if tls.not_after is not None:
        evidence["not_after"] = tls.not_after.isoformat()
        evidence["days_left"] = tls.days_left
    if not tls.answered:
        evidence["error"] = tls.error
        message = f"网站不支持 HTTPS：{tls.url} 无法连接（{tls.error or '无应答'}）"
        evidence["problem"] = "no_https"
    elif not tls.valid:
        evidence["verify_error"] = tls.verify_error
        if tls.days_left is not None and tls.days_left < 0:
            evidence["problem"] = "expired"
            message = f"HTTPS 证书已过期（到期时间 {tls.not_after:%Y-%m-%d}，已过期 {-tls.days_left} 天）"  # type: ignore[union-attr]
        else:
            evidence["problem"] = "invalid"
            message = f"HTTPS 证书无效：{tls.verify_error or '校验失败'}"
    elif tls.days_left is not None and tls.days_left <= warn_days:
        evidence["problem"] = "expiring"
        evidence["expiry_warn_days"] = warn_days
        message = f"HTTPS 证书将在 {tls.days_left} 天后到期（{tls.not_after:%Y-%m-%d}），请及时更换"  # type: ignore[union-attr]
    else:
        return []
    return [NewFinding(check_id=id, subject=SUBJECT, severity=severity, message=message, url=tls.url,
                       evidence=evidence, volatile_keys=VOLATILE_KEYS)]

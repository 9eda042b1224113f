"""site.unreachable — 站点无法访问: a failed scan, and the availability probes of the window.

Two judgements share the check id and are told apart by their subject, so that one never
resolves the other (each declares, through :func:`scope`, only the subject it looked at):

* subject ``"home"`` — the scan's part: the home page could not be fetched during this
  scan. One failure is only a ``notice`` (CHECKS.md).
* subject ``"probes"`` — the probes' part (judged after each probe round, govmon.probes):
  of the probes of the trailing ``window_days`` (7), the share that failed. At or above
  ``veto_failure_ratio`` (5%) a ``veto``; at or above ``warn_failure_ratio`` (3%) a
  ``notice``; below, nothing (and an open finding is resolved). With fewer counted probes
  than ``min_probes_per_day × window_days`` (20 × 7 = 140) it is never a veto: at most a
  notice that says the sample is too small. Probes of a round marked as a local outage
  (every site failed to connect: our side was down) are not counted.

Ratios are compared exactly (as fractions), so 7 failures of 140 are 5% and a veto.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from govmon.checks.artifacts import ProbeObs, SiteArtifacts
from govmon.findings import VOLATILE_EVIDENCE_KEYS, NewFinding

id = "site.unreachable"
title = "站点无法访问"
description = (
    "可用性监测：每天多次（不少于 20 次）探测网站首页，15 秒内未完整载入即为一次失败；"
    "近 7 天失败次数达到探测总数的 5% 即单项否决，达到 3% 提示。"
    "本次扫描时首页无法打开（域名解析失败、连接被拒绝、超时或返回 HTTP 错误状态）也作提示。"
    "依据《政府网站与政务新媒体检查指标》（国办秘函〔2019〕19号）“站点无法访问”。"
)
required_artifacts = ("target",)
severity = "notice"

HOME_SUBJECT = "home"
PROBE_SUBJECT = "probes"
MAX_LISTED_FAILURES = 20  # failed probes listed in the evidence (the latest); counts cover all

VOLATILE_KEYS = VOLATILE_EVIDENCE_KEYS | {"fetched_at"}
# The probe verdict's evidence changes with every round; only the verdict itself (and the
# URL) make it "changed" — so a dismissed notice is raised again when it becomes a veto.
_PROBE_STABLE_KEYS = frozenset({"url", "verdict"})


def scope(artifacts: SiteArtifacts, settings: Any) -> set[str]:
    """The subjects this judgement looked at: the scan's home page, the probe window, or both."""
    covered: set[str] = set()
    if artifacts.home is not None:
        covered.add(HOME_SUBJECT)
    if artifacts.probes is not None:
        covered.add(PROBE_SUBJECT)
    return covered


def run(artifacts: SiteArtifacts, settings: Any) -> list[NewFinding]:
    return _judge_home(artifacts) + _judge_probes(artifacts, settings)


# --------------------------------------------------------------------------- the scan's part


def _judge_home(artifacts: SiteArtifacts) -> list[NewFinding]:
    home = artifacts.home
    if home is None or not home.failed:
        return []
    # shown in the monitoring time point's zone (the configured one), as the office reads it
    when = (home.fetched_at or artifacts.as_of).astimezone(artifacts.as_of.tzinfo)
    if home.error:
        reason = home.error
    elif home.status is None:
        reason = "没有得到响应"
    else:
        reason = f"返回 HTTP {home.status}"
    message = f"{when:%Y-%m-%d %H:%M} 扫描时首页 {home.url} 无法访问：{reason}"
    return [
        NewFinding(
            check_id=id,
            subject=HOME_SUBJECT,
            severity="notice",
            message=message,
            url=home.url,
            evidence={
                "url": home.url,
                "final_url": home.final_url,
                "status": home.status,
                "error": home.error,
                "error_kind": home.error_kind,
                "fetched_at": when.isoformat(),
            },
            volatile_keys=VOLATILE_KEYS,
        )
    ]


# --------------------------------------------------------------------------- the probes' part


def percent(ratio: Fraction | float) -> str:
    """A failure ratio as the office reads it: 7.86%, 3.00%, 0.00%."""
    return f"{float(ratio) * 100:.2f}%"


def _threshold(value: float) -> Fraction:
    # 0.05 written in the config means exactly 1/20, not the nearest binary fraction
    return Fraction(repr(value))


def window_probes(probes: Sequence[ProbeObs], as_of: dt.datetime, window_days: int) -> list[ProbeObs]:
    """The probes in the trailing window (as_of − window_days, as_of]."""
    start = as_of - dt.timedelta(days=window_days)
    return [p for p in probes if start < p.probed_at <= as_of]


def _judge_probes(artifacts: SiteArtifacts, settings: Any) -> list[NewFinding]:
    if artifacts.probes is None:
        return []
    zone = artifacts.as_of.tzinfo
    in_window = window_probes(artifacts.probes, artifacts.as_of, settings.window_days)
    counted = [p for p in in_window if not p.local_outage]
    failed = sorted((p for p in counted if not p.ok), key=lambda p: p.probed_at)
    total = len(counted)
    if total == 0 or not failed:
        return []
    ratio = Fraction(len(failed), total)
    warn, veto = _threshold(settings.warn_failure_ratio), _threshold(settings.veto_failure_ratio)
    if ratio < warn:
        return []
    needed = settings.min_probes_per_day * settings.window_days
    enough = total >= needed
    url = artifacts.target.url
    days = settings.window_days
    head = f"近 {days} 天对首页 {url} 的可用性探测 {total} 次，失败 {len(failed)} 次（失败率 {percent(ratio)}）"
    if not enough:
        verdict, level = "small_sample", "notice"
        message = (f"{head}；探测次数少于判定所需的 {needed} 次（每天 {settings.min_probes_per_day} 次 × {days} 天），"
                   f"样本不足，暂不作单项否决")
    elif ratio >= veto:
        verdict, level = "veto", "veto"
        message = f"{head}，达到单项否决标准（失败率不低于 {percent(veto)}）"
    else:
        verdict, level = "warn", "notice"
        message = f"{head}，达到预警线 {percent(warn)}（单项否决标准为 {percent(veto)}）"
    excluded = len(in_window) - total
    if excluded:
        message += f"；另有 {excluded} 次探测因监测端网络故障未计入"
    by_kind = Counter(p.error_kind or "other" for p in failed)
    listed = failed[-MAX_LISTED_FAILURES:]
    evidence = {
        "url": url,
        "verdict": verdict,
        "window_days": days,
        "window_start": (artifacts.as_of - dt.timedelta(days=days)).astimezone(zone).isoformat(timespec="seconds"),
        "window_end": artifacts.as_of.astimezone(zone).isoformat(timespec="seconds"),
        "probes_total": total,
        "probes_failed": len(failed),
        "failure_ratio": round(float(ratio), 6),
        "failure_percent": percent(ratio),
        "warn_ratio": settings.warn_failure_ratio,
        "veto_ratio": settings.veto_failure_ratio,
        "min_probes": needed,
        "sample_sufficient": enough,
        "excluded_local_outage": excluded,
        "failures_by_kind": dict(sorted(by_kind.items())),
        "failed_probes_listed": len(listed),
        "failed_probes": [_probe_evidence(p, zone) for p in reversed(listed)],  # latest first
    }
    return [
        NewFinding(
            check_id=id,
            subject=PROBE_SUBJECT,
            severity=level,
            message=message,
            url=url,
            evidence=evidence,
            volatile_keys=frozenset(evidence) - _PROBE_STABLE_KEYS,
        )
    ]


def _probe_evidence(probe: ProbeObs, zone: dt.tzinfo | None) -> dict[str, Any]:
    return {
        "time": probe.probed_at.astimezone(zone).isoformat(timespec="seconds"),
        "url": probe.url,
        "status": probe.status,
        "error_kind": probe.error_kind,
        "error": probe.detail,
        "elapsed_ms": probe.elapsed_ms,
    }

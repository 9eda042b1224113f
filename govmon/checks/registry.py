"""The check registry: every check by its stable id, and the one way to run them.

Each check is a module of this package that declares

- ``id``: the stable id from CHECKS.md (``column.stale``),
- ``title``: the Chinese 指标 name, ``description``: the rule in Chinese with its source,
- ``required_artifacts``: the :class:`SiteArtifacts` fields it reads,
- ``severity``: its default severity (``veto`` | ``deduct`` | ``notice``),
- ``run(artifacts, settings) -> list[NewFinding]``: a pure function,

and optionally

- ``target_kind``: ``"site"`` (the default: it reads :class:`SiteArtifacts`) or
  ``"account"`` (it reads :class:`AccountArtifacts`); a run over one kind's artifacts
  runs only that kind's checks,

- ``scope(artifacts, settings) -> set[str] | None``: the subjects (or subject keys) this
  run examined, when a check judges only part of a site (the articles read this time,
  the columns whose lists could be read). A stored finding outside the scope was not
  looked at and must stay open. None (or no ``scope``) means the whole site was judged.
- ``scope_key(subject) -> str``: maps a finding subject to a scope entry
  (``content.serious_error`` scopes by page URL while its subjects are ``term@url``).

The rollup, the exports and the scan know checks only through :data:`CHECKS`,
:func:`get_check` and :func:`run_checks`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from govmon.checks import (
    account_no_interaction,
    account_serious_error,
    account_stale,
    account_unreachable,
    column_empty,
    column_stale,
    content_date_order,
    content_serious_error,
    content_title_mismatch,
    content_undated,
    interaction_missing,
    interaction_unanswered,
    links_broken,
    links_external_unsafe,
    page_render,
    page_slow,
    site_elderly,
    site_homepage_stale,
    site_https,
    site_identifiers,
    site_ipv6,
    site_mobile,
    site_search,
    site_unreachable,
    site_zhaocuo_entry,
)
from govmon.checks.artifacts import ARTIFACT_NAMES, Artifacts
from govmon.findings import NewFinding

log = logging.getLogger(__name__)

SEVERITIES = ("veto", "deduct", "notice")

TARGET_KINDS = ("site", "account")

RunFunction = Callable[[Any, Any], list[NewFinding]]  # (SiteArtifacts | AccountArtifacts, settings)
ScopeFunction = Callable[[Any, Any], Iterable[str] | None]


def _identity(subject: str) -> str:
    return subject


@dataclass(frozen=True)
class Check:
    """One registered check (an audit, in Lighthouse's words)."""

    id: str
    title: str
    description: str
    required_artifacts: tuple[str, ...]
    severity: str
    run: RunFunction
    scope: ScopeFunction | None = None
    scope_key: Callable[[str], str] = _identity
    target_kind: str = "site"

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"check {self.id}: unknown severity {self.severity!r}")
        if self.target_kind not in TARGET_KINDS:
            raise ValueError(f"check {self.id}: unknown target kind {self.target_kind!r}")
        unknown = set(self.required_artifacts) - ARTIFACT_NAMES
        if unknown:
            raise ValueError(f"check {self.id}: unknown artifacts {sorted(unknown)}")

    @classmethod
    def from_module(cls, module: ModuleType) -> Check:
        return cls(
            id=module.id,
            title=module.title,
            description=module.description,
            required_artifacts=tuple(module.required_artifacts),
            severity=module.severity,
            run=module.run,
            scope=getattr(module, "scope", None),
            scope_key=getattr(module, "scope_key", _identity),
            target_kind=getattr(module, "target_kind", "site"),
        )

    def missing_artifacts(self, artifacts: Artifacts) -> list[str]:
        return [name for name in self.required_artifacts if not artifacts.available(name)]


CHECKS: dict[str, Check] = {}


def register(check: Check | ModuleType) -> Check:
    """Add a check (a :class:`Check` or a check module) to :data:`CHECKS`."""
    if isinstance(check, ModuleType):
        check = Check.from_module(check)
    if check.id in CHECKS:
        raise ValueError(f"check id registered twice: {check.id}")
    CHECKS[check.id] = check
    return check


for _module in (
    site_unreachable,
    site_homepage_stale,
    column_stale,
    column_empty,
    content_date_order,
    content_title_mismatch,
    content_undated,
    content_serious_error,
    links_broken,
    links_external_unsafe,
    site_identifiers,
    site_zhaocuo_entry,
    page_slow,
    page_render,
    site_mobile,
    site_elderly,
    interaction_missing,
    interaction_unanswered,
    site_search,
    site_https,
    site_ipv6,
    account_stale,
    account_unreachable,
    account_serious_error,
    account_no_interaction,
):
    register(_module)


def get_check(check_id: str) -> Check:
    """The registered check with this id; KeyError names the unknown id."""
    try:
        return CHECKS[check_id]
    except KeyError:
        raise KeyError(f"unknown check id: {check_id}") from None


_MISSING_REASONS = {
    "home": "首页未能读取",
    "home_items": "首页未能读取",
    "columns": "本次扫描未读取栏目",
    "articles": "本次扫描未读取文章",
    "links": "本次扫描未检查链接",
    "lexicon": "未配置严重表述错误词库",
    "browser_audits": "本次扫描未用浏览器检查（未找到浏览器或已停用）",
    "tls": "本次扫描未检查 HTTPS（首页未能读取）",
    "ipv6": "本次扫描未检查 IPv6（首页未能读取）",
    "search": "本次扫描未检查站内搜索（首页未能读取）",
    "read": "本次未读取账号",
    "posts": "本次未读取账号",
}


@dataclass
class JudgeResult:
    """What one run of the checks over one site's artifacts produced.

    ``judged`` holds the ids of the checks that ran with their artifacts available: for
    those, a stored open finding that is not in ``findings`` is resolved — provided
    :meth:`covers` says the check looked at its subject this time. Checks in ``skipped``
    (disabled, not selected, artifacts missing, or failed) judged nothing.
    """

    findings: list[NewFinding] = field(default_factory=list)
    judged: set[str] = field(default_factory=set)
    skipped: dict[str, str] = field(default_factory=dict)
    scopes: dict[str, frozenset[str]] = field(default_factory=dict)

    def covers(self, check_id: str, subject: str) -> bool:
        """Did this run judge ``subject`` for ``check_id`` (so its absence resolves it)?"""
        if check_id not in self.judged:
            return False
        scope = self.scopes.get(check_id)
        if scope is None:
            return True
        return CHECKS[check_id].scope_key(subject) in scope if check_id in CHECKS else subject in scope


def run_checks(
    artifacts: Artifacts,
    config: Any,
    only: set[str] | None = None,
) -> JudgeResult:
    """Run every registered check of the artifacts' kind (or those in ``only``) on one
    site's or account's artifacts (checks of the other kind are neither run nor listed).

    ``config`` (a :class:`govmon.config.Config`) provides ``check_settings(check_id)``
    (``enabled``, an optional ``severity`` override, the check's thresholds) and, when
    the artifacts carry no lexicon, ``lexicon.serious_error_terms``. A configured
    severity replaces the severity of every finding of that check.
    """
    if only is not None:
        unknown = set(only) - set(CHECKS)
        if unknown:
            raise KeyError(f"unknown check id: {', '.join(sorted(unknown))}")
    if artifacts.lexicon is None and getattr(config, "lexicon", None) is not None:
        artifacts = dataclasses.replace(artifacts, lexicon=tuple(config.lexicon.serious_error_terms))
    result = JudgeResult()
    seen: set[tuple[str, str]] = set()
    for check_id, check in CHECKS.items():
        if check.target_kind != artifacts.kind:
            continue
        if only is not None and check_id not in only:
            result.skipped[check_id] = "未选择"
            continue
        settings = config.check_settings(check_id)
        if not getattr(settings, "enabled", True):
            result.skipped[check_id] = "配置中已停用"
            continue
        missing = check.missing_artifacts(artifacts)
        if missing:
            reasons = dict.fromkeys(_MISSING_REASONS.get(name, f"缺少 {name}") for name in missing)
            result.skipped[check_id] = "；".join(reasons)
            continue
        try:
            findings = check.run(artifacts, settings)
            scope = check.scope(artifacts, settings) if check.scope is not None else None
        except Exception as exc:  # one faulty check must not cost the others
            log.exception("check %s failed on %s", check_id, artifacts.target.id)
            result.skipped[check_id] = f"检查出错：{type(exc).__name__}: {exc}"
            continue
        override = getattr(settings, "severity", None)
        for finding in findings:
            if finding.check_id != check_id:
                raise ValueError(f"check {check_id} returned a finding of {finding.check_id}")
            key = (finding.check_id, finding.subject)
            if key in seen:
                continue
            seen.add(key)
            if override and finding.severity != override:
                finding = dataclasses.replace(finding, severity=override)
            result.findings.append(finding)
        result.judged.add(check_id)
        if scope is not None:
            result.scopes[check_id] = frozenset(scope)
    return result

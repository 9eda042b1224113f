"""interaction.missing — a county portal with no working online consultation channel.

A channel counts when it is a consultation column (领导信箱, 咨询投诉…; see
``interaction_channels``) whose list page was read (one whose list could not be read this time
is no proof either way: nothing is judged), or a visible home-page link naming one whose
link check did not fail (many portals send their 领导信箱 to a city-wide platform off the site).
网上信访 and 纪检举报 (``excluded_channels``) do not count and are listed in the evidence.
Only county portals are judged; nothing is judged when the home page or its links were not read.
"""

from __future__ import annotations

from typing import Any

from govmon.checks.artifacts import SiteArtifacts
from govmon.checks.interaction_channels import channel_role, consultation_columns, excluded_columns
from govmon.findings import NewFinding

id = "interaction.missing"
title = "互动回应差（无咨询渠道）"
description = (
    "县区政府门户网站应提供可用的在线咨询渠道（领导信箱、咨询投诉等）；没有可用的咨询渠道的，单项否决。"
    "网上信访、纪检举报渠道不计入。依据：《政府网站与政务新媒体检查指标》（国办秘函〔2019〕19号）单项否决指标“互动回应差”。"
)
required_artifacts = ("home", "home_links", "columns")
severity = "veto"

JUDGED_CATEGORIES = frozenset({"county_portal"})


def _unsure(artifacts: SiteArtifacts, settings: Any) -> bool:
    """Consultation columns exist but none could be read this time: one failed fetch proves no
    missing channel, so nothing is judged (an earlier finding stays as it was)."""
    consult = consultation_columns(artifacts.columns, tuple(getattr(settings, "excluded_channels", ())))
    return bool(consult) and not any(column.readable for column in consult)


def scope(artifacts: SiteArtifacts, settings: Any) -> set[str] | None:
    if artifacts.target.category not in JUDGED_CATEGORIES or _unsure(artifacts, settings):
        return set()
    return None


def run(artifacts: SiteArtifacts, settings: Any) -> list[NewFinding]:
    if artifacts.target.category not in JUDGED_CATEGORIES:
        return []
    excluded = tuple(getattr(settings, "excluded_channels", ()))
    consult = consultation_columns(artifacts.columns, excluded)
    if any(column.readable for column in consult) or _unsure(artifacts, settings):
        return []
    failed = {link.url for link in artifacts.links if link.outcome == "broken"}
    home_links = artifacts.home_links or ()
    linked = [link for link in home_links
              if link.visible and channel_role(link.text, None, excluded) == "consultation" and link.url not in failed]
    if linked:
        return []
    home = artifacts.home
    assert home is not None
    excluded_seen: dict[str, str] = {c.url: c.name for c in excluded_columns(artifacts.columns, excluded)}
    for link in home_links:
        if link.visible and channel_role(link.text, None, excluded) == "excluded":
            excluded_seen.setdefault(link.url, link.text)
    evidence: dict[str, Any] = {
        "home_url": home.url,
        "consultation_columns": [{"name": c.name, "url": c.url, "readable": c.readable} for c in consult],
        "excluded_channels": [{"name": name, "url": url} for url, name in excluded_seen.items()],
    }
    return [NewFinding(check_id=id, subject="consultation", severity=severity,
                       message="网站没有可用的在线咨询渠道（领导信箱、咨询投诉等）；网上信访、纪检举报不计入",
                       url=home.url, evidence=evidence)]

"""Which of a site's columns are interaction channels, and which of them are consultation channels.

Shared by ``interaction.missing`` and ``interaction.unanswered`` (not a check: no ``id``).

The national checklist (国办秘函〔2019〕19号, 互动回应差) judges the online consultation
channels — 领导信箱, 咨询投诉 and the like — and leaves out 网上信访 and 纪检举报 (handled under
their own rules), and, for answering, 在线访谈 and 征集调查 (no question awaits an answer there).
A column is an interaction channel when declared (or classified) as kind ``interaction`` or
when its name says so; :func:`channel_role` says which role it plays.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from govmon.checks.artifacts import ColumnObs

Role = Literal["consultation", "excluded", "other"]

# Channels the rule leaves out, recognised by these words besides the configured names.
EXCLUDED_WORDS = ("信访", "纪检", "举报", "监察")
# Interaction columns that are not consultation: nothing waits for an answer there.
NOT_CONSULTATION_WORDS = ("访谈", "征集", "调查", "问卷", "直播")
CONSULTATION_WORDS = ("信箱", "咨询", "投诉", "留言", "问政", "建言", "建议", "诉求", "互动", "问答", "12345")


def _plain(name: str) -> str:
    return re.sub(r"\s+", "", name or "")


def channel_role(name: str, kind: str | None, excluded: Iterable[str] = ()) -> Role | None:
    """``consultation`` / ``excluded`` / ``other`` (an interaction column that awaits no answer),
    or None when the column is no interaction channel at all."""
    text = _plain(name)
    if any(_plain(word) and _plain(word) in text for word in excluded) or any(w in text for w in EXCLUDED_WORDS):
        return "excluded"
    if any(w in text for w in NOT_CONSULTATION_WORDS):
        return "other" if kind == "interaction" or "在线" in text or "征集" in text else None
    if any(w in text for w in CONSULTATION_WORDS):
        return "consultation"
    return "consultation" if kind == "interaction" else None


def consultation_columns(columns: Iterable[ColumnObs], excluded: Iterable[str] = ()) -> list[ColumnObs]:
    excluded = tuple(excluded)
    return [c for c in columns if channel_role(c.name, c.kind, excluded) == "consultation"]


def excluded_columns(columns: Iterable[ColumnObs], excluded: Iterable[str] = ()) -> list[ColumnObs]:
    excluded = tuple(excluded)
    return [c for c in columns if channel_role(c.name, c.kind, excluded) == "excluded"]

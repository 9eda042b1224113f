"""Continuous monitoring (`govmon run`).

To come with the scheduling issue: one asyncio loop hosting APScheduler 3.11's
AsyncIOScheduler, the Scrapy crawls, Playwright and httpx; scans of each site and
account on the configured schedule, availability probes, the nightly re-judgement and
rollup, on-demand rescans and alerts. Until then `govmon run` says so and exits 1,
rather than pretending to monitor.
"""

from __future__ import annotations

import sys
from typing import Any


def run_service(settings: Any, database_url: str) -> int:
    print(
        "govmon run（持续监测服务）尚未提供：计划任务、按需复查和告警将在后续版本中加入。"
        "目前请使用 govmon inspect 查看单个网页。",
        file=sys.stderr,
    )
    return 1

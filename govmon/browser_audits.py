"""The browser's part of a site scan: which pages it measures, and keeping what it saw.

After a site's crawl is stored, :func:`audit_site` measures in the process's one Chromium
(:class:`~govmon.crawler.browser.BrowserPool`) the home page, the first list page of each
column and the first ``browser.articles`` articles the crawl read — pages the crawl found
readable, so a site that is down is reported by the crawl and the probes, not as slow. Each
page becomes a ``browser_audits`` row; :func:`load_browser_audits` reads them back as the
artifacts of ``page.slow``, ``page.render``, ``site.mobile`` and ``site.elderly``.

If Chromium crashes, the page it was measuring is stored as not measured and the rest of the
site is measured in a new one. With no browser at all nothing is stored, the four checks are
not judged, and the scan summary says so once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from govmon.checks.artifacts import BrowserPageObs
from govmon.config import Config, Site
from govmon.crawler.browser import (
    NETWORK_PROFILES,
    BrowserCrashed,
    BrowserPool,
    NoBrowserError,
    PageMeasurement,
    measure_page,
)
from govmon.models import BrowserAudit, Page, utcnow

NO_BROWSER_NOTICE = "未找到浏览器（Chromium），页面加载时长、兼容性、移动端适配、适老化检查本次未进行"
BROWSER_OFF_NOTICE = "配置中已停用浏览器，页面加载时长、兼容性、移动端适配、适老化检查本次未进行"
CRASHED = "浏览器崩溃，本页未测量"


@dataclass
class AuditOutcome:
    measured: int = 0
    not_measured: int = 0
    notice: str | None = None  # for the scan summary, e.g. no browser


def browser_pool(config: Config) -> BrowserPool | None:
    """The process's browser for a scan of ``config``'s sites, or None when switched off."""
    if not config.browser.enabled:
        return None
    return BrowserPool(config.browser.executable, contexts=config.browser.contexts)


def pages_to_audit(session: Session, scan_id: int, articles: int) -> list[tuple[str, str]]:
    """(url, page type) of the pages to measure, home first, then one list page per column, then articles."""
    home: list[tuple[str, str]] = []
    lists: dict[int, str] = {}
    picked: list[tuple[str, str]] = []
    # A column's next list page is requested only after the previous one was read, so by row id its
    # first readable list page is its first page; the facts (with each page's text) are not needed.
    rows = session.execute(
        select(Page.url, Page.final_url, Page.page_type, Page.column_id, Page.status_code, Page.error,
               Page.content_type)
        .where(Page.scan_id == scan_id).order_by(Page.id)
    )
    for row in rows:
        readable = row.error is None and row.status_code is not None and 200 <= row.status_code < 300
        html = not row.content_type or row.content_type.split(";")[0].strip().lower() in ("text/html", "application/xhtml+xml")
        if not (readable and html):
            continue
        url = row.final_url or row.url
        if row.page_type == "home" and not home:
            home.append((url, "home"))
        elif row.page_type == "list" and row.column_id is not None:
            lists.setdefault(row.column_id, url)
        elif row.page_type == "article" and len(picked) < articles:
            picked.append((url, "article"))
    seen: set[str] = set()
    chosen: list[tuple[str, str]] = []
    for url, kind in [*home, *((url, "list") for url in lists.values()), *picked]:
        if url not in seen:
            seen.add(url)
            chosen.append((url, kind))
    return chosen


async def audit_site(
    pool: BrowserPool, config: Config, sessions: sessionmaker[Session], scan_id: int, site: Site
) -> AuditOutcome:
    """Measure the scan's pages of ``site`` in the browser and store them (see the module docstring)."""
    outcome = AuditOutcome()
    pages = await asyncio.to_thread(_pages, sessions, scan_id, config.browser.articles)
    if not pages:
        return outcome
    settings = config.browser
    profile = NETWORK_PROFILES[config.checks.page_slow.network_profile or settings.network_profile]
    home_checks = {
        "entry_words": list(config.checks.site_elderly.entry_words),
        "phone_width": config.checks.site_mobile.viewport_px,
    }
    results: list[PageMeasurement] = []
    remaining = list(pages)
    try:
        while remaining:
            async with pool.context(site.id) as context:
                while remaining:
                    url, kind = remaining[0]
                    try:
                        result = await measure_page(
                            context, url, page_type=kind, profile=profile, loads=settings.loads,
                            timeout_s=settings.timeout_s, home_checks=home_checks if kind == "home" else None,
                        )
                    except BrowserCrashed:
                        results.append(PageMeasurement(url=url, page_type=kind, profile=profile.name,
                                                       measured=False, reason=CRASHED))
                        remaining.pop(0)
                        break  # a new context, in a new browser
                    results.append(result)
                    remaining.pop(0)
    except NoBrowserError:
        outcome.notice = NO_BROWSER_NOTICE
        return outcome
    except BrowserCrashed as exc:  # the browser could not even open a context: the rest not measured
        for url, kind in remaining:
            results.append(PageMeasurement(url=url, page_type=kind, profile=profile.name, measured=False,
                                           reason=f"{CRASHED}（{exc}）"))
    outcome.measured = sum(1 for r in results if r.measured)
    outcome.not_measured = len(results) - outcome.measured
    await asyncio.to_thread(_store, sessions, scan_id, results)
    return outcome


def _pages(sessions: sessionmaker[Session], scan_id: int, articles: int) -> list[tuple[str, str]]:
    with sessions() as session:
        return pages_to_audit(session, scan_id, articles)


def _store(sessions: sessionmaker[Session], scan_id: int, results: list[PageMeasurement]) -> None:
    now = utcnow()
    with sessions.begin() as session:
        for r in results:
            session.add(BrowserAudit(scan_id=scan_id, url=r.url, page_type=r.page_type, measured=r.measured,
                                     reason=r.reason, load_ms=r.load_ms, details=r.details(), measured_at=now))


def load_browser_audits(session: Session, scan_id: int) -> tuple[BrowserPageObs, ...] | None:
    """The scan's browser measurements; None when the browser did not run for it."""
    rows = session.scalars(select(BrowserAudit).where(BrowserAudit.scan_id == scan_id).order_by(BrowserAudit.id)).all()
    if not rows:
        return None
    return tuple(_obs(row) for row in rows)


def _obs(row: BrowserAudit) -> BrowserPageObs:
    d: dict[str, Any] = row.details or {}
    home = d.get("home") or {}
    mobile = home.get("mobile") or {}
    return BrowserPageObs(
        url=row.url,
        page_type=row.page_type,
        measured=row.measured,
        reason=row.reason,
        load_ms=row.load_ms,
        loads_ms=tuple(d.get("loads_ms") or ()),
        ttfb_ms=d.get("ttfb_ms"),
        lcp_ms=d.get("lcp_ms"),
        bytes=d.get("bytes"),
        profile=d.get("profile") or "none",
        timeout_ms=d.get("timeout_ms"),
        js_errors=tuple(d.get("js_errors") or ()),
        failed_resources=tuple(d.get("failed_resources") or ()),
        overflows=tuple(d.get("overflows") or ()),
        home_inspected=bool(mobile),
        viewport_meta=mobile.get("viewport_meta") if mobile else None,
        phone_overflow_px=mobile.get("overflow_px") if mobile else None,
        phone_width=mobile.get("viewport_width") if mobile else None,
        elderly_entry=home.get("entry") if home else None,
        axe=home.get("axe") if home else None,
        measured_at=row.measured_at,
    )

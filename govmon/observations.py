"""Observations between the gatherers and the checks: stored as rows, read back as artifacts.

:class:`ObservationWriter` writes what one site crawl sees (pages, list items, links, link
checks, discovered columns) under its scan, in batches while the crawl runs. :func:`load_site_artifacts` reads a stored
scan back as the :class:`~govmon.checks.artifacts.SiteArtifacts` the checks consume, so a
threshold change re-judges stored data without a re-crawl (DESIGN.md, rule 1).
"""

from __future__ import annotations

import asyncio
import calendar
import datetime as dt
from collections import defaultdict
from typing import Any, Awaitable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from govmon.checks.artifacts import (
    ArticleObs,
    ColumnObs,
    ItemObs,
    LinkObs,
    PageObs,
    SiteArtifacts,
    TargetInfo,
)
from govmon.crawler.spider import ColumnObservation, LinkCheckObservation, PageObservation
from govmon.db import write_lock
from govmon.models import Link, LinkCheck, ListItem, Page, Scan, SiteColumn, Target, utcnow

MAX_TEXT_CHARS = 200_000  # visible text kept per page (the serious-error lexicon reads it)
MAX_URL_CHARS = 2_000  # longer URLs are not indexed by PostgreSQL; such links are not stored


def _item_day(page_date: Any) -> dt.date | None:
    """A list entry's date; a month-only one counts as its month's last day (never older)."""
    if page_date is None:
        return None
    if page_date.day is None:
        return dt.date(page_date.year, page_date.month, calendar.monthrange(page_date.year, page_date.month)[1])
    return page_date.as_date()


def _page_day(page_date: Any) -> dt.date | None:
    if page_date is None:
        return None
    return page_date.as_date() or dt.date(page_date.year, page_date.month, 1)


class ObservationWriter:
    """The crawl's sink: writes observations to the database in batches as they arrive.

    Nothing of a page is kept in memory once its batch is written (only its id), so a
    20,000-page site costs about what a 5,000-page one does. Each batch is its own
    transaction under the scan, which stays ``running`` until the scan is judged; a crash
    leaves a consistent, unfinished scan. A batch that fails to write is recorded in
    :attr:`error` and the scan must not count as complete.
    """

    def __init__(self, sessions: sessionmaker[Session], scan_id: int, target_id: str, *,
                 batch_pages: int = 100, batch_links: int = 2000) -> None:
        self.sessions = sessions
        self.scan_id = scan_id
        self.target_id = target_id
        self.batch_pages = batch_pages
        self.batch_links = batch_links
        self.pages = 0
        self.links_checked = 0
        self.error: str | None = None
        self._columns: dict[str, int] = {}
        self._page_ids: dict[str, tuple[int, str]] = {}  # url -> (page id, page type)
        self._pending: list[object] = []
        self._pending_pages = 0
        self._lock = asyncio.Lock()

    def __call__(self, observation: object) -> Awaitable[None] | None:
        if isinstance(observation, PageObservation):
            self.pages += 1
            self._pending_pages += 1
        elif isinstance(observation, LinkCheckObservation):
            if observation.outcome != "skipped":
                self.links_checked += 1
        elif not isinstance(observation, ColumnObservation):
            return None
        self._pending.append(observation)
        if self._pending_pages >= self.batch_pages or len(self._pending) >= self.batch_links:
            return self.flush()
        return None

    async def flush(self) -> None:
        """Write what is pending (in a worker thread: the crawl's loop never waits on I/O)."""
        async with self._lock:
            batch, self._pending, self._pending_pages = self._pending, [], 0
            if batch and self.error is None:
                try:
                    await asyncio.to_thread(self._write, batch)
                except Exception as exc:  # recorded: the scan will not count as complete
                    self.error = f"保存扫描结果失败：{type(exc).__name__}: {exc}"

    def _write(self, batch: list[object]) -> None:
        with self.sessions.begin() as session:
            write_lock(session, f"scan:{self.target_id}")  # first: SQLite takes its write lock now
            if not self._columns:
                self._columns = dict(session.execute(
                    select(SiteColumn.url, SiteColumn.id).where(SiteColumn.target_id == self.target_id)
                ).all())
            for seen in batch:
                if isinstance(seen, ColumnObservation):
                    self._write_column(session, seen)
            session.flush()
            new_pages: list[tuple[str, Page]] = []
            for seen in batch:
                if isinstance(seen, PageObservation):
                    page = self._page_row(seen)
                    session.add(page)
                    new_pages.append((seen.url, page))
            session.flush()
            for url, page in new_pages:
                self._page_ids.setdefault(url, (page.id, page.page_type))
            for seen in batch:
                if isinstance(seen, LinkCheckObservation) and len(seen.url) <= MAX_URL_CHARS:
                    self._write_link(session, seen)

    def _write_column(self, session: Session, seen: ColumnObservation) -> None:
        column_id = self._columns.get(seen.url)
        if column_id is None:
            column = SiteColumn(target_id=self.target_id, name=seen.name, url=seen.url, kind=seen.kind,
                                source=seen.source)
            session.add(column)
            session.flush()
            self._columns[seen.url] = column.id
        elif seen.source == "discovered":
            column = session.get(SiteColumn, column_id)
            if column is not None and column.source == "discovered":
                column.name, column.kind, column.active = seen.name, seen.kind, True

    def _page_row(self, seen: PageObservation) -> Page:
        facts = seen.facts
        column_id = self._columns.get(seen.column_url) if seen.column_url else None
        extra: dict[str, Any] = {
            "page_type": seen.page_type,
            "list_index": seen.list_index,
            "listed_title": seen.listed_title,
            "listed_text": seen.listed_text,
            "column_url": seen.column_url,
            "error_kind": seen.error_kind,
            "footer_text": seen.footer_text or "",
            "redirects": [list(r) for r in seen.redirects],
        }
        page = Page(
            scan_id=self.scan_id,
            url=seen.url,
            final_url=seen.final_url,
            status_code=seen.status,
            content_type=seen.headers.get("content-type"),
            fetched_at=seen.fetched_at,
            elapsed_ms=seen.elapsed_ms,
            page_type=seen.page_type if seen.page_type in ("home", "list", "article") else "other",
            column_id=column_id,
            error=seen.error,
        )
        if facts is not None:
            publish, written = facts.publish_date, facts.written_date
            page.encoding = facts.encoding
            page.title = facts.title
            page.publish_date = _page_day(publish)
            page.publish_date_raw = publish.raw if publish else None
            page.written_date = _page_day(written)
            page.written_date_precision = written.precision if written else None
            page.written_date_raw = written.raw if written else None
            page.source, page.issuer = facts.source, facts.issuer
            page.index_no, page.doc_no = facts.index_no, facts.doc_no
            extra.update(
                publish_date_how=facts.publish_date_how,
                publish_date_precision=publish.precision if publish else None,
                publish_time=publish.time_iso() if publish else None,
                written_date_how=facts.written_date_how,
                is_html=facts.is_html,
                truncated=facts.truncated,
                warnings=list(facts.warnings),
                text=facts.text[:MAX_TEXT_CHARS],
            )
            for position, item in enumerate(facts.items):
                page.list_items.append(
                    ListItem(column_id=column_id, title=item.title, text=item.text, url=item.url,
                             date=_item_day(item.date), position=position)
                )
        page.facts = extra
        return page

    def _write_link(self, session: Session, check: LinkCheckObservation) -> None:
        session.add(
            LinkCheck(
                scan_id=self.scan_id,
                url=check.url,
                method=check.method,
                status_code=check.status,
                outcome=check.outcome,
                error=check.error,
                redirects=[list(r) for r in check.redirects],
                elapsed_ms=check.elapsed_ms,
            )
        )
        for page_url, text, visible in check.found_on:
            source_id, source_type = self._page_ids.get(page_url, (None, None))
            session.add(Link(scan_id=self.scan_id, source_page_id=source_id, url=check.url, text=text,
                             visible=visible, on_home=source_type == "home"))


def _page_obs(page: Page) -> PageObs:
    facts = page.facts or {}
    return PageObs(
        url=page.url,
        final_url=page.final_url,
        status=page.status_code,
        error=page.error,
        error_kind=facts.get("error_kind"),
        page_type=page.page_type,  # type: ignore[arg-type]
        title=page.title,
        publish_date=page.publish_date,
        publish_date_raw=page.publish_date_raw,
        publish_date_how=facts.get("publish_date_how"),
        publish_date_precision=facts.get("publish_date_precision"),
        written_date=page.written_date,
        written_date_precision=page.written_date_precision,  # type: ignore[arg-type]
        written_date_raw=page.written_date_raw,
        written_date_how=facts.get("written_date_how"),
        text=facts.get("text") or "",
        footer_text=facts.get("footer_text") or "",
        fetched_at=page.fetched_at,
        content_type=page.content_type,
    )


def _items(rows: Iterable[ListItem]) -> list[ItemObs]:
    return [ItemObs(title=row.title, text=row.text, url=row.url, date=row.date) for row in rows]


def load_site_artifacts(
    session: Session, scan: Scan, *, as_of: dt.datetime, lexicon: tuple[str, ...] | None, complete: bool
) -> SiteArtifacts:
    """Read a stored site scan back as the artifacts its checks need."""
    target = session.get(Target, scan.target_id)
    assert target is not None
    # Plain rows, not ORM instances (no identity map): a 20,000-page scan is read back
    # without the ORM's per-object overhead. Rows have the same attribute names.
    pages = list(session.execute(select(Page.__table__).where(Page.scan_id == scan.id).order_by(Page.id)))
    items_by_page: dict[int, list[ListItem]] = defaultdict(list)
    if pages:
        for item in session.execute(
            select(ListItem.__table__).join(Page).where(Page.scan_id == scan.id)
            .order_by(ListItem.page_id, ListItem.position)
        ):
            items_by_page[item.page_id].append(item)

    home_page = next((p for p in pages if p.page_type == "home"), None)
    columns = {c.id: c for c in session.scalars(select(SiteColumn).where(SiteColumn.target_id == target.id))}
    lists: dict[int, list[Page]] = defaultdict(list)
    articles: list[ArticleObs] = []
    for page in pages:
        facts = page.facts or {}
        if page.page_type == "list" and page.column_id is not None:
            lists[page.column_id].append(page)
        elif page.page_type == "article":
            articles.append(
                ArticleObs(
                    page=_page_obs(page),
                    column_url=facts.get("column_url"),
                    listed_title=facts.get("listed_title"),
                    listed_text=facts.get("listed_text"),
                )
            )

    column_obs: list[ColumnObs] = []
    for column_id, list_pages in lists.items():
        column = columns[column_id]
        list_pages.sort(key=lambda p: (p.facts or {}).get("list_index") or 1)
        first = _page_obs(list_pages[0])
        items = [item for p in list_pages for item in _items(items_by_page[p.id])]
        column_obs.append(
            ColumnObs(
                name=column.name,
                url=column.url,
                kind=column.kind,  # type: ignore[arg-type]
                source=column.source,  # type: ignore[arg-type]
                page=first,
                items=items,
                complete=all(_page_obs(p).ok for p in list_pages),
            )
        )

    found_on: dict[str, list[tuple[str, str]]] = defaultdict(list)
    on_home: dict[str, bool] = defaultdict(bool)
    page_urls = {p.id: p.url for p in pages}
    for link in session.execute(select(Link.__table__).where(Link.scan_id == scan.id).order_by(Link.id)):
        found_on[link.url].append((page_urls.get(link.source_page_id or -1, ""), link.text or ""))
        on_home[link.url] = on_home[link.url] or link.on_home
    links = [
        LinkObs(
            url=check.url,
            outcome=check.outcome,  # type: ignore[arg-type]
            status=check.status_code,
            method=check.method,
            error=check.error,
            redirects=tuple(tuple(r) for r in (check.redirects or ())),  # type: ignore[misc]
            found_on=tuple(found_on.get(check.url, ())),
            on_home=on_home.get(check.url, False),
        )
        for check in session.execute(
            select(LinkCheck.__table__).where(LinkCheck.scan_id == scan.id).order_by(LinkCheck.id)
        )
    ]

    missing = set()
    if home_page is None:
        missing.add("home")
    if not links and (home_page is None or home_page.error):
        missing.add("links")
    return SiteArtifacts(
        target=TargetInfo(id=target.id, name=target.name, organizer=target.organizer,
                          category=target.category, url=target.url),
        as_of=as_of,
        scan_complete=complete,
        home=_page_obs(home_page) if home_page is not None else None,
        home_items=_items(items_by_page[home_page.id]) if home_page is not None else (),
        columns=column_obs,
        articles=articles,
        links=links,
        lexicon=lexicon,
        missing=frozenset(missing),
    )


def started_scan(session: Session, target_id: str, *, as_of: dt.datetime, owner: str, lease: dt.timedelta) -> Scan:
    """A new site scan row, running and leased to ``owner`` (committed by the caller)."""
    now = utcnow()
    scan = Scan(target_id=target_id, kind="site", status="running", started_at=now, as_of=as_of,
                lease_owner=owner, lease_expires_at=now + lease)
    session.add(scan)
    session.flush()
    return scan

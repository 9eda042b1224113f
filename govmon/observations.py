"""Observations between the gatherers and the checks: stored as rows, read back as artifacts.

:class:`ObservationWriter` writes what one site crawl sees (pages, list items, links, link
checks, discovered columns) under its scan, in batches while the crawl runs. :func:`load_site_artifacts` reads a stored
scan back as the :class:`~govmon.checks.artifacts.SiteArtifacts` the checks consume, so a
threshold change re-judges stored data without a re-crawl (DESIGN.md, rule 1).
:func:`store_account_read` and :func:`load_account_artifacts` do the same for one read of a
new-media account.
"""

from __future__ import annotations

import asyncio
import calendar
import datetime as dt
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Awaitable, Iterable, Iterator, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from govmon.checks.artifacts import (
    AccountArtifacts,
    AccountInfo,
    AccountReadObs,
    ArticleObs,
    HomeLinkObs,
    OffsiteLinkObs,
    ColumnObs,
    ItemObs,
    LinkObs,
    MessageObs,
    PageObs,
    PostObs,
    SiteArtifacts,
    StoredRows,
    TargetInfo,
)
from govmon.browser_audits import load_browser_audits
from govmon.site_facts import load_site_facts
from govmon.crawler.spider import ColumnObservation, LinkCheckObservation, PageObservation
from govmon.crawler.urls import host_of, site_hosts
from govmon.db import write_lock
from govmon.findings import normalize_evidence
from govmon.models import (
    AccountPost,
    AccountRead,
    Link,
    LinkCheck,
    ListItem,
    Page,
    Scan,
    SiteColumn,
    Target,
    utcnow,
)

if TYPE_CHECKING:
    from govmon.crawler.accounts.base import AccountSnapshot

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
        self._page_ids: dict[str, int] = {}  # url -> page id
        self._home_ids: set[int] = set()  # the home page's id (links on it are on_home)
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
        """Write what is pending (in a worker thread: the crawl's loop never waits on I/O), a
        batch at a time: observations that arrived during a slow write never make one huge
        transaction."""
        async with self._lock:
            while self._pending and self.error is None:
                cut = self._batch_end()
                batch, self._pending = self._pending[:cut], self._pending[cut:]
                self._pending_pages = sum(isinstance(o, PageObservation) for o in self._pending)
                try:
                    await asyncio.to_thread(self._write, batch)
                except Exception as exc:  # recorded: the scan will not count as complete
                    self.error = f"保存扫描结果失败：{type(exc).__name__}: {exc}"
            if self.error is not None:
                self._pending, self._pending_pages = [], 0

    def close(self) -> None:
        """After the last flush: drop the maps of what was written (a page's id by URL), which
        only later batches of this crawl needed; a large site's are several MB."""
        self._page_ids, self._home_ids = {}, set()
        self._columns = {}

    def _batch_end(self) -> int:
        """How many pending observations the next write takes: at most ``batch_pages`` pages
        and ``batch_links`` observations."""
        pages = 0
        for index, observation in enumerate(self._pending[: self.batch_links]):
            if isinstance(observation, PageObservation):
                pages += 1
                if pages >= self.batch_pages:
                    return index + 1
        return min(len(self._pending), self.batch_links)

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
                self._page_ids.setdefault(url, page.id)
                if page.page_type == "home":
                    self._home_ids.add(page.id)
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
            if facts.search_forms:
                extra["search_forms"] = list(facts.search_forms)
            if facts.message is not None:
                extra["message"] = dict(facts.message)
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
            source_id = self._page_ids.get(page_url)
            session.add(Link(scan_id=self.scan_id, source_page_id=source_id, url=check.url, text=text,
                             visible=visible, on_home=source_id in self._home_ids))


class _Shared:
    """One string object per distinct value of a field with few values (a content type, an
    outcome, 'day'…), instead of one per row read back: on a 20,000-page scan the copies add up."""

    __slots__ = ("_values",)

    def __init__(self) -> None:
        self._values: dict[Any, Any] = {}

    def __call__(self, value: Any) -> Any:
        if value is None:
            return None
        return self._values.setdefault(value, value)


def _page_obs(page: Any, *, with_text: bool = True, shared: _Shared | None = None) -> PageObs:
    """A stored page row as the checks see it (``with_text=False``: its text is streamed later,
    see :attr:`SiteArtifacts.texts_source`, and its footer, which only the home page's identifiers
    check reads, is left out)."""
    facts = page.facts or {}
    share = shared or _Shared()
    url = page.url
    return PageObs(
        url=url,
        final_url=url if page.final_url == url else page.final_url,
        status=page.status_code,
        error=share(page.error),
        error_kind=share(facts.get("error_kind")),
        page_type=share(page.page_type),  # type: ignore[arg-type]
        title=page.title,
        publish_date=page.publish_date,
        publish_date_raw=page.publish_date_raw,
        publish_date_how=share(facts.get("publish_date_how")),
        publish_date_precision=share(facts.get("publish_date_precision")),
        written_date=page.written_date,
        written_date_precision=share(page.written_date_precision),  # type: ignore[arg-type]
        written_date_raw=page.written_date_raw,
        written_date_how=share(facts.get("written_date_how")),
        text=(facts.get("text") or "") if with_text else "",
        footer_text=(facts.get("footer_text") or "") if with_text else "",  # judged on the home page only
        fetched_at=page.fetched_at,
        content_type=share(page.content_type),
        row_id=page.id,
    )


def _message(stored: Any) -> MessageObs | None:
    """A message page's stored dates (see crawler/portal_features.read_message) as the checks see them."""
    if not isinstance(stored, dict) or not stored.get("asked"):
        return None
    try:
        asked = dt.date.fromisoformat(stored["asked"])
        answered = dt.date.fromisoformat(stored["answered"]) if stored.get("answered") else None
    except ValueError:
        return None
    return MessageObs(asked=asked, answered=answered, state=stored.get("state"))


def _items(rows: Iterable[Any]) -> list[ItemObs]:
    return [ItemObs(title=row.title, text=row.text, url=row.url, date=row.date) for row in rows]


STREAM_ROWS = 500  # rows fetched at a time when a scan is read back


def _stream(session: Session, statement: Any) -> Iterable[Any]:
    """Plain rows (no ORM identity map), fetched ``STREAM_ROWS`` at a time (a server-side
    cursor on PostgreSQL), so reading a 20,000-page scan back never holds every row at once."""
    return session.execute(statement.execution_options(yield_per=STREAM_ROWS))


def page_texts(session: Session, row_ids: Sequence[int]) -> list[tuple[int, str]]:
    """The stored visible text of these page rows."""
    rows = session.execute(select(Page.id, Page.facts).where(Page.id.in_(list(row_ids))))
    return [(row.id, (row.facts or {}).get("text") or "") for row in rows]


def load_site_artifacts(
    session: Session, scan: Scan, *, as_of: dt.datetime, lexicon: tuple[str, ...] | None, complete: bool,
    bad_link_terms: tuple[str, ...] | None = None,
) -> SiteArtifacts:
    """Read a stored site scan back as the artifacts its checks need.

    Memory stays proportional to what the checks keep, not to what the scan stored: rows are
    streamed; page texts are left in the database and streamed again by the one check that
    reads them (:meth:`SiteArtifacts.page_texts`, through ``texts_source``); the link verdicts
    and the off-site sightings are read each time a check iterates them (:class:`StoredRows`,
    see :func:`stored_links` and :func:`stored_offsite_links`). Both need ``session`` open
    while the checks run.
    """
    target = session.get(Target, scan.target_id)
    assert target is not None
    columns = {c.id: c for c in session.scalars(select(SiteColumn).where(SiteColumn.target_id == target.id))}

    home: PageObs | None = None
    home_id: int | None = None
    list_pages: dict[int, list[tuple[int, PageObs]]] = defaultdict(list)  # column → (list index, page)
    articles: list[ArticleObs] = []
    shared = _Shared()
    for row in _stream(session, select(Page.__table__).where(Page.scan_id == scan.id).order_by(Page.id)):
        facts = row.facts or {}
        if row.page_type == "home" and home is None:
            home, home_id = _page_obs(row), row.id
        elif row.page_type == "list" and row.column_id is not None:
            list_pages[row.column_id].append((facts.get("list_index") or 1, _page_obs(row, with_text=False, shared=shared)))
        elif row.page_type == "article":
            listed_title, listed_text = facts.get("listed_title"), facts.get("listed_text")
            articles.append(ArticleObs(
                page=_page_obs(row, with_text=False, shared=shared),
                column_url=shared(facts.get("column_url")),
                listed_title=listed_title,
                listed_text=listed_title if listed_text == listed_title else listed_text,
                message=_message(facts.get("message")),
            ))
    del shared

    # list items: only the home page's and the column lists' (article pages' own lists are not judged)
    wanted = {home_id} if home_id is not None else set()
    wanted.update(page.row_id for pages in list_pages.values() for _, page in pages)  # type: ignore[misc]
    items_by_page: dict[int, list[ItemObs]] = defaultdict(list)
    if wanted:
        for item in _stream(session, select(ListItem.__table__).join(Page).where(Page.scan_id == scan.id)
                            .order_by(ListItem.page_id, ListItem.position)):
            if item.page_id in wanted:
                items_by_page[item.page_id].append(ItemObs(title=item.title, text=item.text, url=item.url,
                                                           date=item.date))

    column_obs: list[ColumnObs] = []
    for column_id, indexed in list_pages.items():
        column = columns[column_id]
        indexed.sort(key=lambda pair: pair[0])
        pages = [page for _, page in indexed]
        column_obs.append(ColumnObs(
            name=column.name,
            url=column.url,
            kind=column.kind,  # type: ignore[arg-type]
            source=column.source,  # type: ignore[arg-type]
            page=pages[0],
            items=[item for page in pages for item in items_by_page.get(page.row_id, ())],  # type: ignore[arg-type]
            complete=all(page.ok for page in pages),
        ))

    # The link verdicts and the off-site sightings are read when a check iterates them, not held.
    own_hosts = _own_hosts(target.url, home)
    links = StoredRows(lambda: stored_links(session, scan.id))
    offsite_links = StoredRows(lambda: stored_offsite_links(session, scan.id, own_hosts))
    home_links = load_home_links(session, scan.id, home_id) if home_id is not None else None
    any_link = session.scalar(select(LinkCheck.id).where(LinkCheck.scan_id == scan.id).limit(1)) is not None

    missing = set()
    if home is None:
        missing.add("home")
    if not any_link and (home is None or home.error):
        missing.add("links")
    return SiteArtifacts(
        target=TargetInfo(id=target.id, name=target.name, organizer=target.organizer,
                          category=target.category, url=target.url),
        as_of=as_of,
        scan_complete=complete,
        home=home,
        home_items=items_by_page.get(home_id, []) if home_id is not None else (),
        columns=column_obs,
        articles=articles,
        links=links,
        home_links=home_links,
        offsite_links=offsite_links,
        bad_link_terms=bad_link_terms,
        lexicon=lexicon,
        missing=frozenset(missing),
        browser_audits=load_browser_audits(session, scan.id),
        **load_site_facts(session, scan.id),
        texts_source=lambda row_ids: page_texts(session, row_ids),
    )


def load_home_links(session: Session, scan_id: int, home_id: int) -> list[HomeLinkObs]:
    """The links seen on the home page row ``home_id`` of a scan, in the order they were stored."""
    rows = session.execute(
        select(Link.url, Link.text, Link.visible)
        .where(Link.scan_id == scan_id, Link.source_page_id == home_id)
        .order_by(Link.id)
    )
    return [HomeLinkObs(url=row.url, text=row.text or "", visible=bool(row.visible)) for row in rows]


def _own_hosts(target_url: str, home: PageObs | None) -> frozenset[str]:
    hosts = set(site_hosts(target_url))
    if home is not None and home.final_url:
        hosts |= site_hosts(home.final_url)
    return frozenset(hosts)


def _sightings_with_page(*columns: Any) -> Any:
    """Link rows (``columns``) with the URL of the page each was seen on ('' when unknown)."""
    return (select(*columns, func.coalesce(Page.url, "").label("page_url"))
            .select_from(Link).outerjoin(Page, Page.id == Link.source_page_id))


def stored_links(session: Session, scan_id: int) -> Iterator[LinkObs]:
    """The link verdicts of a scan, streamed, in the order they were stored. The pages a link
    was found on are read only for links that did not work (``links.broken`` reports them; a
    working link's 200,000 sightings would cost hundreds of MB on a large site)."""
    found_on: dict[str, list[tuple[str, str]]] = defaultdict(list)
    on_home: dict[str, bool] = defaultdict(bool)
    sightings = (
        _sightings_with_page(Link.url, Link.text, Link.on_home)
        .where(Link.scan_id == scan_id, Link.url.in_(
            select(LinkCheck.url).where(LinkCheck.scan_id == scan_id, LinkCheck.outcome != "ok")
        ))
        .order_by(Link.id)
    )
    for link in _stream(session, sightings):
        found_on[link.url].append((link.page_url, link.text or ""))
        on_home[link.url] = on_home[link.url] or bool(link.on_home)
    share = _Shared()
    checks = select(LinkCheck.url, LinkCheck.outcome, LinkCheck.status_code, LinkCheck.method, LinkCheck.error,
                    LinkCheck.redirects).where(LinkCheck.scan_id == scan_id).order_by(LinkCheck.id)
    for check in _stream(session, checks):
        yield LinkObs(
            url=check.url,
            outcome=share(check.outcome),  # type: ignore[arg-type]
            status=check.status_code,
            method=share(check.method),
            error=share(check.error),
            redirects=tuple(tuple(r) for r in (check.redirects or ())),  # type: ignore[misc]
            found_on=tuple(found_on.get(check.url, ())),
            on_home=on_home.get(check.url, False),
        )


def stored_offsite_links(session: Session, scan_id: int, own_hosts: frozenset[str]) -> Iterator[OffsiteLinkObs]:
    """Each distinct sighting (url, page, text, visible) of an http(s) link whose host is not
    one of ``own_hosts``, in the order first seen. The database removes the repeats; rows are
    streamed and only the off-site ones are made into sightings."""
    first = func.min(Link.id).label("first_id")
    query = (_sightings_with_page(Link.url, Link.text, Link.visible, first)
             .where(Link.scan_id == scan_id)
             .group_by(Link.url, Page.url, Link.text, Link.visible)
             .order_by(first))
    for row in _stream(session, query):
        url = row.url or ""
        if not url.lower().startswith(("http://", "https://")):
            continue
        host = host_of(url)
        if not host or host in own_hosts:
            continue
        yield OffsiteLinkObs(url=url, page_url=row.page_url, text=row.text or "", visible=bool(row.visible))


def started_scan(session: Session, target_id: str, *, as_of: dt.datetime, owner: str, lease: dt.timedelta,
                 kind: str = "site") -> Scan:
    """A new site (or account) scan row, running and leased to ``owner`` (committed by the caller)."""
    now = utcnow()
    scan = Scan(target_id=target_id, kind=kind, status="running", started_at=now, as_of=as_of,
                lease_owner=owner, lease_expires_at=now + lease)
    session.add(scan)
    session.flush()
    return scan


# --------------------------------------------------------------------------- new-media accounts


def store_account_read(session: Session, scan_id: int, platform: str, url: str, snapshot: AccountSnapshot) -> None:
    """Keep what one account read saw: its coverage and evidence, and every post (flushes)."""
    session.add(AccountRead(
        scan_id=scan_id, platform=platform, url=url, coverage=snapshot.coverage, reason=snapshot.reason or None,
        login_expired=snapshot.login_expired, requests=snapshot.requests,
        evidence=normalize_evidence(snapshot.evidence),
    ))
    seen: set[str] = set()
    for post in snapshot.posts:
        if post.id in seen:  # a post shown twice (pinned and in the list) is kept once
            continue
        seen.add(post.id)
        session.add(AccountPost(scan_id=scan_id, post_id=post.id, text=post.text, url=post.url,
                                published_at=post.published_at, pinned=post.pinned,
                                comments_open=post.comments_open))
    session.flush()


def load_account_artifacts(
    session: Session, scan: Scan, *, as_of: dt.datetime, lexicon: tuple[str, ...] | None,
) -> AccountArtifacts:
    """Read a stored account scan back as the artifacts the account checks need."""
    target = session.get(Target, scan.target_id)
    assert target is not None
    info = AccountInfo(id=target.id, name=target.name, organizer=target.organizer,
                       platform=target.platform or "", url=target.url)
    row = session.scalars(select(AccountRead).where(AccountRead.scan_id == scan.id)).first()
    if row is None:
        return AccountArtifacts(target=info, as_of=as_of, lexicon=lexicon)
    read = AccountReadObs(coverage=row.coverage, reason=row.reason, login_expired=row.login_expired,  # type: ignore[arg-type]
                          requests=row.requests, url=row.url, evidence=row.evidence or {}, read_at=row.read_at)
    zone = as_of.tzinfo
    posts = [
        PostObs(id=p.post_id, text=p.text, url=p.url, published_at=p.published_at.astimezone(zone), pinned=p.pinned,
                comments_open=p.comments_open)
        for p in session.scalars(select(AccountPost).where(AccountPost.scan_id == scan.id).order_by(AccountPost.id))
    ]
    return AccountArtifacts(target=info, as_of=as_of, read=read, posts=posts, lexicon=lexicon)

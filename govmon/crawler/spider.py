"""The site spider: what one scan of one government site fetches, and what it reports.

A scan reads a site the way an inspector does: the home page; its columns (栏目) — from the
config, or found in the home page's navigation (``columns.py``); each column's list, paging
on (下一页, ``index_N.html``, ``?page=N``) up to ``list_pages_per_column`` pages; the newest
``articles_per_column`` articles of each column (by the list's dates); and then every link seen
on all those pages, checked once each (``linkcheck.py``), inside the same crawl and so under
the same politeness.

It records, never judges (DESIGN.md rule 1). Everything it saw leaves as a plain frozen
dataclass through :class:`ObservationPipeline`, an item pipeline that hands each item to the
scan's sink:

* :class:`PageObservation` — one per page fetched or attempted (a site that is down is a
  page observation with ``error`` = 连接被拒绝 / 域名解析失败 / 请求超时 …);
* :class:`ColumnObservation` — one per column, with where it came from ('config' | 'discovered');
* :class:`LinkCheckObservation` — one per distinct link (canonical URL) seen on the scan's
  pages. Links to pages the scan fetched are not requested again: the page's own result is the
  link's result. ``mailto:``/``tel:``/``javascript:``/``data:`` links, links to private
  addresses (unless allowed) and calendar-trap variants are emitted with outcome 'skipped' and
  the reason, so the evidence of what the page carries is complete.

Sequencing lives in :meth:`SiteSpider.start`: it yields the home request, then the articles
as Scrapy pulls them (see :meth:`SiteSpider._article_frontier`) until every page request has
been answered (the spider counts them), then the link results that are already known and the
link-check requests. Budgets: ``max_pages_per_site`` pages
(``GOVMON_MAX_PAGES``) and ``GOVMON_MAX_LINK_CHECKS`` link requests per scan; reaching one is
recorded (``capped``), it does not make the scan incomplete. Depth (``crawl.max_depth``) is a
page's place in the site — home 0, every list page of a column 1 (paging does not go deeper),
articles 2.

Pages: only the site's own hosts are crawled (the home URL's host with and without ``www.``,
the configured columns' hosts, and the host the home page redirects to). A page is read up to
``max_page_bytes`` (the rest is not downloaded; ``facts.truncated``); a response whose
Content-Type is not HTML (an article that is a PDF) stops after its headers and is recorded
with ``error_kind='not_html'``. Page parsing (``extract_page`` and the footer) runs in a worker
thread so a large page does not hold up the event loop the other scans share.

Links: checked with HEAD, then GET (headers only) when HEAD is refused; off-site links are
checked without reading the other site's robots.txt; on-site links robots.txt forbids are
'skipped'. A 404 page's own links are not collected.
"""

from __future__ import annotations

import asyncio
import datetime
import inspect
import logging
import re
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Iterator

import scrapy
from parsel import Selector
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.utils.misc import load_object

from govmon.crawler.columns import classify_column, discover_columns, find_next_page, newest_items
from govmon.crawler.linkcheck import (
    HEAD_REFUSED_STATUSES,
    LinkRecord,
    LinkRegistry,
    RedirectLoop,
    describe_failure,
    describe_status,
    failure_outcome,
    is_html_content_type,
    redirect_chain,
    status_outcome,
)
from govmon.crawler.urls import QueryVariantLimiter, canonical_url, host_of, is_http_url, request_url

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from twisted.python.failure import Failure

__all__ = [
    "ColumnObservation",
    "LinkCheckObservation",
    "ObservationPipeline",
    "ObservationSink",
    "PageObservation",
    "SiteSpider",
    "footer_text",
]

log = logging.getLogger(__name__)


class ScanStopped(IgnoreRequest):
    """A queued request dropped because the scan was stopped."""


# --- observations -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PageObservation:
    url: str  # as requested
    final_url: str  # after redirects (== url when there were none or the request failed)
    status: int | None  # None when no response came (see error)
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    elapsed_ms: int | None  # request sent → response received; None when none came
    fetched_at: datetime.datetime  # aware, UTC
    page_type: str  # 'home' | 'list' | 'article'
    column_url: str | None  # the column a list/article page belongs to
    list_index: int | None  # 1, 2, … for a column's list pages
    facts: Any  # govmon.crawler.extract.PageFacts, or None (no response, not HTML)
    footer_text: str | None  # home page only: the footer block's text
    error: str | None  # Chinese: what went wrong (no response, HTTP ≥ 400, not a page)
    error_kind: str | None  # dns|timeout|refused|tls|http|too_large|not_html|empty|redirect_loop|…
    listed_title: str | None = None  # article pages: the list entry that led here
    listed_text: str | None = None
    redirects: tuple[tuple[Any, str], ...] = ()  # ((status, url that redirected), …)
    depth: int = 0  # home 0, a column's list pages 1, articles 2 (see PAGE_DEPTHS)


@dataclass(frozen=True, slots=True)
class ColumnObservation:
    name: str
    url: str
    kind: str  # news | notice | policy | personnel | planning | interaction | other
    source: str  # 'config' | 'discovered'


@dataclass(frozen=True, slots=True)
class LinkCheckObservation:
    url: str
    outcome: str  # 'ok' | 'broken' | 'inconclusive' | 'skipped'
    status: int | None
    method: str | None  # 'HEAD' | 'GET' (None when not requested)
    error: str | None  # Chinese reason for broken / inconclusive / skipped
    redirects: tuple[tuple[Any, str], ...]
    elapsed_ms: int | None
    found_on: tuple[tuple[str, str, bool], ...]  # (page url, link text, visible), capped
    on_home: bool
    checked_as_page: bool = False  # the URL was fetched as one of the scan's pages


class ObservationSink:
    """Holds the scan's sink in Scrapy settings (which are deep-copied per crawler: the sink
    must stay the very same object)."""

    __slots__ = ("func",)

    def __init__(self, func: Callable[[object], Any]) -> None:
        self.func = func

    def __call__(self, item: object) -> Any:
        return self.func(item)

    def __deepcopy__(self, memo: dict[int, Any]) -> ObservationSink:
        return self

    def __copy__(self) -> ObservationSink:
        return self

    def __repr__(self) -> str:
        return f"ObservationSink({getattr(self.func, '__qualname__', self.func)!r})"


class ObservationPipeline:
    """Item pipeline: every observation the spider yields goes to ``GOVMON_OBSERVATION_SINK``.

    A sink may return an awaitable (it is awaited). A sink that raises is logged and counted
    (``govmon/sink_errors``); the crawl goes on.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.sink: Callable[[object], Any] | None = crawler.settings.get("GOVMON_OBSERVATION_SINK")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ObservationPipeline:
        return cls(crawler)

    async def process_item(self, item: Any) -> Any:
        stats = self.crawler.stats
        stats.inc_value(f"govmon/observations/{type(item).__name__}")
        if self.sink is None:
            return item
        try:
            result = self.sink(item)
            if inspect.isawaitable(result):
                await result
        except Exception:
            stats.inc_value("govmon/sink_errors")
            log.exception("the observation sink failed on %s", type(item).__name__)
        return item


# --- footer -----------------------------------------------------------------------------------------

_LOWER = "translate({}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
_FOOTERISH = " or ".join(
    [f"contains({_LOWER.format('@' + attr)}, '{word}')" for attr in ("class", "id") for word in ("foot", "bottom", "copyright")]
    + ["self::footer"]
)
_FOOTER_XPATH = f"//body//*[{_FOOTERISH}][not(ancestor::*[{_FOOTERISH}])]"
_TEXT_XPATH = ".//text()[not(ancestor::script)][not(ancestor::style)][not(ancestor::noscript)]"
_SPACES = re.compile(r"\s+")
FOOTER_FALLBACK_CHARS = 1500
FOOTER_MAX_CHARS = 3000


def _joined_text(nodes: list[str]) -> str:
    parts = [_SPACES.sub(" ", t).strip() for t in nodes]
    return " ".join(p for p in parts if p)


def footer_text(html: str, visible_text: str | None = None) -> str:
    """The text of the page's last footer-ish block (an element whose class or id contains
    foot / bottom / copyright, or ``<footer>``; outermost such blocks, the last one with text);
    else the last 1,500 characters of the visible text."""
    try:
        sel = Selector(text=html or "<html></html>")
        for block in reversed(sel.xpath(_FOOTER_XPATH)):
            text = _joined_text(block.xpath(_TEXT_XPATH).getall())
            if text:
                return text[:FOOTER_MAX_CHARS]
        if not visible_text:
            body = sel.xpath("//body") or sel
            visible_text = _joined_text(body[0].xpath(_TEXT_XPATH).getall())
    except Exception:  # a page parsel cannot read has no footer we could show
        log.debug("footer_text failed", exc_info=True)
        return (visible_text or "")[-FOOTER_FALLBACK_CHARS:]
    return (visible_text or "")[-FOOTER_FALLBACK_CHARS:]


# --- the spider -------------------------------------------------------------------------------------


@dataclass
class _Column:
    name: str
    url: str
    kind: str
    items: list[Any] = field(default_factory=list)
    finished: bool = False


@dataclass(frozen=True, slots=True)
class _PageResult:
    """What a link to a fetched page is judged by (kept for every page of the scan)."""

    status: int | None
    redirects: tuple[tuple[Any, str], ...]
    elapsed_ms: int | None
    error: str | None
    error_kind: str | None


# A page's depth is its place in the site's structure, not the number of hops that found it:
# every list page of a column (paging included) is at 1, every article at 2.
PAGE_DEPTHS = {"home": 0, "list": 1, "article": 2}

_NETWORK_KINDS = frozenset({"dns", "refused", "timeout", "tls", "connection_lost"})


def _headers_dict(response: Response) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, values in response.headers.items():
        key = name.decode("latin-1").lower()
        out[key] = ", ".join(v.decode("latin-1", "replace") for v in values)
    return out


def _elapsed_ms(meta: dict[str, Any]) -> int | None:
    latency = meta.get("download_latency")
    return None if latency is None else int(round(latency * 1000))


def _failure_redirects(exc: BaseException, request: Request) -> tuple[tuple[Any, str], ...]:
    chain = redirect_chain(request.meta)
    if isinstance(exc, RedirectLoop):
        chain += ((exc.status, exc.url),)
    return chain


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


class SiteSpider(scrapy.Spider):
    """One scan of one site (see the module docstring). Built by ``runner.crawl_site``.

    Settings read (all set by the runner): ``GOVMON_MAX_PAGES``, ``GOVMON_ARTICLES_PER_COLUMN``,
    ``GOVMON_LIST_PAGES_PER_COLUMN``, ``GOVMON_MAX_PAGE_BYTES``, ``GOVMON_MAX_LINK_CHECKS``,
    ``GOVMON_LINK_FOUND_ON_MAX``, ``GOVMON_LINK_WINDOW``, ``GOVMON_PAGE_WINDOW``, ``GOVMON_MAX_QUERY_VARIANTS``, ``GOVMON_EXTRACTOR``
    (import path of ``extract_page``), ``GOVMON_MAX_DEPTH`` (0: none; see ``PAGE_DEPTHS``).
    """

    name = "govmon_site"

    def __init__(self, spec: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if spec is None:
            raise ValueError("SiteSpider needs spec=SiteCrawlSpec(...)")
        self.spec = spec
        self.allowed_hosts: set[str] = set(spec.allowed_hosts)
        self.trusted_hosts: set[str] = set(spec.allowed_hosts) | set(spec.registered_hosts)
        # outcome bookkeeping, read by the runner
        self.capped = False
        self.cap_reasons: set[str] = set()
        self.home_error_kind: str | None = None
        self.home_ok = False
        self.lists_ok = 0
        self.counts: dict[str, int] = {
            "pages": 0,
            "page_errors": 0,
            "links_checked": 0,
            "links_ok": 0,
            "links_broken": 0,
            "links_inconclusive": 0,
            "links_skipped": 0,
            "links_unchecked": 0,
            "columns": 0,
        }
        # crawl state
        self._page_keys: set[str] = set()
        self._page_results: dict[str, _PageResult] = {}
        self._columns: dict[str, _Column] = {}
        self._pending = 0  # page requests not yet answered, the articles waiting in the frontier included
        self._page_progress = asyncio.Event()  # a page was answered or an article joined the frontier
        # articles chosen for fetching, as plain tuples until Scrapy pulls them (see _article_frontier)
        self._frontier: deque[tuple[str, str, _Column, tuple[str | None, str | None]]] = deque()
        self._link_requests_left = 0
        # link checks handed to Scrapy and not yet settled: the link phase keeps at most
        # ``link_window`` of them queued, so a site's 40,000 links are not all scheduled at once
        self._links_outstanding = 0
        self._link_settled = asyncio.Event()
        self.link_window = 256
        self.page_window = 16  # article requests Scrapy's scheduler may hold (see _article_frontier)
        self.stopping = False

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SiteSpider:
        spider: SiteSpider = super().from_crawler(crawler, *args, **kwargs)
        s = crawler.settings
        spider.max_pages = s.getint("GOVMON_MAX_PAGES", 500)
        spider.articles_per_column = s.getint("GOVMON_ARTICLES_PER_COLUMN", 10)
        # interaction columns (领导信箱…): their messages are read further back (a year of them,
        # for interaction.unanswered), up to this many per column
        spider.messages_per_column = s.getint("GOVMON_MESSAGES_PER_COLUMN", 30)
        spider.list_pages_per_column = max(1, s.getint("GOVMON_LIST_PAGES_PER_COLUMN", 3))
        spider.max_page_bytes = s.getint("GOVMON_MAX_PAGE_BYTES", 5_000_000)
        spider.max_depth = s.getint("GOVMON_MAX_DEPTH", 0)
        spider._link_requests_left = s.getint("GOVMON_MAX_LINK_CHECKS", 20000)
        spider.link_window = max(1, s.getint("GOVMON_LINK_WINDOW", 256))
        spider.page_window = max(1, s.getint("GOVMON_PAGE_WINDOW", 16))
        spider.links = LinkRegistry(
            found_on_cap=s.getint("GOVMON_LINK_FOUND_ON_MAX", 20),
            max_query_variants=s.getint("GOVMON_MAX_QUERY_VARIANTS", 100),
        )
        spider.pagination_limiter = QueryVariantLimiter(s.getint("GOVMON_MAX_QUERY_VARIANTS", 100))
        spider.extract_page = load_object(s.get("GOVMON_EXTRACTOR", "govmon.crawler.extract.extract_page"))
        return spider

    # --- sequencing ---------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        home = self._page_request(self.spec.url, page_type="home")
        if home is not None:  # else a zero page budget
            yield home
        async for article in self._article_frontier():
            yield article
        if self.stopping:
            return
        for item in self._link_phase():
            if isinstance(item, Request):
                await self._wait_for_link_slot()
                self._links_outstanding += 1
            else:
                await self._wait_for_pipelines()
            yield item

    async def _wait_for_pipelines(self, most: int = 64) -> None:
        """Scrapy sends items from ``start()`` to the pipelines without waiting for them: hold
        the link phase while ``most`` are still in the pipelines (the observation sink pushes
        back while it writes), so 20,000 results of pages already fetched do not pile up."""
        try:
            slot = self.crawler.engine.scraper.slot
        except (AttributeError, RuntimeError):
            return
        while slot is not None and slot.itemproc_size >= most and not self.stopping:
            await asyncio.sleep(0.01)

    async def _wait_for_link_slot(self) -> None:
        """Hold the link phase while ``link_window`` link checks are queued or in flight."""
        idle_rounds = 0
        while self._links_outstanding >= self.link_window and not self.stopping:
            self._link_settled.clear()
            try:
                await asyncio.wait_for(self._link_settled.wait(), timeout=0.5)
            except asyncio.TimeoutError:
                # as in _article_frontier: a request Scrapy dropped without a callback must not
                # hold the phase forever
                idle_rounds = idle_rounds + 1 if self._engine_idle() else 0
                if idle_rounds >= 4:
                    log.warning("%s: %d link checks never answered", self.spec.target_id, self._links_outstanding)
                    self._links_outstanding = 0

    def _link_done(self) -> None:
        self._links_outstanding = max(0, self._links_outstanding - 1)
        self._link_settled.set()

    async def _article_frontier(self) -> AsyncIterator[Request]:
        """The articles to fetch, one request at a time, until every page has been answered.

        An article becomes a ``Request`` only while Scrapy's scheduler holds fewer than
        ``page_window`` requests, so the articles chosen for a large site wait here as small tuples
        rather than as 20,000 ``Request`` objects in the scheduler's memory queue; list pages,
        yielded by the callbacks, still go first.
        """
        idle_rounds = 0
        while self._pending > 0:
            if self.stopping:
                self._drop_frontier()
                return
            if self._frontier:
                idle_rounds = 0
                if self._scheduled() >= self.page_window:
                    await asyncio.sleep(0.02)  # Scrapy still has enough to fetch
                    continue
                yield self._article_request(*self._frontier.popleft())
                continue
            self._page_progress.clear()
            try:
                await asyncio.wait_for(self._page_progress.wait(), timeout=0.5)
            except asyncio.TimeoutError:
                # Safety net: if Scrapy dropped a request without calling back (it should not),
                # do not wait forever once the engine has nothing left in flight.
                if self._engine_idle():
                    idle_rounds += 1
                    if idle_rounds >= 4:
                        log.warning("%s: %d page requests never answered; checking links anyway", self.spec.target_id, self._pending)
                        return
                else:
                    idle_rounds = 0

    def _scheduled(self) -> int:
        """Requests waiting in Scrapy's scheduler."""
        try:
            scheduler = self.crawler.engine.scheduler
            return len(scheduler) if scheduler is not None else 0  # type: ignore[arg-type]
        except (AttributeError, RuntimeError, TypeError):
            return 0

    def _engine_idle(self) -> bool:
        try:
            engine = self.crawler.engine
            scheduler = engine.scheduler
            slot = engine.scraper.slot
            return (
                not engine.downloader.active
                and (scheduler is None or not scheduler.has_pending_requests())
                and (slot is None or slot.is_idle())
            )
        except Exception:
            return False

    def abandon_queued(self) -> int:
        """Before a stop: drop the requests waiting in the downloader's per-host queues (they
        would otherwise all be fetched, at the site's delay, before Scrapy closes), and stop
        reporting. Returns how many were dropped."""
        self.stopping = True
        dropped = 0
        try:
            slots = list(self.crawler.engine.downloader.slots.values())
        except Exception:
            return 0
        for slot in slots:
            queue = getattr(slot, "queue", None)
            while queue:
                _request, deferred = queue.popleft()
                deferred.errback(ScanStopped("scan stopped"))
                dropped += 1
        return dropped

    def _page_finished(self) -> None:
        self._pending -= 1
        self._page_progress.set()

    def _drop_frontier(self) -> None:
        self._pending -= len(self._frontier)
        self._frontier.clear()

    def _cap(self, reason: str) -> None:
        self.capped = True
        self.cap_reasons.add(reason)
        self.crawler.stats.inc_value(f"govmon/capped/{reason}")

    # --- page requests --------------------------------------------------------------------------

    def _crawlable(self, url: str) -> bool:
        return is_http_url(url) and host_of(url) in self.allowed_hosts

    def _page_request(
        self,
        url: str,
        *,
        page_type: str,
        column: _Column | None = None,
        list_index: int | None = None,
        listed: Any = None,
    ) -> Request | None:
        key = self._claim_page(url, page_type)
        if key is None:
            return None
        return self._build_page_request(url, key, page_type=page_type, column=column, list_index=list_index,
                                        listed=(getattr(listed, "title", None), getattr(listed, "text", None)) if listed else None)

    def _claim_page(self, url: str, page_type: str) -> str | None:
        """Count a page in the scan (its canonical URL), or None: seen already, too deep, over budget."""
        key = canonical_url(url)
        if key in self._page_keys:
            return None
        depth = PAGE_DEPTHS[page_type]
        if self.max_depth and depth > self.max_depth:
            self._cap("depth")
            return None
        if len(self._page_keys) >= self.max_pages:
            self._cap("pages")
            return None
        self._page_keys.add(key)
        self._pending += 1
        return key

    def _article_request(self, url: str, key: str, column: _Column, listed: tuple[str | None, str | None]) -> Request:
        return self._build_page_request(url, key, page_type="article", column=column, listed=listed)

    def _build_page_request(
        self,
        url: str,
        key: str,
        *,
        page_type: str,
        column: _Column | None = None,
        list_index: int | None = None,
        listed: tuple[str | None, str | None] | None = None,
    ) -> Request:
        depth = PAGE_DEPTHS[page_type]
        meta = {
            "govmon_role": "page",
            "govmon_page_type": page_type,
            "govmon_key": key,
            "govmon_column": column.url if column else None,
            "govmon_list_index": list_index,
            "govmon_listed": listed,
            "govmon_max_bytes": self.max_page_bytes,
            "download_maxsize": 0,  # pages are cut at govmon_max_bytes instead (truncated, not lost)
            "download_warnsize": 0,
            "govmon_depth": depth,
        }
        return Request(
            request_url(url),
            callback=self.parse_page,
            errback=self.page_failed,
            meta=meta,
            dont_filter=True,  # the spider dedupes by canonical URL itself
            priority=10 if page_type != "article" else 0,
        )

    def known_page_status(self, url: str) -> int | None:
        """The status the scan got for ``url`` as a page, if it fetched it (for KnownPageMiddleware)."""
        result = self._page_results.get(canonical_url(url))
        return result.status if result is not None else None

    def _record_page(self, key: str, final_url: str, result: _PageResult) -> None:
        self._page_results[key] = result
        final_key = canonical_url(final_url)
        self._page_results.setdefault(final_key, result)
        for _, url in result.redirects:
            self._page_results.setdefault(canonical_url(url), result)

    # --- page callbacks --------------------------------------------------------------------------

    def _analyse(self, url: str, body: bytes, headers: dict[str, str], want_footer: bool) -> tuple[Any, str | None]:
        """Runs in a worker thread: extraction and the footer are CPU work."""
        facts = self.extract_page(url, body, headers, max_bytes=self.max_page_bytes)
        footer = None
        if want_footer and getattr(facts, "is_html", False):
            encoding = getattr(facts, "encoding", None) or "utf-8"
            try:
                html = body[: self.max_page_bytes].decode(encoding, "replace")
            except LookupError:
                html = body[: self.max_page_bytes].decode("utf-8", "replace")
            footer = footer_text(html, getattr(facts, "text", None))
        return facts, footer

    async def parse_page(self, response: Response) -> AsyncIterator[Any]:
        try:
            async for item in self._parse_page(response):
                yield item
        finally:
            self._page_finished()

    async def _parse_page(self, response: Response) -> AsyncIterator[Any]:
        meta = response.meta
        page_type = meta["govmon_page_type"]
        request = response.request
        url = request.meta.get("redirect_urls", [request.url])[0] if request is not None else response.url
        headers = _headers_dict(response)
        redirects = redirect_chain(meta)
        stopped = "download_stopped" in response.flags
        content_type = headers.get("content-type")
        facts = None
        footer = None
        error = error_kind = None
        not_html = stopped and not is_html_content_type(content_type)
        if not not_html:
            facts, footer = await asyncio.to_thread(
                self._analyse, response.url, response.body, headers, page_type == "home"
            )
            if stopped and facts is not None and not facts.truncated:
                facts.truncated = True
                facts.warnings.append(f"页面超过 {self.max_page_bytes} 字节，只读取了前面部分")
        if response.status >= 400:
            error_kind, error = "http", describe_status(response.status)
        elif not_html:
            error_kind = "not_html"
            error = f"不是网页（{(content_type or '').split(';')[0].strip()}），未下载其内容"
        else:
            if facts is not None and not facts.is_html:
                if not response.body.strip():
                    error_kind, error = "empty", "页面内容为空"
                else:
                    error_kind, error = "not_html", (facts.warnings[-1] if facts.warnings else "不是网页")
        listed = meta.get("govmon_listed") or (None, None)
        observation = PageObservation(
            url=url,
            final_url=response.url,
            status=response.status,
            headers=headers,
            elapsed_ms=_elapsed_ms(meta),
            fetched_at=_now(),
            page_type=page_type,
            column_url=meta.get("govmon_column"),
            list_index=meta.get("govmon_list_index"),
            facts=facts,
            footer_text=footer,
            error=error,
            error_kind=error_kind,
            listed_title=listed[0],
            listed_text=listed[1],
            redirects=redirects,
            depth=meta.get("govmon_depth", 0),
        )
        self.counts["pages"] += 1
        if error_kind is not None:
            self.counts["page_errors"] += 1
        self._record_page(
            meta["govmon_key"], response.url,
            _PageResult(response.status, redirects, observation.elapsed_ms, error, error_kind),
        )
        yield observation

        usable = facts is not None and error_kind is None
        if usable:
            on_home = page_type == "home"
            for link in facts.links:
                self.links.add(link.url, response.url, link.text, link.visible, on_home=on_home)

        if page_type == "home":
            if usable:
                self.home_ok = True
                final_host = host_of(response.url)
                if final_host and final_host not in self.allowed_hosts:
                    # the site lives where its home page redirects to
                    self.allowed_hosts.add(final_host)
                    self.trusted_hosts.add(final_host)
            else:
                self.home_error_kind = error_kind
            for item in self._start_columns(facts if usable else None, home_url=response.url):
                yield item
        elif page_type == "list":
            column = self._columns.get(canonical_url(meta["govmon_column"]))
            if column is not None:
                if usable:
                    self.lists_ok += 1
                    column.items.extend(facts.items)
                index = meta.get("govmon_list_index") or 1
                next_request = None
                if usable and index < self.list_pages_per_column:
                    next_url = find_next_page(facts, response.url, response.body.decode("latin-1"))
                    if next_url and self._crawlable(next_url) and self.pagination_limiter.allow(next_url):
                        next_request = self._page_request(
                            next_url, page_type="list", column=column, list_index=index + 1
                        )
                if next_request is not None:
                    yield next_request
                else:
                    self._finish_column(column)

    def page_failed(self, failure: Failure) -> Iterator[Any]:
        try:
            yield from self._page_failed(failure)
        finally:
            self._page_finished()

    def _page_failed(self, failure: Failure) -> Iterator[Any]:
        if self.stopping or isinstance(failure.value, ScanStopped):
            return
        request: Request = failure.request  # type: ignore[attr-defined]
        meta = request.meta
        page_type = meta["govmon_page_type"]
        kind, reason = describe_failure(failure.value, request)
        url = meta.get("redirect_urls", [request.url])[0]
        listed = meta.get("govmon_listed") or (None, None)
        redirects = _failure_redirects(failure.value, request)
        observation = PageObservation(
            url=url,
            final_url=request.url,
            status=None,
            headers={},
            elapsed_ms=None,
            fetched_at=_now(),
            page_type=page_type,
            column_url=meta.get("govmon_column"),
            list_index=meta.get("govmon_list_index"),
            facts=None,
            footer_text=None,
            error=reason,
            error_kind=kind,
            listed_title=listed[0],
            listed_text=listed[1],
            redirects=redirects,
            depth=meta.get("govmon_depth", 0),
        )
        self.counts["pages"] += 1
        self.counts["page_errors"] += 1
        self._record_page(meta["govmon_key"], request.url, _PageResult(None, redirects, None, reason, kind))
        yield observation
        if page_type == "home":
            self.home_error_kind = kind
            # A home page that does not answer: the configured columns on the same host would
            # not either; those elsewhere (a department channel on its own host) still get read.
            skip_host = host_of(url) if kind in _NETWORK_KINDS else None
            yield from self._start_columns(None, home_url=url, skip_host=skip_host)
        elif page_type == "list":
            column = self._columns.get(canonical_url(meta["govmon_column"]))
            if column is not None:
                self._finish_column(column)

    # --- columns and articles -------------------------------------------------------------------------

    def _start_columns(self, home_facts: Any, *, home_url: str, skip_host: str | None = None) -> Iterator[Any]:
        if self.spec.columns:
            columns = [(name, url, kind or classify_column(name), "config") for name, url, kind in self.spec.columns]
        elif home_facts is not None:
            columns = [(c.name, c.url, c.kind, "discovered") for c in discover_columns(home_facts, home_url)]
        else:
            columns = []
        for name, url, kind, source in columns:
            key = canonical_url(url)
            if key in self._columns:
                continue
            column = _Column(name, url, kind)
            self._columns[key] = column
            self.counts["columns"] += 1
            yield ColumnObservation(name=name, url=url, kind=kind, source=source)
            if skip_host is not None and host_of(url) == skip_host:
                continue
            request = self._page_request(url, page_type="list", column=column, list_index=1)
            if request is not None:
                yield request

    def _finish_column(self, column: _Column) -> None:
        """The column's lists are read: its newest articles join the frontier."""
        if column.finished:
            return
        column.finished = True
        crawlable = [it for it in column.items if self._crawlable(getattr(it, "url", ""))]
        column.items = []  # chosen below; the list entries are stored with their pages already
        count = self.messages_per_column if column.kind == "interaction" else self.articles_per_column
        for item in newest_items(crawlable, count):
            key = self._claim_page(item.url, "article")
            if key is not None:
                self._frontier.append((item.url, key, column, (getattr(item, "title", None), getattr(item, "text", None))))
        self._page_progress.set()

    # --- link checks ---------------------------------------------------------------------------------

    def _link_phase(self) -> Iterator[Any]:
        for record in list(self.links):
            if record.skip_reason is not None:
                yield self._link_observation(record, "skipped", None, None, record.skip_reason, (), None)
                continue
            page = self._page_results.get(record.key)
            if page is not None:
                yield self._link_from_page(record, page)
                continue
            if self._link_requests_left <= 0:
                self.counts["links_unchecked"] += 1
                self._cap("links")
                continue
            self._link_requests_left -= 1
            yield self._link_request(record, "HEAD")

    def _link_request(self, record: LinkRecord, method: str) -> Request:
        offsite = host_of(record.url) not in self.allowed_hosts
        return Request(
            request_url(record.url),
            method=method,
            callback=self.link_checked,
            errback=self.link_failed,
            headers={"Accept-Encoding": "identity"},
            meta={
                "govmon_role": "link",
                "govmon_link_key": record.key,
                "govmon_headers_only": method == "GET",
                "dont_obey_robotstxt": offsite,
                "download_maxsize": 0,
                "download_warnsize": 0,
                "depth_reset": True,
            },
            dont_filter=True,
            priority=-10,
        )

    def _link_observation(
        self,
        record: LinkRecord,
        outcome: str,
        status: int | None,
        method: str | None,
        error: str | None,
        redirects: tuple[tuple[Any, str], ...],
        elapsed_ms: int | None,
        *,
        as_page: bool = False,
    ) -> LinkCheckObservation:
        self.counts[f"links_{outcome}"] += 1
        if outcome != "skipped":
            self.counts["links_checked"] += 1
        return LinkCheckObservation(
            url=record.url,
            outcome=outcome,
            status=status,
            method=method,
            error=error,
            redirects=redirects,
            elapsed_ms=elapsed_ms,
            found_on=tuple(record.found_on),
            on_home=record.on_home,
            checked_as_page=as_page,
        )

    def _link_from_page(self, record: LinkRecord, page: _PageResult) -> LinkCheckObservation:
        if page.status is not None:
            outcome, reason = status_outcome(page.status)
            if outcome == "ok" and page.error_kind in ("not_html", "empty"):
                reason = None  # an attachment or an empty page is still a working link
        else:
            outcome, reason = failure_outcome(page.error_kind or "other"), page.error
        return self._link_observation(
            record, outcome, page.status, "GET", reason, page.redirects, page.elapsed_ms, as_page=True
        )

    def link_checked(self, response: Response) -> Iterator[Any]:
        request = response.request
        assert request is not None
        record = self.links.get(request.meta["govmon_link_key"]) or LinkRecord(request.url, request.meta["govmon_link_key"])
        if request.method == "HEAD" and response.status in HEAD_REFUSED_STATUSES:
            yield self._link_request(record, "GET")  # servers that refuse HEAD: ask as a browser would
            return
        outcome, reason = status_outcome(response.status)
        self._link_done()
        yield self._link_observation(
            record, outcome, response.status, request.method, reason, redirect_chain(response.meta), _elapsed_ms(response.meta)
        )

    def link_failed(self, failure: Failure) -> Iterator[Any]:
        if self.stopping or isinstance(failure.value, ScanStopped):
            self._link_done()
            return
        request: Request = failure.request  # type: ignore[attr-defined]
        key = request.meta["govmon_link_key"]
        record = self.links.get(key) or LinkRecord(request.url, key)
        kind, reason = describe_failure(failure.value, request)
        if request.method == "HEAD" and kind == "connection_lost":
            yield self._link_request(record, "GET")  # some servers drop HEAD requests
            return
        outcome = failure_outcome(kind)
        self._link_done()
        yield self._link_observation(
            record,
            outcome,
            None,
            None if outcome == "skipped" else request.method,
            reason,
            _failure_redirects(failure.value, request),
            None,
        )

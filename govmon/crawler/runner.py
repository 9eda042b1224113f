"""Run one site scan with Scrapy inside the process's one asyncio event loop.

``await crawl_site(spec, config.crawl, sink)`` crawls one site (``spider.SiteSpider``) with
``scrapy.crawler.AsyncCrawlerRunner`` in the *running* loop and returns a :class:`CrawlOutcome`;
every observation goes to ``sink`` on the way. Any number of scans may run at once in the same
loop (one crawler each) and ``crawl_site`` may be called any number of times per process.

The Twisted reactor Scrapy needs is installed once per process on the running loop by
:func:`ensure_reactor` (called by ``crawl_site``): ``asyncioreactor.install(eventloop=…)`` and
``reactor.startRunning(installSignalHandlers=False)``, without which Twisted's thread pool —
and so DNS resolution — never starts. Call :func:`shutdown_reactor` when the process stops, or
the thread pool's non-daemon threads keep it alive.

Stopping: set ``stop_event`` and the crawl stops cleanly (``crawler.stop_async()``); the outcome
says ``complete=False, reason='stopped'``. Cancelling the task that awaits ``crawl_site`` stops
the crawl the same way before the cancellation goes on (cancelling a Scrapy crawl's task alone
would not stop it).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Protocol

from govmon import __version__
from govmon.crawler.urls import host_of, site_hosts

__all__ = [
    "CrawlOutcome",
    "CrawlSettings",
    "CrawlStats",
    "SiteCrawlSpec",
    "build_settings",
    "crawl_site",
    "ensure_reactor",
    "shutdown_reactor",
    "user_agent",
]

log = logging.getLogger(__name__)

ASYNCIO_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"


class CrawlSettings(Protocol):
    """What ``crawl_site`` reads from ``Config.crawl``."""

    allow_private_addresses: bool
    concurrency_per_domain: int
    download_delay_s: float
    timeout_s: float
    retries: int
    user_agent: str
    contact: str
    max_pages_per_site: int
    max_link_checks: int
    max_depth: int
    articles_per_column: int
    list_pages_per_column: int
    max_page_bytes: int
    max_redirects: int
    retry_after_max_s: float
    obey_robots: bool


@dataclass(frozen=True, slots=True)
class SiteCrawlSpec:
    """What to scan: one registered site.

    ``columns`` are ``(name, url, kind)`` from the config (empty: discover them on the home
    page). ``allowed_hosts`` — the hosts the scan may crawl — default to the home URL's host
    with and without ``www.`` plus the configured columns' hosts. ``registered_hosts`` are other
    registered targets' hosts: links to them are always requested, even when they are private
    addresses.
    """

    target_id: str
    url: str
    columns: tuple[tuple[str, str, str], ...] = ()
    registered_hosts: frozenset[str] = frozenset()
    allowed_hosts: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        columns = tuple(_column_tuple(c) for c in self.columns or ())
        object.__setattr__(self, "columns", columns)
        hosts = set(self.allowed_hosts) | set(site_hosts(self.url))
        hosts.update(h for h in (host_of(url) for _, url, _ in columns) if h)
        object.__setattr__(self, "allowed_hosts", frozenset(h.lower() for h in hosts))
        object.__setattr__(self, "registered_hosts", frozenset(h.lower() for h in self.registered_hosts))

    @classmethod
    def from_site(cls, site: Any, *, registered_hosts: Iterable[str] = ()) -> SiteCrawlSpec:
        """From a config site entry (``id``, ``url``, ``columns`` with name/url/kind)."""
        return cls(
            target_id=str(getattr(site, "id", None) or getattr(site, "name", "")),
            url=str(site.url),
            columns=tuple(getattr(site, "columns", None) or ()),
            registered_hosts=frozenset(registered_hosts),
        )


def _column_tuple(column: Any) -> tuple[str, str, str]:
    if isinstance(column, (tuple, list)):
        name, url, *rest = column
        kind = rest[0] if rest else ""
    elif isinstance(column, Mapping):
        name, url, kind = column["name"], column["url"], column.get("kind") or ""
    else:
        name, url, kind = column.name, column.url, getattr(column, "kind", "") or ""
    kind = getattr(kind, "value", kind)  # an Enum from the config
    if not kind:
        from govmon.crawler.columns import classify_column

        kind = classify_column(str(name))
    return (str(name), str(url), str(kind))


@dataclass(frozen=True, slots=True)
class CrawlStats:
    pages: int = 0  # page observations: fetched or attempted
    errors: int = 0  # of which failed: no response, HTTP ≥ 400, not a page
    columns: int = 0
    links_checked: int = 0  # links with an outcome other than 'skipped'
    links_ok: int = 0
    links_broken: int = 0
    links_inconclusive: int = 0
    links_skipped: int = 0
    links_unchecked: int = 0  # over GOVMON_MAX_LINK_CHECKS
    requests: int = 0  # HTTP requests sent, retries and robots.txt included
    bytes: int = 0  # response bytes received
    duration_s: float = 0.0


@dataclass(frozen=True, slots=True)
class CrawlOutcome:
    """How a scan went.

    ``complete``: every planned fetch was attempted (a budget reached still counts as complete,
    with ``capped=True``); False when the scan was stopped, when the site's home page could not
    be read (no response, HTTP ≥ 400, robots.txt forbids it — what the scan planned from it was
    not attempted, even if configured columns elsewhere were read), or when the crawl itself failed. Findings that a later scan
    no longer sees should only be resolved by a complete scan.
    ``reason``: 'finished' | 'stopped' | 'home_unreachable' | 'robots_disallowed' |
    'spider_error' | 'error: …' | a Scrapy close reason.
    """

    target_id: str
    complete: bool
    capped: bool
    reason: str
    stats: CrawlStats
    started_at: datetime.datetime
    finished_at: datetime.datetime
    cap_reasons: tuple[str, ...] = field(default=())


# --- the reactor -----------------------------------------------------------------------------------


def ensure_reactor(*, dns_timeout: float = 15.0) -> Any:
    """Install Twisted's asyncio reactor on the running loop (once per process) and start it.

    Must be called from a coroutine running in the loop that will host every crawl. A second call
    from the same loop returns the reactor; a call from another loop raises RuntimeError (a
    process has one reactor, bound to one loop). Installs Scrapy's caching DNS resolver with
    ``dns_timeout`` the first time.
    """
    loop = asyncio.get_running_loop()
    import sys

    if "twisted.internet.reactor" in sys.modules:
        from twisted.internet import reactor
        from twisted.internet.asyncioreactor import AsyncioSelectorReactor

        if not isinstance(reactor, AsyncioSelectorReactor):
            raise RuntimeError(
                f"a {type(reactor).__name__} Twisted reactor is already installed; govmon needs the asyncio "
                "reactor installed on its event loop before anything imports twisted.internet.reactor"
            )
        if reactor._asyncioEventloop is not loop:  # type: ignore[attr-defined]
            raise RuntimeError("the Twisted reactor is bound to another asyncio event loop than the running one")
        if not reactor._started:  # type: ignore[attr-defined]
            reactor.startRunning(installSignalHandlers=False)  # type: ignore[attr-defined]
        return reactor

    from twisted.internet import asyncioreactor

    asyncioreactor.install(eventloop=loop)
    from twisted.internet import reactor

    reactor.startRunning(installSignalHandlers=False)  # type: ignore[attr-defined]
    _literal_aware_resolver()(reactor, 10_000, dns_timeout).install_on_reactor()
    return reactor


def _literal_aware_resolver() -> type:
    """Scrapy's caching resolver, except that an IP literal is its own address: the threaded
    resolver asks ``gethostbyname``, which knows IPv4 only, so a site registered as
    ``http://[::1]:8080/`` (or any IPv6 literal) could never be crawled through it."""
    import ipaddress

    from scrapy.resolver import CachingThreadedResolver
    from twisted.internet import defer

    class LiteralAwareResolver(CachingThreadedResolver):
        def getHostByName(self, name: str, timeout: Any = ()) -> Any:  # noqa: N802 (Twisted's name)
            try:
                ipaddress.ip_address(name.strip("[]"))
            except ValueError:
                return super().getHostByName(name, timeout)
            return defer.succeed(name.strip("[]"))

    return LiteralAwareResolver


def shutdown_reactor() -> None:
    """Stop the reactor's thread pool (its threads are not daemons). Safe to call more than once
    and when no reactor was installed; a later crawl starts a fresh pool."""
    import sys

    if "twisted.internet.reactor" not in sys.modules:
        return
    from twisted.internet import reactor

    if getattr(reactor, "threadpool", None) is None:
        return
    stop = getattr(reactor, "_stopThreadPool", None)
    if stop is not None:
        stop()  # also drops the pool, so getThreadPool() makes a new one when needed
    else:  # pragma: no cover
        reactor.threadpool.stop()  # type: ignore[attr-defined]


# --- settings ----------------------------------------------------------------------------------------


def user_agent(crawl: Any) -> str:
    """An honest User-Agent: ``govmon/<version> (+<contact>)`` unless the config sets one."""
    agent = (getattr(crawl, "user_agent", "") or "").strip() or f"govmon/{__version__}"
    contact = (getattr(crawl, "contact", "") or "").strip()
    if contact and contact not in agent:
        agent = f"{agent} (+{contact})"
    return agent


def build_settings(
    crawl: Any,
    spec: SiteCrawlSpec,
    sink: Callable[[object], Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The Scrapy settings of one scan."""
    from govmon.crawler.spider import ObservationSink

    delay = float(getattr(crawl, "download_delay_s", 0.5))
    # Scrapy ≥ 2.14 on asyncio does not hold CONCURRENT_REQUESTS_PER_DOMAIN with a zero delay.
    assert delay > 0, "crawl.download_delay_s must be > 0 (per-domain concurrency depends on it)"
    concurrency = max(1, int(getattr(crawl, "concurrency_per_domain", 4)))
    timeout = float(getattr(crawl, "timeout_s", 15.0))
    max_page_bytes = int(getattr(crawl, "max_page_bytes", 5_000_000))
    max_depth = int(getattr(crawl, "max_depth", 0) or 0)
    list_pages = max(1, int(getattr(crawl, "list_pages_per_column", 3)))
    settings: dict[str, Any] = {
        "TWISTED_REACTOR": ASYNCIO_REACTOR,
        "REMOTE_CONTROL_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "WARNING",
        "LOGSTATS_INTERVAL": 0,
        "MEMUSAGE_ENABLED": False,
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "CONCURRENT_REQUESTS_PER_IP": 0,
        "CONCURRENT_REQUESTS": max(16, 4 * concurrency),
        "DOWNLOAD_DELAY": delay,
        # RANDOMIZE_DOWNLOAD_DELAY=True, in Scrapy 2.19's words (the old setting is deprecated).
        "DOWNLOAD_DELAY_JITTER": 0.5,
        "DOWNLOAD_TIMEOUT": timeout,
        "DNS_TIMEOUT": timeout,
        "RETRY_ENABLED": True,
        "RETRY_TIMES": int(getattr(crawl, "retries", 2)),
        "RETRY_GIVE_UP_LOG_LEVEL": "INFO",
        "DOWNLOAD_MAXSIZE": max_page_bytes,
        "DOWNLOAD_WARNSIZE": max_page_bytes,
        # The spider enforces crawl.max_depth on its own scale (home 0, lists 1, articles 2:
        # paging does not make a page deeper). Scrapy's DEPTH_LIMIT counts hops, paging
        # included, and drops requests silently: it stays a backstop above any depth the
        # spider's own plan can reach.
        "GOVMON_MAX_DEPTH": max_depth,
        "DEPTH_LIMIT": max(max_depth, list_pages + 2) if max_depth else 0,
        "USER_AGENT": user_agent(crawl),
        "ROBOTSTXT_OBEY": bool(getattr(crawl, "obey_robots", True)),
        "REDIRECT_MAX_TIMES": int(getattr(crawl, "max_redirects", 5)),
        "COOKIES_ENABLED": False,
        "HTTPERROR_ALLOW_ALL": True,
        "REFERER_ENABLED": True,
        "DOWNLOADER_MIDDLEWARES": {
            "govmon.crawler.linkcheck.KnownPageMiddleware": 80,
            "govmon.crawler.linkcheck.PrivateAddressMiddleware": 90,
            "govmon.crawler.politeness.RobotsCrawlDelayMiddleware": 110,
            "govmon.crawler.politeness.RetryAfterMiddleware": 560,
            "govmon.crawler.linkcheck.RedirectLoopMiddleware": 610,
        },
        "EXTENSIONS": {"govmon.crawler.linkcheck.BodyLimitExtension": 0},
        "ITEM_PIPELINES": {"govmon.crawler.spider.ObservationPipeline": 100},
        # Observations go to one sink that batches them itself: Scrapy's default of 100 items
        # processed at once per response only multiplies asyncio tasks (about 600,000 alive
        # at once in a 5,000-page scan's link phase; benchmarks/README.md), so one at a time.
        "CONCURRENT_ITEMS": 1,
        # govmon's own settings (read by the spider and the components above)
        "GOVMON_OBSERVATION_SINK": ObservationSink(sink) if sink is not None else None,
        "GOVMON_ALLOW_PRIVATE_ADDRESSES": bool(getattr(crawl, "allow_private_addresses", False)),
        "GOVMON_TRUSTED_HOSTS": sorted(spec.allowed_hosts | spec.registered_hosts),
        "GOVMON_RETRY_AFTER_MAX": float(getattr(crawl, "retry_after_max_s", 60.0)),
        "GOVMON_CRAWL_DELAY_MAX": 30.0,
        "GOVMON_MAX_PAGES": int(getattr(crawl, "max_pages_per_site", 500)),
        "GOVMON_ARTICLES_PER_COLUMN": int(getattr(crawl, "articles_per_column", 10)),
        "GOVMON_MESSAGES_PER_COLUMN": int(getattr(crawl, "messages_per_column", 30)),
        "GOVMON_LIST_PAGES_PER_COLUMN": list_pages,
        "GOVMON_MAX_PAGE_BYTES": max_page_bytes,
        "GOVMON_MAX_LINK_CHECKS": int(crawl.max_link_checks),
        "GOVMON_LINK_FOUND_ON_MAX": 20,
        "GOVMON_LINK_WINDOW": 256,  # link checks queued or in flight at once
        "GOVMON_MAX_QUERY_VARIANTS": 100,
        "GOVMON_EXTRACTOR": "govmon.crawler.extract.extract_page",
    }
    if overrides:
        settings.update(overrides)
    return settings


# --- one scan ------------------------------------------------------------------------------------------


def _quiet_logs(level: str) -> None:
    """AsyncCrawlerRunner leaves logging to the application, so LOG_LEVEL alone would not keep
    Scrapy quiet: set it on Scrapy's loggers, unless the application has set them already."""
    for name in ("scrapy", "py.warnings.scrapy"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(level)


def _engine_running(crawler: Any) -> bool:
    try:
        return bool(crawler.engine.running)
    except RuntimeError:  # the engine is created when the crawl starts
        return False


async def _stop(crawler: Any, task: asyncio.Future[Any]) -> None:
    # A stop asked for before the engine runs would be a no-op and the crawl would then run to
    # its end: wait (briefly: opening a spider takes milliseconds) until there is an engine to stop.
    while not task.done() and not _engine_running(crawler):
        await asyncio.sleep(0.005)
    if task.done():
        return
    spider = getattr(crawler, "spider", None)
    if spider is not None and hasattr(spider, "abandon_queued"):
        spider.abandon_queued()
    try:
        await crawler.stop_async()
    except RuntimeError:  # not started yet / already stopped
        log.debug("stop_async on a crawler that was not running", exc_info=True)


async def crawl_site(
    site: SiteCrawlSpec,
    crawl_settings: Any,
    sink: Callable[[object], Any],
    *,
    stop_event: asyncio.Event | None = None,
    settings_overrides: Mapping[str, Any] | None = None,
) -> CrawlOutcome:
    """Scan one site in the running loop; observations go to ``sink``; see the module docstring.

    ``settings_overrides`` are extra Scrapy settings (tests use them; e.g. ``GOVMON_MAX_QUERY_VARIANTS``).
    """
    from scrapy.crawler import AsyncCrawlerRunner

    from govmon.crawler.spider import SiteSpider

    ensure_reactor()
    settings = build_settings(crawl_settings, site, sink, settings_overrides)
    _quiet_logs(settings.get("LOG_LEVEL", "WARNING"))
    started_at = datetime.datetime.now(datetime.timezone.utc)
    started = time.monotonic()
    if stop_event is not None and stop_event.is_set():
        return CrawlOutcome(site.target_id, False, False, "stopped", CrawlStats(), started_at, started_at)
    runner = AsyncCrawlerRunner(settings)
    crawler = runner.create_crawler(SiteSpider)
    task = runner.crawl(crawler, spec=site)
    stopped = False
    failure: BaseException | None = None
    waiter: asyncio.Task[Any] | None = None
    try:
        if stop_event is None:
            await asyncio.shield(task)
        else:
            waiter = asyncio.ensure_future(stop_event.wait())
            done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if task not in done:
                stopped = True
                await _stop(crawler, task)
                await asyncio.shield(task)
            else:
                task.result()
    except asyncio.CancelledError:
        # Cancelling does not stop a Scrapy crawl: stop it, then let the cancellation go on.
        with contextlib.suppress(Exception):
            await asyncio.shield(_stop(crawler, task))
            await asyncio.shield(task)
        raise
    except Exception as exc:  # the crawl itself failed (a bug, a bad setting): report, don't hide
        log.exception("crawl of %s failed", site.target_id)
        failure = exc
    finally:
        if waiter is not None and not waiter.done():
            waiter.cancel()
    return _outcome(site, crawler, started_at, time.monotonic() - started, stopped=stopped, failure=failure)


def _outcome(
    site: SiteCrawlSpec,
    crawler: Any,
    started_at: datetime.datetime,
    duration: float,
    *,
    stopped: bool,
    failure: BaseException | None,
) -> CrawlOutcome:
    spider = crawler.spider
    scrapy_stats: dict[str, Any] = {}
    with contextlib.suppress(Exception):
        scrapy_stats = crawler.stats.get_stats()
    counts = getattr(spider, "counts", {}) or {}
    stats = CrawlStats(
        pages=counts.get("pages", 0),
        errors=counts.get("page_errors", 0),
        columns=counts.get("columns", 0),
        links_checked=counts.get("links_checked", 0),
        links_ok=counts.get("links_ok", 0),
        links_broken=counts.get("links_broken", 0),
        links_inconclusive=counts.get("links_inconclusive", 0),
        links_skipped=counts.get("links_skipped", 0),
        links_unchecked=counts.get("links_unchecked", 0),
        requests=int(scrapy_stats.get("downloader/request_count", 0)),
        bytes=int(scrapy_stats.get("downloader/response_bytes", 0)),
        duration_s=round(duration, 3),
    )
    finish_reason = scrapy_stats.get("finish_reason")
    if stopped:
        complete, reason = False, "stopped"
    elif failure is not None or spider is None:
        complete, reason = False, f"error: {failure!r}"
    elif scrapy_stats.get("spider_exceptions/count"):
        complete, reason = False, "spider_error"
    elif finish_reason not in (None, "finished"):
        complete, reason = False, str(finish_reason)
    elif not spider.home_ok:
        complete = False
        reason = "robots_disallowed" if spider.home_error_kind == "robots" else "home_unreachable"
    else:
        complete, reason = True, "finished"
    return CrawlOutcome(
        target_id=site.target_id,
        complete=complete,
        capped=bool(getattr(spider, "capped", False)),
        reason=reason,
        stats=stats,
        started_at=started_at,
        finished_at=datetime.datetime.now(datetime.timezone.utc),
        cap_reasons=tuple(sorted(getattr(spider, "cap_reasons", ()) or ())),
    )

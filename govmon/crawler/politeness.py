"""Politeness that Scrapy leaves out: robots.txt ``Crawl-delay`` and HTTP ``Retry-After``.

Both work on Scrapy's per-host download *slot* (the queue that ``DOWNLOAD_DELAY`` and
``CONCURRENT_REQUESTS_PER_DOMAIN`` govern), so a wait never blocks the event loop and
never holds a connection: the slot simply does not hand out its next request before the
time the site asked for.

* :class:`RobotsCrawlDelayMiddleware` (downloader middleware): when Scrapy's robots.txt
  middleware has parsed a host's robots.txt (``robots_parsed`` signal), read its
  ``Crawl-delay`` for our user agent and raise that slot's delay to it (capped by
  ``GOVMON_CRAWL_DELAY_MAX``, default 30 s), without random jitter so that no two requests
  are closer than the delay. Re-applied to every request, so a slot that Scrapy
  garbage-collects and re-creates keeps the delay.
* :class:`RetryAfterMiddleware` (downloader middleware): a 429 or 503 response with
  ``Retry-After`` (seconds or an HTTP date) holds the host's slot that long and retries the
  request (same retry budget as Scrapy's ``RetryMiddleware``: ``RETRY_TIMES``). A 429
  without the header waits ``GOVMON_RETRY_AFTER_DEFAULT`` (1 s). A wait longer than
  ``GOVMON_RETRY_AFTER_MAX`` (crawl.retry_after_max_s) is not worth waiting in a scan and
  the response stands, as it does when the retries are used up (the link checker reports a
  standing 429 as inconclusive).
"""

from __future__ import annotations

import email.utils
import logging
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.utils.httpobj import urlparse_cached

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response

__all__ = ["RetryAfterMiddleware", "RobotsCrawlDelayMiddleware", "parse_retry_after"]

log = logging.getLogger(__name__)


def _slot_for(crawler: Crawler, request: Request, *, create: bool) -> Any | None:
    """The downloader slot ``request`` goes through (created when ``create``), or None."""
    try:
        downloader = crawler.engine.downloader
    except RuntimeError:
        return None
    key = request.meta.get(downloader.DOWNLOAD_SLOT) or downloader.get_slot_key(request)
    slot = downloader.slots.get(key)
    if slot is None and create:
        # Scrapy creates slots lazily when a request reaches the downloader; create it now
        # so the delay applies to this very request.
        _, slot = downloader._get_slot(request)
    return slot


class RobotsCrawlDelayMiddleware:
    """Honour robots.txt ``Crawl-delay`` (see the module docstring)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_delay = crawler.settings.getfloat("GOVMON_CRAWL_DELAY_MAX", 30.0)
        ua = crawler.settings.get("ROBOTSTXT_USER_AGENT") or crawler.settings.get("USER_AGENT") or "*"
        self.user_agent: str = ua
        self.delays: dict[str, float] = {}  # host -> seconds
        crawler.signals.connect(self.robots_parsed, signal=signals.robots_parsed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RobotsCrawlDelayMiddleware:
        return cls(crawler)

    def robots_parsed(self, robotparser: Any, request: Request) -> None:
        try:
            delay = robotparser.crawl_delay(self.user_agent)
        except Exception:  # a parser without crawl_delay support, or a broken robots.txt
            delay = None
        if delay is None or delay <= 0:
            return
        host = (urlparse_cached(request).hostname or "").lower()
        self.delays[host] = min(float(delay), self.max_delay)
        self.crawler.stats.set_value(f"govmon/crawl_delay/{host}", self.delays[host])
        self._apply(request, create=True)

    def _apply(self, request: Request, *, create: bool) -> None:
        host = (urlparse_cached(request).hostname or "").lower()
        delay = self.delays.get(host)
        if delay is None:
            return
        slot = _slot_for(self.crawler, request, create=create)
        if slot is not None and (slot.delay < delay or slot.jitter):
            slot.delay = max(slot.delay, delay)
            slot.jitter = 0.0

    def process_request(self, request: Request) -> None:
        if self.delays:
            self._apply(request, create=True)
        return None


def parse_retry_after(value: str | bytes | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date; None when
    absent or unreadable. A date in the past means 0."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1", "replace")
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = datetime.fromtimestamp(now if now is not None else time.time(), tz=timezone.utc)
    return max(0.0, (when - current).total_seconds())


class RetryAfterMiddleware:
    """Wait as long as ``Retry-After`` says, on the slot, then retry (see the module docstring).

    Sits just outside Scrapy's ``RetryMiddleware`` (550) so it sees 429/503 first; both use
    ``meta['retry_times']`` so together they never exceed ``RETRY_TIMES``.
    """

    STATUSES = (429, 503)

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings = crawler.settings
        self.max_wait = settings.getfloat("GOVMON_RETRY_AFTER_MAX", 60.0)
        self.default_429_wait = settings.getfloat("GOVMON_RETRY_AFTER_DEFAULT", 1.0)
        self.enabled = settings.getbool("RETRY_ENABLED", True)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if not self.enabled or response.status not in self.STATUSES or request.meta.get("dont_retry"):
            return response
        wait = parse_retry_after(response.headers.get(b"Retry-After"))
        if wait is None:
            if response.status != 429:
                return response  # a plain 503: Scrapy's RetryMiddleware retries it
            wait = self.default_429_wait
        stats = self.crawler.stats
        if wait > self.max_wait:
            stats.inc_value("govmon/retry_after/too_long")
            request.meta["dont_retry"] = True  # the server asked for more than a scan can wait
            return response
        spider = self.crawler.spider
        assert spider is not None
        retry = get_retry_request(
            request,
            spider=spider,
            reason=f"{response.status} Retry-After {wait:g}s",
            give_up_log_level=logging.INFO,
            stats_base_key="govmon/retry_after",
        )
        if retry is None:
            request.meta["dont_retry"] = True  # used up; don't let RetryMiddleware try again
            return response
        self._hold_slot(request, wait)
        stats.inc_value("govmon/retry_after/waits")
        return retry

    def _hold_slot(self, request: Request, wait: float) -> None:
        slot = _slot_for(self.crawler, request, create=True)
        if slot is None:
            return
        # The slot hands out its next request no earlier than lastseen + delay.
        slot.lastseen = max(slot.lastseen, time.monotonic() + wait)

"""The link checker's parts: which links there are, how each is checked, what the result means.

The checks run inside the site's own Scrapy crawl, after its pages (``spider.py``), so they share
its politeness: the same per-host slots, delay, concurrency, ``Crawl-delay`` and
``Retry-After`` handling. This module holds what is not the spider:

* :class:`LinkRegistry` — every link seen on the scan's pages, once per canonical URL, with the
  pages (and link texts) that carry it, up to a cap; links that are not to be requested are
  marked here with the reason (``mailto:``/``tel:``/``javascript:``/``data:``, a calendar trap).
* :func:`status_outcome` / :func:`failure_outcome` — what a final status or a download failure
  means for a link: ``ok``, ``broken``, ``inconclusive`` (429 after the retries, 412 anti-bot
  challenges, failures we cannot name) or ``skipped``; failures are named in Chinese
  (:func:`describe_failure`, used for pages as well).
* :class:`PrivateAddressMiddleware` — a downloader middleware refusing requests to hosts that are
  (or resolve to) loopback/private/link-local addresses, unless the host belongs to a registered
  target or ``crawl.allow_private_addresses`` is true. It sees redirects too, so a public link
  that redirects into a private network is refused as well.
* :class:`KnownPageMiddleware` — a link check redirected to a page the scan fetched takes that
  page's status instead of requesting it again.
* :class:`RedirectLoopMiddleware` — a redirect back to a URL already in the chain is a loop,
  reported at once (重定向循环) instead of after ``REDIRECT_MAX_TIMES`` requests.
* :class:`BodyLimitExtension` — ``headers_received``/``bytes_received`` handlers that stop a
  download early (``StopDownload(fail=False)``): a link check's GET after the headers, a page
  whose Content-Type is not HTML after the headers, a page after ``GOVMON_MAX_PAGE_BYTES``.
  A 50 MB attachment is never downloaded.

Request ``meta`` keys used here: ``govmon_role`` ('page' | 'link'), ``govmon_headers_only``,
``govmon_max_bytes``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from scrapy import signals
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
    StopDownload,
    UnsupportedURLSchemeError,
)
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet import error as tx_error

from govmon.crawler.urls import (
    QueryVariantLimiter,
    canonical_url,
    is_private_address,
    is_private_ip,
    never_resolves,
)

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request

__all__ = [
    "HEAD_REFUSED_STATUSES",
    "BodyLimitExtension",
    "LinkRecord",
    "LinkRegistry",
    "PrivateAddressBlocked",
    "KnownPageMiddleware",
    "PrivateAddressMiddleware",
    "RedirectLoop",
    "RedirectLoopMiddleware",
    "describe_failure",
    "describe_status",
    "failure_outcome",
    "is_html_content_type",
    "redirect_chain",
    "status_outcome",
]

log = logging.getLogger(__name__)

# A HEAD answered with one of these may just mean "no HEAD here": ask again with GET.
HEAD_REFUSED_STATUSES = frozenset({400, 403, 405, 501})
# Statuses that say nothing about the link itself.
INCONCLUSIVE_STATUSES = {
    429: "服务器限流（HTTP 429），重试后仍未放行，无法判定链接是否有效",
    412: "服务器要求浏览器验证（HTTP 412，常见于网站防护），无法判定链接是否有效",
}
_SKIPPED_SCHEMES = {
    "mailto": "邮件地址链接（mailto:），不需检查",
    "tel": "电话号码链接（tel:），不需检查",
    "javascript": "脚本链接（javascript:），不是网页地址",
    "data": "内嵌数据链接（data:），不是网页地址",
}

_STATUS_NAMES = {
    400: "请求无效",
    401: "需要登录",
    403: "禁止访问",
    404: "页面不存在",
    405: "不允许的请求方法",
    408: "请求超时",
    410: "页面已删除",
    412: "前置条件失败",
    429: "请求过多，服务器限流",
    500: "服务器内部错误",
    501: "服务器不支持该请求",
    502: "网关错误",
    503: "服务暂不可用",
    504: "网关超时",
}


def describe_status(status: int) -> str:
    """``页面不存在（HTTP 404）`` and the like."""
    name = _STATUS_NAMES.get(status) or ("服务器错误" if status >= 500 else "请求被拒绝")
    return f"{name}（HTTP {status}）"


def status_outcome(status: int) -> tuple[str, str | None]:
    """(outcome, Chinese reason) for a link whose final answer has ``status``."""
    if status < 400:
        return "ok", None
    if status in INCONCLUSIVE_STATUSES:
        return "inconclusive", INCONCLUSIVE_STATUSES[status]
    return "broken", describe_status(status)


class RedirectLoop(IgnoreRequest):
    """A redirect back to a URL already visited in the same chain."""

    def __init__(self, url: str, target: str, status: int) -> None:
        super().__init__(f"redirect loop: {url} -> {target}")
        self.url = url
        self.target = target
        self.status = status


class PrivateAddressBlocked(IgnoreRequest):
    """A request to a loopback/private address that the scan may not make."""

    def __init__(self, host: str, address: str | None = None) -> None:
        where = f"{host}（{address}）" if address and address != host else host
        super().__init__(f"{where} 是本机或内网地址，按设置（crawl.allow_private_addresses）不访问")
        self.host = host
        self.address = address


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        out.append(exc)
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return out


def describe_failure(exc: BaseException, request: Request | None = None) -> tuple[str, str]:
    """(error_kind, Chinese reason) for a download that produced no response.

    Kinds: dns | refused | timeout | tls | redirect_loop | too_many_redirects | robots | private |
    connection_lost | too_large | unsupported | ignored | other.
    """
    chain = _chain(exc)
    text = " ".join(str(e) for e in chain).lower()

    def any_of(*types: type[BaseException]) -> bool:
        return any(isinstance(e, types) for e in chain)

    if any_of(PrivateAddressBlocked):
        return "private", str(exc)
    if any_of(RedirectLoop):
        return "redirect_loop", "重定向循环（网址之间来回跳转，无法打开）"
    if any_of(CannotResolveHostError, tx_error.DNSLookupError):
        return "dns", "域名解析失败（DNS 查不到该域名）"
    if any_of(DownloadConnectionRefusedError, tx_error.ConnectionRefusedError):
        return "refused", "连接被拒绝（服务器未在该端口提供服务）"
    if any_of(DownloadTimeoutError, tx_error.TimeoutError, tx_error.TCPTimedOutError):
        return "timeout", "请求超时，站点没有在限定时间内响应"
    if isinstance(exc, IgnoreRequest):
        message = str(exc)
        if "max redirections" in message:
            urls = list(request.meta.get("redirect_urls", [])) if request is not None else []
            if request is not None:
                urls.append(request.url)
            keys = [canonical_url(u) for u in urls]
            if len(set(keys)) < len(keys):
                return "redirect_loop", "重定向循环（网址之间来回跳转，无法打开）"
            return "too_many_redirects", "重定向次数过多"
        if "robots.txt" in message.lower():
            return "robots", "robots.txt 不允许抓取该网址"
        return "ignored", f"未请求：{message or type(exc).__name__}"
    if any_of(tx_error.SSLError) or any(k in text for k in ("ssl", "certificate", "tls", "handshake")):
        return "tls", "HTTPS 证书或加密握手失败"
    if any_of(DownloadCancelledError):
        return "too_large", "内容超过大小上限，已停止下载"
    if any_of(UnsupportedURLSchemeError):
        return "unsupported", "不支持的网址协议（只支持 http:// 和 https://）"
    if any_of(tx_error.NoRouteError):
        return "refused", "无法连接到服务器（网络不可达）"
    if any_of(ResponseDataLossError, DownloadFailedError, tx_error.ConnectionLost, tx_error.ConnectionDone):
        return "connection_lost", "连接中断，服务器没有返回完整的响应"
    if any_of(tx_error.ConnectError):
        return "refused", f"无法连接到服务器（{exc}）"
    return "other", f"请求失败：{type(exc).__name__}: {exc}"


def failure_outcome(kind: str) -> str:
    """The link outcome for a download failure of ``kind`` (see :func:`describe_failure`)."""
    if kind in ("private", "robots", "unsupported", "ignored"):
        return "skipped"
    if kind in ("dns", "refused", "timeout", "tls", "redirect_loop", "too_many_redirects", "connection_lost"):
        return "broken"
    return "inconclusive"


def redirect_chain(meta: dict[str, Any]) -> tuple[tuple[Any, str], ...]:
    """The redirects a request went through: ((status or 'meta refresh', url that redirected), …)."""
    urls = meta.get("redirect_urls") or []
    reasons = meta.get("redirect_reasons") or []
    return tuple((reasons[i] if i < len(reasons) else None, url) for i, url in enumerate(urls))


def is_html_content_type(value: str | bytes | None) -> bool:
    """Whether a Content-Type may be an HTML page (missing, text/*, XHTML, XML: yes)."""
    if not value:
        return True
    if isinstance(value, bytes):
        value = value.decode("latin-1", "replace")
    mime = value.split(";", 1)[0].strip().lower()
    if not mime:
        return True
    return mime.startswith("text/") or mime in ("application/xhtml+xml", "application/xml", "application/vnd.wap.xhtml+xml")


# --- the registry ---------------------------------------------------------------------------


@dataclass(slots=True)
class LinkRecord:
    url: str  # as first seen (fragment removed)
    key: str  # canonical_url(url)
    found_on: list[tuple[str, str, bool]] = field(default_factory=list)
    on_home: bool = False
    skip_reason: str | None = None


class LinkRegistry:
    """Every link of one scan, once per canonical URL (see the module docstring)."""

    def __init__(self, *, found_on_cap: int = 20, max_query_variants: int = 100) -> None:
        self.found_on_cap = found_on_cap
        self.limiter = QueryVariantLimiter(max_query_variants)
        self._records: dict[str, LinkRecord] = {}

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self):
        return iter(self._records.values())

    def get(self, url: str) -> LinkRecord | None:
        return self._records.get(canonical_url(url))

    def add(self, url: str, page_url: str, text: str, visible: bool, *, on_home: bool = False) -> LinkRecord:
        url = url.strip()
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        key = canonical_url(url) if scheme in ("http", "https") else url
        record = self._records.get(key)
        if record is None:
            if key == url:
                key = url  # one string object for both (a large site has 40,000 links)
            record = LinkRecord(url=url, key=key)
            if scheme in _SKIPPED_SCHEMES:
                record.skip_reason = _SKIPPED_SCHEMES[scheme]
            elif scheme not in ("http", "https"):
                record.skip_reason = f"不是 http/https 网址（{scheme or '无协议'}），不检查"
            elif not self.limiter.allow(url):
                record.skip_reason = "同一路径下的查询参数组合过多（疑似日历等无限链接），不再逐个检查"
            self._records[key] = record
        record.on_home = record.on_home or on_home
        entry = (page_url, text, visible)
        if len(record.found_on) < self.found_on_cap and entry not in record.found_on:
            record.found_on.append(entry)
        return record


# --- downloader components ---------------------------------------------------------------------


async def _resolve_ipv4(host: str) -> str | None:
    """The address the crawl would connect to, through the reactor's resolver (Scrapy's DNS
    cache is shared); None when it does not resolve."""
    from twisted.internet import reactor

    try:
        return await maybe_deferred_to_future(reactor.resolve(host))  # type: ignore[attr-defined]
    except Exception:
        return None


class PrivateAddressMiddleware:
    """Refuse requests to local/private addresses (see the module docstring).

    Settings: ``GOVMON_ALLOW_PRIVATE_ADDRESSES`` (bool), ``GOVMON_TRUSTED_HOSTS`` (list of
    host names always allowed: the registered targets'). A spider may widen the trusted hosts
    at run time through a ``trusted_hosts`` attribute (a set of host names).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.allow_private = crawler.settings.getbool("GOVMON_ALLOW_PRIVATE_ADDRESSES", False)
        self.trusted = {h.lower() for h in crawler.settings.getlist("GOVMON_TRUSTED_HOSTS")}
        self._verdicts: dict[str, str | None] = {}  # host -> blocking address or None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PrivateAddressMiddleware:
        return cls(crawler)

    def _is_trusted(self, host: str) -> bool:
        if host in self.trusted:
            return True
        extra = getattr(self.crawler.spider, "trusted_hosts", None)
        return bool(extra) and host in extra

    async def process_request(self, request: Request) -> None:
        if self.allow_private:
            return None
        host = (urlparse_cached(request).hostname or "").lower().rstrip(".")
        if not host or self._is_trusted(host):
            return None
        if host not in self._verdicts:
            if is_private_address(host):
                self._verdicts[host] = host
            elif never_resolves(host):
                self._verdicts[host] = None  # let the download fail with the DNS error
            else:
                address = await _resolve_ipv4(host)
                self._verdicts[host] = address if address and is_private_ip(address) else None
        blocked = self._verdicts[host]
        if blocked is not None:
            self.crawler.stats.inc_value("govmon/private_address_blocked")
            raise PrivateAddressBlocked(host, blocked)
        return None


_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class KnownPageMiddleware:
    """A link check whose redirects lead to a page the scan already fetched ends there: the
    page's status is the answer (a response flagged ``govmon_known_page``), not a new request.

    Asks the spider: ``spider.known_page_status(url) -> int | None``.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> KnownPageMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> Any:
        if request.meta.get("govmon_role") != "link" or not request.meta.get("redirect_urls"):
            return None
        known = getattr(self.crawler.spider, "known_page_status", None)
        status = known(request.url) if known is not None else None
        if status is None:
            return None
        from scrapy.http import Response

        self.crawler.stats.inc_value("govmon/linkcheck/known_page")
        return Response(request.url, status=status, request=request, flags=["govmon_known_page"])


class RedirectLoopMiddleware:
    """Stop a redirect chain as soon as it comes back to a URL it has been at.

    Sits just inside Scrapy's RedirectMiddleware (600), so it sees the 3xx first: a loop is
    reported as one (``RedirectLoop``) after one round, not after ``REDIRECT_MAX_TIMES``
    requests.
    """

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedirectLoopMiddleware:
        return cls()

    def process_response(self, request: Request, response: Any) -> Any:
        if response.status not in _REDIRECT_STATUSES or request.meta.get("dont_redirect"):
            return response
        location = response.headers.get(b"Location")
        if not location:
            return response
        target = urljoin(request.url, location.decode("latin-1").strip())
        visited = {canonical_url(u) for u in request.meta.get("redirect_urls", [])}
        visited.add(canonical_url(request.url))
        if canonical_url(target) in visited:
            raise RedirectLoop(request.url, target, response.status)
        return response


class BodyLimitExtension:
    """Stop downloads early (see the module docstring)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._received: dict[int, int] = {}
        crawler.signals.connect(self.headers_received, signal=signals.headers_received)
        crawler.signals.connect(self.bytes_received, signal=signals.bytes_received)
        crawler.signals.connect(self.request_left, signal=signals.request_left_downloader)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BodyLimitExtension:
        return cls(crawler)

    def headers_received(self, headers: Any, body_length: int, request: Request) -> None:
        meta = request.meta
        if meta.get("govmon_headers_only"):
            self.crawler.stats.inc_value("govmon/linkcheck/stopped_after_headers")
            raise StopDownload(fail=False)
        if meta.get("govmon_role") == "page" and request.method == "GET":
            if headers.get(b"Location"):
                return
            if not is_html_content_type(headers.get(b"Content-Type")):
                self.crawler.stats.inc_value("govmon/pages/stopped_not_html")
                raise StopDownload(fail=False)

    def bytes_received(self, data: bytes, request: Request) -> None:
        cap = request.meta.get("govmon_max_bytes")
        if not cap:
            return
        key = id(request)
        total = self._received.get(key, 0) + len(data)
        self._received[key] = total
        if total >= cap:
            self._received.pop(key, None)
            self.crawler.stats.inc_value("govmon/pages/stopped_too_large")
            raise StopDownload(fail=False)

    def request_left(self, request: Request) -> None:
        self._received.pop(id(request), None)

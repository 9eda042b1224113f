"""Availability probes: can a site's home page be loaded, whole, within the time limit?

One probe is one GET of a registered home page (redirects followed, at most
``crawl.max_redirects``), with the honest ``crawl.user_agent``. The *whole* page must have
arrived within the limit (``checks.site.unreachable.timeout_s``, 15 s): a server that sends
its headers at once and then lets the body stall fails the probe, as it fails a reader.

Every probe opens a fresh connection (no keep-alive between probes), so a round measures
each site as a first visitor sees it. Failures are named (``kind``) and described in
Chinese; a probe never raises for anything the site does.

Safety: :func:`probe_many` only requests the URLs it is given (the orchestration passes the
registered home pages). A redirect from a registered site to a *different* host whose name
is a loopback/private address literal is refused unless ``crawl.allow_private_addresses``
is set, as the link checker does. Concurrency is bounded across sites, and one host never
gets two probes at once. A ``gate`` (govmon.probes: no probe on top of a site's scan) may
hold a probe back: it is then not measured, with the gate's reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

import httpx

from govmon.crawler.fetch import classify_error
from govmon.crawler.tls import verified_context
from govmon.crawler.urls import host_of, is_private_address, site_hosts

__all__ = [
    "CONNECTION_FAILURES",
    "FAILURE_KINDS",
    "DEFAULT_CONCURRENCY",
    "ProbeRequest",
    "ProbeResult",
    "probe_client",
    "probe_many",
    "probe_url",
]

# What a failed probe was: the name resolution, the connection (refused, reset, unreachable),
# the time limit, the TLS handshake or certificate, an HTTP error status (4xx/5xx), too many
# redirects (a loop), or anything else the site did wrong (a broken HTTP answer).
FAILURE_KINDS = ("dns", "connect", "timeout", "tls", "http_status", "too_many_redirects", "other")
# Failures that say nothing reached the site at all: when every site of a round fails this
# way, the fault is more likely ours (our network, our DNS) — see govmon.probes.
CONNECTION_FAILURES = frozenset({"dns", "connect", "timeout"})
DEFAULT_CONCURRENCY = 16

_KIND_OF_FETCH_KIND = {
    "dns": "dns",
    "refused": "connect",
    "timeout": "timeout",
    "tls": "tls",
    "redirects": "too_many_redirects",
}


class _BlockedRedirect(Exception):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


@dataclass(frozen=True, slots=True)
class ProbeRequest:
    """A URL to probe and the hosts it may be redirected to even if they are private."""

    url: str
    key: str = ""  # the caller's name for it (a target id)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One probe: ``ok`` when the whole page arrived in time with a status below 400."""

    url: str
    started_at: dt.datetime  # aware UTC
    ok: bool
    status: int | None
    elapsed_ms: int
    bytes: int
    final_url: str | None
    error_kind: str | None  # one of FAILURE_KINDS when not ok
    detail: str | None  # Chinese description of the failure
    key: str = ""
    # Set when OUR side failed while probing (a bug, no resources): nothing was measured,
    # and the probe must not count against the site.
    own_error: str | None = None

    @property
    def measured(self) -> bool:
        return self.own_error is None

    @property
    def connection_failure(self) -> bool:
        return self.measured and not self.ok and self.error_kind in CONNECTION_FAILURES


def probe_client(*, user_agent: str, timeout_s: float, max_redirects: int) -> httpx.AsyncClient:
    """The client of one round: redirects followed, no proxies from the environment, no keep-alive."""
    return httpx.AsyncClient(
        verify=verified_context(),
        follow_redirects=True,
        max_redirects=max_redirects,
        timeout=httpx.Timeout(timeout_s),
        headers={"User-Agent": user_agent, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
        limits=httpx.Limits(max_keepalive_connections=0),
        trust_env=False,
    )


def _seconds(value: float) -> str:
    return f"{value:g}"


async def probe_url(
    client: httpx.AsyncClient,
    url: str,
    *,
    timeout_s: float,
    max_bytes: int = 5_000_000,
    key: str = "",
) -> ProbeResult:
    """GET ``url`` once; the headers and the whole body (up to ``max_bytes``) within ``timeout_s``."""
    started_at = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    status: int | None = None
    final_url: str | None = None
    size = 0

    def result(ok: bool, kind: str | None = None, detail: str | None = None) -> ProbeResult:
        elapsed = int((time.perf_counter() - started) * 1000)
        return ProbeResult(url=url, started_at=started_at, ok=ok, status=status, elapsed_ms=elapsed, bytes=size,
                           final_url=final_url, error_kind=kind, detail=detail, key=key)

    try:
        async with asyncio.timeout(timeout_s):
            async with client.stream("GET", url) as response:
                status = response.status_code
                final_url = str(response.url)
                async for chunk in response.aiter_raw():
                    size += len(chunk)
                    if size >= max_bytes:
                        break  # enough of an enormous page has arrived: it loads
    except TimeoutError:
        if status is None:
            return result(False, "timeout", f"首页在 {_seconds(timeout_s)} 秒内没有响应")
        return result(False, "timeout",
                      f"已收到响应（HTTP {status}），但网页内容在 {_seconds(timeout_s)} 秒内没有全部载入"
                      f"（已收到 {size} 字节）")
    except _BlockedRedirect as exc:
        return result(False, "other", f"重定向到本机或内网地址 {exc.url}，按设置（crawl.allow_private_addresses）不访问")
    except httpx.HTTPError as exc:
        if isinstance(exc, httpx.TimeoutException):  # httpx's own per-operation limit
            return result(False, "timeout", f"首页在 {_seconds(timeout_s)} 秒内没有载入")
        if isinstance(exc, httpx.RemoteProtocolError):
            return result(False, "other", f"服务器中断了连接或返回了无效的 HTTP 响应：{exc}")
        if isinstance(exc, httpx.TooManyRedirects):
            return result(False, "too_many_redirects", "重定向次数过多（可能是重定向循环），首页无法打开")
        fetch_kind, reason = classify_error(exc)
        if isinstance(exc, httpx.ConnectError):
            fetch_kind, reason = _connect_failure(exc, fetch_kind, reason)
        return result(False, _KIND_OF_FETCH_KIND.get(fetch_kind, "other"), reason)
    if status >= 400:
        return result(False, "http_status", f"首页返回 HTTP {status}")
    return result(True)


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _connect_failure(exc: httpx.ConnectError, kind: str, reason: str) -> tuple[str, str]:
    """Name a connect failure by its cause: the async transport only says "All connection
    attempts failed" and keeps the operating system's error underneath."""
    for cause in _causes(exc):
        if isinstance(cause, socket.gaierror):
            return "dns", "域名解析失败（DNS 查不到该域名）"
        if isinstance(cause, ConnectionRefusedError):
            return "refused", "连接被拒绝（服务器未在该端口提供服务）"
        if isinstance(cause, ssl.SSLError):
            return "tls", f"HTTPS 证书或加密握手失败：{cause}"
        if isinstance(cause, OSError) and cause.strerror and cause is not exc:
            if kind == "refused" and "refused" not in reason:
                return "refused", f"无法连接到服务器：{cause.strerror}"
    return kind, reason


def _redirect_guard(allowed_hosts: frozenset[str]) -> Callable[[httpx.Request], Awaitable[None]]:
    async def guard(request: httpx.Request) -> None:
        host = (request.url.host or "").lower().rstrip(".")
        if host not in allowed_hosts and is_private_address(host):
            raise _BlockedRedirect(str(request.url))

    return guard


async def probe_many(
    requests: Sequence[ProbeRequest],
    *,
    user_agent: str,
    timeout_s: float,
    max_redirects: int,
    max_bytes: int = 5_000_000,
    allow_private_addresses: bool = False,
    trusted_urls: Sequence[str] = (),
    concurrency: int = DEFAULT_CONCURRENCY,
    on_result: Callable[[ProbeResult], None] | None = None,
    gate: Callable[[ProbeRequest], AbstractAsyncContextManager[str | None]] | None = None,
) -> list[ProbeResult]:
    """Probe every URL once, ``concurrency`` at a time, never two at once on one host.

    ``gate(request)`` is entered around each probe: it yields None to let it go, or the
    (Chinese) reason it is held back this round, and is exited once the probe has ended.

    Results come back in the order of ``requests``. The hosts of the given URLs and of
    ``trusted_urls`` (the other registered sites), with and without ``www.``, are trusted;
    a redirect to any other loopback/private host literal is refused unless
    ``allow_private_addresses``.
    """
    trusted: set[str] = set()
    for url in [*(r.url for r in requests), *trusted_urls]:
        trusted |= site_hosts(url)
    client = probe_client(user_agent=user_agent, timeout_s=timeout_s, max_redirects=max_redirects)
    if not allow_private_addresses:
        client.event_hooks["request"] = [_redirect_guard(frozenset(trusted))]
    limit = asyncio.Semaphore(max(1, concurrency))
    host_locks: dict[str, asyncio.Lock] = {}

    async def one(request: ProbeRequest) -> ProbeResult:
        lock = host_locks.setdefault(host_of(request.url), asyncio.Lock())
        async with lock, limit:
            started_at = dt.datetime.now(dt.UTC)

            def unmeasured(reason: str) -> ProbeResult:
                return ProbeResult(url=request.url, started_at=started_at, ok=False, status=None, elapsed_ms=0,
                                   bytes=0, final_url=None, error_kind=None, detail=None, key=request.key,
                                   own_error=reason)

            try:
                async with gate(request) if gate is not None else contextlib.nullcontext() as held_back:
                    if held_back:
                        outcome = unmeasured(held_back)
                    else:
                        outcome = await probe_url(client, request.url, timeout_s=timeout_s, max_bytes=max_bytes,
                                                  key=request.key)
            except Exception as exc:  # our failure, not the site's: not measured
                outcome = unmeasured(f"{type(exc).__name__}: {exc}")
        if on_result is not None:
            on_result(outcome)
        return outcome

    async with client:
        return list(await asyncio.gather(*(one(r) for r in requests)))

"""Fetch one URL with httpx, the way `govmon inspect` and the probes need it.

The site spider fetches through Scrapy; this module is for single, light requests.
Failures come back as :class:`FetchError` whose message says, in Chinese, what
happened (DNS, refused, timeout, TLS, too many redirects) — never a traceback.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import httpx

from govmon import __version__

DEFAULT_USER_AGENT = f"govmon/{__version__} (government website monitor)"


class FetchError(Exception):
    """The URL could not be fetched; ``reason`` is a short Chinese explanation."""

    def __init__(self, url: str, reason: str, kind: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.kind = kind  # dns | refused | timeout | tls | redirects | protocol | other


@dataclass(slots=True)
class FetchResult:
    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes
    truncated: bool
    elapsed_ms: int
    redirects: list[tuple[int, str]] = field(default_factory=list)


def classify_error(exc: Exception) -> tuple[str, str]:
    """(kind, Chinese reason) of an httpx failure; kinds as in :class:`FetchError`."""
    text = str(exc)
    lowered = text.lower()
    if isinstance(exc, httpx.TooManyRedirects):
        return "redirects", "重定向次数过多（可能是重定向循环）"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout", "请求超时，站点没有在限定时间内响应"
    if isinstance(exc, httpx.ConnectError):
        if any(s in lowered for s in ("name or service not known", "nodename nor servname",
                                      "temporary failure in name resolution", "no address associated",
                                      "name resolution", "getaddrinfo")):
            return "dns", "域名解析失败（DNS 查不到该域名）"
        if "certificate" in lowered or "ssl" in lowered or "tls" in lowered:
            return "tls", f"HTTPS 证书或加密握手失败：{text}"
        if "refused" in lowered:
            return "refused", "连接被拒绝（服务器未在该端口提供服务）"
        return "refused", f"无法连接到服务器：{text or type(exc).__name__}"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return "protocol", "不支持的网址协议（只支持 http:// 和 https://）"
    if isinstance(exc, httpx.HTTPError):
        return "other", f"请求失败：{text or type(exc).__name__}"
    return "other", f"请求失败：{type(exc).__name__}: {text}"


def fetch(
    url: str,
    *,
    timeout_s: float = 15.0,
    max_bytes: int = 5_000_000,
    max_redirects: int = 5,
    user_agent: str = DEFAULT_USER_AGENT,
) -> FetchResult:
    """GET ``url`` following at most ``max_redirects`` redirects; read at most ``max_bytes``."""
    started = time.perf_counter()
    try:
        with httpx.Client(
            follow_redirects=True,
            max_redirects=max_redirects,
            timeout=timeout_s,
            headers={"User-Agent": user_agent, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
            trust_env=False,
        ) as client:
            with client.stream("GET", url) as response:
                chunks: list[bytes] = []
                size = 0
                truncated = False
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > max_bytes:
                        truncated = True
                        break
                body = b"".join(chunks)[:max_bytes]
                return FetchResult(
                    url=url,
                    final_url=str(response.url),
                    status=response.status_code,
                    headers={k.lower(): v for k, v in response.headers.items()},
                    body=body,
                    truncated=truncated,
                    elapsed_ms=int((time.perf_counter() - started) * 1000),
                    redirects=[(r.status_code, str(r.url)) for r in response.history],
                )
    except Exception as exc:  # every failure becomes one clear line
        kind, reason = classify_error(exc)
        raise FetchError(url, reason, kind) from exc

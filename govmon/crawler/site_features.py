"""Observations of a site as a whole, made once per scan after its crawl: HTTPS, IPv6, search.

Each is a handful of single requests to the site (no crawl, so no crawl politeness is needed):

* :func:`observe_tls` — one TLS handshake with the site's host on its HTTPS port, verified
  against the system CAs plus ``tls.extra_ca_file``; when verification fails, a second,
  unverified handshake reads the certificate anyway so its expiry is known.
* :func:`observe_ipv6` — the host's IPv6 addresses (an IPv6 literal is its own; an IPv4
  literal has none; a name is resolved by the system resolver, i.e. /etc/hosts then DNS), and
  one HTTP request to the first of them.
* :func:`observe_search` — the home page's search form (recorded by the crawl) submitted once
  with the title of one of the home page's own articles; what the result page shows.

They record what they saw as plain dicts (stored in ``site_facts``); the checks judge.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit, urlunsplit

import httpx

from govmon.crawler.fetch import classify_error
from govmon.crawler.urls import canonical_url

__all__ = ["observe_ipv6", "observe_search", "observe_tls", "pick_search_item"]


def _host_port(url: str) -> tuple[str, int | None, str]:
    parts = urlsplit(url)
    return (parts.hostname or ""), parts.port, parts.scheme.lower()


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _not_after(der: bytes | None) -> dt.datetime | None:
    if not der:
        return None
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    return cert.not_valid_after_utc


async def _handshake(host: str, port: int, context: ssl.SSLContext, timeout: float) -> bytes | None:
    """One TLS handshake; the peer's certificate (DER). Raises on failure."""
    server_name = None if _ip(host) is not None and not context.check_hostname else host
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(host, port, ssl=context, server_hostname=server_name), timeout)
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        return ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (OSError, ssl.SSLError):
            pass


def _connect_reason(exc: BaseException) -> str:
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return "连接超时，HTTPS 端口没有在限定时间内响应"
    if isinstance(exc, ConnectionRefusedError):
        return "连接被拒绝（服务器未提供 HTTPS 服务）"
    if isinstance(exc, ssl.SSLError):
        return f"TLS 握手失败：{exc.reason or exc}"
    return f"无法连接 HTTPS 端口：{exc}"


async def observe_tls(url: str, *, https_port: int = 443, extra_ca_file: Path | None = None,
                      timeout_s: float = 10.0, now: dt.datetime | None = None) -> dict[str, Any]:
    """Does https:// answer on the site's host, and is its certificate valid for it?"""
    host, port, scheme = _host_port(url)
    if scheme == "https":
        port = port or 443  # a site registered with https:// is observed where it is
    else:
        port = https_port
    shown = f"[{host}]" if ":" in host else host
    https_url = f"https://{shown}:{port}/"
    now = now or dt.datetime.now(dt.UTC)
    data: dict[str, Any] = {"url": https_url, "host": host, "port": port, "answered": False, "valid": False}
    verified = ssl.create_default_context()
    if extra_ca_file is not None:
        verified.load_verify_locations(cafile=str(extra_ca_file))
    der: bytes | None = None
    try:
        der = await _handshake(host, port, verified, timeout_s)
        data["answered"], data["valid"] = True, True
    except ssl.SSLCertVerificationError as exc:
        data["answered"] = True
        data["verify_error"] = exc.verify_message or str(exc)
        data["verify_code"] = exc.verify_code
        lenient = ssl.create_default_context()
        lenient.check_hostname = False
        lenient.verify_mode = ssl.CERT_NONE
        try:
            der = await _handshake(host, port, lenient, timeout_s)
        except (OSError, ssl.SSLError, asyncio.TimeoutError) as again:
            data["error"] = _connect_reason(again)
    except (OSError, ssl.SSLError, asyncio.TimeoutError) as exc:
        data["error"] = _connect_reason(exc)
    expires = _not_after(der)
    if expires is not None:
        data["not_after"] = expires.isoformat()
        data["days_left"] = (expires - now).days if expires >= now else -((now - expires).days + 1)
    return data


async def observe_ipv6(url: str, *, timeout_s: float = 10.0, user_agent: str = "govmon") -> dict[str, Any]:
    """The host's IPv6 addresses, and whether its web server answers over IPv6."""
    host, port, scheme = _host_port(url)
    port = port or (443 if scheme == "https" else 80)
    data: dict[str, Any] = {"host": host, "addresses": [], "answered": False}
    literal = _ip(host)
    if literal is not None:
        data["addresses"] = [str(literal)] if literal.version == 6 else []
        data["literal"] = True
    else:
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, port, family=socket.AF_INET6, type=socket.SOCK_STREAM), timeout_s)
            data["addresses"] = list(dict.fromkeys(info[4][0] for info in infos))
        except (OSError, asyncio.TimeoutError) as exc:
            data["resolve_error"] = f"没有查到 IPv6（AAAA）地址：{exc}"
    if not data["addresses"]:
        return data
    address = data["addresses"][0]
    target = urlunsplit((scheme, f"[{address}]:{port}", urlsplit(url).path or "/", urlsplit(url).query, ""))
    data["tried"] = target
    try:
        async with httpx.AsyncClient(timeout=timeout_s, verify=False, trust_env=False,
                                     headers={"User-Agent": user_agent, "Host": urlsplit(url).netloc}) as client:
            response = await client.get(target)
        data["status"] = response.status_code
        data["answered"] = True
    except Exception as exc:  # every failure is an observation
        data["error"] = classify_error(exc)[1]
    return data


def pick_search_item(home_items: list[tuple[str, str]], own_host: str) -> tuple[str, str] | None:
    """(title, url) of the first home-page article with a usable title on the site's own host."""
    for title, url in home_items:
        title = (title or "").strip().rstrip("…").rstrip(".")
        if len(title) >= 6 and url and (urlsplit(url).hostname or "") == own_host:
            return title, url
    return None


async def observe_search(home_url: str, forms: list[dict[str, Any]], item: tuple[str, str] | None, *,
                         timeout_s: float = 15.0, user_agent: str = "govmon",
                         may_request: Callable[[str], bool] = lambda url: True) -> dict[str, Any]:
    """Submit the home page's first search form once with ``item``'s title; what came back.

    ``may_request(url)`` False (a form sending its query to a private address the crawl may not
    visit): nothing is requested, and the observation says why (so nothing is judged)."""
    from govmon.crawler.extract import extract_page

    data: dict[str, Any] = {"home_url": home_url, "form": forms[0] if forms else None}
    if not forms or item is None:
        if forms and item is None:
            data["error"] = "首页没有可用来检索的文章标题"
        return data
    form = forms[0]
    title, article_url = item
    data.update(query=title, article_url=article_url)
    fields = {**form.get("hidden", {}), form["field"]: title}
    if not may_request(form["action"]):
        data["error"] = "搜索表单提交到内网地址，按抓取设置未检索"
        return data
    try:
        async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=True, max_redirects=5, trust_env=False,
                                     headers={"User-Agent": user_agent}) as client:
            if form.get("method") == "POST":
                response = await client.post(form["action"], data=fields)
            else:
                response = await client.get(form["action"], params=fields)
    except Exception as exc:  # down: recorded, never judged as a missing result
        data["error"] = classify_error(exc)[1]
        return data
    data["result_url"] = str(response.url)
    data["status"] = response.status_code
    if response.status_code >= 400:
        return data
    facts = await asyncio.to_thread(extract_page, str(response.url), response.content, dict(response.headers))
    wanted = canonical_url(article_url)
    hits = [link.url for link in facts.links
            if canonical_url(link.url) == wanted or (title and title in (link.text or ""))]
    data["found"] = bool(hits)
    data["hits"] = hits[:5]
    data["result_links"] = len(facts.links)
    return data

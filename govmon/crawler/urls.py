"""URLs as the site scan sees them: one canonical form, the hosts a scan may crawl, and the traps.

* :func:`canonical_url` is the key under which a page or a link is known in one scan: w3lib's
  canonical form, without the fragment and without session-ish query keys (``jsessionid``,
  ``sid``, ``phpsessid``, ``utm_*`` …, and ``;jsessionid=`` path parameters). Two links that
  differ only in those are one link.
* :func:`request_url` is what is actually requested: the URL as the page wrote it, minus the
  fragment and the session-ish parts (the query is *not* re-sorted — some servers care).
* :func:`site_hosts` derives the hosts one site scan may crawl from its home URL (the host with
  and without ``www.``).
* :class:`QueryVariantLimiter` stops a calendar trap: a path that has shown more than *N*
  distinct query strings (``?date=2024-01-01``, ``?date=2024-01-02`` …) stops being followed or
  checked.
* :func:`is_private_address` says whether a host literal (an IP address or ``localhost``) is on
  a loopback, private, link-local or otherwise non-public network; names are resolved by the
  link checker (``linkcheck.py``), which asks this function about each address.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

__all__ = [
    "QueryVariantLimiter",
    "SESSION_QUERY_KEYS",
    "canonical_url",
    "host_of",
    "is_http_url",
    "is_private_address",
    "is_private_ip",
    "never_resolves",
    "request_url",
    "same_host",
    "site_hosts",
    "strip_session",
]

# Query keys that name a visitor's session or a campaign, never a different page.
SESSION_QUERY_KEYS = frozenset({"jsessionid", "sid", "phpsessid", "aspsessionid", "sessionid", "session_id"})
_SESSION_PREFIXES = ("utm_", "aspsessionid")
_PATH_SESSION = re.compile(r";(?:jsessionid|phpsessid|sid)=[^/?#;]*", re.I)


def _is_session_key(key: str) -> bool:
    low = key.lower()
    return low in SESSION_QUERY_KEYS or low.startswith(_SESSION_PREFIXES)


def strip_session(url: str) -> str:
    """``url`` without its fragment, ``;jsessionid=…`` path parameters and session-ish query keys."""
    parts = urlsplit(url.strip())
    path = _PATH_SESSION.sub("", parts.path)
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if not _is_session_key(k)]
        if len(kept) != len(pairs):
            query = urlencode(kept)
    return urlunsplit((parts.scheme, parts.netloc, path, query, ""))


def request_url(url: str) -> str:
    """What to request for a link: fragment and session parts removed, otherwise as written."""
    return strip_session(url)


def canonical_url(url: str) -> str:
    """The key of a URL within one scan (see the module docstring)."""
    try:
        return canonicalize_url(strip_session(url), keep_fragments=False)
    except (ValueError, UnicodeError):
        return url.strip()


def is_http_url(url: str) -> bool:
    return url[:7].lower() == "http://" or url[:8].lower() == "https://"


def host_of(url: str) -> str:
    """The lower-case host name of ``url`` without port ('' when there is none)."""
    try:
        return (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def site_hosts(home_url: str) -> frozenset[str]:
    """The hosts a scan of the site at ``home_url`` may crawl: its host, with and without ``www.``."""
    host = host_of(home_url)
    if not host:
        return frozenset()
    hosts = {host}
    if _is_ip_literal(host) or "." not in host:
        return frozenset(hosts)
    if host.startswith("www."):
        hosts.add(host[4:])
    else:
        hosts.add("www." + host)
    return frozenset(hosts)


def same_host(url: str, hosts: frozenset[str] | set[str]) -> bool:
    return host_of(url) in hosts


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")


def is_private_ip(address: str) -> bool:
    """True for loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local,
    carrier-grade NAT, unspecified, multicast and reserved addresses, IPv4-mapped ones included."""
    try:
        ip = ipaddress.ip_address(address.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED_ADDRESS_SPACE:
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return True
    return bool(
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_unspecified
        or ip.is_reserved
        or ip.is_multicast
    )


def is_private_address(host: str) -> bool:
    """Whether ``host`` — an IP literal or a name — is known, without asking DNS, to be local.

    IP literals are judged by :func:`is_private_ip`; ``localhost`` and ``*.localhost`` are
    loopback by definition (RFC 6761). Other names are not judged here: the link checker
    resolves them and asks :func:`is_private_ip` about every address.
    """
    host = (host or "").strip().lower().rstrip(".")
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    if _is_ip_literal(host):
        return is_private_ip(host)
    return False


def never_resolves(host: str) -> bool:
    """``.invalid`` names (RFC 6761) never resolve; asking DNS about them is pointless."""
    host = (host or "").lower().rstrip(".")
    return host == "invalid" or host.endswith(".invalid")


class QueryVariantLimiter:
    """At most ``max_variants`` distinct query strings per ``scheme://host/path``.

    ``allow(url)`` is True for a URL without a query, for a query string already seen on that
    path, and for new query strings until the path has shown ``max_variants`` of them; after that
    the path is a trap (``trapped_paths`` lists them) and new variants are refused.
    """

    def __init__(self, max_variants: int) -> None:
        self.max_variants = max_variants
        self._seen: dict[str, set[str]] = {}
        self.trapped_paths: set[str] = set()

    @staticmethod
    def _split(url: str) -> tuple[str, str]:
        canon = canonical_url(url)
        parts = urlsplit(canon)
        return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), parts.query

    def allow(self, url: str) -> bool:
        if self.max_variants <= 0:
            return True
        path_key, query = self._split(url)
        if not query:
            return True
        seen = self._seen.setdefault(path_key, set())
        if query in seen:
            return True
        if len(seen) >= self.max_variants:
            self.trapped_paths.add(path_key)
            return False
        seen.add(query)
        return True

"""Loopback test helpers: real HTTP servers on 127.0.0.x, one event loop with the reactor, no DNS.

* :class:`LoopbackServer` — a ``ThreadingHTTPServer`` on its own 127.0.0.x address (so each
  test site is a separate host, as on the real web) serving a route table. It counts every hit
  per (method, path), logs request times, tracks requests in flight (``max_inflight``) and the
  body bytes it actually wrote per path (``bytes_sent``). A request is in flight from its
  arrival until its answer starts: the client cannot be done with it before, and once the
  first byte is out it may rightly send its next request on another connection (a link check
  stops after the headers) while this thread is still writing — counting until the last byte
  would report a third request at a limit of two that the client never had.
* :func:`loop_runner` — the process's one asyncio loop, running in a background thread, with
  Twisted's asyncio reactor installed on it (``govmon.crawler.runner.ensure_reactor``) and the
  reactor's resolver replaced by :class:`LoopbackOnlyResolver`, so a test can never send a DNS
  query off the machine. The Twisted reactor can be installed once per process and bound to one
  loop: every test that crawls must run its coroutine through this runner
  (``loop_runner().run(coro)``, or the ``event_loop_runner`` fixture).
* :func:`crawl_config` — a ``Config.crawl`` for tests (the real config class when it exists).
"""

from __future__ import annotations

import asyncio
import atexit
import http.server
import itertools
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Callable, Coroutine, Mapping

import pytest

# --- hosts ----------------------------------------------------------------------------------------

_host_numbers = itertools.count(20)
_host_lock = threading.Lock()


def next_loopback_host() -> str:
    """A fresh 127.0.x.y address (Linux routes all of 127/8 to the loopback interface)."""
    with _host_lock:
        n = next(_host_numbers)
    return f"127.0.{n // 200}.{n % 200 + 20}"


def dead_address() -> str:
    """``http://127.0.x.y:port`` where nothing listens: connections are refused."""
    host = next_loopback_host()
    with socket.socket() as s:
        s.bind((host, 0))
        port = s.getsockname()[1]
    return f"http://{host}:{port}"


# --- the server -----------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: bytes | str = b""
    content_type: str | None = "text/html; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to sleep before answering
    stream_size: int | None = None  # instead of body: this many bytes, written in 64 KiB chunks
    head_status: int | None = None  # answer HEAD with this status (e.g. 405) instead


@dataclass(frozen=True)
class Hit:
    method: str
    path: str
    number: int  # 1 for the first hit on (method, path)
    headers: Mapping[str, str]


Route = Reply | Callable[[Hit], Reply]


def html(body: str, *, title: str = "", charset: str = "utf-8", head: str = "") -> bytes:
    return (
        f'<!DOCTYPE html><html><head><meta charset="{charset}"><title>{title}</title>{head}</head>'
        f"<body>{body}</body></html>"
    ).encode(charset if charset.lower() not in ("gb2312",) else "gbk", "xmlcharrefreplace")


class _ThreadingHTTPServerV6(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


class LoopbackServer:
    """A small HTTP/1.1 server on its own loopback address (see the module docstring)."""

    def __init__(self, routes: Mapping[str, Route] | None = None, *, host: str | None = None) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.host = host or next_loopback_host()
        self.hits: Counter[tuple[str, str]] = Counter()
        self.log: list[tuple[float, str, str]] = []
        self.bytes_sent: Counter[str] = Counter()
        self.inflight = 0
        self.max_inflight = 0
        self._lock = threading.Lock()
        server_class = _ThreadingHTTPServerV6 if ":" in self.host else http.server.ThreadingHTTPServer
        self._httpd = server_class((self.host, 0), self._handler_class())
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    # -- addresses --
    @property
    def base(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 literal (::1)
        return f"http://{host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base + path

    # -- counters --
    def count(self, path: str, method: str | None = None) -> int:
        if method is not None:
            return self.hits[(method, path)]
        return sum(n for (_, p), n in self.hits.items() if p == path)

    def times(self, path: str | None = None) -> list[float]:
        return [t for t, _, p in self.log if path is None or p == path]

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _route(self, path: str) -> Route | None:
        if path in self.routes:
            return self.routes[path]
        bare = path.split("?", 1)[0]
        if bare in self.routes:
            return self.routes[bare]
        return self.routes.get("*")

    def _handler_class(self) -> type[http.server.BaseHTTPRequestHandler]:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "loopback-test"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:  # noqa: N802
                self._serve("GET")

            def do_HEAD(self) -> None:  # noqa: N802
                self._serve("HEAD")

            def _serve(self, method: str) -> None:
                path = self.path
                with server._lock:
                    server.hits[(method, path)] += 1
                    number = server.hits[(method, path)]
                    server.log.append((time.monotonic(), method, path))
                    server.inflight += 1
                    server.max_inflight = max(server.max_inflight, server.inflight)
                try:
                    try:
                        route = server._route(path)
                        hit = Hit(method, path, number, dict(self.headers.items()))
                        if route is None:
                            reply = Reply(404, "<h1>404 页面不存在</h1>")
                        else:
                            reply = route(hit) if callable(route) else route
                        if reply.delay:
                            time.sleep(reply.delay)
                    finally:  # the answer starts now (see the module docstring)
                        with server._lock:
                            server.inflight -= 1
                    self._send(method, path, reply)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def _send(self, method: str, path: str, reply: Reply) -> None:
                status = reply.status
                if method == "HEAD" and reply.head_status is not None:
                    status = reply.head_status
                    body = b""
                    length = 0
                else:
                    body = reply.body.encode("utf-8") if isinstance(reply.body, str) else reply.body
                    length = reply.stream_size if reply.stream_size is not None else len(body)
                self.send_response(status)
                if reply.content_type:
                    self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(length))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                if method == "HEAD":
                    return
                if reply.stream_size is not None:
                    chunk = b"\0" * 65536
                    left = reply.stream_size
                    try:
                        while left > 0:
                            piece = chunk[: min(left, len(chunk))]
                            self.wfile.write(piece)
                            with server._lock:
                                server.bytes_sent[path] += len(piece)
                            left -= len(piece)
                    except (BrokenPipeError, ConnectionResetError, OSError):
                        self.close_connection = True
                    return
                try:
                    for start in range(0, len(body), 65536):
                        piece = body[start : start + 65536]
                        self.wfile.write(piece)
                        with server._lock:
                            server.bytes_sent[path] += len(piece)
                except (BrokenPipeError, ConnectionResetError, OSError):
                    self.close_connection = True

        return Handler


# --- DNS that never leaves the machine ---------------------------------------------------------------


class LoopbackOnlyResolver:
    """An ``IResolverSimple`` for the reactor: IP literals and a table of test names (``localhost``
    and whatever tests add to ``names``) resolve; every other name fails with DNSLookupError, as an
    unknown name does on the real Internet — without sending a query anywhere."""

    def __init__(self) -> None:
        from zope.interface import directlyProvides
        from twisted.internet.interfaces import IResolverSimple

        self.names: dict[str, str] = {"localhost": "127.0.0.1"}
        self.lookups: Counter[str] = Counter()
        directlyProvides(self, IResolverSimple)

    def getHostByName(self, name: str, timeout: Any = ()) -> Any:  # noqa: N802 (Twisted's name)
        from twisted.internet import defer
        from twisted.internet.abstract import isIPAddress, isIPv6Address
        from twisted.internet.error import DNSLookupError

        self.lookups[name] += 1
        if isIPAddress(name) or isIPv6Address(name):
            return defer.succeed(name)
        address = self.names.get(name.lower().rstrip("."))
        if address is None:
            return defer.fail(DNSLookupError(f"address {name!r} not found: [Errno -2] Name or service not known."))
        return defer.succeed(address)


# --- the one loop ---------------------------------------------------------------------------------------


class LoopRunner:
    """One asyncio loop in a daemon thread, hosting the Twisted reactor and every test crawl."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="govmon-test-loop", daemon=True)
        self._thread.start()
        self.resolver: LoopbackOnlyResolver = self.run(self._setup(), timeout=30)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    async def _setup(self) -> LoopbackOnlyResolver:
        from govmon.crawler.runner import ensure_reactor

        reactor = ensure_reactor()
        resolver = LoopbackOnlyResolver()
        reactor.installResolver(resolver)
        return resolver

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 60) -> Any:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    def close(self) -> None:
        if not self.loop.is_running():
            return

        async def _shutdown() -> None:
            from govmon.crawler.runner import shutdown_reactor

            shutdown_reactor()

        try:
            self.run(_shutdown(), timeout=10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)


_runner: LoopRunner | None = None
_runner_lock = threading.Lock()


def loop_runner() -> LoopRunner:
    """The process's loop runner (created on first use, closed at exit)."""
    global _runner
    with _runner_lock:
        if _runner is None:
            _runner = LoopRunner()
            atexit.register(_runner.close)
        return _runner


@pytest.fixture(scope="session")
def event_loop_runner() -> LoopRunner:
    return loop_runner()


# --- config ----------------------------------------------------------------------------------------------

CRAWL_DEFAULTS: dict[str, Any] = {
    "allow_private_addresses": True,
    "concurrency_per_domain": 4,
    "download_delay_s": 0.01,
    "timeout_s": 5.0,
    "retries": 2,
    "user_agent": "",
    "contact": "ops@example.gov.cn",
    "max_pages_per_site": 200,
    "max_depth": 8,
    "articles_per_column": 5,
    "list_pages_per_column": 3,
    "max_page_bytes": 2_000_000,
    "max_redirects": 5,
    "retry_after_max_s": 5.0,
    "obey_robots": True,
}


def crawl_config(**overrides: Any) -> Any:
    """``Config.from_mapping({'crawl': …}).crawl`` — the real, validated crawl settings (a value the
    config refuses fails the test); a stand-in with the same attributes only where
    ``govmon.config`` cannot be imported."""
    values = {**CRAWL_DEFAULTS, **overrides}
    try:
        from govmon.config import Config
    except ImportError:  # pragma: no cover
        return SimpleNamespace(**values)
    return Config.from_mapping({"crawl": values}).crawl


class Sink:
    """Collects observations, by type."""

    def __init__(self) -> None:
        self.items: list[Any] = []

    def __call__(self, item: Any) -> None:
        self.items.append(item)

    def of(self, type_name: str) -> list[Any]:
        return [i for i in self.items if type(i).__name__ == type_name]

    @property
    def pages(self) -> list[Any]:
        return self.of("PageObservation")

    @property
    def columns(self) -> list[Any]:
        return self.of("ColumnObservation")

    @property
    def links(self) -> list[Any]:
        return self.of("LinkCheckObservation")

    def page(self, url: str) -> Any:
        found = [p for p in self.pages if p.url == url]
        assert len(found) == 1, (url, [p.url for p in self.pages])
        return found[0]

    def link(self, url: str) -> Any:
        found = [l for l in self.links if l.url == url]
        assert len(found) == 1, (url, [l.url for l in self.links])
        return found[0]


# --- a webhook receiver ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    path: str  # with its query string
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        import json

        return json.loads(self.body.decode("utf-8"))

    @property
    def query(self) -> dict[str, str]:
        from urllib.parse import parse_qsl, urlsplit

        return dict(parse_qsl(urlsplit(self.path).query))


class WebhookReceiver:
    """An HTTP server on its own loopback address that records every POST and answers each with
    the next of ``replies`` (the last one repeats); e.g. two 500s, then a robot's errcode 0."""

    def __init__(self, replies: list[Reply] | None = None, *, host: str | None = None) -> None:
        self.replies = list(replies or [Reply(200, '{"errcode": 0, "errmsg": "ok"}', "application/json")])
        self.calls: list[Received] = []  # every POST, answered however
        self.accepted: list[Received] = []  # the POSTs answered 2xx
        self._lock = threading.Lock()
        self.host = host or next_loopback_host()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                item = Received(self.path, dict(self.headers.items()), body)
                with receiver._lock:
                    reply = receiver.replies[min(len(receiver.calls), len(receiver.replies) - 1)]
                    receiver.calls.append(item)
                    if 200 <= reply.status < 300:
                        receiver.accepted.append(item)
                payload = reply.body.encode() if isinstance(reply.body, str) else reply.body
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type or "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._httpd = http.server.ThreadingHTTPServer((self.host, 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def url(self, path: str = "/hook") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

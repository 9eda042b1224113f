"""Serve demonstration sites on loopback, one 127.0.0.x address per site.

Each site is a mapping of path → :class:`DemoResponse`. A site gets its own loopback
address so that, as on the real web, each one is a separate host with its own
politeness budget. The server runs in a daemon thread and stops with :meth:`close`.
"""

from __future__ import annotations

import http.server
import socket
import ssl
import threading
from pathlib import Path
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping


@dataclass(frozen=True, slots=True)
class DemoResponse:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    head_allowed: bool = True  # False: answer HEAD with 405, as some government servers do


Site = Mapping[str, DemoResponse | Callable[[], DemoResponse]]


def _handler_for(sites: Mapping[str, Site], label: str) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "govmon-demo"
        protocol_version = "HTTP/1.1"

        def _respond(self, with_body: bool) -> None:
            site = sites.get(label, {})
            path = self.path.split("#", 1)[0]
            entry = site.get(path) or site.get(path.split("?", 1)[0])
            if entry is None:
                response = DemoResponse("<h1>404 页面不存在</h1>".encode(), status=404)
            else:
                response = entry() if callable(entry) else entry
            if not with_body and not response.head_allowed:
                response = DemoResponse(b"", status=405, headers={"Allow": "GET"})
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for key, value in response.headers.items():
                self.send_header(key, value)
            self.end_headers()
            if with_body:
                self.wfile.write(response.body)

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self._respond(with_body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._respond(with_body=False)

        def log_message(self, format: str, *args: object) -> None:  # quiet
            return

    return Handler


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _ServerV6(_Server):
    address_family = socket.AF_INET6


def _bind(address: str, port: int, handler: type[http.server.BaseHTTPRequestHandler]) -> _Server:
    return (_ServerV6 if ":" in address else _Server)((address, port), handler)


def _url(address: str, port: int, scheme: str = "http") -> str:
    return f"{scheme}://[{address}]:{port}" if ":" in address else f"{scheme}://{address}:{port}"


class DemoServer:
    """Serve sites on 127.0.0.{first_octet + i}, one address per label.

    The addresses are bound at construction, so pages that link to each other can be
    built knowing every base URL; :meth:`mount` then puts a site's pages in place.
    """

    def __init__(self, labels: Iterable[str], *, first_octet: int = 11, port: int = 0,
                 ipv6_labels: Iterable[str] = ()) -> None:
        self.sites: dict[str, Site] = {}
        self._servers: list[_Server] = []
        self._threads: list[threading.Thread] = []
        self.base_urls: dict[str, str] = {}
        self.addresses: dict[str, str] = {}
        self.https_port: int | None = None
        ipv6 = set(ipv6_labels)
        for offset, label in enumerate(labels):
            # a label served on IPv6 answers on ::1 (one such label at most: one loopback address)
            address = "::1" if label in ipv6 else f"127.0.0.{first_octet + offset}"
            server = _bind(address, port, _handler_for(self.sites, label))
            self._servers.append(server)
            self.addresses[label] = address
            self.base_urls[label] = _url(address, server.server_address[1])

    def serve_https(self, certificates: Mapping[str, tuple[Path, Path]], attempts: int = 20) -> int:
        """Serve the labels in ``certificates`` over HTTPS too, each with its (certificate, key),
        all on one port (as real sites all use 443) on their own addresses. Returns the port."""
        for _ in range(attempts):
            bound: list[_Server] = []
            try:
                port = 0
                for label, (cert, key) in certificates.items():
                    server = _bind(self.addresses[label], port, _handler_for(self.sites, label))
                    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                    context.load_cert_chain(cert, key)
                    server.socket = context.wrap_socket(server.socket, server_side=True)
                    port = server.server_address[1]
                    bound.append(server)
            except OSError:  # the port is taken on another address: try another one
                for server in bound:
                    server.server_close()
                continue
            self._servers.extend(bound)
            self.https_port = port
            return port
        raise OSError("找不到在各演示地址上都空闲的 HTTPS 端口")

    @classmethod
    def serving(cls, sites: Mapping[str, Site], **kwargs: int) -> "DemoServer":
        server = cls(sites, **kwargs)
        for label, site in sites.items():
            server.mount(label, site)
        return server

    def mount(self, label: str, site: Site) -> None:
        self.sites[label] = site

    def __enter__(self) -> "DemoServer":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        for server in self._servers:
            thread = threading.Thread(target=server.serve_forever, name="govmon-demo", daemon=True)
            thread.start()
            self._threads.append(thread)

    def close(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)


def unused_url(address: str = "127.0.0.250") -> str:
    """A URL on ``address`` where nothing listens: a site that is down."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        port = sock.getsockname()[1]
    return f"http://{address}:{port}/"


def loopback_available(address: str) -> bool:
    """True when this machine lets us bind ``address`` (Linux routes all of 127/8)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((address, 0))
        return True
    except OSError:
        return False

"""The web console (FastAPI + Jinja2) and its JSON API: ``govmon serve``.

:func:`create_app` builds the app; :func:`serve` runs it with uvicorn in the running event
loop — ``govmon serve`` on its own loop, or the ``govmon run`` service inside its loop
beside the scheduler (pass the service's :class:`~govmon.web.rescan.Rescanner`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from govmon.config import Config

__all__ = ["create_app", "serve", "server"]


def create_app(config: Config, sessions: sessionmaker[Session], **kwargs: Any) -> Any:
    from govmon.web.app import create_app as build

    return build(config, sessions, **kwargs)


def server(app: Any, *, host: str = "127.0.0.1", port: int = 8400, **kwargs: Any) -> Any:
    """A uvicorn Server for ``app`` that leaves signals to its host (``serve`` or the service)."""
    import contextlib

    import uvicorn

    class HostedServer(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Any:  # uvicorn would take SIGINT/SIGTERM and re-raise them
            yield

    settings = uvicorn.Config(app, host=host, port=port, loop="asyncio", lifespan="on", access_log=False,
                              log_level=kwargs.pop("log_level", "warning"), **kwargs)
    return HostedServer(settings)


async def serve(app: Any, *, host: str = "127.0.0.1", port: int = 8400, stop: asyncio.Event | None = None,
                handle_signals: bool = False, **kwargs: Any) -> None:
    """Serve ``app`` in the running loop until ``stop`` is set (SIGINT/SIGTERM too with ``handle_signals``)."""
    import signal

    instance = server(app, host=host, port=port, **kwargs)
    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    handled = []
    if handle_signals:
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, stop.set)
                handled.append(signum)
            except (NotImplementedError, RuntimeError):
                pass
    task = loop.create_task(instance.serve(sockets=[_bound_socket(host, port)]))
    waiter = loop.create_task(stop.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        instance.should_exit = True
        waiter.cancel()
        for signum in handled:
            loop.remove_signal_handler(signum)
        await task


def _bound_socket(host: str, port: int) -> Any:
    """The listening address, bound here so that a taken port is an OSError naming it (uvicorn would exit)."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise OSError(f"无法在 {host}:{port} 上启动控制台：{err.strerror or err}（端口已被占用或地址不可用）") from None
    return sock

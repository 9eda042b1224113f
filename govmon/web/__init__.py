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
    """A uvicorn Server for ``app`` that leaves signals to its host (the service handles them)."""
    import uvicorn

    settings = uvicorn.Config(app, host=host, port=port, loop="asyncio", lifespan="on", access_log=False,
                              log_level=kwargs.pop("log_level", "warning"), **kwargs)
    return uvicorn.Server(settings)


async def serve(app: Any, *, host: str = "127.0.0.1", port: int = 8400, stop: asyncio.Event | None = None,
                **kwargs: Any) -> None:
    """Serve ``app`` in the running loop until ``stop`` is set (or the task is cancelled)."""
    instance = server(app, host=host, port=port, **kwargs)
    if stop is None:
        await instance.serve()
        return
    task = asyncio.get_running_loop().create_task(instance.serve())
    waiter = asyncio.get_running_loop().create_task(stop.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        instance.should_exit = True
        waiter.cancel()
        await task

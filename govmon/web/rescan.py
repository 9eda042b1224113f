"""重新检查: the console asks for one target to be scanned again and shows the result.

The console knows rescans only through :class:`Rescanner`. :class:`InProcessRescanner`
runs :func:`govmon.scan.scan_targets` for the one site or account in the event loop that serves the
console (the process's one loop, which also hosts the Twisted reactor): ``govmon serve``.
Inside ``govmon run``, :class:`ServiceRescanner` files a rescan request that the service serves
like one from ``govmon rescan`` (in process, or through the cluster's queue).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from dataclasses import dataclass, field, replace
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from govmon.config import Account, Config, Site, TargetNotFound
from govmon.models import ScanRequest, utcnow

__all__ = ["InProcessRescanner", "RescanError", "RescanStatus", "Rescanner", "ServiceRescanner"]

STATE_LABELS = {"queued": "排队中", "running": "正在检查", "done": "已完成", "failed": "失败"}


class RescanError(ValueError):
    """The target cannot be rescanned (not registered, or switched off)."""


@dataclass(frozen=True)
class RescanStatus:
    """Where one rescan request stands."""

    handle: str
    target_id: str
    requested_by: str
    requested_at: dt.datetime
    state: str = "queued"  # queued | running | done | failed
    finished_at: dt.datetime | None = None
    scan_id: int | None = None
    scan_status: str | None = None  # complete | incomplete | failed (the scan's own status)
    message: str = ""
    opened: int = 0
    resolved: int = 0
    open_by_severity: dict[str, int] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)


def rescannable(config: Config, target_id: str) -> Site | Account:
    """The registered, enabled site or account ``target_id`` names; RescanError otherwise."""
    try:
        target = config.find_target(target_id)
    except TargetNotFound:
        raise RescanError(f"{target_id} 不在当前配置的登记表中，无法重新检查") from None
    if not target.enabled:
        raise RescanError(f"{target.name} 在配置中已停用，无法重新检查")
    return target


class Rescanner(Protocol):
    """What the console needs from whatever runs rescans."""

    async def request(self, target_id: str, *, requested_by: str) -> RescanStatus:
        """Start (or join the running) rescan of ``target_id``; RescanError when it cannot be."""
        ...

    def result(self, handle: str) -> RescanStatus | None:
        """The request's current state; None for an unknown handle."""
        ...

    def latest(self, target_id: str) -> RescanStatus | None:
        """The newest request for ``target_id`` made through this rescanner, if any."""
        ...

    async def close(self) -> None:
        """Stop running rescans (the server is shutting down)."""
        ...


class InProcessRescanner:
    """Runs each rescan as a task in the running event loop (one at a time per target)."""

    def __init__(self, config: Config, sessions: sessionmaker[Session], *, keep: int = 500) -> None:
        self.config = config
        self.sessions = sessions
        self.keep = keep
        self._jobs: dict[str, RescanStatus] = {}
        self._latest: dict[str, str] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stop = asyncio.Event()  # set when the server shuts down

    async def request(self, target_id: str, *, requested_by: str) -> RescanStatus:
        target = rescannable(self.config, target_id)
        current = self.latest(target.id)
        if current is not None and not current.finished:
            return current
        handle = uuid.uuid4().hex
        status = RescanStatus(handle=handle, target_id=target.id, requested_by=requested_by, requested_at=utcnow())
        self._jobs[handle] = status
        self._latest[target.id] = handle
        self._tasks[handle] = asyncio.get_running_loop().create_task(self._run(handle, target))
        self._forget_old()
        return status

    async def _run(self, handle: str, target: Site | Account) -> None:
        from govmon.scan import scan_targets

        self._jobs[handle] = replace(self._jobs[handle], state="running")
        try:
            as_of = dt.datetime.now(self.config.tzinfo)
            sites, accounts = ([target], []) if isinstance(target, Site) else ([], [target])
            results = await scan_targets(self.config, self.sessions, sites, accounts, as_of=as_of,
                                         stop_event=self._stop)
            result = (results.sites or results.accounts)[0]
            self._jobs[handle] = replace(
                self._jobs[handle],
                state="done" if result.status != "failed" else "failed",
                finished_at=utcnow(),
                scan_id=result.scan_id,
                scan_status=result.status,
                message=result.reason,
                opened=result.opened,
                resolved=result.resolved,
                open_by_severity=dict(result.open_by_severity),
            )
        except asyncio.CancelledError:
            self._jobs[handle] = replace(self._jobs[handle], state="failed", finished_at=utcnow(),
                                         message="服务停止，重新检查被中断")
            raise
        except Exception as exc:  # reported to the operator, never crashes the server
            self._jobs[handle] = replace(self._jobs[handle], state="failed", finished_at=utcnow(),
                                         message=f"重新检查出错：{type(exc).__name__}: {exc}")
        finally:
            self._tasks.pop(handle, None)

    def result(self, handle: str) -> RescanStatus | None:
        return self._jobs.get(handle)

    def latest(self, target_id: str) -> RescanStatus | None:
        handle = self._latest.get(target_id)
        return self._jobs.get(handle) if handle else None

    def _forget_old(self) -> None:
        finished = [h for h, s in self._jobs.items() if s.finished]
        for handle in finished[: max(0, len(self._jobs) - self.keep)]:
            status = self._jobs.pop(handle)
            if self._latest.get(status.target_id) == handle:
                del self._latest[status.target_id]

    async def close(self, grace_s: float = 30.0) -> None:
        """Stop the running rescans through their stop event (a crawl is stopped by Scrapy, keeping
        what it read); what has not stopped after ``grace_s`` is cancelled."""
        tasks = list(self._tasks.values())
        self._stop.set()
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=grace_s)
        for task in late:
            task.cancel()
        if late:
            await asyncio.gather(*late, return_exceptions=True)


_REQUEST_STATES = {"pending": "queued", "running": "running", "done": "done", "failed": "failed"}


class ServiceRescanner:
    """Inside ``govmon run``: a 重新检查 files a rescan request, which the service serves like one
    from ``govmon rescan`` (in this process, or through the cluster's queue); the handle is the
    request's id, so the state survives the page being reloaded."""

    def __init__(self, config: Config, sessions: sessionmaker[Session]) -> None:
        self.config = config
        self.sessions = sessions

    async def request(self, target_id: str, *, requested_by: str) -> RescanStatus:
        from govmon.rescan import request_rescan

        target = rescannable(self.config, target_id)
        current = await asyncio.to_thread(self.latest, target.id)
        if current is not None and not current.finished:
            return current

        def file() -> int:
            with self.sessions.begin() as session:
                request_id = request_rescan(session, target.id)
                session.get(ScanRequest, request_id).requested_by = requested_by  # type: ignore[union-attr]
                return request_id

        request_id = await asyncio.to_thread(file)
        status = await asyncio.to_thread(self.result, str(request_id))
        assert status is not None
        return status

    def result(self, handle: str) -> RescanStatus | None:
        if not handle.isdigit():
            return None
        with self.sessions() as session:
            request = session.get(ScanRequest, int(handle))
            return _status_of(request) if request is not None else None

    def latest(self, target_id: str) -> RescanStatus | None:
        with self.sessions() as session:
            request = session.scalars(select(ScanRequest).where(ScanRequest.target_id == target_id)
                                      .order_by(ScanRequest.id.desc()).limit(1)).first()
            return _status_of(request) if request is not None else None

    async def close(self) -> None:
        return None  # the service finishes (or marks incomplete) what it has started


def _status_of(request: ScanRequest) -> RescanStatus:
    summary = request.summary or {}
    return RescanStatus(
        handle=str(request.id), target_id=request.target_id, requested_by=request.requested_by or "",
        requested_at=request.requested_at, state=_REQUEST_STATES.get(request.status, request.status),
        finished_at=request.finished_at, scan_id=request.scan_id, scan_status=summary.get("status"),
        message=summary.get("reason") or "", opened=summary.get("opened", 0), resolved=summary.get("resolved", 0),
        open_by_severity=dict(summary.get("open_by_severity") or {}),
    )

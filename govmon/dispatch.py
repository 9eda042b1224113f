"""Where `govmon run`'s due scans go: run in this process (one machine, the default) or queued
for `govmon worker` processes (``cluster.enabled``). Everything else is shared."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from govmon.scheduler import MonitorService


class Dispatcher(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def scan(self, kind: str, target_id: str, request_id: int | None = None) -> None:
        """Have ``target_id`` scanned (``kind`` "site" or "account"); ``request_id``: the
        ``govmon rescan`` request this scan answers."""
        ...


@dataclass
class InProcessDispatcher:
    """One machine: the service runs the scan itself."""

    service: "MonitorService"

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def scan(self, kind: str, target_id: str, request_id: int | None = None) -> None:
        if request_id is None:
            await self.service.scan_target(target_id, request_id=None)
        else:
            await self.service._serve_one(request_id, target_id)


def make_dispatcher(service: "MonitorService") -> Dispatcher:
    if service.config.cluster.enabled:
        from govmon.cluster import ClusterDispatcher

        return ClusterDispatcher(lambda: service.config, service.database_url, service.log)
    return InProcessDispatcher(service)

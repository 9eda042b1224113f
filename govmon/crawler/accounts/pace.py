"""Per-platform pacing: N requests in flight, at least ``interval_s`` apart, back-off after blocks."""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import AsyncIterator, Mapping


@dataclass(frozen=True)
class PaceSettings:
    concurrency: int = 1
    interval_s: float = 2.0
    backoff_s: float = 30.0  # first back-off after a block; doubles with each further block
    backoff_max_s: float = 900.0

    def __post_init__(self) -> None:
        if self.concurrency < 1 or self.interval_s < 0 or self.backoff_s < 0 or self.backoff_max_s < 0:
            raise ValueError("pace: concurrency ≥ 1 and non-negative times")


class PlatformPace:
    """The :class:`~govmon.crawler.accounts.base.Pace` of one platform (one per scan)."""

    def __init__(self, settings: PaceSettings, *, clock=time.monotonic, sleep=asyncio.sleep) -> None:
        self.settings = settings
        self._clock = clock
        self._sleep = sleep
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._lock = asyncio.Lock()
        self._next_start = 0.0
        self._blocks = 0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._slots:
            async with self._lock:
                wait = self._next_start - self._clock()
                if wait > 0:
                    await self._sleep(wait)
                self._next_start = self._clock() + self.settings.interval_s
            yield

    def blocked(self) -> None:
        delay = min(self.settings.backoff_s * (2**self._blocks), self.settings.backoff_max_s)
        self._blocks += 1
        self._next_start = max(self._next_start, self._clock() + delay)

    @property
    def blocks(self) -> int:
        return self._blocks


class Paces:
    """One :class:`PlatformPace` per platform id, created on first use."""

    def __init__(self, default: PaceSettings, overrides: Mapping[str, PaceSettings] | None = None) -> None:
        self.default = default
        self.overrides = dict(overrides or {})
        self._paces: dict[str, PlatformPace] = {}

    def for_platform(self, platform: str) -> PlatformPace:
        if platform not in self._paces:
            self._paces[platform] = PlatformPace(self.overrides.get(platform, self.default))
        return self._paces[platform]


class NoPace:
    """No pacing at all (benchmarks' "pace off")."""

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        yield

    def blocked(self) -> None:
        pass

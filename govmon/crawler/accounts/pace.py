"""Per-platform pacing: N requests in flight, at least ``interval_s`` apart, back-off after blocks.

A refusal delays the platform's next request by ``backoff_s``, doubled for each further refusal in
a row (up to ``backoff_max_s``); once a request after the last refusal has gone through unrefused,
the next refusal starts again from ``backoff_s``.

Settings: ``platforms.pace`` and ``platforms.pace_overrides.<platform>`` in config.yaml.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager
from typing import AsyncIterator, Mapping

from govmon.config import PaceSettings, PlatformsSettings


class PlatformPace:
    """The :class:`~govmon.crawler.accounts.base.Pace` of one platform (one per scan)."""

    def __init__(self, settings: PaceSettings, *, clock=time.monotonic, sleep=asyncio.sleep) -> None:
        self.settings = settings
        self._clock = clock
        self._sleep = sleep
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._lock = asyncio.Lock()
        self._next_start = 0.0
        self._blocks = 0  # refusals in a row: the back-off doubles with each, and resets after an answer
        self._last_start = float("-inf")
        self._last_block = float("-inf")

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._slots:
            async with self._lock:
                if self._blocks and self._last_block < self._last_start:
                    self._blocks = 0  # the request after the last refusal was answered
                wait = self._next_start - self._clock()
                if wait > 0:
                    await self._sleep(wait)
                self._last_start = self._clock()
                self._next_start = self._last_start + self.settings.interval_s
            yield

    def blocked(self) -> None:
        delay = min(self.settings.backoff_s * (2**self._blocks), self.settings.backoff_max_s)
        self._blocks += 1
        self._last_block = self._clock()
        self._next_start = max(self._next_start, self._last_block + delay)

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

    @classmethod
    def from_settings(cls, settings: PlatformsSettings) -> Paces:
        return cls(settings.pace, settings.pace_overrides)

    async def settle(self) -> None:
        """Nothing to wait for: a refusal's back-off is in memory at once (see govmon.shared_pace)."""


class NoPace:
    """No pacing at all (benchmarks' "pace off")."""

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        yield

    def blocked(self) -> None:
        pass

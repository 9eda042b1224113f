"""A platform's pace shared by every ``govmon worker``: one row per platform in PostgreSQL.

On one machine each platform's :class:`~govmon.crawler.accounts.pace.PlatformPace` spaces the
starts of its requests ``interval_s`` apart and backs off after a refusal. In the cluster,
reads of one platform run in several processes at once (``concurrency`` k > 1 gives k lock
buckets, see govmon.cluster), and each read is a job of its own: a pace in memory would let
every bucket, and every new job, start at its own rate. :class:`SharedPace` keeps the same
rules in the ``platform_paces`` row instead, on the database's clock: a request starts only
once the row's ``next_start`` has passed, and moving it on is atomic (``write_lock``), so
the platform sees at most one start per ``interval_s`` whatever the number of workers,
buckets and jobs. A refusal moves ``next_start`` by the back-off for everyone.

The k requests in flight are the lock buckets' part (one read per bucket at a time); within a
worker a semaphore of k keeps the same limit.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from contextlib import asynccontextmanager
from typing import AsyncIterator, Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from govmon.config import PaceSettings, PlatformsSettings
from govmon.db import write_lock
from govmon.models import PlatformPaceState, utcnow

MAX_SLEEP_S = 5.0  # look at the row again at least this often (a back-off may have moved it)


def _now(session: Session) -> dt.datetime:
    """The database's clock (PostgreSQL: the same for every machine), else ours."""
    if session.get_bind().dialect.name == "postgresql":
        value = session.scalar(select(func.clock_timestamp()))
        assert value is not None
        return value
    return utcnow()


class SharedPace:
    """The :class:`~govmon.crawler.accounts.base.Pace` of one platform, kept in the database."""

    def __init__(self, platform: str, settings: PaceSettings, sessions: sessionmaker[Session]) -> None:
        self.platform = platform
        self.settings = settings
        self.sessions = sessions
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._pending: list[asyncio.Future[None]] = []

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._slots:
            await self.settle()
            while (wait := await asyncio.to_thread(self._tx, self._try_start)) > 0:
                await asyncio.sleep(min(wait, MAX_SLEEP_S))
            yield

    def blocked(self) -> None:
        """Back off for every worker; written at once (``settle`` waits for it)."""
        self._pending.append(asyncio.ensure_future(asyncio.to_thread(self._tx, self._record_block)))

    async def settle(self) -> None:
        """Wait until the refusals reported so far are in the database (a write that failed is
        dropped: the database is away, and no request starts without it anyway)."""
        pending, self._pending = self._pending, []
        await asyncio.gather(*pending, return_exceptions=True)

    def _tx(self, work: Callable[[Session, PlatformPaceState, dt.datetime], float | None]) -> float:
        with self.sessions.begin() as session:
            write_lock(session, f"pace:{self.platform}")
            now = _now(session)
            state = session.get(PlatformPaceState, self.platform)
            if state is None:
                state = PlatformPaceState(platform=self.platform, next_start=now, blocks=0)
                session.add(state)
            return work(session, state, now) or 0.0

    def _try_start(self, session: Session, state: PlatformPaceState, now: dt.datetime) -> float:
        """Start now (0) if the platform's next start has come, else the seconds to wait."""
        if state.blocks and state.last_block is not None and state.last_start is not None \
                and state.last_block < state.last_start:
            state.blocks = 0  # the request after the last refusal was answered
        if state.next_start > now:
            return (state.next_start - now).total_seconds()
        state.last_start = now
        state.next_start = now + dt.timedelta(seconds=self.settings.interval_s)
        return 0.0

    def _record_block(self, session: Session, state: PlatformPaceState, now: dt.datetime) -> None:
        delay = min(self.settings.backoff_s * (2 ** state.blocks), self.settings.backoff_max_s)
        state.blocks += 1
        state.last_block = now
        state.next_start = max(state.next_start, now + dt.timedelta(seconds=delay))


class SharedPaces:
    """One :class:`SharedPace` per platform for a worker process (as ``Paces`` for one machine)."""

    def __init__(self, settings: PlatformsSettings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = sessions
        self._paces: dict[str, SharedPace] = {}

    def for_platform(self, platform: str) -> SharedPace:
        if platform not in self._paces:
            self._paces[platform] = SharedPace(platform, self.settings.pace_for(platform), self.sessions)
        return self._paces[platform]

    async def settle(self) -> None:
        await asyncio.gather(*(pace.settle() for pace in self._paces.values()))

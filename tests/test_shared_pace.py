"""govmon.shared_pace on SQLite and PostgreSQL: two workers' paces of one platform are one pace
(the cluster's end-to-end rate is measured in test_cluster.py)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy.orm import Session, sessionmaker

from govmon.config import PaceSettings
from govmon.models import PlatformPaceState
from govmon.shared_pace import SharedPace

SETTINGS = PaceSettings(concurrency=3, interval_s=600.0, backoff_s=1000.0, backoff_max_s=1500.0)


def _state(session_factory: sessionmaker[Session]) -> PlatformPaceState:
    with session_factory() as session:
        state = session.get(PlatformPaceState, "weibo")
        assert state is not None
        return state


def test_a_start_in_one_worker_holds_back_the_other(session_factory: sessionmaker[Session]) -> None:
    one, two = (SharedPace("weibo", SETTINGS, session_factory) for _ in range(2))

    async def run() -> None:
        async with one.slot():  # the first request of the platform starts at once
            pass
        entering = asyncio.ensure_future(two.slot().__aenter__())
        with pytest.raises(TimeoutError):  # ...and the other worker's waits for the interval
            await asyncio.wait_for(asyncio.shield(entering), timeout=1.0)
        entering.cancel()

    asyncio.run(run())
    state = _state(session_factory)
    assert state.last_start is not None and state.next_start - state.last_start == dt.timedelta(seconds=600)


def test_a_refusal_backs_off_every_worker_doubling_up_to_the_cap(session_factory: sessionmaker[Session]) -> None:
    one, two = (SharedPace("weibo", SETTINGS, session_factory) for _ in range(2))

    async def refused(pace: SharedPace) -> None:
        pace.blocked()
        await pace.settle()

    asyncio.run(refused(one))
    first = _state(session_factory)
    assert first.blocks == 1 and first.last_block is not None
    assert first.next_start - first.last_block == dt.timedelta(seconds=1000)
    asyncio.run(refused(two))  # another refusal in a row, seen by the other worker: doubled, capped
    second = _state(session_factory)
    assert second.blocks == 2 and second.next_start - second.last_block == dt.timedelta(seconds=1500)

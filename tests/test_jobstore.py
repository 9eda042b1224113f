"""The service's job store (govmon.jobstore) on SQLite and PostgreSQL: a scheduler pass writes
its due jobs' next run times in one statement, and a pass whose write the database refuses never
runs a job twice."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import Counter

from sqlalchemy import Engine, event, select

from govmon.jobstore import PassBatchedJobStore, build_scheduler, create_job_table

RUNS: Counter[str] = Counter()


async def record_run(name: str) -> None:
    """The jobs' body (stored by reference, ``test_jobstore:record_run``)."""
    RUNS[name] += 1


def _job_store(engine: Engine) -> PassBatchedJobStore:
    store = PassBatchedJobStore(engine=engine)
    create_job_table(engine, store.jobs_t)
    return store


def _count_job_writes(engine: Engine, verb: str = "UPDATE") -> list[bool]:
    """One entry per ``verb`` (UPDATE, INSERT) of the job table sent to the database (True: as one
    executemany)."""
    writes: list[bool] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(f"{verb} INTO APSCHEDULER_JOBS" if verb == "INSERT"
                                                 else f"{verb} APSCHEDULER_JOBS"):
            writes.append(executemany)

    return writes


def _read_only_switch(engine: Engine) -> dict[str, bool]:
    """While ``switch["on"]``, every transaction on ``engine`` is read-only: the database itself
    refuses the job store's writes (SQLite ``query_only``, PostgreSQL ``READ ONLY``)."""
    switch = {"on": False}

    @event.listens_for(engine, "begin")
    def _begin(connection):  # type: ignore[no-untyped-def]
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql(f"PRAGMA query_only = {int(switch['on'])}")
        elif switch["on"]:
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")

    return switch


def _stored_next_runs(engine: Engine, store: PassBatchedJobStore) -> dict[str, float]:
    with engine.connect() as connection:
        return dict(connection.execute(select(store.jobs_t.c.id, store.jobs_t.c.next_run_time)).all())


async def _until(condition, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def _add_due_jobs(scheduler, names: list[str]) -> None:  # type: ignore[no-untyped-def]
    due = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    for name in names:
        scheduler.add_job(record_run, "interval", hours=1, args=[name], id=name, next_run_time=due)


def test_a_pass_writes_its_jobs_next_run_times_in_one_statement(migrated_engine: Engine) -> None:
    RUNS.clear()
    store = _job_store(migrated_engine)
    names = [f"site:s{i:03d}" for i in range(20)]

    async def scenario() -> list[bool]:
        scheduler = build_scheduler({"default": store}, {"coalesce": True, "max_instances": 1,
                                                          "misfire_grace_time": 60})
        scheduler.start(paused=True)
        _add_due_jobs(scheduler, names)
        writes = _count_job_writes(migrated_engine)
        started = dt.datetime.now(dt.UTC)
        scheduler.resume()
        await _until(lambda: sum(RUNS.values()) == len(names) and store.pending == 0)
        await asyncio.sleep(0.3)  # a later pass would have nothing due
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)
        stored = _stored_next_runs(migrated_engine, store)
        for name in names:  # each job's next run is an hour on, in the database
            assert stored[name] >= (started + dt.timedelta(minutes=59)).timestamp()
        return writes

    writes = asyncio.run(scenario())
    assert RUNS == Counter({name: 1 for name in names})
    assert writes == [True]  # one executemany for the 20 jobs, not 20 transactions


def test_a_refused_write_never_runs_a_job_twice(migrated_engine: Engine) -> None:
    RUNS.clear()
    store = _job_store(migrated_engine)
    read_only = _read_only_switch(migrated_engine)
    names = [f"account:a{i}" for i in range(5)]

    async def scenario() -> None:
        scheduler = build_scheduler({"default": store}, {"coalesce": True, "max_instances": 1,
                                                          "misfire_grace_time": 60})
        scheduler.jobstore_retry_interval = 0.2
        scheduler.start(paused=True)
        _add_due_jobs(scheduler, names)
        before = _stored_next_runs(migrated_engine, store)
        read_only["on"] = True
        scheduler.resume()
        await _until(lambda: sum(RUNS.values()) == len(names))
        await asyncio.sleep(1.5)  # several retried passes while the database refuses the write
        assert store.pending == len(names)
        assert _stored_next_runs(migrated_engine, store) == before  # nothing half-written
        assert RUNS == Counter({name: 1 for name in names})  # and nothing read as due again

        read_only["on"] = False
        await _until(lambda: store.pending == 0)
        after = _stored_next_runs(migrated_engine, store)
        assert all(after[name] > before[name] + 3000 for name in names)
        await asyncio.sleep(0.5)
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)

    asyncio.run(scenario())
    assert RUNS == Counter({name: 1 for name in names})


def test_a_lookup_outside_a_pass_sees_the_pass_s_next_run_times(migrated_engine: Engine) -> None:
    """Reconciling jobs (start, SIGHUP) reads them back: it must see what the last pass noted."""
    RUNS.clear()
    store = _job_store(migrated_engine)

    async def scenario() -> None:
        scheduler = build_scheduler({"default": store}, {"coalesce": True, "max_instances": 1,
                                                          "misfire_grace_time": 60})
        scheduler.start(paused=True)
        _add_due_jobs(scheduler, ["site:one"])
        with store.noting():  # as during a pass
            job = store.lookup_job("site:one")
            assert job is not None
            later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
            job._modify(next_run_time=later)
            store.update_job(job)
        assert store.pending == 1
        assert abs(store.lookup_job("site:one").next_run_time.timestamp() - later.timestamp()) < 1e-3
        assert store.pending == 0
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)

    asyncio.run(scenario())
    assert not RUNS


def test_a_reconciliation_adds_its_jobs_in_one_statement_replacing_stored_ones(migrated_engine: Engine) -> None:
    """``govmon run``'s first start adds a job per target: 6,000 transactions before, one now."""
    RUNS.clear()
    store = _job_store(migrated_engine)
    names = [f"account:a{i}" for i in range(300)]

    async def scenario() -> None:
        scheduler = build_scheduler({"default": store}, {"coalesce": True, "max_instances": 1,
                                                          "misfire_grace_time": 60})
        scheduler.start(paused=True)
        scheduler.add_job(record_run, "interval", hours=1, args=["old"], id=names[0])  # stored before
        inserts = _count_job_writes(migrated_engine, "INSERT")
        in_a_day = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)

        def reconcile() -> None:  # in a thread, as the service does
            with store.batch():
                for name in names:
                    scheduler.add_job(record_run, "interval", hours=6, args=[name], id=name,
                                      next_run_time=in_a_day, replace_existing=True)

        await asyncio.to_thread(reconcile)
        assert inserts == [True]
        assert store.pending == 0
        stored = _stored_next_runs(migrated_engine, store)
        assert set(stored) == set(names)
        assert all(abs(stored[name] - in_a_day.timestamp()) < 1e-3 for name in names)
        replaced = store.lookup_job(names[0])
        assert replaced.args == (names[0],) and replaced.trigger.interval == dt.timedelta(hours=6)
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)

    asyncio.run(scenario())
    assert not RUNS

"""APScheduler 3.11 adapted to the service: its passes off the event loop, one write per pass.

`govmon run` keeps its jobs in APScheduler's SQLAlchemyJobStore, in the monitoring database
itself (table ``apscheduler_jobs``, whose layout belongs to the APScheduler version). Stock
APScheduler does two things there that a busy service cannot afford:

- each pass over the due jobs (read them, submit them, write each one's next run time) runs on
  the event loop, so every crawl, probe and console request stood still while it waited on the
  database (the soak saw 13 s) — :func:`build_scheduler` runs the passes in a thread of their
  own and hands only the creation of each job's task back to the loop;
- each due job's next run time is its own write transaction, so on SQLite a pass with twenty
  due jobs queued twenty times for the write lock behind the scans' commits, and the last job
  of the pass was submitted seconds late; a first start added 6,000 jobs in 6,000
  transactions — :class:`PassBatchedJobStore` writes a pass's next run times, or a
  reconciliation's new jobs, in one transaction.

Nothing is run twice for it: the batch is written before the store is read again (the next
pass's due jobs, a lookup by the service); while it cannot be written the store reports an
error instead of reading, and APScheduler retries the pass later.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import pickle
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler, run_in_event_loop
from apscheduler.schedulers.base import STATE_STOPPED, BaseScheduler
from apscheduler.util import datetime_to_utc_timestamp
from sqlalchemy import bindparam
from sqlalchemy.engine import Engine

from govmon.db import write_lock


def create_job_table(engine: Engine, table: Any) -> None:
    """Create APScheduler's job table under the database's write lock before the scheduler starts.

    The job store's own start reads whether the table exists and then creates it in the same
    transaction; on SQLite another process writing in between (a ``govmon status`` migrating,
    a rescan request) turns that read into a write that fails at once with "database is locked"
    instead of waiting, and the service died at start. Taking the lock first makes it wait.
    """
    with engine.connect() as connection:
        with connection.begin():
            write_lock(connection, "apscheduler-jobs")
            table.create(connection, checkfirst=True)


class PassBatchedJobStore(SQLAlchemyJobStore):  # type: ignore[misc]
    """SQLAlchemyJobStore whose writes of a scheduler pass, or of a reconciliation, go in one transaction.

    Inside :meth:`noting` (per thread: :class:`OffLoopScheduler` around each pass, the service
    around reconciling its jobs with the config) ``update_job`` and ``add_job`` only note the
    job; :meth:`flush` writes the notes together, and every read of the store flushes first —
    the pass's own closing ``get_next_run_time`` among them. A read whose flush fails raises,
    so a job whose new next run time is not stored is never read as due again. A noted
    ``add_job`` replaces a stored job of the same id (as ``replace_existing=True`` does).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._local = threading.local()
        self._updates: dict[str, Job] = {}
        self._adds: dict[str, Job] = {}
        self._lock = threading.RLock()

    @contextlib.contextmanager
    def noting(self) -> Iterator[None]:
        """Note this thread's writes instead of making them (they are written by the next flush)."""
        self._local.noting = True
        try:
            yield
        finally:
            self._local.noting = False

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Note this thread's writes, then write them in one transaction."""
        with self.noting():
            yield
        self.flush()

    @property
    def pending(self) -> int:
        """How many noted jobs are not yet written."""
        return len(self._updates) + len(self._adds)

    def flush(self) -> None:
        """Write the noted jobs in one transaction (raises if the database refuses; the notes stay)."""
        with self._lock:
            if not self.pending:
                return
            update = (self.jobs_t.update().where(self.jobs_t.c.id == bindparam("job_id"))
                      .values(next_run_time=bindparam("next_run_time"), job_state=bindparam("job_state")))
            with self.engine.begin() as connection:
                if self._adds:
                    connection.execute(self._upsert(), [self._row(job, "id") for job in self._adds.values()])
                if self._updates:  # a job removed meanwhile matches no row
                    connection.execute(update, [self._row(job, "job_id") for job in self._updates.values()])
            self._adds.clear()
            self._updates.clear()

    def _row(self, job: Job, id_key: str) -> dict[str, Any]:
        return {id_key: job.id, "next_run_time": datetime_to_utc_timestamp(job.next_run_time),
                "job_state": pickle.dumps(job.__getstate__(), self.pickle_protocol)}

    def _upsert(self) -> Any:
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        statement = insert(self.jobs_t)
        return statement.on_conflict_do_update(
            index_elements=[self.jobs_t.c.id],
            set_={"next_run_time": statement.excluded.next_run_time, "job_state": statement.excluded.job_state},
        )

    def _noting(self) -> bool:
        return getattr(self._local, "noting", False)

    # --- writes: noted inside noting(), otherwise made after dropping older notes of the job ---

    def add_job(self, job: Job) -> None:
        with self._lock:
            if self._noting():
                self._updates.pop(job.id, None)
                self._adds[job.id] = job
                return
        self.flush()
        super().add_job(job)

    def update_job(self, job: Job) -> None:
        with self._lock:
            if self._noting():
                if job.id in self._adds:
                    self._adds[job.id] = job
                else:
                    self._updates[job.id] = job
                return
        self.flush()
        super().update_job(job)

    def remove_job(self, job_id: str) -> None:
        self.flush()
        super().remove_job(job_id)

    def remove_all_jobs(self) -> None:
        with self._lock:
            self._adds.clear()
            self._updates.clear()
        super().remove_all_jobs()

    # --- reads: the notes first ---------------------------------------------------------------

    def lookup_job(self, job_id: str) -> Job | None:
        self.flush()
        return super().lookup_job(job_id)

    def get_due_jobs(self, now: dt.datetime) -> list[Job]:
        self.flush()
        return super().get_due_jobs(now)

    def get_all_jobs(self) -> list[Job]:
        self.flush()
        return super().get_all_jobs()

    def get_next_run_time(self) -> dt.datetime | None:
        try:
            self.flush()
        except Exception as err:  # the pass is over: wake up again soon and retry (get_due_jobs flushes first)
            self._logger.warning("Writing %d jobs' next run times failed, retrying: %s", self.pending, err)
            retry = getattr(self._scheduler, "jobstore_retry_interval", 10.0)
            return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=retry)
        return super().get_next_run_time()


class LoopExecutor(AsyncIOExecutor):  # type: ignore[misc]
    """Jobs are submitted from the job-store thread; their tasks are made on the loop."""

    def _do_submit_job(self, job: Any, run_times: list[dt.datetime]) -> None:
        self._eventloop.call_soon_threadsafe(AsyncIOExecutor._do_submit_job, self, job, run_times)


class OffLoopScheduler(AsyncIOScheduler):  # type: ignore[misc]
    """AsyncIOScheduler whose passes over the due jobs run one at a time in a thread of their own.

    Stopping is unchanged: the service pauses the scheduler, waits for its scans and shuts it
    down on the loop.
    """

    _store_thread: ThreadPoolExecutor | None = None
    _pass: asyncio.Future[Any] | None = None
    _again = False

    def _create_default_executor(self) -> Any:
        return LoopExecutor()

    def _process_jobs(self) -> float | None:
        with contextlib.ExitStack() as noting:
            for store in list(self._jobstores.values()):
                if isinstance(store, PassBatchedJobStore):
                    noting.enter_context(store.noting())
            return super()._process_jobs()  # type: ignore[no-any-return]

    @run_in_event_loop
    def wakeup(self) -> None:
        self._stop_timer()
        if self.state == STATE_STOPPED or self._eventloop is None:
            return
        if self._pass is not None:  # a pass is running: start another as soon as it ends
            self._again = True
            return
        if self._store_thread is None:
            self._store_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="govmon-jobstore")
        self._pass = self._eventloop.run_in_executor(self._store_thread, self._process_jobs)
        self._pass.add_done_callback(self._pass_done)

    def _pass_done(self, future: asyncio.Future[Any]) -> None:
        self._pass = None
        try:
            wait_seconds = future.result()
        except Exception as err:  # _process_jobs logs the store's own errors; this is a last guard
            self._logger.warning("Job store pass failed: %s", err)
            wait_seconds = self.jobstore_retry_interval
        if self.state == STATE_STOPPED or self._eventloop is None:
            return
        if self._again:
            self._again, wait_seconds = False, 0
        self._start_timer(wait_seconds)

    @run_in_event_loop
    def _shutdown(self, wait: bool = True) -> None:  # AsyncIOScheduler's, and the thread with it
        BaseScheduler.shutdown(self, wait)
        self._stop_timer()
        self._eventloop = None
        if self._store_thread is not None:
            self._store_thread.shutdown(wait=False)


def build_scheduler(jobstores: dict[str, Any], job_defaults: dict[str, Any]) -> OffLoopScheduler:
    """The service's scheduler (UTC) over ``jobstores``."""
    return OffLoopScheduler(jobstores=jobstores, job_defaults=job_defaults, timezone=dt.UTC)

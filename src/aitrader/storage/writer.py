"""The one storage writer: a single asyncio task that batches every write from an `asyncio.Queue`.

Why one task: SQLite allows one writer at a time, and one transaction per batch of ~50 rows is two
orders of magnitude cheaper than one per row; on PostgreSQL it keeps connection use flat. The engine
never waits on the database: `put()` only waits when the bounded queue is full (back-pressure).

Batching: a batch is cut when it holds `max_batch` items or `max_delay_s` after its first item
arrived, whichever comes first (or at once by `flush()`/`close()`). The batch runs in a worker thread
in one transaction. If it fails it is retried `retries` times, then written row by row, each row in
its own transaction, so one bad row loses nothing else; the bad row's error is logged, counted and
raised to whoever awaited it.

"Acknowledged" means committed: `await write(...)` returns only after the transaction holding that
item has committed (and raises if the item could not be written); `await flush()` returns after
everything enqueued before it was committed or reported failed; `on_commit(labels)` is called after
each commit with the labels of the items it made durable. An item only `put()` is not acknowledged
until one of those has happened - a crash before that may lose it.

The worker thread is the writer's own and runs at a lower OS priority than the event loop
(`WRITER_NICE`, Linux; elsewhere it runs at the process's priority): its SQLAlchemy work otherwise
competes for a core with the loop thread whenever both are runnable, and on a small machine the loop
then waits for the scheduler in the middle of a burst of market-data frames (bench/live.py showed
10-40 ms stalls). Writes are not latency-bound; the loop's reaction to a frame is.

A write is a function of a `TenantSession`, e.g. `lambda s: s.upsert_order(order)`. It runs later, in
another thread: pass objects the caller will not mutate meanwhile (or a copy).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import Engine

from aitrader.core.errors import AitraderError
from aitrader.metrics import DB_WRITE_QUEUE_DEPTH
from aitrader.storage.db import WRITE_OPTIONS
from aitrader.storage.repository import TenantSession, check_tenant_id, flush_writes, session_factory

log = logging.getLogger(__name__)

WriteFn = Callable[[TenantSession], object]


WRITER_NICE = 10  # added to the writer thread's niceness (0 = the process's own priority)


def _lower_priority() -> None:
    """Worker-thread initializer: raise this thread's niceness by `WRITER_NICE` (per thread on Linux,
    where setpriority takes a thread id); silently nothing where that is not possible."""
    setpriority = getattr(os, "setpriority", None)
    if setpriority is None or not WRITER_NICE:
        return
    tid = threading.get_native_id()
    try:
        setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + WRITER_NICE)
    except OSError as e:
        log.debug("storage writer: could not lower the thread's priority: %s", e)


class WriterClosed(AitraderError):
    """The writer was closed (or never started); nothing more can be queued."""


@dataclass(slots=True)
class _Item:
    tenant_id: str
    fn: WriteFn
    label: str
    future: asyncio.Future[None] | None = None


@dataclass(slots=True)
class _Barrier:
    future: asyncio.Future[None]
    stop: bool = False


@dataclass(slots=True)
class WriterStats:
    written: int = 0
    failed: int = 0
    batches: int = 0
    retried_batches: int = 0
    row_by_row_batches: int = 0  # batches that failed as a whole and were written one row at a time
    last_error: str = ""
    failures: list[str] = field(default_factory=list)  # labels of the last failed items (bounded)


class StorageWriter:
    """Batching writer; `start()` it inside the event loop, `close()` it to drain and stop."""

    def __init__(
        self,
        engine: Engine,
        *,
        max_batch: int = 50,
        max_delay_s: float = 0.1,
        max_queue: int = 10_000,
        retries: int = 1,
        on_commit: Callable[[Sequence[str]], None] | None = None,
        create_tenants: bool = True,
    ) -> None:
        if max_batch < 1 or max_queue < 1 or max_delay_s < 0 or retries < 0:
            raise ValueError("max_batch, max_queue must be >= 1; max_delay_s, retries >= 0")
        self._sessions = session_factory(engine)
        self._max_batch = max_batch
        self._max_delay = max_delay_s
        self._retries = retries
        self._on_commit = on_commit
        self._create_tenants = create_tenants
        self._known_tenants: set[str] = set()
        self._queue: asyncio.Queue[_Item | _Barrier] = asyncio.Queue(maxsize=max_queue)
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._closing = False
        self.stats = WriterStats()

    # ------------------------------------------------------------------ public
    @property
    def queue_depth(self) -> int:
        """Items waiting to be written (for the metrics endpoint)."""
        return self._queue.qsize()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self._task is not None:
            raise WriterClosed("writer already started")
        self._executor = ThreadPoolExecutor(1, "storage-writer", initializer=_lower_priority)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="storage-writer")

    async def put(self, tenant_id: str, fn: WriteFn, *, label: str = "") -> None:
        """Queue a write; waits only while the queue is full."""
        self._check_open()
        await self._queue.put(_Item(check_tenant_id(tenant_id), fn, label))

    async def write(self, tenant_id: str, fn: WriteFn, *, label: str = "") -> None:
        """Queue a write and return once it is committed (raises the row's error if it failed)."""
        self._check_open()
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Item(check_tenant_id(tenant_id), fn, label, fut))
        await fut

    async def flush(self) -> None:
        """Return once everything queued before this call is committed or reported failed."""
        self._check_open()
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Barrier(fut))
        await fut

    async def close(self) -> None:
        """Stop accepting writes, write everything already queued, then stop the task."""
        if self._task is None or self._closing:
            if self._task is not None:
                await asyncio.shield(self._task)
            return
        self._closing = True
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Barrier(fut, stop=True))
        await self._task

    # ------------------------------------------------------------------ task
    def _check_open(self) -> None:
        if self._closing or not self.running:
            raise WriterClosed("storage writer is closed" if self._closing else "storage writer not started")

    async def _run(self) -> None:
        try:
            await self._serve()
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=False)

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        stop = False
        while not stop:
            first = await self._queue.get()
            batch: list[_Item] = []
            barriers: list[_Barrier] = []
            if isinstance(first, _Barrier):
                barriers.append(first)
            else:
                batch.append(first)
                deadline = loop.time() + self._max_delay
                while len(batch) < self._max_batch:
                    try:
                        nxt = self._queue.get_nowait()
                    except asyncio.QueueEmpty:
                        remaining = deadline - loop.time()
                        if remaining <= 0:
                            break
                        try:
                            nxt = await asyncio.wait_for(self._queue.get(), remaining)
                        except TimeoutError:
                            break
                    if isinstance(nxt, _Barrier):
                        barriers.append(nxt)
                        break
                    batch.append(nxt)
            DB_WRITE_QUEUE_DEPTH.set(self._queue.qsize())  # what waits behind this batch
            if batch:
                try:
                    errors = await loop.run_in_executor(self._executor, self._write_batch, batch)
                except BaseException as e:  # a bug in our own code: fail the batch, keep the writer alive
                    log.exception("storage writer: batch crashed")
                    errors = [e] * len(batch)
                self._settle(batch, errors)
                DB_WRITE_QUEUE_DEPTH.set(self._queue.qsize())
            for b in barriers:
                stop = stop or b.stop
                if not b.future.done():
                    b.future.set_result(None)
        log.debug("storage writer stopped; stats %s", self.stats)

    def _settle(self, batch: list[_Item], errors: list[BaseException | None]) -> None:
        committed = [it.label for it, err in zip(batch, errors, strict=True) if err is None]
        for it, err in zip(batch, errors, strict=True):
            if err is None:
                self.stats.written += 1
                if it.future is not None and not it.future.done():
                    it.future.set_result(None)
            else:
                self.stats.failed += 1
                self.stats.last_error = f"{type(err).__name__}: {err}"
                self.stats.failures = [*self.stats.failures[-99:], it.label]
                if it.future is not None and not it.future.done():
                    it.future.set_exception(err)
        if committed and self._on_commit is not None:
            try:
                self._on_commit(committed)
            except Exception:
                log.exception("storage writer: on_commit callback failed")

    # ------------------------------------------------------------------ database (worker thread)
    def _apply(self, items: Sequence[_Item]) -> None:
        """All `items` in one transaction (BEGIN IMMEDIATE on SQLite)."""
        with self._sessions() as session:
            session.connection(execution_options=WRITE_OPTIONS)
            if self._create_tenants:
                for tenant in {it.tenant_id for it in items} - self._known_tenants:
                    TenantSession(session, tenant).ensure_tenant()
            for it in items:
                it.fn(TenantSession(session, it.tenant_id, defer_writes=True))
            flush_writes(session)
            session.commit()
        if self._create_tenants:
            self._known_tenants.update(it.tenant_id for it in items)

    def _write_batch(self, batch: list[_Item]) -> list[BaseException | None]:
        self.stats.batches += 1
        for attempt in range(self._retries + 1):
            try:
                self._apply(batch)
                return [None] * len(batch)
            except Exception as e:
                log.warning("storage writer: batch of %d failed (attempt %d): %s", len(batch), attempt + 1, e)
                if attempt < self._retries:
                    self.stats.retried_batches += 1
                    time.sleep(0.05 * (attempt + 1))
        self.stats.row_by_row_batches += 1
        errors: list[BaseException | None] = []
        for it in batch:
            try:
                self._apply([it])
                errors.append(None)
            except Exception as e:
                log.error("storage writer: dropped %s (tenant %s): %s", it.label or "item", it.tenant_id, e)
                errors.append(e)
        return errors

"""Supervisor: the long-running tasks of a session, each started exactly once and kept alive.

Why a registry keyed by name: a restart loop, a health check or a reconnect that "just starts the
feed again" is how a bot ends up with two feeds trading on the same candles. Here a name is started
once (`start` refuses a name that is already registered) and only its own runner restarts it, in
place, after a crash, waiting `backoff_base * factor**n` (capped) between attempts; a task that ran
longer than `reset_after_s` before failing starts the count again. The health monitor only reports
(per task: state, restarts, last heartbeat, stalled when no `beat()` for `stall_after_s`) and never
spawns anything.

Shutdown: `request_stop()` (SIGINT/SIGTERM land there) wakes `wait_stopped()`; `shutdown()` cancels
the tasks in reverse start order, so consumers stop before what they consume (e.g. the API before
the engine, the storage writer last). Signal handlers go through `loop.add_signal_handler`; where
that is unavailable (Windows, or a loop not on the main thread) `signal.signal` is used and the
handler hops onto the loop with `call_soon_threadsafe`; off the main thread neither works and
`install_signals` says so (the owner then stops the supervisor itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aitrader.core.errors import AitraderError

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class TaskExists(AitraderError):
    """A task of that name is already registered: it runs once, restarts happen inside its runner."""


class TaskStatus(StrEnum):
    RUNNING = "running"
    BACKOFF = "backoff"  # crashed, waiting to restart
    DONE = "done"  # returned normally (not restarted)
    FAILED = "failed"  # crashed and restart=False (or gave up)
    STOPPED = "stopped"  # cancelled by shutdown/stop


@dataclass(slots=True)
class TaskContext:
    """Handed to a task factory: its name and the heartbeat it should call while healthy."""

    name: str
    _sup: Supervisor

    def beat(self) -> None:
        self._sup.beat(self.name)

    @property
    def attempt(self) -> int:
        """0 on the first run, n after n restarts."""
        return self._sup.state(self.name).restarts


TaskFactory = Callable[[TaskContext], Awaitable[Any]]


@dataclass(slots=True)
class TaskState:
    name: str
    restart: bool
    stall_after_s: float | None
    status: TaskStatus = TaskStatus.RUNNING
    restarts: int = 0
    starts: int = 0
    last_beat: float = 0.0
    last_error: str = ""
    task: asyncio.Task[None] | None = None


@dataclass(frozen=True, slots=True)
class TaskHealth:
    name: str
    status: TaskStatus
    restarts: int
    seconds_since_beat: float
    stalled: bool
    last_error: str


@dataclass(slots=True)
class _SignalInstall:
    how: str  # "loop" | "signal" | "none"
    previous: dict[int, Any] = field(default_factory=dict)


class Supervisor:
    def __init__(
        self,
        *,
        backoff_base: float = 0.5,
        backoff_factor: float = 2.0,
        backoff_max: float = 30.0,
        reset_after_s: float = 60.0,
        max_restarts: int | None = None,
        on_report: Callable[[list[TaskHealth]], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if backoff_base < 0 or backoff_factor < 1 or backoff_max < backoff_base:
            raise ValueError("need backoff_base >= 0, backoff_factor >= 1, backoff_max >= backoff_base")
        self.backoff_base = backoff_base
        self.backoff_factor = backoff_factor
        self.backoff_max = backoff_max
        self.reset_after_s = reset_after_s
        self.max_restarts = max_restarts
        self._on_report = on_report
        self._clock = clock
        self._tasks: dict[str, TaskState] = {}
        self._order: list[str] = []
        self._stop = asyncio.Event()
        self.stop_reason = ""
        self._signals: _SignalInstall | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------------ tasks
    def start(
        self, name: str, factory: TaskFactory, *, restart: bool = True, stall_after_s: float | None = None
    ) -> None:
        """Start `factory(ctx)` as the one task called `name` (TaskExists if the name is taken)."""
        if name in self._tasks:
            raise TaskExists(f"task {name!r} is already registered ({self._tasks[name].status})")
        self._loop = asyncio.get_running_loop()
        st = TaskState(name, restart, stall_after_s, last_beat=self._clock())
        self._tasks[name] = st
        self._order.append(name)
        st.task = self._loop.create_task(self._runner(st, factory), name=f"sup:{name}")

    def backoff(self, restarts: int) -> float:
        """Seconds to wait before restart number `restarts` (1-based)."""
        return float(min(self.backoff_max, self.backoff_base * self.backoff_factor ** max(0, restarts - 1)))

    async def _runner(self, st: TaskState, factory: TaskFactory) -> None:
        ctx = TaskContext(st.name, self)
        while True:
            st.status = TaskStatus.RUNNING
            st.starts += 1
            st.last_beat = started = self._clock()
            try:
                await factory(ctx)
            except asyncio.CancelledError:
                st.status = TaskStatus.STOPPED
                raise
            except Exception as e:
                st.last_error = f"{type(e).__name__}: {e}"
                log.warning("task %s crashed: %s", st.name, st.last_error, exc_info=log.isEnabledFor(10))
                gave_up = self.max_restarts is not None and st.restarts >= self.max_restarts
                if not st.restart or gave_up:
                    st.status = TaskStatus.FAILED
                    return
                if self._clock() - started >= self.reset_after_s:
                    st.restarts = 0  # it ran fine for a while: this is a new failure, not a crash loop
                st.restarts += 1
                st.status = TaskStatus.BACKOFF
                await asyncio.sleep(self.backoff(st.restarts))
                continue
            st.status = TaskStatus.DONE
            return

    def beat(self, name: str) -> None:
        self._tasks[name].last_beat = self._clock()

    def state(self, name: str) -> TaskState:
        return self._tasks[name]

    def names(self) -> list[str]:
        return list(self._order)

    async def stop_task(self, name: str) -> None:
        """Cancel one task and wait for it (it stays registered as STOPPED: names are not reused)."""
        st = self._tasks[name]
        if st.task is not None and not st.task.done():
            st.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await st.task
        st.status = TaskStatus.STOPPED

    # ------------------------------------------------------------------ health
    def health(self) -> list[TaskHealth]:
        now = self._clock()
        out = []
        for name in self._order:
            st = self._tasks[name]
            since = now - st.last_beat
            stalled = (
                st.status is TaskStatus.RUNNING and st.stall_after_s is not None and since > st.stall_after_s
            )
            out.append(TaskHealth(name, st.status, st.restarts, since, stalled, st.last_error))
        return out

    async def monitor(self, ctx: TaskContext, interval_s: float = 1.0) -> None:
        """Report health every `interval_s` (run it as a task of this supervisor); never starts tasks."""
        stalled: set[str] = set()
        while True:
            report = self.health()
            for h in report:  # one line when a stall starts and one when it ends, not one per interval
                if h.stalled and h.name not in stalled:
                    log.warning("task %s stalled: no heartbeat for %.1f s", h.name, h.seconds_since_beat)
                    stalled.add(h.name)
                elif not h.stalled and h.name in stalled:
                    log.warning("task %s alive again", h.name)
                    stalled.discard(h.name)
            if self._on_report is not None:
                self._on_report(report)
            ctx.beat()
            await asyncio.sleep(interval_s)

    # ------------------------------------------------------------------ stopping
    def request_stop(self, reason: str = "requested") -> None:
        if not self._stop.is_set():
            self.stop_reason = reason
            self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    async def wait_stopped(self, timeout: float | None = None) -> bool:
        """Wait for `request_stop` (True) or the timeout (False)."""
        try:
            await asyncio.wait_for(self._stop.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def shutdown(self, timeout_s: float = 10.0) -> None:
        """Cancel every task, newest first, each waited for up to `timeout_s`."""
        self.request_stop(self.stop_reason or "shutdown")
        for name in reversed(self._order):
            st = self._tasks[name]
            if st.task is None or st.task.done():
                continue
            st.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(asyncio.shield(st.task), timeout_s)
            st.status = TaskStatus.STOPPED if st.status is not TaskStatus.DONE else st.status
        self.remove_signals()

    # ------------------------------------------------------------------ signals
    def install_signals(self, loop: asyncio.AbstractEventLoop | None = None) -> str:
        """Route SIGINT/SIGTERM to `request_stop`; returns how: "loop", "signal" or "none"."""
        loop = loop or asyncio.get_running_loop()
        self._loop = loop
        inst = _SignalInstall("loop")
        try:
            for sig in STOP_SIGNALS:
                loop.add_signal_handler(sig, self.request_stop, sig.name)
        except (NotImplementedError, RuntimeError, ValueError):
            for sig in STOP_SIGNALS:
                with contextlib.suppress(Exception):
                    loop.remove_signal_handler(sig)
            inst = self._install_fallback(loop)
        self._signals = inst
        return inst.how

    def _install_fallback(self, loop: asyncio.AbstractEventLoop) -> _SignalInstall:
        if threading.current_thread() is not threading.main_thread():
            log.warning("signals are handled on the main thread only; stop this session with request_stop()")
            return _SignalInstall("none")

        def handler(signum: int, _frame: object) -> None:
            loop.call_soon_threadsafe(self.request_stop, signal.Signals(signum).name)

        inst = _SignalInstall("signal")
        for sig in STOP_SIGNALS:
            inst.previous[sig] = signal.signal(sig, handler)
        return inst

    def remove_signals(self) -> None:
        inst, self._signals = self._signals, None
        if inst is None:
            return
        if inst.how == "loop" and self._loop is not None and not self._loop.is_closed():
            for sig in STOP_SIGNALS:
                with contextlib.suppress(Exception):
                    self._loop.remove_signal_handler(sig)
        elif inst.how == "signal":
            for signum, prev in inst.previous.items():
                signal.signal(signum, prev)

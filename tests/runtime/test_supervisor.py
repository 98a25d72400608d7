"""Supervisor: once-only names, restart with backoff, health without spawning, signals (loop and fallback)."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from aitrader.runtime.supervisor import Supervisor, TaskContext, TaskExists, TaskStatus


async def test_a_name_starts_once_and_a_crash_restarts_it_in_place_with_backoff() -> None:
    sup = Supervisor(backoff_base=0.01, backoff_factor=2.0, backoff_max=0.04)
    runs: list[int] = []
    alive: list[int] = [0]
    started_at: list[float] = []

    async def flaky(ctx: TaskContext) -> None:
        alive[0] += 1
        assert alive[0] == 1, "two copies of the same task ran at once"
        runs.append(ctx.attempt)
        started_at.append(asyncio.get_running_loop().time())
        try:
            await asyncio.sleep(0)
            if len(runs) < 5:
                raise RuntimeError("boom")
            await asyncio.sleep(10)
        finally:
            alive[0] -= 1

    sup.start("feed", flaky)
    with pytest.raises(TaskExists):
        sup.start("feed", flaky)
    for _ in range(200):
        if len(runs) == 5:
            break
        await asyncio.sleep(0.01)
    assert runs == [0, 1, 2, 3, 4]
    st = sup.state("feed")
    assert (st.status, st.restarts, st.starts) == (TaskStatus.RUNNING, 4, 5)
    assert "boom" in st.last_error
    assert [sup.backoff(n) for n in (1, 2, 3, 4)] == [0.01, 0.02, 0.04, 0.04]
    gaps = [b - a for a, b in itertools.pairwise(started_at)]
    assert all(g >= 0.009 for g in gaps) and gaps[2] >= 0.035  # waited the backoff each time
    await sup.shutdown()
    assert sup.state("feed").status is TaskStatus.STOPPED and alive[0] == 0
    with pytest.raises(TaskExists):
        sup.start("feed", flaky)  # stopped names are not reused either


async def test_no_restart_when_asked_and_normal_return_is_done() -> None:
    sup = Supervisor(backoff_base=0.0)

    async def fails(ctx: TaskContext) -> None:
        raise ValueError("bad config")

    async def finishes(ctx: TaskContext) -> None:
        return None

    sup.start("once", fails, restart=False)
    sup.start("short", finishes)
    await asyncio.sleep(0.05)
    assert sup.state("once").status is TaskStatus.FAILED and sup.state("once").starts == 1
    assert sup.state("short").status is TaskStatus.DONE and sup.state("short").starts == 1
    await sup.shutdown()


async def test_health_reports_stalls_and_never_spawns() -> None:
    t = [100.0]
    reports: list[list[str]] = []
    sup = Supervisor(
        clock=lambda: t[0], on_report=lambda hs: reports.append([h.name for h in hs if h.stalled])
    )
    beats = asyncio.Event()

    async def worker(ctx: TaskContext) -> None:
        await beats.wait()
        ctx.beat()
        await asyncio.sleep(10)

    sup.start("engine", worker, stall_after_s=5)
    sup.start("monitor", lambda ctx: sup.monitor(ctx, interval_s=0.01))
    await asyncio.sleep(0.03)
    t[0] = 110.0  # ten seconds without a heartbeat
    await asyncio.sleep(0.03)
    engine = next(h for h in sup.health() if h.name == "engine")
    assert engine.stalled and engine.seconds_since_beat == 10.0
    assert ["engine"] in reports
    beats.set()
    await asyncio.sleep(0.03)
    assert not next(h for h in sup.health() if h.name == "engine").stalled
    assert sup.names() == ["engine", "monitor"] and sup.state("engine").starts == 1
    await sup.shutdown()


class _NoSignalLoop(asyncio.SelectorEventLoop):
    """An event loop without add_signal_handler, as on Windows."""

    def add_signal_handler(self, sig: int, callback: object, *args: object) -> None:
        raise NotImplementedError


def test_signal_fallback_uses_signal_signal_and_restores_it() -> None:
    loop = _NoSignalLoop()
    before = signal.getsignal(signal.SIGTERM)

    async def main() -> tuple[str, str, bool]:
        sup = Supervisor()
        how = sup.install_signals()
        asyncio.get_running_loop().call_later(0.05, os.kill, os.getpid(), signal.SIGTERM)
        stopped = await sup.wait_stopped(5)
        await sup.shutdown()
        return how, sup.stop_reason, stopped

    try:
        how, reason, stopped = loop.run_until_complete(main())
    finally:
        loop.close()
    assert (how, reason, stopped) == ("signal", "SIGTERM", True)
    assert signal.getsignal(signal.SIGTERM) == before


def test_off_the_main_thread_signals_are_reported_unavailable() -> None:
    out: list[str] = []

    def run() -> None:
        async def main() -> None:
            out.append(Supervisor().install_signals())

        asyncio.run(main())

    th = threading.Thread(target=run)
    th.start()
    th.join(10)
    assert out == ["none"]


def test_sigterm_shuts_down_gracefully_in_a_real_process(tmp_path: Path) -> None:
    marker = tmp_path / "cleaned"
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        from aitrader.runtime.supervisor import Supervisor

        async def worker(ctx):
            try:
                print("ready", flush=True)
                await asyncio.sleep(60)
            finally:
                open({str(marker)!r}, "w").write("yes")

        async def main():
            sup = Supervisor()
            assert sup.install_signals() == "loop"
            sup.start("worker", worker)
            await sup.wait_stopped()
            await sup.shutdown()
            print("stopped by", sup.stop_reason, flush=True)

        asyncio.run(main())
        """
    )
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    assert p.stdout.readline().strip() == "ready"
    p.send_signal(signal.SIGTERM)
    out, _ = p.communicate(timeout=20)
    assert p.returncode == 0
    assert "stopped by SIGTERM" in out
    assert marker.read_text() == "yes"

"""The gate of a paper/live session (`ml.enabled`): `SessionGate` loads the promoted model, seeds its
candle windows from the warm-up, retrains in a subprocess while decisions stay fast, keeps the
previous model when the training process is SIGKILLed, leaves no process behind when its task is
cancelled, and gets out of a corrupt CURRENT by retraining at once; `Session.assemble` wires it in."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ml_helpers import PAIRS, SMALL, AlwaysLong, Env

from aitrader.config import Settings
from aitrader.core.candles import OHLCV
from aitrader.core.ports import CandleClosed
from aitrader.ml.registry import ModelRegistry
from aitrader.ml.runtime import SessionGate

PAIR = PAIRS[0]
WARM = 3000  # candles of the warm-up history; live candles follow


class _WarmFeed:
    """What `SessionGate.seed` asks of the live feed: the warm-up history the engine is not handed."""

    def __init__(self, candles: OHLCV) -> None:
        self.symbols = [PAIR]
        self._c = candles.slice(0, WARM)

    def handled_upto(self, symbol: str) -> int:
        return int(self._c.ts[-1])

    def window(self, symbol: str, upto_ts: int) -> OHLCV:
        return self._c.slice(0, int(self._c.ts.searchsorted(upto_ts, side="right")))


def _settings(tmp_path: Path, env: Env, registry: Path, **ml: Any) -> Settings:
    return Settings(
        exchange={"name": "bittrex", "pairs": PAIRS},
        data={"datadir": str(env.datadir), "timeframe": "5m"},
        storage={"url": f"sqlite:///{tmp_path / 'db.sqlite'}"},
        ml={
            "enabled": True,
            "registry": str(registry),
            "threshold": 0.0,
            "folds": SMALL.n_folds,
            "max_iter": SMALL.max_iter,
            **ml,
        },
    )


def _event(c: OHLCV, i: int) -> CandleClosed:
    return CandleClosed(PAIR, "5m", c.candle(i))


def _workers(workdir: Path) -> list[int]:
    """Pids of live training processes whose request file is under `workdir`."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().split(b"\0")
            state = (d / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if b"aitrader.ml.worker" in cmd and any(str(workdir).encode() in a for a in cmd) and state != "Z":
            found.append(int(d.name))
    return found


async def _until(cond: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


@contextlib.contextmanager
def _no_orphans(sg: SessionGate) -> Iterator[None]:
    try:
        yield
    finally:
        sg.close()  # an assertion failing mid-test must not leave a worker running


async def test_sigkill_mid_training_keeps_serving_previous_model(
    tmp_path: Path, registry: ModelRegistry, ml_env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aitrader.ml.runtime")
    # thousands of boosting iterations: once fitting has started, the run lasts many seconds
    settings = _settings(tmp_path, ml_env, registry.root, max_iter=5000)
    sg = SessionGate(settings, AlwaysLong(), poll_s=0.02)
    c = ml_env.candles[PAIR]
    with _no_orphans(sg):
        assert await sg.load() and sg.gate.version == "v0001"
        created = int(registry.card("v0001")["created_ms"])
        interval = settings.ml.retrain_interval_ms
        r = sg.retrainer
        assert r.last_start_ms == created  # the schedule counts from the promoted model
        sg.seed(_WarmFeed(c))
        clock = [created + interval - 1]  # wall time for the schedule, moved by the test
        task = asyncio.create_task(sg.run_retraining(now=lambda: clock[0]))
        await asyncio.sleep(0.1)
        assert not r.running  # not due yet
        # the seeded window is the warm-up history: the first live decision is gated by the model
        d = sg.gated.decision(PAIR, _event(c, WARM))
        assert d is not None and "model v0001" in d.reasons[-1]

        clock[0] += 1  # due: the task starts the training subprocess
        await _until(lambda: (r.progress() or {}).get("stage") == "folds", "the worker fitting models")
        assert r.proc is not None and r.proc.poll() is None
        pid = r.proc.pid
        assert _workers(r.workdir) == [pid]
        # decisions while training runs: gated by v0001 and fast (the event loop never waits for it)
        took = []
        for i in range(WARM + 1, WARM + 41):
            t0 = time.perf_counter()
            d = sg.gated.decision(PAIR, _event(c, i))
            took.append(time.perf_counter() - t0)
            assert d is not None and "model v0001" in d.reasons[-1]
            await asyncio.sleep(0)  # let the retraining task poll between candles
        took.sort()
        assert took[len(took) // 2] < 0.01 and took[-1] < 0.1, f"median {took[len(took) // 2] * 1e3:.2f} ms"

        os.kill(pid, signal.SIGKILL)
        await _until(lambda: r.last is not None, "the task to see the killed run")
        assert r.last is not None and r.last.returncode == -signal.SIGKILL and not r.last.promoted
        assert "ml retrain failed (training process ended with code -9); gate keeps v0001" in caplog.text
        assert sg.gate.version == "v0001" and registry.current() == "v0001"
        assert registry.versions() == ["v0001"]
        await asyncio.sleep(0.1)
        assert not r.running  # not restarted before the interval has passed again
        for i in range(WARM + 41, WARM + 44):  # trading goes on with the previous model
            d = sg.gated.decision(PAIR, _event(c, i))
            assert d is not None and "model v0001" in d.reasons[-1]
        after = list(sg.gated.records)[-3:]
        assert [g.model_version for g in after] == ["v0001"] * 3
        assert all(g.probability is not None and g.outcome.startswith("ML_PASSED") for g in after)

        clock[0] += interval  # the next run: cancel the task (session shutdown) while it trains
        await _until(lambda: r.proc is not None and bool(_workers(r.workdir)), "the next run")
        assert r.proc is not None
        pid2 = r.proc.pid
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert r.proc is None and _workers(r.workdir) == []
        with pytest.raises(ProcessLookupError):
            os.kill(pid2, 0)  # killed and reaped
        assert sg.gate.version == "v0001" and registry.current() == "v0001"


async def test_corrupt_current_model_is_retrained_at_once_and_replaced(
    tmp_path: Path, registry: ModelRegistry, ml_env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aitrader.ml.runtime")
    model = registry.root / "v0001" / "model.joblib"
    model.write_bytes(model.read_bytes() + b"\0")  # fails the card's sha256
    sg = SessionGate(_settings(tmp_path, ml_env, registry.root), AlwaysLong(), poll_s=0.05)
    c = ml_env.candles[PAIR]
    with _no_orphans(sg):
        assert not await sg.load() and sg.gate.version is None
        assert "ml gate: no usable model" in caplog.text and "entries are refused" in caplog.text
        assert sg.retrainer.last_start_ms is None  # retraining is due at once
        sg.seed(_WarmFeed(c))
        assert sg.gated.decision(PAIR, _event(c, WARM)) is None  # gate_closed
        assert sg.gated.records[-1].outcome == "ML_GATE_CLOSED"
        task = asyncio.create_task(sg.run_retraining())
        try:
            await _until(lambda: sg.gate.version == "v0002", "the retrained model to be served", 90)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        assert registry.current() == "v0002"
        assert "the current model was unusable (model v0001: model.joblib does not match" in caplog.text
        assert "ml retrain: promoted v0002; gate reloaded" in caplog.text
        d = sg.gated.decision(PAIR, _event(c, WARM + 1))
        assert d is not None and "model v0002" in d.reasons[-1]


async def test_session_wires_the_gate_only_when_enabled(
    tmp_path: Path, registry: ModelRegistry, ml_env: Env
) -> None:
    from aitrader.runtime.session import Session, SessionOptions
    from aitrader.storage.db import make_engine
    from aitrader.venues.markets import MarketRegistry

    for enabled in (True, False):
        db_url = f"sqlite:///{tmp_path / f'session-{enabled}.sqlite'}"
        settings = Settings(
            tenant="t1",
            exchange={"name": "kraken", "pairs": [PAIR], "api_url": "http://127.0.0.1:9", "ws_url": "ws://127.0.0.1:9"},
            data={"datadir": str(ml_env.datadir), "timeframe": "5m"},
            backtest={"starting_balance": "1"},
            storage={"url": db_url},
            ml={"enabled": enabled, "registry": str(registry.root), "threshold": 0.0},
        )
        opts = SessionOptions(mode="paper", markets=MarketRegistry.load("bittrex"))
        session = Session(settings, make_engine(db_url), opts)
        try:
            await session.assemble()
            engine_source = session.engine.decisions.inner  # type: ignore[attr-defined]
            if enabled:
                assert session.ml is not None and session.ml.gate.version == "v0001"
                assert engine_source is session.ml.gated and session.ml.gated.inner is session.decisions
                assert session.ml.gated.on_gated == session._gated_thought
            else:
                assert session.ml is None and engine_source is session.decisions
        finally:
            if session.ml is not None:
                session.ml.close()
            await session.exchange.close()
